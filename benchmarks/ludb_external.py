"""External validation on LUDB and Grad-CAM localisation against cardiologists' delineation.

1. Train on ptbxl-2k's source split (train = fold 1; validation = fold 9 for early stopping) a 12-lead
   teacher (``resnet1d``/``small``) and a lead-I student (``cnn_transformer``/``tiny``, plain supervised
   baseline) with the budget rule of ``benchmarks/real_gap_ptbxl2k.py`` (same ``train_one``: AdamW,
   constant lr, early stopping on validation macro AUC with ``--patience``, at most ``--epochs``).
2. Score both on ptbxl-2k's test split (fold 10) and on LUDB (200 records, an external set), LUDB
   preprocessed as ptbxl-2k's source was (:func:`ecgkd_lite.evaluate.external.ptbxl2k_like`: 4th-order
   Butterworth band-pass 0.5-40 Hz with ``filtfilt`` at 500 Hz, z-score per record and lead,
   ``resample_poly`` 500 -> 250 Hz with ``padtype='line'``, rounded to 1e-3 like the int16 release), then
   the models' pipeline (250 -> 100 Hz, the 3rd-order zero-phase band-pass, the ptbxl-2k scaler).
   Classes: those both sets share with at least ``--min-ludb-positives`` LUDB positives.
3. Grad-CAM (``grad_cam``, the class index as target) of both models on the positive LUDB records of
   every class with a region (:func:`ecgkd_lite.evaluate.external.localisation_region`), scored with
   ``localisation_scores`` inside the annotated span only; the maps (100 Hz) and the masks (made at
   100 Hz by ``ludb_wave_masks(fs=100)``: the interval ends are mapped, not the boolean masks resampled).
4. With ``--examples PATH``: one LUDB record per scored class (the positive record with the fewest LUDB
   labels, the first in record order on a tie), the first seed's teacher and student Grad-CAM maps on it
   with and without the ReLU (100 Hz, float16-rounded), the region it is scored against and the five
   lead-agnostic wave masks as runs, for drawing (notebook 13). The committed
   ``results/ludb_gradcam_examples.json`` was written by (models from the cache, the tables unchanged)

       OMP_NUM_THREADS=1 ECGKD_CACHE=/tmp/ludb-cache .venv/bin/python benchmarks/ludb_external.py \\
           --seeds 0,1,2 --out /tmp/ludb_external_rerun.json --examples results/ludb_gradcam_examples.json

Resumable: trained models are kept below ``$ECGKD_CACHE/ludb_external/<config key>/``.

    OMP_NUM_THREADS=1 ECGKD_CACHE=/tmp/ludb-cache .venv/bin/python benchmarks/ludb_external.py
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from real_gap_ptbxl2k import CROP, FS, STUDENT, STUDENT_LEADS, TEACHER, train_one  # noqa: E402

from ecgkd_lite.bench.stamp import run_stamp  # noqa: E402
from ecgkd_lite.config import REPO_ROOT, cache_dir, shared_data_dir  # noqa: E402
from ecgkd_lite.data import StandardScaler, bandpass, load_ptbxl_2k, resample  # noqa: E402
from ecgkd_lite.data.ludb import WAVES, load_ludb, ludb_wave_masks, mask_runs  # noqa: E402
from ecgkd_lite.evaluate import bootstrap_ci, per_class_auc  # noqa: E402
from ecgkd_lite.evaluate.external import (
    LOCALISATION_NOTES,
    PTBXL2K_SOURCE,
    annotated_span,  # noqa: E402
    localisation_wave,
    on_class_axis,
    ptbxl2k_like,
    shared_classes,
    span_scores,
)
from ecgkd_lite.experiment import BANDPASS  # noqa: E402
from ecgkd_lite.explain import grad_cam  # noqa: E402
from ecgkd_lite.models import build_model  # noqa: E402
from ecgkd_lite.train import predict  # noqa: E402
from ecgkd_lite.utils import fingerprint  # noqa: E402

log = logging.getLogger("ludb_external")
ROLES = {"teacher": (TEACHER, None), "student": (STUDENT, STUDENT_LEADS)}


def train_or_load(role, train, val, seed, args, parts: Path):
    """The trained model of ``role`` (from its part file when there is one) and its run info."""
    (arch, size), leads = ROLES[role]
    path = parts / f"seed{seed}-{role}.pt"
    if path.exists():
        saved = torch.load(path, weights_only=False)
        model = build_model(arch, size, in_leads=len(leads) if leads else train.n_leads, n_classes=train.n_classes)
        model.load_state_dict(saved["state_dict"])
        return model.eval(), saved["info"]
    model, info = train_one(arch, size, leads, train, val, seed=seed, args=args)
    torch.save({"state_dict": model.state_dict(), "info": info}, path)
    log.info(
        "seed %d %s: %d epochs (best %d, val AUC %.3f) in %.1f s",
        seed,
        role,
        info["epochs_run"],
        info["best_epoch"],
        info["best_val_macro_auc"],
        info["wall_s"],
    )
    return model.eval(), info


def ptbxl_splits(args):
    raw = load_ptbxl_2k(shared_data_dir() / "ptbxl-2k")
    data = bandpass(resample(raw, FS), **BANDPASS)
    scaler = StandardScaler(per_lead=True).fit(data.split("train"))
    train, val, test = (scaler.transform(data.split(s)) for s in ("train", "val", "test"))
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
        "train": "ptbxl-2k fold 1 (source train)",
        "val": "ptbxl-2k fold 9 (source val)",
        "scaler": "per-lead standard, fitted on the train split",
    }
    return raw, scaler, train, val, test, config


def parse(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--epochs", type=int, default=60, help="epoch cap (early stopping decides)")
    ap.add_argument("--patience", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--min-ludb-positives", type=int, default=3)
    ap.add_argument("--min-ci-positives", type=int, default=5, help="fewest LUDB positives for a bootstrap interval")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--train-only", action="store_true")
    ap.add_argument("--out", default=str(REPO_ROOT / "results" / "ludb_external.json"))
    ap.add_argument(
        "--examples",
        default=None,
        help="also write one Grad-CAM example per scored class to this JSON (e.g. results/ludb_gradcam_examples.json)",
    )
    return ap.parse_args(argv)


def main(argv=None) -> None:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    torch.set_num_threads(args.threads)
    seeds = [int(s) for s in args.seeds.split(",")]
    raw, scaler, train, val, test, config = ptbxl_splits(args)
    parts = cache_dir("ludb_external") / fingerprint(train.key, config)
    parts.mkdir(parents=True, exist_ok=True)
    log.info("train %d, val %d, test %d; parts in %s", len(train), len(val), len(test), parts)
    models = {(s, r): train_or_load(r, train, val, s, args, parts) for s in seeds for r in ROLES}
    if args.train_only:
        return

    # ---------------------------------------------------------------- LUDB, preprocessed like ptbxl-2k
    root = shared_data_dir() / "ludb"
    ludb = load_ludb(root)
    classes, left_out = shared_classes(train.classes, ludb.classes, ludb.labels, args.min_ludb_positives)
    rare = next(st for st in raw.preprocessing if st["step"] == "drop_rare_classes")
    for c, n in rare["dropped"].items():
        if c in left_out:
            left_out[c] += f"; dropped from ptbxl-2k ({n} positives < min_positives={rare['min_positives']})"
    ext = on_class_axis(scaler.transform(bandpass(resample(ptbxl2k_like(ludb), FS), **BANDPASS)), train.classes)
    y_ext = ludb.labels[:, [ludb.classes.index(c) for c in classes]]
    cols = [train.classes.index(c) for c in classes]
    kw = dict(window_seconds=CROP, stride_seconds=CROP / 2)
    probs = {}
    for (s, r), (model, _) in models.items():
        leads = ROLES[r][1]
        probs[s, r, "ludb"] = predict(model, ext, input_leads=leads, **kw)[:, cols]
        probs[s, r, "test"] = predict(model, test, input_leads=leads, **kw)
    mean = {(r, d): np.mean([probs[s, r, d] for s in seeds], axis=0) for r in ROLES for d in ("ludb", "test")}

    # ---------------------------------------------------------------- AUC tables
    rows = []
    test_auc = {r: per_class_auc(test.labels, mean[r, "test"], test.classes) for r in ROLES}
    for k, c in enumerate(classes):
        row = {
            "class": c,
            "ludb_positives": int(y_ext[:, k].sum()),
            "ptbxl_test_positives": int(test.labels[:, test.classes.index(c)].sum()),
        }
        for r in ROLES:
            row[f"{r}_ludb_auc"] = round(float(per_class_auc(y_ext[:, [k]], mean[r, "ludb"][:, [k]]).iloc[0]), 4)
            ci = None
            if row["ludb_positives"] >= args.min_ci_positives:
                b = bootstrap_ci(y_ext[:, [k]], mean[r, "ludb"][:, [k]], "macro_auc", n_boot=args.n_boot, seed=0)
                ci = [round(b.low, 4), round(b.high, 4)]
            row[f"{r}_ludb_ci95"] = ci
            row[f"{r}_ptbxl_test_auc"] = round(float(test_auc[r][c]), 4)
        rows.append(row)
    macro = {"classes": classes}
    for r in ROLES:
        b = bootstrap_ci(y_ext, mean[r, "ludb"], "macro_auc", n_boot=args.n_boot, seed=0)
        macro[f"{r}_ludb"] = round(float(per_class_auc(y_ext, mean[r, "ludb"]).mean()), 4)
        macro[f"{r}_ludb_ci95"] = [round(b.low, 4), round(b.high, 4)]
        macro[f"{r}_ptbxl_test_shared"] = round(float(test_auc[r][classes].mean()), 4)
        macro[f"{r}_ptbxl_test_all"] = round(float(test_auc[r].mean()), 4)
    per_seed = {
        s: {
            r: {
                "ludb_macro_auc": round(float(per_class_auc(y_ext, probs[s, r, "ludb"]).mean()), 4),
                "ptbxl_test_macro_auc": round(float(per_class_auc(test.labels, probs[s, r, "test"]).mean()), 4),
            }
            for r in ROLES
        }
        for s in seeds
    }

    # ---------------------------------------------------------------- Grad-CAM against the delineation
    masks = ludb_wave_masks(root, ludb.record_ids, fs=FS)
    assert masks.masks.shape[-1] == ext.n_samples, (masks.masks.shape, ext.n_samples)
    span = annotated_span(masks.annotated)
    union = masks.union()
    loc_rows, no_region, examples = [], {}, []
    for c in ludb.classes:
        if localisation_wave(c) is None or c not in classes:
            no_region[c] = LOCALISATION_NOTES.get(c, "") if localisation_wave(c) is None else left_out.get(c, "")
    for c in classes:
        wave = localisation_wave(c)
        if wave is None:
            continue
        pos = np.flatnonzero(ludb.labels[:, ludb.classes.index(c)] > 0)
        region = union[pos, WAVES.index(wave)]
        row = {"class": c, "region": wave, "why": LOCALISATION_NOTES[c], "n_records": len(pos)}
        for r in ROLES:
            leads = ROLES[r][1]
            x = ext.signals[pos] if leads is None else ext.signals[pos][:, [ext.leads.index(ld) for ld in leads]]
            cams = [grad_cam(models[s, r][0], x, train.classes.index(c)) for s in seeds]
            per = [span_scores(cam, region, span[pos]) for cam in cams]
            if args.examples:
                row.setdefault("_maps", {})[r] = cams[0]
            raw_cams = [grad_cam(models[s, r][0], x, train.classes.index(c), relu=False) for s in seeds]
            raw_maps = [span_scores(cam, region, span[pos]) for cam in raw_cams]
            if args.examples:
                row["_maps"][f"{r}_no_relu"] = raw_cams[0]
            row[f"{r}_pointing_game_no_relu"] = round(float(np.mean([p["pointing_game"] for p in raw_maps])), 4)
            row[f"{r}_energy_inside_no_relu"] = round(float(np.mean([p["energy_inside"] for p in raw_maps])), 4)
            row[f"{r}_pointing_game"] = round(float(np.mean([p["pointing_game"] for p in per])), 4)
            row[f"{r}_energy_inside"] = round(float(np.mean([p["energy_inside"] for p in per])), 4)
            row[f"{r}_zero_maps"] = int(sum(p["zero_maps"] for p in per))
            row["n_scored"] = per[0]["n_scored"]
            row["chance"] = round(per[0]["chance"], 4)
            if len(seeds) > 1:
                row[f"{r}_per_seed"] = [{k: round(v, 4) for k, v in p.items()} for p in per]
        if args.examples:
            examples.append(gradcam_example(c, wave, pos, row.pop("_maps"), ludb, masks, union, span, seeds[0]))
        loc_rows.append(row)

    walls = {r: [models[s, r][1]["wall_s"] for s in seeds] for r in ROLES}
    out = {
        **run_stamp(),
        "torch_threads": args.threads,
        "seeds": seeds,
        "seeds_note": "probabilities averaged over the seeds; Grad-CAM scores averaged over the seeds' models"
        if len(seeds) > 1
        else "one training seed",
        "config": config,
        "runs": {f"seed{s}-{r}": models[s, r][1] for s in seeds for r in ROLES},
        "wall_s": {r: {"per_run": w, "mean": round(float(np.mean(w)), 1)} for r, w in walls.items()},
        "data": {
            "train": {
                "set": "ptbxl-2k",
                "key": raw.key,
                "train": len(train),
                "val": len(val),
                "test": len(test),
                "classes": list(train.classes),
            },
            "external": {
                "set": "LUDB 1.0.1",
                "key": ludb.key,
                "records": len(ludb),
                "classes": list(ludb.classes),
                "positives": {c: int(n) for c, n in zip(ludb.classes, ludb.labels.sum(0))},
                "preprocessing": {
                    "as_ptbxl2k_source": PTBXL2K_SOURCE,
                    "then_model_pipeline": f"resample 250 -> {FS} Hz, band-pass "
                    f"{BANDPASS}, per-lead scaler fitted on ptbxl-2k train",
                },
            },
        },
        "classes_scored": classes,
        "classes_left_out": left_out,
        "external_validation": {
            "per_class": rows,
            "macro": macro,
            "per_seed": per_seed,
            "bootstrap": {
                "n_boot": args.n_boot,
                "seed": 0,
                "alpha": 0.05,
                "min_positives_for_ci": args.min_ci_positives,
            },
        },
        "gradcam": {
            "how": f"grad_cam(model, x, class index, layer='temporal', relu=True) on the whole 10 s "
            f"record at {FS} Hz ({ext.n_samples} samples; the map is interpolated by grad_cam to "
            f"the input length); masks from ludb_wave_masks(fs={FS}) (interval ends mapped "
            f"500 -> {FS} Hz and rounded, not boolean masks resampled), lead-agnostic union over "
            "the 12 leads; maps zeroed and masks cut outside the annotated span (first to last "
            "sample annotated in any lead); chance = mean share of the span the region covers; *_no_relu: the "
            "same scores of min-max normalised maps without the Grad-CAM ReLU (where the class "
            "evidence is relatively highest, defined even when it is negative everywhere)",
            "per_class": loc_rows,
            "classes_without_region": no_region,
        },
    }
    if args.examples:
        write_examples(args.examples, examples, out, masks)
    tables = markdown(out)
    out["markdown"] = tables
    Path(args.out).write_text(json.dumps(out, indent=1) + "\n")
    print(tables)
    print(
        f"\nwall time per run (s, {args.threads} thread): "
        + ", ".join(f"{r} {w}" for r, w in walls.items())
        + f"; written {args.out}"
    )


def gradcam_example(c, wave, pos, maps, ludb, masks, union, span, seed) -> dict:
    """One record of class ``c`` (the positive record with the fewest LUDB labels, the first on a tie):
    its maps (``maps[role]``: the first seed's Grad-CAM of every positive record, in ``pos`` order), its
    region and wave masks as runs ``[start, end)`` at ``masks.fs``, and its scores."""
    j = int(np.argmin(ludb.labels[pos].sum(1)))  # argmin takes the first of equal counts
    i = int(pos[j])
    out = {
        "class": c,
        "region": wave,
        "record_id": str(ludb.record_ids[i]),
        "seed": seed,
        "labels": [k for k, y in zip(ludb.classes, ludb.labels[i]) if y > 0],
        "span": [int(v) for v in mask_runs(span[i])[0]],
        "region_runs": [list(r) for r in mask_runs(union[i, WAVES.index(wave)] & span[i])],
        "waves": {w: [list(r) for r in mask_runs(union[i, k])] for k, w in enumerate(WAVES)},
    }
    for r, m in maps.items():
        out[f"{r}_map"] = [round(float(v), 3) for v in m[j].astype(np.float16)]
        sc = span_scores(m[[j]], union[[i], WAVES.index(wave)], span[[i]])
        out[f"{r}_pointing_hit"] = bool(sc["pointing_game"] > 0)
        out[f"{r}_energy_inside"] = round(float(sc["energy_inside"]), 4)
        if not r.endswith("_no_relu"):
            out[f"{r}_zero_map"] = bool(sc["zero_maps"])
    return out


def write_examples(path, examples: list, out: dict, masks) -> None:
    """The Grad-CAM examples JSON (:func:`gradcam_example` per scored class) with its provenance."""
    doc = {k: out[k] for k in ("command", "git_commit", "date", "seeds", "config")}
    doc.update(
        {
            "fs": float(masks.fs),
            "n_samples": int(masks.masks.shape[-1]),
            "waves": list(WAVES),
            "how": "one LUDB record per class scored in ludb_external.json (the positive record with the fewest "
            "LUDB labels, the first in record order on a tie); teacher (12 leads) and student (lead I) "
            "Grad-CAM maps of the class logit from the models of the first seed, ReLU, scaled to [0, 1] "
            "per record, whole record at fs Hz, rounded through float16 to 3 decimals (<role>_no_relu_map: the same "
            "without the ReLU, min-max scaled); region_runs: the "
            "scored region (union over the 12 leads, cut to the annotated span) as [start, end) runs; "
            "waves: every wave's lead-agnostic union mask as runs (not cut); span: first to last "
            "annotated sample (end exclusive); pointing_hit / energy_inside: this record's scores "
            "as in ludb_external.json (inside the span)",
            "examples": examples,
        }
    )
    Path(path).write_text(json.dumps(doc, indent=1) + "\n")
    log.info("written %d Grad-CAM examples to %s", len(examples), path)


def fmt_ci(ci) -> str:
    return f"[{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "-"


def markdown(out: dict) -> str:
    ev, seeds = out["external_validation"], out["seeds"]
    lines = [
        f"External validation: trained on ptbxl-2k (train/val split), seed(s) {seeds}; AUC on LUDB (200 "
        "records, bootstrap 95 % CI) and on the ptbxl-2k test split (190 records)",
        "",
        "| class | LUDB pos. | teacher LUDB AUC | student LUDB AUC | ptbxl-2k test pos. | teacher test AUC | "
        "student test AUC |",
        "|---|---:|---|---|---:|---:|---:|",
    ]
    for r in ev["per_class"]:
        lines.append(
            f"| {r['class']} | {r['ludb_positives']} | {r['teacher_ludb_auc']:.3f} "
            f"{fmt_ci(r['teacher_ludb_ci95'])} | {r['student_ludb_auc']:.3f} {fmt_ci(r['student_ludb_ci95'])}"
            f" | {r['ptbxl_test_positives']} | {r['teacher_ptbxl_test_auc']:.3f} | "
            f"{r['student_ptbxl_test_auc']:.3f} |"
        )
    m = ev["macro"]
    lines.append(
        f"| **macro ({len(m['classes'])} shared classes)** | | {m['teacher_ludb']:.3f} "
        f"{fmt_ci(m['teacher_ludb_ci95'])} | {m['student_ludb']:.3f} {fmt_ci(m['student_ludb_ci95'])} | | "
        f"{m['teacher_ptbxl_test_shared']:.3f} | {m['student_ptbxl_test_shared']:.3f} |"
    )
    lines.append(
        f"| macro (all {len(out['data']['train']['classes'])} ptbxl-2k classes) | | | | | "
        f"{m['teacher_ptbxl_test_all']:.3f} | {m['student_ptbxl_test_all']:.3f} |"
    )
    lines += [
        "",
        "Grad-CAM localisation on LUDB positives against the cardiologists' delineation (inside the "
        f"annotated span; chance = region coverage of the span; zero maps: all-zero ReLU maps, counted as misses "
        f"with energy 0, summed over {len(seeds)} seed(s))",
        "",
        "| class | region | records | chance | teacher pointing | teacher energy | teacher zero maps | "
        "student (lead I) pointing | student energy | student zero maps |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in out["gradcam"]["per_class"]:
        lines.append(
            f"| {r['class']} | {r['region']} | {r['n_scored']} | {r['chance']:.3f} | "
            f"{r['teacher_pointing_game']:.3f} | {r['teacher_energy_inside']:.3f} | {r['teacher_zero_maps']} | "
            f"{r['student_pointing_game']:.3f} | {r['student_energy_inside']:.3f} | {r['student_zero_maps']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
