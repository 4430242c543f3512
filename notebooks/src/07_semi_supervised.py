# %% [markdown]
# # 07 · LiteHeart, part 3: semi-supervised distillation
#
# **Learning goals.**
#
# * say where labels can leak in semi-supervised distillation, and build the two honest scenarios
#   (few labels everywhere; a labeled 12-lead archive beside an unlabeled wearable pool);
# * check a split for leakage: the teacher's records, the student's pool, validation and test;
# * give every method the same supervision per step (matched batches) and the teacher as many steps;
# * write the full LiteHeart objective: supervised BCE on the labeled records, label-free terms on all;
# * write the confidence-thresholded pseudo-label loss and measure how much of the pool it uses;
# * read a real-data label-scarce benchmark as paired differences to the baseline, against the
#   reference rows (every label; the unlabeled pool without a 12-lead teacher).
#
# **Prerequisites.** notebook 01 (folds and splits), notebook 02 (the teacher), notebook 03 (the
# student baseline), notebook 04 (the multi-label soft-target KD loss), notebooks 05-06 (the
# region-aware and cross-layer MI terms), notebook 12 (paired intervals and verdicts) helps but is
# not required.
#
# **Method.** Wearables record far more ECGs than anyone labels. LiteHeart (Zhou et al., arXiv 2511.02851) trains the
# 1-lead student on a *few* labeled records plus a large unlabeled pool, with a 12-lead teacher as
# the labeller. The catch is where the teacher's own labels come from: a teacher that has read the
# labels of the "unlabeled" pool hands them back to the student through its soft targets and
# pseudo-labels, and the student then looks as if it learnt from unlabeled data. Here we state that
# leak, build the two settings in which it cannot happen, check them, give every method the same
# supervision per step, look at the augmentations and at the pseudo-labels of an honest teacher,
# train a few students, and read the real-data benchmark of both settings.
#
# ## The objective
#
# With $\mathcal{D}_L$ the labeled and $\mathcal{D}_U$ the unlabeled training records of the
# student's pool (every term below except the first is **label-free** and is applied to every
# record of the batch):
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
# a strongly augmented one. Every term that reads $z^t$ is only as label-free as the teacher is:
# which records the teacher was trained on is the subject of the next section.

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
# NBVAL_CHECK_OUTPUT
import json

import numpy as np
import pandas as pd
import torch
import matplotlib.pyplot as plt
from ecgkd_lite import experiment
from ecgkd_lite.bench import semi
from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.distill.liteheart import (amplitude_scale, baseline_wander, burst_dropout, gaussian_noise,
                                          strong_view, time_shift, weak_view)
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.train.matched import labeled_per_batch, matched_batches
from IPython.display import Markdown, display
from ecgkd_lite.distill import METHODS
from ecgkd_lite.plots import method_color, plot_paired_deltas, save_figure, series_colors
from ecgkd_lite.bench.cv import generator_of
from ecgkd_lite.config import GENERATOR_NAMES as GENERATOR

prep = experiment.prepare(ctx.source, profile=ctx.profile)



print(prep)
print(f"this notebook's data: {GENERATOR[ctx.source]}")

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
# ## Where labels can leak
#
# An earlier version of this notebook (and of the benchmark) trained the 12-lead teacher on **every
# training record with its label**, then drew the labeled share of those same records for the
# student and called the rest "unlabeled". The unlabeled pool was therefore a subset of the
# teacher's training set: the teacher had fitted those very labels, and its soft targets and
# pseudo-labels on the pool carried them to the student. A student that "recovered most of the
# teacher gap from unlabeled records" was, for the most part, being handed the hidden labels back.
# The baseline, meanwhile, read only the labels of the labeled records that a plain shuffle happened to
# put in each batch (a number that varied from batch to batch), while through the teacher the KD
# methods in effect read a label for every record of the batch: far less supervision per step for the
# baseline, so even the comparison between the students was uneven.
#
# Two settings in which no hidden label can reach any model (`ecgkd_lite/train/scenarios.py`,
# `experiment.scenario_data(prep, ratio, scenario, seed)`); both split the **training folds only**,
# from the folds and a seed, never from the labels:
#
# * **(a) few labels everywhere.** One pool, the whole training split: a labeled part $L$ (a share
#   `RATIO` of every training fold) and the unlabeled rest $U$. The 12-lead teacher trains on $L$
#   only; the 1-lead student trains on $L$ with labels and on $U$ without.
# * **(b) a labeled 12-lead archive and an unlabeled wearable pool.** Every training fold is cut in
#   two disjoint halves: the archive $A$ (labeled, 12 leads), on which the teacher trains, and the
#   wearable pool $W$ (lead I), the student's, of which a share `RATIO` is labeled ($W_L$) and the
#   rest is not ($W_U$). The student sees no archive record; the teacher no pool record.
#
# The sizes below are computed on this notebook's synthetic training split at `RATIO` (the data of
# `ctx.source`: generator v2 unless `ECGKD_GENERATOR=v1`; printed above).

