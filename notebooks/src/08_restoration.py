# %% [markdown]
# # 08 · LiteHeart, part 4: restoring 12 leads from lead I, in the loop
#
# **Learning goals.**
#
# * train-and-load a lead-restoration net and write its loss (MSE + L1);
# * measure restoration fidelity per lead (Pearson r, RMSE) and explain which leads lead I can and
#   cannot predict;
# * test whether restored leads carry diagnostic information the teacher or a student can use;
# * price the restoration on the device (parameters, FLOPs, latency).
#
# **Prerequisites.** notebook 01 (the leads, the scaler, the synthetic conditions and how much of
# each lead I shows), notebook 02 (the 12-lead teacher), notebook 03 (the 1-lead student baseline and
# evaluation), notebook 05 (LiteHeart).
#
# **Method.** A wearable records lead I. A small network can *estimate* the other eleven leads from
# it (LiteHeart, Zhou et al., arXiv 2511.02851, Fig. 1d), because the 12 leads are projections of one
# cardiac dipole. This notebook asks what that estimate is worth: how close the restored leads are
# to the real ones, whether the **12-lead teacher** can read restored leads, whether a **student
# that takes restored leads** beats the 1-lead student, and what the restoration costs in latency.
#
# ## The restoration net (stated choices)
#
# A 1-D U-Net (`unet1d/tiny`) maps lead I, $x_I \in \mathbb{R}^{1 \times T}$, to all 12 leads
# $\hat x \in \mathbb{R}^{12 \times T}$. It is trained on the **training folds' 12-lead records only**
# (never validation or test), on the same training crops, scaling and budget as the students, with
#
# $$ \mathcal{L}_{\text{rest}} = \frac{1}{LT}\lVert \hat x - x \rVert_2^2 + \frac{1}{LT}\lVert \hat x - x \rVert_1 ,
#    \qquad L = 12, $$
#
# (mean squared error plus mean absolute error over leads and samples), and the epoch with the best
# validation Pearson r (mean over the restored leads) is kept. It is reported per lead: Pearson r
# (shape, per record, averaged) and RMSE in mV (the scaler undone). Lead I is the input, so its r is
# $1$ by construction and is not averaged in. The net records the sampling rate and crop length it was
# trained on, and refuses other data (last section). Restored leads are an *estimate*: never "lead I
# copied to every lead", and never better than the information lead I carries.

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
import pandas as pd
import torch
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from matplotlib.patches import Patch

from ecgkd_lite import experiment
from ecgkd_lite.bench.cv import source_visibility
from ecgkd_lite.data.conditions import CONDITIONS
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.data.synthetic_v2 import SEVERITY
from ecgkd_lite.edge import count_flops, count_parameters, measure_latency
from ecgkd_lite.plots import mark_axis_break, method_color, save_figure
from ecgkd_lite.train.restoration import RestoredInputModel, restoration_scores, restore_dataset, restore_prepared

prep = experiment.prepare(ctx.source, profile=ctx.profile)
teacher = experiment.train_teacher(prep)
restoration = experiment.train_restoration(prep, size="tiny")
net = restoration.model
print(prep)
print(f"restoration net: {net.config['name']}/{net.config['size']}, {count_parameters(net):,} parameters, "
      f"trained at {net.trained_fs:g} Hz on {net.trained_samples}-sample crops, best epoch {restoration.best_epoch}")

# %% [markdown]
# ## The restored data set
#
# `restore_prepared` runs the net over lead I of every split and returns the same records (ids,
# labels, folds, ground-truth regions) with restored 12 leads, in the same scaled space. The result
# is kept in the data cache under a fingerprint of the net's weights and the source split, so the
# models trained on it are found again in the model cache.
#
# The figure after it draws one test record of the class `SHOW`. On generator v2 a record's label
# can be noisy and its finding borderline, so the cell takes, among the records whose observed *and*
# noise-free labels both have the class, the one with the most severe finding: a clear example, not
# a typical one.

