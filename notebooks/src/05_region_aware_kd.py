# %% [markdown]
# # 05 · LiteHeart, part 1: region-aware knowledge distillation
#
# **Learning goals.**
#
# * compute a teacher importance map over time with Grad-CAM, per record and without labels;
# * write the region-aware feature-KD loss and check it reduces to plain feature KD with uniform weights;
# * score a saliency map against ground-truth regions (pointing game, energy inside, chance level);
# * read a seed ablation: tell a difference from seed noise.
#
# **Prerequisites.** notebook 01 (the synthetic data and its `regions` table), notebook 02 (the
# 12-lead teacher), notebook 03 (the 1-lead student baseline) and notebook 04 (vanilla KD and the
# classic feature-KD methods such as FitNets).
#
# **Method.** Distil the 12-lead teacher's *features* into the 1-lead student, but weight every moment
# of the record by how much the **teacher** relied on it for its diagnosis. LiteHeart (Zhou et al.,
# arXiv 2511.02851) calls this region-aware distillation; its code is unpublished, so the concrete
# choices below are ours (docs/design.md section 6) and are stated where they are made.
#
# ## The importance map: Grad-CAM of the teacher, per record and per time step
#
# The teacher's temporal feature map $A \in \mathbb{R}^{K \times T_f}$ (its last residual stage,
# `feature_layers["temporal"]`; $T_f = T/16$) and the logit $Y^c$ of class $c$ give the Grad-CAM map
# (Selvaraju et al. 2017)
#
# $$ w^c_k = \frac{1}{T_f}\sum_t \frac{\partial Y^c}{\partial A_{kt}}, \qquad
#    \mathrm{cam}_c(t) = \mathrm{ReLU}\Big(\sum_k w^c_k A_{kt}\Big). $$
#
# A record's map mixes its **positive** classes, weighted by the teacher's probability $p_c$:
#
# $$ \mathrm{cam}(t) = \frac{\sum_{c \in P} p_c\,\mathrm{cam}_c(t)}{\sum_{c \in P} p_c}, \qquad
#    w(t) = f + (1 - f)\,\frac{\mathrm{cam}(t)}{\max_t \mathrm{cam}(t)} \in [f, 1]. $$
#
# Stated choices: $P$ is the record's labels when it is labeled, otherwise the teacher's predicted
# positives ($p_c > 0.5$), otherwise its top class, so the map needs **no label** and works on the
# unlabeled pool (notebook 07 uses this); the floor $f$ (its value is rendered from the code below)
# keeps every step in the loss (nothing the teacher ignored is thrown away, it is only
# down-weighted); the map is computed **live** for every training crop (no cache: it depends on the
# crop), from a detached copy of the teacher's features, so no gradient reaches the frozen teacher.
# An optional gate (a wave-region mask, `gate_key`) multiplies the map before normalisation; it is
# off by default.
#
# ## The loss: feature KD weighted by the map
#
# The student's temporal features $F_s$ pass through a $1 \times 1$ convolution $\phi$ to the
# teacher's width, linearly resampled to $T_f$ steps; then
#
# $$ \mathcal{L}_{\text{region}} = \frac{1}{B}\sum_b \frac{\sum_t w_{bt}\,\frac{1}{K}\sum_k
#    \big(\phi(F_s)_{bkt} - A_{bkt}\big)^2}{\sum_t w_{bt}}, \qquad
#    \mathcal{L} = \mathcal{L}_{\text{BCE}} + \lambda_{\text{region}}\,\mathcal{L}_{\text{region}}. $$
#
# The weight $\lambda_{\text{region}}$ is the recipe's, rendered below from
# `ecgkd_lite.distill.METHODS` (the dictionary the training code reads), so this text cannot drift
# from the code. The ablation `region_aware-uniform` is the **same** term with $w \equiv 1$ (plain
# FitNets-style feature KD with the same regressor), so any difference is the map's doing.

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import matplotlib.pyplot as plt
from IPython.display import Markdown, display
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize

