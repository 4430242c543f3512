"""The synthetic 12-lead ECG data set (docs/design.md section 4): a 3-D cardiac dipole of Gaussian waves,
rotated and scaled per patient, projected to the 12 leads with the Dower transform, plus noise.

Three levels, each usable on its own:

* ``sample_params(n, rng, prevalence)``: one row per record: labels (one 0/1 column per class),
  age/sex, latent physiology (``synthetic_conditions.sample_physiology``), noise flags and levels,
  and ``seed``, the record's own random stream (beat-to-beat timing and noise samples);
* ``render(params, fs, seconds, noise)``: a pure function of ``params``: signals (N, 12, T) in mV,
  the beat fiducials and the diagnostic regions. Switch one condition column on or off and render
  again to see exactly what that condition does to the same patient;
* ``load_synthetic(...)``: the ``ECGData`` set. Record ``i`` depends only on ``(seed, i)`` (its
  parameters come from the 64-record block ``i // RNG_BLOCK`` seeded ``[seed, block]``), so
  ``chunk_size`` and ``n_records`` never change a record.

Labels: classes in ``CLASS_NAMES`` order. Rhythms (SBRAD, STACH, AFIB) are mutually exclusive, as
are CRBBB/CLBBB and LVH/LVOLT; 1AVB needs P waves (never with AFIB) and LAFB is not coded with
CLBBB; NORM means no other finding. Each ``prevalence`` is the class's marginal probability.

Diagnostic regions (``regions`` table, ``end`` exclusive, one row per beat unless "record"):

=====================================  =========================================================
class                                  region
=====================================  =========================================================
NORM, SBRAD, STACH, AFIB               the whole record (rate and rhythm are global findings)
1AVB                                   P onset to QRS onset of each conducted beat (the PR)
CRBBB, CLBBB, LAFB, LVH, LVOLT         QRS onset to QRS offset of each conducted beat
AMI, IMI, LNGQT                        QRS onset to T end of each conducted beat (Q wave + ST-T)
NST_                                   QRS offset to T end of each conducted beat (ST-T segment)
PVC                                    QRS onset to T end of each premature beat
=====================================  =========================================================

Noise (only where a record's flag is set; rates in ``NOISE_RATES``): baseline wander (two slow
sinusoids per lead, 0.05-0.5 Hz), muscle (EMG) noise (white at 125 Hz, linearly interpolated),
electrode motion (one or two smooth 0.1-0.4 s excursions in a few leads), mains hum (50 or 60 Hz,
only where ``fs`` resolves it). Noise is drawn for the 8 independent leads (I, II, V1-V6); III, aVR,
aVL and aVF are derived from I and II, so Einthoven's and Goldberger's identities hold exactly.
"""

from __future__ import annotations

import math
import os
from functools import lru_cache

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided

from ..checks import check_fraction, check_int, check_positive
from ..errors import ConfigError
from ..progress import progress
from ..utils import fingerprint
from ..versions import version
from .conditions import CLASS_NAMES, CONDITIONS
from .container import FIDUCIAL_COLUMNS, ECGData
from .dower import DOWER_12, LIMB_EXPANSION
from .leads import LEADS12
from .synthetic_conditions import (
    CUT,
    EDGE,
    QRS_INDEX,
    QRS_WAVES,
    U_AF,
    WAVE,
    Waves,
    pvc_beat,
    rhythm_intervals,
    sample_physiology,
    sinus_beat,
    voltage_gain,
)

RNG_BLOCK = 64
DEFAULT_PREVALENCE: dict[str, float] = {c: 0.10 for c in CLASS_NAMES if c != "NORM"}
EXCLUSIVE_GROUPS: tuple[tuple[str, ...], ...] = (("SBRAD", "STACH", "AFIB"), ("CRBBB", "CLBBB"), ("LVH", "LVOLT"))
#: a class that can only occur without another one (drawn conditionally to keep its marginal)
EXCLUDED_BY: dict[str, str] = {"1AVB": "AFIB", "LAFB": "CLBBB"}
NOISE_RATES = {"baseline": 0.7, "emg": 0.35, "motion": 0.15, "mains": 0.25}
#: fastest RR (s) any rhythm produces; bounds the number of beat slots
MIN_RR = 0.3
EMG_FS = 125.0
EMG_BANK_SEED = 20240601
#: (12, 3 + 8): leads = DOWER_12 @ dipole + LIMB_EXPANSION @ noise of I, II, V1-V6, in one product
PROJECTION = np.concatenate([DOWER_12, LIMB_EXPANSION], axis=1).astype(np.float32)