# %%
# NBVAL_CHECK_OUTPUT
restored = restore_prepared(prep, net, input_leads=["I"])
std, mean = prep.scaler.std[:, 0], prep.scaler.mean[:, 0]  # per lead: back to mV for figures and RMSE
print(restored)
for name in ("train", "val", "test"):
    real, rest = prep.split(name), restored.split(name)
    same = (np.array_equal(real.record_ids, rest.record_ids) and np.array_equal(real.labels, rest.labels)
            and np.array_equal(real.folds, rest.folds))
    print(f"{name:<5} {rest.signals.shape}  same records, labels and folds: {same}  "
          f"last step: {rest.preprocessing[-1]}")

# %%
SHOW = "AMI"  # the class of the record drawn below
NAME = {c.code: c.name for c in CONDITIONS}
meta = prep.test.meta
show = np.flatnonzero(prep.test.labels[:, prep.classes.index(SHOW)] == 1)  # observed positives
if meta is not None and f"true_{SHOW}" in meta:  # generator v2: also a true positive, the most severe one
    show = show[meta[f"true_{SHOW}"].to_numpy()[show] == 1]
    if SHOW in SEVERITY and f"sev_{SHOW}" in meta:  # severity beyond the threshold: above it, or below (LAFB axis)
        severity = meta[f"sev_{SHOW}"].to_numpy()[show] * (1 if SEVERITY[SHOW].above else -1)
        show = show[np.argsort(-severity, kind="stable")]
k_rec = int(show[0])
real_mv = prep.test.signals[k_rec] * std[:, None] + mean[:, None]
rest_mv = restored.test.signals[k_rec] * std[:, None] + mean[:, None]
t = np.arange(prep.test.n_samples) / prep.fs
window = t < 2.5
fig, axes = plt.subplots(6, 2, figsize=(12, 9), sharex=True)
for k, ax in enumerate(axes.T.flat):
    ax.plot(t[window], real_mv[k, window], color="black", lw=0.9, label="real")
    ax.plot(t[window], rest_mv[k, window], color=method_color("restoration"), lw=0.9, ls="--", label="restored")
    ax.set_ylabel(f"{LEADS12[k]}\n(mV)", rotation=0, labelpad=16, va="center", fontweight="bold")
axes[0, 0].legend(fontsize=8, ncol=2, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)  # above the trace
for ax in axes[-1]:
    ax.set_xlabel("time (s)")
fig.suptitle(f"Test record {prep.test.record_ids[k_rec]} ({NAME[SHOW]}): real leads vs leads restored from lead I (mV)",
             y=1.0)
fig.tight_layout()
save_figure(fig, "08_restored_vs_real")
plt.show()

# %% [markdown]
# ## Per-lead fidelity on the test fold

# %%
# NBVAL_CHECK_OUTPUT
scores = restoration_scores(net, prep.test, input_idx=[0], lead_std=std)
print(scores.round(3).to_string())
print(f"\nmean over the 11 restored leads: r = {scores['pearson_r'][~scores['input']].mean():.3f}, "
      f"RMSE = {scores['rmse'][~scores['input']].mean():.3f} mV")

# %%
groups = {"aVR, aVL (mostly lead I)": ["aVR", "aVL"], "II, III, aVF (inferior)": ["II", "III", "aVF"],
          "V2, V3": ["V2", "V3"], "V1, V4-V6": ["V1", "V4", "V5", "V6"]}
