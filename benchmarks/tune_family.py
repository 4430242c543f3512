"""The equal validation search of one method (a thin wrapper over ``ecgkd_lite/bench/tune.py``).

    python benchmarks/tune_family.py --family liteheart   # -> results/tune_liteheart_quick.json
    python benchmarks/tune_family.py --family evl_ecg     # -> results/tune_evl_ecg_quick.json

Same as ``ecgkd bench tune --methods <family>``: ``bench.tune.GRID_SIZE`` points (the method
table's default among them, and a weight at most 0.1x the default's), seed 0, the benchmark's
budget, chosen on the VALIDATION fold only (the test fold is never read). Every KD method, classic
or family, gets the same search: ``--family`` takes any of them (``bench.tune.tunable()``).
"""

from __future__ import annotations

import argparse

from ecgkd_lite.bench.stamp import run_stamp
from ecgkd_lite.bench.tune import tunable, tune


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, choices=list(tunable()), help="the method to tune")
    ap.add_argument("--profile", default="quick")
    ap.add_argument("--json", help="output (default results/tune_<family>_<profile>.json)")
    args = ap.parse_args()
    tune(args.family, args.profile, json_out=args.json, command=run_stamp()["command"])


if __name__ == "__main__":
    main()
