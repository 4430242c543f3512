# %% [markdown]
# # 12 · The benchmark and the ablations
#
# ## Learning goals
#
# * read a benchmark table with seeds: mean ± std, a bootstrap interval, and the *gap closed*;
# * tell an ablation difference that is evidence from one that is seed noise;
# * find the setting where a teacher pays off (few labels) with a label-ratio sweep;
# * check whether synthetic-trained models, and their ranking, survive real PTB-XL records;
# * read the real, cross-validated headline table with paired intervals, and say "better" only where
#   the interval allows it.
#
# ## Prerequisites
#
# This builds on notebooks 03-11: the baseline student, the classic baselines (notebook 04),
# LiteHeart's components (notebooks 05-08) and EVL-ECG's terms (notebooks 09-11).
#
# **Idea.** One table that answers the project's question: how much of the 12-lead teacher's lead
# over the 1-lead student does each distillation method close, under an identical training budget?
# Then the ablations (which part of LiteHeart and EVL-ECG carries the effect), the label-ratio sweep
# (where a teacher pays off), and an external check on real PTB-XL records.
#
# Every number here is read from the stored benchmark JSONs in `results/` (each carries the command,
# commit, date and machine that made it), or from cached `seed=0` models; nothing is trained here.
# The runner is `ecgkd bench quality`: one teacher (12 leads, `seed=0`), then for every method and
# seed a `cnn_transformer`/tiny student on lead I with the same data, epochs, optimiser, schedule
# and seed; only the loss terms differ. Each metric is reported as mean ± std over the seeds
# (how many is printed below), with
#
# $$ \text{gap closed} = \frac{m_{\text{method}} - m_{\text{baseline}}}{m_{\text{teacher}} - m_{\text{baseline}}}, $$
#
# so a gap closed of $0$ is the plain 1-lead student and $1$ (shown as a percentage) is the teacher;
# negative means the method hurt.
#
# Several runs feed one table: methods from files that share the data fingerprint, the teacher,
# the student and the label ratio are merged (`ecgkd_lite.bench.report.merge_results`; a method
# comes from the first declared file that holds it); a file with another setting is its own table.
# Set `RERUN_BENCHMARK = True` to rebuild a missing required file here (slow: each file is a full
# benchmark run, tens of minutes on a small CPU).

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from ecgkd_lite.bench import CLASSIC, markdown_table
from ecgkd_lite.bench.report import (BENCHMARK_FILES, SWEEP_METHODS, find_setting, headline_frame, label_sweep_frame,
                                     load_benchmarks, merge_results, missing_methods, write_report)
from ecgkd_lite.plots import mark_axis_break, method_color, plot_gap_closed, save_figure

RERUN_BENCHMARK = False
loaded, missing = load_benchmarks(rerun=RERUN_BENCHMARK)
merged = merge_results(loaded)
headline = find_setting(merged)  # synthetic data, the default teacher, every label

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(loaded)} of {len(BENCHMARK_FILES)} declared result files found, {len(merged)} distinct settings")
print(f"headline setting: {headline['student']['arch']}/{headline['student']['size']} on lead I, teacher "
      f"{headline['teacher']['arch']}/{headline['teacher']['size']}, {headline['seeds']} seeds, made by:")
for name, info in headline["files"].items():
    print(f"  {info['command']}  (commit {(info['git_commit'] or '?')[:8]}, {info['date'][:10]})")
print()
print(markdown_table(headline))
print("\nmissing methods:", missing_methods(headline) or "none")
for note in headline["conflicts"]:
    print("conflict:", note)
md, js = write_report(headline, missing_files=[f.name for f in missing])
print("written:", md.name, "and", js.name)

# %% [markdown]
# The same table is in `reports/benchmark_table.md` and, with every column, in
# `reports/benchmark.json`. The 95 % interval is a bootstrap over test records for `seed=0`,
# so it measures the test set's sampling noise, not the seed-to-seed spread (the ±).
#
# ## Gap closed
#
# One bar per method, the error bar the std of the per-seed gap. On this axis the baseline sits at
# zero and the teacher at the whole gap (the axis label says so); the teacher's dashed line is drawn
# only when a bar comes near it, so that it does not squash the bars.

# %%
fig = plot_gap_closed(headline)
save_figure(fig, "12_gap_closed")
plt.show()