REGION_RULES: dict[str, tuple[str, str, str] | None] = {
    "NORM": None,
    "SBRAD": None,
    "STACH": None,
    "AFIB": None,
    "1AVB": ("sinus", "p_on", "qrs_on"),
    "CRBBB": ("sinus", "qrs_on", "qrs_off"),
    "CLBBB": ("sinus", "qrs_on", "qrs_off"),
    "LAFB": ("sinus", "qrs_on", "qrs_off"),
    "LVH": ("sinus", "qrs_on", "qrs_off"),
    "LVOLT": ("sinus", "qrs_on", "qrs_off"),
    "AMI": ("sinus", "qrs_on", "t_off"),
    "IMI": ("sinus", "qrs_on", "t_off"),
    "LNGQT": ("sinus", "qrs_on", "t_off"),
    "NST_": ("sinus", "qrs_off", "t_off"),
    "PVC": ("pvc", "qrs_on", "t_off"),
}


# ============================================================================ parameters
def check_prevalence(prevalence: dict[str, float] | None) -> dict[str, float]:
    """Defaults updated with ``prevalence``; ConfigError for an unknown class, NORM (it is implied),
    a value outside [0, 1], or an exclusive group whose probabilities sum above 1."""
    out = dict(DEFAULT_PREVALENCE)
    for code, p in (prevalence or {}).items():
        if code not in out:
            why = "NORM is implied by the absence of every other finding" if code == "NORM" else "unknown class"
            raise ConfigError(f"prevalence: {code!r} cannot be set ({why}); settable: {list(out)}")
        out[code] = check_fraction(f"prevalence[{code!r}]", p)
    for group in EXCLUSIVE_GROUPS:
        if sum(out[c] for c in group) > 1.0:
            raise ConfigError(f"prevalence of the exclusive classes {group} sums above 1: {[out[c] for c in group]}")
    for code, other in EXCLUDED_BY.items():
        if out[code] > 1.0 - out[other] + 1e-12:
            raise ConfigError(
                f"prevalence[{code!r}]={out[code]} exceeds 1 - prevalence[{other!r}] ({code} never occurs with {other})"
            )
    return out


def sample_labels(n: int, rng: np.random.Generator, prevalence: dict[str, float] | None = None) -> np.ndarray:
    """Multi-hot labels ``(n, C)`` (int8, ``CLASS_NAMES`` order) with the stated marginals."""
    p = check_prevalence(prevalence)
    col = {c: i for i, c in enumerate(CLASS_NAMES)}
    y = np.zeros((n, len(CLASS_NAMES)), dtype=np.int8)
    grouped = {c for g in EXCLUSIVE_GROUPS for c in g}
    for group in EXCLUSIVE_GROUPS:
        edges = np.cumsum([p[c] for c in group])
        pick = np.searchsorted(edges, rng.random(n), side="right")
        for k, c in enumerate(group):
            y[:, col[c]] = pick == k
    for c in CLASS_NAMES:
        if c == "NORM" or c in grouped:
            continue
        u = rng.random(n)
        if c in EXCLUDED_BY:
            other = EXCLUDED_BY[c]
            q = p[c] / (1.0 - p[other]) if p[other] < 1.0 else 0.0
            y[:, col[c]] = (u < q) & (y[:, col[other]] == 0)
        else:
            y[:, col[c]] = u < p[c]
    y[:, col["NORM"]] = y.sum(1) == 0
    return y


def sample_params(n: int, rng: np.random.Generator, prevalence: dict[str, float] | None = None) -> pd.DataFrame:
    """Parameters of ``n`` records (see the module docstring). All draws are fixed-size, so a
    record's patient does not depend on its labels."""
    labels = sample_labels(n, rng, prevalence)
    table = pd.DataFrame(labels, columns=list(CLASS_NAMES))
    table["age"] = np.clip(rng.normal(58, 16, n), 18, 95).round().astype(int)
    table["sex"] = np.where(rng.random(n) < 0.5, "M", "F")
    physiology = sample_physiology(n, rng)
    noise = {f"has_{k}": rng.random(n) < r for k, r in NOISE_RATES.items()}
    noise.update(
        baseline_mv=rng.uniform(0.02, 0.15, n),
        emg_mv=rng.uniform(0.005, 0.03, n),
        motion_mv=rng.uniform(0.1, 0.5, n),
        mains_mv=rng.uniform(0.005, 0.03, n),
        mains_hz=np.where(rng.random(n) < 0.5, 50.0, 60.0),
    )
    seeds = rng.integers(0, 2**63 - 1, n, dtype=np.int64)
    return pd.concat([table, physiology, pd.DataFrame(noise), pd.DataFrame({"seed": seeds})], axis=1)


