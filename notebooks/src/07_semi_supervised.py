# %% [markdown]
# # 07 · LiteHeart, part 3: semi-supervised distillation
#
# **Learning goals.**
#
# * build a labeled / unlabeled split per fold and check it for leakage into validation and test;
# * write the full LiteHeart objective: supervised BCE on the labeled records, label-free terms on all;
# * write the confidence-thresholded pseudo-label loss and measure how much of the pool it uses;
# * read a label-ratio sweep as the share of the teacher gap closed, against the seed spread.
#
# **Prerequisites.** notebook 01 (folds and splits), notebook 02 (the teacher), notebook 03 (the
# student baseline), notebook 04 (the multi-label soft-target KD loss), notebooks 05-06 (the
# region-aware and cross-layer MI terms).
#
# **Method.** Wearables record far more ECGs than anyone labels. LiteHeart (Zhou et al., arXiv 2511.02851) trains the
# 1-lead student on a *few* labeled records plus a large unlabeled pool, with the 12-lead teacher
# (trained on a fully labeled hospital set) as the labeller. notebook 04 showed the lever: with
# few labels, vanilla KD's soft targets already lift the student. Here we make the split explicit,
# check it for leakage, look at the augmentations and the teacher's pseudo-labels, and sweep the
# label ratio.
#
# ## The objective
#
# With $\mathcal{D}_L$ the labeled and $\mathcal{D}_U$ the unlabeled training records (every term
# below except the first is **label-free** and is applied to every record of the batch):
#
# $$ \mathcal{L} = \underbrace{\mathcal{L}_{\text{BCE}}(z^s, y)}_{\mathcal{D}_L\text{ only}}
#  + \lambda_{\text{region}}\mathcal{L}_{\text{region}} + \lambda_{\text{MI}}\mathcal{L}_{\text{MI}}
#  + \lambda_{\text{soft}}\mathcal{L}_{\text{KD}}^{T}
#  + \lambda_{\text{semi}}\mathcal{L}_{\text{PL}}, $$
#
# where $\mathcal{L}_{\text{region}}$ is notebook 05's term, $\mathcal{L}_{\text{MI}}$ notebook 06's,
# and $\mathcal{L}_{\text{KD}}^{T}$ the multi-label soft-target KD of notebook 04 at temperature $T$,
#
# $$ \mathcal{L}_{\text{KD}}^{T} = T^2\,\frac{1}{BC}\sum_{b,c}
#    \mathrm{KL}\big(\mathrm{Bern}(\sigma(z^t_{bc}/T))\,\big\|\,\mathrm{Bern}(\sigma(z^s_{bc}/T))\big). $$
#
# The confidence-thresholded pseudo-label term (Lee 2013; thresholds as in FixMatch, Sohn et al. 2020)
# keeps only the classes the teacher is sure about, with $p = \sigma(z^t)$:
#
# $$ \hat y_c = \mathbb{1}[p_c > 0.5], \quad m_c = \mathbb{1}[p_c > \tau_{hi} \,\lor\, p_c < \tau_{lo}],
#  \quad \mathcal{L}_{\text{PL}} = \frac{1}{BC}\sum_{b,c} m_{bc}\,\mathrm{BCE}(z^s_{bc}, \hat y_{bc}). $$
#
# The weights, $T$, $\tau_{hi}$ and $\tau_{lo}$ are rendered below from `ecgkd_lite.distill.METHODS`
# (the recipe the training code reads). The region map uses the labels on labeled records and the
# teacher's own positives elsewhere (notebook 05). The registered alternative to pseudo-labels is
# FixMatch-style **weak/strong consistency** of the student with itself (`consistency`): the same
# mask and BCE, with $p$ the student's prediction on a weakly augmented view and $z^s$ its logits on
# a strongly augmented one. The label ratio is stated per run.

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
from ecgkd_lite import experiment
from ecgkd_lite.distill.liteheart import (amplitude_scale, baseline_wander, burst_dropout, gaussian_noise,
                                          strong_view, time_shift, weak_view)
from ecgkd_lite.errors import SplitError
from IPython.display import Markdown, display
from ecgkd_lite.distill import METHODS
from ecgkd_lite.plots import mark_axis_break, method_color, save_figure, series_colors