# %% [markdown]
# ## Ablations: which part carries the effect?
#
# Each family's full recipe against the same recipe with one term removed (`-no_<term>`). The
# difference is in macro AUC points ($\times 100$); with this few seeds a difference smaller than about one
# standard deviation of either row is not evidence either way.

# %%
# NBVAL_CHECK_OUTPUT
frame = headline_frame(headline).set_index("model")
rows = []
for family in ("liteheart", "evl_ecg"):
    for variant in [family] + sorted(m for m in frame.index if m.startswith(family + "-no_")):
        rows.append({"family": family, "variant": variant,
                     "macro AUC": f"{frame.loc[variant, 'macro_auc_mean']:.4f} ± {frame.loc[variant, 'macro_auc_std']:.4f}",
                     "Δ vs full (×100)": 100 * (frame.loc[variant, "macro_auc_mean"] - frame.loc[family, "macro_auc_mean"]),
                     "gap closed AUC (%)": 100 * frame.loc[variant, "gap_closed_macro_auc"]})
print(pd.DataFrame(rows).round(1).to_string(index=False))

# %%
from IPython.display import Markdown, display

pts = lambda k, f: 100 * (frame.loc[k, "macro_auc_mean"] - frame.loc[f, "macro_auc_mean"])
sd = lambda k: 100 * frame.loc[k, "macro_auc_std"]
pairs = [(k, f) for f in ("liteheart", "evl_ecg") for k in sorted(frame.index) if k.startswith(f + "-no_")]
z = {k: pts(k, f) / max(sd(k), sd(f)) for k, f in pairs}
abl = "; ".join(f"`{k}` {pts(k, f):+.1f} ({z[k]:+.1f} std)" for k, f in pairs)
beyond = [k for k in z if abs(z[k]) > 2]
classic_best = max((m for m in frame.index if m in CLASSIC), key=lambda m: frame.loc[m, "macro_auc_mean"])
auc = lambda k: f"{frame.loc[k, 'macro_auc_mean']:.3f} ± {frame.loc[k, 'macro_auc_std']:.3f}"
display(Markdown(
    f"**Reading.** With every record labeled, the ablation differences (macro AUC points against the full "
    f"recipe; in brackets the same in units of the larger std of the two rows) are: {abl}. "
    + (f"Only {', '.join(f'`{k}`' for k in beyond)} exceeds two standard deviations, with {len(z)} comparisons "
       "on this few seeds: suggestive, not proof; the rest are noise. " if beyond else
       "Each is within two seed standard deviations: none is clear evidence. ")
    + f"Neither full recipe (LiteHeart {auc('liteheart')}, EVL-ECG "
    f"{auc('evl_ecg')}) beats the best classic method (`{classic_best}` {auc(classic_best)}) or the baseline "
    f"({auc('baseline')}) by more than the spread here: with noise-free labels and a near perfect teacher "
    "(notebook 04) there is little for a teacher to add. The next two sections show the setting where there is."))

# %% [markdown]
# ## Label-ratio sweep
#
# The same comparison when only part of the training records carry labels (the ratios are printed
# below; one split per ratio, `labeled_unlabeled_split(ratio, seed=0)`, shared by every method and seed).
# The baseline learns from the labeled records alone; the KD methods also use the unlabeled pool
# through their label-free terms; the teacher always has every label. Lines are the mean over seeds,
# bands ± one std.

# %%
# NBVAL_CHECK_OUTPUT
sweep = label_sweep_frame(merged, headline, methods=SWEEP_METHODS)
ratios = sorted(sweep["label_ratio"].unique())
print("label ratios found:", ", ".join(f"{r:.0%}" for r in ratios))
print(sweep[["label_ratio", "n_labeled", "method", "macro_auc_mean", "macro_auc_std", "macro_f1_mean"]]
      .round(4).to_string(index=False))

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for method in SWEEP_METHODS:
    part = sweep[sweep["method"] == method]
    x, mean, std = 100 * part["label_ratio"], part["macro_auc_mean"], part["macro_auc_std"]
    ax.plot(x, mean, marker="o", color=method_color(method), label=method)
    ax.fill_between(x, mean - std, mean + std, color=method_color(method), alpha=0.2, lw=0)
