# %% [markdown]
# # 02 · The high-cost teacher: a 12-lead 1-D ResNet
#
# ## Learning goals
#
# - Train (or load from the cache) the 12-lead teacher that every later notebook distils from.
# - Write the multi-label BCE loss and the shared training recipe (crops, AdamW, one-cycle, sliding
#   windows at evaluation).
# - Measure how good the teacher is on generator v2, with a bootstrap interval: good but imperfect,
#   as a real teacher is, because it learns from noisy labels, rare classes and borderline records.
# - Score it against the noise-free labels beside the observed ones, and say how much of its
#   shortfall is the labels' and how much its own.
# - Find out **which leads it relies on** for each condition: the knowledge a 1-lead student will be
#   missing.
#
# ## Prerequisites
#
# - notebook 00 (the teacher-student idea);
# - notebook 01 (the data, the 12 leads, generator v2's noisy labels, the splits).
#
# **Model.** `resnet1d/small`: an xresnet1d-style network (Strodthoff et al. 2021, the PTB-XL
# benchmark's best family): a stem of three convolutions, four residual stages that halve time, global
# average pooling, a linear head. Multi-label output: one sigmoid per condition, trained with binary
# cross-entropy on logits $z$ and multi-hot labels $y$:
#
# $$ \mathcal{L}_{\text{BCE}} = -\frac{1}{C}\sum_{c=1}^{C} \big[y_c \log \sigma(z_c) + (1-y_c)\log(1-\sigma(z_c))\big]. $$
#
# The labels $y$ are the *observed* ones (generator v2's, with their coding noise): a teacher learns
# from the labels a data set has, not from the truth.
#
# **Recipe** (shared by every model in the suite, see `ecgkd_lite.experiment`): random crops of
# `ctx.profile.crop_seconds` (`2.5 s` in the quick profile), AdamW with a one-cycle schedule, the
# epoch with the best validation macro AUC kept; evaluation on sliding windows of the crop length
# (stride half a window, `1.25 s`) whose probabilities are averaged per record.

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from ecgkd_lite import experiment
from ecgkd_lite.edge import count_parameters
from ecgkd_lite.plots import mark_axis_break, method_color, method_label, save_figure, series_colors

prep = experiment.prepare(ctx.source, profile=ctx.profile)
print(prep)

# %% [markdown]
# The teacher is trained once per data set and configuration and then reused from the cache
# (`.cache/models/teacher-...`), so this cell takes about a minute the first time and a second after.

# %%
# NBVAL_CHECK_OUTPUT
teacher = experiment.train_teacher(prep)
model = teacher.model
print(f"teacher: {model.config['name']}/{model.config['size']}, {count_parameters(model):,} parameters")
print(f"trained {len(teacher.history)} epochs; best epoch {teacher.best_epoch}")
print("feature layers (hooked by name):", model.feature_layers)

# %% [markdown]
# ## Learning curves

# %%
hist = teacher.history.to_frame()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.5))
ax1.plot(hist.index, hist["train_bce"], marker="o", color=method_color("teacher"))  # the teacher's one loss curve
ax1.set(xlabel="epoch", ylabel="training BCE (mean over labels)", title="training loss")
ax1.set_ylim(bottom=0)
metric_colours = series_colors(2)  # metrics, not methods
ax2.plot(hist.index, hist["val_macro_auc"], marker="o", color=metric_colours[0], label="macro AUC")
ax2.plot(hist.index, hist["val_map"], marker="s", color=metric_colours[1], label="MAP")
ax2.set(xlabel="epoch", ylabel="validation score", title="validation (fold 9)")
mark_axis_break(ax2)  # the scores start far above 0
ax2.legend()
fig.suptitle(f"{method_label('teacher')}: learning curves (1 seed: seed 0)")
fig.tight_layout()
save_figure(fig, "02_teacher_learning_curves")
plt.show()

