"""From benchmark JSONs to the report: merged tables, label sweep, per-class AUCs, efficiency rows.

The quality benchmark (``bench/quality.py``) writes one JSON per run; the project keeps several
(classic baselines, LiteHeart, EVL-ECG, label ratios, another teacher, PTB-XL), declared in
``BENCHMARK_FILES`` with the ``run_quality`` arguments that rebuild each one.

* ``load_benchmarks`` reads whichever declared files exist, names the missing ones (with their
  command) and, only when asked (``rerun=True``), rebuilds the missing *required* ones.
* ``merge_results`` puts the methods of files that share a **setting** (data source and
  fingerprint, teacher, student, label ratio) into one result of the same schema, so
  ``markdown_table`` and ``plot_gap_closed`` read it like a single run; files with another setting
  form their own result. Gap closed is recomputed against the merged baseline and teacher,
  ``(student - baseline) / (teacher - baseline)``.
* ``write_report`` leaves ``reports/benchmark_table.md`` and ``reports/benchmark.json``.
* ``efficiency_lineup`` / ``efficiency_rows``: parameters, FLOPs of one 10 s record and batch-1 CPU
  latency (``edge/profile.py``) for the teacher, the student sizes and restoration + student.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..config import REPO_ROOT, reports_dir, shared_data_dir
from ..distill import methods_of
from ..errors import ConfigError
from ..utils import atomic_write_bytes, atomic_write_json
from .quality import CLASSIC, FAMILIES, METRICS, SCHEMA, _gap, load_result, markdown_table, method_order, run_quality

RESULTS_DIR = REPO_ROOT / "results"
REPORT_SCHEMA = "ecgkd-benchmark-report/1"
#: the headline table's methods: every classic baseline, both families and their ablations
HEADLINE_METHODS = ("baseline", *CLASSIC, *FAMILIES, *methods_of("liteheart", "evl_ecg", kind="ablation"))
#: one family's file: vanilla KD for reference, the family's method, its ablations and its parts
LITEHEART_SET = (
    "vanilla_kd",
    *(m for kind in ("headline", "ablation", "part") for m in methods_of("liteheart", kind=kind)),
)
EVL_SET = ("vanilla_kd", *(m for kind in ("headline", "ablation", "part") for m in methods_of("evl_ecg", kind=kind)))
SWEEP_METHODS = ("baseline", "vanilla_kd", "liteheart")


@dataclass(frozen=True)
class BenchmarkFile:
    """One declared benchmark JSON in ``results/``.

    ``methods``: what the file must hold to be used (``load_result`` refuses it otherwise);
    ``run``: the ``run_quality`` arguments that rebuild it (profile quick and 3 seeds unless set);
    ``required``: the headline table needs it (rebuilt when missing and ``rerun``);
    ``shared_root``: a data folder under ``shared_data_dir()`` passed as ``root`` (PTB-XL runs).
    """

    name: str
    methods: tuple[str, ...]
    run: dict = field(default_factory=dict)
    required: bool = False
    shared_root: str | None = None

    def run_kwargs(self) -> dict:
        """The full ``run_quality`` keyword arguments (without ``json_out``)."""
        kwargs = {"profile": "quick", "seeds": 3, **self.run}
        if self.shared_root is not None:
            kwargs["root"] = shared_data_dir() / self.shared_root
        return kwargs

    @property
    def command(self) -> str:
        """The ``ecgkd bench quality`` command line that rebuilds the file."""
        kw = self.run_kwargs()
        methods = kw.get("methods", "all")
        parts = [
            "ecgkd bench quality",
            f"--profile {kw['profile']}",
            f"--seeds {kw['seeds']}",
            f"--methods {methods if isinstance(methods, str) else ','.join(methods)}",
        ]
        for key, flag in (
            ("data", "--data"),
            ("root", "--root"),
            ("label_ratio", "--label-ratio"),
            ("teacher", "--teacher"),
            ("eval_data", "--eval-data"),
            ("eval_root", "--eval-root"),
        ):
            if key in kw:
                parts.append(f"{flag} {kw[key]}")
        return " ".join(parts + [f"--json results/{self.name}"])


BENCHMARK_FILES: tuple[BenchmarkFile, ...] = (
    BenchmarkFile(
        "bench_quality_quick_baselines.json", ("baseline", *CLASSIC), {"methods": "baselines"}, required=True
    ),
    BenchmarkFile(
        "bench_quality_quick_liteheart.json", ("baseline", *LITEHEART_SET), {"methods": LITEHEART_SET}, required=True
    ),
    BenchmarkFile("bench_quality_quick_evl.json", ("baseline", *EVL_SET), {"methods": EVL_SET}, required=True),
    BenchmarkFile(
        "bench_quality_quick_labels10.json",
        ("baseline", "vanilla_kd", "liteheart", "liteheart-no_semi"),
        {"methods": ("vanilla_kd", "liteheart", "liteheart-no_semi"), "label_ratio": 0.1},
    ),
    BenchmarkFile(
        "bench_quality_quick_labels10_classic.json",
        ("baseline", *CLASSIC[1:]),
        {"methods": CLASSIC[1:], "label_ratio": 0.1},
    ),
    *(
        BenchmarkFile(
            f"bench_quality_quick_labels{pct}.json",
            SWEEP_METHODS,
            {"methods": SWEEP_METHODS[1:], "label_ratio": pct / 100, "seeds": 2},
        )
        for pct in (5, 25)
    ),
    BenchmarkFile(
        "bench_quality_quick_evl_same_arch.json",
        ("baseline", "vanilla_kd", "evl_ecg"),
        {"methods": ("vanilla_kd", "evl_ecg"), "teacher": "cnn_transformer/small"},
    ),
    BenchmarkFile(
        "bench_quality_quick_evl_patch_teacher.json",
        ("baseline", "vanilla_kd", "evl_ecg"),
        {"methods": ("vanilla_kd", "evl_ecg"), "teacher": "patch_transformer/small"},
    ),
    BenchmarkFile(
        "bench_quality_ptbxl_liteheart.json",
        ("baseline", "vanilla_kd", "liteheart"),
        {
            "methods": ("vanilla_kd", "liteheart", "liteheart-no_region", "liteheart-no_mi", "liteheart-no_semi"),
            "data": "ptbxl",
        },
        shared_root="ptbxl-mini",
    ),
)


def made_by(result: Mapping) -> str:
    """The provenance line a notebook prints above a stored result: its command, commit and date."""
    return f"made by: {result['command']} | commit {(result.get('git_commit') or '?')[:8]} | {result['date'][:10]}"


def declared_result(name: str, *, rerun: bool = False, folder: str | Path = RESULTS_DIR, runner=None) -> dict:
    """The declared benchmark file ``name`` (``BENCHMARK_FILES``), checked to hold its methods;
    ``rerun=True`` (or a missing file) rebuilds it first with its declared ``run_quality`` arguments,
    so a notebook never writes its own copy of the benchmark call."""
    spec = next((f for f in BENCHMARK_FILES if f.name == name), None)
    if spec is None:
        raise ConfigError(f"{name!r} is not a declared benchmark file; known: {[f.name for f in BENCHMARK_FILES]}")
    path = Path(folder) / name
    if rerun or not path.exists():
        (runner or run_quality)(**spec.run_kwargs(), json_out=path)
    return load_result(path, required_methods=list(spec.methods))


def load_benchmarks(
    files: Sequence[BenchmarkFile] = BENCHMARK_FILES,
    folder: str | Path = RESULTS_DIR,
    *,
    rerun: bool = False,
    runner: Callable[..., dict] | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict[str, dict], list[BenchmarkFile]]:
    """Read the declared files that exist; returns ``({file name: result}, [missing files])``.

    A missing file is named in a printed note with the command that makes it. With ``rerun`` a
    *required* file that is missing, has an old schema or lacks its ``methods`` is rebuilt by
    ``runner`` (default ``run_quality``) before reading; optional ones are never rebuilt. Otherwise
    a file with an old schema or without its ``methods`` raises ConfigError (from ``load_result``:
    it names the file and the command to rebuild it).
    """
    if runner is None:
        from .quality import run_quality as runner
    folder = Path(folder)
    loaded, missing = {}, []
    for spec in files:
        path = folder / spec.name
        if rerun and spec.required and not _usable(path, spec):
            log(f"[report] rebuilding {spec.name}: {spec.command}")
            runner(**spec.run_kwargs(), json_out=path)
        if not path.exists():
            missing.append(spec)
            log(
                f"[report] missing {'required' if spec.required else 'optional'} {spec.name}; "
                f"make it with `{spec.command}`"
            )
            continue
        loaded[spec.name] = load_result(path, required_methods=spec.methods)
    return loaded, missing


def _usable(path: Path, spec: BenchmarkFile) -> bool:
    """The file exists, has the current schema and holds the declared methods."""
    try:
        load_result(path, required_methods=spec.methods)
    except ConfigError:
        return False
    return True


def setting(result: Mapping) -> tuple:
    """What makes two runs comparable: data source and fingerprint, teacher, student, label ratio.

    JSONs written before label ratios existed count as ratio 1.0 (every label).
    """
    student = result.get("student", {})
    return (
        result["data"]["source"],
        result["data"]["fingerprint"],
        f"{result['teacher']['arch']}/{result['teacher']['size']}",
        f"{student.get('arch')}/{student.get('size')}:{'+'.join(student.get('leads', []))}",
        float(result.get("label_ratio", 1.0)),
    )


def merge_results(results: Mapping[str, Mapping]) -> list[dict]:
    """One result per setting (see ``setting``), in the order the settings first appear.

    Within a setting, a method comes from the first file that holds it (``sources`` says which);
    the teacher and naive rows from the first file. A later file whose teacher, or whose copy of
    a method, disagrees (another recipe or another mean) is listed in ``conflicts``. Every
    method's ``gap_closed`` is recomputed against the merged baseline and teacher.
    """
    groups: dict[tuple, dict] = {}
    for name, result in results.items():
        if result.get("schema") != SCHEMA:
            raise ConfigError(f"{name} has schema {result.get('schema')!r}; expected {SCHEMA!r}")
        key = setting(result)
        if key not in groups:
            groups[key] = {
                **{k: v for k, v in result.items() if k != "methods"},
                "methods": {},
                "sources": {},
                "files": {},
                "conflicts": [],
                "label_ratio": key[-1],
            }
        merged = groups[key]
        merged["files"][name] = {k: result.get(k) for k in ("command", "git_commit", "date")}
        if result["teacher"]["macro_auc"] != merged["teacher"]["macro_auc"]:
            merged["conflicts"].append(
                f"{name}: teacher macro AUC {result['teacher']['macro_auc']:.4f} differs from "
                f"{merged['teacher']['macro_auc']:.4f}"
            )
        for method, entry in result["methods"].items():
            if method not in merged["methods"]:
                merged["methods"][method], merged["sources"][method] = dict(entry), name
            elif _differs(entry, merged["methods"][method]):
                merged["conflicts"].append(
                    f"{name}: {method} differs from {merged['sources'][method]} (kept {merged['sources'][method]})"
                )
    out = []
    for merged in groups.values():
        merged["seeds"] = max(len(m["runs"]) for m in merged["methods"].values())
        if "baseline" in merged["methods"]:
            base = merged["methods"]["baseline"]["mean"]
            for entry in merged["methods"].values():
                entry["gap_closed"] = {m: _gap(entry["mean"][m], base[m], merged["teacher"][m]) for m in METRICS}
        out.append(merged)
    return out


def _differs(a: Mapping, b: Mapping) -> bool:
    return a.get("recipe") != b.get("recipe") or any(
        not math.isclose(a["mean"][m], b["mean"][m], rel_tol=0, abs_tol=1e-9) for m in METRICS
    )


def find_setting(
    merged: Sequence[Mapping], *, source: str = "synthetic", teacher: str | None = None, label_ratio: float = 1.0
) -> dict | None:
    """The merged result with that data source, teacher (``"arch/size"``; None: the default) and label ratio."""
    from ..experiment import TEACHER

    teacher = teacher or "/".join(TEACHER)
    for result in merged:
        key = setting(result)
        if key[0] == source and key[2] == teacher and math.isclose(key[-1], label_ratio):
            return result
    return None


def missing_methods(result: Mapping, required: Sequence[str] = HEADLINE_METHODS) -> list[str]:
    """The ``required`` methods the result does not hold, in reading order."""
    return [m for m in required if m not in result["methods"]]


def headline_frame(result: Mapping) -> pd.DataFrame:
    """One row per model (teacher, naive, then the methods in reading order): each metric's mean
    and std over seeds, the gap closed per metric (NaN for the teacher, naive and baseline),
    parameters, mean training seconds and the file the row came from."""
    rows = []
    teacher, naive = result["teacher"], result["naive"]
    rows.append(
        {
            "model": "teacher",
            **{f"{m}_mean": teacher[m] for m in METRICS},
            **{f"{m}_std": 0.0 for m in METRICS},
            **{f"gap_closed_{m}": None for m in METRICS},
            "params": teacher.get("params"),
            "train_seconds": teacher.get("train_seconds"),
            "source": None,
        }
    )
    rows.append(
        {
            "model": "naive",
            **{f"{m}_mean": naive[m] for m in METRICS},
            **{f"{m}_std": 0.0 for m in METRICS},
            **{f"gap_closed_{m}": None for m in METRICS},
            "params": 0,
            "train_seconds": 0.0,
            "source": None,
        }
    )
    for name in method_order(result["methods"]):
        entry = result["methods"][name]
        rows.append(
            {
                "model": name,
                **{f"{m}_mean": entry["mean"][m] for m in METRICS},
                **{f"{m}_std": entry["std"][m] for m in METRICS},
                **{f"gap_closed_{m}": None if name == "baseline" else entry["gap_closed"][m] for m in METRICS},
                "params": entry["params"],
                "train_seconds": entry["train_seconds_mean"],
                "source": result.get("sources", {}).get(name),
            }
        )
    return pd.DataFrame(rows)


def write_report(
    result: Mapping,
    folder: str | Path | None = None,
    *,
    missing_files: Sequence[str] = (),
    required: Sequence[str] = HEADLINE_METHODS,
) -> tuple[Path, Path]:
    """Write ``<folder>/benchmark_table.md`` (provenance, the Markdown table, what is missing) and
    ``<folder>/benchmark.json`` (the table's rows with null for NaN, provenance, missing files
    and methods, conflicts). ``folder`` defaults to ``reports/``. Returns both paths."""
    folder = Path(folder) if folder is not None else reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    files = result.get("files") or {"(one file)": {k: result.get(k) for k in ("command", "git_commit", "date")}}
    absent = missing_methods(result, required)
    lines = [
        f"# Benchmark: {result['student']['arch']}/{result['student']['size']} student on lead "
        f"{'+'.join(result['student']['leads'])}, teacher {result['teacher']['arch']}/{result['teacher']['size']}, "
        f"{result['data']['source']} data, {float(result.get('label_ratio', 1.0)):.0%} labels",
        "",
        "Mean ± std over seeds; gap closed = (method - baseline) / (teacher - baseline). Made by:",
        "",
    ]
    lines += [
        f"- `{info.get('command')}` (commit {(info.get('git_commit') or '?')[:8]}, "
        f"{(info.get('date') or '?')[:10]}): {name}"
        for name, info in files.items()
    ]
    lines += ["", markdown_table(result), ""]
    if absent:
        lines.append(f"Missing methods: {', '.join(absent)}.")
    if missing_files:
        lines.append(f"Missing result files: {', '.join(missing_files)}.")
    if result.get("conflicts"):
        lines.append("Conflicts: " + "; ".join(result["conflicts"]) + ".")
    md = folder / "benchmark_table.md"
    atomic_write_bytes(md, ("\n".join(lines).rstrip() + "\n").encode())
    frame = headline_frame(result)
    js = folder / "benchmark.json"
    atomic_write_json(
        js,
        {
            "schema": REPORT_SCHEMA,
            "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "setting": dict(zip(("source", "fingerprint", "teacher", "student", "label_ratio"), setting(result))),
            "seeds": result.get("seeds"),
            "files": files,
            "missing_files": list(missing_files),
            "missing_methods": absent,
            "conflicts": list(result.get("conflicts", [])),
            "rows": frame.replace({np.nan: None}).to_dict("records"),
        },
    )
    return md, js


def per_class_auc(result: Mapping, methods: Sequence[str] | None = None) -> tuple[dict, dict]:
    """``({model: {class: AUC or None}}, {model: macro AUC})`` for the teacher and each method.

    A method's class AUC is the mean over the seeds that have one; None when no seed does (no
    positive test record): drawn as missing, never as 0.5. The macro AUC is the JSON's mean.
    """
    names = method_order(result["methods"]) if methods is None else list(methods)
    unknown = [m for m in names if m not in result["methods"]]
    if unknown:
        raise ConfigError(f"methods {unknown} are not in the result; available: {method_order(result['methods'])}")
    per_class = {"teacher": dict(result["teacher"]["per_class_auc"])}
    macro = {"teacher": result["teacher"]["macro_auc"]}
    for name in names:
        runs = result["methods"][name]["runs"]
        per_class[name] = {}
        for cls in result["classes"]:
            values = [r["per_class_auc"].get(cls) for r in runs]
            values = [v for v in values if v is not None and np.isfinite(v)]
            per_class[name][cls] = float(np.mean(values)) if values else None
        macro[name] = result["methods"][name]["mean"]["macro_auc"]
    return per_class, macro


def label_sweep_frame(
    merged: Sequence[Mapping], reference: Mapping, methods: Sequence[str] = SWEEP_METHODS
) -> pd.DataFrame:
    """Tidy rows ``label_ratio, n_labeled, method, <metric>_mean, <metric>_std`` from every merged
    result with ``reference``'s setting but any label ratio (ratios ascending).

    ConfigError when a ratio's result lacks one of ``methods`` (it names the ratio and its files).
    """
    want = setting(reference)[:-1]
    rows = []
    for result in sorted((r for r in merged if setting(r)[:-1] == want), key=lambda r: setting(r)[-1]):
        ratio = setting(result)[-1]
        absent = [m for m in methods if m not in result["methods"]]
        if absent:
            raise ConfigError(
                f"the {ratio:.0%}-label result ({', '.join(result.get('files', {})) or 'one file'}) "
                f"lacks methods {absent}"
            )
        for method in methods:
            entry = result["methods"][method]
            rows.append(
                {
                    "label_ratio": ratio,
                    "n_labeled": result.get("n_labeled", result["data"]["n_train"]),
                    "method": method,
                    **{f"{m}_mean": entry["mean"][m] for m in METRICS},
                    **{f"{m}_std": entry["std"][m] for m in METRICS},
                }
            )
    return pd.DataFrame(rows)


def external_frame(external: Mapping) -> pd.DataFrame:
    """The ``external`` block of a benchmark JSON as rows ``model, macro_auc_mean, macro_auc_std``."""
    rows = [{"model": "teacher", "macro_auc_mean": external["teacher"]["macro_auc"], "macro_auc_std": 0.0}]
    rows += [
        {"model": name, "macro_auc_mean": r["macro_auc_mean"], "macro_auc_std": r["macro_auc_std"]}
        for name, r in ((n, external["methods"][n]) for n in method_order(external["methods"]))
    ]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------ efficiency
def efficiency_lineup(
    *,
    n_classes: int = 15,
    fs: float = 100.0,
    seconds: float = 10.0,
    student_sizes: Sequence[str] = ("tiny", "small", "base"),
) -> dict[str, tuple]:
    """``{name: (model, input shape)}``: the models whose cost the report compares, on one record of
    ``seconds`` at ``fs`` (batch 1: ``(1, leads, round(seconds * fs))``).

    * ``teacher``: the 12-lead teacher (``experiment.TEACHER``);
    * ``baseline/<size>``: the 1-lead ``cnn_transformer`` student of each size;
    * ``restoration/tiny+student``: the lead-I -> 12-lead U-Net (unet1d/tiny) feeding a 12-lead
      tiny student (``RestoredInputModel``; notebook 08's deployed pipeline).

    The models are freshly built from the registry: parameters, FLOPs and latency do not depend on
    the weights, so no trained model is needed.
    """
    from ..experiment import STUDENT_ARCH, TEACHER
    from ..models import build_model
    from ..train.restoration import RestoredInputModel

    samples = int(round(seconds * fs))
    if samples < 1:
        raise ConfigError(f"seconds * fs must give at least one sample; got {seconds} s at {fs} Hz")
    lineup = {"teacher": (build_model(*TEACHER, in_leads=12, n_classes=n_classes), (1, 12, samples))}
    for size in student_sizes:
        lineup[f"baseline/{size}"] = (build_model(STUDENT_ARCH, size, in_leads=1, n_classes=n_classes), (1, 1, samples))
    pipeline = RestoredInputModel(
        build_model("unet1d", "tiny", in_leads=1), build_model(STUDENT_ARCH, "tiny", in_leads=12, n_classes=n_classes)
    )
    lineup["restoration/tiny+student"] = (pipeline, (1, 1, samples))
    return lineup


def efficiency_rows(
    lineup: Mapping[str, tuple],
    macro_auc: Mapping[str, float] | None = None,
    *,
    threads: int = 1,
    warmup: int = 3,
    repeats: int = 10,
) -> pd.DataFrame:
    """``name, input_shape, params, flops, latency_ms, latency_p90_ms, macro_auc`` per model.

    FLOPs = 2 x multiply-accumulates of one forward pass on the stated input shape; latency = the
    median of ``repeats`` batch-1 forward passes with ``threads`` CPU threads after ``warmup``
    (``edge.profile_models``). ``macro_auc`` gives each model's accuracy (NaN where absent; the
    efficiency scatter needs it). ConfigError for an accuracy of a model not in the lineup.
    """
    from ..edge import profile_models

    macro_auc = dict(macro_auc or {})
    unknown = [name for name in macro_auc if name not in lineup]
    if unknown:
        raise ConfigError(f"macro_auc names models {unknown} that are not in the lineup {list(lineup)}")
    frame = profile_models(
        {n: m for n, (m, _) in lineup.items()},
        {n: s for n, (_, s) in lineup.items()},
        threads=threads,
        warmup=warmup,
        repeats=repeats,
    )
    frame = frame.rename(columns={"model": "name", "latency_median_ms": "latency_ms"})
    frame["flops"] = (frame.pop("mflops") * 1e6).round().astype(np.int64)
    frame["macro_auc"] = [float(macro_auc.get(n, np.nan)) for n in frame["name"]]
    return frame[["name", "input_shape", "params", "flops", "latency_ms", "latency_p90_ms", "macro_auc"]]
