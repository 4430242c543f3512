"""A small weight grid for a method family, chosen on the VALIDATION fold only.

    python benchmarks/tune_family.py --family liteheart   # -> results/tune_liteheart_quick.json
    python benchmarks/tune_family.py --family evl_ecg     # -> results/tune_evl_ecg_quick.json

Every grid point trains the tiny 1-lead student with seed 0 under the benchmark's identical budget
(quick profile, all labels) and records its best validation macro AUC (the early-stopping
monitor). The test fold is never read. The winner is printed with the recipe to register; the
benchmark runner then reports it on test with 3 seeds.
"""

from __future__ import annotations

import argparse
import itertools
import time

from ecgkd_lite import experiment
from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.distill.evl import evl_recipe
from ecgkd_lite.distill.liteheart import liteheart_recipe
from ecgkd_lite.utils import atomic_write_json
from ecgkd_lite.bench.stamp import run_stamp


def grid(family: str) -> list[tuple[dict, dict]]:
    """``[(grid point, recipe config)]``."""
    if family == "liteheart":
        return [
            ({"l_region": r, "l_mi": m}, liteheart_recipe(l_region=r, l_mi=m))
            for r, m in itertools.product((1.0, 0.25), (0.5, 0.1))
        ]
    if family == "evl_ecg":
        weights = ((1.0, 1.0, 1.0), (1.0, 0.25, 1.0), (0.25, 0.25, 1.0))
        return [
            ({"alpha": a, "l_m": w[0], "l_r": w[1], "l_ot": w[2]}, evl_recipe(a, *w))
            for a, w in itertools.product((0.1, 0.3, 0.5), weights)
        ]
    raise SystemExit(f"--family must be liteheart or evl_ecg; got {family!r}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, choices=["liteheart", "evl_ecg"])
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--json", help="output (default results/tune_<family>_<profile>.json)")
    args = ap.parse_args()
    prep = experiment.prepare("synthetic", profile=args.profile)
    teacher = experiment.train_teacher(prep)
    cache = experiment.teacher_cache(prep, teacher)
    rows = []
    for point, recipe in grid(args.family):
        start = time.perf_counter()
        name = "-".join(f"{k}{v:g}" for k, v in point.items())
        fit = experiment.train_student(
            prep, recipe, teacher=teacher, size="tiny", seed=0, cache=cache, tag=f"tune-{args.family}-{name}"
        )
        rows.append(
            {
                "point": point,
                "recipe": recipe,
                "val_macro_auc": float(fit.best_metric),
                "best_epoch": fit.best_epoch,
                "seconds": time.perf_counter() - start,
            }
        )
        print(f"{args.family} {point}: val macro AUC {fit.best_metric:.4f}", flush=True)
    best = max(rows, key=lambda r: r["val_macro_auc"])
    print("chosen on validation:", best["point"])
    out = {
        **run_stamp(),
        "family": args.family,
        "profile": args.profile,
        "selection": "best validation macro AUC, seed 0",
        "rows": rows,
        "chosen": best["point"],
    }
    path = args.json or REPO_ROOT / "results" / f"tune_{args.family}_{args.profile}.json"
    atomic_write_json(path, out)
    print("wrote", path)


if __name__ == "__main__":
    main()
