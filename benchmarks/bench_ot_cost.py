"""Benchmark: cost of the EVL-ECG optimal-transport term in a student training step.

Times one optimisation step (forward, backward, Adam update) of the Distiller with and without the
``ot`` term, the teacher's tokens read from a ``TeacherCache`` (the OT term needs no teacher
gradient), at the default token counts: patch-Transformer teacher 12 leads x 10 patches = 120
tokens, CNN+Transformer student 16 tokens, batch 128, 250-sample crops. Target: the OT term adds
<= 30 % to the step. Prints the ratio and writes ``results/bench_ot_cost.json``.

    python benchmarks/bench_ot_cost.py --batch-size 128 --repeats 5
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch

from bench_kd_step import distiller_step, interleaved_medians, random_data
from ecgkd_lite.distill import Distiller, Recipe, TeacherCache
from ecgkd_lite.distill import evl  # noqa: F401  (registers the "ot" term)
from ecgkd_lite.models import build_model
from ecgkd_lite.utils import atomic_write_json, seed_everything
from ecgkd_lite.bench.stamp import run_stamp

TARGET_RATIO = 1.30


def model_from_spec(spec: str, leads: int, n_classes: int) -> torch.nn.Module:
    """``"name:size"`` -> that registered model."""
    name, size = spec.split(":")
    return build_model(name, size, in_leads=leads, n_classes=n_classes)


def labeled_batch(data) -> dict:
    """The whole ``ECGData`` as one labeled batch keyed for the Distiller and its TeacherCache."""
    n = len(data)
    return {
        "x": torch.from_numpy(data.signals),
        "y": torch.from_numpy(data.labels),
        "index": torch.arange(n),
        "start": torch.zeros(n, dtype=torch.long),
        "labeled": torch.ones(n, dtype=torch.bool),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--teacher", default="patch_transformer:small")
    parser.add_argument("--student", default="cnn_transformer:tiny")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--samples", type=int, default=250, help="crop length in samples (2.5 s at 100 Hz)")
    parser.add_argument("--classes", type=int, default=15)
    parser.add_argument("--epsilon", type=float, default=0.05)
    parser.add_argument("--max-iter", type=int, default=300)
    parser.add_argument("--tol", type=float, default=None, help="Sinkhorn tolerance (default: the term's)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/bench_ot_cost.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seed_everything(0, deterministic=False)

    teacher = model_from_spec(args.teacher, 12, args.classes)
    student = model_from_spec(args.student, 1, args.classes)
    data = random_data(args.batch_size, args.samples, args.classes, seed=0)
    batch = labeled_batch(data)
    cache = TeacherCache(features=("tokens",)).precompute(
        teacher, data, args.samples, args.samples, batch_size=args.batch_size
    )
    ot_params = {"epsilon": args.epsilon, "max_iter": args.max_iter, **({} if args.tol is None else {"tol": args.tol})}
    ot_recipe = Recipe.from_config({"ot": ot_params})
    without = Distiller(teacher, copy.deepcopy(student), Recipe(), teacher_cache=cache).setup(batch)
    with_ot = Distiller(teacher, copy.deepcopy(student), ot_recipe, teacher_cache=cache).setup(batch)
    step_without, step_with = distiller_step(without), distiller_step(with_ot)
    times = interleaved_medians(
        {"without_ot": lambda: step_without(batch), "with_ot": lambda: step_with(batch)}, args.repeats
    )
    ratio = times["with_ot"] / times["without_ot"]

    term = with_ot.terms["ot"]
    n_s, n_t = term.last_plan.shape[1:]
    print(
        f"student step {args.student}, B={args.batch_size}, T={args.samples}, tokens student {n_s} / "
        f"teacher {n_t}, epsilon {args.epsilon}; last Sinkhorn run: {term.last_iterations} iterations, "
        f"marginal error {term.last_error:.2g}"
    )
    print(
        f"  without OT {times['without_ot'] * 1e3:.1f} ms   with OT {times['with_ot'] * 1e3:.1f} ms   "
        f"ratio {ratio:.2f} (target <= {TARGET_RATIO:.2f}: {'met' if ratio <= TARGET_RATIO else 'NOT met'})"
    )
    out = {
        "teacher": args.teacher,
        "student": args.student,
        "batch_size": args.batch_size,
        "samples": args.samples,
        "student_tokens": n_s,
        "teacher_tokens": n_t,
        "epsilon": args.epsilon,
        "max_iter": args.max_iter,
        "tol": term.tol,
        "sinkhorn_iterations": term.last_iterations,
        "sinkhorn_error": term.last_error,
        "threads": args.threads,
        "repeats": args.repeats,
        **run_stamp(),
        "step_without_ot_s": times["without_ot"],
        "step_with_ot_s": times["with_ot"],
        "ratio": ratio,
        "target_ratio": TARGET_RATIO,
        "target_met": ratio <= TARGET_RATIO,
    }
    atomic_write_json(Path(args.out), out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
