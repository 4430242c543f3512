"""Calibration of the v2 synthetic generator against real data (issue 15, item 2): per class with a
real counterpart, the 12-lead ("teacher") AUC and the lead-I AUC of ONE model family on real
ptbxl-2k records and on v2 synthetic records, side by side.

**Model family**: the fast, deterministic feature probe ``ecgkd_lite.evaluate.features.FeatureLogistic``
(one L2 logistic regression per class on median-beat and rhythm features of the given leads; ``C``
from ``C_GRID`` by validation macro AUC), once on the 12 leads and once on lead I. It is a probe of
what the leads make learnable, NOT the deep teacher and student of the benchmarks: the deep per-class
gaps on the same real records are in ``results/real_gap_ptbxl2k.json`` (copied into the output as
context, ``deep_real_gap``), and they need not agree with the probe's.

**Real data**: ptbxl-2k's labelled records of its TRAINING part only (source splits train + val,
PTB-XL strat_fold 1-9): the source test split (fold 10) is dropped before anything else. A synthetic
class is positive in a real record when any of its CinC classes is
(``synthetic_v2_tables.CINC_MAP``; PVC has no positive in ptbxl-2k and is not calibrated; AMI, IMI,
LVH have no counterpart).

**Synthetic data**: ``--n-records`` v2 records (``load_synthetic_v2``, default ``V2Config``, seed
``--seed``) rendered at 250 Hz (ptbxl-2k's stored rate), observed (noisy) labels.

**Pre-processing** (both): ptbxl-2k was band-passed and z-scored per record and lead at source; the
synthetic records get the same (``experiment.BANDPASS``, then z-score per record and lead); then
both: resample to 100 Hz, band-pass ``experiment.BANDPASS``, per-lead standard scaler fitted on each
fold's training part.

**Protocol** (both; the synthetic records in replicates of the real pool's size, ``replicates``): ``--k``-fold multi-label stratified cross-validation (``evaluate.cv_folds``,
a stratified validation part carved from each fold's training part for ``C``); out-of-fold
probabilities pooled, per-class AUC and the paired bootstrap interval of the gap
``teacher AUC - lead-I AUC`` (``evaluate.paired_class_delta_ci``). Targets (issue 15): synthetic gap
within +-0.05 of the real gap, synthetic teacher AUC within +-0.05 of the real one.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/calibration_synthetic.py [--n-records 8000] [--seed 0] [--check-seeds 1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from ecgkd_lite.bench.stamp import run_stamp
from ecgkd_lite.config import REPO_ROOT, shared_data_dir
from ecgkd_lite.data import StandardScaler, bandpass, load_ptbxl_2k, resample
from ecgkd_lite.data.container import SPLIT_FOLDS, ECGData
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.data.synthetic_v2 import V2Config, load_synthetic_v2
from ecgkd_lite.data.synthetic_v2_tables import CINC_MAP
from ecgkd_lite.data.zscore import like_ptbxl_2k
from ecgkd_lite.errors import MissingFileError
from ecgkd_lite.evaluate import cv_folds, paired_class_delta_ci
from ecgkd_lite.evaluate.features import C_GRID, VERSION as FEATURES_VERSION, FeatureLogistic
from ecgkd_lite.experiment import BANDPASS

FS = 100
SOURCE_FS = 250
TOLERANCE = 0.05
ROLES = {"teacher": tuple(LEADS12), "lead_I": ("I",)}
FAMILY = (
    f"FeatureLogistic (ecgkd_lite.evaluate.features, version {FEATURES_VERSION}): L2 logistic regression per class "
    f"on median-beat + rhythm features, C from {list(C_GRID)} by validation macro AUC; teacher = 12 leads, "
    "student = lead I. A fast deterministic probe, not the deep teacher/student (their real gaps: "
    "results/real_gap_ptbxl2k.json, deep_real_gap here)"
)
DEEP_GAPS = REPO_ROOT / "results" / "real_gap_ptbxl2k.json"
#: why a class still misses a target after tuning (judged from the full-size run; printed where it misses)
MISS_REASONS: dict[str, str] = {
    "SBRAD": "the 12-lead probe overfits this rare rate class (847 features, about 30 positives per replicate): "
    "synthetic teacher 0.83-0.86 over the tuning runs against a real 0.89 whose own SE is 0.04; lead I and the "
    "gap match",
    "1AVB": "synthetic lead I sees the PR interval less than real lead I (lead-I AUC about 0.87 vs 0.92): the P "
    "wave's size and direction in lead I come from the v1 wave model, which no v2 parameter reaches; label noise "
    "and measurement error move both AUCs together",
    "CRBBB": "synthetic lead I sees RBBB less (lead-I AUC about 0.83-0.85 vs 0.95): the v1 terminal R' vector (mostly anterior, "
    "U_RBBB_TERMINAL) leaves lead I a small wide S; not a v2 parameter",
    "LAFB": "synthetic lead I sees LAFB more (lead-I AUC about 0.77-0.80 vs 0.71); axis SD and lead-vector perturbation "
    "(nondipolar_sd up to 0.1) moved it by < 0.02. Likely cause: ptbxl-2k has 22 % LAD (-30 to -45 deg, negatives "
    "that lead I confuses with LAFB), the generator about 13 %",
    "LNGQT": "7 real positives: real teacher AUC 0.47 (SE 0.11) and lead-I AUC 0.69 are indistinguishable from "
    "chance and the real gap's interval spans about -0.46 to +0.05: no target to calibrate to",
    "LVOLT": "z-scored per record and lead, a synthetic low-voltage record differs from a normal one only by its "
    "signal-to-noise ratio (the limb gain scales P, QRS and T alike and is bounded to 0.25-2.5, so about a third "
    "of the positives are not rendered low); the real class (21 positives, SE 0.07) carries correlates the "
    "generator lacks (QRS-specific attenuation, obesity, effusion)",
}


def _json_ready(x):
    """NaN -> None (strict JSON), recursively."""
    if isinstance(x, dict):
        return {k: _json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_ready(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def calibrated_classes(real_classes) -> dict[str, tuple[str, ...]]:
    """Synthetic class -> its CinC classes present in ptbxl-2k (``CINC_MAP``), for classes that have any."""
    out = {}
    for syn, members in CINC_MAP.items():
        present = tuple(m for m in (members or ()) if m in real_classes)
        if present:
            out[syn] = present
    return out


def _mapped(data: ECGData, columns: list[np.ndarray], names: list[str], step: dict) -> ECGData:
    return data.derive(step, labels=np.stack(columns, 1).astype(np.float32), classes=tuple(names), snomed=None)


def real_pool(root: Path) -> tuple[ECGData, dict[str, tuple[str, ...]]]:
    """ptbxl-2k's labelled training-part records (source test split dropped) at 100 Hz, band-passed,
    with the synthetic classes' labels. MissingFileError naming ``root`` when it is absent."""
    root = Path(root)
    if not root.is_dir():
        raise MissingFileError(str(root), "the ptbxl-2k folder is missing (see ../shared/data/README.md)")
    raw = load_ptbxl_2k(root, min_positives=1)
    train_part = np.flatnonzero(~np.isin(raw.folds, SPLIT_FOLDS["test"]))
    raw = raw.subset(train_part)
    assert not np.isin(raw.folds, SPLIT_FOLDS["test"]).any()
    mapping = calibrated_classes(raw.classes)
    cols = [raw.labels[:, [raw.classes.index(m) for m in members]].max(1) for members in mapping.values()]
    data = _mapped(
        raw, cols, list(mapping), {"step": "calibration_labels", "map": {k: list(v) for k, v in mapping.items()}}
    )
    return bandpass(resample(data, FS), **BANDPASS), mapping