lead_r = {name: scores.loc[leads, "pearson_r"].mean() for name, leads in groups.items()}
lead_rmse = {name: scores.loc[leads, "rmse"].mean() for name, leads in groups.items()}
avr, inf, v23, chest = groups  # the four group names, in the order above
display(Markdown("Mean per group of leads: " + "; ".join(
    f"{name}: r **{lead_r[name]:.3f}**, RMSE **{lead_rmse[name]:.3f}** mV" for name in groups) + ". "
    + (f"The inferior leads come back with a lower r than aVR and aVL ({lead_r[inf]:.3f} against {lead_r[avr]:.3f})"
       if lead_r[inf] < lead_r[avr] else
       f"The inferior leads do not come back worse than aVR and aVL here (r {lead_r[inf]:.3f} against {lead_r[avr]:.3f})")
    + "; V2-V3 have "
    + ("a higher r than the inferior leads" if lead_r[v23] > lead_r[inf] else "no higher r than the inferior leads")
    + f" but an RMSE {lead_rmse[v23] / lead_rmse[inf]:.1f} times theirs "
    + ("(of the same order)." if 0.67 <= lead_rmse[v23] / lead_rmse[inf] <= 1.5 else
       "(larger)." if lead_rmse[v23] > lead_rmse[inf] else "(smaller).")))

# %% [markdown]
# Two things limit the restoration, and both are visible above. First, lead I fixes only one
# component of the heart's frontal-plane vector. The leads that contain lead I with a large weight
# ($\mathrm{aVR} = -(\mathrm{I} + \mathrm{II})/2$, $\mathrm{aVL} = \mathrm{I} - \mathrm{II}/2$) should come back best among the limb leads; the inferior leads II, III and aVF
# depend on the *other* component, the frontal axis, which lead I does not fix: compare their r with
# that of aVR and aVL in the line above (and the QRS of III and aVF in the figure). That axis is exactly what a left
# anterior fascicular block changes. Second, the chest leads follow the timing and overall shape of
# the beat that lead I shows, which Pearson r rewards, while their amplitude, which RMSE measures,
# varies between records (the line above compares V2-V3 with the inferior leads): the net draws
# the *typical* V2 for a lead I like this one. Compare the real and restored V1-V4 of the infarct
# in the figure: the real leads carry its deep Q waves and ST-T changes; where the restored leads
# draw them smaller or not at all, the rare, diagnostic shape has been replaced by the common one,
# which is what a net trained to minimise the average error does.
#
# ## (a) The 12-lead teacher on restored leads
#
# Same teacher, same test records, same validation-tuned F1 thresholds (tuned on the validation
# fold *as it is fed*: real leads for the first row, restored leads for the second), against the
# 1-lead student baseline (tiny, `seed=0`).
#
# Per class, the interesting classes are those lead I shows least. They are not chosen here by eye
# or on this test fold: `source_visibility` gives the lead-I groups of this notebook's data source
# (generator v1: by construction, `data/conditions.py`; generator v2: *measured* on the hold-out of
# the committed converged v2 benchmark, a paired interval of the teacher's minus the lead-I
# baseline's AUC per class, so the group of a class with few positives there is "undetermined").
# The cell uses the "not seen" group if it has classes, else the "partly seen" one, and says which.
# Rare classes have few test positives: their per-class AUCs are printed with the count.

# %%
# NBVAL_CHECK_OUTPUT
baseline = experiment.train_student(prep, "baseline", size="tiny", seed=0)
reports = {"teacher on real 12 leads": experiment.evaluate_model(teacher.model, prep),
           "teacher on restored 12 leads": experiment.evaluate_model(teacher.model, restored),
           "1-lead student (baseline)": experiment.evaluate_model(baseline.model, prep)}
table = pd.DataFrame({k: {m: r[m] for m in ("macro_auc", "macro_f1", "map")} for k, r in reports.items()}).T
print(table.round(3).to_string())
groups = source_visibility(ctx.source, prep.classes)
print("\nlead-I groups of", ctx.source, "(never measured on this test fold):",
      {g: c for g, c in groups.items() if c})
focus_group = "not seen" if groups["not seen"] else "partly seen"
hidden = groups[focus_group]  # the classes lead I shows least (measured groups on v2)
positives = pd.Series(prep.test.labels.sum(0).astype(int), index=list(prep.classes), name="test positives")