ax.axhline(headline["teacher"]["macro_auc"], color=method_color("teacher"), ls="--", lw=0.9, label="teacher (12 leads)")
ax.set_xscale("log")
ax.set_xticks([100 * r for r in ratios], [f"{r:.0%}" for r in ratios])
ax.minorticks_off()
ax.set(xlabel="labeled share of the training records", ylabel="test macro AUC",
       title="Macro AUC against the label ratio (mean ± std over seeds)")
mark_axis_break(ax)
ax.legend(fontsize=8)
save_figure(fig, "12_label_sweep")
plt.show()

# %% [markdown]
# ## Every method with a tenth of the labels (`label_ratio=0.1`)
#
# The setting where a teacher has something to give: a tenth of the training records carry labels,
# the rest are unlabeled (the counts are printed below). Every classic method and LiteHeart with the
# identical recipe and seeds.

# %%
# NBVAL_CHECK_OUTPUT
ten = find_setting(merged, label_ratio=0.1)
print("files:", ", ".join(ten["files"]))
print(f"labeled training records: {ten['n_labeled']}, seeds: {ten['seeds']}")
print(markdown_table(ten))
best_classic = max((m for m in ten["methods"] if m in CLASSIC), key=lambda m: ten["methods"][m]["mean"]["macro_f1"])
margin = ten["methods"]["liteheart"]["mean"]["macro_f1"] - ten["methods"][best_classic]["mean"]["macro_f1"]
print(f"\nbest classic method on macro F1: {best_classic}; LiteHeart's margin: {100 * margin:+.1f} F1 points")
print(f"LiteHeart gap closed: macro AUC {ten['methods']['liteheart']['gap_closed']['macro_auc']:.0%}, "
      f"macro F1 {ten['methods']['liteheart']['gap_closed']['macro_f1']:.0%}")

# %%
T = ten["methods"]
gc = lambda m, k="macro_auc": T[m]["gap_closed"][k]
helps = [m for m in T if m in CLASSIC and gc(m) > 0]
hurts = [m for m in T if m in CLASSIC and gc(m) <= 0]
best_auc = max((m for m in T if m in CLASSIC), key=gc)
lh, bc = T["liteheart"], T[best_classic]
spread_f1 = max(lh["std"]["macro_f1"], bc["std"]["macro_f1"])
display(Markdown(
    f"At `label_ratio={ten['label_ratio']}`, the classic methods with a positive gap closed on macro AUC are "
    f"{', '.join(f'`{m}` ({gc(m):.0%})' for m in helps) or 'none'}; not helping: "
    f"{', '.join(f'`{m}` ({gc(m):.0%})' for m in hurts) or 'none'}. The best classic method closes "
    f"**{gc(best_auc):.0%}** of the AUC gap (`{best_auc}`); LiteHeart closes **{gc('liteheart'):.0%}** of the AUC gap "
    f"and **{gc('liteheart', 'macro_f1'):.0%}** of the F1 gap. Its F1 margin over `{best_classic}` "
    f"({100 * margin:+.1f} points) is "
    + ("inside one standard deviation" if abs(margin) <= spread_f1 else "larger than one standard deviation")
    + f" (std {100 * lh['std']['macro_f1']:.1f} and {100 * bc['std']['macro_f1']:.1f} points), so it is not a clear "
    "lead. The sweep above shows whether the ordering holds at the other ratios and where the KD gain is largest."))

# %% [markdown]
# ## External validation on real PTB-XL records
#
# Models trained on the synthetic data are run, unchanged, on the PTB-XL sample (the first records of
# PTB-XL at its low sampling rate, band-passed like the training data and scaled with the *training* scaler). The synthetic
# classes map onto PTB-XL's diagnostic superclasses by name (NORM) or by their superclass (AMI and
# IMI -> MI, LVH -> HYP, ...); a superclass's score is the maximum over its member classes
# (`bench.quality.external_validation`). A benchmark JSON made with `--eval-data ptbxl` stores this
# as its `external` block; otherwise it is computed here for the `seed=0` teacher, baseline,
# vanilla KD and LiteHeart models (loaded from the cache).

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite import experiment
from ecgkd_lite.bench.quality import external_validation
from ecgkd_lite.bench.report import external_frame
from ecgkd_lite.config import shared_data_dir