prep = experiment.prepare("synthetic", profile=ctx.profile)
teacher = experiment.train_teacher(prep)
print(prep)

# %%
LH = METHODS["liteheart"]
TAU_HI, TAU_LO = LH["pseudo_label"]["tau_hi"], LH["pseudo_label"]["tau_lo"]
display(Markdown(
    "**The recipe, from the code** (`METHODS['liteheart']`): "
    f"$\\lambda_{{\\text{{region}}}} = {LH['region_aware']['weight']:g}$, "
    f"$\\lambda_{{\\text{{MI}}}} = {LH['cross_layer_mi']['weight']:g}$, "
    f"$\\lambda_{{\\text{{soft}}}} = {LH['vanilla_kd']['weight']:g}$ at $T = {LH['vanilla_kd']['temperature']:g}$, "
    f"$\\lambda_{{\\text{{semi}}}} = {LH['pseudo_label']['weight']:g}$ with $\\tau_{{hi}} = {TAU_HI:g}$, "
    f"$\\tau_{{lo}} = {TAU_LO:g}$."))

# %% [markdown]
# ## The labeled / unlabeled split
#
# `ECGData.labeled_unlabeled_split(ratio, seed)` draws the labeled records **per training fold**, so
# every fold keeps the same share; the validation and test folds take no part. The ratio used here
# is `RATIO` in the next cell.

# %%
# NBVAL_CHECK_OUTPUT
RATIO = 0.10
labeled_part, unlabeled = prep.train.labeled_unlabeled_split(RATIO, seed=0)
counts = pd.DataFrame({"labeled": pd.Series(labeled_part.folds).value_counts(),
                       "unlabeled": pd.Series(unlabeled.folds).value_counts()}).sort_index()
counts.index.name = "fold"
counts["labeled share"] = (counts["labeled"] / (counts["labeled"] + counts["unlabeled"])).round(3)
print(counts.to_string())
print(f"\ntotal: {len(labeled_part)} labeled, {len(unlabeled)} unlabeled of {len(prep.train)} training records")

# %% [markdown]
# ## Leakage check
#
# The unlabeled pool must not contain a single validation or test record (otherwise the teacher's
# pseudo-labels would carry test-fold information into training), and the two parts must partition
# the training set.

# %%
# NBVAL_CHECK_OUTPUT
ids = {name: set(d.record_ids) for name, d in (("labeled", labeled_part), ("unlabeled", unlabeled),
                                               ("train", prep.train), ("val", prep.val), ("test", prep.test))}
assert not ids["unlabeled"] & ids["val"], "unlabeled pool overlaps validation"
assert not ids["unlabeled"] & ids["test"], "unlabeled pool overlaps test"
assert not ids["labeled"] & ids["unlabeled"] and ids["labeled"] | ids["unlabeled"] == ids["train"]
print("unlabeled & validation:", len(ids["unlabeled"] & ids["val"]), "records")
print("unlabeled & test:      ", len(ids["unlabeled"] & ids["test"]), "records")
print("labeled & unlabeled:   ", len(ids["labeled"] & ids["unlabeled"]), "records; together = the training set:",
      ids["labeled"] | ids["unlabeled"] == ids["train"])
print("unlabeled folds:", sorted(set(unlabeled.folds.tolist())))
for bad in (0.0, 1.5):
    try:
        prep.train.labeled_unlabeled_split(bad)
    except SplitError as err:
        print(f"ratio {bad}: SplitError: {err}")

# %% [markdown]
# ## ECG augmentations
#
# Five label-preserving perturbations, each a function of the batch and a seeded generator (so a
# run is reproducible): Gaussian noise (muscle and amplifier noise), baseline wander (a slow
# sinusoid, `freq_range=(0.05, 0.5)` Hz: respiration), burst dropout (one window of up to
# `max_fraction` of the crop zeroed: electrode contact loss), a circular time shift, and an
# amplitude gain drawn from `U(low, high)` (electrode impedance). The **weak** view is a small shift
# with light noise; the **strong** view chains all five (the parameters are in the labels of the
# next cell and in the functions' docstrings). Below, one training crop (lead I, standardised units).

