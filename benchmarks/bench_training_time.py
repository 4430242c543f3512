"""Quick-profile training time and accuracy of the teacher, the three 1-lead students and the
restoration net, from a fresh cache and without the shipped runs (nothing reused), on this machine's CPU.

    python benchmarks/bench_training_time.py            # writes results/bench_training_quick.json

Data: ``--generator`` (v2 by default, the notebooks' data; recorded in the ``data`` field).
Targets: teacher <= 3 min; one student <= 1 min; the small 1-lead baseline at least 0.05 macro AUC
below the teacher; on v1 only, teacher macro AUC >= 0.95 (v1's 12-lead teacher is near perfect; v2
makes it imperfect on purpose, calibrated against ptbxl-2k, README "Generator v2"). Run it on an idle machine: two torch
processes with 2 threads each on 2 cores slow each other down many times over.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", default=str(REPO / "results" / "bench_training_quick.json"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--generator", default=None, help="synthetic generator (v1 or v2; default $ECGKD_GENERATOR, else v2)"
    )
    args = parser.parse_args()
    os.environ["ECGKD_CACHE"] = tempfile.mkdtemp(prefix="ecgkd-bench-")
    os.environ["ECGKD_PRETRAINED"] = "0"  # the shipped runs (generator v2) would be loaded, not trained
    os.environ.setdefault("ECGKD_PROGRESS", "0")
    import torch

    torch.set_num_threads(args.threads)
    from ecgkd_lite import experiment
    from ecgkd_lite.utils import atomic_write_json
    from ecgkd_lite.bench.stamp import run_stamp
    from ecgkd_lite.config import notebook_source

    source = notebook_source(args.generator)  # a bad --generator fails before any work

    rows = {}

    def timed(name, fn, evaluate=True, leads=None):
        start = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - start
        row = {
            "wall_seconds": round(seconds, 1),
            "epochs": len(result.history),
            "params": sum(p.numel() for p in result.model.parameters()),
        }
        if evaluate:
            rep = experiment.evaluate_model(result.model, prep, input_leads=leads)
            row.update({m: round(float(rep[m]), 4) for m in ("macro_auc", "macro_f1", "map")})
        rows[name] = row
        print(f"{name:<22} {row}", flush=True)
        return result

    load_before = os.getloadavg()  # 1, 5 and 15-min averages: near 0 on an idle machine
    start = time.perf_counter()
    prep = experiment.prepare(source)
    rows["data"] = {
        "wall_seconds": round(time.perf_counter() - start, 1),
        "records": len(prep.train) + len(prep.val) + len(prep.test),
    }
    teacher = timed("teacher resnet1d/small", lambda: experiment.train_teacher(prep))
    for size in ("tiny", "small", "base"):
        timed(f"student {size}", lambda: experiment.train_student(prep, "baseline", size=size), leads=["I"])
    timed("restoration unet1d/tiny", lambda: experiment.train_restoration(prep), evaluate=False)
    gap = rows["teacher resnet1d/small"]["macro_auc"] - rows["student small"]["macro_auc"]
    out = {
        **run_stamp(),
        "torch_threads": args.threads,
        "load_average_before": load_before,
        "data": {"source": source},
        "profile": prep.profile.to_dict(),
        "results": rows,
        "targets": {
            "teacher_under_180_s": rows["teacher resnet1d/small"]["wall_seconds"] <= 180,
            **(
                {"teacher_auc_at_least_0.95": rows["teacher resnet1d/small"]["macro_auc"] >= 0.95}
                if source == "synthetic"
                else {}
            ),
            "student_tiny_under_60_s": rows["student tiny"]["wall_seconds"] <= 60,
            "student_small_under_60_s": rows["student small"]["wall_seconds"] <= 60,
            "small_gap_at_least_0.05": gap >= 0.05,
            "small_gap": round(gap, 4),
        },
    }
    atomic_write_json(args.json, out)
    print(out["targets"])


if __name__ == "__main__":
    main()
