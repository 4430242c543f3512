# %% [markdown]
# # 02 · The high-cost teacher: a 12-lead 1-D ResNet
#
# ## Learning goals
#
# - Train (or load from the cache) the 12-lead teacher that every later notebook distils from.
# - Write the multi-label BCE loss and the shared training recipe (crops, AdamW, one-cycle, sliding
#   windows at evaluation).
# - Check that the teacher is strong (macro AUC `>= 0.95` on the synthetic test fold), with a
#   bootstrap interval.
# - Find out **which leads it relies on** for each condition: the knowledge a 1-lead student will be
#   missing.
#
# ## Prerequisites
#
# - notebook 00 (the teacher-student idea);
# - notebook 01 (the data, the 12 leads, the splits).
#
# **Model.** `resnet1d/small`: an xresnet1d-style network (Strodthoff et al. 2021, the PTB-XL
# benchmark's best family): a stem of three convolutions, four residual stages that halve time, global
# average pooling, a linear head. Multi-label output: one sigmoid per condition, trained with binary
# cross-entropy on logits $z$ and multi-hot labels $y$:
#
# $$ \mathcal{L}_{\text{BCE}} = -\frac{1}{C}\sum_{c=1}^{C} \big[y_c \log \sigma(z_c) + (1-y_c)\log(1-\sigma(z_c))\big]. $$
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
from ecgkd_lite.plots import mark_axis_break, method_color, save_figure, series_colors

prep = experiment.prepare("synthetic", profile=ctx.profile)
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
fig.suptitle("Teacher learning curves (1 seed: seed 0)")
fig.tight_layout()
save_figure(fig, "02_teacher_learning_curves")
plt.show()

# %% [markdown]
# ## Test performance
#
# Per-class decision thresholds for F1 are tuned on the validation fold only; the test fold is used
# once. The 95 % interval comes from bootstrap resamples of the test records (`n_boot=1000`).

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.evaluate import bootstrap_ci

report = experiment.evaluate_model(model, prep, return_probs=True)
ci = bootstrap_ci(prep.test.labels, report["probs"], "macro_auc", n_boot=1000, seed=0)
print(f"macro AUC {report['macro_auc']:.3f} (95 % CI {ci[0]:.3f}-{ci[1]:.3f}) | macro F1 {report['macro_f1']:.3f} "
      f"| MAP {report['map']:.3f}")
print("teacher macro AUC >= 0.95:", report["macro_auc"] >= 0.95)
print("classes without a positive in the test fold:", report["missing_classes"] or "none")

# %%
from IPython.display import Markdown, display

display(Markdown(f"The teacher reaches test macro AUC **{report['macro_auc']:.3f}** "
                 f"(95 % interval {ci[0]:.3f}-{ci[1]:.3f}), macro F1 **{report['macro_f1']:.3f}** and "
                 f"MAP **{report['map']:.3f}** with **{count_parameters(model):,}** parameters."))

# %%
auc = report["per_class_auc"]
fig, ax = plt.subplots(figsize=(9, 3))
ax.bar(auc.index, auc.values, color="#1b1b1b")
ax.set_ylim(0.8, 1.005)
ax.set(xlabel="condition", ylabel="test AUC", title="Teacher: per-class AUC on the test fold, 1 seed (seed 0)")
mark_axis_break(ax)  # the bars start at 0.8, not 0
plt.xticks(rotation=45)
fig.tight_layout()
save_figure(fig, "02_teacher_per_class_auc")
plt.show()

# %% [markdown]
# ## What each lead contributes: the lead-drop test
#
# Zero one lead at a time (inputs are standardised, so zero is that lead's training mean) and
# measure the AUC drop per class. Large drops would say which leads the teacher *needs*.
#
# What it shows: **no single lead matters much** (look at the colour scale, and the largest drop
# printed below). The 12 leads are redundant: only eight are independent, and all are projections of one
# 3-D dipole, so the information lost with one lead is still in its neighbours (aVF is nearly
# II + III; V2 nearly between V1 and V3). What the 1-lead student loses is not one lead but the
# *directions* lead I cannot see, as the next cell shows.

# %%
import seaborn as sns
from ecgkd_lite.evaluate import keep_only, lead_drop

window = dict(window_seconds=ctx.profile.crop_seconds, stride_seconds=ctx.profile.crop_seconds / 2)
drop = lead_drop(model, prep.test, predict_kwargs=window)
fig, ax = plt.subplots(figsize=(10, 4.5))
sns.heatmap(drop.drop(columns="macro"), cmap="rocket_r", vmin=0, ax=ax, cbar_kws={"label": "AUC drop"})
ax.set(xlabel="condition", ylabel="zeroed lead", title="Teacher: AUC lost when one lead is removed, 1 seed (seed 0)")
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

# %%
display(Markdown(f"Removing any one lead costs at most **{drop.drop(columns='macro').to_numpy().max():.3f}** AUC "
                 f"on any condition; keeping lead I alone takes the macro AUC from **{auc.mean():.3f}** to "
                 f"**{only_I.mean():.3f}**."))