# %% [markdown]
# ## Test performance
#
# Per-class decision thresholds for F1 are tuned on the validation fold only; the test fold is used
# once. The 95 % interval comes from bootstrap resamples of the test records (`n_boot=1000`). The
# check below asks for a *good but imperfect* teacher: a macro AUC far above chance (`0.5`) and short
# of perfect, since with noisy observed labels no teacher scores near `1`. The band, `0.75-0.97`, is
# wide on purpose, so that a run on another machine gives the same answer.

# %%
# NBVAL_CHECK_OUTPUT
import logging

from ecgkd_lite.evaluate import bootstrap_ci

logging.getLogger("ecgkd_lite.evaluate.bootstrap").setLevel(logging.ERROR)  # its skip count is printed below
report = experiment.evaluate_model(model, prep, return_probs=True)
ci = bootstrap_ci(prep.test.labels, report["probs"], "macro_auc", n_boot=1000, seed=0)
print(f"macro AUC {report['macro_auc']:.3f} (95 % CI {ci[0]:.3f}-{ci[1]:.3f}) | macro F1 {report['macro_f1']:.3f} "
      f"| MAP {report['map']:.3f}")
print("good but imperfect teacher (0.75 < macro AUC < 0.97):", 0.75 < report["macro_auc"] < 0.97)
print("classes without a positive in the test fold:", report["missing_classes"] or "none")
print(f"resamples skipped (a class without a positive or negative in the resample): {ci.n_skipped} of 1000")

# %%
from IPython.display import Markdown, display

positives = pd.Series(prep.test.labels.sum(0).astype(int), index=list(prep.classes))
rarest = positives.idxmin()
display(Markdown(
    f"The teacher reaches test macro AUC **{report['macro_auc']:.3f}** (95 % interval {ci[0]:.3f}-{ci[1]:.3f}), "
    f"macro F1 **{report['macro_f1']:.3f}** and MAP **{report['map']:.3f}** with **{count_parameters(model):,}** "
    f"parameters. The test fold's classes have from **{positives.min()}** (**{rarest}**) to **{positives.max()}** "
    f"(**{positives.idxmax()}**) positives; a class with a handful of positives has a noisy AUC, and a bootstrap "
    "resample that happens to draw none of them leaves that class's AUC undefined (the note above counts them)."
))

# %%
auc = report["per_class_auc"]
fig, ax = plt.subplots(figsize=(9, 3.4))
ax.bar(range(len(auc)), auc.values, color=method_color("teacher"), edgecolor="black", linewidth=0.5)
ax.axhline(0.5, color="0.4", lw=0.8, ls="--", label="chance (0.5)")
ax.set_xticks(range(len(auc)), [f"{c}\n({positives[c]})" for c in auc.index], fontsize=8)
ax.set_ylim(0, 1.02)  # from 0: no bar is cut, however low
ax.set(xlabel="condition (test positives)", ylabel="test AUC",
       title=f"{method_label('teacher')}: per-class AUC on the test fold, 1 seed (seed 0)")
ax.legend(loc="lower right", fontsize=8)
fig.tight_layout()
save_figure(fig, "02_teacher_per_class_auc")
plt.show()

# %% [markdown]
# ## Scored against the noise-free labels
#
# Generator v2 keeps the truth beside the labels (`prep.test.meta["true_<class>"]`, notebook 01). The
# observed test labels have the same noise as the training labels: a record whose finding the coder
# omitted counts as a negative, so a teacher that ranks it high is marked wrong *for being right*.
# Scoring the same probabilities against both label sets separates the two: the difference (AUC
# against the truth minus AUC against the observed labels) is what noisy *test* labels cost the
# teacher's score. What noisy *training* labels cost it is a different question; it would need a
# second teacher trained on the truth, which this notebook does not train.
# `label_noise_view` also gives the teacher's mean probability in each (truth, label) cell.

# %%
from ecgkd_lite.evaluate.noise import label_noise_view, true_labels