def per_class(names, classes):
    frame = pd.DataFrame({k: {c: reports[k]["per_class_auc"][c] for c in classes} for k in names})
    return frame.join(positives).round(3).to_string()


def group_mean(report, classes):
    return float(np.mean([report["per_class_auc"][c] for c in classes]))


print(f"\nper-class AUC, the '{focus_group}' group:")
print(per_class(list(reports), hidden))
print("\nmean per-class AUC per lead-I group:")
print(pd.DataFrame({k: {g: group_mean(r, c) for g, c in groups.items() if c} for k, r in reports.items()})
      .round(3).to_string())

# %% [markdown]
# ## (b) A student that takes the restored leads as input
#
# The tiny student with a 12-lead input stem, trained as the plain baseline (CE only, identical
# budget and seed) on the **restored** training set and evaluated on restored test leads, against
# the usual 1-lead student. It is trained once (well under a minute on a laptop CPU) and cached.

# %%
# NBVAL_CHECK_OUTPUT
student_restored = experiment.train_student(restored, "baseline", leads=LEADS12, size="tiny", seed=0,
                                            tag="student-restored-12lead")
reports["student on restored 12 leads"] = experiment.evaluate_model(student_restored.model, restored)
compare = ["1-lead student (baseline)", "student on restored 12 leads"]
table = pd.DataFrame({k: {m: reports[k][m] for m in ("macro_auc", "macro_f1", "map")} for k in compare}).T
table["params"] = [count_parameters(baseline.model), count_parameters(student_restored.model)]
print(table.round(3).to_string())
print(f"\nper-class AUC, the '{focus_group}' group:")
print(per_class(compare, hidden))

# %%
order = ["teacher on real 12 leads", "teacher on restored 12 leads", "student on restored 12 leads",
         "1-lead student (baseline)"]
colors = [method_color("teacher"), method_color("restoration"), method_color("restoration"), method_color("baseline")]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.1, 1]})
ax1.bar(range(len(scores)), scores["pearson_r"], edgecolor="black", linewidth=0.5,
        color=[("white" if i else method_color("restoration")) for i in scores["input"]])
ax1.set_xticks(range(len(scores)), scores.index)
ax1.set(ylim=(0, 1.02), xlabel="lead", ylabel="Pearson r (test)",
        title="restoration fidelity per lead (white: the input lead)")
xs = np.arange(len(order))
for k, metric in enumerate(("macro_auc", "macro_f1")):
    # macro AUC solid, macro F1 hatched in the same method colour (a lighter shade would read as
    # another method: light black is the baseline's grey)
    ax2.bar(xs + (k - 0.5) * 0.38, [reports[n][metric] for n in order], 0.38,
            color=colors if k == 0 else "white", edgecolor=colors, hatch=None if k == 0 else "///",
            linewidth=0.8)
ax2.set_xticks(xs, ["teacher\nreal leads", "teacher\nrestored leads", "student\nrestored leads",
                   "student\nlead I only"], fontsize=8)
lowest = min(reports[n][m] for n in order for m in ("macro_auc", "macro_f1"))
bottom = max(0.0, np.floor(10 * lowest - 1) / 10)  # at least 0.1 below the lowest bar, never cutting one
ax2.set(ylim=(bottom, 1.0), ylabel="test score", title="macro AUC and macro F1, 1 seed (seed 0): no error bars")
if bottom > 0:
    mark_axis_break(ax2)
ax2.legend(handles=[Patch(facecolor="0.3", edgecolor="0.3", label="macro AUC"),
                    Patch(facecolor="white", edgecolor="0.3", hatch="///", label="macro F1")],
           fontsize=8, loc="upper right")
fig.tight_layout()
save_figure(fig, "08_restoration_in_the_loop")
plt.show()