from ecgkd_lite import experiment
from ecgkd_lite.distill import METHODS, build_term
from ecgkd_lite.distill.liteheart import importance_from_features, teacher_importance
from ecgkd_lite.explain.localisation import localisation_scores, region_masks
from ecgkd_lite.plots import method_color, plot_strip, save_figure, series_colors

prep = experiment.prepare(ctx.source, profile=ctx.profile)
teacher = experiment.train_teacher(prep)
print(prep)
print("teacher temporal layer:", teacher.model.feature_layers["temporal"])

# %%
alone, full = METHODS["region_aware"]["region_aware"], METHODS["liteheart"]["region_aware"]
FLOOR = build_term("region_aware").floor
display(Markdown(
    f"**The recipe, from the code.** `region_aware` (alone): $\\lambda_{{\\text{{region}}}} = {alone['weight']:g}$; "
    f"inside `liteheart`: $\\lambda_{{\\text{{region}}}} = {full['weight']:g}$; importance floor $f = {FLOOR:g}$; "
    f"optional saliency component weight ${alone['saliency_weight']:g}$ (off)."))

# %% [markdown]
# ## Sanity checks on a toy feature map
#
# Two channels over eight time steps and a linear head $Y = \frac{1}{T}\sum_t (2A_{0t} - A_{1t})$.
# Grad-CAM must then be $\mathrm{ReLU}\big((2A_{0t} - A_{1t})/T\big)$: it should peak where channel $A_0$
# fires, be zero where channel $A_1$ dominates, and be floored at $f$. With uniform weights the loss must
# be exactly the mean squared error between projected student and teacher features.

# %%
# NBVAL_CHECK_OUTPUT
A = torch.zeros(1, 2, 8)
A[0, 0, 2], A[0, 1, 5] = 3.0, 1.0  # channel 0 fires at t = 2, channel 1 at t = 5
A.requires_grad_(True)
logits = (2 * A[:, 0] - A[:, 1]).mean(1, keepdim=True)
w = importance_from_features(A, logits, floor=0.1)
print("importance map:", [round(v, 2) for v in w[0].tolist()])
print("peak at t =", int(w.argmax()), "| minimum =", round(float(w.min()), 2))

uniform = build_term("region_aware", uniform=True)
uniform.build({"temporal": torch.Size([4, 8])}, {"temporal": torch.Size([2, 8])})
s_feat, t_feat = torch.randn(3, 4, 8, generator=torch.Generator().manual_seed(0)), torch.randn(3, 2, 8)
plain_mse = F.mse_loss(uniform.regressor(s_feat), t_feat)
same = torch.allclose(uniform({"temporal": s_feat}, {"temporal": t_feat}), plain_mse)
print("uniform-weight loss equals plain MSE:", same)

# %% [markdown]
# ## The teacher's maps over real-looking records
#
# The synthetic generator records **where** each condition lives in the signal (the `regions`
# table, shaded grey below): the wide premature beat of a PVC, the broad QRS of a left bundle
# branch block, the Q wave to T end of every beat of an anterior infarction. Generator v2 draws its
# regions from the noise-free truth (a record whose label is a coding error has no region), so the
# records shown and scored are those that *truly* have the class (`meta["true_<class>"]`), labelled
# so or not. The trace is coloured by the teacher's map
# for that class (dark = $1$, pale = $0$; `teacher_importance` with the class as target, `floor=0.0`
# so that only the evidence shows), upsampled linearly from $T_f$ steps to the full record (the
# shapes are printed below). We draw the lead a cardiologist would read for the finding (in mV, the
# scaler undone).

# %%
# NBVAL_CHECK_OUTPUT
SHOWN = {"PVC": "II", "CLBBB": "V6", "AMI": "V2"}
SCORED = ("PVC", "CLBBB", "CRBBB", "LAFB", "LVH", "1AVB", "NST_", "AMI")
PER_CLASS = 20  # at most the first 20 truly positive test records of each class (the map is computed live)
test = prep.test