y_true = true_labels(prep.test, ctx.source)  # generator v1 has no label noise: its labels are the truth
view = label_noise_view(prep.test.labels, y_true, report["probs"], prep.classes)
noise_cost = pd.DataFrame({
    "positives observed": view["n labelled positive"] + view["n false positive"],
    "positives true": view["n labelled positive"] + view["n omitted positive"],
    "AUC observed labels": view["AUC seen labels"],
    "AUC true labels": view["AUC true labels"],
})
noise_cost["true - observed"] = noise_cost["AUC true labels"] - noise_cost["AUC observed labels"]
macro_seen, macro_true = view["AUC seen labels"].mean(), view["AUC true labels"].mean()
print(noise_cost.round(3).to_string())
print(f"macro AUC: observed labels {macro_seen:.3f} | true labels {macro_true:.3f}")

# %%
# NBVAL_CHECK_OUTPUT
print("macro AUC higher against the true labels than against the observed ones:", macro_true > macro_seen)
print("classes with fewer than 10 true test positives:", int((noise_cost["positives true"] < 10).sum()))

# %%
order = noise_cost.sort_values("AUC observed labels", ascending=False).index
x = np.arange(len(order))
fig, ax = plt.subplots(figsize=(9.5, 3.8))
ax.vlines(x, noise_cost.loc[order, "AUC observed labels"], noise_cost.loc[order, "AUC true labels"],
          color="0.6", lw=1.5, zorder=1)
ax.plot(x, noise_cost.loc[order, "AUC observed labels"], "o", color="black", ms=6, label="against the observed labels")
ax.plot(x, noise_cost.loc[order, "AUC true labels"], "o", mfc="white", mec="black", mew=1.2, ms=6,
        label="against the true (noise-free) labels")
ax.axhline(0.5, color="0.4", lw=0.8, ls="--", label="chance (0.5)")
lowest = float(noise_cost[["AUC observed labels", "AUC true labels"]].min().min())
ax.set_ylim(min(0.45, np.floor(20 * lowest) / 20 - 0.05), 1.02)  # below the lowest dot and chance
ax.set_xticks(x, [f"{c}\n({int(noise_cost.loc[c, 'positives true'])})" for c in order], fontsize=8)
ax.set(xlabel="condition (true test positives)", ylabel="test AUC",
       title=f"{method_label('teacher')}: the same probabilities scored two ways, 1 seed (seed 0)")
mark_axis_break(ax)
ax.legend(loc="lower left", fontsize=8)
fig.tight_layout()
save_figure(fig, "02_teacher_true_vs_observed_auc")
plt.show()

# %%
import json

from ecgkd_lite.config import REPO_ROOT

cost = noise_cost["true - observed"].dropna().sort_values(ascending=False)
few = noise_cost.index[noise_cost["positives true"] < 10].tolist()
findings = view.drop(index="NORM")  # NORM is derived ("no other finding"): its errors are the findings' errors
omitted = int(findings["n omitted positive"].sum())
p_cell = {cell: float((findings[f"p {cell}"] * findings[f"n {cell}"]).sum() / max(findings[f"n {cell}"].sum(), 1))
          for cell in ("labelled positive", "omitted positive", "labelled negative")}
bench_v2 = json.loads((REPO_ROOT / "results" / "bench_quality_converged_v2.json").read_text())
conv_seen = bench_v2["methods"]["teacher"]["macro_auc_mean"]
conv_true = bench_v2["noise_free"]["methods"]["teacher"]["macro_auc_mean"]
if (y_true != prep.test.labels).any():
    text = (
        f"Against the true labels the teacher's macro AUC is **{macro_true:.3f}**, against the observed ones "
        f"**{macro_seen:.3f}**: noisy test labels cost its score **{macro_true - macro_seen:.3f}**. The difference "
        f"is largest for {', '.join(f'**{c}** ({d:+.2f})' for c, d in cost.head(3).items())}. "
    )
else:  # generator v1 (ECGKD_GENERATOR=v1): no label noise
    text = (f"This session's data ({ctx.source}) has no label noise: its observed labels are the truth, so both "
            f"scores are **{macro_seen:.3f}**. ")