# %%
# NBVAL_CHECK_OUTPUT
crop = int(round(prep.profile.crop_seconds * prep.fs))
x = torch.from_numpy(prep.train.signals[:1, :1, :crop])
AUGMENT = {
    "gaussian noise (std 0.05)": lambda v, g: gaussian_noise(v, g, 0.05),
    "baseline wander (0.3)": lambda v, g: baseline_wander(v, g, 0.3, prep.fs),
    "burst dropout (<= 10 %)": lambda v, g: burst_dropout(v, g, 0.1),
    "time shift (+-10 %)": lambda v, g: time_shift(v, g, 0.1),
    "amplitude scale [0.8, 1.2]": lambda v, g: amplitude_scale(v, g),
    "weak view": weak_view,
    "strong view": lambda v, g: strong_view(v, g, prep.fs),
}
views = {name: fn(x, torch.Generator().manual_seed(1))[0, 0].numpy() for name, fn in AUGMENT.items()}
again = strong_view(x, torch.Generator().manual_seed(1), prep.fs)[0, 0].numpy()
print("same seed, same strong view:", np.array_equal(again, views["strong view"]))
print("zeroed samples by burst dropout:", int((views["burst dropout (<= 10 %)"] == 0).sum()), "of", crop)
print("amplitude gain:", round(float(views["amplitude scale [0.8, 1.2]"].std() / x[0, 0].numpy().std()), 3))

# %%
t = np.arange(crop) / prep.fs
fig, axes = plt.subplots(4, 2, figsize=(12, 7.5), sharex=True, sharey=True)
for ax, (name, view) in zip(axes.flat, views.items()):
    ax.plot(t, x[0, 0].numpy(), color="0.7", lw=0.8, label="original")
    # one augmentation in black, a composed view in a dark non-method colour
    ax.plot(t, view, color=series_colors(3)[2] if "view" in name else "black", lw=0.9, label=name)
    ax.set_title(name, fontsize=9, loc="left")
axes.flat[-1].axis("off")
axes[-2, 1].tick_params(labelbottom=True)  # the panel above the empty slot carries its own time axis
for ax in (axes[-1, 0], axes[-2, 1]):
    ax.set_xlabel("time (s)")
for ax in axes[:, 0]:
    ax.set_ylabel("lead I (z-score)")
fig.suptitle(f"Augmentations of training record {prep.train.record_ids[0]}, lead I (grey: original)", y=1.0)
fig.tight_layout()
save_figure(fig, "07_augmentations")
plt.show()

# %% [markdown]
# ## How much of the unlabeled pool does the teacher label confidently?
#
# The pseudo-label term only uses entries with $p_c > \tau_{hi}$ or $p_c < \tau_{lo}$. On the unlabeled pool's
# training crops (the cached teacher outputs, exactly what the term sees), we count the confident
# share per class and, because this is synthetic data whose labels we *do* know, how often a
# confident pseudo-label is right (a diagnostic only: training never sees these labels).

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.distill.teacher_cache import crop_starts

