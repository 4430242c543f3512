"""Parse a downloaded data set into the on-disk cache and print a summary.

    python data_scripts/prepare.py ptbxl data/ptb-xl --fs 100 --task superdiagnostic --verify
    python data_scripts/prepare.py challenge data/challenge2021/training --fs 500 --seconds 10

Later ``load_ptbxl`` / ``load_challenge`` calls with the same parameters read the cache.
"""

from __future__ import annotations

import argparse
import logging

from ecgkd_lite.data import load_challenge, load_ptbxl
from ecgkd_lite.data.ptbxl import TASKS


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", choices=["ptbxl", "challenge"])
    ap.add_argument("root", help="the downloaded root folder")
    ap.add_argument("--fs", type=int, default=None, help="sampling rate (default: 100 for ptbxl, 500 for challenge)")
    ap.add_argument("--task", choices=TASKS, default="superdiagnostic", help="ptbxl label task")
    ap.add_argument("--verify", action="store_true", help="ptbxl: check files against SHA256SUMS.txt")
    ap.add_argument("--seconds", type=float, default=10.0, help="challenge: crop/pad length")
    ap.add_argument("--on-bad", choices=["raise", "drop"], default="raise", help="NaN/flat leads")
    ap.add_argument("--dry-run", action="store_true", help="only say what would be parsed")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.dataset == "ptbxl":
        kwargs = dict(fs=args.fs or 100, task=args.task, verify=args.verify, on_bad=args.on_bad)
        reader = load_ptbxl
    else:
        kwargs = dict(fs=args.fs or 500, seconds=args.seconds, on_bad=args.on_bad)
        reader = load_challenge
    if args.dry_run:
        print(f"would parse {args.root} with {reader.__name__}({kwargs}) into the cache")
        return
    data = reader(args.root, **kwargs)
    print(data)
    print(data.summary().to_string())


if __name__ == "__main__":
    main()