from ecgkd_lite.evaluate.noise import truly_positive  # the regions follow the truth

picks = {c: np.flatnonzero(truly_positive(test, c))[:PER_CLASS] for c in SCORED}
print("records per class:", {c: len(idx) for c, idx in picks.items()})
index = np.concatenate(list(picks.values()))
targets = torch.tensor([test.classes.index(c) for c, idx in picks.items() for _ in idx])
cam = teacher_importance(teacher.model, torch.from_numpy(test.signals[index]), targets=targets, floor=0.0)
maps = F.interpolate(cam[:, None], size=test.n_samples, mode="linear", align_corners=False)[:, 0].numpy()
maps = np.clip(maps, 0.0, None)
start = np.cumsum([0] + [len(i) for i in picks.values()])
class_maps = {c: maps[start[k]:start[k + 1]] for k, c in enumerate(SCORED)}
print(f"maps: {cam.shape[0]} records x {cam.shape[1]} teacher steps -> {maps.shape[1]} samples")

# %%
fig, axes = plt.subplots(len(SHOWN), 1, figsize=(11, 2.4 * len(SHOWN)), sharex=True, layout="constrained")
for ax, (cls, lead) in zip(axes, SHOWN.items()):
    rec, k = picks[cls][0], test.leads.index(lead)
    mv = test.signals[rec, k] * prep.scaler.std[k, 0] + prep.scaler.mean[k, 0]
    empty = class_maps[cls][0].max() <= 0  # Grad-CAM zero everywhere: the trace stays pale
    plot_strip(mv, test.fs, lead=lead, ax=ax, regions=region_masks(test, cls, [rec])[0],
               saliency=class_maps[cls][0], colorbar=False, region_label=f"{cls} region",
               title=f"{cls}: test record {test.record_ids[rec]}, lead {lead}"
                     + (" (the teacher's map is empty: zero at every step)" if empty else ""))
    if ax is not axes[-1]:
        ax.set_xlabel("")
# one colour bar for the three strips: each strip's map is its own class's Grad-CAM
fig.suptitle(f"The teacher's Grad-CAM of each strip's class on a record that has it ({ctx.source}; 1 seed: seed 0)")
fig.colorbar(ScalarMappable(Normalize(0, 1), "magma_r"), ax=list(axes), fraction=0.025, pad=0.01,
             label="teacher Grad-CAM of the strip's class\n(0 = none, 1 = the map's peak)")
save_figure(fig, "05_teacher_maps")
plt.show()

# %% [markdown]
# ## Does the teacher look where the condition is?
#
# For each class with a localised region, the teacher's map for that class on the test records that
# truly have it is scored against the ground-truth region:
#
# * **pointing game** (Zhang et al. 2018): the share of records whose map peaks inside the region;
# * **energy inside** (Wang et al. 2020): the share of the map's mass inside the region.
#
# Both have the same **chance level**: the region's share of the record (a map that is flat, or
# peaks at a random moment, scores that much). A map worth distilling should sit well above it.
# Beside them: how many records were scored (v2's rarer classes have fewer than `PER_CLASS` in the
# test fold), how many maps are empty (zero at every step: Grad-CAM's ReLU found no step that raises
# the class's logit; such a map points nowhere and scores zero) and the teacher's test AUC for the
# class (a teacher that barely detects a class has little evidence for its map to show).

# %%
# NBVAL_CHECK_OUTPUT
teacher_auc = experiment.evaluate_model(teacher.model, prep)["per_class_auc"]
rows = {}
for cls in SCORED:
    masks = region_masks(test, cls, picks[cls])
    scored = masks.any(axis=1)  # chance over the records scored (a record without a region is not scored)
    rows[cls] = {**localisation_scores(class_maps[cls], masks),
                 "chance": float(masks[scored].mean()) if scored.any() else float("nan"),
                 "empty maps": int((class_maps[cls][scored].max(axis=1) <= 0).sum()),  # zero everywhere
                 "teacher AUC": float(teacher_auc[cls])}
