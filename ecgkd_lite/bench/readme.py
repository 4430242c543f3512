"""The README's result tables, rendered from the committed result JSONs.

Every table in the README (and in ``notebooks/README.md``, the reviewer's path) that quotes a result sits between ``<!-- table: NAME -->`` and
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
NOTEBOOKS_README = REPO_ROOT / "notebooks" / "README.md"
#: the files whose result blocks this module renders
FILES = (README, NOTEBOOKS_README)
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
    met = "; ".join(f"{label}: **{t[key]}**" for key, label in TRAINING_TARGETS.items() if key in t)
    data = _edge_data(d)
    v1_only = (
        ""
        if "teacher_auc_at_least_0.95" in t
        else " The teacher-AUC target (>= 0.95) was set for generator v1, whose 12-lead teacher is near "
        "perfect; v2's is imperfect by design (its calibration against ptbxl-2k), so it is not applied."
    )
    lines += [
        "",
        f"Data: {data}. Targets: {met} (gap {t['small_gap']:.3f}). "
        f"Data generation and caching: {d['results']['data']['wall_seconds']:.0f} s.{v1_only}",
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
    n_test = {e["n_test"] for e in d["accuracy"].values()}
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
            f"{parity:.1e} (logits) on {' / '.join(f'{n:,}' for n in sorted(windows))} test windows of "
            f"{_edge_data(d)}. The accuracy changes are scored on {' / '.join(f'{n:,}' for n in sorted(n_test))} "
            f"test records ({_EDGE_TEST.get((d.get('data') or {}).get('accuracy_test'), 'the quick test fold')}). "
            f"Load average (1 min): {load['before'][0]:.1f} before, {load['after'][0]:.1f} after.",
        ]
    )


#: bench_edge.py --accuracy-test -> the records it names
_EDGE_TEST = {
    "converged": "the converged split's new test records, which the quick-profile students never saw",
    "quick": "the quick test fold",
}


def _edge_data(edge: dict) -> str:
    """The data of ``bench_edge.json``'s calibration and accuracy part, named ("generator v2"); a file
    from before the generator was recorded was made on generator v1, the only one then."""
    return cv.generator_of(edge) or "generator v1"


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
        f"{d['n_records']} {_edge_data(d)} records of the {d['model']} student, median {crop['median_s']:.3f} s on "
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


#: issue 14's target for the whole converged benchmark (every method and ablation, 5 seeds, 2 cores)
TARGET_MINUTES = 150


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
    if claim := _liteheart_claim(bench):
        text.append(f"**LiteHeart's claim**, with every label on the synthetic data: {claim}")
    c = bench["cost"]
    # every method asked (and the teacher) at every seed asked
    n_all = bench["seeds_asked"] * (1 + len(bench.get("methods_asked", rows)))
    projected = n_all * c["wall_minutes_per_part_mean"] / 2
    text.append(
        f"**Cost.** {c['parts']} finished parts ({c['deep_runs']} deep training runs), "
        f"{c['wall_hours_sum']:.1f} process-hours in all, {c['wall_minutes_per_part_mean']:.1f} min per part on "
        f"one thread, two processes sharing the 2-core machine. At that rate every method and ablation at "
        f"{bench['seeds_asked']} seeds ({n_all} runs with the teachers) would take about {projected:.0f} min: the target of <= {TARGET_MINUTES} min is "
        + ("met." if projected <= TARGET_MINUTES else "**not met**, so phase 2 trains the main methods only.")
        + ("" if bench["complete"] else " The run is resumable from its committed parts.")
    )
    return "\n\n".join(text)


def _converged_v2_reading() -> str:
    """The converged benchmark on generator v2: what label noise does to the teacher and whether a
    teacher that can be wrong (so has soft targets that differ from the labels) helps a student."""
    v2 = _json("bench_quality_converged_v2.json")
    nf = v2["noise_free"]
    cells = nf["teacher_cells"]["per_class"]
    findings = [c for c in v2["classes"] if c != "NORM" and (cells[c]["n omitted positive"] or 0) >= 10]
    lifted = [c for c in findings if cells[c]["p omitted positive"] > cells[c]["p labelled negative"]]
    mean = {
        k: sum(cells[c][f"p {k}"] for c in findings) / len(findings)
        for k in ("labelled positive", "omitted positive", "labelled negative")
    }
    t, b = v2["methods"]["teacher"], v2["methods"]["baseline"]
    deltas = "; ".join(
        f"{m} {_ci(r['paired_delta_macro_auc'])}"
        for m, r in ((m, nf["methods"][m]) for m in cv.table_order(nf["methods"]))
        if "paired_delta_macro_auc" in r
    )
    return "\n\n".join(
        [
            f"**What the noise does to the teacher.** Label noise changed {nf['labels_changed_by_noise']:.1%} of the "
            f"test labels (record x class). The 12-lead teacher reaches test macro AUC {t['macro_auc_mean']:.3f} against "
            f"the noisy labels and {nf['methods']['teacher']['macro_auc_mean']:.3f} against the noise-free ones (the "
            f"baseline {b['macro_auc_mean']:.3f} and {nf['methods']['baseline']['macro_auc_mean']:.3f}). On the positives "
            f"the coder omitted, its mean probability is {mean['omitted positive']:.2f} against {mean['labelled positive']:.2f} "
            f"on the labelled positives and {mean['labelled negative']:.2f} on the labelled negatives (mean over the "
            f"{len(findings)} findings with at least 10 omissions; higher than on the negatives for {len(lifted)} of them)"
            + (
                ": for most findings its soft targets carry the truth where the hard label lost it, the dark "
                "knowledge v1's perfect teacher could not have."
                if 2 * len(lifted) > len(findings)
                else ": for most findings its soft targets follow the noisy labels."
            ),
            f"**Verdicts on v2.** {cv.reading(v2)} Against the noise-free labels, each model minus the baseline "
            f"(paired 95 % CI): {deltas}." + (f" {claim}" if (claim := _liteheart_claim(v2)) else ""),
            *(
                ["**Ablations on v2.** " + " ".join(cv.ablation_reading(v2, a, where="") for a in ablations)]
                if (ablations := [m for m in v2["methods"] if "-no_" in m])
                else []
            ),
            *([_v2_cost(v2)] if "two_process_minutes" in v2["cost"] else []),
        ]
    )


def _v2_cost(v2: dict) -> str:
    """The measured cost of the converged v2 benchmark against issue 14's 150-minute target."""
    c = v2["cost"]
    total = c["two_process_minutes"] + c["report_minutes"]
    return (
        f"**Cost on v2** (issue 14's target: every method and ablation at {v2['seeds_asked']} seeds in <= "
        f"{TARGET_MINUTES} min on the 2 cores). {c['parts']} parts ({c['deep_runs']} deep runs) took "
        f"{c['part_hours_sum']:.2f} h of one-thread time ({c['part_minutes_mean']:.2f} min per part; "
        f"{c['train_hours_sum']:.2f} h of it training and validation epochs), so {c['two_process_minutes']:.0f} min "
        f"for two one-thread processes on the 2 cores; the report (`--report-only`, paired bootstraps) took "
        f"{c['report_minutes']:.1f} min more: {total:.0f} min in all, "
        + (
            f"within the target of {TARGET_MINUTES}."
            if total <= TARGET_MINUTES
            else f"**over** the target of {TARGET_MINUTES}."
        )
        + _tuned_cost(c)
    )