# %%
import json
from ecgkd_lite.config import REPO_ROOT

lh_bench_path = REPO_ROOT / "results" / "bench_quality_quick_liteheart.json"
lh_bench = json.loads(lh_bench_path.read_text())
base_sd = lh_bench["methods"]["baseline"]["std"]["macro_auc"]
r1, r12 = reports["1-lead student (baseline)"], reports["student on restored 12 leads"]
d_auc = r12["macro_auc"] - r1["macro_auc"]
lh_gen = {"synthetic": "generator v1", "synthetic_v2": "generator v2"}.get(lh_bench["data"]["source"],
                                                                          lh_bench["data"]["source"])
t_real, t_rest = reports["teacher on real 12 leads"], reports["teacher on restored 12 leads"]
g_real, g_rest, g_1 = (group_mean(r, hidden) for r in (t_real, t_rest, r1))
kept = (g_rest - g_1) / (g_real - g_1) if g_real - g_1 > 0.01 else None  # share of the teacher's lead it keeps
seen = groups["seen"] if focus_group != "seen" else []
s_real, s_rest, s_1 = (group_mean(r, seen) for r in (t_real, t_rest, r1)) if seen else (0.0, 0.0, 0.0)
kept_seen = (s_rest - s_1) / (s_real - s_1) if seen and s_real - s_1 > 0.01 else None
n_min = int(min(positives[c] for c in hidden))
display(Markdown(
    f"A student that takes the restored 12 leads reaches macro AUC **{r12['macro_auc']:.3f}** against "
    f"**{r1['macro_auc']:.3f}** for the same student on lead I (`seed=0`, one run each), a difference of "
    f"**{d_auc:+.3f}**; the quick benchmark's baseline seed spread (`{lh_bench_path.name}`, {lh_gen}, "
    f"{lh_bench['seeds']} seeds: the only stored spread at this budget) is **{base_sd:.3f}** "
    f"({'within' if abs(d_auc) <= base_sd else 'outside'} that spread). On the '{focus_group}' classes "
    f"(test positives in parentheses): "
    + ", ".join(f"{c} ({positives[c]}) {r1['per_class_auc'][c]:.3f} → {r12['per_class_auc'][c]:.3f}" for c in hidden)
    + ". "
    f"The teacher on restored leads: macro AUC **{t_rest['macro_auc']:.3f}**, against **{t_real['macro_auc']:.3f}** "
    f"on real leads; on the '{focus_group}' classes (mean per-class AUC) **{g_rest:.3f}** against **{g_real:.3f}**, "
    f"with the 1-lead student at **{g_1:.3f}**: "
    + ("the teacher has no clear lead over the student there to lose." if kept is None else
       f"on restored leads the teacher keeps **{kept:.0%}** of its lead over the student"
       + (" (it falls to the student's level or below)." if kept <= 0.1 else
          " (it falls most of the way to the student's level)." if kept < 0.5 else
          " (it keeps most of it).") )
    + (f" On the 'seen' classes it keeps **{kept_seen:.0%}** of its lead ({s_rest:.3f} against {s_real:.3f}, "
       f"student {s_1:.3f})." if kept_seen is not None else "")
    + (f" The rarest '{focus_group}' class has **{n_min}** test positives: one positive record ranked differently moves "
       f"its AUC by up to {1 / n_min:.2f}, so read its per-class numbers as a sign, not a measurement."
       if n_min < 30 else "")))

