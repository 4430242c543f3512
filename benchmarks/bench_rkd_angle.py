"""Micro-benchmark: RKD's angle loss, a boolean selection of the distinct triples against the masked sum.

RKD's angle term (Park et al. 2019) is the Huber loss between the student's and the teacher's
cosines over every triple of distinct records of a batch, ``B (B - 1) (B - 2)`` values. Selecting
them with a boolean index (``term:rkd`` version 1) costs a scatter of ``B^3`` entries in the
backward pass; ``term:rkd`` version 2 multiplies the per-triple loss by the mask and divides the sum
by the count, the same value. This times the forward and backward pass of both on penultimate
embeddings of the converged profile's batch, interleaved, median of ``--repeats``, one thread, and
checks that they agree. Writes ``results/bench_rkd_angle.json``.

    python benchmarks/bench_rkd_angle.py --batch-size 128 --repeats 21
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F

from bench_kd_step import interleaved_medians
from ecgkd_lite.bench.stamp import run_stamp
from ecgkd_lite.distill import build_term
from ecgkd_lite.distill.baselines.rkd import triplet_angles
from ecgkd_lite.utils import atomic_write_json


def selected_angle_loss(x_s: torch.Tensor, x_t: torch.Tensor) -> torch.Tensor:
    """The version-1 formulation: the distinct triples picked by a boolean index, then their mean."""
    n = x_s.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    distinct = off.unsqueeze(2) & off.unsqueeze(1) & off.unsqueeze(0)
    return F.smooth_l1_loss(triplet_angles(x_s)[distinct], triplet_angles(x_t)[distinct])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--student-width", type=int, default=96, help="cnn_transformer/tiny's penultimate width")
    parser.add_argument("--teacher-width", type=int, default=128, help="resnet1d/small's penultimate width")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default="results/bench_rkd_angle.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(0)
    x_s = torch.randn(args.batch_size, args.student_width, generator=g, requires_grad=True)
    x_t = torch.randn(args.batch_size, args.teacher_width, generator=g)
    term = build_term("rkd", distance_weight=0.0, angle_weight=1.0)

    def masked():
        term({"penultimate": x_s}, {"penultimate": x_t})["angle"].backward()

    def selected():
        selected_angle_loss(x_s, x_t).backward()

    with torch.no_grad():
        agree = abs(float(term({"penultimate": x_s}, {"penultimate": x_t})["angle"] - selected_angle_loss(x_s, x_t)))
    times = interleaved_medians({"selected_v1": selected, "masked_v2": masked}, args.repeats)
    result = {
        **run_stamp(),
        "batch_size": args.batch_size,
        "student_width": args.student_width,
        "teacher_width": args.teacher_width,
        "threads": args.threads,
        "repeats": args.repeats,
        "selected_v1_ms": round(times["selected_v1"] * 1e3, 2),
        "masked_v2_ms": round(times["masked_v2"] * 1e3, 2),
        "speedup": round(times["selected_v1"] / times["masked_v2"], 2),
        "abs_difference_of_the_losses": agree,
    }
    print(
        f"RKD angle loss, forward + backward, batch {args.batch_size}, {args.threads} thread: boolean selection "
        f"{result['selected_v1_ms']} ms, masked sum {result['masked_v2_ms']} ms ({result['speedup']}x); "
        f"|difference of the losses| = {agree:.2e}"
    )
    atomic_write_json(Path(args.out), result)


if __name__ == "__main__":
    main()