def _tuned_cost(c: dict) -> str:
    """The equal tuning search and the tuned rows, beside the cost of the table at its defaults."""
    if "tuned_rows" not in c:
        return ""
    t, search = c["tuned_rows"], c["search"]
    return (
        f" Apart from that: the equal tuning search ({search['points']} points of {search['methods']} methods at "
        f"seed 0) took {search['hours_sum']:.2f} h of one-thread time ({search['two_process_minutes']:.0f} min over "
        f"two processes), and the tuned rows' {t['parts']} parts {t['part_hours_sum']:.2f} h "
        f"({t['two_process_minutes']:.0f} min; a tuned row's seed 0 is its search's chosen run, so those parts are "
        "counted in both). The target above is the table at its defaults; the search is a one-off."
    )


def _realism() -> str:
    d = _json("realism_synthetic.json")
    text, corr_diff = _script("realism_synthetic").report(d["ptbxl_norm"], d["synthetic_norm"])
    return (
        f"{text.split(chr(10) * 2)[0]}\n\nMean absolute difference of the 12 x 12 inter-lead correlation matrices "
        f"(off-diagonal): **{corr_diff:.3f}**."
    )


# ---- prose readings of the LiteHeart and EVL-ECG sections (issue 5, issue 6) ----------------------------------
# The quick-profile JSONs hold seed means and standard deviations, no paired interval: a comparison between two
# rows is stated as the difference of their means in pooled seed standard deviations, and called "level" below
# LEVEL_SD of them. "better" / "worse" is used only for rows with a paired bootstrap interval (their verdict).

#: below this many pooled seed standard deviations two rows are called level
LEVEL_SD = 2.0

#: method key -> the README's name for it
METHOD_NAMES = {
    "baseline": "the baseline",
    "vanilla_kd": "vanilla KD",
    "fitnets": "FitNets",
    "attention_transfer": "attention transfer",
    "rkd": "RKD",
    "crd": "CRD",
    "dkd": "DKD",
    "liteheart": "LiteHeart",
    "liteheart-no_region": "LiteHeart without region-aware KD",
    "liteheart-no_mi": "LiteHeart without cross-layer MI",
    "liteheart-no_semi": "LiteHeart without the semi-supervised component",
    "region_aware": "region-aware KD alone",
    "region_aware-uniform": "region-aware KD with uniform weights",
    "cross_layer_mi": "cross-layer MI alone",
    "cross_layer_mi-same_depth": "same-depth MI pairs",
    "evl_ecg": "EVL-ECG",
    "evl_ecg-no_mhca": "removing MHCA",
    "evl_ecg-no_relation": "removing the relation term",
    "evl_ecg-no_ot": "removing OT",
    "hard_pseudo_label": "hard pseudo-labels",
    "mean_teacher": "the mean teacher",
    "baseline-full_labels": "the baseline with every label",
}


def _name(method: str) -> str:
    return METHOD_NAMES.get(method, method)


def _sds(a: dict, b: dict, metric: str = "macro_auc") -> tuple[float, float]:
    """Row ``a``'s mean minus row ``b``'s, and its size in pooled seed standard deviations."""
    diff = a["mean"][metric] - b["mean"][metric]
    pooled = ((a["std"][metric] ** 2 + b["std"][metric] ** 2) / 2) ** 0.5
    return diff, abs(diff) / pooled if pooled > 0 else float("inf")


def _level(a: dict, b: dict, metric: str = "macro_auc") -> bool:
    return _sds(a, b, metric)[1] < LEVEL_SD


def _vs(a: dict, b: dict, metric: str = "macro_auc", digits: int = 3) -> str:
    """``+0.010 (1.6 SD)``: the difference of two rows' means and its size in pooled seed standard deviations."""
    diff, k = _sds(a, b, metric)
    return f"{diff:+.{digits}f} ({k:.1f} SD)"


def _share(v: float) -> str:
    return f"{100 * v:.0f} %"


def _and(items: list[str]) -> str:
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + items[-1] if items else ""


def _seed0_ci(entry: dict) -> str:
    run = next((r for r in entry["runs"] if r.get("seed") == 0), entry["runs"][0])
    lo, hi = run["macro_auc_ci95"]
    return f"{lo:.3f}-{hi:.3f}"


def _merged(*names: str) -> dict:
    (merged,) = merge_results({n: load_result(RESULTS / n) for n in names})
    return merged


#: the issue-5 target: share of the macro-AUC gap closed, macro-F1 lead over the best classic method
LITEHEART_TARGET = {"gap_closed": 0.5, "f1_over_classic": 0.02}


def _liteheart_target(m: dict) -> tuple[bool, bool, str, float]:
    """(AUC part met, F1 part met, best classic method by mean F1, LiteHeart's F1 lead over it)."""
    lh = m["liteheart"]
    best = max((k for k in CLASSIC if k in m), key=lambda k: m[k]["mean"]["macro_f1"])
    lead = lh["mean"]["macro_f1"] - m[best]["mean"]["macro_f1"]
    return (
        lh["gap_closed"]["macro_auc"] >= LITEHEART_TARGET["gap_closed"],
        lead >= LITEHEART_TARGET["f1_over_classic"],
        best,
        lead,
    )


def _tune_liteheart_reading() -> str:
    d = _json("tune_liteheart_quick.json")
    points = [r["point"] for r in d["rows"]]
    grid = lambda key: "{" + ", ".join(f"{v:g}" for v in sorted({p[key] for p in points}, reverse=True)) + "}"  # noqa: E731
    chosen = d["chosen"]
    best = next(r for r in d["rows"] if r["point"] == chosen)
    return (
        f"Weights were chosen on the **validation** fold (`{d['command']}`, seed 0: region {chosen['l_region']:g}, "
        f"MI {chosen['l_mi']:g} from {grid('l_region')} x {grid('l_mi')}; validation macro AUC "
        f"{best['val_macro_auc']:.4f}; `results/tune_liteheart_quick.json`)."
    )


