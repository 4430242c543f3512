"""Micro-benchmark: time of one KD training step relative to a plain student step.

For each method of ``ecgkd_lite.distill.METHODS`` it times one optimisation step (forward,
backward, Adam update) of the Distiller with the teacher's outputs read from a ``TeacherCache``
and, for reference, with the teacher run live; the plain step is the student alone with BCE. The
three steps are timed in turn, and each ratio divides by the plain step of the same method's loop.
Prints the median times and ratios and writes ``results/bench_kd_step.json``.

    python benchmarks/bench_kd_step.py --batch-size 32 --samples 1000 --repeats 10
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ecgkd_lite.data.container import ECGData
from ecgkd_lite.distill import METHODS, Distiller, TeacherCache, build_recipe
from ecgkd_lite.models import build_model
from ecgkd_lite.utils import atomic_write_json, seed_everything
from ecgkd_lite.bench.stamp import run_stamp


def interleaved_medians(steps: dict, repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median wall time of each ``steps[name]()``; the steps are timed in turn within every repeat,
    so a load change on a shared machine hits all of them alike."""
    for _ in range(warmup):
        for step in steps.values():
            step()
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def student_step(student: torch.nn.Module, batch: dict):
    optimiser = torch.optim.Adam(student.parameters(), lr=1e-3)

    def step():
        optimiser.zero_grad()
        F.binary_cross_entropy_with_logits(student(batch["x"][:, :1]), batch["y"]).backward()
        optimiser.step()

    return step


def distiller_step(distiller: Distiller):
    optimiser = torch.optim.Adam(distiller.trainable_parameters(), lr=1e-3)

    def step(batch):
        optimiser.zero_grad()
        distiller(batch)["total"].backward()
        optimiser.step()

    return step


def random_data(n: int, n_samples: int, n_classes: int, seed: int) -> ECGData:
    rng = np.random.default_rng(seed)
    return ECGData(
        signals=rng.standard_normal((n, 12, n_samples)).astype(np.float32),
        labels=(rng.random((n, n_classes)) < 0.3).astype(np.float32),
        classes=tuple(f"c{i}" for i in range(n_classes)),
        fs=100.0,
        folds=np.ones(n, dtype=int),
        record_ids=[f"r{i}" for i in range(n)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="resnet1d:small")
    parser.add_argument("--student", default="cnn_transformer:tiny")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--samples", type=int, default=1000, help="crop length in samples (10 s at 100 Hz)")
    parser.add_argument("--classes", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/bench_kd_step.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(0, deterministic=False)

    t_name, t_size = args.teacher.split(":")
    s_name, s_size = args.student.split(":")
    teacher = build_model(t_name, t_size, in_leads=12, n_classes=args.classes)
    student0 = build_model(s_name, s_size, in_leads=1, n_classes=args.classes)
    data = random_data(args.batch_size, args.samples, args.classes, seed=0)
    batch = {
        "x": torch.from_numpy(data.signals),
        "y": torch.from_numpy(data.labels),
        "index": torch.arange(len(data)),
        "start": torch.zeros(len(data), dtype=torch.long),
        "labeled": torch.ones(len(data), dtype=torch.bool),
    }
    recipes = {m: build_recipe(m) for m in METHODS if m != "baseline"}
    needed = {f for r in recipes.values() for _, term in r.build() for f in term.teacher_features}
    cache = TeacherCache(features=needed).precompute(
        teacher, data, args.samples, args.samples, batch_size=args.batch_size
    )

    rows = {}
    for method, recipe in tqdm(recipes.items(), desc="methods"):
        # terms that need gradients through the teacher (region-aware Grad-CAM) cannot use the cache
        cacheable = not any(term.needs_teacher_grad for _, term in recipe.build())
        steps = {"plain": student_step(copy.deepcopy(student0), batch)}
        live = distiller_step(Distiller(teacher, copy.deepcopy(student0), recipe).setup(batch))
        steps["live"] = lambda live=live: live(batch)
        if cacheable:
            cached = distiller_step(
                Distiller(teacher, copy.deepcopy(student0), recipe, teacher_cache=cache).setup(batch)
            )
            steps["cached"] = lambda cached=cached: cached(batch)
        t = interleaved_medians(steps, args.repeats)
        t.setdefault("cached", t["live"])
        rows[method] = {
            "plain_s": t["plain"],
            "cached_s": t["cached"],
            "live_s": t["live"],
            "cacheable": cacheable,
            "cached_ratio": t["cached"] / t["plain"],
            "live_ratio": t["live"] / t["plain"],
        }
    plain = statistics.median(r["plain_s"] for r in rows.values())

    print(f"plain student step ({s_name}:{s_size}, B={args.batch_size}, T={args.samples}): median {plain * 1e3:.1f} ms")
    print(f"{'method':<20}{'plain ms':>10}{'cached ms':>10}{'ratio':>8}{'live ms':>10}{'ratio':>8}")
    for method, r in rows.items():
        print(
            f"{method:<20}{r['plain_s'] * 1e3:>10.1f}{r['cached_s'] * 1e3:>10.1f}{r['cached_ratio']:>8.2f}"
            f"{r['live_s'] * 1e3:>10.1f}{r['live_ratio']:>8.2f}"
        )
    out = {
        "teacher": args.teacher,
        "student": args.student,
        "batch_size": args.batch_size,
        "samples": args.samples,
        "threads": args.threads,
        "repeats": args.repeats,
        **run_stamp(),
        "plain_student_step_s": plain,
        "methods": rows,
    }
    atomic_write_json(Path(args.out), out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