def synthetic_pool(n_records: int, seed: int, classes, config: V2Config | None = None) -> ECGData:
    """v2 records at 250 Hz, band-passed and z-scored per record and lead as ptbxl-2k, then at 100 Hz
    band-passed, with the observed labels of ``classes``."""
    raw = load_synthetic_v2(n_records, fs=SOURCE_FS, seed=seed, config=config)
    raw = like_ptbxl_2k(raw, BANDPASS)  # at 250 Hz already: band-pass, z-score per record and lead
    cols = [raw.labels[:, raw.classes.index(c)] for c in classes]
    data = _mapped(raw, cols, list(classes), {"step": "calibration_labels", "classes": list(classes)})
    return bandpass(resample(data, FS), **BANDPASS)


def out_of_fold(data: ECGData, k: int, seed: int) -> dict[str, np.ndarray]:
    """Pooled out-of-fold probabilities of the teacher (12 leads) and the lead-I model."""
    # stratify on the classes with at least k positives (a rarer class cannot be in every test fold;
    # its AUC is then taken over the pooled out-of-fold predictions all the same)
    keep = np.flatnonzero(data.labels.sum(0) >= k)
    strata = data.derive({"step": "strata"}, labels=data.labels[:, keep], classes=tuple(np.asarray(data.classes)[keep]))
    plan = cv_folds(strata, k, seed=seed, val_fraction=0.15, holdout_splits=())
    probs = {r: np.full(data.labels.shape, np.nan) for r in ROLES}
    for fold in plan.folds:
        scaler = StandardScaler(per_lead=True).fit(data.subset(fold.train))
        train, val, test = (scaler.transform(data.subset(ix)) for ix in (fold.train, fold.val, fold.test))
        for role, leads in ROLES.items():
            probs[role][fold.test] = FeatureLogistic(leads).fit(train, val).predict(test)
    assert all(np.isfinite(p).all() for p in probs.values())
    return probs