cache = experiment.teacher_cache(prep, teacher)
labeled = np.isin(prep.train.record_ids, labeled_part.record_ids)
pool = np.flatnonzero(~labeled)
starts = crop_starts(prep.train.n_samples, crop, crop // 2)
index = torch.from_numpy(np.repeat(pool, len(starts)))
hit, out = cache.lookup(index, torch.from_numpy(np.tile(starts, len(pool))))
assert bool(hit.all()), "every unlabeled crop is in the teacher cache"
p = torch.sigmoid(out["logits"]).numpy()
y = prep.train.labels[index.numpy()]
confident = (p > TAU_HI) | (p < TAU_LO)
correct = (p > 0.5) == (y > 0.5)
coverage = pd.DataFrame({
    "confident share": confident.mean(0),
    "pseudo-label accuracy": (correct & confident).sum(0) / np.maximum(confident.sum(0), 1),
}, index=list(prep.classes))
print(f"{len(pool)} unlabeled records x {len(starts)} crops = {len(index)} crops")
print(coverage.round(3).to_string())
print(f"\nall entries: {confident.mean():.1%} confident, {(correct & confident).sum() / confident.sum():.2%} of "
      f"those correct; crops with every class confident: {confident.all(1).mean():.1%}")

# %%
share = coverage["confident share"]
hesitant = share.nsmallest(2)
display(Markdown(
    f"The teacher is confident on **{confident.mean():.1%}** of the entries and right on "
    f"**{(correct & confident).sum() / confident.sum():.1%}** of those: the pool delivers "
    f"**{int(confident.sum()):,}** nearly clean crop-level class labels (crop x class entries) that the **{len(labeled_part)}** labeled records lack. "
    f"The threshold bites hardest where the teacher hesitates most: "
    + ", ".join(f"{c} (**{v:.1%}** confident)" for c, v in hesitant.items())
    + f". **{1 - confident.all(1).mean():.1%}** of the crops have at least one class left out."))

# %% [markdown]
# A PVC is a single beat that a short training crop may or may not contain, so the crop-level
# answer is genuinely uncertain, and the mask leaves such entries out rather than teach a coin flip.
#
# ## The label-ratio sweep
#
# The benchmark runner trained baseline, vanilla KD and LiteHeart at several label ratios (the
# ratios and seed counts are rendered below; fewer seeds at some ratios to fit the compute budget;
# one split per ratio, `labeled_unlabeled_split(ratio, seed=0)`, shared by all methods and seeds;
# the baseline uses only the labeled records, the KD methods also the pool through their
# label-free terms; the teacher always has every label). Set `RERUN_BENCHMARK = True` to rebuild
# the JSONs here (long).

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.bench.report import declared_result

RERUN_BENCHMARK = False  # True: rebuild the label-ratio files with their declared commands (bench/report.py), long
SWEEP = ["baseline", "vanilla_kd", "liteheart"]
files = {0.05: "bench_quality_quick_labels5.json", 0.10: "bench_quality_quick_labels10.json",
         0.25: "bench_quality_quick_labels25.json", 1.00: "bench_quality_quick_liteheart.json"}
# the 100 % file is notebook 05's (it holds the components too): never rebuilt here
sweep = {ratio: declared_result(name, rerun=RERUN_BENCHMARK and ratio < 1) for ratio, name in files.items()}
for ratio, res in sweep.items():
    assert abs(res.get("label_ratio", 1.0) - ratio) < 1e-9, f"{files[ratio]} is not a {ratio:.0%} run"
rows = []
for ratio, res in sweep.items():
    for method in SWEEP:
        r = res["methods"][method]
        rows.append({"labels": f"{ratio:.0%}", "n labeled": res.get("n_labeled", res["data"]["n_train"]),
                     "method": method, **{f"{m} mean": r["mean"][m] for m in ("macro_auc", "macro_f1")},
                     **{f"{m} std": r["std"][m] for m in ("macro_auc", "macro_f1")}})
table = pd.DataFrame(rows)
print("commands:", *sorted({res["command"] for res in sweep.values()}), sep="\n  ")
print(table.round(4).to_string(index=False))
print(f"teacher (all labels, 12 leads): macro AUC {sweep[1.0]['teacher']['macro_auc']:.4f}, "
      f"macro F1 {sweep[1.0]['teacher']['macro_f1']:.4f}")

# %%
display(Markdown("**The sweep:** " + "; ".join(
    f"**{ratio:.0%}** labels ({res.get('n_labeled', res['data']['n_train'])} records, {res['seeds']} seeds)"
    for ratio, res in sweep.items()) + "."))

# %%
ratios = np.array(list(sweep))
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for ax, metric in zip(axes, ("macro_auc", "macro_f1")):
    for method in SWEEP:
        mean = np.array([sweep[r]["methods"][method]["mean"][metric] for r in ratios])
        std = np.array([sweep[r]["methods"][method]["std"][metric] for r in ratios])
        ax.errorbar(100 * ratios, mean, yerr=std, marker="o", capsize=3, color=method_color(method), label=method)
    ax.axhline(sweep[1.0]["teacher"][metric], color=method_color("teacher"), ls="--", lw=0.9,
               label="teacher (12 leads)")
    ax.set_xscale("log")
    ax.set_xticks(100 * ratios, [f"{r:.0%}" for r in ratios])
    ax.minorticks_off()
    label = {"macro_auc": "macro AUC", "macro_f1": "macro F1"}[metric]
    ax.set(xlabel="labeled share of the training records", ylabel=f"test {label}",
           title=f"{label}: mean ± std over seeds")
    mark_axis_break(ax)
    ax.legend(fontsize=8)
save_figure(fig, "07_label_sweep")
plt.show()

# %% [markdown]
# ## Gap closed at each ratio
#
# At each ratio the gap is measured against **that ratio's** baseline (the student trained on the
# same few labels without a teacher): $(\text{method} - \text{baseline}) / (\text{teacher} -
# \text{baseline})$. A fixed teacher and a weaker baseline make the gap wider at low ratios, and the
# room for the unlabeled pool larger.

# %%
# NBVAL_CHECK_OUTPUT
gaps = pd.DataFrame({f"{ratio:.0%}": {f"{method} ({m})": res["methods"][method]["gap_closed"][m]
                                      for method in SWEEP[1:] for m in ("macro_auc", "macro_f1")}
                     for ratio, res in sweep.items()})
print(gaps.astype(float).apply(lambda col: col.map(lambda v: "n/a" if np.isnan(v) else f"{100 * v:+.0f} %"))
      .to_string())

# %%
def mean_std(ratio, method, m="macro_auc"):
    r = sweep[ratio]["methods"][method]
    return r["mean"][m], r["std"][m]

lines = []
for ratio in sweep:
    (base, base_sd), (vkd, vkd_sd), (lh, lh_sd) = (mean_std(ratio, m) for m in SWEEP)
    gap_lh = sweep[ratio]["methods"]["liteheart"]["gap_closed"]["macro_auc"]
    gap_vkd = sweep[ratio]["methods"]["vanilla_kd"]["gap_closed"]["macro_auc"]
    spread = max(lh_sd, vkd_sd)
    verdict = "within noise" if abs(lh - vkd) <= spread else f"{abs(lh - vkd) / spread:.1f} seed std"
    lines.append(f"* **{ratio:.0%}** labels: baseline **{base:.3f}** ± {base_sd:.3f}, vanilla KD **{vkd:.3f}** "
                 f"± {vkd_sd:.3f} ({gap_vkd:.0%} of the gap), LiteHeart **{lh:.3f}** ± {lh_sd:.3f} "
                 f"({gap_lh:.0%} of the gap); LiteHeart - vanilla KD = **{lh - vkd:+.3f}** ({verdict}).")
display(Markdown("**Reading the sweep** (macro AUC, mean ± std over seeds; gap closed against that ratio's "
                 "baseline):\n\n" + "\n".join(lines)))

# %% [markdown]
# Read the lines from the scarcest labels to all of them: the unlabeled pool buys the most where
# labels are scarcest, because a fixed teacher and a weaker baseline leave the widest gap, and the
# pool is where the label-free terms (soft targets, confident pseudo-labels, the feature terms) do
# their work. Where LiteHeart's margin over vanilla KD is a few seed standard deviations, its extra
# terms earn their place; where it is within noise, they do not, whatever the sign. With every label,
# the labels already say what the teacher would, and the gain should vanish.
#
# ## Takeaways
#
# * The labeled / unlabeled split is drawn per training fold, and the unlabeled pool never touches
#   validation or test (checked).
# * Every term of the LiteHeart objective except the supervised BCE is label-free, so the unlabeled
#   pool enters through soft targets, pseudo-labels and the feature terms.
# * The confidence mask keeps the entries the teacher is sure (and, here, almost always right) about,
#   and leaves out the genuinely uncertain ones.
# * Semi-supervised distillation pays most when labels are scarce; read each margin against the
#   seed spread.
#
# ## Exercises
#
# * **(a)** Change `RATIO` in the split cell to `0.25`. How do the labeled counts per fold change, and
#   does the leakage check still pass?
# * **(b)** Tighten the pseudo-label thresholds: set `TAU_HI, TAU_LO = 0.99, 0.01` before the coverage
#   cell. What happens to the confident share and to the accuracy of the confident labels?
# * **(c)** From the sweep table, compute LiteHeart minus vanilla KD at each ratio in units of the larger
#   seed standard deviation. At which ratios is the margin evidence?
#
# Solutions: `notebooks/solutions/07_semi_supervised.md`.