def _liteheart_quick_reading() -> str:
    """The reading of the all-labels LiteHeart table (``bench_quality_quick_liteheart.json``)."""
    r = _merged("bench_quality_quick_liteheart.json", "bench_quality_quick_baselines.json")
    m = r["methods"]
    base, lh = m["baseline"], m["liteheart"]
    parts = [k for k in m if k.startswith(("liteheart", "region_aware", "cross_layer_mi"))]
    far = max(parts, key=lambda k: _sds(m[k], base)[1])
    far_k = _sds(m[far], base)[1]
    parts_text = (
        f"every part is level with it{' too' if _level(lh, base) else ''}: all LiteHeart variants and single parts are within {far_k:.1f} pooled "
        f"seed standard deviations (SD) of the baseline on macro AUC, the farthest being {_name(far)} at "
        f"{_vs(m[far], base)}"
        if far_k < LEVEL_SD
        else f"the farthest of its variants and single parts from the baseline is {_name(far)}, {_vs(m[far], base)} "
        "macro AUC (SD: pooled seed standard deviations)"
    )
    same, cross = m["cross_layer_mi-same_depth"], m["cross_layer_mi"]
    sal, uni = m["region_aware"], m["region_aware-uniform"]
    auc_met, f1_met, best, lead = _liteheart_target(m)
    target_met = auc_met and f1_met
    return (
        f"With every record labeled, LiteHeart closes {_pct(lh['gap_closed']['macro_auc'])} of the gap on macro AUC "
        f"({lh['mean']['macro_auc']:.3f} against the baseline's {base['mean']['macro_auc']:.3f}, a difference of "
        f"{_vs(lh, base)}): it is {'level with' if _level(lh, base) else 'not level with'} the baseline, and "
        f"{parts_text}. Same-depth MI pairs against all cross pairs: {_vs(same, cross)} macro AUC"
        f"{', level' if _level(same, cross) else ''}; the teacher's Grad-CAM map against uniform weights: "
        f"{_vs(sal, uni)}{', inside the noise' if _level(sal, uni) else ''}. **The issue-5 target (>= "
        f"{_share(LITEHEART_TARGET['gap_closed'])} of the gap closed, +{100 * LITEHEART_TARGET['f1_over_classic']:g} F1 "
        f"points over the best classic method) is {'met' if target_met else 'not met'} with all labels** (gap "
        f"closed {_pct(lh['gap_closed']['macro_auc'])}; macro F1 {100 * lead:+.1f} points against {_name(best)}, the "
        "best of the classic methods in `bench_quality_quick_baselines.json` on F1)."
    )


def _labels10_quick_reading() -> str:
    """The reading of the superseded 10 %-label table (the leaky teacher) and of the 5 % row."""
    r = _merged("bench_quality_quick_labels10.json", "bench_quality_quick_labels10_classic.json")
    m = r["methods"]
    base, lh, no_semi = m["baseline"], m["liteheart"], m["liteheart-no_semi"]
    classic = sorted((k for k in CLASSIC if k in m), key=lambda k: -m[k]["gap_closed"]["macro_auc"])
    top = classic[0]
    level = [k for k in classic if _level(m[k], base)]
    listed = ", ".join(f"{_name(k)} {_pct(m[k]['gap_closed']['macro_auc'])}" for k in classic)
    highest = lh["mean"]["macro_auc"] > max(m[k]["mean"]["macro_auc"] for k in classic)
    auc_met, f1_met, best, lead = _liteheart_target(m)
    lh5 = load_result(RESULTS / "bench_quality_quick_labels5.json", required_methods=["liteheart"])
    gap5 = lh5["methods"]["liteheart"]["gap_closed"]["macro_auc"]
    return (
        f"With the leaky teacher, LiteHeart closed {_pct(lh['gap_closed']['macro_auc'])} of the macro-AUC gap "
        f"({base['mean']['macro_auc']:.3f} -> {lh['mean']['macro_auc']:.3f}; 95 % CI of seed 0: {_seed0_ci(lh)}) "
        f"and {_pct(lh['gap_closed']['macro_f1'])} of the F1 gap. "
        + (
            f"Its mean is the highest of every method here; the best classic method, {_name(top)}, is "
            f"{_sds(lh, m[top])[0]:.3f} macro AUC or {_sds(lh, m[top])[1]:.1f} pooled seed standard deviations (SD) "
            "behind"
            if highest
            else f"The best classic method, {_name(top)}, reaches {_pct(m[top]['gap_closed']['macro_auc'])} "
            f"({_vs(m[top], lh)} against LiteHeart; SD: pooled seed standard deviations)"
        )
        + f" (classic methods by gap closed: {listed}"
        + (
            f"; {_and([_name(k) for k in level])} {'is' if len(level) == 1 else 'are'} within {LEVEL_SD:g} SD of "
            "the baseline"
            if level
            else ""
        )
        + "). Removing the semi-supervised component (soft targets + pseudo-labels) moves LiteHeart "
        f"{no_semi['mean']['macro_auc'] - lh['mean']['macro_auc']:+.3f} macro AUC to "
        f"{no_semi['mean']['macro_auc']:.3f}, "
        + (
            f"level with vanilla KD ({_vs(no_semi, m['vanilla_kd'])} against it)."
            if _level(no_semi, m["vanilla_kd"])
            else f"{_vs(no_semi, m['vanilla_kd'])} from vanilla KD, not level with it."
        )
        + f" On macro F1 LiteHeart {'leads' if lead > 0 else 'trails'} the best classic method, {_name(best)}, by "
        f"{100 * lead:+.1f} points ({m[best]['mean']['macro_f1']:.3f} -> {lh['mean']['macro_f1']:.3f}, "
        f"{_sds(lh, m[best], 'macro_f1')[1]:.1f} SD): the +{100 * LITEHEART_TARGET['f1_over_classic']:g}-point F1 part "
        f"of the target is **{'met' if f1_met else 'not met'}**; the "
        f"{_share(LITEHEART_TARGET['gap_closed'])}-of-the-AUC-gap part is **{'met' if auc_met else 'not met'}** "
        f"({_share(lh['gap_closed']['macro_auc'])}; {_share(gap5)} at {_share(lh5['label_ratio'])} labels)."
    )