def labels_from_params(params: pd.DataFrame) -> np.ndarray:
    """``(n, C)`` float32 labels in ``CLASS_NAMES`` order."""
    return params[list(CLASS_NAMES)].to_numpy(np.float32)


# ============================================================================ rendering helpers
def rotation_matrices(params: pd.DataFrame) -> np.ndarray:
    """``scale * Rz(rot_z) @ Ry(rot_y) @ Rx(rot_x)``, ``(n, 3, 3)``: heart frame -> body frame."""
    n = len(params)
    mats = np.empty((3, n, 3, 3))
    for k, axis in enumerate(("rot_x", "rot_y", "rot_z")):
        a = params[axis].to_numpy()
        c, s = np.cos(a), np.sin(a)
        m = np.zeros((n, 3, 3))
        i, j = [(1, 2), (0, 2), (0, 1)][k]
        m[:, 3 - i - j, 3 - i - j] = 1.0
        m[:, i, i], m[:, j, j], m[:, i, j], m[:, j, i] = c, c, -s, s
        mats[k] = m
    return params["scale"].to_numpy()[:, None, None] * (mats[2] @ mats[1] @ mats[0])


def _gaussians(waves: Waves, fs: float, index: np.ndarray) -> tuple[np.ndarray, int]:
    """Sum of the waves ``index`` sampled at ``fs`` on the window they need: ``(n, 3, L)`` float32
    and the window's first sample relative to the R peak (<= 0). Each Gaussian is cut at CUT sigma."""
    mu, sigma, amp = waves.mu[:, index], waves.sigma[:, index], waves.amp[:, index]
    present = np.abs(amp).sum(-1) > 0
    lo = np.where(present, mu - CUT * sigma, 0.0).min()
    hi = np.where(present, mu + CUT * sigma, 0.0).max()
    start, stop = math.floor(lo * fs), math.ceil(hi * fs) + 1
    t = (np.arange(start, stop, dtype=np.float32) / np.float32(fs))[None, :]
    out = np.zeros((len(mu), 3, stop - start), dtype=np.float32)
    for k in range(len(index)):
        z = (t - mu[:, k, None].astype(np.float32)) / sigma[:, k, None].astype(np.float32)
        g = np.exp(-0.5 * z * z) * (np.abs(z) < CUT)
        out += amp[:, k, :, None].astype(np.float32) * g[:, None, :]
    return out, start


def beat_template(waves: Waves, fs: float, gain: bool, params: pd.DataFrame | None = None) -> tuple[np.ndarray, int]:
    """Dipole template ``(n, 3, L)`` of one beat type and the R peak's index in it. With ``gain``,
    the QRS waves are scaled by ``voltage_gain`` (LVH / LVOLT voltage criteria)."""
    qrs, q0 = _gaussians(waves, fs, QRS_INDEX)
    rest_index = np.array([i for i in range(waves.mu.shape[1]) if i not in set(QRS_INDEX)])
    rest, r0 = _gaussians(waves, fs, rest_index)
    if gain:
        qrs *= voltage_gain(np.matmul(DOWER_12.astype(np.float32), qrs), params).astype(np.float32)[:, None, None]
    start = min(q0, r0)
    length = max(q0 + qrs.shape[-1], r0 + rest.shape[-1]) - start
    out = np.zeros((qrs.shape[0], 3, length), dtype=np.float32)
    out[:, :, q0 - start : q0 - start + qrs.shape[-1]] += qrs
    out[:, :, r0 - start : r0 - start + rest.shape[-1]] += rest
    return out, -start


def _to_body(waves: Waves, rot: np.ndarray) -> Waves:
    return Waves(waves.mu, waves.sigma, np.einsum("nij,nwj->nwi", rot, waves.amp))


#: each record's uniform draws: name -> count (beat slots are added in ``_record_draws``)
UNIFORM_LAYOUT = {"u0": 1, "af_phase": 3, "bw": 2 + 2 + 16, "emg": 16, "motion": 2 * 11, "mains": 16}


def _record_draws(params: pd.DataFrame, slots: int) -> dict[str, np.ndarray]:
    """Each record's own random numbers from ``np.random.default_rng(seed)``: ``slots`` normals
    (beat-to-beat RR) and a fixed layout of uniforms (``u_pvc`` per slot, then ``UNIFORM_LAYOUT``).
    The same numbers are drawn whatever the labels or the noise switch, so neither moves a beat."""
    n = len(params)
    sizes = {"u_pvc": slots, **UNIFORM_LAYOUT}
    z = np.empty((n, slots))
    u = np.empty((n, sum(sizes.values())))
    for i, seed in enumerate(params["seed"].to_numpy()):
        g = np.random.default_rng(int(seed))
        z[i] = g.standard_normal(slots)
        u[i] = g.random(u.shape[1])
    ends = np.cumsum(list(sizes.values()))
    out = {name: u[:, end - size : end] for (name, size), end in zip(sizes.items(), ends)}
    out["z_rr"] = z
    return out


