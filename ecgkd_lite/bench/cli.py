"""``ecgkd bench quality ...``: argument parsing for the benchmark runners."""

from __future__ import annotations

import argparse
import sys


def _cmd_quality(args) -> int:
    from ..errors import ConfigError
    from .quality import markdown_table, run_quality

    for source, root, flags in (
        (args.data, args.root, f"--data {args.data} needs --root"),
        (args.eval_data, args.eval_root, "--eval-data ptbxl needs --eval-root"),
    ):
        if source in ("ptbxl", "ptbxl2k") and not root:
            raise ConfigError(f"{flags} DIR (the data folder); checked before anything is trained")
    if args.data == "ptbxl2k" or args.profile == "converged":
        return _cmd_quality_cv(args)
    if args.shard or args.report_only or args.every_seed or args.hetero_teacher or args.generator != "v1":
        raise ConfigError(
            "--shard, --every-seed, --report-only, --hetero-teacher and --generator belong to the converged benchmark "
            "(--data ptbxl2k or --profile converged)"
        )
    result = run_quality(
        profile=args.profile,
        seeds=args.seeds,
        methods=args.methods,
        data=args.data,
        root=args.root,
        student_size=args.student_size,
        eval_data=args.eval_data,
        eval_root=args.eval_root,
        json_out=args.json,
        label_ratio=args.label_ratio,
        teacher=args.teacher,
        argv=sys.argv[1:],
        scenario=args.scenario,
        tuned=args.tuned,
    )
    print()
    print(markdown_table(result))
    if "external" in result:
        ext = result["external"]
        print(f"\nexternal validation on {ext['data']} ({ext['n_records']} records, classes {ext['classes']}):")
        print(f"  teacher macro AUC {ext['teacher']['macro_auc']:.4f}")
        for name, r in ext["methods"].items():
            print(f"  {name:<20} macro AUC {r['macro_auc_mean']:.4f} ± {r['macro_auc_std']:.4f}")
    return 0


def _cmd_quality_cv(args) -> int:
    from ..errors import ConfigError
    from .cv import markdown, run_quality_cv

    data = ("synthetic" if args.generator == "v1" else "synthetic_v2") if args.profile == "converged" else "ptbxl2k"
    if args.profile == "converged" and args.data != "synthetic":
        raise ConfigError(
            f"--profile converged is the synthetic converged benchmark; --data {args.data} does not apply"
        )
    if args.generator == "v2" and (args.profile != "converged" or args.hetero_teacher):
        raise ConfigError(
            "--generator v2 runs the converged synthetic benchmark on generator v2 data: it needs --profile "
            "converged, and --hetero-teacher (the printout teacher, run on the v1 split) does not apply"
        )
    if args.eval_data or args.teacher or (args.profile and data == "ptbxl2k"):
        raise ConfigError(
            f"the converged benchmark (--data {data}) runs with its own profile and the default "
            "teacher; --eval-data, --teacher and --profile do not apply (LUDB: benchmarks/ludb_external.py)"
        )
    result = run_quality_cv(
        root=args.root,
        data=data,
        methods=args.methods,
        seeds=args.seeds,
        k=args.folds,
        label_ratio=args.label_ratio,
        scenario=args.scenario,
        student_size=args.student_size,
        shard=args.shard,
        every_seed=args.every_seed,
        report_only=args.report_only,
        json_out=args.json,
        n_boot=args.n_boot,
        argv=sys.argv[1:],
        tuned=args.tuned,
        hetero_teacher=args.hetero_teacher,
    )
    if result is not None:
        print()
        print(markdown(result))
    return 0


def _cmd_tune(args) -> int:
    from ..errors import ConfigError
    from .tune import resolve, tune

    names = resolve(args.methods)
    if args.json and len(names) > 1:
        raise ConfigError(f"--json names one output file; --methods gives {len(names)} methods")
    if args.data == "ptbxl" and not args.root:
        raise ConfigError("--data ptbxl needs --root DIR (the data folder)")
    prep, data, search = None, args.data, None
    if args.generator != "v1" and args.profile != "converged":
        raise ConfigError(f"--generator {args.generator} tunes on the converged split: it needs --profile converged")
    if args.profile == "converged":  # the converged benchmark's own split (bench/cv.py)
        from .cv import SEARCHES, converged_prep

        if args.data != "synthetic":
            raise ConfigError(
                f"--profile converged tunes on the synthetic benchmark's split; --data {args.data} does not apply"
            )
        data = "synthetic" if args.generator == "v1" else "synthetic_v2"
        prep, search = converged_prep(data), SEARCHES[data]
    points = None
    if args.points:
        if len(names) > 1:
            raise ConfigError(f"--points names grid points of one method; --methods gives {len(names)} methods")
        try:
            points = [int(p) for p in args.points.split(",")]
        except ValueError:
            raise ConfigError(
                f"--points must be comma-separated grid indices (e.g. 3,4,5); got {args.points!r}"
            ) from None
    for name in names:
        tune(name, args.profile, data, root=args.root, json_out=args.json, prep=prep, search=search, points=points)
    return 0