if few:
    text += (f"{', '.join(f'**{c}**' for c in few)} {'has' if len(few) == 1 else 'have'} fewer than ten true "
             "test positives: one record either way moves such an AUC by hundredths. ")
if omitted:
    text += (f"The **{omitted}** findings the coder omitted get a mean probability of "
             f"**{p_cell['omitted positive']:.2f}**, against **{p_cell['labelled negative']:.3f}** for the labelled "
             f"negatives and **{p_cell['labelled positive']:.2f}** for the labelled positives (pooled over the "
             "findings, NORM left out): ")
    text += ("the teacher ranks many of them with the positives they are, which its soft targets carry and "
             "the hard labels lack. " if p_cell["omitted positive"] > 3 * p_cell["labelled negative"]
             else "the teacher scores them little above the negatives. ")
text += (
    "Even against the truth the teacher stays below `1`: the rest of its shortfall is its own (a short "
    "quick-profile training, rare classes, findings near their thresholds). For scale, the converged "
    f"benchmark on generator v2 ({len(bench_v2['methods']['teacher']['seeds'])} seeds, "
    f"`results/bench_quality_converged_v2.json`) scores its teacher **{conv_seen:.3f}** against the observed "
    f"and **{conv_true:.3f}** against the true labels."
)
display(Markdown(text))

# %% [markdown]
# ## What each lead contributes: the lead-drop test
#
# Zero one lead at a time (inputs are standardised, so zero is that lead's training mean) and
# measure the AUC drop per class. Large drops would say which leads the teacher *needs*. The 12 leads
# are redundant: only eight are independent, and all are projections of one 3-D dipole, so most of
# what is lost with one lead is still in its neighbours (aVF is nearly II + III; V2 nearly between V1
# and V3). Read the colour scale, and the largest drop printed below, with the test positives of its
# class in mind: on a class with a handful of positives, one record moves the AUC by hundredths.

# %%
import seaborn as sns
from ecgkd_lite.evaluate import keep_only, lead_drop

window = dict(window_seconds=ctx.profile.crop_seconds, stride_seconds=ctx.profile.crop_seconds / 2)
drop = lead_drop(model, prep.test, predict_kwargs=window)
fig, ax = plt.subplots(figsize=(10, 4.5))
span = float(np.nanmax(np.abs(drop.drop(columns="macro").to_numpy())))  # drops can be negative: a symmetric scale
sns.heatmap(drop.drop(columns="macro"), cmap="vlag", center=0, vmin=-span, vmax=span, ax=ax,
            cbar_kws={"label": "AUC drop (negative: better without the lead)"})
ax.set(xlabel="condition", ylabel="zeroed lead",
       title=f"{method_label('teacher')}: AUC lost when one lead is removed, 1 seed (seed 0)")
ax.tick_params(axis="y", rotation=0)  # lead names side by side, not stacked into each other
ax.grid(False)  # grid lines would cross the cells
save_figure(fig, "02_teacher_lead_drop")
plt.show()

# %% [markdown]
# The converse: keep **only lead I** and zero the other eleven. The teacher was never trained for
# that, so this is not what a 1-lead model can reach (notebook 03 trains one), but it shows how much
# of the teacher's reasoning runs through the other leads.

# %%
# NBVAL_CHECK_OUTPUT
only_I = keep_only(model, prep.test, "I", predict_kwargs=window)
cmp = pd.DataFrame({"12 leads": auc, "lead I only (zeros elsewhere)": only_I}).round(2)
print(cmp.to_string())
print(f"macro: {auc.mean():.2f} -> {only_I.mean():.2f}")
print(f"largest single-lead drop: {drop.drop(columns='macro').to_numpy().max():.3f}")
print("12 leads above lead I alone by more than 0.1 macro AUC:", auc.mean() - only_I.mean() > 0.1)