loc = pd.DataFrame(rows).T[["n_scored", "pointing_game", "energy_inside", "chance", "empty maps", "teacher AUC"]]
loc[["n_scored", "empty maps"]] = loc[["n_scored", "empty maps"]].astype(int)
print(loc.round(2).to_string())
print(f"\nmean over classes: pointing game {loc['pointing_game'].mean():.2f}, energy inside "
      f"{loc['energy_inside'].mean():.2f}, chance {loc['chance'].mean():.2f}")

# %%
fig, ax = plt.subplots(figsize=(10, 3.4))
xs = np.arange(len(loc))
score_colours = series_colors(2)  # scores, not methods
ax.bar(xs - 0.2, loc["pointing_game"], 0.4, label="pointing game", color=score_colours[0], edgecolor="black", lw=0.4)
ax.bar(xs + 0.2, loc["energy_inside"], 0.4, label="energy inside", color=score_colours[1], edgecolor="black", lw=0.4)
ax.scatter(xs, loc["chance"], marker="_", s=900, color="black", zorder=3, label="chance (region share)")
for x, cls in zip(xs, loc.index):  # a class whose every map is empty has no bars: say why
    if loc.loc[cls, "n_scored"] and loc.loc[cls, "empty maps"] == loc.loc[cls, "n_scored"]:
        ax.text(x, 0.03, "every map\nempty: 0", ha="center", va="bottom", fontsize=8)
ax.set_xticks(xs, loc.index)
ax.set_xticks(xs, [f"{c}\nn = {loc.loc[c, 'n_scored']}" for c in loc.index])
ax.set(ylim=(0, 1.2), xlabel="condition (its ground-truth region: notebook 01) / records scored",
       ylabel="score (share, 0 to 1)",
       title=f"Teacher Grad-CAM against the ground-truth regions ({ctx.source}; test, at most {PER_CLASS} records "
             "per class)\n1 seed (seed 0)")
ax.legend(fontsize=8, ncol=3, markerscale=0.4)
save_figure(fig, "05_localisation")
plt.show()

# %% [markdown]
# Read the chart class by class rather than by its average (the numbers in the next cell come
# from the table above).

# %%
def bold_list(codes):
    return ", ".join(f"**{c}**" for c in codes) or "none"


both = (loc["pointing_game"] > loc["chance"]) & (loc["energy_inside"] > loc["chance"])
weak = [c for c in loc.index if loc.loc[c, "pointing_game"] < 0.5]
few = [f"{c} ({loc.loc[c, 'n_scored']})" for c in loc.index if loc.loc[c, "n_scored"] < PER_CLASS]
pvc, ami = loc.loc["PVC"], loc.loc["AMI"]
interval = [c for c in ("1AVB", "CRBBB", "NST_") if both[c] and loc.loc[c, "pointing_game"] >= 0.5]
WEAK_TEACHER = 0.8  # a teacher AUC below this: the teacher barely detects the class
display(Markdown(
    (f"Every class scores above its chance level on both measures, but not equally." if both.all() else
     f"Above chance on both measures: {bold_list(loc.index[both])}; not: {bold_list(loc.index[~both])}.")
    + f" The PVC's premature beat, a short single event (**{pvc['chance']:.0%}** of the record), is where the map "
    f"peaks in **{pvc['pointing_game']:.0%}** of records, with **{pvc['energy_inside']:.0%}** of its mass there"
    + (": a sharp target." if pvc["pointing_game"] > 2 * pvc["chance"] else ", no sharp target on this test fold.")
    + f" AMI's region, Q wave to T end of every beat, covers **{ami['chance']:.0%}** of the record; the map's margin "
    f"over that chance is **{ami['energy_inside'] - ami['chance']:+.2f}** (energy inside)"
    + (f"; **{int(ami['empty maps'])}** of its **{int(ami['n_scored'])}** maps are empty" if ami["empty maps"] else "")
    + (f", and the teacher itself barely detects AMI on this test fold (AUC **{ami['teacher AUC']:.2f}**): a map "
       "for a class the teacher does not recognise has no evidence to point at."
       if ami["teacher AUC"] < WEAK_TEACHER else ".")
    + f" Classes whose map peaks inside the region in under half the records: {bold_list(weak)}."
    + (" Empty maps count as misses on both measures: "
       + ", ".join(f"{c} {int(loc.loc[c, 'empty maps'])} of {int(loc.loc[c, 'n_scored'])}"
                   for c in loc.index if loc.loc[c, "empty maps"]) + "." if loc["empty maps"].any() else "")
    + (f" Findings read from one interval per beat that the map finds (above chance on both, peak inside in at "
       f"least half the records): {bold_list(interval)}." if interval else "")
    + (f"\n\nScored on fewer than {PER_CLASS} records (all the test fold has): {', '.join(few)}. A score on a "
       "dozen records moves by several hundredths with one record: read those classes loosely." if few else "")))