# %%
# NBVAL_CHECK_OUTPUT
RATIO = 0.10
B = prep.profile.batch_size
scenarios = {s: experiment.scenario_data(prep, RATIO, s, seed=0) for s in ("a", "b")}
sizes = pd.DataFrame({f"scenario {s}": sd.split.sizes() for s, sd in scenarios.items()}).T
old = {"train": len(prep.train), "teacher": len(prep.train), "student_pool": len(prep.train),
       "labeled": int(sizes.loc["scenario a", "labeled"]), "unlabeled": int(sizes.loc["scenario a", "unlabeled"])}
sizes = pd.concat([pd.DataFrame({"old setting (leaky)": old}).T, sizes])
print(f"RATIO = {RATIO}, training split: {len(prep.train)} records\n")
print(sizes.to_string())
folds = np.asarray(prep.train.folds)
per_fold = pd.DataFrame({
    f"{s}: {part}": pd.Series(folds[getattr(sd.split, part)]).value_counts()
    for s, sd in scenarios.items() for part in ("teacher", "labeled", "unlabeled")}).sort_index().fillna(0).astype(int)
per_fold.index.name = "fold"
print("\nrecords per training fold:\n" + per_fold.to_string())

# %%
sa, sb = (scenarios[s].split.sizes() for s in ("a", "b"))
display(Markdown(
    f"With `RATIO = {RATIO:g}` of **{sa['train']:,}** training records: in **scenario a** the teacher "
    f"trains on the **{sa['teacher']:,}** labeled records of $L$ and the student on all **{sa['student_pool']:,}** "
    f"(**{sa['labeled']:,}** labeled, **{sa['unlabeled']:,}** not); the old setting's teacher read the labels of "
    f"all **{old['teacher']:,}**, the **{old['unlabeled']:,}** \"unlabeled\" ones included. In **scenario b** the "
    f"teacher's archive holds **{sb['teacher']:,}** records and the wearable pool **{sb['student_pool']:,}** "
    f"(**{sb['labeled']:,}** labeled, **{sb['unlabeled']:,}** not): the price of disjointness is half the "
    "records for each side."))

# %% [markdown]
# ## Leakage check
#
# Four conditions, checked on the record ids: the unlabeled records take no validation or test record
# (otherwise the teacher's pseudo-labels would carry held-out information into training); in
# scenario a every teacher record is a labeled record ($\text{teacher} \subseteq L$); in scenario b
# the teacher's archive and the student's pool share no record; the labeled and unlabeled parts
# partition the student's pool. The last lines count the old setting's leak: the teacher's records
# that lie in the unlabeled pool. A bad ratio is refused before anything is drawn.
#
# These checks are about *records*. That no hidden *label* reaches any model is proved by
# `tests/test_semi_scenarios.py::test_no_label_of_the_unlabeled_records_reaches_any_model`: it
# flips every label of the unlabeled records, retrains the teacher and every student as the
# benchmark does, and gets bit-identical weights.

# %%
# NBVAL_CHECK_OUTPUT
def ids_of(data, positions=None):
    rid = np.asarray(data.record_ids)
    return set((rid if positions is None else rid[positions]).tolist())


held_out = {"val": ids_of(prep.val), "test": ids_of(prep.test)}
for s, sd in scenarios.items():
    teacher_ids = ids_of(sd.teacher.train)
    pool_ids = ids_of(sd.student.train)
    lab_ids = ids_of(sd.student.train, sd.labeled)
    unl_ids = ids_of(sd.student.train, ~sd.labeled)
    for name, other in held_out.items():
        assert not unl_ids & other, f"scenario {s}: unlabeled records overlap {name}"
    assert not lab_ids & unl_ids and lab_ids | unl_ids == pool_ids
    print(f"scenario {s}: unlabeled & val {len(unl_ids & held_out['val'])}, unlabeled & test "
          f"{len(unl_ids & held_out['test'])}; labeled + unlabeled = the pool: {lab_ids | unl_ids == pool_ids}")
    if s == "a":
        assert teacher_ids <= lab_ids, "scenario a: a teacher record is not labeled"
        print(f"  teacher records within L: {teacher_ids <= lab_ids} ({len(teacher_ids)} of {len(lab_ids)}); "
              f"teacher & unlabeled: {len(teacher_ids & unl_ids)}")
    else:
        assert not teacher_ids & pool_ids, "scenario b: the archive overlaps the wearable pool"
        print(f"  teacher archive & wearable pool: {len(teacher_ids & pool_ids)} records")