def beat_schedule(params: pd.DataFrame, iv: dict, seconds: float, draws: dict) -> tuple[np.ndarray, np.ndarray]:
    """R-peak times ``(n, K)`` in seconds (from 1 s before the record) and beat kind (0 none,
    1 conducted, 2 PVC).

    Sinus: ``RR_k = RR (1 + rsa sin(2 pi f_rsa k RR + phase) + hrv_sd z_k)`` (respiratory sinus
    arrhythmia plus jitter). AF: ``RR_k = RR exp(s z_k - s^2/2)`` (irregularly irregular, >= MIN_RR).
    PVC: 1-3 beats on slots of one parity (never adjacent) inside the record replaced by a premature beat at ``t_{k-1} + c (t_k - t_{k-1})``
    (c = coupling 0.5-0.7); the next sinus beat stays on time, so the pause is compensatory.
    """
    n, slots = draws["z_rr"].shape
    rr = iv["rr"][:, None]
    k = np.arange(slots)[None, :]
    sinus = rr * (
        1
        + params["rsa"].to_numpy()[:, None]
        * np.sin(2 * np.pi * params["rsa_hz"].to_numpy()[:, None] * k * rr + params["rsa_phase"].to_numpy()[:, None])
        + params["hrv_sd"].to_numpy()[:, None] * draws["z_rr"]
    )
    s = params["af_irregularity"].to_numpy()[:, None]
    af = np.maximum(rr * np.exp(s * draws["z_rr"] - s * s / 2), MIN_RR)
    intervals = np.where(params["AFIB"].to_numpy(bool)[:, None], af, np.maximum(sinus, MIN_RR))
    times = -1.0 + draws["u0"] * intervals[:, :1] + np.cumsum(intervals, axis=1) - intervals[:, :1]
    kind = np.where(times < seconds + 1.0, 1, 0).astype(np.int8)
    prev = np.concatenate([times[:, :1] - intervals[:, :1], times[:, :-1]], axis=1)
    inside = (prev >= 0) & (times < seconds) & params["PVC"].to_numpy(bool)[:, None]
    even, odd = inside & (k % 2 == 0), inside & (k % 2 == 1)  # one parity: PVCs are never adjacent
    candidate = np.where(even.any(1, keepdims=True), even, odd)
    key = np.where(candidate, draws["u_pvc"], np.inf)
    rank = np.argsort(np.argsort(key, axis=1), axis=1)
    pvc = candidate & (rank < params["pvc_count"].to_numpy()[:, None])
    times = np.where(pvc, prev + params["pvc_coupling"].to_numpy()[:, None] * (times - prev), times)
    kind[pvc] = 2
    return times, kind


def _place(buf: np.ndarray, template: np.ndarray, r_index: int, margin: int, rows: np.ndarray, r: np.ndarray) -> None:
    """Add ``template[j]`` into ``buf[rows[j]]`` with its R peak at sample ``r[j]`` (a strided
    window view; no record appears twice in one call, so fancy ``+=`` is exact)."""
    n, c, tb = buf.shape
    length = template.shape[-1]
    s = buf.strides
    windows = as_strided(buf, (n, c, tb - length + 1, length), (s[0], s[1], s[2], s[2]), writeable=True)
    windows[rows[:, None], np.arange(c)[None, :], (r - r_index + margin)[:, None]] += template


def _wave_fiducials(waves: Waves, has_p: np.ndarray) -> np.ndarray:
    """Fiducial offsets ``(n, 8)`` in seconds from the R peak, FIDUCIAL_COLUMNS order (NaN if absent)."""
    qrs_on, qrs_off = waves.span(QRS_WAVES)
    p, t = WAVE["P"], WAVE["T"]
    cols = [
        waves.mu[:, p] - EDGE * waves.sigma[:, p],
        waves.mu[:, p],
        waves.mu[:, p] + EDGE * waves.sigma[:, p],
        qrs_on,
        np.zeros(len(qrs_on)),
        qrs_off,
        waves.mu[:, t],
        waves.mu[:, t] + EDGE * waves.sigma[:, t],
    ]
    out = np.stack(cols, 1)
    out[~has_p, :3] = np.nan
    return out


@lru_cache(maxsize=1)
def _emg_bank() -> np.ndarray:
    """A fixed table of 2^18 standard normal samples; EMG windows are read from it at random offsets
    (cheap, deterministic, and statistically white)."""
    return np.random.default_rng(EMG_BANK_SEED).standard_normal(1 << 18, dtype=np.float32)