EXTERNAL_METHODS = ("baseline", "vanilla_kd", "liteheart")
stored = [(name, res["external"]) for name, res in loaded.items() if "external" in res]
external, root = None, shared_data_dir() / "ptbxl-mini"
if stored:
    print("external block from", stored[0][0])
    external = stored[0][1]
elif not root.exists():
    print(f"skipped: no benchmark JSON has an external block and the PTB-XL sample is absent "
          f"(expected under shared_data_dir() / 'ptbxl-mini')")
else:
    prep = experiment.prepare("synthetic", profile=ctx.profile)
    teacher = experiment.train_teacher(prep)
    cache = experiment.teacher_cache(prep, teacher)
    students = {(m, 0): experiment.train_student(prep, m, size="tiny", seed=0, teacher=teacher, cache=cache).model
                for m in EXTERNAL_METHODS}
    external = external_validation(prep, teacher.model, students, "ptbxl", root)
    print("computed here for seed 0 of", ", ".join(EXTERNAL_METHODS))
if external is not None:
    print(f"{external['data']}: {external['n_records']} records, classes {external['classes']}, "
          f"left out {external['left_out'] or 'none'}")
    ext_table = external_frame(external)
    print(ext_table.round(3).to_string(index=False))

# %%
if external is not None:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.2, 1]})
    xs = np.arange(len(ext_table))
    ax1.bar(xs, ext_table["macro_auc_mean"], yerr=ext_table["macro_auc_std"], capsize=3,
            color=[method_color(m) for m in ext_table["model"]], edgecolor="black", linewidth=0.5)
    ax1.axhline(0.5, color="black", ls=":", lw=0.9, label="chance")
    ax1.set_xticks(xs, ext_table["model"], rotation=30, ha="right")
    ax1.set(ylim=(0, 1), ylabel="macro AUC on PTB-XL\n(mean ± std over seeds)",
            title="trained on synthetic, tested on PTB-XL")
    ax1.legend(fontsize=8)
    per_class = external["teacher"]["per_class_auc"]
    shown = [c for c in external["classes"] if per_class.get(c) is not None]
    ax2.bar(range(len(shown)), [per_class[c] for c in shown], color=method_color("teacher"))
    ax2.axhline(0.5, color="black", ls=":", lw=0.9)
    ax2.set_xticks(range(len(shown)), shown)
    ax2.set(ylim=(0, 1), xlabel="PTB-XL superclass", ylabel="test AUC",
            title="teacher (one model, no error bars), per superclass")
    save_figure(fig, "12_external_validation")
    plt.show()

# %%
if external is not None:
    e = ext_table.set_index("model")["macro_auc_mean"]
    students = [m for m in e.index if m != "teacher"]
    order = " > ".join(f"{m} {e[m]:.3f}" for m in e.sort_values(ascending=False).index)
    display(Markdown(
        f"**Reading.** On {external['n_records']} real records the synthetic-trained teacher reaches macro AUC "
        f"**{e['teacher']:.3f}** and the 1-lead students {min(e[students]):.3f}-{max(e[students]):.3f} (chance 0.5): "
        f"far above chance, far below their synthetic scores. The ordering is {order} (seed 0 only, no interval: "
        "treat the order as a hint, not a ranking), so distillation does not make the transfer to real "
        "data worse. The synthetic generator imitates the shape of each finding, not the variability of real "
        "patients, recording devices and noise, so a large drop is the expected outcome; the check is whether "
        "distillation makes the drop worse."))
else:
    display(Markdown("**Reading.** The PTB-XL sample is absent, so the external check was skipped here."))

# %% [markdown]
# ## The real headline table: `ptbxl-2k`, cross-validated
#
# The synthetic tables above rank nothing on real ECGs. The real benchmark
# (`ecgkd bench quality --data ptbxl2k`, `ecgkd_lite.bench.cv`) trains the same students on the
# labeled pool of `ptbxl-2k` (its source training and validation records; the pool size and fold
# count are printed below) in cross-validation folds, so every record is predicted once by a
# model that never saw it; every model stops when its validation AUC stops improving. Its verdicts
# come from a **paired** bootstrap: the same resampled records for the method and the baseline, seed
# by seed, so the interval is of the *difference*, not of each model on its own:
#
# $$ \Delta_b = \frac{1}{S}\sum_s \mathrm{AUC}(\text{method}_s; b) - \frac{1}{S}\sum_s \mathrm{AUC}(\text{baseline}_s; b). $$
#
# A method is called *better* only when the $95\,\%$ interval of $\Delta$ lies above zero, *worse* when
# it lies below, and *level* otherwise. The table is read from `results/bench_quality_ptbxl2k.json`;
# if that file is absent or incomplete, the cells say so.

