"""Edge efficiency table: every deployment route of the teacher, the students and restoration + student.

Models (``bench.report.efficiency_lineup`` on one 2.5 s window at 100 Hz, i.e. input (1, leads, 250)):
the 12-lead teacher (resnet1d/small), the 1-lead students (cnn_transformer tiny / small / base) and
restoration + student (unet1d/tiny feeding a 12-lead tiny student, one graph).

**Efficiency part (random weights).** Parameters, FLOPs and latency do not depend on the weights, so
these models are freshly built (seed 0). Per model and route: file size, batch-1 latency on ONE
thread (median and p90 of ``--repeats`` calls after ``--warmup``), and peak memory. Routes:

* ``eager``: PyTorch eager under ``inference_mode`` (file: the ``state_dict`` saved with ``torch.save``);
* ``torchscript``: ``torch.jit.trace`` file (``edge.export_model``);
* ``ort_fp32``: ONNX Runtime, CPUExecutionProvider, the exported fp32 ONNX file (opset 17);
* ``ort_int8``: ONNX Runtime on the static int8 QDQ file (``edge.quantize_onnx_int8``, calibrated on
  512 windows of the training folds of the synthetic data, ``--generator``: v2 by default, the notebooks' data);
* ``torch_dynamic_int8``: eager PyTorch with dynamically quantised Linear layers (file: its TorchScript).

Each route is measured in a **fresh subprocess** (one thread: ``OMP_NUM_THREADS=1``,
``torch.set_num_threads(1)``, ORT ``intra_op_num_threads=1``): the ORT routes import onnxruntime
and numpy only, as a device would. **Peak memory** = the subprocess's peak resident set size
(``VmHWM`` in /proc/self/status, Linux) after loading the model and running every timed call, minus
its resident set size just before loading (``psutil``); i.e. what loading + running added.
``os.getloadavg()`` is recorded around every route, since the machine may be shared.

**Accuracy part (trained models; ``--accuracy tiny,small,base``).** The cached baseline students of
the quick profile (``experiment.train_student``; trained when absent): fp32 parity of ONNX Runtime
and TorchScript against PyTorch on every test window (max absolute logit difference), test macro
AUC / F1 of fp32, ORT int8 and torch dynamic int8 with the change's PAIRED bootstrap 95 % interval
(``edge.compare_routes``; each model's thresholds tuned on validation), and int8 file sizes. The
accuracy change is scored on the converged split's **5,000 test records** (``bench.cv.fresh_test_prep``:
the same first 6,000 records, the same folds 1-8 / 9 and the same scaler as the quick data, so the
students never saw them), not on the quick test fold's 600, whose interval of a change of a few
thousandths is as wide as the change (``--accuracy-test quick`` for the old set).

Writes ``results/bench_edge.json`` and prints markdown tables.

    OMP_NUM_THREADS=1 python benchmarks/bench_edge.py                       # ~3 min, tiny student accuracy
    OMP_NUM_THREADS=1 python benchmarks/bench_edge.py --accuracy tiny,small,base --repeats 300
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROUTES = ("eager", "torchscript", "ort_fp32", "ort_int8", "torch_dynamic_int8")
WINDOW_SECONDS, FS = 2.5, 100.0
#: LiteHeart (Zhou et al., arXiv 2511.02851), Fig. 4 caption
LITEHEART_PARAMS_M = {
    "student tiny": 0.26,
    "student small": 1.01,
    "student base": 1.60,
    "restoration tiny": 0.36,
    "restoration small": 1.43,
    "restoration base": 5.71,
}
OURS_FOR_LITEHEART = {
    "baseline/tiny": "student tiny",
    "baseline/small": "student small",
    "baseline/base": "student base",
}  # our lineup key -> the paper's label


# ------------------------------------------------------------------------------------------ worker
def _time_calls(call, warmup: int, repeats: int) -> dict:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))],
        "min_ms": times[0],
    }


def peak_rss_bytes(resource) -> int:
    """This process's peak resident set size: ``VmHWM`` of /proc/self/status (the high-water mark of
    this process image; ``ru_maxrss`` would also carry the parent's peak across fork + exec on Linux),
    else ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(route: str, path: str, key: str, shape: tuple[int, ...], warmup: int, repeats: int) -> dict:
    """Load one route's model in this (fresh) process, time batch-1 calls, report peak memory."""
    import resource

    import numpy as np
    import psutil

    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    if route.startswith("ort"):
        import onnxruntime as ort

        rss0 = psutil.Process().memory_info().rss
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
        options.log_severity_level = 3
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        stats = _time_calls(lambda: session.run(None, {name: x}), warmup, repeats)
    else:
        import torch

        torch.set_num_threads(1)
        xt = torch.from_numpy(x)
        if route == "torchscript":
            rss0 = psutil.Process().memory_info().rss
            model = torch.jit.load(path).eval()
        else:
            from ecgkd_lite.bench.report import efficiency_lineup
            from ecgkd_lite.edge import quantize_dynamic_linear

            model = efficiency_lineup(seconds=WINDOW_SECONDS, fs=FS)[key][0]
            rss0 = psutil.Process().memory_info().rss
            model.load_state_dict(torch.load(path, weights_only=True))
            model.eval()
            if route == "torch_dynamic_int8":
                model = quantize_dynamic_linear(model)

        def call():
            with torch.inference_mode():
                model(xt)

        stats = _time_calls(call, warmup, repeats)
    peak = peak_rss_bytes(resource)
    return {
        **stats,
        "rss_before_load_mb": rss0 / 2**20,
        "peak_rss_mb": peak / 2**20,
        "peak_delta_mb": max(0.0, (peak - rss0) / 2**20),
    }


