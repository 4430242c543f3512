"""Speed of the synthetic generator on ONE core: records per second for 10-s 12-lead records.

    .venv/bin/python benchmarks/bench_synthetic.py [--n 2000] [--repeats 3]

Sets the BLAS/OpenMP thread counts to 1 before numpy is imported, warms up, then times
``load_synthetic(n, fs, seconds=10)`` at 500 Hz and 100 Hz (best of ``--repeats``), prints records/s
and writes ``results/bench_synthetic.json``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from ecgkd_lite.data.synthetic import load_synthetic  # noqa: E402
from ecgkd_lite.bench.stamp import run_stamp


def time_once(n: int, fs: int, seconds: float) -> float:
    start = time.perf_counter()
    load_synthetic(n, fs=fs, seconds=seconds, seed=1)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default="results/bench_synthetic.json")
    args = ap.parse_args()
    seconds = 10.0
    load_synthetic(256, fs=500, seconds=seconds, seed=0)  # warm-up (imports, caches, page faults)
    runs = {}
    for fs in (500, 100):
        best = min(time_once(args.n, fs, seconds) for _ in range(args.repeats))
        runs[fs] = args.n / best
        print(f"{fs:4d} Hz: {runs[fs]:8.0f} records/s  ({args.n} records of {seconds:g} s, best of {args.repeats})")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    result = {
        "records_per_s": round(runs[500], 1),
        "records_per_s_100hz": round(runs[100], 1),
        "n": args.n,
        "fs": 500,
        "seconds": seconds,
        "threads": 1,
        "load_average_1min": load,
        **run_stamp(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
