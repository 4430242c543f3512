"""Overhead of the training engine: ``fit`` versus a bare PyTorch loop doing the same work.

Both train the same small conv net (``build_model("cnn", in_leads=12)``) for ``--epochs`` epochs on
``--records`` random 12-lead records (10 s at 100 Hz) with random 2.5 s grid crops, batch 128,
AdamW + one-cycle, BCE-with-logits. The bare loop has no validation, history, progress or checks;
``fit`` validates on ``--val-records`` records per epoch (counted in its time, as users pay it).
Throughput = training crops per second (best of ``--repeats``, interleaved).

    python benchmarks/bench_fit_overhead.py            # ~1-2 min on a 2-core CPU
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from ecgkd_lite.data import ECGData
from ecgkd_lite.models import build_model
from ecgkd_lite.train import ECGDataset, fit
from ecgkd_lite.train.engine import epoch_batches
from ecgkd_lite.utils import seed_everything


def make_data(n: int, seed: int = 0) -> ECGData:
    rng = np.random.default_rng(seed)
    return ECGData(
        rng.normal(size=(n, 12, 1000)).astype(np.float32),
        (rng.random((n, 5)) < 0.3).astype(np.float32),
        tuple("ABCDE"),
        100,
        np.full(n, 1),
        [f"r{i}" for i in range(n)],
    )


def bare_loop(data: ECGData, epochs: int, batch_size: int) -> float:
    seed_everything(0)
    model = build_model("cnn", in_leads=12, n_classes=data.n_classes)
    dataset = ECGDataset(data, 250, train=True)
    steps = len(epoch_batches(len(data), batch_size, 0, 0, 2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=epochs * steps)
    model.train()
    t0 = time.perf_counter()
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        for items in epoch_batches(len(data), batch_size, 0, epoch, 2):
            batch = dataset.batch(items)
            loss = F.binary_cross_entropy_with_logits(model(batch["x"]), batch["y"])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
    return time.perf_counter() - t0


def engine(data: ECGData, val: ECGData, epochs: int, batch_size: int) -> float:
    seed_everything(0)
    model = build_model("cnn", in_leads=12, n_classes=data.n_classes)
    t0 = time.perf_counter()
    fit(model, data, val, epochs=epochs, batch_size=batch_size, progress=False, device="cpu")
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2048)
    parser.add_argument("--val-records", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    train, val = make_data(args.records), make_data(args.val_records, seed=1)
    engine(train.subset(slice(0, 256)), val, 1, args.batch_size)  # warm-up (imports, allocator)
    times = {"bare loop": [], "fit": []}
    for _ in range(args.repeats):
        times["bare loop"].append(bare_loop(train, args.epochs, args.batch_size))
        times["fit"].append(engine(train, val, args.epochs, args.batch_size))
    crops = args.records * args.epochs
    rate = {name: crops / min(t) for name, t in times.items()}
    for name, r in rate.items():
        print(f"{name:>9}: {r:8.0f} crops/s (best of {args.repeats}: {min(times[name]):.2f} s)")
    print(
        f"engine overhead: {100 * (rate['bare loop'] / rate['fit'] - 1):+.1f} % time "
        f"(incl. validation of {args.val_records} records per epoch)"
    )


if __name__ == "__main__":
    main()