def _ptbxl_liteheart_reading() -> str:
    """The reading of the 400-record real PTB-XL sample (paired verdicts from the JSON)."""
    r = load_result(RESULTS / "bench_quality_ptbxl_liteheart.json")
    m, data = r["methods"], r["data"]
    stds = [e["std"]["macro_auc"] for e in m.values()]
    means = [e["mean"]["macro_auc"] for e in m.values()]
    by = {v: [k for k in m if m[k].get("verdict") == v] for v in ("better", "worse", "level")}
    named = [
        f"{_and([_name(k) for k in by[v]])} {'is' if len(by[v]) == 1 else 'are'} {v} than the baseline"
        for v in ("worse", "better")
        if by[v]
    ]
    rest = "every other row is level" if named else "every row is level with the baseline"
    return (
        f"On {data['n_train']} training records the seed standard deviation of every student's macro AUC is "
        f"{min(stds):.2f}-{max(stds):.2f}. Paired over the seeds on the same {data['n_test']} test records, "
        f"{'; '.join(named + [rest])} (last two columns); the sample is too small to rank the rest. It shows that the "
        f"recipe runs on real records and where the numbers sit (teacher {r['teacher']['macro_auc']:.3f}, 1-lead "
        f"students {min(means):.2f}-{max(means):.2f})."
    )


def _evl_tune_reading() -> str:
    d = _json("tune_evl_ecg_quick.json")
    c = d["chosen"]
    unit = [
        r for r in d["rows"] if r["point"]["alpha"] == 0.5 and all(r["point"][k] == 1 for k in ("l_m", "l_r", "l_ot"))
    ]
    chosen_val = next(r["val_macro_auc"] for r in d["rows"] if r["point"] == c)
    text = f"Chosen: a = {c['alpha']:g}, l_m = {c['l_m']:g}, l_r = {c['l_r']:g}, l_ot = {c['l_ot']:g} (validation macro AUC {chosen_val:.3f})."
    if unit:
        v = unit[0]["val_macro_auc"]
        text += (
            " With the paper-like a = 0.5 and unit weights the MHCA + relation pair pulls the student's tokens onto "
            f"a few teacher tokens (notebook 09 shows the collapsed attention) and validation AUC "
            f"{'falls' if v < chosen_val else 'is'} {'to ' if v < chosen_val else ''}{v:.2f}."
        )
    return text


def _evl_quick_reading() -> str:
    r = load_result(RESULTS / "bench_quality_quick_evl.json", required_methods=["vanilla_kd", "evl_ecg"])
    m = r["methods"]
    evl, vkd, base = m["evl_ecg"], m["vanilla_kd"], m["baseline"]
    variants = [k for k in m if k.startswith("evl_ecg")]
    top = max(variants, key=lambda k: m[k]["mean"]["macro_auc"])
    lvl = lambda a, b, metric="macro_auc": "level with" if _level(a, b, metric) else "not level with"  # noqa: E731
    return (
        f"EVL-ECG is {lvl(evl, vkd)} vanilla KD ({_vs(evl, vkd)} macro AUC, {_vs(evl, vkd, 'macro_f1')} F1; SD: "
        f"pooled seed standard deviations) and {lvl(evl, base)} the baseline ({_vs(evl, base)} macro AUC); "
        + (
            f"the variant with the highest mean is {_name(top)} ({m[top]['mean']['macro_auc']:.3f}, "
            f"{_vs(m[top], evl)} against the full recipe)."
            if top != "evl_ecg"
            else "the full recipe has the highest mean of its variants."
        )
    )


#: EVL_TEACHERS' files -> the teacher as the reading names it
EVL_TEACHER_NAMES = {
    "bench_quality_quick_evl_patch_teacher.json": "the patch-Transformer teacher",
    "bench_quality_quick_evl.json": "the default ResNet teacher",
    "bench_quality_quick_evl_same_arch.json": "the student's own architecture",
}


def _evl_teacher_rows() -> tuple[list[tuple], list[str]]:
    """(teacher name, teacher AUC, baseline, vanilla KD, EVL-ECG) per teacher, and the teachers with which
    EVL-ECG "beats" vanilla KD: no paired interval in these runs, so a mean lead of at least LEVEL_SD pooled
    seed SD."""
    rows = []
    for name, _, _ in EVL_TEACHERS:
        res = load_result(RESULTS / name, required_methods=["vanilla_kd", "evl_ecg"])
        m = res["methods"]
        rows.append(
            (EVL_TEACHER_NAMES[name], res["teacher"]["macro_auc"], m["baseline"], m["vanilla_kd"], m["evl_ecg"])
        )
    return rows, [label for label, _, _, v, e in rows if _sds(e, v)[0] > 0 and not _level(e, v)]


def _evl_teachers_reading() -> str:
    rows, beats = _evl_teacher_rows()
    (patch, t_patch, base, vkd, evl), *others = rows
    weaker = t_patch < min(t for _, t, *_ in others)
    above_base = [label for label, _, b, _, e in rows if _sds(e, b)[0] > 0 and not _level(e, b)]
    diffs = _and([f"{_vs(e, v)} with {label}" for label, _, _, v, e in rows])
    return (
        f"With the heterogeneous 120-token patch-Transformer teacher ({'a weaker teacher, ' if weaker else ''}"
        f"{t_patch:.3f}), vanilla KD sits {_vs(vkd, base)} macro AUC from the baseline (SD: pooled seed standard "
        f"deviations) while EVL-ECG is {'level with it' if _level(evl, base) else _vs(evl, base) + ' from it'}. "
        f"EVL-ECG minus vanilla KD, macro AUC: {diffs}. Read as a mean lead of at least {LEVEL_SD:g} SD (these runs have no paired "
        'interval), the EVL-ECG target "beats vanilla KD" is '
        + (
            f"met with {_and(beats)} only"
            if beats and len(beats) < len(rows)
            else "met with every teacher"
            if beats
            else "not met with any teacher"
        )
        + ", and EVL-ECG "
        + (
            f"is above the 1-lead baseline with {_and(above_base)}."
            if above_base
            else "does not beat the 1-lead baseline with any teacher."
        )
    )


def _targets_evl_ot() -> str:
    """The EVL-ECG and OT-cost bullets of "What is not done yet, and targets not met"."""
    rows, beats = _evl_teacher_rows()
    diffs = _and([f"{_vs(e, v)} with {label}" for label, _, _, v, e in rows])
    patch, resnet = _json("bench_ot_cost.json"), _json("bench_ot_cost_resnet_teacher.json")
    ot = _and(
        [
            f"{_pct(d['ratio'] - 1)} with the {d['teacher_tokens']}-token teacher "
            f"({'met' if d['target_met'] else 'not met'})"
            for d in (patch, resnet)
        ]
    )
    return (
        "- **EVL-ECG target** (beats vanilla KD on macro AUC): at the quick 6-epoch budget "
        + (f"met with {_and(beats)} only" if beats else "not met with any teacher")
        + f' (EVL-ECG minus vanilla KD: {diffs}; "beats" read as a mean lead of at least {LEVEL_SD:g} pooled seed '
        "standard deviations, SD); at convergence see the converged synthetic table (paired intervals)"
        + _printout_reading()
        + ".\n"
        f"- **OT cost** (<= {_pct(patch['target_ratio'] - 1)} of a step): {ot}."
    )