def _low_rate_noise(params: pd.DataFrame, draws: dict, low_fs: float, n_low: int) -> np.ndarray:
    """Baseline wander, EMG and electrode motion of the 8 independent leads at ``low_fs``,
    ``(n, 8, n_low)`` float32, each where the record's flag is set.

    * baseline: two slow sinusoids (respiration 0.15-0.5 Hz, drift 0.05-0.15 Hz) shared by the
      leads with lead gains in [-1, 1], scaled by ``baseline_mv``;
    * EMG: white noise (a window of ``_emg_bank``) per lead, lead gains in [0.3, 1], ``emg_mv`` rms;
    * motion: one or two Gaussian excursions (0.1-0.4 s wide) in each lead with probability 0.4.
    """
    n = len(params)
    t = (np.arange(n_low) / low_fs).astype(np.float32)
    low = np.zeros((n, 8, n_low), dtype=np.float32)
    rows = np.flatnonzero(params["has_baseline"].to_numpy(bool))
    if rows.size:
        u = draws["bw"][rows].astype(np.float32)
        hz = np.stack([0.15 + 0.35 * u[:, 0], 0.05 + 0.10 * u[:, 1]], 1)[:, :, None]
        waves = np.sin(2 * np.pi * hz * t + 2 * np.pi * u[:, 2:4, None])  # (m, 2, n_low)
        gains = (2 * u[:, 4:].reshape(-1, 8, 2) - 1) * params["baseline_mv"].to_numpy()[rows, None, None]
        low[rows] = np.matmul(gains.astype(np.float32), waves)
    rows = np.flatnonzero(params["has_emg"].to_numpy(bool))
    if rows.size:
        u = draws["emg"][rows]
        start = (u[:, :8] * (1 << 18)).astype(np.int64)
        window = np.take(_emg_bank(), start[:, :, None] + np.arange(n_low), mode="wrap")
        gain = (0.3 + 0.7 * u[:, 8:]) * params["emg_mv"].to_numpy()[rows, None]
        low[rows] += gain.astype(np.float32)[:, :, None] * window
    rows = np.flatnonzero(params["has_motion"].to_numpy(bool))
    if rows.size:
        u = draws["motion"][rows].reshape(-1, 2, 11).astype(np.float32)
        active = np.stack([np.ones(rows.size, np.float32), (u[:, 1, 0] < 0.4).astype(np.float32)], 1)
        centre, width = u[:, :, 1] * t[-1], 0.1 + 0.3 * u[:, :, 2]
        bumps = active[:, :, None] * np.exp(-0.5 * ((t - centre[:, :, None]) / width[:, :, None]) ** 2)
        lead_u = u[:, :, 3:]  # a lead moves with probability 0.4; its gain, uniform in [-1, 1], reuses the draw
        gains = np.where(lead_u < 0.4, 2 * (lead_u / 0.4) - 1, 0.0)
        gains *= params["motion_mv"].to_numpy()[rows, None, None]
        low[rows] += np.matmul(np.swapaxes(gains, 1, 2).astype(np.float32), bumps)
    return low


