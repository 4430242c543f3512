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

Extended (issue 15, item 3), in z-units against ptbxl-2k (keys ``morphology_z``,
``interlead_by_class``, ``markdown_extended``):

* real: ptbxl-2k's labelled records of its training part (source splits train + val; the test split
  is dropped first), as released (band-passed 0.5-40 Hz and z-scored per record and lead at source,
  250 Hz). Synthetic: ``--n-z`` records of ``load_synthetic`` (v1, the notebooks' default) and of
  ``load_synthetic_v2`` (v2, default config, observed labels), seed ``--seed``, at 250 Hz, made like
  ptbxl-2k by ``ecgkd_lite.data.zscore.like_ptbxl_2k`` (band-pass ``experiment.BANDPASS``, z-score
  per record and lead; the calibration script's preprocessing). No further filtering of either.
* classes: a synthetic class is positive in a real record when any of its CinC classes is
  (``synthetic_v2_tables.CINC_MAP``, classes with a positive in ptbxl-2k); real NORM = NSR and no
  other scored class. Records of a class may carry other classes too (on both sides).
* morphology (NORM records): steps 2-4 above on the z-scored record give the median beat (baseline at
  the PR segment) and its QRS onset/offset and T peak; per lead: QRS peak-to-peak (z), R fraction
  ``R / (R + S)`` (R = largest positive, S = largest negative deflection inside the QRS, 0.5 = as
  much up as down), T amplitude at the spatial T peak divided by the lead's QRS peak-to-peak
  (signed); per record: QRS and QT duration (in 4 ms steps at 250 Hz), heart rate. Median [5 %, 95 %]
  over records.
* inter-lead correlation per class: the mean over the class's records of each record's 12 x 12
  Pearson matrix, then the mean |real - synthetic| of the 132 off-diagonal entries, with the lead
  pair that differs most; as a yardstick of sampling noise, the same difference between two random
  halves of the real records (``real_halves``).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/realism_synthetic.py [--n 1500] [--n-z 6000] [--seed 7]

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

from ecgkd_lite.config import REPO_ROOT, shared_data_dir
from ecgkd_lite.data.container import SPLIT_FOLDS, ECGData
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.data.synthetic import load_synthetic
from ecgkd_lite.data.synthetic_v2 import load_synthetic_v2
from ecgkd_lite.data.synthetic_v2_tables import CINC_MAP
from ecgkd_lite.data.zscore import PTBXL_2K_FS, like_ptbxl_2k
from ecgkd_lite.errors import MissingFileError
from ecgkd_lite.experiment import BANDPASS

FS = 500


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    return np.convolve(x, np.ones(width) / width, mode="same")


def spatial_velocity(x: np.ndarray, fs: float, smooth_s: float) -> np.ndarray:
    """``sum_leads |dx/dt|`` (mV/s) of ``x`` (12, T), moving-average smoothed."""
    return _smooth(np.abs(np.diff(x, axis=1, prepend=x[:, :1])).sum(0) * fs, max(1, int(smooth_s * fs)))


def delineate(x: np.ndarray, fs: float = FS) -> dict | None:
    """Steps 2-4 of the method on one band-passed record (12, T): the baseline-corrected median beat
    (``beat``, R peak at sample ``r``), QRS onset/offset, T peak and end, P onset-based PR (s), the
    aligned R peaks; None if fewer than 3 beats. Thresholds are relative, so any unit works."""
    v = spatial_velocity(x, fs, 0.02)
    peaks, _ = find_peaks(v, height=0.4 * np.percentile(v, 99), distance=int(0.3 * fs))
    pre, post = int(0.40 * fs), int(0.65 * fs)
    peaks = peaks[(peaks >= pre) & (peaks < x.shape[1] - post)]
    if len(peaks) < 3:
        return None
    # align on the largest |x| sample near each velocity peak (+-60 ms)
    energy = np.abs(x).sum(0)
    half = int(round(0.06 * fs))
    peaks = np.array([p - half + int(np.argmax(energy[p - half : p + half])) for p in peaks])
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
    return {"beat": beat, "r": r, "on": on, "off": off, "t_peak": t_peak, "t_end": t_end, "pr": pr, "peaks": peaks}


def measure_record(x: np.ndarray, fs: float = FS) -> dict | None:
    """Amplitudes and intervals of one record (12, T) in mV, or None if fewer than 3 beats."""
    d = delineate(x, fs)
    if d is None:
        return None
    rr = np.diff(d["peaks"]) / fs
    return {
        "p2p": np.ptp(d["beat"], axis=1),
        "qrs": (d["off"] - d["on"]) / fs,
        "pr": d["pr"],
        "qt": (d["t_end"] - d["on"]) / fs,
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


def _quantiles(a) -> list[float]:
    """Median, 5th and 95th percentile (NaN ignored)."""
    return [float(np.nanpercentile(a, 50)), float(np.nanpercentile(a, 5)), float(np.nanpercentile(a, 95))]


def summarise(records: list[np.ndarray]) -> dict:
    ms = [m for m in (measure_record(bandpass(x)) for x in records) if m is not None]
    p2p = np.stack([m["p2p"] for m in ms])
    q = _quantiles
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
    return doc[doc.index("Method, applied") : doc.index("Extended (issue 15")].strip()


def _method_extended() -> str:
    doc = __doc__ or ""
    return doc[doc.index("Extended (issue 15") : doc.index("    OMP_NUM_THREADS=1")].strip()


# ---- extended: z-units against ptbxl-2k (issue 15, item 3) -------------------------------------------

Z_STATS = {
    "qrs_p2p_z": "QRS peak-to-peak (z)",
    "r_fraction": "R / (R + S)",
    "t_rel_qrs": "T / QRS peak-to-peak",
}
Z_RECORD = {"qrs_ms": "QRS (ms)", "qt_ms": "QT (ms)", "heart_rate": "heart rate (bpm)"}
SYNTHETIC = ("v1", "v2")


def morphology_z(x: np.ndarray, fs: float = PTBXL_2K_FS) -> dict | None:
    """Per-lead morphology of one z-scored record (12, T) (module docstring), or None (< 3 beats)."""
    d = delineate(x, fs)
    if d is None:
        return None
    beat, on, off = d["beat"], d["on"], d["off"]
    qrs = beat[:, on : off + 1]
    p2p = np.ptp(qrs, axis=1)
    up, down = np.maximum(qrs.max(1), 0), np.maximum(-qrs.min(1), 0)
    return {
        "qrs_p2p_z": p2p,
        "r_fraction": up / np.maximum(up + down, 1e-9),
        "t_rel_qrs": beat[:, d["t_peak"]] / np.maximum(p2p, 1e-9),
        "qrs_ms": 1000 * (off - on) / fs,
        "qt_ms": 1000 * (d["t_end"] - on) / fs,
        "heart_rate": 60 / np.median(np.diff(d["peaks"]) / fs),
    }


def summarise_z(records: np.ndarray, fs: float = PTBXL_2K_FS) -> dict:
    """Median [5 %, 95 %] of the ``morphology_z`` statistics over ``records`` (N, 12, T)."""
    ms = [m for m in (morphology_z(x.astype(np.float64), fs) for x in records) if m is not None]
    out = {"records": len(ms)}
    for k in Z_STATS:
        a = np.stack([m[k] for m in ms])
        out[k] = {lead: [round(v, 4) for v in _quantiles(a[:, i])] for i, lead in enumerate(LEADS12)}
    for k in Z_RECORD:
        out[k] = [round(v, 2) for v in _quantiles(np.array([m[k] for m in ms]))]
    return out


def real_z(root: Path) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
    """ptbxl-2k training-part records (source test split dropped) grouped by synthetic class:
    class -> signals (N, 12, T) in z-units, and the class -> CinC classes mapping used. Real NORM =
    NSR and no other scored class. MissingFileError naming ``root`` when it is absent."""
    from ecgkd_lite.data.ptbxl2k import load_ptbxl_2k

    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(str(root), "the ptbxl-2k folder is missing (see ../shared/data/README.md)")
    data = load_ptbxl_2k(root, min_positives=1)
    data = data.subset(np.flatnonzero(~np.isin(data.folds, SPLIT_FOLDS["test"])))
    if float(data.fs) != PTBXL_2K_FS:
        raise ValueError(f"ptbxl-2k at {data.fs} Hz, expected {PTBXL_2K_FS}")
    labels = data.labels.astype(bool)
    nsr = data.classes.index("NSR")
    mapping = {"NORM": ("NSR only",)}
    groups = {"NORM": labels[:, nsr] & (labels.sum(1) == 1)}
    for syn, members in CINC_MAP.items():
        present = tuple(m for m in (members or ()) if m in data.classes)
        if present:
            mapping[syn] = present
            groups[syn] = labels[:, [data.classes.index(m) for m in present]].any(1)
    return {c: data.signals[g] for c, g in groups.items()}, mapping


def synthetic_z(version: str, n: int, seed: int, classes) -> dict[str, np.ndarray]:
    """``n`` synthetic records of generator ``version`` made like ptbxl-2k, grouped by ``classes``
    (observed labels)."""
    load = {"v1": load_synthetic, "v2": load_synthetic_v2}[version]
    data = like_ptbxl_2k(load(n, fs=PTBXL_2K_FS, seconds=10, seed=seed), BANDPASS)
    return {c: data.signals[data.labels[:, data.classes.index(c)] == 1] for c in classes}


def mean_corr(records: np.ndarray) -> np.ndarray:
    """The mean of the records' 12 x 12 Pearson correlation matrices (NaN of a flat lead ignored)."""
    if len(records) == 0:
        return np.full((12, 12), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nanmean(np.stack([np.corrcoef(x.astype(np.float64)) for x in records]), axis=0)


OFF_DIAG = ~np.eye(12, dtype=bool)
UPPER = np.triu(OFF_DIAG)  # each lead pair once, in LEADS12 order


def corr_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, list]:
    """Mean |a - b| over the off-diagonal entries, and the lead pair with the largest |a - b|
    (``[lead, lead, a, b]``)."""
    diff = np.abs(a - b)
    if not np.isfinite(diff[OFF_DIAG]).any():
        return float("nan"), []
    i, j = np.unravel_index(np.nanargmax(np.where(UPPER, diff, -1)), diff.shape)
    return float(np.nanmean(diff[OFF_DIAG])), [
        LEADS12[i],
        LEADS12[j],
        round(float(a[i, j]), 3),
        round(float(b[i, j]), 3),
    ]


def interlead_by_class(real: dict, syn: dict[str, dict], mapping: dict, seed: int) -> dict:
    """Per class: records on each side, mean |off-diagonal difference| real vs each generator, the
    lead pair differing most, and the difference between two random halves of the real records."""
    rng = np.random.default_rng(seed)
    out = {}
    for c, members in mapping.items():
        r = real[c]
        rc = mean_corr(r)
        half = rng.permutation(len(r))
        a, b = half[: len(r) // 2], half[len(r) // 2 :]
        halves = corr_difference(mean_corr(r[a]), mean_corr(r[b]))[0] if len(r) >= 4 else float("nan")
        row = {"cinc": list(members), "records": {"real": len(r)}, "mean_abs_diff": {}, "largest": {}}
        for v, groups in syn.items():
            row["records"][v] = len(groups[c])
            d, pair = corr_difference(rc, mean_corr(groups[c]))
            row["mean_abs_diff"][v] = None if not np.isfinite(d) else round(d, 4)
            row["largest"][v] = pair
        row["real_halves"] = None if not np.isfinite(halves) else round(halves, 4)
        out[c] = row
    return out


def _q(v) -> str:
    return f"{v[0]:.2f} [{v[1]:.2f}, {v[2]:.2f}]"


def markdown_extended(morph: dict, inter: dict, n_z: int, seed: int) -> str:
    cols = [v for v in SYNTHETIC if v in morph["synthetic"]]
    real = morph["real"]
    lines = [
        f"Morphology in z-units, NORM records: ptbxl-2k training part ({real['records']} records) vs "
        + ", ".join(f"synthetic {v} ({morph['synthetic'][v]['records']} of {n_z}, seed {seed})" for v in cols)
        + "; median [5 %, 95 %].",
        "",
        "| statistic | lead | ptbxl-2k NORM | " + " | ".join(f"{v} NORM" for v in cols) + " |",
        "|---|---|---|" + "---|" * len(cols),
    ]
    for k, name in Z_STATS.items():
        for lead in LEADS12:
            cells = " | ".join(_q(morph["synthetic"][v][k][lead]) for v in cols)
            lines.append(f"| {name} | {lead} | {_q(real[k][lead])} | {cells} |")
    for k, name in Z_RECORD.items():
        cells = " | ".join(_q(morph["synthetic"][v][k]) for v in cols)
        lines.append(f"| {name} | record | {_q(real[k])} | {cells} |")
    vs = list(next(iter(inter.values()))["mean_abs_diff"])
    lines += [
        "",
        "Inter-lead correlation by class: mean |real - synthetic| of the 132 off-diagonal entries of the "
        "classes' mean 12x12 correlation matrices (z-units, ptbxl-2k training part); real halves = the "
        "same difference between two random halves of the real records (sampling noise); largest = the "
        "lead pair differing most (real vs synthetic correlation).",
        "",
        "| class | CinC | records real / "
        + " / ".join(vs)
        + " | "
        + " | ".join(f"mean abs diff {v}" for v in vs)
        + " | real halves | "
        + " | ".join(f"largest {v}" for v in vs)
        + " |",
        "|---|---|---:|" + "---:|" * len(vs) + "---:|" + "---|" * len(vs),
    ]
    for c, r in inter.items():
        n = " / ".join(str(r["records"][k]) for k in ["real", *vs])
        diffs = " | ".join("-" if r["mean_abs_diff"][v] is None else f"{r['mean_abs_diff'][v]:.3f}" for v in vs)
        halves = "-" if r["real_halves"] is None else f"{r['real_halves']:.3f}"
        big = " | ".join(
            f"{p[0]}-{p[1]} {p[2]:+.2f} vs {p[3]:+.2f}" if p else "-" for p in (r["largest"][v] for v in vs)
        )
        lines.append(f"| {c} | {'+'.join(r['cinc'])} | {n} | {diffs} | {halves} | {big} |")
    return "\n".join(lines)


def extended(n_z: int, seed: int, root: Path | None = None, versions=SYNTHETIC) -> dict:
    """The z-unit tables against ptbxl-2k (``root``, default ../shared/data/ptbxl-2k):
    ``morphology_z``, ``interlead_by_class`` and ``markdown_extended``."""
    real, mapping = real_z(root or shared_data_dir() / "ptbxl-2k")
    syn = {v: synthetic_z(v, n_z, seed, list(mapping)) for v in versions}
    morph = {
        "real_set": "ptbxl-2k training part (source train + val splits), NORM = NSR and no other scored class",
        "preprocessing": {
            "real": "as released: band-pass 0.5-40 Hz, z-score per record and lead, 250 Hz",
            "synthetic": f"generated at 250 Hz, band-pass {BANDPASS}, z-score per record and lead "
            "(ecgkd_lite.data.zscore.like_ptbxl_2k)",
        },
        "synthetic_records": n_z,
        "seed": seed,
        "statistics": {**Z_STATS, **Z_RECORD},
        "real": summarise_z(real["NORM"]),
        "synthetic": {v: summarise_z(g["NORM"]) for v, g in syn.items()},
    }
    inter = interlead_by_class(real, syn, mapping, seed)
    return {
        "morphology_z": morph,
        "interlead_by_class": inter,
        "markdown_extended": markdown_extended(morph, inter, n_z, seed),
    }


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1500, help="synthetic records generated (about 21 %% are NORM)")
    ap.add_argument("--n-z", type=int, default=6000, help="synthetic records per generator for the z-unit tables")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", default=str(REPO_ROOT / "results"), help="folder of the JSON and .md")
    args = ap.parse_args(argv)
    root = shared_data_dir() / "ptbxl-mini"
    real = summarise(real_norm(root))
    data = load_synthetic(args.n, fs=FS, seconds=10, seed=args.seed)
    syn = summarise(norm_records(data))
    text, corr_diff = report(real, syn)
    ext = extended(args.n_z, args.seed)
    print(text)
    print(ext["markdown_extended"])
    out = Path(args.out)
    out.mkdir(exist_ok=True)
    result = {"ptbxl_norm": real, "synthetic_norm": syn, "corr_mean_abs_diff": corr_diff, **ext}
    (out / "realism_synthetic.json").write_text(json.dumps(result, indent=1))
    (out / "realism_synthetic.md").write_text(
        "# Synthetic NORM vs PTB-XL NORM\n\n"
        + _method()
        + "\n\n"
        + text
        + "\n\n## Extended: z-units against ptbxl-2k, v1 and v2\n\n"
        + _method_extended()
        + "\n\n"
        + ext["markdown_extended"]
        + "\n"
    )
    return result


if __name__ == "__main__":
    main()
