"""The ``ecgkd`` command.

    ecgkd suite [--out reports] [--only 02 03] [--inplace]   execute the notebooks in order
    ecgkd notebooks build [--only 02] [--execute]            notebooks/src/*.py -> notebooks/*.ipynb
    ecgkd data summary [--source synthetic|ptbxl|challenge] [--root DIR]
    ecgkd bench quality --profile quick --seeds 3 --methods all --json OUT.json
    ecgkd pretrained export RUNS.txt                          ship the runs the notebooks used
    ecgkd export RUN --format onnx|torchscript [--int8] --out DIR [--restoration RUN]
                                                              a run -> deployable model + contract

An error of the package's own (``ecgkd_lite.errors.ECGKDError``: bad argument, bad record, ...) is
printed as one line on stderr with exit code 2; ``--debug`` (anywhere on the line) shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _cmd_suite(args) -> int:
    from .suite import run_suite

    timings = run_suite(Path(args.out), only=args.only, inplace=args.inplace)
    total = sum(s for _, s in timings)
    print(f"[suite] {len(timings)} notebooks in {total:.0f} s; figures in {Path(args.out) / 'figures'}")
    return 0


def _cmd_notebooks_build(args) -> int:
    from .suite import SOURCE_DIR, build_notebook, execute_notebook

    sources = sorted(SOURCE_DIR.glob("[0-9][0-9]_*.py"))
    if args.only:
        sources = [s for s in sources if any(s.name.startswith(o) for o in args.only)]
    targets = [build_notebook(src) for src in sources]  # all written first: a notebook may list the others
    print("built " + ", ".join(t.name for t in targets))
    if args.execute:
        for target in targets:
            _, seconds = execute_notebook(target)
            print(f"executed {target.name} in {seconds:.0f} s")
    return 0


def _cmd_data_summary(args) -> int:
    from . import data
    from .errors import ConfigError

    if args.source != "synthetic" and not args.root:
        raise ConfigError(f"--source {args.source} needs --root DIR (the folder of the {args.source} data)")
    if args.source == "synthetic":
        d = data.load_synthetic(args.n, fs=args.fs, seed=args.seed)
    elif args.source == "ptbxl":
        d = data.load_ptbxl(args.root, fs=args.fs)
    else:
        d = data.load_challenge(args.root, fs=args.fs)
    print(d)
    print(d.summary().to_string())
    return 0


def _cmd_pretrained_export(args) -> int:
    from .config import cache_dir
    from .train.pretrained import PRETRAINED_DIR, export_pretrained, read_run_log

    names = [name for name, _ in read_run_log(args.runs)]
    written, skipped = export_pretrained(names, cache_dir("models"), args.dest or PRETRAINED_DIR)
    size = sum(f.stat().st_size for d in written for f in d.iterdir())
    print(f"shipped {len(written)} runs ({size / 2**20:.1f} MiB) to {args.dest or PRETRAINED_DIR}")
    for name in skipped:
        print(f"not shipped (best.pt over 5 MiB; it retrains when needed): {name}")
    return 0


def _cmd_export(args) -> int:
    from . import experiment
    from .edge.export import FORMATS, deploy_run, load_run
    from .errors import ConfigError

    if args.format not in FORMATS:  # checked before the data are prepared
        raise ConfigError(f"--format {args.format!r} is not supported; choose one of {list(FORMATS)}")
    load_run(args.run)  # a run folder without a model fails here, before the data are prepared
    if args.restoration:
        load_run(args.restoration)
    prep = experiment.prepare(
        args.source, profile=args.profile, root=args.root, seed=args.seed, n_records=args.n_records
    )
    result = deploy_run(
        args.run,
        args.out,
        prep,
        format=args.format,
        int8=args.int8,
        restoration=args.restoration,
        check_data=not args.no_data_check,
        n_boot=args.n_boot,
    )
    for kind in ("fp32", "int8"):
        res = result[kind]
        if res is not None:
            versus = "PyTorch" if kind == "fp32" else "the quantised PyTorch module"
            parity = "" if res.parity != res.parity else f", max |output diff| vs {versus} {res.parity:.2e}"
            print(f"{kind}: {res.path} ({res.size_bytes / 1024:.1f} KiB{parity}); contract {res.contract_path}")
    for metric, row in (result["evaluation"] or {}).items():
        if isinstance(row, dict):
            low, high = row["delta_ci95"]
            print(
                f"test {metric}: fp32 {row['reference']:.4f}, int8 {row['candidate']:.4f}, change "
                f"{row['delta']:+.4f} (paired bootstrap 95 % [{low:+.4f}, {high:+.4f}])"
            )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="ecgkd", description="ecgkd-lite: 12-lead -> 1-lead ECG distillation suite")
    p.add_argument(
        "--debug", action="store_true", help="show the traceback of an ecgkd error (also accepted after the command)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("suite", help="execute the numbered notebooks in order into reports/")
    s.add_argument("--out", default="reports")
    s.add_argument("--only", nargs="*", help="notebook prefixes, e.g. 02 03")
    s.add_argument("--inplace", action="store_true", help="store outputs in notebooks/ (refresh for nbval)")
    s.set_defaults(func=_cmd_suite)

    nb = sub.add_parser("notebooks", help="build notebooks from notebooks/src")
    nbs = nb.add_subparsers(dest="nb_command", required=True)
    b = nbs.add_parser("build")
    b.add_argument("--only", nargs="*")
    b.add_argument("--execute", action="store_true")
    b.set_defaults(func=_cmd_notebooks_build)

    d = sub.add_parser("data", help="data set facts")
    ds = d.add_subparsers(dest="data_command", required=True)
    sm = ds.add_parser("summary")
    sm.add_argument("--source", choices=["synthetic", "ptbxl", "challenge"], default="synthetic")
    sm.add_argument("--root")
    sm.add_argument("--fs", type=int, default=100)
    sm.add_argument("--n", type=int, default=1000)
    sm.add_argument("--seed", type=int, default=0)
    sm.set_defaults(func=_cmd_data_summary)

    pt = sub.add_parser("pretrained", help="weights shipped for the notebooks")
    pts = pt.add_subparsers(dest="pt_command", required=True)
    ex = pts.add_parser(
        "export",
        help="copy the runs listed in a file (one run folder name per line, as "
        "ECGKD_RUN_LOG writes them) from the cache to pretrained/",
    )
    ex.add_argument("runs")
    ex.add_argument("--dest")
    ex.set_defaults(func=_cmd_pretrained_export)

    e = sub.add_parser(
        "export",
        help="export a run folder (best.pt + best.pt.json) to ONNX or TorchScript, with its preprocessing contract",
    )
    e.add_argument("run", help="run folder holding best.pt and best.pt.json")
    e.add_argument("--format", required=True, help="onnx or torchscript")
    e.add_argument(
        "--int8",
        action="store_true",
        help="also an int8 model (ONNX: static, calibrated on the training folds; TorchScript: dynamic Linear)",
    )
    e.add_argument("--out", required=True, help="output folder")
    e.add_argument("--restoration", help="a restoration-net run folder: export restoration + RUN as one graph")
    e.add_argument("--source", default="synthetic", help="the data the run was trained on (scaler, thresholds)")
    e.add_argument("--root", help="data folder for --source ptbxl")
    e.add_argument("--profile", help="quick or full (default: $ECGKD_PROFILE, else quick)")
    e.add_argument("--n-records", type=int, default=None, help="synthetic records (default: the profile's)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the int8 accuracy change")
    e.add_argument("--no-data-check", action="store_true", help="skip the check that the run was trained on this data")
    e.set_defaults(func=_cmd_export)

    from .bench.cli import add_bench_parser

    add_bench_parser(sub)
    return p


#: integer options (argparse dest -> smallest value) checked before any command runs: a negative
#: ``--seed`` would fail later in numpy with an untyped ValueError, a zero count after loading data
_INT_OPTIONS = {"seed": 0, "n": 1, "fs": 1, "n_records": 1, "n_boot": 1, "seeds": 1}


def _check_int_options(args) -> None:
    """ConfigError naming the option for an integer option below its smallest value."""
    from .checks import check_int

    for dest, low in _INT_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is not None:
            check_int("--" + dest.replace("_", "-"), value, low=low)


def main(argv: list[str] | None = None) -> int:
    from .errors import ECGKDError

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    try:
        _check_int_options(args)
        return args.func(args)
    except ECGKDError as err:
        if debug:
            raise
        message = " ".join(str(err).split())
        print(f"ecgkd: {type(err).__name__}: {message} (--debug shows the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