# %%
# NBVAL_CHECK_OUTPUT
import json

from ecgkd_lite.bench.cv import markdown as cv_markdown
from ecgkd_lite.config import REPO_ROOT

real_path = REPO_ROOT / "results" / "bench_quality_ptbxl2k.json"
real = json.loads(real_path.read_text()) if real_path.exists() else None
if real is None:
    print(f"not run yet: {real_path.name} is absent (ecgkd bench quality --data ptbxl2k --root ...)")
else:
    print("made by:", real["command"], "| commit", (real["git_commit"] or "?")[:8], "|", real["date"][:10])
    print(f"pool {real['n_pool']} records, hold-out {real['n_holdout']}, {real['setting']['k']} folds; "
          f"complete: {real['complete']}; best classic method (chosen on validation): "
          f"{real['best_classic']['method']}")
    display(Markdown(cv_markdown(real)))

# %%
if real is not None:
    from ecgkd_lite.plots import plot_paired_deltas

    deltas = {m: r["paired_delta_macro_auc"] for m, r in real["methods"].items() if "paired_delta_macro_auc" in r}
    fig = plot_paired_deltas(deltas, xlabel="out-of-fold macro AUC minus the baseline's (paired 95 % interval)",
                             title="ptbxl-2k, 5-fold CV: each method minus the 1-lead baseline")
    save_figure(fig, "12_real_paired_deltas")
    plt.show()

# %%
if real is not None:
    rows = real["methods"]
    verdicts = {v: [m for m, r in rows.items() if r.get("verdict") == v] for v in ("better", "level", "worse")}
    gap = rows["baseline"]["paired_gap_to_teacher_macro_auc"]
    display(Markdown(
        f"**Reading.** On real records the 12-lead teacher leads the 1-lead baseline by "
        f"{gap['estimate']:.3f} out-of-fold macro AUC (paired 95 % interval {gap['ci95'][0]:.3f} to "
        f"{gap['ci95'][1]:.3f}). Better than the baseline, by an interval that excludes zero: "
        f"{', '.join(verdicts['better']) or 'no method'}; level: {', '.join(verdicts['level']) or 'none'}; "
        f"worse: {', '.join(verdicts['worse']) or 'none'}. "
        + ("" if real["complete"] else "The run is **not complete** yet (see the seeds column): methods with one "
           "seed are compared on that seed only, and the verdicts may change with the others.")))

# %% [markdown]
# ## Takeaways
#
# * With every label, no KD method clearly beats the plain 1-lead student on this data: the
#   differences are of the size of the seed spread.
# * Ablations with a few seeds rarely separate a term's effect from noise; render the spread with
#   every difference.
# * With few labels the teacher pays off: methods that pass its outputs on unlabeled records close
#   part of the gap, LiteHeart most, though not clearly more than the best classic method.
# * Synthetic-trained models transfer to real PTB-XL records far above chance but far below their
#   synthetic scores; distillation does not make that worse.
# * On real records (`ptbxl-2k`, cross-validated) a method is "better" only where the paired interval of
#   its difference to the baseline excludes zero; the reading above names which ones are.
#
# ## Exercises
#
# * **Gap closed on another metric.** Redraw the gap-closed bars for `macro_f1` and `map` from
#   `headline_frame(headline)`. Expect the same ordering with larger error bars, since the gap on
#   F1 is larger and noisier.
# * **How many seeds?** For the label-ratio sweep, compute for each KD method and ratio the difference
#   to the baseline divided by the larger std. At which ratios does it exceed two? Expect the
#   smallest ratios.
# * **Per-class external AUC.** Print `external["methods"][m]` for each student and compare the
#   per-superclass AUCs with the teacher's. Expect the classes lead I sees poorly (MI, HYP) to drop most.