old_unlabeled = ids_of(prep.train, ~scenarios["a"].labeled)  # the old split drew the same L
print(f"old setting: teacher records & 'unlabeled' pool: {len(ids_of(prep.train) & old_unlabeled)} records")
for bad in (0.0, 1.5):
    try:
        experiment.scenario_data(prep, bad, "a")
    except ConfigError as err:
        print(f"ratio {bad}: ConfigError: {err}")

# %% [markdown]
# ## Matched supervision per step
#
# With a plain shuffle of the pool, a batch of $B$ records holds about `RATIO` $\cdot B$ labeled
# records, a number that varies from batch to batch (the old setting's batches). In a label-ratio run every
# method, the baseline included, instead trains on **matched batches** (`train/matched.py`):
# $k$ labeled plus $B - k$ unlabeled records in every batch, with
# $k = \mathrm{clip}(\mathrm{round}(B\,|L| / |\text{pool}|), 2, |L|)$ (`labeled_per_batch`). An epoch
# is one pass over $L$. The batches depend only on the labeled mask, $B$, $k$, the seed and the
# epoch, so every method of a run trains on exactly the same records in every step: the same $k$
# labels may be read, the same $B - k$ records may not. The baseline simply ignores the unlabeled
# ones. The teacher follows the same rule for its length (`SemiSetting.teacher_args`): a teacher
# trained on fewer records than the student's pool gets epochs of $\lceil |\text{pool}| / B \rceil$
# steps (records drawn from fresh permutations of its set), so the same early-stopping rule gives it
# as many steps as its students, not a handful.

# %%
# NBVAL_CHECK_OUTPUT
settings = {s: semi.setting(prep, RATIO, s, B, log=print) for s in scenarios}
sa_set = settings["a"]
mask = sa_set.data.labeled
k = labeled_per_batch(int(mask.sum()), len(mask), B)
assert k == sa_set.k
epoch0 = matched_batches(mask, B, k, seed=0, epoch=0)
again = matched_batches(mask, B, k, seed=0, epoch=0)  # what the next method of the run gets
counts = pd.Series([int(mask[b].sum()) for b in epoch0])
print(f"\nscenario a, B = {B}: k = {k} labeled + {B - k} unlabeled per batch; one epoch = {len(epoch0)} batches")
print("labeled per batch, every batch of epoch 0:", sorted(set(counts)), "| unlabeled:",
      sorted({len(b) - int(mask[b].sum()) for b in epoch0}))
print("the same batches for every method of the run:", all(np.array_equal(x, y) for x, y in zip(epoch0, again)))
labeled_seen = np.concatenate(epoch0)[mask[np.concatenate(epoch0)]]
print(f"labeled records visited in epoch 0: {len(set(labeled_seen.tolist()))} of {int(mask.sum())}, each once:",
      len(labeled_seen) == len(set(labeled_seen.tolist())))