def _ci(d: dict) -> str:
    return f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"


def _printout_reading() -> str:
    """EVL-ECG from the ECG-image teacher in the converged benchmark, if that row was run."""
    row = _json("bench_quality_converged.json")["methods"].get("evl_ecg@printout")
    if row is None:
        return "; the heterogeneous ECG-image teacher has not been run at convergence"
    vs_default = row.get("paired_delta_vs_default_teacher_macro_auc")
    return (
        f"; from the heterogeneous ECG-image teacher ({len(row['seeds'])} seeds) EVL-ECG minus the baseline is "
        f"{_ci(row['paired_delta_macro_auc'])} ({row['verdict']})"
        + (f" and minus EVL-ECG from the default teacher {_ci(vs_default)}" if vs_default else "")
    )


def _excludes_zero(d: dict) -> bool:
    return d["ci95"][0] > 0 or d["ci95"][1] < 0


def _lead_gap_reading() -> str:
    """Where the synthetic 12-lead to lead-I gap lives, per condition and group: the converged benchmark's
    teacher and baseline, and the logistic regression on lead-I and 12-lead features."""
    bench = _json("bench_quality_converged.json")
    feats = _json("lead_gap_synthetic.json")
    rows, groups = bench["methods"], bench["by_visibility"]["groups"]
    teacher, base = rows["teacher"]["per_class_auc"], rows["baseline"]["per_class_auc"]
    hidden = sorted(groups["not seen"], key=lambda c: base[c])
    per_group = bench["by_visibility"]["teacher_minus_baseline"]
    lr12, lr1 = feats["12-lead"], feats["lead I"]
    return (
        f"Where the gap lives (the converged benchmark, {len(rows['baseline']['seeds'])} seeds, tiny student on "
        f"lead I against the 12-lead teacher, test AUC): the conditions the physiology hides from lead I lose the "
        f"most, "
        + ", ".join(f"{c} {teacher[c]:.3f} -> {base[c]:.3f}" for c in hidden)
        + "; the teacher's lead over the baseline is "
        + "; ".join(f"{_ci(per_group[g])} on the {g} conditions ({len(groups[g])})" for g in GROUP_ORDER)
        + f" (paired 95 % intervals). A logistic regression on median beats and rhythm features "
        f"(`results/lead_gap_synthetic.json`, {feats['n']:,} records) loses the same conditions, "
        + ", ".join(f"{c} {lr12[c]:.3f} -> {lr1[c]:.3f}" for c in hidden)
        + ": the gap is in lead I, not in the student. Notebook 03 trains students on other single leads "
        "(one on lead II recovers the inferior and axis findings, one on V2 the anterior infarct: no single "
        "lead sees everything), and notebooks 03 and 08 restore the other leads from lead I: the chest leads "
        "come back with a high correlation, the inferior ones do not, so what lead I lacks cannot be restored "
        "from lead I either."
    )


#: the visibility groups in the order the readings name them
GROUP_ORDER = ("not seen", "partly seen", "seen")


def _liteheart_claim(result: dict) -> str:
    """LiteHeart's share of the teacher's lead with its paired interval, against the paper's "nearly
    half" (``cv.NEARLY_HALF``); "" when the result has no LiteHeart row."""
    lh = result["methods"].get("liteheart", {}).get("paired_gap_closed_macro_auc")
    if not lh:
        return ""
    where = cv.against_nearly_half(lh)
    return (
        f"LiteHeart closes {lh['estimate']:.0%} of the teacher's lead (95 % interval {lh['ci95'][0]:.0%} to "
        f'{lh["ci95"][1]:.0%}): the paper\'s "nearly half" ({cv.NEARLY_HALF:.0%}) is '
        + ("inside that interval." if where == "inside" else f"{'below' if where == 'above' else 'above'} it.")
    )


def _ptbxl2k_reading() -> str:
    """The reading of the cross-validated real benchmark (verdicts and the split by what lead I sees)."""
    bench = _json("bench_quality_ptbxl2k.json")
    rows, vis = bench["methods"], bench["by_visibility"]
    students = [m for m in cv.table_order(rows) if m in vis["methods"] and m not in cv.FEATURE_MODELS]
    closed = {
        m: vis["methods"][m]["not seen"]["paired_gap_closed_macro_auc"]["estimate"]
        for m in students
        if "paired_gap_closed_macro_auc" in vis["methods"][m]["not seen"]
    }
    top = max(closed, key=closed.get)
    better = [m for m in students if rows[m].get("verdict") == "better"]
    seen_gain = [m for m in better if _excludes_zero(vis["methods"][m]["seen"]["paired_delta_macro_auc"])]
    seen_lead = vis["teacher_minus_baseline"]["seen"]
    effects = []
    for m in cv.table_order(rows):
        d = rows[m].get("paired_delta_vs_full_macro_auc")
        if d and _excludes_zero(d):
            full, _, term = m.partition("-no_")
            effects.append(f"removing `{term}` from {full} {'hurts' if d['ci95'][1] < 0 else 'helps'} ({_ci(d)})")
    return (
        f"What the table says. {cv.reading(bench)} On the classes lead I does not see "
        f"({', '.join(vis['groups']['not seen'])}) the teacher leads the baseline by "
        f"{_ci(vis['teacher_minus_baseline']['not seen'])}, and the distilled students close at most "
        f"{closed[top]:.0%} of that lead ({top}; point estimates). The students that are better overall "
        f"({', '.join(better)}) also gain on the classes lead I sees ({', '.join(seen_gain) or 'none'} by an "
        f"interval that excludes zero), where the teacher's lead over the baseline is {_ci(seen_lead)}: part of "
        "their gain is not 12-lead knowledge but the effect of a second training signal."
        + (f" Against the full recipe (paired, on the seeds both have): {'; '.join(effects)}." if effects else "")
        + (f" {claim}" if (claim := _liteheart_claim(bench)) else "")
    )