# %%
per_class_drop = drop.drop(columns="macro")
lead_max, class_max = per_class_drop.stack().idxmax()
lead_min, class_min = per_class_drop.stack().idxmin()
largest, most_negative = per_class_drop.to_numpy().max(), per_class_drop.to_numpy().min()
broken = int((only_I < 0.7).sum())
display(Markdown(
    f"Removing any one lead costs at most **{largest:.3f}** AUC on any condition (lead **{lead_max}** on "
    f"**{class_max}**, a class with **{positives[class_max]}** test positives); the largest drop of the macro "
    f"AUC is **{drop['macro'].max():.3f}**. "
    + (f"Some drops are negative, down to **{most_negative:.3f}** (lead **{lead_min}** on **{class_min}**, "
       f"**{positives[class_min]}** test positives)"
       + (": with so few positives a zeroed lead reorders a few records either way, so read such cells as "
          "noise. " if positives[class_min] < 20 else ". ") if most_negative < 0 else "")
    + f"Keeping lead I alone takes the macro AUC from **{auc.mean():.3f}** to "
    f"**{only_I.mean():.3f}**, and **{broken}** of the **{len(only_I)}** classes fall below `0.7`."
))

# %% [markdown]
# ## The teacher on real ECGs
#
# The same recipe on real records: `benchmarks/real_gap_ptbxl2k.py` trains a 12-lead
# `resnet1d/small` teacher on `ptbxl-2k` (real PTB-XL records, notebook 01) with `5`-fold
# cross-validation and three seeds, and scores it on the records of each held-out fold (out-of-fold)
# and on the source's own test split (the hold-out, scored with the fold models' mean). It takes hours
# on a CPU, so the notebook reads its committed result `results/real_gap_ptbxl2k.json`; notebook 03
# shows the lead-I student beside it.
#
# Two caveats before comparing the panels:
#
# - **The labels differ.** The real classes are the PhysioNet/CinC Challenge's scored rhythms, axes,
#   blocks and wave abnormalities; the synthetic ones are the generator's conditions. A class name in
#   one panel is not a class of the other.
# - **Both are long-tailed.** Generator v2 takes its prevalences from this real cohort (notebook 01),
#   so in both panels a class can be on many records or on a handful (the ranges are printed below
#   the figure). An AUC from a few positives is noisy, and the hold-out's AUC of a class with one or
#   two positives says almost nothing. The JSON keeps bootstrap intervals of the 12-lead minus lead-I
#   *gap* (notebook 03), not of each model's AUC, so none are drawn here: read the prevalence row
#   under each dot instead.

# %%
from ecgkd_lite.plots import plot_class_auc

real_gap = json.loads((REPO_ROOT / "results" / "real_gap_ptbxl2k.json").read_text())
n_pool, n_hold = real_gap["data"]["pool_train_val"], real_gap["data"]["holdout_test"]
oof = pd.DataFrame(real_gap["cv"]["per_class"]).set_index("class")
hold = pd.DataFrame(real_gap["holdout"]["per_class"]).set_index("class")
real_auc = pd.DataFrame({f"out-of-fold ({n_pool:,} records)": oof["auc_12"],
                         f"hold-out test ({n_hold} records)": hold["auc_12"],
                         "prevalence": 100 * oof["positives"] / n_pool})
syn_prev = 100 * pd.Series(prep.test.labels.mean(0), index=list(prep.classes))
syn_auc = pd.DataFrame({f"test fold ({len(prep.test):,} records)": auc, "prevalence": syn_prev})
fig = plot_class_auc({f"synthetic teacher, {ctx.source} (this notebook, 1 seed: seed 0)": syn_auc,
                      f"real teacher on ptbxl-2k ({len(real_gap['seeds'])} seeds averaged)": real_auc},
                     title="The 12-lead teacher per class: synthetic conditions against real ptbxl-2k classes")
save_figure(fig, "02_teacher_real_vs_synthetic_auc")
plt.show()

