"""Physiology of the synthetic ECG: one beat as Gaussian waves of a 3-D cardiac dipole, and the
15 conditions as physiological changes of those waves.

Beat model (McSharry, Clifford, Tarassenko & Smith, "A dynamical model for generating synthetic
electrocardiogram signals", IEEE TBME 50(3):289-294, 2003; made three-dimensional as in Sameni,
Clifford, Jutten & Shamsollahi, "Multichannel ECG and noise modeling", EURASIP JASP 2007:043407)::

    d(t) = sum_w  a_w * exp(-(t - mu_w)^2 / (2 sigma_w^2)),     a_w in R^3 (Frank X, Y, Z; mV)

over the waves ``WAVES`` (P, Q, R, R2 = notch/second R, S, RP = R' of RBBB, ST, T, U), with ``t`` in
seconds relative to the R peak. Coordinates follow the Dower matrix (see ``dower.py``): +X left,
+Y inferior, +Z posterior. A wave "starts" and "ends" at ``mu -/+ EDGE * sigma`` (the fiducials).

Every number here is in the *heart frame*; ``synthetic.render`` rotates and scales per patient.
The findings that lead I should barely show (LAFB, AMI, IMI; ``lead_I="hidden"`` in
``conditions.py``) move the dipole along ``U_INFERIOR`` / ``U_ANTERIOR``, both orthogonal to the
Dower row of lead I, plus a small stated leak (``LEAD_I_LEAK``) along lead I; the patient's random
heart rotation leaks a little more, as in real hearts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dower import DOWER_8

WAVES: tuple[str, ...] = ("P", "Q", "R", "R2", "S", "RP", "ST", "T", "U")
QRS_WAVES: tuple[str, ...] = ("Q", "R", "R2", "S", "RP")
WAVE = {name: i for i, name in enumerate(WAVES)}
QRS_INDEX = np.array([WAVE[w] for w in QRS_WAVES])
#: a wave spans mu +- EDGE * sigma (exp(-EDGE^2/2) = 4.4 % of its peak)
EDGE = 2.5
#: Gaussians are cut at +- CUT * sigma (relative size 3e-4) so a template never depends on its window
CUT = 4.0

#: normal wave vectors (heart frame, mV) and the per-patient jitter (standard deviation per axis)
NORMAL_AMPLITUDE = {
    "P": ((0.12, 0.11, -0.02), 0.03),
    "Q": ((-0.12, 0.05, -0.35), 0.04),
    "R": ((1.00, 0.60, 0.35), 0.18),
    "S": ((-0.25, 0.05, 0.75), 0.12),
    "ST": ((0.03, 0.02, -0.03), 0.015),
    "T": ((0.30, 0.10, -0.15), 0.07),
    "U": ((0.015, 0.005, -0.01), 0.005),
}


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


LEAD_I_ROW = DOWER_8[0]
_LEAD_I_UNIT = _unit(LEAD_I_ROW)
#: inferior direction orthogonal to lead I (in the frontal plane): II, III, aVF see it, lead I does not
U_INFERIOR = _unit(np.cross(LEAD_I_ROW, (0.0, 0.0, 1.0)) * -1)
#: anterior direction (-Z) with its lead-I component removed: V1-V4 see it, lead I does not
U_ANTERIOR = _unit(np.array((0.0, 0.0, -1.0)) - (np.dot((0.0, 0.0, -1.0), _LEAD_I_UNIT)) * _LEAD_I_UNIT)
#: fraction of a hidden finding's vector that leaks along the lead-I direction
LEAD_I_LEAK = 0.08
#: directions of the other findings
U_LVH_QRS = _unit((0.75, 0.05, 0.45))  # leftward-posterior voltage
U_LVH_S = _unit((-0.05, 0.0, 1.0))  # deeper S in V1-V2
U_LATERAL = _unit((0.8, 0.4, -0.1))  # lateral ST vector (NST_ depression, LVH strain)
U_RBBB_TERMINAL = _unit((-0.55, -0.05, -0.85))  # terminal rightward-anterior forces (R' in V1)
U_LBBB = _unit((0.75, 0.2, 0.85))  # leftward-posterior activation
U_PVC_RV = _unit((0.7, 0.35, 0.6))  # RV origin: LBBB-like
U_PVC_LV = _unit((-0.55, 0.45, -0.7))  # LV origin: RBBB-like
U_AF = _unit((0.1, 0.5, -0.85))  # f-waves: inferior-anterior (II, V1)

SINUS_BPM = (61.0, 99.0)
RATE_BPM = {"SBRAD": (42.0, 56.0), "STACH": (104.0, 140.0), "AFIB": (70.0, 130.0)}
PR_S = {"normal": (0.130, 0.195), "1AVB": (0.215, 0.320)}
QTC_S = {"normal": (0.380, 0.435), "LNGQT": (0.475, 0.545)}
QRS_S = {"normal": (0.074, 0.100), "CRBBB": (0.125, 0.155), "CLBBB": (0.130, 0.165)}
#: Sokolow-Lyon targets: LVH records are scaled up to at least this, others capped below NON_LVH_MAX
LVH_SOKOLOW_MV = (3.7, 5.0)
NON_LVH_SOKOLOW_MAX_MV = 3.2
#: largest limb-lead QRS peak-to-peak: LVOLT records scaled to this range, others kept above the floor
LVOLT_LIMB_MV = (0.22, 0.42)
LIMB_FLOOR_MV = 0.6


@dataclass
class Waves:
    """Wave table of one beat type for ``n`` records: centres and widths ``(n, W)`` in seconds
    relative to the R peak, amplitude vectors ``(n, W, 3)`` in mV."""

    mu: np.ndarray
    sigma: np.ndarray
    amp: np.ndarray

    @classmethod
    def empty(cls, n: int) -> "Waves":
        return cls(np.zeros((n, len(WAVES))), np.full((n, len(WAVES)), 0.01), np.zeros((n, len(WAVES), 3)))

    def set(self, wave: str, mu=None, sigma=None, amp=None, where=None) -> None:
        """Set a wave's centre / width / amplitude, for all records or where ``where`` is true."""
        k = WAVE[wave]
        sel = slice(None) if where is None else np.asarray(where, dtype=bool)
        for array, value in ((self.mu, mu), (self.sigma, sigma)):
            if value is not None:
                array[sel, k] = np.broadcast_to(value, array.shape[:1])[sel] if np.ndim(value) else value
        if amp is not None:
            value = np.broadcast_to(amp, (self.amp.shape[0], 3))
            self.amp[sel, k] = value[sel]

    def add(self, wave: str, delta: np.ndarray, where) -> None:
        """Add ``delta`` ``(n, 3)`` to a wave's vector where ``where`` is true."""
        where = np.asarray(where, dtype=bool)
        self.amp[where, WAVE[wave]] += np.broadcast_to(delta, (len(where), 3))[where]

    def span(self, waves: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(start, end) of the union of ``waves`` that have a non-zero vector, seconds per record."""
        idx = np.array([WAVE[w] for w in waves])
        on = self.mu[:, idx] - EDGE * self.sigma[:, idx]
        off = self.mu[:, idx] + EDGE * self.sigma[:, idx]
        present = np.abs(self.amp[:, idx]).sum(-1) > 0
        return np.where(present, on, np.inf).min(1), np.where(present, off, -np.inf).max(1)


def _lerp(q, lo_hi) -> np.ndarray:
    lo, hi = lo_hi
    return lo + (hi - lo) * np.asarray(q, dtype=np.float64)


def _flag(params: pd.DataFrame, code: str) -> np.ndarray:
    return params[code].to_numpy().astype(bool)


def _vectors(params: pd.DataFrame, wave: str) -> np.ndarray:
    return params[[f"{wave}_x", f"{wave}_y", f"{wave}_z"]].to_numpy(np.float64)


def _hidden(direction: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``size * direction`` plus the stated lead-I leak, ``(n, 3)``."""
    size = np.asarray(size, dtype=np.float64)[:, None]
    return size * (direction + LEAD_I_LEAK * _LEAD_I_UNIT)


# ---------------------------------------------------------------------------------------- latent draws
def sample_physiology(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Per-patient latent physiology (heart frame), independent of the labels.

    Quantiles ``*_q`` in [0, 1) place a value inside the range its labels allow (e.g. ``hr_q``
    inside ``SINUS_BPM`` or ``RATE_BPM[rhythm]``), so switching a condition on or off keeps the
    patient; severities are drawn for every record so that the same holds for every condition.
    """
    u = lambda: rng.random(n)  # noqa: E731
    cols: dict[str, np.ndarray] = {
        "hr_q": rng.beta(1.2, 3.2, n),
        "pr_q": u(),
        "qtc_q": u(),
        "qrs_q": rng.beta(2.0, 2.5, n),
        "p_s": rng.uniform(0.085, 0.110, n),
        "rsa": rng.uniform(0.0, 0.04, n),
        "rsa_hz": rng.uniform(0.15, 0.35, n),
        "rsa_phase": rng.uniform(0, 2 * np.pi, n),
        "hrv_sd": rng.uniform(0.004, 0.02, n),
        "af_irregularity": rng.uniform(0.12, 0.25, n),
        "af_mv": rng.uniform(0.04, 0.12, n),
        "af_hz": rng.uniform(4.0, 9.0, n),
        "rot_x": np.clip(rng.normal(0, np.radians(8), n), -np.radians(20), np.radians(20)),
        "rot_y": np.clip(rng.normal(0, np.radians(8), n), -np.radians(20), np.radians(20)),
        "rot_z": np.clip(rng.normal(0, np.radians(10), n), -np.radians(25), np.radians(25)),
        "scale": np.clip(rng.lognormal(0.1, 0.25, n), 0.55, 2.0),
    }
    for wave, (base, sd) in NORMAL_AMPLITUDE.items():
        v = np.asarray(base) + rng.normal(0, sd, (n, 3))
        cols.update({f"{wave}_x": v[:, 0], f"{wave}_y": v[:, 1], f"{wave}_z": v[:, 2]})
    cols.update(
        {
            "crbbb_q": u(),
            "clbbb_q": u(),
            "lafb_q": u(),
            "ami_q": u(),
            "ami_st": u(),
            "ami_t": u(),
            "imi_q": u(),
            "imi_st": u(),
            "imi_t": u(),
            "lvh_q": u(),
            "lvh_strain": u(),
            "lvolt_q": u(),
            "nst_st": u(),
            "nst_t": u(),
            "pvc_count": rng.integers(1, 4, n),
            "pvc_coupling": rng.uniform(0.5, 0.7, n),
            "pvc_origin": u(),
            "pvc_mv": rng.uniform(1.3, 2.1, n),
            "pvc_width": rng.uniform(0.9, 1.15, n),
        }
    )
    return pd.DataFrame(cols)


# ---------------------------------------------------------------------------------------- intervals
def rhythm_intervals(params: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per record: mean RR, PR, QRS duration, QTc and QT (Bazett: QT = QTc * sqrt(RR)), seconds."""
    hr = _lerp(params["hr_q"], SINUS_BPM)
    for code, rng_bpm in RATE_BPM.items():
        hr = np.where(_flag(params, code), _lerp(params["hr_q"], rng_bpm), hr)
    rr = 60.0 / hr
    pr = np.where(_flag(params, "1AVB"), _lerp(params["pr_q"], PR_S["1AVB"]), _lerp(params["pr_q"], PR_S["normal"]))
    qtc = np.where(
        _flag(params, "LNGQT"), _lerp(params["qtc_q"], QTC_S["LNGQT"]), _lerp(params["qtc_q"], QTC_S["normal"])
    )
    qrs = _lerp(params["qrs_q"], QRS_S["normal"]) + np.where(_flag(params, "LAFB"), 0.006, 0.0)
    return {"rr": rr, "hr": hr, "pr": pr, "qrs": qrs, "qtc": qtc, "qt": qtc * np.sqrt(rr)}


# ---------------------------------------------------------------------------------------- sinus beat
def sinus_beat(params: pd.DataFrame) -> tuple[Waves, dict[str, np.ndarray]]:
    """The conducted (sinus or AF) beat of every record, with every condition applied."""
    n = len(params)
    iv = rhythm_intervals(params)
    w = Waves.empty(n)
    d = iv["qrs"]
    qrs_on = -0.45 * d
    w.set("Q", mu=qrs_on + EDGE * 0.08 * d, sigma=0.08 * d, amp=_vectors(params, "Q"))
    w.set("R", mu=0.0, sigma=0.10 * d, amp=_vectors(params, "R"))
    w.set("S", mu=0.55 * d - EDGE * 0.08 * d, sigma=0.08 * d, amp=_vectors(params, "S"))
    p_sigma = params["p_s"].to_numpy() / (2 * EDGE)
    w.set("P", mu=qrs_on - iv["pr"] + EDGE * p_sigma, sigma=p_sigma, amp=_vectors(params, "P"))
    w.set("P", amp=np.zeros(3), where=_flag(params, "AFIB"))
    for wave in ("ST", "T", "U"):
        w.set(wave, amp=_vectors(params, wave))
    for apply in (_bundle_branch_blocks, _lafb, _infarcts, _lvh, _nst):
        apply(w, params)
    _place_repolarisation(w, params, iv)
    return w, iv


def _place_repolarisation(w: Waves, params: pd.DataFrame, iv: dict) -> None:
    """ST, T and U timing from the QT interval: T ends at QRS onset + QT."""
    qrs_on, qrs_off = w.span(QRS_WAVES)
    t_sigma = 0.11 * iv["qt"] * np.where(_flag(params, "LNGQT"), 1.15, 1.0)
    t_off = qrs_on + iv["qt"]
    t_mu = t_off - EDGE * t_sigma
    gap = np.maximum(t_mu - qrs_off, 0.02)
    w.set("T", mu=t_mu, sigma=t_sigma)
    w.set("ST", mu=qrs_off + 0.35 * gap, sigma=0.3 * gap)
    w.set("U", mu=t_off + 0.05, sigma=0.025)
    iv["qt"] = t_off - qrs_on  # exact, also where a bundle branch block moved the QRS onset


def _bundle_branch_blocks(w: Waves, params: pd.DataFrame) -> None:
    """CRBBB: a late terminal rightward-anterior R' (rsR' in V1, wide S in I/V6), QRS >= 125 ms,
    secondary T discordant to R'. CLBBB: no septal q, broad notched leftward-posterior R (QS in V1,
    notched R in I/V6), QRS >= 130 ms, ST-T discordant to the QRS."""
    r_size = np.linalg.norm(_vectors(params, "R"), axis=1)
    t_size = np.linalg.norm(_vectors(params, "T"), axis=1)
    rb = _flag(params, "CRBBB")
    width = _lerp(params["crbbb_q"], QRS_S["CRBBB"])
    qrs_on = w.mu[:, WAVE["Q"]] - EDGE * w.sigma[:, WAVE["Q"]]
    rp_sigma = 0.018
    w.set(
        "RP",
        mu=qrs_on + width - EDGE * rp_sigma,
        sigma=rp_sigma,
        amp=(0.55 + 0.35 * params["crbbb_q"].to_numpy())[:, None] * r_size[:, None] * U_RBBB_TERMINAL,
        where=rb,
    )
    w.set("S", sigma=w.sigma[:, WAVE["S"]] * 1.4, where=rb)
    w.add("T", -0.4 * t_size[:, None] * U_RBBB_TERMINAL, where=rb)

    lb = _flag(params, "CLBBB")
    d = _lerp(params["clbbb_q"], QRS_S["CLBBB"])
    on = -0.42 * d
    w.set("Q", mu=on + EDGE * 0.07 * d, sigma=0.07 * d, amp=0.08 * r_size[:, None] * U_LBBB, where=lb)
    w.set("R", sigma=0.13 * d, amp=1.05 * r_size[:, None] * U_LBBB, where=lb)
    w.set(
        "R2",
        mu=0.58 * d - EDGE * 0.12 * d,
        sigma=0.12 * d,
        amp=0.95 * r_size[:, None] * _unit((0.6, 0.15, 1.0)),
        where=lb,
    )
    w.set("S", amp=np.zeros(3), where=lb)
    w.set("T", amp=-0.9 * t_size[:, None] * U_LBBB, where=lb)
    w.set("ST", amp=-0.10 * U_LBBB, where=lb)


def _lafb(w: Waves, params: pd.DataFrame) -> None:
    """Left anterior fascicular block: the QRS vector swings superiorly along ``-U_INFERIOR``
    (orthogonal to lead I) until its inferior component is negative (II/III/aVF rS; axis <= -45 deg
    before the patient's rotation); the initial forces point inferiorly (q in I/aVL, r in II)."""
    on = _flag(params, "LAFB")
    r = _vectors(params, "R")
    r_size = np.linalg.norm(r, axis=1)
    target = (0.65 + 0.35 * params["lafb_q"].to_numpy()) * r_size  # final superior component
    shift = r @ U_INFERIOR + target
    w.add("R", -_hidden(U_INFERIOR, shift), where=on)
    w.add("S", -_hidden(U_INFERIOR, 0.25 * shift), where=on)
    w.add("Q", _hidden(U_INFERIOR, 0.08 * shift), where=on)


def _infarcts(w: Waves, params: pd.DataFrame) -> None:
    """AMI / IMI: loss of the early QRS forces towards the infarct (a pathological, wider Q wave
    pointing away from it), some R loss, ST elevation towards it, T hyperacute or inverted.
    AMI acts along ``U_ANTERIOR`` (V1-V4), IMI along ``U_INFERIOR`` (II, III, aVF)."""
    for code, direction, key in (("AMI", U_ANTERIOR, "ami"), ("IMI", U_INFERIOR, "imi")):
        on = _flag(params, code)
        q = 0.35 + 0.25 * params[f"{key}_q"].to_numpy()
        w.add("Q", -_hidden(direction, q), where=on)
        w.set("Q", sigma=w.sigma[:, WAVE["Q"]] * 1.35, where=on)
        w.add("R", -_hidden(direction, 0.4 * q), where=on)
        w.add("ST", _hidden(direction, 0.10 + 0.15 * params[f"{key}_st"].to_numpy()), where=on)
        w.add("T", _hidden(direction, -0.25 + 0.45 * params[f"{key}_t"].to_numpy()), where=on)


def _lvh(w: Waves, params: pd.DataFrame) -> None:
    """LVH: extra leftward-posterior QRS voltage (tall R in I/V5-V6, deep S in V1-V2; the exact
    Sokolow-Lyon level is set by ``voltage_gain``); half the records with strain (lateral ST
    depression, T inversion)."""
    on = _flag(params, "LVH")
    r_size = np.linalg.norm(_vectors(params, "R"), axis=1)[:, None]
    w.add("R", 0.6 * r_size * U_LVH_QRS, where=on)
    w.add("S", 0.5 * r_size * U_LVH_S, where=on)
    strain = on & (params["lvh_strain"].to_numpy() < 0.5)
    w.add("ST", -0.08 * U_LATERAL, where=strain)
    w.set("T", amp=-0.6 * w.amp[:, WAVE["T"]], where=strain)


def _nst(w: Waves, params: pd.DataFrame) -> None:
    """Non-specific ST-T change: lateral ST depression and a flattened or inverted T wave."""
    on = _flag(params, "NST_")
    depth = 0.04 + 0.08 * params["nst_st"].to_numpy()[:, None]
    w.add("ST", -depth * U_LATERAL, where=on)
    factor = (-0.5 + 0.75 * params["nst_t"].to_numpy())[:, None]  # -0.5 (inverted) .. 0.25 (flat)
    w.set("T", amp=factor * w.amp[:, WAVE["T"]], where=on)


# ---------------------------------------------------------------------------------------- PVC beat
def pvc_beat(params: pd.DataFrame) -> Waves:
    """A ventricular premature beat: no P, wide bizarre QRS (two broad waves, 140-190 ms) from the
    right (LBBB-like) or left (RBBB-like) ventricle, ST-T discordant to the QRS."""
    n = len(params)
    w = Waves.empty(n)
    k = params["pvc_width"].to_numpy()
    origin = np.where((params["pvc_origin"].to_numpy() < 0.5)[:, None], U_PVC_RV, U_PVC_LV)
    size = params["pvc_mv"].to_numpy()[:, None]
    w.set("R", mu=0.0, sigma=0.021 * k, amp=size * origin)
    second = origin + np.array([0.0, -0.5, 0.3])  # the second lobe turns superior-posterior
    w.set("R2", mu=0.045 * k, sigma=0.026 * k, amp=0.6 * size * second / np.linalg.norm(second, axis=1, keepdims=True))
    _, qrs_off = w.span(QRS_WAVES)
    w.set("ST", mu=qrs_off + 0.06, sigma=0.04, amp=-0.06 * size * origin)
    w.set("T", mu=qrs_off + 0.17, sigma=0.05, amp=-0.3 * size * origin)
    return w


# ---------------------------------------------------------------------------------------- voltage
def voltage_gain(qrs_leads: np.ndarray, params: pd.DataFrame) -> np.ndarray:
    """Gain ``(n,)`` for the QRS waves that makes the voltage classes exact, from the QRS-only
    template projected to the 12 leads ``(n, 12, L)`` (LEADS12 order).

    * LVH: Sokolow-Lyon index S(V1) + max(R(V5), R(V6)) raised to ``LVH_SOKOLOW_MV``; records
      without LVH are capped at ``NON_LVH_SOKOLOW_MAX_MV``.
    * LVOLT: the largest limb-lead QRS peak-to-peak brought into ``LVOLT_LIMB_MV`` (< 0.5 mV);
      records without LVOLT keep at least ``LIMB_FLOOR_MV``.
    """
    sokolow = np.maximum(-qrs_leads[:, 6].min(-1), 0) + np.maximum(qrs_leads[:, 10].max(-1), qrs_leads[:, 11].max(-1))
    limb = np.ptp(qrs_leads[:, :6], axis=-1).max(-1)
    # a QRS with no S in V1 and no R in V5/V6 (rare extreme rotation) has index 0: keep the division finite
    sokolow, limb = np.maximum(sokolow, 1e-6), np.maximum(limb, 1e-6)
    lvh, lvolt = _flag(params, "LVH"), _flag(params, "LVOLT")
    target = _lerp(params["lvh_q"], LVH_SOKOLOW_MV)
    gain = np.where(lvh, np.maximum(1.0, target / sokolow), np.minimum(1.0, NON_LVH_SOKOLOW_MAX_MV / sokolow))
    low = _lerp(params["lvolt_q"], LVOLT_LIMB_MV)
    gain = np.where(lvolt, low / limb, np.maximum(gain, LIMB_FLOOR_MV / limb))
    return gain
