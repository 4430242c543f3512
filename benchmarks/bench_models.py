"""Efficiency table of every model and size: parameters, FLOPs, CPU training throughput, batch-1 latency.

Per model/size: parameters; FLOPs (2 x multiply-accumulates, ``ecgkd_lite.edge.count_flops``) of one
forward pass on (1, leads, 1000) and (1, leads, 250); training throughput in samples/s (batch 128,
T=250, ``--train-threads`` threads, one step = forward + BCE-with-logits (MSE for unet1d) +
backward + AdamW update); batch-1 latency (median ms, ``--latency-threads`` threads) at T=250 and
T=1000. Teachers take 12 leads, students and the restoration net 1.

The CPU may be shared with other jobs, and a 2-thread step slows down many times whenever another
process takes a core. Training is therefore timed in ``--rounds`` round-robin rounds over all
models (``--steps`` timed steps each, after 2 warm-up steps): ``train_sps_best`` is the fastest
round's median step (the best estimate of the uncontended speed), ``train_sps_median`` the median
over all timed steps, and the load average is recorded. Prints the table and writes
``results/bench_models.json``.

    python benchmarks/bench_models.py                         # ~3-5 min on a 2-core CPU
    python benchmarks/bench_models.py --rounds 1 --steps 3    # faster, noisier
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ecgkd_lite.edge import count_flops, count_parameters, measure_latency
from ecgkd_lite.models import build_model, list_models
from ecgkd_lite.utils import atomic_write_json, seed_everything
from ecgkd_lite.bench.stamp import run_stamp

TEACHERS = {"resnet1d", "patch_transformer"}
N_CLASSES = 15


class TrainingStep:
    """One AdamW training step of a model on a fixed random batch (BCE-with-logits, or MSE for a restoration net)."""

    def __init__(self, model: torch.nn.Module, leads: int, batch: int, length: int):
        generator = torch.Generator().manual_seed(0)
        self.model = model.train()
        self.x = torch.randn(batch, leads, length, generator=generator)
        restoration = model.n_classes is None
        self.target = (
            torch.randn(batch, model.out_leads, length, generator=generator)
            if restoration
            else (torch.rand(batch, N_CLASSES, generator=generator) < 0.2).float()
        )
        self.loss_fn = F.mse_loss if restoration else F.binary_cross_entropy_with_logits
        self.optimiser = torch.optim.AdamW(model.parameters(), lr=1e-3)

    def __call__(self) -> float:
        """Run one step; return its wall time in seconds."""
        start = time.perf_counter()
        self.optimiser.zero_grad(set_to_none=True)
        self.loss_fn(self.model(self.x), self.target).backward()
        self.optimiser.step()
        return time.perf_counter() - start


def training_throughput(
    steps: dict[str, TrainingStep], *, batch: int, rounds: int, n_steps: int, threads: int
) -> dict[str, dict[str, float]]:
    """``{name: {"best": samples/s of the fastest round's median step, "median": samples/s of the median step}}``.

    Rounds go round-robin over the models so that a burst of load from other jobs hits them alike;
    the thread count is restored afterwards.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    times: dict[str, list[list[float]]] = {name: [] for name in steps}
    try:
        for _ in tqdm(range(rounds), desc="training rounds"):
            for name, step in steps.items():
                for _ in range(2):
                    step()
                times[name].append([step() for _ in range(n_steps)])
    finally:
        torch.set_num_threads(previous)
    return {
        name: {
            "best": batch / min(statistics.median(r) for r in per_round),
            "median": batch / statistics.median([t for r in per_round for t in r]),
        }
        for name, per_round in times.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3, help="round-robin training rounds over all models")
    parser.add_argument("--steps", type=int, default=4, help="timed training steps per model and round")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-threads", type=int, default=2)
    parser.add_argument("--latency-threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=30, help="timed batch-1 forward passes per model and length")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "bench_models.json"
    )
    args = parser.parse_args()

    seed_everything(0, deterministic=False)
    models, rows = {}, {}
    for name, sizes in list_models().items():
        for size in sizes:
            leads = 12 if name in TEACHERS else 1
            model = build_model(name, size, in_leads=leads, n_classes=None if name == "unet1d" else N_CLASSES)
            key = f"{name}/{size}"
            models[key] = (model, leads)
            rows[key] = {
                "model": name,
                "size": size,
                "in_leads": leads,
                "params": count_parameters(model),
                "mflops_T1000": count_flops(model, (1, leads, 1000)) / 1e6,
                "mflops_T250": count_flops(model, (1, leads, 250)) / 1e6,
            }
    load_before = os.getloadavg()[0]
    steps = {key: TrainingStep(model, leads, args.batch_size, 250) for key, (model, leads) in models.items()}
    throughput = training_throughput(
        steps, batch=args.batch_size, rounds=args.rounds, n_steps=args.steps, threads=args.train_threads
    )
    for key, (model, leads) in tqdm(models.items(), desc="latency"):
        rows[key]["train_sps_best"] = throughput[key]["best"]
        rows[key]["train_sps_median"] = throughput[key]["median"]
        for length in (250, 1000):
            stats = measure_latency(model, (1, leads, length), threads=args.latency_threads, repeats=args.repeats)
            rows[key][f"latency_ms_T{length}"] = stats["median_ms"]
    table = pd.DataFrame(list(rows.values()))
    with pd.option_context("display.width", 220, "display.max_columns", 20):
        print(table.round(2).to_string(index=False))
    atomic_write_json(
        args.out,
        {
            "flops_unit": "FLOPs = 2 x multiply-accumulates (torch.utils.flop_counter), one forward pass, batch 1",
            "throughput": f"training samples/s, batch {args.batch_size}, T=250, {args.train_threads} threads, "
            f"forward+loss+backward+AdamW; best = fastest of {args.rounds} rounds' median step, "
            f"median = median of all {args.rounds * args.steps} timed steps",
            "latency": f"batch-1 eval forward under inference_mode, median ms, {args.latency_threads} thread(s), {args.repeats} repeats",
            "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
            **run_stamp(),
            "models": list(rows.values()),
        },
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