# %% [markdown]
# ## The teacher on real ECGs
#
# The synthetic teacher is strong on conditions we generated. The same recipe on real records:
# `benchmarks/real_gap_ptbxl2k.py` trains a 12-lead `resnet1d/small` teacher on `ptbxl-2k` (real
# PTB-XL records, notebook 01) with `5`-fold cross-validation and three seeds, and scores it on the
# records of each held-out fold (out-of-fold) and on the source's own test split (the hold-out, scored
# with the fold models' mean). It takes hours on a CPU, so the notebook reads its committed result
# `results/real_gap_ptbxl2k.json`; notebook 03 shows the lead-I student beside it.
#
# Two caveats before comparing the panels:
#
# - **The labels differ.** The real classes are the PhysioNet/CinC Challenge's scored rhythms, axes,
#   blocks and wave abnormalities; the synthetic ones are the generator's conditions. A class name in
#   one panel is not a class of the other.
# - **The prevalences are long-tailed.** A synthetic condition sits on a similar share of records;
#   a real class can be on most records or on a handful. An AUC from a few positives is noisy, and the
#   hold-out's AUC of a class with one or two positives says almost nothing. The JSON keeps bootstrap
#   intervals of the 12-lead minus lead-I *gap* (notebook 03), not of each model's AUC, so none are
#   drawn here: read the prevalence row under each dot instead.

# %%
import json

from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.plots import plot_class_auc

real_gap = json.loads((REPO_ROOT / "results" / "real_gap_ptbxl2k.json").read_text())
n_pool, n_hold = real_gap["data"]["pool_train_val"], real_gap["data"]["holdout_test"]
oof = pd.DataFrame(real_gap["cv"]["per_class"]).set_index("class")
hold = pd.DataFrame(real_gap["holdout"]["per_class"]).set_index("class")
real_auc = pd.DataFrame({f"out-of-fold ({n_pool:,} records)": oof["auc_12"],
                         f"hold-out test ({n_hold} records)": hold["auc_12"],
                         "prevalence": 100 * oof["positives"] / n_pool})
syn_auc = pd.DataFrame({f"test fold ({len(prep.test):,} records)": auc,
                        "prevalence": 100 * pd.Series(prep.test.labels.mean(0), index=list(prep.classes))})
fig = plot_class_auc({"synthetic teacher (this notebook, 1 seed: seed 0)": syn_auc,
                      f"real teacher on ptbxl-2k ({len(real_gap['seeds'])} seeds averaged)": real_auc},
                     title="The 12-lead teacher per class: synthetic conditions against real ptbxl-2k classes")
save_figure(fig, "02_teacher_real_vs_synthetic_auc")
plt.show()

# %%
oof_auc = oof["auc_12"].sort_values()
weak = oof_auc[oof_auc < 0.8]
rare_n = int((oof["positives"] < 0.02 * n_pool).sum())
display(Markdown(
    f"On real ECGs the teacher's out-of-fold macro AUC is **{real_gap['cv']['macro']['auc_12']:.3f}** over "
    f"**{len(oof)}** classes (hold-out test **{real_gap['holdout']['macro']['auc_12']:.3f}**), against "
    f"**{auc.mean():.3f}** on the synthetic test fold. Per class it ranges from **{oof_auc.iloc[0]:.2f}** "
    f"(**{oof_auc.index[0]}**) to **{oof_auc.iloc[-1]:.3f}** (**{oof_auc.index[-1]}**); "
    f"**{len(weak)}** classes stay below 0.8 ({', '.join(f'**{c}**' for c in weak.index)}). The real prevalences run "
    f"from **{100 * oof['positives'].min() / n_pool:.1f} %** to **{100 * oof['positives'].max() / n_pool:.0f} %** of the records, and "
    f"**{rare_n}** of the classes are on fewer than 2 % of them. The weak classes are subtle or rare ones"
    + (f" (the weakest, **{oof_auc.index[0]}**, is beat-to-beat rate variation, which a "
       f"{real_gap['config']['crop_seconds']} s training crop barely holds)" if oof_auc.index[0] == "SA" else "")
    + ", not a broken teacher: a teacher is only as good as the labels and the positives it learned from."))

# %% [markdown]
# ## Takeaways
#
# - The 12-lead teacher is strong on the synthetic test fold, so the gap a 1-lead student leaves is
#   not the teacher's weakness.
# - The leads are redundant: zeroing any one of them costs the teacher almost nothing, because its
#   neighbours carry the same projections of the dipole.
# - Keeping lead I alone (zeros elsewhere) breaks the teacher on most conditions: it was never
#   trained on such input, and it reasons with the *directions* the other leads see. A 1-lead model
#   has to be trained on lead I itself (notebook 03), and the teacher can only help it in training.
# - On real ECGs (`ptbxl-2k`) the same recipe gives a good but uneven teacher: strong on rhythms,
#   blocks and axis classes, weak on subtle or rare ones, whose few positives also make their AUCs
#   noisy. A student distilled from it inherits that unevenness.
#
# ## Exercises
#
# - **Another lead alone.** Call `keep_only(model, prep.test, "II", predict_kwargs=window)` and
#   compare it with the lead-I column. Which conditions recover, and which get worse?
# - **The interval.** Recompute `bootstrap_ci` with `n_boot=200` and with another `seed`: how much do
#   the interval's ends move, and what does that say about its third decimal?
#
# Solutions: `notebooks/solutions/02_teacher.md`.