# %% [markdown]
# Conduction findings are read from one interval per beat (`1AVB`'s PR, CRBBB's terminal QRS,
# NST_'s ST-T), which can give the map a clear target (the sentence above says which do here). Where
# the map misses, one reason is that the teacher uses evidence *around* the region (the T wave that
# follows a QRS, the neighbouring beats) as much as the region itself, which the region table does
# not count; another, on generator v2, is a teacher that detects the class poorly. The map is the
# teacher's reasoning, not a segmentation; it is what the student is asked to imitate.
#
# ## Does weighting by the map help? The benchmark ablation
#
# The benchmark runner trains the tiny student on lead I with several seeds (the count is printed
# below) for each variant under the identical recipe, **on generator v1** (the quick benchmark has not
# been rerun on v2; its data source is printed below): `region_aware` (CE + map-weighted feature KD) against `region_aware-uniform`
# (CE + the same feature KD, $w \equiv 1$), and, inside the full recipe, `liteheart` against
# `liteheart-no_region`. Set `RERUN_BENCHMARK = True` to rebuild the JSON here (long: it trains
# every LiteHeart variant).

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.bench import markdown_table
from ecgkd_lite.bench.report import declared_result, made_by

RERUN_BENCHMARK = False  # True: rebuild the file with its declared command (bench/report.py), long
REGION = ["baseline", "region_aware-uniform", "region_aware", "liteheart-no_region", "liteheart"]
bench = declared_result("bench_quality_quick_liteheart.json", rerun=RERUN_BENCHMARK)
print(made_by(bench))
ABLATION_DATA = {"synthetic": "generator v1", "synthetic_v2": "generator v2"}.get(bench["data"]["source"],
                                                                                  bench["data"]["source"])
print("data:", bench["data"]["source"], f"({ABLATION_DATA})")
print(markdown_table({**bench, "methods": {k: bench["methods"][k] for k in REGION}}))

# %%
# NBVAL_CHECK_OUTPUT
pairs = {"alone (CE + feature KD)": ("region_aware-uniform", "region_aware"),
         "inside LiteHeart": ("liteheart-no_region", "liteheart")}
for label, (without, with_map) in pairs.items():
    a, b = bench["methods"][without], bench["methods"][with_map]
    print(f"{label:<24} " + "  ".join(
        f"{m} {b['mean'][m] - a['mean'][m]:+.4f} (std {a['std'][m]:.4f} / {b['std'][m]:.4f})"
        for m in ("macro_auc", "macro_f1")))

# %%
def verdict(d, spread):
    return "within the seed spread (no evidence either way)" if abs(d) <= spread else "outside the seed spread"

lines = []
for label, (without, with_map) in pairs.items():
    a, b = bench["methods"][without], bench["methods"][with_map]
    d = b["mean"]["macro_auc"] - a["mean"]["macro_auc"]
    spread = max(a["std"]["macro_auc"], b["std"]["macro_auc"])
    lines.append(f"* {label}: the map changes macro AUC by **{d:+.3f}** (seed std up to {spread:.3f}): "
                 f"{verdict(d, spread)}.")