def _real_gap_reading() -> str:
    """The reading of the real lead-I gap table (``real_gap_ptbxl2k.json``)."""
    d = _json("real_gap_ptbxl2k.json")
    per_seed = d["per_seed"]
    hidden = [c for c in d["cv"]["per_class"] if c["seen_by_lead_I"] == "not seen"]
    gaps = [c["gap"] for c in hidden]
    cap = d["config"]["epoch_cap"]
    students = [r for r in d["runs"] if r["role"] == "student"]
    at_cap = sum(r["epochs_run"] >= cap for r in students)
    late = sum(r["best_epoch"] > cap - d["config"]["patience"] for r in students)
    return (
        "Probabilities averaged over the seeds enlarge the gap; scored one seed at a time the out-of-fold "
        "macro gap is "
        + ", ".join(f"{per_seed[s]['gap']:.3f}" for s in sorted(per_seed))
        + f" (seeds {', '.join(sorted(per_seed))}). The published figures use other label sets, so only the "
        "size of the gap compares: ours is of the same order as the published relative gaps in the table's "
        f"last rows, and concentrated in the {len(hidden)} classes lead I cannot see "
        f"({', '.join(c['class'] for c in hidden)}: gaps of {min(gaps):.2f}-{max(gaps):.2f}), as the physiology "
        f"predicts. {at_cap} of {len(students)} student runs reached the {cap}-epoch cap and {late} kept a best "
        f"epoch within the last {d['config']['patience']}: the lead-I AUCs may be slightly low."
    )


def _ludb_reading() -> str:
    """The reading of the external validation on LUDB (``ludb_external.json``)."""
    d = _json("ludb_external.json")
    m = d["external_validation"]["macro"]
    fall_t = m["teacher_ptbxl_test_shared"] - m["teacher_ludb"]
    fall_s = m["student_ptbxl_test_shared"] - m["student_ludb"]
    hidden = [
        c["class"] for c in _json("real_gap_ptbxl2k.json")["cv"]["per_class"] if c["seen_by_lead_I"] == "not seen"
    ]
    cam = {r["class"]: r for r in d["gradcam"]["per_class"]}
    rows = [cam[c] for c in hidden if c in cam]
    seeds = len(d["seeds"])
    zero = sum(r["student_zero_maps"] for r in rows)
    maps = sum(r["n_records"] for r in rows) * seeds
    below = [r["class"] for r in rows if r["student_pointing_game"] < r["chance"]]
    above = [r["class"] for r in rows if r["teacher_pointing_game"] > r["chance"]]
    few = d["external_validation"]["bootstrap"]["min_positives_for_ci"]
    return (
        f"Both models lose accuracy on LUDB: over the {len(m['classes'])} shared classes the teacher's macro AUC "
        f"falls by {fall_t:.2f} and the student's by {fall_s:.2f} from the ptbxl-2k test split. For the classes "
        f"lead I does not see ({', '.join(c['class'] for c in rows)}), {zero} of the student's {maps} maps "
        f"({seeds} seeds) are all-zero, so it points inside the annotated QRS less often than chance for "
        f"{', '.join(below) or 'none of them'}, while the teacher points there more often than chance for "
        f"{', '.join(above) or 'none of them'}. Classes with fewer than {few} LUDB positives (no interval in the "
        "table) are anecdotal."
    )


#: the distilled students a scenario reading compares (in this order), and its reference rows
SCENARIO_STUDENTS = ("vanilla_kd", "fitnets", "liteheart", "evl_ecg", "hard_pseudo_label")


def _scenario_reading(name: str) -> str:
    """The reading of one semi-supervised scenario file (real or synthetic): the verdicts, LiteHeart's
    share of the gap against the paper's "nearly half", and what the reference rows say (the mean
    teacher: the unlabeled pool without a 12-lead teacher; every label; the lead-I feature model)."""
    r = _json(name)
    rows = r["methods"]
    est = lambda m: rows[m]["paired_delta_macro_auc"]["estimate"]  # noqa: E731
    students = [m for m in SCENARIO_STUDENTS if "paired_delta_macro_auc" in rows.get(m, {})]
    better = [m for m in students if rows[m]["verdict"] == "better"]
    text = [cv.reading(r)]
    if claim := _liteheart_claim(r):
        text.append(claim)
    mt = rows.get("mean_teacher", {}).get("verdict")
    if mt:
        text.append(
            f"The mean teacher (the same unlabeled pool, no 12-lead teacher) is {mt}"
            + (
                f": the unlabeled pool alone does not explain the gains of {_and([_name(m) for m in better])}."
                if better and mt != "better"
                else "."
            )
        )
    top = max(students, key=est) if students else None  # the best distilled student (point estimate)
    full = rows.get("baseline-full_labels", {}).get("paired_delta_macro_auc")
    if full and top:
        text.append(
            f"The baseline with every label of the students' pool gains {_ci(full)}; the best distilled student "
            f"({_name(top)}) {est(top):+.3f}: "
            + (
                "labels are worth more than distillation here."
                if full["estimate"] > est(top)
                else "as high as what every label gives (point estimates)."
            )
        )
    feat = rows.get("features-lead_I", {}).get("paired_delta_macro_auc")
    if feat and top:
        text.append(
            f"The lead-I logistic regression on beat and rhythm features, trained on the same labeled records, "
            f"gains {_ci(feat)}, "
            + ("above" if feat["estimate"] > est(top) else "below")
            + " the best distilled student's point estimate."
        )
    return " ".join(text)


# ---- notebooks/README.md: the reviewer's path, each paper claim with what the suite found -------------------


def _verdict(result: dict, method: str, field: str = "paired_delta_macro_auc") -> str:
    """``+0.012 [+0.007, +0.017], better, 3 seeds``: a row's paired difference to the baseline (or, with
    ``field="paired_delta_vs_full_macro_auc"``, to its full recipe) from a benchmark JSON."""
    row = result["methods"].get(method)
    if row is None or field not in row:
        return f"`{method}` not run"
    d = row[field]
    if field == "paired_delta_vs_full_macro_auc":
        lo, hi = d["ci95"]
        word = "the term helps" if hi < 0 else "the term hurts" if lo > 0 else "no clear effect"
    else:
        word = row["verdict"]
    n = d.get("seeds_compared", len(row.get("seeds", [])))
    return f"{_ci(d)}, {word}, {n} seed{'s' if n != 1 else ''}"


def _ablation_cell(term: str, family: str) -> str:
    conv, real = _json("bench_quality_converged.json"), _json("bench_quality_ptbxl2k.json")
    name = f"{family}-no_{term}"
    return (
        f"Removing the term, minus the full recipe: converged synthetic {_verdict(conv, name, 'paired_delta_vs_full_macro_auc')}; "
        f"ptbxl-2k {_verdict(real, name, 'paired_delta_vs_full_macro_auc')}"
    )


