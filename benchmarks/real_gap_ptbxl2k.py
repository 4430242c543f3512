"""The real 12-lead -> lead-I gap, per class, on ptbxl-2k (1,805 labeled PTB-XL records, 19 classes).

5-fold cross-validation over the train + val records (``ecgkd_lite.evaluate.cv_folds``: multi-label
iterative stratification, a stratified validation part carved from each fold's training part; the
source test split stays a hold-out). In each fold a 12-lead teacher (``resnet1d``/``small``) and a
lead-I student (``cnn_transformer``/``tiny``) are trained with the SAME budget rule: AdamW,
constant learning rate, at most ``--epochs`` epochs, early stopping after ``--patience`` epochs
without a better validation macro AUC, best epoch kept. Each predicts its fold's test records; the
out-of-fold predictions are pooled (every pool record predicted once) and compared per class with
a PAIRED bootstrap (the same resampled records for both models). The hold-out is scored with the
mean probabilities of the k fold models of each kind.

Preprocessing: resample 250 -> 100 Hz and band-pass 0.5-40 Hz (per record: no information crosses
records), then a per-lead standard scaler fitted on each fold's training part only.

Resumable: each finished (seed, fold) is kept as a JSON part file below
``$ECGKD_CACHE/real_gap_ptbxl2k/<config key>/`` and skipped on rerun.

    OMP_NUM_THREADS=1 ECGKD_CACHE=/tmp/gap-cache .venv/bin/python benchmarks/real_gap_ptbxl2k.py --seeds 0
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ecgkd_lite.bench.quality import _stamp
from ecgkd_lite.config import REPO_ROOT, cache_dir, shared_data_dir
from ecgkd_lite.data import StandardScaler, bandpass, load_ptbxl_2k, resample
from ecgkd_lite.edge.quantize import paired_delta_ci
from ecgkd_lite.evaluate import cv_folds, paired_class_delta_ci
from ecgkd_lite.evaluate.paired import VISIBILITY_RULE as RULE
from ecgkd_lite.evaluate.paired import visibility_group as classify
from ecgkd_lite.metrics import per_class_auc
from ecgkd_lite.experiment import BANDPASS
from ecgkd_lite.models import build_model
from ecgkd_lite.train import fit, predict
from ecgkd_lite.utils import fingerprint, seed_everything

log = logging.getLogger("real_gap")

TEACHER = ("resnet1d", "small")
STUDENT = ("cnn_transformer", "tiny")
STUDENT_LEADS = ["I"]
FS = 100
CROP = 2.5
PUBLISHED = {
    "note": "different label sets and models: only the SIZE of the gap compares, not the AUC levels",
    "lead_minimal_ecg": {
        "source": "GitHub ArshiaSangwan/lead-minimal-ecg (PTB-XL lead-subset sweep, small ResNet)",
        "labels": "PTB-XL superdiagnostic (5 classes)",
        "macro_auc_12": 0.913,
        "macro_auc_lead_I": 0.842,
        "gap": round(0.913 - 0.842, 3),
        "relative_gap": round((0.913 - 0.842) / 0.913, 3),
    },
    "saglietto_2024": {
        "source": "Saglietto et al. 2024, Front. Cardiovasc. Med., doi 10.3389/fcvm.2024.1327179",
        "labels": "20 PTB-XL classes",
        "relative_gap": 0.087,
        "statement": "lead I about 8.7 % below 12 leads in mean AUC",
    },
}


def train_one(arch, size, leads, train, val, *, seed, args) -> tuple[torch.nn.Module, dict]:
    seed_everything(seed)
    model = build_model(arch, size, in_leads=len(leads) if leads else train.n_leads, n_classes=train.n_classes)
    t0 = time.perf_counter()
    result = fit(
        model,
        train,
        val,
        input_leads=leads,
        epochs=args.epochs,
        patience=args.patience,
        batch_size=128,
        lr=args.lr,
        weight_decay=1e-2,
        crop_seconds=CROP,
        scheduler="constant",
        monitor="val_macro_auc",
        seed=seed,
        progress=False,
    )
    wall = time.perf_counter() - t0
    info = {
        "wall_s": round(wall, 1),
        "epochs_run": len(result.history),
        "best_epoch": result.best_epoch,
        "best_val_macro_auc": round(float(result.best_metric), 4),
        "stopped_early": len(result.history) < args.epochs,
        "load_avg_1min": round(os.getloadavg()[0], 2),
    }  # the machine is shared: wall time depends on it
    return result.model, info


def run_fold(data, plan, fold, seed, args) -> dict:
    scaler = StandardScaler(per_lead=True).fit(data.subset(fold.train))
    train, val = scaler.transform(data.subset(fold.train)), scaler.transform(data.subset(fold.val))
    test, holdout = scaler.transform(data.subset(fold.test)), scaler.transform(data.subset(plan.holdout))
    out = {"seed": seed, "fold": fold.index, "n_train": len(train), "n_val": len(val), "n_test": len(test)}
    for role, (arch, size), leads in (("teacher", TEACHER, None), ("student", STUDENT, STUDENT_LEADS)):
        model, info = train_one(arch, size, leads, train, val, seed=seed, args=args)
        kw = dict(input_leads=leads, window_seconds=CROP, stride_seconds=CROP / 2)
        info["test_probs"] = predict(model, test, **kw).round(6).tolist()
        info["holdout_probs"] = predict(model, holdout, **kw).round(6).tolist()
        out[role] = info
        log.info(
            "seed %d fold %d %s: %d epochs (best %d, val AUC %.3f) in %.1f s",
            seed,
            fold.index,
            role,
            info["epochs_run"],
            info["best_epoch"],
            info["best_val_macro_auc"],
            info["wall_s"],
        )
    return out


def gap_table(y, p12, p1, classes, *, n_boot, seed) -> tuple[list[dict], dict]:
    """Per-class and macro rows: AUCs, gap (12 - I) with its paired interval, rule label."""
    per = paired_class_delta_ci(y, p1, p12, classes, n_boot=n_boot, seed=seed)  # delta = AUC_12 - AUC_I
    rows = [
        {
            "class": c,
            "positives": int(r.positives),
            "auc_12": round(r.auc_new, 4),
            "auc_I": round(r.auc_ref, 4),
            "gap": round(r.delta, 4),
            "gap_ci95": [round(r.low, 4), round(r.high, 4)],
            "seen_by_lead_I": classify(r.low, r.high),
        }
        for c, r in per.iterrows()
    ]
    ci = paired_delta_ci(y, p1, p12, "macro_auc", n_boot=n_boot, seed=seed)
    a12, a1 = per_class_auc(y, p12).mean(), per_class_auc(y, p1).mean()
    macro = {
        "auc_12": round(float(a12), 4),
        "auc_I": round(float(a1), 4),
        "gap": round(float(ci.estimate), 4),
        "gap_ci95": [round(ci.low, 4), round(ci.high, 4)],
        "relative_gap": round(float(ci.estimate / a12), 4),
        "n_skipped": ci.n_skipped,
        "counts": {
            k: sum(r["seen_by_lead_I"] == k for r in rows) for k in ("seen", "partly seen", "not seen", "undetermined")
        },
    }
    return rows, macro


def markdown(rows, macro, holdout_macro, n_records, seeds) -> str:
    lines = [
        f"Out-of-fold, {n_records} ptbxl-2k train+val records, 5-fold CV, seed(s) {seeds}; gap = AUC(12) - "
        "AUC(lead I), paired bootstrap 95 % interval",
        "",
        "| class | positives | 12-lead AUC | lead-I AUC | gap | gap 95 % CI | lead I |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        lo, hi = r["gap_ci95"]
        lines.append(
            f"| {r['class']} | {r['positives']} | {r['auc_12']:.3f} | {r['auc_I']:.3f} | {r['gap']:+.3f} | "
            f"[{lo:+.3f}, {hi:+.3f}] | {r['seen_by_lead_I']} |"
        )
    lo, hi = macro["gap_ci95"]
    lines.append(
        f"| **macro (CV)** | {n_records} | {macro['auc_12']:.3f} | {macro['auc_I']:.3f} | {macro['gap']:+.3f} "
        f"({100 * macro['relative_gap']:.1f} %) | [{lo:+.3f}, {hi:+.3f}] | |"
    )
    lo, hi = holdout_macro["gap_ci95"]
    lines.append(
        f"| macro (hold-out, fold models averaged) | {holdout_macro['n_records']} | {holdout_macro['auc_12']:.3f} | "
        f"{holdout_macro['auc_I']:.3f} | {holdout_macro['gap']:+.3f} ({100 * holdout_macro['relative_gap']:.1f} %)"
        f" | [{lo:+.3f}, {hi:+.3f}] | |"
    )
    lm, sg = PUBLISHED["lead_minimal_ecg"], PUBLISHED["saglietto_2024"]
    lines.append(
        f"| published: lead-minimal-ecg (superdiagnostic, 5 classes) | | {lm['macro_auc_12']:.3f} | "
        f"{lm['macro_auc_lead_I']:.3f} | {lm['gap']:+.3f} ({100 * lm['relative_gap']:.1f} %) | | |"
    )
    lines.append(
        f"| published: Saglietto et al. 2024 (20 PTB-XL classes) | | | | ({100 * sg['relative_gap']:.1f} %) | | |"
    )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0", help="comma-separated training seeds (the folds use --fold-seed)")
    ap.add_argument("--k", type=int, default=5)
    ap.add_argument("--fold-seed", type=int, default=0)
    ap.add_argument("--val-fraction", type=float, default=0.15)
    ap.add_argument("--epochs", type=int, default=60, help="epoch cap (early stopping decides)")
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--report-only", action="store_true", help="write the JSON from the finished parts only")
    ap.add_argument("--out", default=str(REPO_ROOT / "results" / "real_gap_ptbxl2k.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]

    raw = load_ptbxl_2k(shared_data_dir() / "ptbxl-2k")
    data = bandpass(resample(raw, FS), **BANDPASS)
    plan = cv_folds(data, args.k, seed=args.fold_seed, val_fraction=args.val_fraction)
    config = {
        "teacher": "/".join(TEACHER),
        "student": "/".join(STUDENT),
        "student_leads": STUDENT_LEADS,
        "fs": FS,
        "bandpass": BANDPASS,
        "crop_seconds": CROP,
        "batch_size": 128,
        "optimizer": "AdamW",
        "lr": args.lr,
        "weight_decay": 1e-2,
        "scheduler": "constant",
        "epoch_cap": args.epochs,
        "patience": args.patience,
        "monitor": "val_macro_auc",
        "k": args.k,
        "fold_seed": args.fold_seed,
        "val_fraction": args.val_fraction,
        "scaler": "per-lead standard, fitted on each fold's training part",
    }
    parts = cache_dir("real_gap_ptbxl2k") / fingerprint(data.key, config)
    parts.mkdir(parents=True, exist_ok=True)
    log.info("%r; pool %d, hold-out %d; parts in %s", data, len(plan.pool), len(plan.holdout), parts)

    results = {}
    for seed in seeds:
        for fold in plan.folds:
            path = parts / f"seed{seed}-fold{fold.index}.json"
            if path.exists():
                results[seed, fold.index] = json.loads(path.read_text())
            elif not args.report_only:
                results[seed, fold.index] = run_fold(data, plan, fold, seed, args)
                path.write_text(json.dumps(results[seed, fold.index]))
    done = sorted({s for s in seeds if all((s, f.index) in results for f in plan.folds)})
    if not done:
        raise SystemExit("no seed has all its folds finished")
    log.info("complete seeds: %s", done)

    # pooled out-of-fold probabilities (mean over the complete seeds) and hold-out (mean over folds and seeds)
    n, c = len(data), data.n_classes
    oof = {r: np.zeros((n, c)) for r in ("teacher", "student")}
    hold = {r: np.zeros((len(plan.holdout), c)) for r in ("teacher", "student")}
    for (seed, f), part in results.items():
        if seed not in done:
            continue
        for r in oof:
            oof[r][plan.folds[f].test] += np.asarray(part[r]["test_probs"]) / len(done)
            hold[r] += np.asarray(part[r]["holdout_probs"]) / (len(done) * args.k)
    y_pool = data.labels[plan.pool]
    rows, macro = gap_table(
        y_pool, oof["teacher"][plan.pool], oof["student"][plan.pool], data.classes, n_boot=args.n_boot, seed=0
    )
    hold_rows, hold_macro = gap_table(
        data.labels[plan.holdout], hold["teacher"], hold["student"], data.classes, n_boot=args.n_boot, seed=0
    )
    hold_macro["n_records"] = len(plan.holdout)
    per_seed = {}
    for seed in done:
        p = {r: np.zeros((n, c)) for r in oof}
        for f in plan.folds:
            for r in p:
                p[r][f.test] = np.asarray(results[seed, f.index][r]["test_probs"])
        a12 = per_class_auc(y_pool, p["teacher"][plan.pool])
        a1 = per_class_auc(y_pool, p["student"][plan.pool])
        per_seed[seed] = {
            "macro_auc_12": round(float(a12.mean()), 4),
            "macro_auc_I": round(float(a1.mean()), 4),
            "gap": round(float(a12.mean() - a1.mean()), 4),
            "per_class_gap": {k: round(float(v), 4) for k, v in (a12 - a1).items()},
        }
    walls = {r: [results[s, f.index][r]["wall_s"] for s in done for f in plan.folds] for r in ("teacher", "student")}
    runs = [
        {k: v for k, v in results[s, f.index][r].items() if not k.endswith("_probs")}
        | {"seed": s, "fold": f.index, "role": r}
        for s in done
        for f in plan.folds
        for r in ("teacher", "student")
    ]
    stamp = _stamp(None)
    stamp["command"] = "OMP_NUM_THREADS=1 " + " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    out = {
        **stamp,
        "torch_threads": args.threads,
        "report_only": args.report_only,
        "data": {
            "set": "ptbxl-2k",
            "key": raw.key,
            "records": len(data),
            "pool_train_val": len(plan.pool),
            "holdout_test": len(plan.holdout),
            "classes": list(data.classes),
        },
        "config": config,
        "seeds": done,
        "seeds_note": "probabilities averaged over these training seeds before scoring"
        if len(done) > 1
        else "one training seed",
        "fold_positives": plan.positives(data.labels, data.classes)
        .round(2)
        .reset_index(names="class")
        .to_dict("records"),
        "wall_s": {
            r: {
                "per_run": w,
                "mean": round(float(np.mean(w)), 1),
                "max": round(float(np.max(w)), 1),
                "stopped_early": sum(x["stopped_early"] for x in runs if x["role"] == r),
                "runs": len(w),
            }
            for r, w in walls.items()
        },
        "wall_note": "one torch thread on a 2-core machine shared with other jobs: wall times grow with its load",
        "runs": runs,
        "rule": RULE,
        "bootstrap": {"n_boot": args.n_boot, "seed": 0, "paired": True, "alpha": 0.05},
        "cv": {"per_class": rows, "macro": macro},
        "per_seed": per_seed,
        "holdout": {
            "how": f"source test split ({len(plan.holdout)} records) scored with the mean probabilities "
            f"of the {args.k} fold models of each kind (and of the seeds)",
            "per_class": hold_rows,
            "macro": hold_macro,
        },
        "published": PUBLISHED,
    }
    table = markdown(rows, macro, hold_macro, len(plan.pool), done)
    out["markdown"] = table
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(table)
    print(
        f"\nwall time per run (s, {args.threads} thread): teacher mean {out['wall_s']['teacher']['mean']} max "
        f"{out['wall_s']['teacher']['max']}; student mean {out['wall_s']['student']['mean']} max "
        f"{out['wall_s']['student']['max']}; written {args.out}"
    )


if __name__ == "__main__":
    main()