def add_bench_parser(sub: argparse._SubParsersAction) -> None:
    bench = sub.add_parser("bench", help="benchmark runners")
    bs = bench.add_subparsers(dest="bench_command", required=True)
    q = bs.add_parser("quality", help="teacher, 1-lead baseline and every KD method with identical budgets")
    q.add_argument(
        "--profile",
        default=None,
        help="quick (default), full, or converged (the synthetic benchmark with early stopping, 5,000 test records)",
    )
    q.add_argument("--seeds", type=int, default=3)
    q.add_argument("--methods", default="all", help="'all', 'baselines', 'families' or a comma-separated list")
    q.add_argument(
        "--data",
        choices=["synthetic", "ptbxl", "ptbxl2k"],
        default="synthetic",
        help="ptbxl2k: the cross-validated real benchmark (bench/cv.py)",
    )
    q.add_argument("--root", help="data folder for --data ptbxl / ptbxl2k")
    q.add_argument(
        "--folds",
        type=int,
        default=5,
        help="cross-validation folds (--data ptbxl2k; the converged synthetic benchmark has one split)",
    )
    q.add_argument("--shard", help="i/n: run this process's share of the parts (--data ptbxl2k, --profile converged)")
    q.add_argument(
        "--every-seed",
        action="store_true",
        help="train every method at every seed (default: every method at seed 0, the main ones at every seed)",
    )
    q.add_argument(
        "--report-only",
        action="store_true",
        help="write the JSON from the finished parts (--data ptbxl2k, --profile converged)",
    )
    q.add_argument(
        "--n-boot", type=int, default=1000, help="paired bootstrap resamples (--data ptbxl2k, --profile converged)"
    )
    q.add_argument("--student-size", default="tiny", choices=["tiny", "small", "base"])
    q.add_argument("--eval-data", choices=["synthetic", "ptbxl"], help="second data set for external validation")
    q.add_argument("--eval-root", help="folder of the second data set")
    q.add_argument(
        "--label-ratio",
        type=float,
        default=1.0,
        help="share of training records whose labels the students see (0 < r <= 1; default 1)",
    )
    q.add_argument(
        "--scenario",
        choices=["a", "b"],
        help="semi-supervised scenario (bench/semi.py): a = few labels everywhere (the default at "
        "--label-ratio < 1), b = labeled 12-lead archive + disjoint unlabeled wearable pool",
    )
    q.add_argument("--teacher", help="teacher as arch/size (default resnet1d/small)")
    q.add_argument("--json", help="write the result JSON here")
    q.add_argument(
        "--tuned",
        action="store_true",
        help="run each KD method's config chosen on validation (results/tune_<method>_<profile>.json, `ecgkd bench tune`)",
    )
    q.add_argument(
        "--hetero-teacher",
        choices=["printout"],
        help="converged benchmark: add EVL-ECG distilled from this other 12-lead teacher (printout: a CNN on the "
        "rendered ECG image, bench/cv.py TEACHERS) and that teacher's own row",
    )
    q.add_argument(
        "--generator",
        choices=["v1", "v2"],
        default="v1",
        help="converged benchmark: the synthetic generator (v2: label noise, graded lead-I visibility, "
        "co-occurrence; data/synthetic_v2.py); results/bench_quality_converged_v2.json",
    )
    q.set_defaults(func=_cmd_quality)
    t = bs.add_parser("tune", help="the equal validation search of every KD method (bench/tune.py), seed 0")
    t.add_argument("--methods", default="all", help="'all' (every headline KD method) or a comma-separated list")
    t.add_argument(
        "--profile",
        default="quick",
        help="quick (default), full, or converged (the converged synthetic benchmark's split and early-stopping rule)",
    )
    t.add_argument("--data", choices=["synthetic", "ptbxl"], default="synthetic")
    t.add_argument("--root", help="data folder for --data ptbxl")
    t.add_argument(
        "--generator",
        choices=["v1", "v2"],
        default="v1",
        help="--profile converged: the synthetic generator of the split (v2: results/tune_<method>_converged_v2.json)",
    )
    t.add_argument(
        "--points",
        help="one method: train only these grid indices (e.g. 3,4,5), so two processes can share its search; "
        "the result is written by the run that finds every point done",
    )
    t.add_argument("--json", help="output for a single method (default results/tune_<method>_<profile>.json)")
    t.set_defaults(func=_cmd_tune)