def hanley_mcneil_se(auc: float, n_pos: int, n_neg: int) -> float:
    """Standard error of an AUC (Hanley & McNeil, Radiology 143:29, 1982)."""
    if not np.isfinite(auc) or n_pos < 1 or n_neg < 1:
        return float("nan")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (n_pos * n_neg)
    return float(np.sqrt(max(var, 0.0)))


def replicates(n_records: int, n_real: int) -> list[np.ndarray]:
    """The synthetic records cut into replicates of about the real pool's size (at least one): the
    probe's finite-sample behaviour (e.g. the 12-lead model's overfitting on a rare class) depends on
    the training-set size, so each replicate is cross-validated on its own at the real size and the
    out-of-fold predictions of all replicates are pooled (more positives, the same training size)."""
    return np.array_split(np.arange(n_records), max(1, int(round(n_records / n_real))))


def measure(data: ECGData, k: int, seed: int, n_boot: int, parts: list[np.ndarray] | None = None) -> dict[str, dict]:
    """Per class: positives, teacher and lead-I AUC, gap with its paired 95 % interval, teacher AUC
    SE; ``parts``: cross-validate each index set on its own and pool the out-of-fold predictions."""
    parts = parts if parts is not None else [np.arange(len(data))]
    probs = {r: np.empty(data.labels.shape) for r in ROLES}
    for ix in parts:
        got = out_of_fold(data.subset(ix), k, seed)
        for r in ROLES:
            probs[r][ix] = got[r]
    table = paired_class_delta_ci(data.labels, probs["lead_I"], probs["teacher"], data.classes, n_boot=n_boot, seed=0)
    out = {}
    for c, r in table.iterrows():
        pos = int(r.positives)
        out[c] = {
            "positives": pos,
            "records": len(data),
            "teacher_auc": round(float(r.auc_new), 4),
            "lead_I_auc": round(float(r.auc_ref), 4),
            "gap": round(float(r.delta), 4),
            "gap_ci95": [round(float(r.low), 4), round(float(r.high), 4)],
            "teacher_auc_se": round(hanley_mcneil_se(float(r.auc_new), pos, len(data) - pos), 4),
        }
    return out


def deep_gaps(mapping) -> dict[str, dict[str, float]]:
    """The deep real gaps (``results/real_gap_ptbxl2k.json``, 5-fold CV) of each class's CinC members."""
    if not DEEP_GAPS.exists():
        return {}
    rows = {r["class"]: r for r in json.loads(DEEP_GAPS.read_text())["cv"]["per_class"]}
    return {syn: {m: rows[m]["gap"] for m in members if m in rows} for syn, members in mapping.items()}


