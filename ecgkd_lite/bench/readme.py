"""The README's result tables, rendered from the committed result JSONs.

Every table in the README that quotes a result sits between ``<!-- table: NAME -->`` and
``<!-- /table -->``; ``TABLES[NAME]`` renders it from ``results/``. ``python -m ecgkd_lite.bench.readme``
rewrites every block; ``--check`` exits 1 naming the blocks that differ from what would be written
(``tests/test_readme_tables.py`` runs the same check), so a table cannot drift from its JSON.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

from ..config import REPO_ROOT
from ..errors import ConfigError
from . import cv
from .quality import CLASSIC, load_result, markdown_table
from .report import SWEEP_METHODS, merge_results

README = REPO_ROOT / "README.md"
RESULTS = REPO_ROOT / "results"
BLOCK = re.compile(r"<!-- table: (?P<name>[\w.-]+) -->\n(?P<body>.*?)<!-- /table -->", re.S)


def _json(name: str) -> dict:
    path = RESULTS / name
    if not path.exists():
        raise ConfigError(f"README table needs {path}, which does not exist (see results/README.md for its command)")
    return json.loads(path.read_text())


def _quality(*names: str) -> str:
    """The headline table of one benchmark file, or of several files of one setting merged
    (``report.merge_results``: gap closed against the merged baseline and teacher)."""
    if len(names) == 1:
        return markdown_table(load_result(RESULTS / names[0]))
    (merged,) = merge_results({n: load_result(RESULTS / n) for n in names})
    return markdown_table(merged)


def _tune_evl() -> str:
    rows = sorted(
        _json("tune_evl_ecg_quick.json")["rows"],
        key=lambda r: (r["point"]["alpha"], -r["point"]["l_m"], -r["point"]["l_r"]),
    )
    lines = ["| a | l_m | l_r | l_ot | val macro AUC |", "|---|---|---|---|---|"]
    lines += [
        f"| {r['point']['alpha']:g} | {r['point']['l_m']:g} | {r['point']['l_r']:g} | {r['point']['l_ot']:g} | "
        f"{r['val_macro_auc']:.4f} |"
        for r in rows
    ]
    return "\n".join(lines)


@functools.cache
def _script(name: str) -> ModuleType:
    """``benchmarks/NAME.py`` as a module, for the formatting functions of the script that wrote a JSON."""
    path = REPO_ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"_benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _pct(v: float) -> str:
    return f"{100 * v:+.0f} %"


def _mean_std(entry: dict, metric: str, digits: int) -> str:
    return f"{entry['mean'][metric]:.{digits}f} ± {entry['std'][metric]:.{digits}f}"


#: bench_training_quick.json's targets, as the README names them
TRAINING_TARGETS = {
    "teacher_under_180_s": "teacher <= 3 min",
    "teacher_auc_at_least_0.95": "teacher AUC >= 0.95",
    "student_tiny_under_60_s": "tiny student <= 1 min",
    "student_small_under_60_s": "small student <= 1 min",
    "small_gap_at_least_0.05": "small-student gap >= 0.05",
}


def _training() -> str:
    d = _json("bench_training_quick.json")
    rows = {k: v for k, v in d["results"].items() if k != "data"}
    order = sorted(rows, key=lambda k: (not k.startswith("teacher"), k.startswith("restoration"), rows[k]["params"]))
    lines = [
        "| model | parameters | training wall time | epochs | test macro AUC | macro F1 | MAP |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in order:
        r = rows[name]
        metrics = (
            " | ".join(f"{r[m]:.4f}" for m in ("macro_auc", "macro_f1", "map"))
            if "macro_auc" in r
            else "(restoration) |  | "
        )
        lines.append(f"| {name} | {r['params']:,} | {r['wall_seconds']:.0f} s | {r['epochs']} | {metrics} |")
    t = d["targets"]
    met = "; ".join(f"{label}: **{t[key]}**" for key, label in TRAINING_TARGETS.items())
    lines += [
        "",
        f"Targets: {met} (gap {t['small_gap']:.3f}). "
        f"Data generation and caching: {d['results']['data']['wall_seconds']:.0f} s.",
    ]
    return "\n".join(lines)


def _kd_step() -> str:
    runs = _json("bench_quality_quick_baselines.json")["methods"]
    ratio = {m: runs[m]["time_ratio_vs_baseline"] for m in CLASSIC if m != "rkd"}
    low, high = min(ratio, key=ratio.get), max(ratio, key=ratio.get)
    d = _json("bench_kd_step.json")
    lines = [
        "Step cost: with the teacher's outputs cached (float16, on the engine's crop grid), a KD run costs "
        f"{ratio[low]:.2f}x ({low}) to {ratio[high]:.2f}x ({high}) a plain run in the benchmark's own timings "
        f"(`bench_quality_quick_baselines.json`); RKD costs {runs['rkd']['time_ratio_vs_baseline']:.2f}x because "
        "its angle term is O(B^3) in the batch size. Per step, in isolation:",
        "",
        "| method | cached teacher / plain step | live teacher / plain step |",
        "|---|---|---|",
    ]
    for name, m in sorted(d["methods"].items()):
        cached = f"{m['cached_ratio']:.2f}x" if m["cacheable"] else "not cacheable (needs teacher gradients)"
        lines.append(f"| {name} | {cached} | {m['live_ratio']:.2f}x |")
    lines += [
        "",
        f"(`python benchmarks/bench_kd_step.py --repeats {d['repeats']}`: {d['teacher']} teacher, {d['student']} "
        f"student, batch {d['batch_size']}, median of interleaved repeats, {d['threads']} thread. Methods whose "
        "terms need gradients through the teacher (region-aware KD, in the LiteHeart recipes) cannot use the cache.)",
    ]
    return "\n".join(lines)


def _models() -> str:
    d = _json("bench_models.json")
    lines = [
        "| model | leads | parameters | MFLOPs 10 s (T=1000) | train samples/s | latency 2.5 s window (ms) | "
        "latency 10 s (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {m['model']}/{m['size']} | {m['in_leads']} | {m['params']:,} | {m['mflops_T1000']:.1f} | "
        f"{m['train_sps_median']:.0f} | {m['latency_ms_T250']:.2f} | {m['latency_ms_T1000']:.2f} |"
        for m in d["models"]
    ]
    load = d["load_average_1min"]
    lines += ["", f"Load average (1 min) during the run: {load['before']:.2f} before, {load['after']:.2f} after."]
    return "\n".join(lines)


def _synthetic() -> str:
    d = _json("bench_synthetic.json")
    return (
        f"Synthetic generator (`python benchmarks/bench_synthetic.py`, {d['threads']} thread, best of 3 x "
        f"{d['n']:,} records of {d['seconds']:g} s, 12 leads): **{d['records_per_s']:,.0f} records/s at {d['fs']} "
        f"Hz**, {d['records_per_s_100hz']:,.0f} records/s at 100 Hz (target >= 1,000 at 500 Hz)."
    )


def _edge() -> str:
    d, edge = _json("bench_edge.json"), _script("bench_edge")
    rows = {r["model"]: r["routes"] for r in d["models"]}
    tiny = rows["baseline/tiny"]["ort_int8"]
    worst = min(
        ((name, route) for name in d["accuracy"] for route in ("ort_int8", "torch_dynamic_int8")),
        key=lambda k: d["accuracy"][k[0]][k[1]]["macro_auc"]["delta"],
    )
    w = d["accuracy"][worst[0]][worst[1]]["macro_auc"]
    t, met = d["targets"], d["targets"]["met"]
    speedup = ", ".join(
        f"{name} {r['ort_fp32']['median_ms'] / r['ort_int8']['median_ms']:.1f}x" for name, r in rows.items()
    )
    parity = max(v for e in d["accuracy"].values() for v in e["parity_max_abs_logit_diff"].values())
    windows = {e["test_windows"] for e in d["accuracy"].values()}
    load = d["load_average"]
    return "\n".join(
        [
            edge.markdown(
                [{**r, "routes": {k: r["routes"][k] for k in edge.ROUTES if k in r["routes"]}} for r in d["models"]],
                {name: d["accuracy"][name] for name in rows if name in d["accuracy"]},
            ),
            "",
            edge.liteheart_table(d["liteheart_paper_params_m"]["ours_params_m"]),
            "",
            f"Targets: tiny student int8 file **{tiny['file_bytes'] / 1024:.0f} KiB ({tiny['file_bytes']:,} bytes) <= "
            f"{t['tiny_int8_ort_file_bytes_max'] / 1000:.0f} KB: {'met' if met['file'] else 'not met'}**; ORT int8 "
            f"latency **{tiny['median_ms']:.3f} ms per window <= {t['tiny_int8_ort_latency_ms_max']:g} ms: "
            f"{'met' if met['latency'] else 'not met'}**; **macro AUC drop <= {t['macro_auc_drop_max']:g}: "
            f"{'met' if met['auc'] else 'not met'}** for every student and both routes (the largest, {worst[0]} / "
            f"{worst[1]}, {w['delta']:+.4f} [{w['delta_ci95'][0]:+.4f}, {w['delta_ci95'][1]:+.4f}]). ORT int8 "
            f"speed-up over ORT fp32: {speedup}. Largest ORT / TorchScript difference from PyTorch: "
            f"{parity:.1e} (logits) on {' / '.join(f'{n:,}' for n in sorted(windows))} test windows. Load average "
            f"(1 min): {load['before'][0]:.1f} before, {load['after'][0]:.1f} after.",
        ]
    )


def _label_sweep() -> str:
    lines = [
        "| labels | seeds | baseline AUC | vanilla KD AUC | LiteHeart AUC | baseline F1 | vanilla KD F1 | LiteHeart F1 "
        "| LiteHeart gap closed (AUC) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for pct in (5, 10, 25, 100):
        r = load_result(RESULTS / f"bench_quality_quick_{'liteheart' if pct == 100 else f'labels{pct}'}.json")
        m = r["methods"]
        cells = [f"{r.get('label_ratio', 1.0):.0%}", str(r["seeds"])]
        cells += [_mean_std(m[k], metric, 3) for metric in ("macro_auc", "macro_f1") for k in SWEEP_METHODS]
        cells.append(_pct(m["liteheart"]["gap_closed"]["macro_auc"]))
        lines.append(f"| {' | '.join(cells)} |")
    return "\n".join(lines)


#: the three EVL-ECG teachers: file, README label, tokens (teacher vs student)
EVL_TEACHERS = (
    ("bench_quality_quick_evl_patch_teacher.json", "patch_transformer/small", "120 vs 16"),
    ("bench_quality_quick_evl.json", "resnet1d/small (default)", "16 vs 16 (width 128 vs 96)"),
    ("bench_quality_quick_evl_same_arch.json", "cnn_transformer/small (student's architecture)", "16 vs 16"),
)


def _evl_teachers() -> str:
    lines = [
        "| teacher | tokens (teacher vs student) | teacher AUC | baseline | vanilla KD | EVL-ECG | EVL - vanilla |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, label, tokens in EVL_TEACHERS:
        r = load_result(RESULTS / name, required_methods=["vanilla_kd", "evl_ecg"])
        m = r["methods"]
        diff = m["evl_ecg"]["mean"]["macro_auc"] - m["vanilla_kd"]["mean"]["macro_auc"]
        cells = [label, tokens, f"{r['teacher']['macro_auc']:.4f}"]
        cells += [_mean_std(m[k], "macro_auc", 4) for k in ("baseline", "vanilla_kd", "evl_ecg")]
        lines.append(f"| {' | '.join(cells)} | {diff:+.4f} |")
    return "\n".join(lines)


def _ot_cost() -> str:
    def one(d: dict) -> str:
        return (
            f"{_pct(d['ratio'] - 1)} with the {d['teacher_tokens']}-token {d['teacher']} teacher ({d['student_tokens']} "
            f"x {d['teacher_tokens']} cost, {d['sinkhorn_iterations']} Sinkhorn iterations; target <= "
            f"{_pct(d['target_ratio'] - 1)}: **{'met' if d['target_met'] else 'not met'}**)"
        )

    patch, resnet = _json("bench_ot_cost.json"), _json("bench_ot_cost_resnet_teacher.json")
    return (
        f"OT cost (`python benchmarks/bench_ot_cost.py`, one training step with and without the OT term, batch "
        f"{patch['batch_size']}): {one(patch)}; {one(resnet)}. `results/bench_ot_cost.json` and "
        f"`results/bench_ot_cost_resnet_teacher.json`, {patch['threads']} thread, median of {patch['repeats']}."
    )


def _gradcam() -> str:
    d = _json("bench_gradcam.json")
    crop, full = d["timings"]["crop"], d["timings"]["full"]
    return (
        f"Grad-CAM speed (`python benchmarks/bench_gradcam.py --repeats {d['repeats']} --threads {d['threads']}`): "
        f"{d['n_records']} records of the {d['model']} student, median {crop['median_s']:.3f} s on "
        f"{crop['samples'] / d['fs']:g} s crops and {full['median_s']:.3f} s on whole {full['samples'] / d['fs']:g} s "
        f"records ({d['threads']} threads, {d['repeats']} repeats; target <= {d['target_s']:g} s: "
        f"{'met' if d['target_met'] else 'not met'})."
    )


def _convergence() -> str:
    d = _json("convergence_synthetic.json")
    lines = [
        "| method | budget | epochs run (best) | best validation macro AUC | test macro AUC (5,000 records) | train s |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in d["runs"]:
        budget = f"one-cycle, {r['budget']} epochs" if r["budget"] != "converged" else "converged rule"
        lines.append(
            f"| {r['method']} | {budget} | {r['epochs_run']} ({r['best_epoch']}) | {r['best_val_macro_auc']:.4f} | "
            f"{r['test_macro_auc']:.4f} | {r['train_seconds']:.0f} |"
        )
    return "\n".join(lines) + f"\n\n(`{d['command']}`, seed 0, tiny student on lead I.)"


def _converged_reading() -> str:
    """The reading of the converged synthetic benchmark and of the convergence study, from their JSONs."""
    bench = _json("bench_quality_converged.json")
    runs = {(r["method"], str(r["budget"])): r for r in _json("convergence_synthetic.json")["runs"]}
    b6, bc = runs["baseline", "6"], runs["baseline", "converged"]
    k6, kc = runs["vanilla_kd", "6"], runs["vanilla_kd", "converged"]
    rows = bench["methods"]
    hidden = bench["by_visibility"]["teacher_minus_baseline"]["not seen"]
    text = [
        f"**Convergence.** The quick profile's 6 epochs leave the lead-I baseline at test macro AUC "
        f"{b6['test_macro_auc']:.3f}; trained until validation stops improving it reaches {bc['test_macro_auc']:.3f} "
        f"({bc['epochs_run']} epochs, best {bc['best_epoch']}); vanilla KD goes from {k6['test_macro_auc']:.3f} to "
        f"{kc['test_macro_auc']:.3f}. KD minus baseline is {k6['test_macro_auc'] - b6['test_macro_auc']:+.3f} at "
        f"6 epochs and {kc['test_macro_auc'] - bc['test_macro_auc']:+.3f} converged (seed 0)."
        + (
            f" A one-cycle schedule over 50 epochs ends higher than the converged rule "
            f"({runs['baseline', '50']['test_macro_auc']:.3f} for the baseline): the benchmark applies one rule to every model, so its differences are fair, but its "
            "absolute numbers depend on the schedule."
            if runs["baseline", "50"]["test_macro_auc"] > bc["test_macro_auc"]
            else ""
        ),
        f"**Verdicts.** {cv.reading(bench)} The teacher's lead on the conditions lead I does not see "
        f"({', '.join(bench['by_visibility']['groups']['not seen'])}) is {hidden['estimate']:+.3f} macro AUC.",
    ]
    lh = rows.get("liteheart", {}).get("paired_gap_closed_macro_auc")
    if lh:
        where = cv.against_nearly_half(lh)
        text.append(
            f'**LiteHeart\'s claim** ("nearly half" of the gap, read as {cv.NEARLY_HALF:.0%}): it closes '
            f"{lh['estimate']:.0%} (95 % interval {lh['ci95'][0]:.0%} to {lh['ci95'][1]:.0%}) with every label on the "
            "synthetic data; "
            + (
                f"{cv.NEARLY_HALF:.0%} is inside that interval."
                if where == "inside"
                else f"the interval lies {where} {cv.NEARLY_HALF:.0%}."
            )
        )
    c = bench["cost"]
    # every method asked (and the teacher) at every seed asked
    n_all = bench["seeds_asked"] * (1 + len(bench.get("methods_asked", rows)))
    projected = n_all * c["wall_minutes_per_part_mean"] / 2
    text.append(
        f"**Cost.** {c['parts']} finished parts ({c['deep_runs']} deep training runs), "
        f"{c['wall_hours_sum']:.1f} process-hours in all, {c['wall_minutes_per_part_mean']:.1f} min per part on "
        f"one thread, two processes sharing the 2-core machine. At that rate every method and ablation at "
        f"{bench['seeds_asked']} seeds ({n_all} runs with the teachers) would take about {projected:.0f} min: the target of <= 150 min is "
        + ("met." if projected <= 150 else "**not met**, so phase 2 trains the main methods only.")
        + ("" if bench["complete"] else " The run is resumable from its committed parts.")
    )
    return "\n\n".join(text)


def _realism() -> str:
    d = _json("realism_synthetic.json")
    text, corr_diff = _script("realism_synthetic").report(d["ptbxl_norm"], d["synthetic_norm"])
    return (
        f"{text.split(chr(10) * 2)[0]}\n\nMean absolute difference of the 12 x 12 inter-lead correlation matrices "
        f"(off-diagonal): **{corr_diff:.3f}**."
    )


#: block name -> the markdown it holds (without the markers)
TABLES: dict[str, Callable[[], str]] = {
    "bench_quality_quick_baselines": lambda: _quality("bench_quality_quick_baselines.json"),
    "bench_quality_quick_liteheart": lambda: _quality("bench_quality_quick_liteheart.json"),
    "bench_quality_quick_labels10": lambda: _quality(
        "bench_quality_quick_labels10.json", "bench_quality_quick_labels10_classic.json"
    ),
    "bench_quality_ptbxl_liteheart": lambda: _quality("bench_quality_ptbxl_liteheart.json"),
    "bench_quality_quick_evl": lambda: _quality("bench_quality_quick_evl.json"),
    "tune_evl_ecg_quick": _tune_evl,
    "bench_training_quick": _training,
    "bench_kd_step": _kd_step,
    "bench_models": _models,
    "bench_synthetic": _synthetic,
    "bench_edge": _edge,
    "label_sweep_quick": _label_sweep,
    "evl_teachers_quick": _evl_teachers,
    "bench_ot_cost": _ot_cost,
    "bench_gradcam": _gradcam,
    "realism_synthetic": _realism,
    "realism_extended": lambda: _json("realism_synthetic.json")["markdown_extended"],
    "real_gap_ptbxl2k": lambda: _json("real_gap_ptbxl2k.json")["markdown"],
    "calibration_synthetic": lambda: _json("calibration_synthetic.json")["markdown"],
    "ludb_external": lambda: _json("ludb_external.json")["markdown"],
    "bench_quality_ptbxl2k": lambda: cv.markdown(_json("bench_quality_ptbxl2k.json")),
    "bench_quality_converged": lambda: cv.markdown(_json("bench_quality_converged.json")),
    "convergence_synthetic": _convergence,
    "converged_reading": _converged_reading,
    "bench_quality_ptbxl2k_labels10_scenario_a": lambda: cv.markdown(
        _json("bench_quality_ptbxl2k_labels10_scenario_a.json")
    ),
    "bench_quality_ptbxl2k_labels10_scenario_b": lambda: cv.markdown(
        _json("bench_quality_ptbxl2k_labels10_scenario_b.json")
    ),
}


def render(text: str) -> str:
    """``text`` with every table block re-rendered; ConfigError for a block name without a renderer."""

    def one(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise ConfigError(f"README table block {name!r} has no renderer; known: {sorted(TABLES)}")
        return f"<!-- table: {name} -->\n{TABLES[name]().rstrip()}\n<!-- /table -->"

    return BLOCK.sub(one, text)


def stale(text: str) -> list[str]:
    """Names of the blocks whose text differs from their rendering."""
    return [m["name"] for m, r in zip(BLOCK.finditer(text), BLOCK.finditer(render(text))) if m.group(0) != r.group(0)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m ecgkd_lite.bench.readme", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 when a table differs from its JSON")
    ap.add_argument("--readme", default=str(README))
    args = ap.parse_args(argv)
    path = Path(args.readme)
    text = path.read_text()
    if args.check:
        names = stale(text)
        if names:
            print(f"stale README tables: {names}; run python -m ecgkd_lite.bench.readme")
            return 1
        print(f"{len(BLOCK.findall(text))} README tables match their JSON")
        return 0
    path.write_text(render(text))
    print(f"rendered {len(BLOCK.findall(text))} README tables")
    return 0


if __name__ == "__main__":
    sys.exit(main())