# %% [markdown]
# **Reading (a) and (b).** A restored lead is a function of lead I, so it cannot show an infarction
# or an axis shift that lead I did not: on the classes lead I shows least, the teacher on restored
# leads can keep only the part of its lead over the 1-lead student that lead I carries (the share it
# keeps is rendered above). Where lead I shows a class in part (a "partly seen" class: on generator v2 an anterolateral
# infarct projects onto lead I, an anteroseptal one hardly does), the restored leads can carry that
# part, and the teacher may keep some of its lead: what restoration adds is a *format* the 12-lead
# teacher was trained on, not information that lead I lacks. Part (b) asks the same from the other
# side; with one seed per model, any difference above must be read against the seed spread rendered
# with it. The restoration net is a learned, fixed feature
# extractor for lead I; whether a gain survives more seeds, and whether it adds anything on top of
# LiteHeart's distillation, is not measured here, so restoration is not part of the LiteHeart recipe.
#
# ## Cost on the device: restoration + student, one record at a time
#
# The deployed pipeline is one module, lead I in, diagnosis out: `RestoredInputModel(net, student)`.
# Latency at batch size $1$ on one CPU thread, on one training-length crop, median of `repeats=50`
# runs after `warmup=10` warm-up runs (timings vary by machine and load, so that cell's output is not
# checked).

# %%
# NBVAL_CHECK_OUTPUT
crop = (1, 1, net.trained_samples)
pipeline = RestoredInputModel(net, student_restored.model)
edge = {"1-lead student": (baseline.model, crop),
        "restoration net": (net, crop),
        "restored-lead student": (student_restored.model, (1, 12, net.trained_samples)),
        "restoration + restored-lead student": (pipeline, crop)}
cost = pd.DataFrame.from_dict({name: {"params": count_parameters(model), "MFLOPs": count_flops(model, shape) / 1e6}
                               for name, (model, shape) in edge.items()}, orient="index")
print(cost.round(2).to_string())

# %%
latency = {name: measure_latency(model, shape, threads=1, warmup=10, repeats=50)["median_ms"]
           for name, (model, shape) in edge.items()}
cost["median ms (batch 1, 1 thread)"] = pd.Series(latency)
print(cost.round(2).to_string())
print(f"\nthe pipeline costs {latency['restoration + restored-lead student'] / latency['1-lead student']:.1f}x "
      "the 1-lead student's latency")

# %% [markdown]
# ## A restoration net used on the wrong data is refused
#
# The net only knows the sampling rate and the record length it was trained on. Data at another rate
# (here the test records resampled, `resample(few, 250)`) or records shorter than its training crops raise a
# `ConfigError` that says what it expected, instead of quietly producing nonsense leads.

# %%
# NBVAL_CHECK_OUTPUT
from dataclasses import replace

from ecgkd_lite.data import resample
from ecgkd_lite.errors import ConfigError

few = prep.test.subset(range(4))
short = replace(few, signals=np.ascontiguousarray(few.signals[:, :, :200]), regions=None, fiducials=None)
for label, data in (("test records at 250 Hz", resample(few, 250)), ("test records cut to 2 s", short)):
    try:
        restore_dataset(net, data, input_leads=["I"])
    except ConfigError as err:
        print(f"{label}: ConfigError: {err}")

# %% [markdown]
# ## Takeaways
#
# * Lead I fixes one component of the cardiac vector: leads built mostly from it restore well, the
#   inferior leads (the other component) do not, and the rare diagnostic shape is lost to the typical one.
# * Restored leads are a function of lead I: they add a *format* the 12-lead teacher knows, not
#   information lead I lacks.
# * A single-seed difference is read against the seed spread before it is called a gain.
# * Restoration costs parameters, FLOPs and latency on the device; the net refuses data it was not
#   trained for instead of producing nonsense.
#
# ## Exercises
#
# * **(a)** In the figure cell, draw another class (set `SHOW = "LAFB"`). Which restored leads
#   differ most from the real ones, and why?
# * **(b)** Feed the restoration net lead I multiplied by `-1` (an inverted electrode) and compute
#   `restoration_scores` on it. What happens to the Pearson r of aVR?
# * **(c)** Use the per-lead table to rank the leads by RMSE and by r. Why can a chest lead have a high
#   r and a large RMSE at the same time?
#
# Solutions: `notebooks/solutions/08_restoration.md`.