def _write_noise(noise_rows: np.ndarray, n_samples: int, params: pd.DataFrame, draws: dict, fs: float, q: int) -> None:
    """Write the noise of the 8 independent leads into ``noise_rows[:, :, :n_samples]`` (a view of
    the render buffer with at least ``q`` spare samples after ``n_samples``): the low-rate part
    (``fs / q``) linearly interpolated, then mains hum (50/60 Hz) where the record has it and ``fs``
    resolves it (``fs > 2.4 f``)."""
    n_low = -(-n_samples // q) + 1
    low = _low_rate_noise(params, draws, fs / q, n_low)
    st = noise_rows.strides  # (n, 8, n_low - 1, q) view: sample q*i + j of step i
    wide = as_strided(
        noise_rows, (noise_rows.shape[0], 8, n_low - 1, q), (st[0], st[1], q * st[2], st[2]), writeable=True
    )
    frac = np.arange(q, dtype=np.float32) / q
    np.matmul(np.stack([low[..., :-1], low[..., 1:]], -1), np.stack([1 - frac, frac]), out=wide)
    t = np.arange(n_samples) / fs
    for f in (50.0, 60.0):
        rows = np.flatnonzero(params["has_mains"].to_numpy(bool) & (params["mains_hz"].to_numpy() == f))
        if rows.size and fs > 2.4 * f:
            u = draws["mains"][rows]
            amp = params["mains_mv"].to_numpy()[rows, None] * (0.3 + 0.7 * u[:, :8])
            coef = amp[:, :, None] * np.stack([np.cos(2 * np.pi * u[:, 8:]), np.sin(2 * np.pi * u[:, 8:])], -1)
            basis = np.stack([np.sin(2 * np.pi * f * t), np.cos(2 * np.pi * f * t)]).astype(np.float32)
            noise_rows[rows, :, :n_samples] += np.matmul(coef.astype(np.float32), basis)


# ============================================================================ render
def render(
    params: pd.DataFrame, fs: float, seconds: float, noise: bool = True, record_ids=None, out: np.ndarray | None = None
) -> tuple[np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Render records from their parameters: ``(signals (n, 12, T) float32 mV, fiducials, regions)``.

    Steps: wave tables (``sinus_beat`` / ``pvc_beat``) -> rotate and scale to the body frame ->
    dipole templates sampled at ``fs`` -> beats placed at their R peaks (``beat_schedule``) ->
    AF f-waves -> noise of I, II, V1-V6 -> one product with ``PROJECTION`` = [DOWER_12 | LIMB_EXPANSION]
    (the 12 leads, limb leads derived exactly). A PVC record shorter than two beats shows no PVC.
    ``record_ids`` default to the params index; ``out`` may be a preallocated (n, 12, T) array.
    """
    ids = np.asarray(record_ids if record_ids is not None else params.index.astype(str), dtype=object)
    params = params.reset_index(drop=True)
    n, n_samples = len(params), int(round(fs * seconds))
    sinus, iv = sinus_beat(params)
    rot = rotation_matrices(params)
    is_pvc_rec = params["PVC"].to_numpy(bool)
    pvc_rows = np.flatnonzero(is_pvc_rec)
    templates = {1: beat_template(_to_body(sinus, rot), fs, True, params)}
    pvc = pvc_beat(params.iloc[pvc_rows])
    if pvc_rows.size:
        templates[2] = beat_template(_to_body(pvc, rot[pvc_rows]), fs, False)
    slots = math.ceil((seconds + 2.0) / MIN_RR) + 2
    q = max(1, round(fs / EMG_FS))  # noise is made at fs / q and interpolated
    draws = _record_draws(params, slots)
    times, kind = beat_schedule(params, iv, seconds, draws)
    r = np.rint(times * fs).astype(np.int64)

    margin = max(q, *(t.shape[-1] for t, _ in templates.values()))
    buf = np.empty((n, 11 if noise else 3, n_samples + 2 * margin), dtype=np.float32)
    dipole_rows = buf[:, :3]
    dipole_rows[...] = 0.0  # noise rows are fully overwritten by _write_noise
    slot_of = np.full(n, -1)
    slot_of[pvc_rows] = np.arange(pvc_rows.size)
    for beat_kind, (template, r_index) in templates.items():
        post = template.shape[-1] - r_index
        inside = (kind == beat_kind) & (r >= -post) & (r < n_samples + r_index)
        for k in range(kind.shape[1]):
            rows = np.flatnonzero(inside[:, k])
            if rows.size:
                _place(
                    dipole_rows,
                    template[rows] if beat_kind == 1 else template[slot_of[rows]],
                    r_index,
                    margin,
                    rows,
                    r[rows, k],
                )
    _add_f_waves(dipole_rows[:, :, margin : margin + n_samples], params, rot, draws, fs)
    if noise:
        _write_noise(buf[:, 3:, margin:], n_samples, params, draws, fs, q)
    signals = out if out is not None else np.empty((n, 12, n_samples), dtype=np.float32)
    np.matmul(PROJECTION[:, : buf.shape[1]], buf[:, :, margin : margin + n_samples], out=signals)

    offsets = {1: _wave_fiducials(sinus, ~params["AFIB"].to_numpy(bool))}
    if pvc_rows.size:
        offsets[2] = _wave_fiducials(pvc, np.zeros(pvc_rows.size, bool))
    fiducials, beats = _fiducial_table(ids, r, kind, offsets, slot_of, fs, n_samples)
    regions = _region_table(ids, params, beats, n_samples)
    return signals, fiducials, regions


def _add_f_waves(dipole: np.ndarray, params: pd.DataFrame, rot: np.ndarray, draws: dict, fs: float) -> None:
    """AF fibrillatory waves: ``a (1 + 0.3 sin(2 pi 0.4 t + p3)) sin(2 pi f t + p1 + 1.5 sin(2 pi 0.25 t + p2))``
    along ``U_AF`` (f = 4-9 Hz, a = 0.04-0.12 mV), in AF records only."""
    rows = np.flatnonzero(params["AFIB"].to_numpy(bool))
    if rows.size == 0:
        return
    t = (np.arange(dipole.shape[-1], dtype=np.float32) / np.float32(fs))[None, :]
    ph = (2 * np.pi * draws["af_phase"][rows]).astype(np.float32)
    f = params["af_hz"].to_numpy(np.float32)[rows, None]
    a = params["af_mv"].to_numpy(np.float32)[rows, None]
    wave = (
        a
        * (1 + 0.3 * np.sin(np.float32(2 * np.pi * 0.4) * t + ph[:, 2:3]))
        * np.sin(2 * np.pi * f * t + ph[:, :1] + 1.5 * np.sin(np.float32(2 * np.pi * 0.25) * t + ph[:, 1:2]))
    )
    direction = (rot[rows] @ U_AF).astype(np.float32)  # (m, 3)
    dipole[rows] += direction[:, :, None] * wave[:, None, :]


def _fiducial_table(ids, r, kind, offsets, slot_of, fs, n_samples) -> tuple[pd.DataFrame, dict]:
    """One row per beat whose R peak lies in the record; wave positions outside it are -1."""
    rec, slot = np.nonzero((kind > 0) & (r >= 0) & (r < n_samples))
    is_pvc = kind[rec, slot] == 2
    off = offsets[1][rec]
    if 2 in offsets and is_pvc.any():
        off[is_pvc] = offsets[2][slot_of[rec[is_pvc]]]
    pos = r[rec, slot][:, None] + np.rint(np.nan_to_num(off, nan=0.0) * fs).astype(np.int64)
    pos[np.isnan(off)] = -1
    beats = {"rec": rec, "is_pvc": is_pvc, "pos": pos}
    shown = np.where((pos >= 0) & (pos < n_samples), pos, -1)
    beat_no = np.arange(len(rec)) - np.searchsorted(rec, rec)
    table = pd.DataFrame({"record_id": ids[rec], "beat": beat_no, "is_pvc": is_pvc})
    for j, col in enumerate(FIDUCIAL_COLUMNS):
        table[col] = shown[:, j]
    return table, beats


def _region_table(ids, params: pd.DataFrame, beats: dict, n_samples: int) -> pd.DataFrame:
    """Diagnostic regions per positive class (``REGION_RULES``), clipped to the record."""
    col = {c: j for j, c in enumerate(FIDUCIAL_COLUMNS)}
    recs, classes, starts, ends = [], [], [], []
    for c, code in enumerate(CLASS_NAMES):
        positive = params[code].to_numpy(bool)
        rule = REGION_RULES[code]
        if rule is None:
            rec = np.flatnonzero(positive)
            start, end = np.zeros(rec.size, np.int64), np.full(rec.size, n_samples, np.int64)
        else:
            kind, a, b = rule
            keep = positive[beats["rec"]] & (beats["is_pvc"] == (kind == "pvc")) & (beats["pos"][:, col[a]] >= 0)
            rec = beats["rec"][keep]
            start = np.clip(beats["pos"][keep, col[a]], 0, n_samples)
            end = np.clip(beats["pos"][keep, col[b]] + 1, 0, n_samples)
        ok = end > start
        recs.append(rec[ok]), classes.append(np.full(ok.sum(), c)), starts.append(start[ok]), ends.append(end[ok])
    rec, cls, start, end = (np.concatenate(x) for x in (recs, classes, starts, ends))
    order = np.lexsort((start, cls, rec))  # record-major, so chunking never reorders rows
    return pd.DataFrame(
        {
            "record_id": ids[rec[order]],
            "class": np.asarray(CLASS_NAMES, dtype=object)[cls[order]],
            "start": start[order],
            "end": end[order],
        }
    )


# ============================================================================ the data set
def assign_folds(labels: np.ndarray, seed: int) -> np.ndarray:
    """Folds 1..10, stratified by label pattern: records sorted by pattern (ties in a seeded random
    order) and dealt round-robin, so every pattern and the folds' sizes are balanced to +-1."""
    rng = np.random.default_rng([int(seed), 0xF01D])
    pattern = (labels.astype(np.int64) << np.arange(labels.shape[1])).sum(1)
    order = np.lexsort((rng.permutation(len(labels)), pattern))
    folds = np.empty(len(labels), dtype=np.int64)
    folds[order] = np.arange(len(labels)) % 10 + 1
    return folds


def _check_args(n_records, fs, seconds, seed, chunk_size) -> None:
    check_int("n_records", n_records, low=1)
    check_positive("fs", fs)
    check_positive("seconds", seconds)
    check_int("seed", seed, low=0)
    check_int("chunk_size", chunk_size, low=1)
    if round(fs * seconds) < 2:
        raise ConfigError(f"fs * seconds must give at least 2 samples; got fs={fs!r}, seconds={seconds!r}")


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation without swapping (psutil when installed, else
    Linux ``/proc/meminfo`` MemAvailable, else the physical memory); None when unknown."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _check_memory(n_records: int, fs: float, seconds: float) -> None:
    """ConfigError, before any work, when the float32 signals alone (``n_records x 12 leads x
    fs*seconds samples x 4 bytes``; labels, fiducials and regions add more) exceed the memory
    available now: such a request would otherwise render for minutes and then fail or swap."""
    n_samples = int(round(fs * seconds))
    need = n_records * len(LEADS12) * n_samples * np.dtype(np.float32).itemsize
    have = available_memory()
    if have is not None and need > have:
        raise ConfigError(
            f"n_records={n_records} at fs={fs:g} Hz x {seconds:g} s needs {need / 2**30:,.1f} GiB for the float32 "
            f"signals alone ({len(LEADS12)} leads x {n_samples} samples x 4 bytes per record) but "
            f"{have / 2**30:,.1f} GiB of memory is available; ask for at most {have // (need // n_records):,} records "
            "(fewer in practice), or a lower fs or shorter records"
        )


def record_params(n_records: int, seed: int = 0, prevalence: dict[str, float] | None = None) -> pd.DataFrame:
    """Parameters of records ``0..n_records-1`` of the set ``seed`` (block-seeded, see module doc)."""
    blocks = [
        sample_params(RNG_BLOCK, np.random.default_rng([int(seed), b]), prevalence)
        for b in range(-(-n_records // RNG_BLOCK))
    ]
    return pd.concat(blocks, ignore_index=True).iloc[:n_records].reset_index(drop=True)


def load_synthetic(
    n_records: int,
    fs: float = 500,
    seconds: float = 10.0,
    seed: int = 0,
    *,
    noise: bool = True,
    prevalence: dict[str, float] | None = None,
    chunk_size: int = 256,
) -> ECGData:
    """``n_records`` synthetic 12-lead ECGs (``source="synthetic"``), deterministic from ``seed``.

    ``prevalence`` overrides ``DEFAULT_PREVALENCE`` per class; ``chunk_size`` records are rendered at
    a time (memory only; the result does not depend on it). Bad arguments raise ConfigError.
    """
    _check_args(n_records, fs, seconds, seed, chunk_size)
    check_prevalence(prevalence)
    _check_memory(n_records, fs, seconds)
    params = record_params(n_records, seed, prevalence)
    ids = np.array([f"syn{seed}-{i:06d}" for i in range(n_records)], dtype=object)
    signals = np.empty((n_records, 12, int(round(fs * seconds))), dtype=np.float32)
    fiducials, regions = [], []
    starts = range(0, n_records, chunk_size)
    for c0 in progress(starts, desc="synthetic ECG", unit="chunk", enabled=len(starts) >= 8, leave=False):
        c1 = min(c0 + chunk_size, n_records)
        _, fid, reg = render(params.iloc[c0:c1], fs, seconds, noise, record_ids=ids[c0:c1], out=signals[c0:c1])
        fiducials.append(fid)
        regions.append(reg)
    labels = labels_from_params(params)
    recipe = synthetic_recipe(n_records, fs, seconds, seed, noise=noise, prevalence=prevalence)
    meta = pd.DataFrame(
        {
            "age": params["age"].to_numpy(),
            "sex": params["sex"].to_numpy(),
            "heart_rate": np.round(rhythm_intervals(params)["hr"], 1),
        }
    )
    return ECGData(
        signals=signals,
        labels=labels,
        classes=CLASS_NAMES,
        fs=float(fs),
        folds=assign_folds(labels, seed),
        record_ids=ids.astype(str),
        leads=LEADS12,
        snomed=tuple(c.snomed for c in CONDITIONS),
        meta=meta,
        fiducials=pd.concat(fiducials, ignore_index=True),
        regions=pd.concat(regions, ignore_index=True),
        preprocessing=[recipe],
        source="synthetic",
        key=fingerprint(recipe),
    )


def synthetic_recipe(
    n_records: int,
    fs: float = 500,
    seconds: float = 10.0,
    seed: int = 0,
    *,
    noise: bool = True,
    prevalence: dict[str, float] | None = None,
) -> dict:
    """What defines a synthetic data set (its key is ``fingerprint(recipe)``): the generator's code
    version (``ecgkd_lite.versions``, bumped whenever its output changes on purpose) and every
    parameter of ``load_synthetic``."""
    _check_args(n_records, fs, seconds, seed, 1)
    return {
        "step": "synthetic",
        "generator_version": version("generator"),
        "n_records": int(n_records),
        "fs": float(fs),
        "seconds": float(seconds),
        "seed": int(seed),
        "noise": bool(noise),
        "prevalence": check_prevalence(prevalence),
    }
