"""Realism of the synthetic NORM records against real PTB-XL NORM records (same code for both).

Real: ``ptbxl-mini`` records whose ``scp_codes`` hold NORM and nothing but SR, read with
``wfdb.rdsamp`` from ``records500/`` (500 Hz, mV). Synthetic: NORM records of
``load_synthetic(n, fs=500, seconds=10)`` with noise on.

Method, applied identically to both:

1. band-pass 0.5-40 Hz (2nd-order Butterworth, zero phase);
2. R peaks: peaks of the spatial velocity ``v(t) = sum_leads |dx/dt|`` (smoothed 20 ms) above 40 % of
   its 99th percentile, at least 300 ms apart;
3. median beat per lead over the R-aligned beats (-0.40 s .. +0.65 s), each lead's median beat
   shifted to zero at its PR-segment baseline; per-lead peak-to-peak amplitude of the median beat;
4. delineation on the median beat's spatial velocity ``v`` (smoothed 10 ms):
   QRS onset/offset = where ``v`` last/first falls below 15 % of its QRS maximum before/after the
   R peak; T peak = maximum of ``sum_leads |x|`` 100-500 ms after the QRS offset, T end = first
   sample after the steepest point of the T downslope where ``v`` falls below 15 % of its maximum in the T window;
   P onset = first sample in the 300 ms before the QRS onset (ending 40 ms before it) where ``v``
   exceeds 25 % of that window's maximum (only when that maximum exceeds 2 x the PR-segment level);
   QRS = offset - onset, PR = QRS onset - P onset, QT = T end - QRS onset;
5. inter-lead correlation: the 12 x 12 Pearson correlation of each filtered record, averaged.

    .venv/bin/python benchmarks/realism_synthetic.py [--n 1500]

Writes ``results/realism_synthetic.json`` and ``results/realism_synthetic.md``.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.signal import butter, find_peaks, sosfiltfilt

from ecgkd_lite.config import shared_data_dir
from ecgkd_lite.data.container import ECGData
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.data.synthetic import load_synthetic

FS = 500


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    return np.convolve(x, np.ones(width) / width, mode="same")


def spatial_velocity(x: np.ndarray, fs: float, smooth_s: float) -> np.ndarray:
    """``sum_leads |dx/dt|`` (mV/s) of ``x`` (12, T), moving-average smoothed."""
    return _smooth(np.abs(np.diff(x, axis=1, prepend=x[:, :1])).sum(0) * fs, max(1, int(smooth_s * fs)))


def measure_record(x: np.ndarray, fs: float = FS) -> dict | None:
    """Amplitudes and intervals of one record (12, T) in mV, or None if fewer than 3 beats."""
    v = spatial_velocity(x, fs, 0.02)
    peaks, _ = find_peaks(v, height=0.4 * np.percentile(v, 99), distance=int(0.3 * fs))
    pre, post = int(0.40 * fs), int(0.65 * fs)
    peaks = peaks[(peaks >= pre) & (peaks < x.shape[1] - post)]
    if len(peaks) < 3:
        return None
    # align on the largest |x| sample near each velocity peak
    energy = np.abs(x).sum(0)
    peaks = np.array([p - 30 + int(np.argmax(energy[p - 30 : p + 30])) for p in peaks])
    peaks = peaks[(peaks >= pre) & (peaks < x.shape[1] - post)]
    beat = np.median(np.stack([x[:, p - pre : p + post] for p in peaks]), axis=0)
    r = pre
    vb = spatial_velocity(beat, fs, 0.01)
    win = slice(r - int(0.08 * fs), r + int(0.08 * fs))
    thr = 0.15 * vb[win].max()
    on = r - int(np.argmax(vb[r::-1] < thr))
    off = r + int(np.argmax(vb[r:] < thr))
    baseline = np.median(beat[:, max(0, on - int(0.03 * fs)) : on], axis=1, keepdims=True)
    beat = beat - baseline
    t_lo, t_hi = off + int(0.10 * fs), min(beat.shape[1] - 1, off + int(0.50 * fs))
    t_peak = t_lo + int(np.argmax(np.abs(beat[:, t_lo:t_hi]).sum(0)))
    t_thr = 0.15 * vb[t_lo:t_hi].max()
    t_fall = t_peak + int(np.argmax(vb[t_peak : t_hi + 1]))  # steepest point of the descending limb
    t_end = t_fall + int(np.argmax(vb[t_fall:] < t_thr))
    p_lo, p_hi = on - int(0.30 * fs), on - int(0.04 * fs)
    pv = vb[p_lo:p_hi]
    pr = np.nan
    if pv.max() > 2 * vb[p_hi:on].mean():
        pr = (on - (p_lo + int(np.argmax(pv > 0.25 * pv.max())))) / fs
    rr = np.diff(peaks) / fs
    return {
        "p2p": np.ptp(beat, axis=1),
        "qrs": (off - on) / fs,
        "pr": pr,
        "qt": (t_end - on) / fs,
        "hr": 60 / np.median(rr),
        "corr": np.corrcoef(x),
    }


def bandpass(x: np.ndarray, fs: float = FS) -> np.ndarray:
    sos = butter(2, [0.5, 40.0], btype="band", fs=fs, output="sos")
    return sosfiltfilt(sos, x, axis=-1)


def real_norm(root: Path) -> list[np.ndarray]:
    import wfdb

    db = pd.read_csv(root / "ptbxl_database.csv")
    out = []
    for fname, codes in zip(db.filename_hr, db.scp_codes):
        keys = set(ast.literal_eval(codes))
        if "NORM" in keys and keys <= {"NORM", "SR"}:
            sig, meta = wfdb.rdsamp(str(root / fname))
            order = [
                meta["sig_name"].index(n)
                for n in ("I", "II", "III", "AVR", "AVL", "AVF", "V1", "V2", "V3", "V4", "V5", "V6")
            ]
            out.append(sig[:, order].T)
    return out


def norm_records(data: ECGData) -> list[np.ndarray]:
    """The NORM records of ``data`` as float64 (12, T) arrays; DataError unless ``data`` is in mV
    (every measure here, from the peak-to-peak amplitudes to the velocity thresholds, is in mV)."""
    data.check_unit("mV", "the realism benchmark (amplitudes and thresholds in mV)")
    return list(data.signals[data.labels[:, data.classes.index("NORM")] == 1].astype(np.float64))


def summarise(records: list[np.ndarray]) -> dict:
    ms = [m for m in (measure_record(bandpass(x)) for x in records) if m is not None]
    p2p = np.stack([m["p2p"] for m in ms])
    q = lambda a: [float(np.nanpercentile(a, 50)), float(np.nanpercentile(a, 5)), float(np.nanpercentile(a, 95))]  # noqa: E731
    return {
        "records": len(ms),
        "p2p_mv": {lead: q(p2p[:, i]) for i, lead in enumerate(LEADS12)},
        "intervals_ms": {k: [1000 * v for v in q(np.array([m[k] for m in ms]))] for k in ("qrs", "pr", "qt")},
        "heart_rate": q(np.array([m["hr"] for m in ms])),
        "corr": np.nanmean(np.stack([m["corr"] for m in ms]), axis=0).round(3).tolist(),
    }


def _fmt(v) -> str:
    return f"{v[0]:6.2f} [{v[1]:5.2f}, {v[2]:5.2f}]"


def report(real: dict, syn: dict) -> str:
    lines = ["| measure | PTB-XL NORM median [5 %, 95 %] | synthetic NORM median [5 %, 95 %] |", "|---|---|---|"]
    for lead in LEADS12:
        lines.append(f"| p2p {lead} (mV) | {_fmt(real['p2p_mv'][lead])} | {_fmt(syn['p2p_mv'][lead])} |")
    for k in ("qrs", "pr", "qt"):
        lines.append(f"| {k.upper()} (ms) | {_fmt(real['intervals_ms'][k])} | {_fmt(syn['intervals_ms'][k])} |")
    lines.append(f"| heart rate (bpm) | {_fmt(real['heart_rate'])} | {_fmt(syn['heart_rate'])} |")
    diff = np.abs(np.array(real["corr"]) - np.array(syn["corr"]))
    off_diag = diff[~np.eye(12, dtype=bool)].mean()
    lines += ["", f"Mean |difference| of the 12x12 inter-lead correlation matrices (off-diagonal): {off_diag:.3f}", ""]
    for name, c in (("PTB-XL", real["corr"]), ("synthetic", syn["corr"])):
        lines.append(f"{name} mean inter-lead correlation:")
        lines.append("      " + " ".join(f"{lead:>5s}" for lead in LEADS12))
        for lead, row in zip(LEADS12, c):
            lines.append(f"{lead:>5s} " + " ".join(f"{v:5.2f}" for v in row))
        lines.append("")
    return "\n".join(lines), float(off_diag)


def _method() -> str:
    doc = __doc__ or ""
    return doc[doc.index("Method, applied") : doc.index("    .venv/bin/python")].strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1500, help="synthetic records generated (about 21 %% are NORM)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    root = shared_data_dir() / "ptbxl-mini"
    real = summarise(real_norm(root))
    data = load_synthetic(args.n, fs=FS, seconds=10, seed=args.seed)
    syn = summarise(norm_records(data))
    text, corr_diff = report(real, syn)
    print(text)
    out = Path("results")
    out.mkdir(exist_ok=True)
    (out / "realism_synthetic.json").write_text(
        json.dumps({"ptbxl_norm": real, "synthetic_norm": syn, "corr_mean_abs_diff": corr_diff}, indent=1)
    )
    (out / "realism_synthetic.md").write_text("# Synthetic NORM vs PTB-XL NORM\n\n" + _method() + "\n\n" + text + "\n")


if __name__ == "__main__":
    main()