# %%
oof_auc = oof["auc_12"].sort_values()
weak = oof_auc[oof_auc < 0.8]
weak_syn = auc[auc < 0.8].sort_values()
rare_n = int((oof["positives"] < 0.02 * n_pool).sum())
syn_findings = syn_prev.drop("NORM")
display(Markdown(
    f"On real ECGs the teacher's out-of-fold macro AUC is **{real_gap['cv']['macro']['auc_12']:.3f}** over "
    f"**{len(oof)}** classes (hold-out test **{real_gap['holdout']['macro']['auc_12']:.3f}**), against "
    f"**{auc.mean():.3f}** on the synthetic test fold. Per class it ranges from **{oof_auc.iloc[0]:.2f}** "
    f"(**{oof_auc.index[0]}**) to **{oof_auc.iloc[-1]:.3f}** (**{oof_auc.index[-1]}**); "
    f"**{len(weak)}** real classes stay below 0.8 ({', '.join(f'**{c}**' for c in weak.index)}), and "
    f"**{len(weak_syn)}** synthetic ones do ({', '.join(f'**{c}**' for c in weak_syn.index) or 'none'}). The real "
    f"prevalences run from **{100 * oof['positives'].min() / n_pool:.1f} %** to "
    f"**{100 * oof['positives'].max() / n_pool:.0f} %** of the records, **{rare_n}** classes on fewer than 2 % "
    f"of them; the synthetic findings of the test fold run from **{syn_findings.min():.1f} %** "
    f"(**{syn_findings.idxmin()}**) to **{syn_findings.max():.1f} %** (**{syn_findings.idxmax()}**), with `NORM` on "
    f"**{syn_prev['NORM']:.0f} %**. The weak classes are subtle, rare or noisily labelled ones"
    + (f" (the weakest real one, **{oof_auc.index[0]}**, is beat-to-beat rate variation, which a "
       f"{real_gap['config']['crop_seconds']} s training crop barely holds)" if oof_auc.index[0] == "SA" else "")
    + ", not a broken teacher: a teacher is only as good as the labels and the positives it learned from."))

# %% [markdown]
# ## Takeaways
#
# - On generator v2 the 12-lead teacher is good but imperfect, as real teachers are: it learns from
#   noisy labels, some classes have a handful of positives, and borderline records sit on both sides
#   of a threshold. Its per-class AUCs are uneven, on synthetic and real ECGs alike.
# - Part of its shortfall is the labels', not the teacher's: scored against the noise-free labels the
#   same probabilities rate higher, and the positives the coder omitted get probabilities above the
#   labelled negatives. That is the "dark knowledge" a distilled student can inherit and a student
#   trained on the hard labels cannot.
# - The gap a 1-lead student leaves (notebook 03) is measured against this imperfect teacher and on
#   the same noisy labels; a student can at best approach what the teacher knows, and where the
#   teacher is weak (rare or subtle classes) distillation has little to pass on.
# - The leads are redundant: zeroing any one of them costs the teacher little, because its
#   neighbours carry the same projections of the dipole.
# - Keeping lead I alone (zeros elsewhere) drops the teacher far below its 12-lead macro AUC: it was
#   never trained on such input, and it reasons with the *directions* the other leads see. A 1-lead
#   model has to be trained on lead I itself (notebook 03), and the teacher can only help it in
#   training.
#
# ## Exercises
#
# - **Another lead alone.** Call `keep_only(model, prep.test, "II", predict_kwargs=window)` and
#   compare it with the lead-I column. Which conditions recover, and which get worse?
# - **The interval.** Recompute `bootstrap_ci` with `n_boot=200` and with another `seed`: how much do
#   the interval's ends move, and what does that say about its third decimal?
# - **Omitted positives.** From `view`, compare per class the teacher's mean probability on the omitted
#   positives (`p omitted positive`) with that on the labelled positives and the labelled negatives.
#   For which classes does the teacher "disagree with the coder" most, and how many records is each
#   mean built on?
#
# Solutions: `notebooks/solutions/02_teacher.md`.
