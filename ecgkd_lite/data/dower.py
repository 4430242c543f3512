"""The Dower transform: cardiac dipole (Frank X, Y, Z) <-> the 12 standard leads.

Coordinates are those the Dower coefficients imply (Frank lead system): +X points to the patient's
left, +Y inferior (towards the feet), +Z posterior (towards the back); a wave whose dipole points
anteriorly (-Z) is positive in V1-V3.

* Forward: the 8 independent leads I, II, V1-V6 are ``D8 @ [X, Y, Z]`` with the published
  coefficients of Dower, Machado & Osborne, "On deriving the electrocardiogram from vectorcardiographic
  leads", Clin. Cardiol. 3:87-95 (1980); Dower et al., J. Electrocardiol. 21 Suppl:S182-S187 (1988).
  The four other limb leads follow from Einthoven's and Goldberger's definitions:
  ``III = II - I``, ``aVR = -(I + II)/2``, ``aVL = I - II/2``, ``aVF = II - I/2``, which gives the
  (12, 3) matrix ``DOWER_12`` in ``LEADS12`` order.
* Inverse: the published inverse Dower matrix (3 x 8 over I, II, V1-V6) of Edenbrandt & Pahlm,
  "Vectorcardiogram synthesized from a 12-lead ECG: superiority of the inverse Dower matrix",
  J. Electrocardiol. 21(4):361-367 (1988). It is published to three decimals, so it is *not* the exact
  pseudo-inverse of ``D8``: ``INVERSE_DOWER @ D8`` deviates from the identity by at most 6.3e-4 per
  entry (measured; ``tests/test_dower.py`` pins 1e-3). ``PINV_DOWER_12`` is the exact least-squares inverse.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError
from .leads import LEADS12

#: independent leads the Dower and inverse Dower matrices are defined on
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

#: Dower et al. (1980/1988): rows I, II, V1-V6; columns Frank X, Y, Z
DOWER_8 = np.array(
    [
        [0.632, -0.235, 0.059],  # I
        [0.235, 1.066, -0.132],  # II
        [-0.515, 0.157, -0.917],  # V1
        [0.044, 0.164, -1.387],  # V2
        [0.882, 0.098, -1.277],  # V3
        [1.213, 0.127, -0.601],  # V4
        [1.125, 0.127, -0.086],  # V5
        [0.831, 0.076, 0.230],  # V6
    ],
    dtype=np.float64,
)

#: Edenbrandt & Pahlm (1988): rows Frank X, Y, Z; columns I, II, V1-V6
INVERSE_DOWER = np.array(
    [
        [0.156, -0.010, -0.172, -0.074, 0.122, 0.231, 0.239, 0.194],  # X
        [-0.227, 0.887, 0.057, -0.019, -0.106, -0.022, 0.041, 0.048],  # Y
        [0.022, 0.102, -0.229, -0.310, -0.246, -0.063, 0.055, 0.108],  # Z
    ],
    dtype=np.float64,
)

#: (12, 8): the 12 standard leads from the 8 independent ones (Einthoven / Goldberger)
LIMB_EXPANSION = np.zeros((12, 8))
for _row, _lead in enumerate(LEADS12):
    if _lead in INDEPENDENT_LEADS:
        LIMB_EXPANSION[_row, INDEPENDENT_LEADS.index(_lead)] = 1.0
LIMB_EXPANSION[LEADS12.index("III"), :2] = (-1.0, 1.0)  # III = II - I
LIMB_EXPANSION[LEADS12.index("aVR"), :2] = (-0.5, -0.5)  # aVR = -(I + II) / 2
LIMB_EXPANSION[LEADS12.index("aVL"), :2] = (1.0, -0.5)  # aVL = I - II / 2
LIMB_EXPANSION[LEADS12.index("aVF"), :2] = (-0.5, 1.0)  # aVF = II - I / 2

#: (12, 3) Dower transform in LEADS12 order
DOWER_12 = LIMB_EXPANSION @ DOWER_8
#: (3, 12) exact least-squares inverse of DOWER_12 (for round-trip checks)
PINV_DOWER_12 = np.linalg.pinv(DOWER_12)
#: indices of I, II, V1-V6 within LEADS12
INDEPENDENT_INDEX = np.array([LEADS12.index(lead) for lead in INDEPENDENT_LEADS])


def dipole_to_leads(vcg: np.ndarray) -> np.ndarray:
    """Project a dipole ``(..., 3, T)`` (Frank X, Y, Z in mV) to the 12 leads ``(..., 12, T)``.

    ``leads = DOWER_12 @ vcg`` (Dower 1980/1988); the dtype follows the input (float32 stays float32).
    """
    vcg = np.asarray(vcg)
    if vcg.ndim < 2 or vcg.shape[-2] != 3:
        raise ConfigError(f"vcg must have shape (..., 3, T); got {vcg.shape}")
    return np.matmul(DOWER_12.astype(vcg.dtype if vcg.dtype.kind == "f" else np.float64), vcg)


def leads_to_dipole(ecg: np.ndarray) -> np.ndarray:
    """Reconstruct the dipole ``(..., 3, T)`` from a 12-lead ECG ``(..., 12, T)`` (LEADS12 order)
    with the inverse Dower matrix of Edenbrandt & Pahlm (1988) applied to I, II, V1-V6."""
    ecg = np.asarray(ecg)
    if ecg.ndim < 2 or ecg.shape[-2] != 12:
        raise ConfigError(f"ecg must have shape (..., 12, T) in LEADS12 order; got {ecg.shape}")
    dtype = ecg.dtype if ecg.dtype.kind == "f" else np.float64
    return np.matmul(INVERSE_DOWER.astype(dtype), ecg[..., INDEPENDENT_INDEX, :])