def compare(real: dict, syn: dict, mapping, deep) -> list[dict]:
    rows = []
    for c, members in mapping.items():
        r, s = real[c], syn[c]
        row = {
            "class": c,
            "cinc": list(members),
            "real_positives": r["positives"],
            "synthetic_positives": s["positives"],
            "real_teacher_auc": r["teacher_auc"],
            "synthetic_teacher_auc": s["teacher_auc"],
            "real_lead_I_auc": r["lead_I_auc"],
            "synthetic_lead_I_auc": s["lead_I_auc"],
            "real_gap": r["gap"],
            "synthetic_gap": s["gap"],
            "real_gap_ci95": r["gap_ci95"],
            "synthetic_gap_ci95": s["gap_ci95"],
            "real_teacher_auc_se": r["teacher_auc_se"],
            "synthetic_teacher_auc_se": s["teacher_auc_se"],
        }
        ok = np.isfinite([r["gap"], s["gap"], r["teacher_auc"], s["teacher_auc"]]).all()
        row["gap_within"] = bool(ok and abs(s["gap"] - r["gap"]) <= TOLERANCE)
        row["teacher_within"] = bool(ok and abs(s["teacher_auc"] - r["teacher_auc"]) <= TOLERANCE)
        row["meets_both"] = row["gap_within"] and row["teacher_within"]
        if not row["meets_both"]:
            what = [t for t, w in (("teacher AUC", row["teacher_within"]), ("gap", row["gap_within"])) if not w]
            auto = f"misses {' and '.join(what)}; real teacher AUC SE {r['teacher_auc_se']:.3f} ({r['positives']} positives)"
            row["miss_reason"] = f"{MISS_REASONS[c]} ({auto})" if c in MISS_REASONS else auto
        row["deep_real_gap"] = deep.get(c, {})
        rows.append(row)
    return rows


def markdown(rows, n_real: int, n_syn: str, seed_check: dict | None = None) -> str:
    lines = [
        f"Feature-logistic probe (12 leads vs lead I), out-of-fold; real: {n_real} ptbxl-2k training-part records; "
        f"synthetic: {n_syn}. Targets: |synthetic - real| <= {TOLERANCE} for the teacher AUC and for "
        "the gap (teacher - lead I).",
        "",
        "| class | CinC | positives real / syn | teacher AUC real | teacher AUC syn | within | gap real | gap syn "
        "| within |",
        "|---|---|---:|---:|---:|:-:|---:|---:|:-:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['class']} | {'+'.join(r['cinc'])} | {r['real_positives']} / {r['synthetic_positives']} | "
            f"{r['real_teacher_auc']:.3f} | {r['synthetic_teacher_auc']:.3f} | {'yes' if r['teacher_within'] else 'no'} | "
            f"{r['real_gap']:+.3f} | {r['synthetic_gap']:+.3f} | {'yes' if r['gap_within'] else 'no'} |"
        )
    met = sum(r["meets_both"] for r in rows)
    lines += ["", f"Both targets met: {met} of {len(rows)} classes."]
    if seed_check:
        robust = [r["class"] for r in rows if r.get("meets_both_every_seed")]
        lines.append(
            f"Also met on the data of synthetic seed(s) {', '.join(map(str, seed_check))}: {len(robust)} of "
            f"{len(rows)} ({', '.join(robust)}); per seed: `seed_check`."
        )
    return "\n".join(lines)