def run_worker(route: str, path: Path, key: str, shape: tuple[int, ...], warmup: int, repeats: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "ECGKD_PROGRESS": "0"}
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        route,
        str(path),
        "--key",
        key,
        "--shape",
        ",".join(map(str, shape)),
        "--warmup",
        str(warmup),
        "--repeats",
        str(repeats),
    ]
    load = os.getloadavg()[0]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{route} worker for {key} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {**result, "load_avg_1min": [load, os.getloadavg()[0]]}


# ------------------------------------------------------------------------------------------ parts
def efficiency(prep, work: Path, warmup: int, repeats: int) -> list[dict]:
    import torch

    from ecgkd_lite.bench.report import efficiency_lineup
    from ecgkd_lite.edge import (
        count_flops,
        count_parameters,
        export_model,
        quantize_dynamic_linear,
        quantize_onnx_int8,
    )
    from ecgkd_lite.edge.export import INT8_TRACE_TOLERANCE, build_contract, quiet
    from ecgkd_lite.edge.quantize import WindowCalibrationReader

    torch.manual_seed(0)
    lineup = efficiency_lineup(n_classes=prep.n_classes, seconds=WINDOW_SECONDS, fs=FS)
    rows = []
    for key, (model, shape) in lineup.items():
        model.eval()
        window, leads = shape[-1], (["I"] if shape[1] == 1 else list(prep.train.leads))
        contract = build_contract(
            model,
            fs=FS,
            input_leads=leads,
            scaler=prep.scaler,
            scaler_leads=prep.train.leads,
            window_samples=window,
            classes=prep.classes,
            thresholds=[0.5] * prep.n_classes,
        )
        stem = key.replace("/", "_").replace("+", "_")
        files = {"eager": work / f"{stem}.state.pt"}
        torch.save(model.state_dict(), files["eager"])
        onnx = export_model(model, work, contract=contract, name=stem)
        files["ort_fp32"] = onnx.path
        files["torchscript"] = export_model(model, work, contract=contract, format="torchscript", name=stem).path
        reader = WindowCalibrationReader(prep.train, input_leads=leads, window=window, stride=window // 2)
        files["ort_int8"] = quantize_onnx_int8(onnx.path, work / f"{stem}.int8.onnx", reader)
        with quiet():
            files["torch_dynamic_int8"] = export_model(
                quantize_dynamic_linear(model),
                work,
                contract=contract,
                format="torchscript",
                name=f"{stem}.dyn8",
                tolerance=INT8_TRACE_TOLERANCE,
            ).path
        row = {
            "model": key,
            "input_shape": list(shape),
            "params": count_parameters(model),
            "mflops": count_flops(model, shape) / 1e6,
            "routes": {},
        }
        for route in ROUTES:
            source = files["eager"] if route == "torch_dynamic_int8" else files[route]  # quantised in the worker
            measured = run_worker(route, source, key, shape, warmup, repeats)
            row["routes"][route] = {"file_bytes": files[route].stat().st_size, **measured}
            print(
                f"  {key:<26} {route:<19} {measured['median_ms']:7.3f} ms  "
                f"{files[route].stat().st_size / 1024:8.1f} KiB  +{measured['peak_delta_mb']:.1f} MiB",
                flush=True,
            )
        rows.append(row)
    return rows


def accuracy_prep(prep, which: str):
    """The data the int8 accuracy change is scored on: ``"quick"``, the quick test fold (``prep``
    itself); ``"converged"``, the converged split's 5,000 new test records (``bench.cv.fresh_test_prep``)."""
    from ecgkd_lite.bench import cv
    from ecgkd_lite.errors import ConfigError

    if which == "quick":
        return prep
    if which != "converged":
        raise ConfigError(f"--accuracy-test={which!r} is unknown; choose 'converged' or 'quick'")
    return cv.fresh_test_prep(prep)


def accuracy(prep, sizes: list[str], work: Path, n_boot: int, scored=None) -> dict:
    """Per student size: parity on ``prep``'s test windows, int8 accuracy change on ``scored``'s test
    records (default ``prep``; ``accuracy_prep``)."""
    import numpy as np

    from ecgkd_lite import experiment
    from ecgkd_lite.edge import (
        ExportedModule,
        compare_routes,
        export_model,
        quantize_dynamic_linear,
        quantize_onnx_int8,
    )
    from ecgkd_lite.edge.export import build_contract, max_abs_diff
    from ecgkd_lite.edge.quantize import WindowCalibrationReader
    from ecgkd_lite.train.datasets import window_starts

    scored = prep if scored is None else scored
    out = {}
    window = round(prep.profile.crop_seconds * prep.fs)
    starts = window_starts(prep.test.n_samples, window, window // 2)
    test_windows = np.concatenate([prep.test.signals[:, :1, s : s + window] for s in starts])  # every test window
    for size in sizes:
        fit = experiment.train_student(prep, "baseline", size=size)
        model = fit.model.eval()
        thresholds = experiment.evaluate_model(model, prep)["thresholds"]
        contract = build_contract(
            model,
            fs=prep.fs,
            input_leads=["I"],
            scaler=prep.scaler,
            scaler_leads=prep.train.leads,
            window_samples=window,
            classes=prep.classes,
            thresholds=thresholds,
            run=fit.checkpoint.parent.name if fit.checkpoint else None,
        )
        onnx = export_model(model, work, contract=contract, name=f"trained_{size}")
        script = export_model(model, work, contract=contract, format="torchscript", name=f"trained_{size}")
        reader = WindowCalibrationReader(prep.train, input_leads=["I"], window=window, stride=window // 2)
        int8 = quantize_onnx_int8(onnx.path, work / f"trained_{size}.int8.onnx", reader)
        entry = {
            "run": contract["run"],
            "test_windows": len(test_windows),
            "parity_max_abs_logit_diff": {
                "ort_fp32": max_abs_diff(model, onnx.path, test_windows),
                "torchscript": max_abs_diff(model, script.path, test_windows),
            },
            "file_bytes": {"ort_fp32": onnx.size_bytes, "ort_int8": int8.stat().st_size},
        }
        routes = {"ort_int8": ExportedModule.load(int8), "torch_dynamic_int8": quantize_dynamic_linear(model)}
        for route, report in compare_routes(scored, model, routes, input_leads=["I"], n_boot=n_boot).items():
            entry[route] = {m: report[m] for m in ("macro_auc", "macro_f1")}
        entry["n_test"], entry["n_boot"] = len(scored.test), n_boot
        out[f"baseline/{size}"] = entry
        auc = entry["ort_int8"]["macro_auc"]
        print(
            f"  {size}: parity {entry['parity_max_abs_logit_diff']}, ORT int8 macro AUC change {auc['delta']:+.4f} "
            f"[{auc['delta_ci95'][0]:+.4f}, {auc['delta_ci95'][1]:+.4f}]",
            flush=True,
        )
    return out


def ours_params(rows: list[dict]) -> dict:
    """Our parameter counts (millions) under the paper's labels."""
    from ecgkd_lite.edge import count_parameters
    from ecgkd_lite.models import build_model

    ours = {
        paper: next(r["params"] for r in rows if r["model"] == key) / 1e6 for key, paper in OURS_FOR_LITEHEART.items()
    }
    for size in ("tiny", "small", "base"):
        ours[f"restoration {size}"] = count_parameters(build_model("unet1d", size, in_leads=1)) / 1e6
    return ours


def markdown(rows: list[dict], acc: dict) -> str:
    lines = [
        "| model | params | MFLOPs | route | file KiB | median ms | p90 ms | peak +MiB |",
        "|---|---:|---:|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        for route, r in row["routes"].items():
            lines.append(
                f"| {row['model']} | {row['params']:,} | {row['mflops']:.1f} | {route} | "
                f"{r['file_bytes'] / 1024:.1f} | {r['median_ms']:.3f} | {r['p90_ms']:.3f} | "
                f"{r['peak_delta_mb']:.1f} |"
            )
    if acc:
        lines += [
            "",
            (
                "| student | parity ORT / TS | route | macro AUC fp32 -> int8 (change, paired 95 % CI) | "
                "macro F1 fp32 -> int8 (change, paired 95 % CI) |"
            ),
            "|---|---|---|---|---|",
        ]
        for name, e in acc.items():
            parity = e["parity_max_abs_logit_diff"]
            for route in ("ort_int8", "torch_dynamic_int8"):
                cells = []
                for m in ("macro_auc", "macro_f1"):
                    r = e[route][m]
                    cells.append(
                        f"{r['reference']:.4f} -> {r['candidate']:.4f} ({r['delta']:+.4f}, "
                        f"[{r['delta_ci95'][0]:+.4f}, {r['delta_ci95'][1]:+.4f}])"
                    )
                lines.append(
                    f"| {name} | {parity['ort_fp32']:.1e} / {parity['torchscript']:.1e} | {route} | "
                    f"{cells[0]} | {cells[1]} |"
                )
    return "\n".join(lines)


def liteheart_table(ours: dict) -> str:
    """Parameters (millions): LiteHeart's paper beside ours."""
    lines = ["| model | LiteHeart paper (M params) | ours (M params) |", "|---|---:|---:|"]
    lines += [f"| {k} | {v:.2f} | {ours[k]:.2f} |" for k, v in LITEHEART_PARAMS_M.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=200, help="timed batch-1 calls per model and route")
    parser.add_argument(
        "--accuracy",
        default="tiny",
        help="comma-separated student sizes to evaluate trained (fp32 vs int8); '' for none",
    )
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument(
        "--accuracy-test",
        default="converged",
        choices=("converged", "quick"),
        help="records the int8 accuracy change is scored on: the converged split's 5,000 new test records "
        "(default) or the quick test fold's 600",
    )
    parser.add_argument(
        "--generator",
        default=None,
        help="synthetic generator of the calibration and accuracy data (v1 or v2; default $ECGKD_GENERATOR, else v2)",
    )
    parser.add_argument("--out", type=Path, default=REPO / "results" / "bench_edge.json")
    parser.add_argument("--worker", nargs=2, metavar=("ROUTE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        shape = tuple(int(s) for s in args.shape.split(","))
        print(json.dumps(worker(args.worker[0], args.worker[1], args.key, shape, args.warmup, args.repeats)))
        return

    import onnxruntime
    import torch

    from ecgkd_lite import experiment
    from ecgkd_lite.bench.stamp import run_stamp
    from ecgkd_lite.config import notebook_source
    from ecgkd_lite.utils import atomic_write_json

    source = notebook_source(args.generator)  # a bad --generator fails before any work
    torch.set_num_threads(1)
    started, load_before = time.time(), os.getloadavg()
    prep = experiment.prepare(source)
    sizes = [s for s in args.accuracy.split(",") if s]
    with tempfile.TemporaryDirectory() as tmp:
        print("efficiency (random weights):", flush=True)
        rows = efficiency(prep, Path(tmp), args.warmup, args.repeats)
        print("accuracy (trained students):", flush=True)
        scored = accuracy_prep(prep, args.accuracy_test) if sizes else None
        acc = accuracy(prep, sizes, Path(tmp), args.n_boot, scored) if sizes else {}
    tiny = next(r for r in rows if r["model"] == "baseline/tiny")["routes"]["ort_int8"]
    result = {
        **run_stamp("OMP_NUM_THREADS=1 python benchmarks/bench_edge.py " + " ".join(sys.argv[1:])),
        "onnxruntime": onnxruntime.__version__,
        "data": {
            "source": source,
            "profile": prep.profile.name,
            "accuracy_test": args.accuracy_test,
            "accuracy_n_test": len(scored.test) if sizes else None,
        },
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "input": f"batch 1, one {WINDOW_SECONDS} s window at {FS:g} Hz: (1, leads, {int(WINDOW_SECONDS * FS)})",
        "weights": "efficiency part: random weights (seed 0; size, FLOPs and latency do not depend on them); "
        "accuracy part: the trained quick-profile baseline students",
        "latency": f"one thread, median / p90 of {args.repeats} calls after {args.warmup} warm-up calls, each route "
        "in a fresh subprocess",
        "peak_memory": "peak RSS (VmHWM of /proc/self/status) after loading and running minus RSS just before "
        "loading, in that subprocess",
        "flops_unit": "FLOPs = 2 x multiply-accumulates (edge.count_flops), one forward pass",
        "quantization": "ORT: quantize_static QDQ, per-channel int8 weights, uint8 activations, MinMax on 512 "
        "training-fold windows; torch: quantize_dynamic of nn.Linear (qint8)",
        "targets": {
            "tiny_int8_ort_file_bytes_max": 350_000,
            "tiny_int8_ort_latency_ms_max": 1.0,
            "macro_auc_drop_max": 0.005,
            "met": {
                "file": tiny["file_bytes"] <= 350_000,
                "latency": tiny["median_ms"] <= 1.0,
                "auc": all(e["ort_int8"]["macro_auc"]["delta"] >= -0.005 for e in acc.values()),
            },
        },
        "liteheart_paper_params_m": {
            "values": LITEHEART_PARAMS_M,
            "source": "LiteHeart (Zhou et al., arXiv "
            "2511.02851) Fig. 4 caption; the paper gives no latency or file size",
            "ours_params_m": ours_params(rows),
        },
        "models": rows,
        "accuracy": acc,
        "wall_seconds": round(time.time() - started, 1),
    }
    atomic_write_json(args.out, result)
    print(markdown(rows, acc))
    print()
    print(liteheart_table(result["liteheart_paper_params_m"]["ours_params_m"]))
    print(f"\ntargets met: {result['targets']['met']}; wrote {args.out}")


if __name__ == "__main__":
    main()