def _gap_closed(result: dict, method: str) -> str:
    g = result["methods"][method]["paired_gap_closed_macro_auc"]
    return f"{g['estimate']:.0%} [{g['ci95'][0]:.0%}, {g['ci95'][1]:.0%}] ({cv.against_nearly_half(g)} {cv.NEARLY_HALF:.0%})"


def _reviewer_path() -> str:
    """The claim table of ``notebooks/README.md``: each claim, where it is tested, and the finding rendered
    from the result JSONs (paired intervals against the baseline, or against the full recipe for ablations)."""
    conv, real = _json("bench_quality_converged.json"), _json("bench_quality_ptbxl2k.json")
    sa = _json("bench_quality_ptbxl2k_labels10_scenario_a.json")
    sb = _json("bench_quality_ptbxl2k_labels10_scenario_b.json")
    # the synthetic scenario runs that exist: (label, result), v1 then v2
    syn = [
        (f"{name} scenario {k}", _json(f))
        for name, prefix in (("converged synthetic v1", "converged"), ("converged synthetic v2", "converged_v2"))
        for k in "ab"
        if (RESULTS / (f := f"{SCENARIO_FILES[prefix]}_scenario_{k}.json")).exists()
    ]
    v2, edge, gap, ludb = (
        _json("bench_quality_converged_v2.json"),
        _json("bench_edge.json"),
        _json("real_gap_ptbxl2k.json"),
        _json("ludb_external.json"),
    )
    ot_patch, ot_resnet = _json("bench_ot_cost.json"), _json("bench_ot_cost_resnet_teacher.json")
    tiny = next(r for r in edge["models"] if r["model"] == "baseline/tiny")
    int8 = edge["accuracy"]["baseline/tiny"]["ort_int8"]["macro_auc"]
    hidden = [c for c in gap["cv"]["per_class"] if c["seen_by_lead_I"] == "not seen"]
    ext = ludb["external_validation"]["macro"]
    printout = conv["methods"].get("evl_ecg@printout", {})
    nf = v2["noise_free"]["methods"]
    rows = [
        (
            "LiteHeart: region-aware KD",
            '05 · "Does weighting by the map help?", "The verdict at convergence"; 13 · "Grad-CAM"',
            "converged synthetic; ptbxl-2k",
            _ablation_cell("region", "liteheart"),
        ),
        (
            "LiteHeart: cross-layer MI",
            '06 · "Pairing ablation", "The verdict at convergence"',
            "converged synthetic; ptbxl-2k",
            _ablation_cell("mi", "liteheart"),
        ),
        (
            "LiteHeart: semi-supervised training",
            '07 · "Where labels can leak", "Real data: scenarios a and b on `ptbxl-2k`"; 12 · "Where a '
            'teacher pays off: scarce labels"',
            "10 % labeled, scenarios a and b: ptbxl-2k (5-fold CV), converged synthetic",
            f"LiteHeart minus the baseline on the same batches, ptbxl-2k: scenario a {_verdict(sa, 'liteheart')}; "
            f"scenario b {_verdict(sb, 'liteheart')}"
            + "".join(f"; {label}: " + _verdict(r, "liteheart") for label, r in syn)
            + f". Removing the semi-supervised part, minus LiteHeart (ptbxl-2k): scenario a "
            f"{_verdict(sa, 'liteheart-no_semi', 'paired_delta_vs_full_macro_auc')}; scenario b "
            f"{_verdict(sb, 'liteheart-no_semi', 'paired_delta_vs_full_macro_auc')}. The old synthetic sweep's "
            "teacher had seen every label; 07 shows it once, labelled as the leak",
        ),
        (
            "LiteHeart: lead restoration",
            '03 · "Restoration"; 08 · "Per-lead fidelity", "(b) A student that takes the restored leads"',
            "synthetic",
            "Rendered in the notebooks only (per-lead correlation and error of the restored leads, and a student "
            "on the restored leads, one seed): the chest leads come back, the inferior leads do not",
        ),
        (
            'LiteHeart: "closes nearly half of the gap"',
            '12 · "The default data: generator v2", "Each method against the baseline (generator v1)", "Where a '
            'teacher pays off: scarce labels"',
            "converged synthetic v1 and v2 (and its scenarios); ptbxl-2k",
            "LiteHeart's share of the teacher's lead closed (paired 95 % interval): converged synthetic v1 "
            f"{_gap_closed(conv, 'liteheart')}; v2 {_gap_closed(v2, 'liteheart')}; ptbxl-2k all labels "
            f"{_gap_closed(real, 'liteheart')}; ptbxl-2k scenario a {_gap_closed(sa, 'liteheart')}; scenario b "
            f"{_gap_closed(sb, 'liteheart')}"
            + "".join(
                f"; {label} {_gap_closed(r, 'liteheart')}"
                for label, r in syn
                if "paired_gap_closed_macro_auc" in r["methods"].get("liteheart", {})
            ),
        ),
        (
            "LiteHeart: edge efficiency",
            '13 · "Efficiency against accuracy"; 14 · "int8", "Latency against accuracy", "Streaming"',
            f"synthetic ({_edge_data(edge)})",
            f"Tiny student {tiny['params']:,} parameters; static int8 ONNX file {tiny['routes']['ort_int8']['file_bytes']:,} "
            f"bytes, {tiny['routes']['ort_int8']['median_ms']:.3f} ms per window; macro AUC change "
            f"{int8['delta']:+.4f} [{int8['delta_ci95'][0]:+.4f}, {int8['delta_ci95'][1]:+.4f}] "
            "(`results/bench_edge.json`)",
        ),
        (
            "EVL-ECG: MHCA alignment",
            '09 · "Which teacher tokens does each student token read?", "The verdict at convergence"; 11 · ablation',
            "converged synthetic; ptbxl-2k",
            _ablation_cell("mhca", "evl_ecg"),
        ),
        (
            "EVL-ECG: OT feature matching",
            '10 · "A small case against the exact solution", "Our solver equals POT\'s", "What the OT term '
            'costs"; 11 · ablation',
            "toy sets; converged synthetic; ptbxl-2k",
            _ablation_cell("ot", "evl_ecg")
            + f". Step cost {_pct(ot_patch['ratio'] - 1)} with the {ot_patch['teacher_tokens']}-token teacher, "
            f"{_pct(ot_resnet['ratio'] - 1)} with the {ot_resnet['teacher_tokens']}-token one (target "
            f"<= {_pct(ot_patch['target_ratio'] - 1)})",
        ),
        (
            "EVL-ECG: relation matching",
            '11 · "One record", "The ablation"',
            "converged synthetic; ptbxl-2k",
            _ablation_cell("relation", "evl_ecg"),
        ),
        (
            "EVL-ECG: heterogeneous teachers",
            '11 · "Where heterogeneous alignment matters: three teachers"; 12 · "EVL-ECG with a '
            'heterogeneous teacher: the ECG image"',
            "converged synthetic, ECG-image teacher",
            (
                f"EVL-ECG from the ECG-image (printout) teacher minus the baseline: {_verdict(conv, 'evl_ecg@printout')}; "
                f"minus EVL-ECG from the default ResNet teacher: {_ci(printout['paired_delta_vs_default_teacher_macro_auc'])}; "
                f"from the default teacher {_verdict(conv, 'evl_ecg')}"
                if "paired_delta_vs_default_teacher_macro_auc" in printout
                else "The ECG-image teacher has not been run at convergence"
            ),
        ),
        (
            'distillation in general: soft targets carry more than the labels ("dark knowledge") where labels '
            "are noisy",
            '01 · "Generator v2: the data every later notebook uses"; 12 · "The default data: generator v2"',
            "generator v2 (label noise, borderline records), converged protocol",
            "Minus the baseline on the noisy labels: "
            + "; ".join(f"{_name(m)} {_verdict(v2, m)}" for m in ("vanilla_kd", "liteheart", "evl_ecg"))
            + ". On the noise-free labels: "
            + "; ".join(
                f"{_name(m)} {_ci(nf[m]['paired_delta_macro_auc'])}" for m in ("vanilla_kd", "liteheart", "evl_ecg")
            ),
        ),
        (
            "both families on real records",
            '12 · "The real headline table: `ptbxl-2k`, cross-validated"',
            "ptbxl-2k, 5-fold CV, all labels",
            "Minus the baseline: "
            + "; ".join(f"{_name(m)} {_verdict(real, m)}" for m in ("vanilla_kd", "liteheart", "evl_ecg")),
        ),
        (
            "the 12-lead to lead-I gap on real ECGs (what distillation could recover)",
            '03 · "The gap on real ECGs"',
            "ptbxl-2k, 5-fold CV x 3 seeds",
            f"Macro gap {gap['cv']['macro']['gap']:+.3f} out of fold; concentrated in "
            + ", ".join(f"{c['class']} ({c['gap']:+.2f})" for c in hidden)
            + " (`results/real_gap_ptbxl2k.json`)",
        ),
        (
            "real teacher and student on an external set; Grad-CAM against cardiologists' boundaries",
            '13 · "Grad-CAM against cardiologists\' boundaries (LUDB)"',
            "trained on ptbxl-2k, tested on LUDB",
            f"Macro AUC on the shared classes, ptbxl-2k test -> LUDB: teacher {ext['teacher_ptbxl_test_shared']:.3f} -> "
            f"{ext['teacher_ludb']:.3f}, student {ext['student_ptbxl_test_shared']:.3f} -> {ext['student_ludb']:.3f} "
            "(`results/ludb_external.json`)",
        ),
    ]
    lines = [
        "| paper claim | tested in (notebook · section) | data | what the suite found (paired 95 % interval, verdict, seeds) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in rows]
    return "\n".join(lines)


#: the semi-supervised scenario files of each data set (``<prefix>_scenario_{a,b}.json``)
SCENARIO_FILES = {
    "ptbxl2k": "bench_quality_ptbxl2k_labels10",
    "converged": "bench_quality_converged_labels10",
    "converged_v2": "bench_quality_converged_v2_labels10",
}

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
    "calibration_synthetic_deep": lambda: _json("calibration_synthetic_deep.json")["markdown"],
    "calibration_synthetic_deep_matched": lambda: _json("calibration_synthetic_deep_matched.json")["markdown"],
    "ludb_external": lambda: _json("ludb_external.json")["markdown"],
    "bench_quality_ptbxl2k": lambda: cv.markdown(_json("bench_quality_ptbxl2k.json")),
    "bench_quality_converged": lambda: cv.markdown(_json("bench_quality_converged.json")),
    "convergence_synthetic": _convergence,
    "bench_quality_converged_v2": lambda: cv.markdown(_json("bench_quality_converged_v2.json")),
    "converged_v2_reading": _converged_v2_reading,
    "converged_reading": _converged_reading,
    "bench_quality_ptbxl2k_labels10_scenario_a": lambda: cv.markdown(
        _json("bench_quality_ptbxl2k_labels10_scenario_a.json")
    ),
    "bench_quality_ptbxl2k_labels10_scenario_b": lambda: cv.markdown(
        _json("bench_quality_ptbxl2k_labels10_scenario_b.json")
    ),
    "tune_liteheart_reading": _tune_liteheart_reading,
    "liteheart_quick_reading": _liteheart_quick_reading,
    "labels10_quick_reading": _labels10_quick_reading,
    "ptbxl_liteheart_reading": _ptbxl_liteheart_reading,
    "evl_tune_reading": _evl_tune_reading,
    "evl_quick_reading": _evl_quick_reading,
    "evl_teachers_reading": _evl_teachers_reading,
    "targets_evl_ot": _targets_evl_ot,
    "lead_gap_reading": _lead_gap_reading,
    "ptbxl2k_reading": _ptbxl2k_reading,
    "real_gap_reading": _real_gap_reading,
    "ludb_reading": _ludb_reading,
    "reviewer_path": _reviewer_path,
    **{
        f"scenario_reading_{data}_{k}": functools.partial(
            lambda f, k: f"**Reading scenario {k}.** " + _scenario_reading(f), f"{prefix}_scenario_{k}.json", k
        )
        for data, prefix in SCENARIO_FILES.items()
        for k in "ab"
    },
    **{
        f"{prefix}_scenario_{k}": functools.partial(lambda f: cv.markdown(_json(f)), f"{prefix}_scenario_{k}.json")
        for prefix in (SCENARIO_FILES["converged"], SCENARIO_FILES["converged_v2"])
        for k in "ab"
    },
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
    ap.add_argument(
        "--readme", action="append", help=f"file(s) to render (default: {', '.join(f.name for f in FILES)})"
    )
    args = ap.parse_args(argv)
    paths = [Path(p) for p in args.readme] if args.readme else list(FILES)
    status = 0
    for path in paths:
        text = path.read_text()
        if args.check:
            names = stale(text)
            if names:
                print(f"stale tables in {path}: {names}; run python -m ecgkd_lite.bench.readme")
                status = 1
            else:
                print(f"{len(BLOCK.findall(text))} tables in {path} match their JSON")
            continue
        path.write_text(render(text))
        print(f"rendered {len(BLOCK.findall(text))} tables in {path}")
    return status


if __name__ == "__main__":
    sys.exit(main())