def main(argv=None, *, config: V2Config | None = None, real: dict | None = None) -> dict:
    """Run the calibration; returns (and writes to ``--json``) the result. ``config``: a v2 config
    other than the default (tuning); ``real``: the real measurement of an earlier call (same data,
    ``--k``, ``--fold-seed`` and ``--n-boot``) to skip recomputing it."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-records", type=int, default=8000, help="synthetic records (replicates of the real size)")
    ap.add_argument("--seed", type=int, default=0, help="synthetic data seed")
    ap.add_argument("--k", type=int, default=5, help="cross-validation folds (both data sets)")
    ap.add_argument("--fold-seed", type=int, default=0)
    ap.add_argument("--n-boot", type=int, default=500, help="paired bootstrap resamples of the gap")
    ap.add_argument("--root", default=None, help="ptbxl-2k folder (default ../shared/data/ptbxl-2k)")
    ap.add_argument("--json", default=str(REPO_ROOT / "results" / "calibration_synthetic.json"))
    ap.add_argument(
        "--check-seeds",
        default="",
        help="comma-separated further synthetic seeds: the targets re-checked on their data (robustness; "
        "the table stays --seed's)",
    )
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    root = Path(args.root) if args.root else shared_data_dir() / "ptbxl-2k"
    real_data, mapping = real_pool(root)
    if real is None:
        real = measure(real_data, args.k, args.fold_seed, args.n_boot)
    t_real = time.perf_counter() - t0
    syn_data = synthetic_pool(args.n_records, args.seed, list(mapping), config)
    parts = replicates(args.n_records, len(real_data))
    syn = measure(syn_data, args.k, args.fold_seed, args.n_boot, parts)
    rows = compare(real, syn, mapping, deep_gaps(mapping))
    seed_check = {}
    for other in [int(x) for x in args.check_seeds.split(",") if x.strip()]:
        again = compare(
            real,
            measure(
                synthetic_pool(args.n_records, other, list(mapping), config), args.k, args.fold_seed, args.n_boot, parts
            ),
            mapping,
            {},
        )
        seed_check[str(other)] = {
            r["class"]: {k: r[k] for k in ("synthetic_teacher_auc", "synthetic_gap", "teacher_within", "gap_within")}
            for r in again
        }
    for r in rows:
        if seed_check:
            r["meets_both_every_seed"] = r["meets_both"] and all(
                v[r["class"]]["teacher_within"] and v[r["class"]]["gap_within"] for v in seed_check.values()
            )
    stamp = run_stamp(None if argv is None else "python benchmarks/calibration_synthetic.py " + " ".join(argv))
    out = {
        **stamp,
        "family": FAMILY,
        "tolerance": TOLERANCE,
        "preprocessing": {
            "real": "ptbxl-2k as released (band-pass 0.5-40 Hz, z-score per record and lead, 250 Hz), resample to "
            f"{FS} Hz, band-pass {BANDPASS}",
            "synthetic": f"v2 at {SOURCE_FS} Hz, band-pass {BANDPASS}, z-score per record and lead, resample to {FS} "
            f"Hz, band-pass {BANDPASS}",
            "both": "per-lead standard scaler fitted on each fold's training part",
        },
        "protocol": f"{args.k}-fold multi-label stratified CV (fold seed {args.fold_seed}, validation 15 % of each "
        "training part for C), pooled out-of-fold AUC, paired bootstrap of the gap "
        f"({args.n_boot} resamples)",
        "real": {
            "set": "ptbxl-2k",
            "part": "source train + val splits (PTB-XL strat_fold 1-9); the test split is never read",
            "records": len(real_data),
            "key": real_data.key,
        },
        "synthetic": {
            "generator": "load_synthetic_v2",
            "config": (config or V2Config()).recipe(),
            "records": args.n_records,
            "replicates": [len(ix) for ix in parts],
            "seed": args.seed,
            "key": syn_data.key,
        },
        "mapping": {k: list(v) for k, v in mapping.items()},
        "not_calibrated": {
            c: ("no positive in ptbxl-2k" if CINC_MAP[c] else "no CinC counterpart")
            for c in CINC_MAP
            if c != "NORM" and c not in mapping
        },
        "per_class": rows,
        "meets_both": [r["class"] for r in rows if r["meets_both"]],
        "misses": {r["class"]: r["miss_reason"] for r in rows if not r["meets_both"]},
        "seed_check": seed_check,
        "meets_both_every_seed": [r["class"] for r in rows if r.get("meets_both_every_seed")] if seed_check else None,
        "real_measurement": real,
        "wall_s": {"real": round(t_real, 1), "total": round(time.perf_counter() - t0, 1)},
    }
    what = f"{args.n_records} v2 records (seed {args.seed}) in {len(parts)} replicate(s) cross-validated at about the real size"
    out["markdown"] = markdown(rows, len(real_data), what, seed_check)
    out = _json_ready(out)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1, allow_nan=False) + "\n")
    if not args.quiet:
        print(out["markdown"])
        for c, why in out["misses"].items():
            print(f"miss {c}: {why}")
        print(f"\nfamily: {FAMILY}\nwritten {args.json} in {out['wall_s']['total']:.0f} s")
    return out


if __name__ == "__main__":
    main()  # argv from sys.argv: the stamp records the command as typed, with OMP_NUM_THREADS