base = bench["methods"]["baseline"]["mean"]["macro_auc"]
display(Markdown(
    f"**Reading the ablation** ({ABLATION_DATA}, quick profile; mean of **{bench['seeds']}** seeds; a difference "
    "smaller than the seed standard deviation is no evidence either way):\n\n" + "\n".join(lines) +
    f"\n\nFor reference, the plain 1-lead baseline reaches macro AUC **{base:.3f}**, `region_aware` "
    f"**{bench['methods']['region_aware']['mean']['macro_auc']:.3f}** and `liteheart` "
    f"**{bench['methods']['liteheart']['mean']['macro_auc']:.3f}**."))

# %%
outside = [label for label, (without, with_map) in pairs.items()
           if abs(bench["methods"][with_map]["mean"]["macro_auc"] - bench["methods"][without]["mean"]["macro_auc"])
           > max(bench["methods"][without]["std"]["macro_auc"], bench["methods"][with_map]["std"]["macro_auc"])]
display(Markdown(
    (f"On {ABLATION_DATA} the map does not matter measurably at the quick budget (both differences within the "
     "seed spread), in line with the classic feature-KD methods of notebook 04." if not outside else
     f"On {ABLATION_DATA} the map's effect leaves the seed spread in: {'; '.join(outside)}. With so few seeds that "
     "is suggestive, not proof.")
    + " What the ablation measures is whether telling the student *where* to imitate matters once it already "
    "imitates *everything* (uniform weights), for a 1-lead student that cannot represent much of what the "
    "teacher's regions in other leads show. How well the map lands is a separate question (the localisation "
    "scores above, on this notebook's data)."))

# %% [markdown]
# ## The verdict at convergence
#
# The runs above use the quick budget (`student_epochs=6`) and a few seeds. The converged synthetic benchmark
# (made by `bench/cv.py`) trains every model until its validation score stops improving and compares
# this ablation with its full recipe on the same large test set, as a paired interval, on generator
# v1 (`results/bench_quality_converged.json`) and on generator v2, the notebooks' data
# (`results/bench_quality_converged_v2.json`). Each line names the generator its file was made on:

# %%
# NBVAL_CHECK_OUTPUT
from IPython.display import Markdown, display
from ecgkd_lite.bench import cv

display(Markdown(cv.ablation_readings("liteheart-no_region")))

# %% [markdown]
# ## Takeaways
#
# * Grad-CAM of the teacher gives a per-record, per-step importance map that needs no label (labels
#   where known, the teacher's own positives elsewhere).
# * Region-aware KD is feature KD with a per-step weight $w(t) \in [f, 1]$; with $w \equiv 1$ it is
#   exactly plain feature KD (checked on a toy map).
# * Score a map against the ground-truth regions *and* its chance level, class by class: the margin
#   depends on how localised the finding is and on how well the teacher detects the class at all,
#   and a class with a dozen records gives a noisy score. A map is the teacher's evidence, not a
#   segmentation.
# * A method comparison is read against the seed spread at the quick budget or, at convergence, from
#   a paired interval (the verdict cell above); say which generator the runs used.
#
# ## Exercises
#
# * **(a)** Raise the importance floor: build the term with `build_term("region_aware", floor=0.5)` and
#    recompute the toy map of the sanity check. What happens to the map's minimum and to the contrast
#    between the peak and the rest?
# * **(b)** Change `PER_CLASS` to use more records per class in the localisation table. Which numbers
#    move, and does any class cross its chance level?
# * **(c)** Compute the teacher's map for a class the record does *not* have (for example the AMI map on a
#    PVC record). Where does it peak, and what does that say about using the predicted positives for
#    unlabeled records?
#
# Solutions: `notebooks/solutions/05_region_aware_kd.md`.
