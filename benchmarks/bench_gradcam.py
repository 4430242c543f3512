"""Benchmark: Grad-CAM cost for the tiny CNN+Transformer student on 64 test records.

Times ``explain.grad_cam(model, x, target, layer="temporal")`` on the first 64 test records of the
quick-profile synthetic data (``--generator``: v2 by default, the notebooks' data), lead I, once on the 2.5 s training crop (250 samples at 100 Hz) and
once on the full 10 s record (1000 samples); median of ``--repeats`` runs after one warm-up, with
``--threads`` torch threads. The model is the cached baseline student (an untrained one with
``--untrained``: the cost is the same). Target: <= 2 s per 64 records. Writes
``results/bench_gradcam.json``.

    python benchmarks/bench_gradcam.py --repeats 5 --threads 2
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from ecgkd_lite import experiment
from ecgkd_lite.explain import grad_cam
from ecgkd_lite.models import build_model
from ecgkd_lite.utils import atomic_write_json
from ecgkd_lite.bench.stamp import run_stamp
from ecgkd_lite.config import notebook_source

TARGET_S = 2.0
N_RECORDS = 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--untrained", action="store_true", help="time a freshly built student (same cost)")
    parser.add_argument(
        "--generator", default=None, help="synthetic generator (v1 or v2; default $ECGKD_GENERATOR, else v2)"
    )
    parser.add_argument("--out", default="results/bench_gradcam.json")
    args = parser.parse_args()
    source = notebook_source(args.generator)  # a bad --generator fails before any work
    torch.set_num_threads(args.threads)

    prep = experiment.prepare(source)
    test = prep.test.select_leads(list(experiment.STUDENT_LEADS))
    if args.untrained:
        model = build_model(experiment.STUDENT_ARCH, "tiny", in_leads=1, n_classes=prep.n_classes)
    else:
        model = experiment.train_student(prep, "baseline", size="tiny", seed=0, progress=False).model
    signals = test.signals[:N_RECORDS]
    targets = test.labels[:N_RECORDS].argmax(axis=1)  # each record's first positive class
    crop = int(round(prep.profile.crop_seconds * prep.fs))
    timings = {}
    for name, x in (("crop", signals[..., :crop]), ("full", signals)):
        grad_cam(model, x, targets)  # warm-up
        seconds = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            grad_cam(model, x, targets)
            seconds.append(time.perf_counter() - start)
        timings[name] = {"samples": int(x.shape[-1]), "median_s": statistics.median(seconds), "runs_s": seconds}
        met = "met" if timings[name]["median_s"] <= TARGET_S else "NOT met"
        print(
            f"grad_cam {name:<4} ({x.shape[-1]} samples, {len(x)} records): median "
            f"{timings[name]['median_s']:.3f} s over {args.repeats} (target <= {TARGET_S} s: {met})"
        )

    out = {
        "model": f"{experiment.STUDENT_ARCH}:tiny",
        "data": {"source": source, "profile": prep.profile.name},
        "trained": not args.untrained,
        "layer": "temporal",
        "n_records": int(len(signals)),
        "fs": float(prep.fs),
        "repeats": args.repeats,
        "threads": args.threads,
        "timings": timings,
        "target_s": TARGET_S,
        "target_met": all(t["median_s"] <= TARGET_S for t in timings.values()),
        **run_stamp(),
    }
    atomic_write_json(Path(args.out), out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
