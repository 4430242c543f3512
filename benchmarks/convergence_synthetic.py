"""Convergence study: are the quick profile's 6-epoch students trained to the end?

    python benchmarks/convergence_synthetic.py     # writes results/convergence_synthetic.json

The lead-I baseline and vanilla KD (seed 0, tiny student) on the quick synthetic data under four
budgets: the quick profile's one-cycle schedule over 6 epochs (the quick benchmark's recipe), 25 and
50 epochs, and the converged rule of ``--profile converged`` (constant learning rate, early stopping
after 10 epochs without a better validation macro AUC, at most 100 epochs). Every run is scored on
the converged benchmark's test set (5,000 records of the same generator stream, ``bench/cv.py``);
each run's validation curve (macro AUC per epoch) is kept for the figure in notebook 04. The
one-cycle runs distil from the quick teacher, the converged runs from the converged teacher. With
the benchmark's cache (``ECGKD_CACHE``) the converged teacher and baseline are its seed-0 runs;
vanilla KD here reads the live teacher (no cached teacher outputs), so it is a run of its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
METHODS = ("baseline", "vanilla_kd")
BUDGETS = (6, 25, 50)  # one-cycle epochs; "converged" is the early-stopping rule


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", default=str(REPO / "results" / "convergence_synthetic.json"))
    args = parser.parse_args()
    from ecgkd_lite import experiment
    from ecgkd_lite.bench import cv
    from ecgkd_lite.bench.stamp import run_stamp
    from ecgkd_lite.config import get_profile
    from ecgkd_lite.utils import atomic_write_json

    data, plan = cv.synthetic_pool()
    converged, _ = cv.fold_prep(data, plan.folds[0], plan.holdout, "synthetic")
    quick = get_profile("quick")
    runs = []

    def run(prep, budget, teacher):
        for method in METHODS:
            t0 = time.perf_counter()
            fit = experiment.train_student(
                prep, method, teacher=teacher, size="tiny", seed=0, progress=False, labeled=None
            )
            rep = experiment.evaluate_model(fit.model, prep, input_leads=experiment.STUDENT_LEADS)
            row = {
                "method": method,
                "budget": budget,
                "schedule": prep.profile.scheduler,
                "epochs_run": len(fit.history),
                "best_epoch": int(fit.best_epoch),
                "best_val_macro_auc": round(float(fit.best_metric), 4),
                "test_macro_auc": round(float(rep["macro_auc"]), 4),
                "test_map": round(float(rep["map"]), 4),
                "val_macro_auc_curve": [round(float(h["val_macro_auc"]), 4) for h in fit.history],
                "train_seconds": round(float(sum(h["seconds"] for h in fit.history)), 1),
                "wall_s": round(time.perf_counter() - t0, 1),
            }
            runs.append(row)
            print(
                f"{method:<11} {str(budget):<9} epochs {row['epochs_run']:>3} (best {row['best_epoch']:>3}) "
                f"val {row['best_val_macro_auc']:.4f} test {row['test_macro_auc']:.4f}",
                flush=True,
            )

    quick_prep = dataclasses.replace(converged, profile=quick)
    quick_teacher = experiment.train_teacher(quick_prep, seed=0, progress=False)
    for epochs in BUDGETS:
        run(dataclasses.replace(converged, profile=quick.with_(student_epochs=epochs)), epochs, quick_teacher)
    run(converged, "converged", experiment.train_teacher(converged, seed=0, progress=False))
    atomic_write_json(
        args.json,
        {
            **run_stamp("python benchmarks/convergence_synthetic.py"),
            "setting": {
                "data": "quick synthetic records (train folds 1-8, validation fold 9), test: the converged "
                f"benchmark's {len(converged.test)} new records",
                "student": f"{experiment.STUDENT_ARCH}/tiny, lead I",
                "budgets": "one-cycle over 6 (the quick profile), 25 and 50 epochs (quick teacher); converged: "
                "constant learning rate, early stopping (patience 10, cap 100; converged teacher)",
                "quick_profile": quick.to_dict(),
                "converged_profile": converged.profile.to_dict(),
            },
            "runs": runs,
        },
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