plain = np.random.default_rng(0).permutation(len(mask))[: (len(mask) // B) * B].reshape(-1, B)
plain_counts = mask[plain].sum(1)
print(f"a plain shuffle instead: {plain_counts.min()} to {plain_counts.max()} labeled per batch")
for s, st in settings.items():
    print(f"scenario {s}: teacher_args(B) = {st.teacher_args(B)} (teacher {len(st.data.teacher.train)} records, "
          f"student pool {len(st.data.student.train)})")

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
# ## An honest teacher: scenario a
#
# The 12-lead teacher of scenario a trains on the labeled part $L$ only, with epochs as long as its
# students' (`teacher_args`). Training it takes about a minute on a laptop CPU (quick profile), once;
# afterwards it loads from the cache. Its test AUC is printed beside nothing else on purpose: it is a
# different, weaker teacher than notebook 02's, which read every training label.

# %%
SIZE = "tiny"  # the student size of the benchmark's label-ratio runs
sd = scenarios["a"]
teacher = experiment.train_teacher(sd.teacher, **sa_set.teacher_args(B))
teacher_report = experiment.evaluate_model(teacher.model, prep)
print(f"scenario a teacher: {len(sd.teacher.train)} labeled records, {len(teacher.history)} epochs of "
      f"{sa_set.teacher_args(B).get('steps_per_epoch')} steps; test macro AUC {teacher_report['macro_auc']:.3f}")

# %% [markdown]
# ## How much of the unlabeled pool does the teacher label confidently?
#
# The pseudo-label term only uses entries with $p_c > \tau_{hi}$ or $p_c < \tau_{lo}$. On the unlabeled pool's
# training crops (the cached teacher outputs, exactly what the term sees), we count the confident
# share per class and, because this is synthetic data whose labels we *do* know, how often a
# confident pseudo-label is right (a diagnostic only: no model ever sees these labels). The teacher
# is scenario a's, so these pseudo-labels are honest: the teacher never read a label of this pool.
#
# "Right" has two answers on generator v2. The **observed** labels (`labels`) are what a reader
# coded, with the label noise of real annotation (omissions and flips, borderline records); the
# **noise-free truth** (`meta["true_<class>"]`, kept by the generator) is what the record shows. A
# confident pseudo-label that disagrees with the observed label may be a teacher error or a noisy
# label the teacher got right, so both agreements are printed (on generator v1 the two are the same
# labels, and only the first is shown).

# %%
from ecgkd_lite.distill.teacher_cache import crop_starts

crop = int(round(prep.profile.crop_seconds * prep.fs))
cache = experiment.teacher_cache(sd.student, teacher)
pool = np.flatnonzero(~sd.labeled)
starts = crop_starts(sd.student.train.n_samples, crop, crop // 2)
index = torch.from_numpy(np.repeat(pool, len(starts)))
hit, out = cache.lookup(index, torch.from_numpy(np.tile(starts, len(pool))))
assert bool(hit.all()), "every unlabeled crop is in the teacher cache"
p = torch.sigmoid(out["logits"]).float().numpy()
y = sd.student.train.labels[index.numpy()]
meta = sd.student.train.meta
truth_cols = [f"true_{c}" for c in prep.classes]
has_truth = meta is not None and all(col in meta for col in truth_cols)  # generator v2 keeps the noise-free labels
confident = (p > TAU_HI) | (p < TAU_LO)
correct = (p > 0.5) == (y > 0.5)
coverage = pd.DataFrame({
    "confident share": confident.mean(0),
    "pool positives (observed)": y[:: len(starts)].sum(0).astype(int),
    "pseudo-label accuracy (observed labels)": (correct & confident).sum(0) / np.maximum(confident.sum(0), 1),
}, index=list(prep.classes))
if has_truth:
    y_true = meta[truth_cols].to_numpy(np.float32)[index.numpy()]
    correct_true = (p > 0.5) == (y_true > 0.5)
    coverage["pseudo-label accuracy (noise-free truth)"] = (correct_true & confident).sum(0) / np.maximum(confident.sum(0), 1)
    noisy = (y > 0.5) != (y_true > 0.5)
print(f"{len(pool)} unlabeled records x {len(starts)} crops = {len(index)} crops")
print(coverage.round(3).to_string())
print(f"\nall entries: {confident.mean():.1%} confident, {(correct & confident).sum() / max(confident.sum(), 1):.2%} of "
      f"those agree with the observed labels; crops with every class confident: {confident.all(1).mean():.1%}")
if has_truth:
    print(f"noise-free truth: {(correct_true & confident).sum() / max(confident.sum(), 1):.2%} of the confident entries "
          f"right; the observed label differs from the truth in {noisy.mean():.2%} of the entries")

# %%
share = coverage["confident share"]
hesitant = share.nsmallest(2)
acc_obs = (correct & confident).sum() / max(confident.sum(), 1)
truth_text = ""
if has_truth:
    acc_true = (correct_true & confident).sum() / max(confident.sum(), 1)
    truth_text = (
        f" Against the generator's noise-free truth the confident entries are right **{acc_true:.1%}** of the time, "
        + ("more often than they agree with the observed labels: part of the disagreement is label noise that the "
           "teacher did not copy, not a teacher error." if acc_true > acc_obs else
           "no more often than they agree with the observed labels: the disagreements are teacher errors, not "
           "label noise the teacher saw through."))
rare = coverage.index[coverage["pool positives (observed)"] < 30].tolist()
display(Markdown(
    f"The teacher trained on **{len(sd.teacher.train):,}** labeled records is confident on **{confident.mean():.1%}** "
    f"of the entries and agrees with the observed labels on **{acc_obs:.1%}** of those: the pool "
    f"delivers **{int(confident.sum()):,}** crop-level class labels (crop x class entries) that the labeled records "
    "lack, as good as a teacher trained on the same few labels can make them." + truth_text + " "
    f"The threshold bites hardest where the teacher hesitates most: "
    + ", ".join(f"{c} (**{v:.1%}** confident)" for c, v in hesitant.items())
    + f". **{1 - confident.all(1).mean():.1%}** of the crops have at least one class left out."
    + (f" A high confident share is cheap for a rare class (a near-constant 'absent' is confident and mostly right): "
       f"{', '.join(rare)} {'has' if len(rare) == 1 else 'have'} fewer than 30 positives in the whole pool, so "
       f"{'its accuracy rests' if len(rare) == 1 else 'their accuracies rest'} mostly on negatives." if rare else "")))

# %% [markdown]
# Two things make the teacher hesitate on an entry, and the mask leaves such entries out rather than
# teach a coin flip. Some findings are *episodes*: a PVC beat or a paroxysmal run of atrial
# fibrillation lies in some crops of the record and not in others, while the label belongs to the
# whole record, so the crop-level answer is genuinely uncertain. Others are *borderline*: on
# generator v2 a record's class follows a continuous severity (a PR interval, a QRS axis, a voltage)
# measured with error, so records near the threshold are uncertain for any reader, the teacher
# included; NORM, the absence of every finding, inherits the doubt of all of them. Which classes
# hesitate most is read from the table above.
#
# ## Hands-on: three students of scenario a
#
# The baseline, vanilla KD and LiteHeart, each as the benchmark trains it
# (`experiment.train_student(sd.student, method, teacher=..., **setting.student_args(method))`):
# the same matched batches, the same budget, `seed=0`, cached under the benchmark's tag. Each takes
# about half a minute to a minute on a laptop CPU the first time. One seed each: a single run, not a
# finding; the benchmark below has the folds, seeds and paired intervals.

# %%
HANDS_ON = ["baseline", "vanilla_kd", "liteheart"]
fits = {name: experiment.train_student(
            sd.student, name, teacher=teacher, size=SIZE, seed=0, cache=cache,
            tag=f"student-{experiment.STUDENT_ARCH}-{SIZE}-{name}{sa_set.suffix}", **sa_set.student_args(name))
        for name in HANDS_ON}
honest = {"teacher": teacher_report, **{name: experiment.evaluate_model(fit.model, prep) for name, fit in fits.items()}}
print(f"scenario a, RATIO = {RATIO}, matched batches of {sa_set.k} labeled + {B - sa_set.k} unlabeled, seed 0:")
print(pd.DataFrame({k: {m: r[m] for m in ("macro_auc", "macro_f1", "map")} for k, r in honest.items()}).T
      .round(3).to_string())

# %% [markdown]
# ## What the leak looked like (synthetic, for comparison only)
#
# The old label-ratio file `results/bench_quality_quick_labels10.json` was made with the leaky
# setting: the same ratio and draw rule for the labeled part $L$, the same tiny student, but a
# teacher trained on every training label and plain batches. Its `seed=0` runs beside this notebook's
# honest ones. This is **not** a finding about semi-supervised distillation; it shows how much the
# leak was worth. Two things changed at once (the teacher's labels and the batches), so the
# difference is their joint effect, and only if both columns come from the same data: the file names
# its generator and data fingerprint (printed below). When they are not this notebook's, the records,
# their labels and both teachers differ too, so the two columns stand side by side without a
# difference column and only each column's gains over its own baseline are compared.

# %%
# NBVAL_CHECK_OUTPUT
leaky_path = REPO_ROOT / "results" / "bench_quality_quick_labels10.json"
leaky = json.loads(leaky_path.read_text()) if leaky_path.exists() else None
if leaky is None:
    print(f"not found: {leaky_path.name}")
else:
    assert abs(leaky["label_ratio"] - RATIO) < 1e-9 and leaky["student"]["size"] == SIZE
    leaky_auc = {"teacher": leaky["teacher"]["macro_auc"],
                 **{m: next(r for r in leaky["methods"][m]["runs"] if r["seed"] == 0)["macro_auc"]
                    for m in HANDS_ON if m in leaky["methods"]}}
    same_data = leaky["data"]["fingerprint"] == experiment.data_key(prep)
    print(f"{leaky_path.name}: made by {leaky['command']}")
    print(f"its data: {generator_of(leaky)}; this notebook's: {GENERATOR[ctx.source]}; the same records: {same_data}")
    print(f"leaky setting, seed 0 (teacher on all {leaky['data']['n_train']} training labels, {leaky['n_labeled']} "
          "labeled for the students):")
    print(pd.Series(leaky_auc, name="macro AUC").round(3).to_string())

# %%
def md_table(frame):
    """A DataFrame as a Markdown table (index as the first column)."""
    head = "| | " + " | ".join(map(str, frame.columns)) + " |\n|---|" + "---:|" * frame.shape[1]
    return head + "".join("\n| " + " | ".join([str(i), *(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row)])
                          + " |" for i, row in zip(frame.index, frame.itertuples(index=False)))


if leaky is not None:
    both = pd.DataFrame({f"leaky (old file, {generator_of(leaky)}, seed 0)": leaky_auc,
                         f"scenario a (this notebook, {GENERATOR[ctx.source]}, seed 0)":
                             {k: r["macro_auc"] for k, r in honest.items()}})
    if same_data:
        both["honest minus leaky"] = both.iloc[:, 1] - both.iloc[:, 0]
    display(Markdown("**What the leak was worth** (test macro AUC, one seed each, synthetic; not a finding):\n\n"
                     + md_table(both.round(3))))
    gains = {name: (both.loc[name].iloc[0] - both.loc["baseline"].iloc[0],
                    both.loc[name].iloc[1] - both.loc["baseline"].iloc[1]) for name in HANDS_ON[1:] if name in both.index}
    display(Markdown(
        "Over the baseline of its own setting: " + "; ".join(
            f"{name} **{old:+.3f}** with the leaky teacher, **{new:+.3f}** with the honest one"
            for name, (old, new) in gains.items())
        + f". The teacher itself: **{both.loc['teacher'].iloc[0]:.3f}** with every label, "
        f"**{both.loc['teacher'].iloc[1]:.3f}** with $L$ only. One seed each: read the signs and sizes, "
        "not the third decimal."
        + ("" if same_data else
           (f" The leaky column is {generator_of(leaky)} and the honest one {GENERATOR[ctx.source]}"
            if generator_of(leaky) != GENERATOR[ctx.source] else
            f" Both columns are {GENERATOR[ctx.source]}, but the leaky file was made on another version of its "
            "records (its data fingerprint differs)")
           + ": different records, labels and teachers, so even the gains over each column's own baseline mix the "
           "leak with the change of data. Read them as an illustration of the leak's direction, not of its size on "
           "this data.")))

# %% [markdown]
# ## Real data: scenarios a and b on `ptbxl-2k`
#
# The real benchmark (`ecgkd bench quality --data ptbxl2k --label-ratio 0.1 --scenario a|b`,
# `ecgkd_lite.bench.cv`) trains the students on `ptbxl-2k` in cross-validation folds, each fold's
# training part split by the scenario, with matched batches for every method and a teacher per fold
# that only reads the labels the scenario allows. Beside the methods, the **reference rows**:
# `baseline-full_labels` (the same student on every label of its pool: the upper reference, what the
# hidden labels would be worth), `mean_teacher` (the unlabeled pool used *without any* 12-lead
# teacher: an EMA copy of the student as its own teacher) and `hard_pseudo_label` (the teacher's
# labels at $p > 0.5$ on the unlabeled records, no soft targets, no mask). The full-label run
# (`results/bench_quality_ptbxl2k.json`, the teacher on every label, no unlabeled records) stands
# beside them. Every difference is **paired** (notebook 12): the same resampled records for the method
# and the baseline of the same run, seed by seed. A method is *better* only when the $95\,\%$
# interval of its difference lies above zero, *worse* when it lies below, and *level* otherwise. A
# run with one seed says so in the table. A missing file is named, not replaced.

# %%
# NBVAL_CHECK_OUTPUT
def load_runs(files):
    """{setting: result JSON} for the files that exist, each with its provenance printed; a missing file is named."""
    runs = {}
    for name, file in files.items():
        path = REPO_ROOT / "results" / file
        if not path.exists():
            print(f"not run yet: {file}")
            continue
        runs[name] = json.loads(path.read_text())
        st = runs[name]["setting"]
        print(f"{name}: {file} | data {generator_of(runs[name])} | {runs[name]['command']} | "
              f"commit {(runs[name]['git_commit'] or '?')[:8]} | {runs[name]['date'][:10]} | label ratio {st['label_ratio']:g}, scenario {st['scenario']}, "
              f"{st['k']} fold(s), pool {runs[name]['n_pool']} | complete: {runs[name]['complete']}")
        if "teacher_labels" in st:
            print(f"  teacher: {st['teacher_labels']}")
    return runs


def verdict(delta):
    """The rule of the whole course: better / worse only where the paired 95 % interval excludes zero."""
    lo, hi = delta["ci95"]
    return "better" if lo > 0 else "worse" if hi < 0 else "level"


def delta_text(row):
    """'+0.012 [+0.004, +0.020], better' (', 1 seed' when only one seed was compared)."""
    d = row["paired_delta_macro_auc"]
    one = ", 1 seed" if d.get("seeds_compared", len(row["seeds"])) == 1 else ""
    return f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]{one}, {verdict(d)}"


def auc_text(row):
    return f"{row['macro_auc_mean']:.3f}" + (f" ± {row['macro_auc_std']:.3f}" if row["macro_auc_std"] is not None
                                             else " (1 seed)")


ORDER = ["teacher", "baseline", "baseline-full_labels", "vanilla_kd", "liteheart", "evl_ecg", "mean_teacher",
         "hard_pseudo_label"]


def scenario_table(runs):
    """The rows every scenario run shares, each setting's macro AUC and paired difference to its baseline."""
    scenario_runs = {k: v for k, v in runs.items() if k != "full labels"}
    extra = [m for r in scenario_runs.values() for m in r["methods"] if m not in ORDER]
    rows = [m for m in dict.fromkeys(ORDER + extra) if any(m in r["methods"] for r in (scenario_runs or runs).values())]
    table = pd.DataFrame({
        (name, col): {m: (auc_text(r["methods"][m]) if col == "macro AUC"
                          else delta_text(r["methods"][m]) if "paired_delta_macro_auc" in r["methods"][m] else "")
                      if m in r["methods"] else "not in this run" for m in rows}
        for name, r in runs.items() for col in ("macro AUC", "minus baseline [95 % CI], verdict")})
    pd.set_option("display.max_colwidth", 60, "display.width", 250)
    print(table.to_string())
    return scenario_runs, rows


REAL = {"full labels": "bench_quality_ptbxl2k.json",
        "scenario a": "bench_quality_ptbxl2k_labels10_scenario_a.json",
        "scenario b": "bench_quality_ptbxl2k_labels10_scenario_b.json"}
real = load_runs(REAL)
print(f"\nout-of-fold macro AUC ({real['full labels']['setting']['k']}-fold cross-validation on the "
      f"{real['full labels']['n_pool']:,}-record pool):")
scenario_runs, rows = scenario_table(real)

# %%
def scenario_figures(scenario_runs, rows, data_name, stem, metric):
    for name, r in scenario_runs.items():
        deltas = {m: r["methods"][m]["paired_delta_macro_auc"] for m in rows
                  if m in r["methods"] and "paired_delta_macro_auc" in r["methods"][m]}
        fig = plot_paired_deltas(deltas, xlabel=f"{metric} macro AUC minus the baseline's (paired 95 % interval)",
                                 title=f"{data_name}, {name}, label ratio {r['setting']['label_ratio']:g}: "
                                       "each model minus the 1-lead baseline")
        save_figure(fig, f"07_{stem}_paired_deltas_{name.replace(' ', '_')}")
        plt.show()


scenario_figures(scenario_runs, rows, "ptbxl-2k", "real", "out-of-fold")

# %%
def reading(name, r, full=None, metric="out-of-fold"):
    rows_ = r["methods"]
    get = lambda m: f"{m} {delta_text(rows_[m])}" if m in rows_ and "paired_delta_macro_auc" in rows_[m] else None
    groups = {v: [m for m, x in rows_.items() if "paired_delta_macro_auc" in x and verdict(x["paired_delta_macro_auc"]) == v]
              for v in ("better", "level", "worse")}
    teacher_methods = [m for m in ("vanilla_kd", "liteheart", "evl_ecg", "hard_pseudo_label") if m in rows_]
    mt = rows_.get("mean_teacher", {}).get("paired_delta_macro_auc")
    above_mt = [m for m in teacher_methods if verdict(rows_[m]["paired_delta_macro_auc"]) == "better"
                and (mt is None or rows_[m]["paired_delta_macro_auc"]["estimate"] > mt["estimate"])]
    lh = rows_.get("liteheart", {}).get("paired_gap_closed_macro_auc")
    text = (f"**{name}** ({r['setting'].get('teacher_labels', 'teacher on the labeled records')}): the teacher reaches "
            f"**{rows_['teacher']['macro_auc_mean']:.3f}** {metric} macro AUC"
            + (f" (**{full['methods']['teacher']['macro_auc_mean']:.3f}** with every label)" if full else "")
            + f", the 1-lead baseline **{auc_text(rows_['baseline'])}**. Against that baseline: "
            + "; ".join(t for t in map(get, ["baseline-full_labels", *teacher_methods, "mean_teacher"]) if t)
            + f". Better: {', '.join(groups['better']) or 'none'}; level: {', '.join(groups['level']) or 'none'}; "
            f"worse: {', '.join(groups['worse']) or 'none'}. "
            + (f"LiteHeart closes **{lh['estimate']:.0%}** of the teacher's lead (95 % interval {lh['ci95'][0]:.0%} to "
               f"{lh['ci95'][1]:.0%}) against the paper's \"nearly half\". " if lh else "")
            + ("The 12-lead teacher shows its worth only where a method that reads it is better than the baseline "
               "*and* above the mean teacher, which uses the same unlabeled pool without it: "
               + (", ".join(above_mt) if above_mt else "no such method here")
               + (" (no mean-teacher row in this run). " if mt is None else
                  " (point estimates against the mean teacher's; the file stores no paired interval between the two). "))
            + ("" if r["complete"] else "The run is **not complete** yet: methods with one seed are compared on that "
               "seed only, and their verdicts may change."))
    return text


if scenario_runs:
    display(Markdown("**Reading.**\n\n" + "\n\n".join(f"* {reading(n, r, real.get('full labels'))}"
                                                       for n, r in scenario_runs.items())))
else:
    display(Markdown("**Reading.** No scenario file yet: nothing to read. The leaky synthetic numbers above "
                     "are not a substitute."))

# %% [markdown]
# ## The same scenarios on the converged synthetic benchmark
#
# The real set is small (about a hundred labels per fold at a tenth). The converged synthetic
# benchmark (notebook 12: one split of the synthetic generator, a large test set, every model until
# validation stops improving) runs the same two scenarios on the same code path
# (`ecgkd bench quality --profile converged --label-ratio 0.1 --scenario a|b`, with
# `--generator v2` for v2): more records, no folds, a teacher that reads only what its scenario
# allows, the same reference rows and the same paired rule. Its all-labels run is the full-label
# reference. The cell reads the files made on this notebook's generator; each names the generator
# it was made on (printed with it below).

# %%
# NBVAL_CHECK_OUTPUT
#: the converged benchmark's file stem on each generator (the scenario files add `_labels10_scenario_<k>`)
CONVERGED = {"synthetic": "bench_quality_converged", "synthetic_v2": "bench_quality_converged_v2"}
own = CONVERGED[ctx.source]
# this generator's scenario runs when they exist, otherwise generator v1's (the cell below says which)
stem = own if (REPO_ROOT / "results" / f"{own}_labels10_scenario_a.json").exists() else CONVERGED["synthetic"]
SYNTHETIC = {"full labels": f"{stem}.json",
             "scenario a": f"{stem}_labels10_scenario_a.json",
             "scenario b": f"{stem}_labels10_scenario_b.json"}
synthetic = load_runs(SYNTHETIC)
synthetic["full labels"]["methods"] = {m: r for m, r in synthetic["full labels"]["methods"].items()
                                       if m in ORDER}  # the main rows only (notebook 12 has the rest)
print("\ntest macro AUC (the converged benchmark's synthetic test set):")
syn_runs, syn_rows = scenario_table(synthetic)

# %%
syn_gens = sorted({generator_of(r) for r in synthetic.values()})
scenario_figures(syn_runs, syn_rows, f"converged synthetic ({', '.join(syn_gens)})", "synthetic", "test")
if syn_runs:
    display(Markdown("**Reading.**\n\n" + "\n\n".join(
        f"* ({generator_of(r)}) {reading(n, r, synthetic.get('full labels'), metric='test')}"
        for n, r in syn_runs.items())))
else:
    display(Markdown("**Reading.** The synthetic scenario files have not been run yet: nothing to read."))

# %%
this_gen = GENERATOR[ctx.source]
text = (f"**Which data.** The converged files above were made on {' and '.join(syn_gens)}; this notebook's own "
        f"runs (the scenario sizes, the teacher's pseudo-labels, the hands-on students) on {this_gen}. ")
if syn_gens == [this_gen]:
    text += "The same generator: the hands-on runs are one seed of the same settings at the quick budget."
else:
    text += (f"{this_gen} has no scenario run of the converged benchmark yet (`{own}_labels10_scenario_a.json`), so "
             f"these are {', '.join(syn_gens)}'s: not the same data, so read them method against method (the "
             "paired differences), not their AUCs against the hands-on table above.")
display(Markdown(text))

# %% [markdown]
# ## Takeaways
#
# * A teacher trained on the labels of the "unlabeled" pool leaks them to the student through its
#   soft targets and pseudo-labels; a semi-supervised result is only as honest as the teacher's
#   training set. In scenario a the teacher reads only $L$; in scenario b it reads a disjoint archive.
# * Check records (teacher within $L$, archive and pool disjoint, no held-out record in the pool) and
#   labels (`tests/test_semi_scenarios.py`: flipping every hidden label changes no weight).
# * Compare methods on the same supervision per step: matched batches give every method the same $k$
#   labeled and $B - k$ unlabeled records, and the teacher as many steps as its students.
# * The confidence mask keeps the entries the teacher is sure about; an honest teacher is sure about
#   fewer of them, and right less often, than one that has seen the answers.
# * Read a label-scarce result against its references: the baseline on every label (what the hidden
#   labels would be worth) and the mean teacher (what the unlabeled pool gives without a 12-lead
#   teacher). "Better" only where the paired interval excludes zero; one seed is one seed.
#
# ## Exercises
#
# * **(a) Scenario b on the synthetic set.** Train the teacher and the three hands-on students of
#   scenario b (`settings["b"]`, `scenarios["b"]`) exactly as the scenario-a cells do, and compare the
#   two tables. Which side pays for disjointness, the teacher or the student?
# * **(b) What would the leak do?** In `tests/test_semi_scenarios.py`, make `_flow` train the teacher
#   on every label (`experiment.train_teacher(prep)` instead of `setting.data.teacher`) and run
#   `test_no_label_of_the_unlabeled_records_reaches_any_model`. Which models change when the hidden
#   labels are flipped, and which stay bit-identical?
# * **(c) Stricter thresholds.** Set `TAU_HI, TAU_LO = 0.99, 0.01` before the coverage cell. What
#   happens to the confident share and to the accuracy of the confident labels?
# * **(d) Plain against matched batches.** From `mask` and `B`, count the labeled records per batch of
#   a plain shuffle for several seeds. How far apart are the least and the most supervised steps?
#
# Solutions: `notebooks/solutions/07_semi_supervised.md`.
