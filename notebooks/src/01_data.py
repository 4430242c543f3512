# %% [markdown]
# # 01 · The data: what an ECG is, the 12 leads, and the two synthetic generators
#
# ## Learning goals
#
# - Describe the heart's electrical activity as one moving 3-D vector and the 12 leads as its
#   projections (the Dower matrix), and check the Einthoven relation numerically.
# - Read a 12-lead clinical grid and, on generator v1 (the clean teaching model), say which leads
#   show each condition and measure with a counterfactual how little lead I changes for some of them.
# - Know generator v2, the data every later notebook trains on: labels that are noisy readings of
#   continuous severities, a long tail of rare classes, findings that co-occur, and a lead-I
#   visibility that is graded and measured instead of built in.
# - Set a real PTB-XL record and a real cohort beside the synthetic ones, and know the
#   train / validation / test split every later notebook uses.
#
# ## Prerequisites
#
# - notebook 00 (why a 1-lead student, the cardiac dipole picture, what distillation is).
#
# **Two generators.** Generator v1 is clean and noise-free: a label is a parameter the generator
# set, a normal range never touches an abnormal one, and each condition is drawn either where lead I
# sees it or where it does not. It is the picture of *how a condition is drawn* (sections 1-3).
# Generator v2 keeps the same heart and leads and makes the data as uncertain as a clinical data set
# (sections 4-5); it is the notebooks' source (`ctx.source`), so every later notebook trains and
# scores its models on it (the split of section 8).

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
from ecgkd_lite import experiment

# %% [markdown]
# ## 1. One heartbeat, one dipole, twelve leads
#
# During a beat the depolarisation front sweeps through the heart. Summed over the heart, it acts like
# one electric **dipole** $\mathbf{d}(t) \in \mathbb{R}^3$ (the vectorcardiogram, axes X left, Y
# down, Z front). An electrode pair measures the projection of that vector onto its own direction:
#
# $$ \text{lead}_\ell(t) = \mathbf{c}_\ell^\top \mathbf{d}(t), \qquad \mathbf{x}(t) = D\, \mathbf{d}(t),\; D \in \mathbb{R}^{12\times 3}. $$
#
# Our generator uses the published **Dower** matrix $D$ (Dower 1980; Dower 1988). Its rows say from where each
# lead looks. Lead I is almost pure X (left-right); aVF is Y (up-down); V1-V2 look mostly along Z.

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
import pandas as pd
from ecgkd_lite.data import LEADS12
from ecgkd_lite.data.dower import DOWER_12, INVERSE_DOWER, dipole_to_leads, leads_to_dipole

print(pd.DataFrame(DOWER_12, index=LEADS12, columns=["X", "Y", "Z"]).round(3).to_string())

# %% [markdown]
# **Check.** The inverse Dower matrix (Edenbrandt & Pahlm 1988) maps the eight independent leads back to
# the dipole. It is a published regression, not an exact inverse, so the round trip is close but not
# perfect; the exact pseudo-inverse recovers the dipole to rounding.

# %%
# NBVAL_CHECK_OUTPUT
rng = np.random.default_rng(0)
dipole = rng.normal(size=(3, 500))
leads = dipole_to_leads(dipole)
back = leads_to_dipole(leads)
rel_err = np.linalg.norm(back - dipole) / np.linalg.norm(dipole)
exact = np.linalg.pinv(DOWER_12) @ leads
print(f"leads shape: {leads.shape}")
print(f"inverse-Dower round trip, relative error: {rel_err:.2f}")
print(f"pseudo-inverse round trip exact: {np.allclose(exact, dipole)}")
print(f"Einthoven (II = I + III) holds: {np.allclose(leads[1], leads[0] + leads[2])}")

# %% [markdown]
# ## 2. Generator v1: how a condition is drawn
#
# Each record is a `10 s`, 12-lead ECG in mV. Per beat, the dipole is a sum of Gaussian waves (P, Q, R, S,
# ST, T, U), each with a time offset, a width and a 3-D amplitude vector; each patient's heart is
# slightly rotated and scaled; heart rate and its variability vary; baseline wander, muscle noise,
# electrode motion and mains hum are added where a record's flags say so. Conditions change the
# physiology (PR length, QRS width and direction, ST vector, rhythm...). Everything is deterministic
# from the seed. The generator makes thousands of records per second (see the README's benchmark).
#
# In v1 a label *is* the parameter that drew the condition: no label is ever wrong, and every
# condition is drawn at about the same prevalence. That makes it the clearest place to see what a
# condition does to the twelve leads; the models of the later notebooks train on v2 (section 4).

# %%
# NBVAL_CHECK_OUTPUT
raw = experiment.load_source("synthetic", profile=ctx.profile)  # generator v1
print(raw)
print("signals:", raw.signals.shape, raw.signals.dtype, "| labels:", raw.labels.shape, "| fs:", raw.fs)
print("classes:", " ".join(raw.classes))

# %% [markdown]
# ### A 12-lead clinical grid per condition (v1)
#
# The standard printout: `25 mm/s`, `10 mm/mV`, a `1 mV` calibration pulse, three rows of four leads
# (`2.5 s` each) and a `10 s` rhythm strip of lead II. Below: one v1 record with each condition, chosen as
# the first record whose only label is that condition (a *pure* example). Look at AMI (V1-V3), IMI and
# LAFB (II, III, aVF) and then at lead I in the same records.

# %%
import matplotlib.pyplot as plt
from ecgkd_lite.data import CONDITIONS
from ecgkd_lite.plots import plot_12lead, save_figure, series_colors

pure = {}
for k, cond in enumerate(CONDITIONS):
    only = np.flatnonzero((raw.labels[:, k] == 1) & (raw.labels.sum(1) == 1))
    if len(only):
        pure[cond.code] = int(only[0])
for code in ["NORM", "AMI", "IMI", "LAFB", "CRBBB", "AFIB", "PVC"]:
    i = pure[code]
    fig = plot_12lead(raw.signals[i], raw.fs, title=f"{code} ({raw.record_ids[i]}, generator v1)")
    save_figure(fig, f"01_grid_{code}")
    plt.show()

# %% [markdown]
# ## 3. Where each condition shows (v1, by construction)
#
# A counterfactual on generator v1: take a few patients with no finding (`n_patients=32`), switch one
# condition on, render both without noise, and measure how much each lead changes relative to its own
# amplitude. This is the gap the project is about, in its cleanest form: v1 draws **LAFB, AMI, IMI**
# as changes of the dipole that lead I barely registers while other leads change a lot (the `tagged`
# column is the construction, `data/conditions.py`); rhythm and bundle-branch conditions are visible
# in lead I too. v2 draws the same conditions differently from record to record, so what lead I sees
# of them is graded and has to be measured (section 4).

# %%
import seaborn as sns
from ecgkd_lite.data.visibility import lead_effects

effects = lead_effects(n_patients=32, fs=raw.fs, seconds=10, seed=0)
fig, ax = plt.subplots(figsize=(9, 5))
sns.heatmap(effects.clip(upper=2), annot=effects.round(1), fmt="", cmap="rocket_r", ax=ax,
            cbar_kws={"label": "relative RMS change (clipped at 2)"})
ax.set_title("How much each lead changes when a condition is switched on (generator v1, 32 patients)")
ax.set_xlabel("lead"); ax.set_ylabel("condition")
ax.grid(False)  # grid lines would cross the cells
save_figure(fig, "01_lead_effects")
plt.show()

# %%
# NBVAL_CHECK_OUTPUT
ratio = (effects["I"] / effects.drop(columns="I").max(axis=1)).round(2)
visibility = pd.DataFrame({"lead I / strongest other lead": ratio,
                           "tagged": [c.lead_I for c in CONDITIONS if c.code != "NORM"]})
print(visibility.sort_values("lead I / strongest other lead").to_string())

# %% [markdown]
# ## 4. Generator v2: the data every later notebook uses
#
# Generator v1's labels are the generator's own parameters, its normal and abnormal ranges never
# touch, every class sits near one flat prevalence and a condition is either plain or hidden in lead
# I. Real ECG statements are none of these things, and each difference matters for distillation: a
# teacher that can never be wrong has soft targets equal to the hard labels, so it carries no "dark
# knowledge". Generator v2 (`ecgkd_lite/data/synthetic_v2.py`, every parameter with its source in the
# docstring) keeps the same heart and leads and adds:
#
# - a continuous latent **severity** per finding (PR interval, QRS width, frontal axis, ST
#   deviation...), *measured with error* by a simulated reader, so borderline records exist;
# - **label noise**: per-class omission and false-positive rates applied to the labels the models
#   see, the noise-free labels kept in `meta["true_<class>"]` for analysis (notebook 02 scores the
#   teacher against both);
# - **graded visibility**: infarct locations drawn from a distribution, the frontal axis over its
#   physiological range, per-lead habitus gains, occasional electrode reversal;
# - **co-occurrence and a long tail** estimated from the labels of the real `ptbxl-2k` records
#   (section 7), through correlated severities (section 5).
#
# Below: as many v2 records as v1 has, v2's noise measured against its configuration, and a
# borderline class.

# %%
from ecgkd_lite.data.synthetic_v2 import SEVERITY, V2Config

v2 = experiment.load_source("synthetic_v2", profile=ctx.profile)
cfg = V2Config().checked()
truth = v2.meta[[f"true_{c}" for c in v2.classes]].to_numpy()
read = v2.meta[[f"measured_{c}" for c in v2.classes]].to_numpy()  # the reader's call, before coding noise
seen = v2.labels  # what the models see
noise = pd.DataFrame(
    {
        "prevalence %": 100 * seen.mean(0, dtype=np.float64),
        "reader differs from truth %": 100 * (read != truth).mean(0),
        "omitted % (measured)": [100 * (seen[read[:, j] == 1, j] == 0).mean() for j in range(len(v2.classes))],
        "omitted % (configured)": [100 * cfg.false_negative.get(c, np.nan) for c in v2.classes],
        "false positive % (measured)": [100 * seen[read[:, j] == 0, j].mean() for j in range(len(v2.classes))],
        "false positive % (configured)": [100 * cfg.false_positive.get(c, np.nan) for c in v2.classes],
    },
    index=v2.classes,
).round(2)
print(v2)
print(noise.to_string())

# %% [markdown]
# Two kinds of error stand between the truth and the label. The reader measures each severity with
# error, so records near a threshold are called the wrong side of it ("reader differs from truth");
# then coding omits or adds statements at the configured per-class rates (the docstring cites the
# inter-rater studies they come from). The measured coding rates follow the configured ones; they
# sit a little higher where a generator rule removes a coded finding (a rhythm or bundle-branch
# exclusion) and scatter where a class has few positives. `NORM` has no rate of its own: it is
# derived ("no other observed finding"), so every omitted finding can make a record a labelled `NORM`.
#
# Borderline records (left): the reader measures the PR interval with error and codes `1AVB` above
# `0.2 s`, so the share of records labelled `1AVB` rises over a band around the threshold instead of
# jumping, and above it stays below one by the omission rate. On the right, each class's lead-I gap
# (12-lead AUC minus lead-I AUC of the same probe) on v2 against real `ptbxl-2k` (section 7)
# (`benchmarks/calibration_synthetic.py`, `results/calibration_synthetic.json`): graded, not all
# or nothing, and within the `±0.05` band for most classes.

# %%
import json

from ecgkd_lite.config import REPO_ROOT

calib = json.loads((REPO_ROOT / "results" / "calibration_synthetic.json").read_text())
sev = v2.meta["sev_1AVB"].to_numpy()
y_1avb = v2.labels[:, list(v2.classes).index("1AVB")]
set_colours = series_colors(2)  # data sets, not methods: light = real, dark = synthetic
fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4))
bins = np.linspace(0.12, 0.32, 41)
which = np.digitize(sev, bins) - 1
inside = (which >= 0) & (which < len(bins) - 1)
count = np.bincount(which[inside], minlength=len(bins) - 1)
share = np.bincount(which[inside], weights=y_1avb[inside], minlength=len(bins) - 1) / np.maximum(count, 1)
mid = (bins[:-1] + bins[1:]) / 2
ax.plot(mid[count >= 5], share[count >= 5], "o-", color=set_colours[1], ms=4, label="labelled 1AVB (bins of >= 5 records)")
ax.axhline(1 - cfg.false_negative["1AVB"], color="0.5", ls=":", lw=1, label="1 - configured omission rate")
ax.axvline(SEVERITY["1AVB"].threshold, color="0.2", ls="--", lw=1, label="threshold 0.2 s")
ax.set(xlabel="latent PR interval (s)", ylabel="share of records labelled 1AVB", ylim=(0, 1),
       title="1AVB: the label is a noisy reading of the PR interval (v2)")
ax.legend(fontsize=8, loc="lower right")
rows = sorted(calib["per_class"], key=lambda r: r["real_gap"])
at = np.arange(len(rows))
real = np.array([r["real_gap"] for r in rows])
synth = np.array([r["synthetic_gap"] for r in rows])
bx.barh(at, 0.1, left=real - 0.05, height=0.6, color="0.88", label="target: real ± 0.05")
bx.scatter(real, at, marker="o", facecolors="white", edgecolors=set_colours[0], linewidths=1.5, zorder=3,
           label="real (ptbxl-2k)")
bx.scatter(synth, at, marker="o", color=set_colours[1], zorder=3, label="synthetic v2")
bx.axvline(0, color="0.5", lw=0.8)
bx.set_yticks(at, [r["class"] for r in rows])
bx.set(xlabel="lead-I gap: 12-lead AUC minus lead-I AUC (feature probe)", title="Lead-I gap per class: v2 against real")
bx.legend(fontsize=8, loc="lower right")
fig.tight_layout()
save_figure(fig, "01_v2_noise_and_gap")
plt.show()

# %%
from IPython.display import Markdown, display

near = np.abs(sev - SEVERITY["1AVB"].threshold) < 0.01
changed = (truth != seen).any(1).mean()
coding = noise.dropna()
omit_ratio = (coding["omitted % (measured)"] / coding["omitted % (configured)"]).median()
display(Markdown(
    f"Reader and coding errors change at least one label of **{changed:.1%}** of the v2 records; the "
    f"median ratio of measured to configured omission rate over the findings is **{omit_ratio:.2f}**. Within `±10 ms` of "
    f"the 1AVB threshold, **{y_1avb[near].mean():.0%}** of the {int(near.sum())} records carry the label. "
    f"The probe's lead-I gap lies within `±0.05` of the real one for **{sum(r['gap_within'] for r in rows)} "
    f"of {len(rows)}** calibrated classes (misses and their reasons: README, \"Generator v2 calibrated\")."
))

# %% [markdown]
# ### What lead I sees in v2: measured, not built in
#
# v2 hides no class from lead I by construction, so which classes lead I sees has to be *measured*:
# the converged v2 benchmark (`results/bench_quality_converged_v2.json`) compares, per class, the
# 12-lead teacher's AUC with the lead-I baseline's on its hold-out (records no notebook's test fold
# contains) and groups the class by the interval of that difference: "seen" when it lies below `0.05`,
# "not seen" when it lies above `0.10`, "partly seen" in between. A class with fewer than `10`
# positives there is not grouped. The later notebooks use these groups (`source_visibility`) wherever
# they ask what lead I misses.

# %%
from ecgkd_lite.bench.cv import source_visibility

groups_v1 = source_visibility("synthetic", list(raw.classes))  # v1: the construction of section 3
groups = source_visibility("synthetic_v2", list(v2.classes))  # v2: measured on the benchmark's hold-out
group_of = lambda g: {c: name for name, members in g.items() for c in members}
vis = pd.DataFrame({"v1 (by construction)": pd.Series(group_of(groups_v1)),
                    "v2 (measured)": pd.Series(group_of(groups))}).reindex(list(v2.classes))
vis = vis.fillna("too few positives to group")
print(vis.to_string())

# %%
listed = lambda cs: ", ".join(f"**{c}**" for c in cs) if cs else "no class"
ungrouped = [c for c in v2.classes if c not in group_of(groups)]
hidden_v1 = groups_v1["not seen"]
display(Markdown(
    f"On v2, lead I sees {listed(groups['seen'])}; it partly sees {listed(groups['partly seen'])}; "
    + (f"it does not see {listed(groups['not seen'])}. " if groups["not seen"] else "no class is unseen. ")
    + f"Too rare on the hold-out to group: {listed(ungrouped)}. "
    f"v1's hidden classes come out on v2 as: "
    + ", ".join(f"**{c}** {vis.loc[c, 'v2 (measured)']}" for c in hidden_v1)
    + ". The conditions are the same; v2 draws them over a range of locations and axes instead of "
    "one direction, so lead I catches some of their records."
))

# %% [markdown]
# ## 5. Labels: prevalence and co-occurrence
#
# Records are multi-label (a patient can have AF *and* an old inferior infarction). Rhythms exclude
# each other, as do the two bundle-branch blocks; NORM means "no other finding". Generator v1 draws its
# conditions independently apart from these rules, each near one flat prevalence. v2 draws correlated
# severities, so some findings come together more often than chance, and takes its prevalences from a
# real cohort, so a few classes are common and many are rare. The exclusion rules hold for v2's truth;
# label noise can break them in the labels the models see. The table: v2's positives per split and the
# prevalence of each class in both generators.

# %%
# NBVAL_CHECK_OUTPUT
summary = v2.summary()
summary["all"] = summary.sum(axis=1)
summary["prevalence v2 %"] = (100 * summary["all"] / len(v2)).round(1)
summary["prevalence v1 %"] = pd.Series(100 * raw.labels.mean(0, dtype=np.float64), index=list(raw.classes)).round(1)
print(summary.to_string())
for name, data in (("v1", raw), ("v2", v2)):
    counts = np.bincount(data.labels.sum(1).astype(int))
    print(f"{name} records by number of labels:", {k: int(v) for k, v in enumerate(counts) if v})

# %% [markdown]
# Co-occurrence as a ratio: the records that carry two findings together, divided by the records that
# would if the two were independent (the product of their prevalences times the number of records),
# on a `log2` scale. Red: together more often than chance; blue: less often; the darkest blue also
# marks "never together" where at least `5` records were expected (an exclusion rule of the
# generator). Grey: too few records to tell (fewer than `5` together), and the diagonal. NORM is left
# out: it excludes every other finding by definition.

# %%
def log2_lift(labels, min_records=5):
    """log2(observed / expected-if-independent) co-occurrence per pair; NaN where too few records,
    -inf where a pair never occurs although at least ``min_records`` are expected."""
    y = labels.astype(np.float64)
    both = y.T @ y
    expected = len(y) * np.outer(y.mean(0), y.mean(0))
    out = np.full(both.shape, np.nan)
    ok = both >= min_records
    out[ok] = np.log2(both[ok] / expected[ok])
    out[(both == 0) & (expected >= min_records)] = -np.inf
    np.fill_diagonal(out, np.nan)
    return out


findings = [c for c in v2.classes if c != "NORM"]
cols = [list(v2.classes).index(c) for c in findings]
lifts = {name: pd.DataFrame(log2_lift(data.labels[:, cols]), index=findings, columns=findings)
         for name, data in (("v1", raw), ("v2", v2))}
fig, axes = plt.subplots(1, 2, figsize=(13, 5.6))
for ax, (name, lift) in zip(axes, lifts.items()):
    ax.set_facecolor("0.85")  # NaN cells: too few records
    sns.heatmap(lift.clip(-3, 3), vmin=-3, vmax=3, center=0, cmap="vlag", ax=ax, square=True,
                cbar_kws={"label": "log2(observed / expected if independent)", "shrink": 0.8})
    ax.set_title(f"generator {name}: {len(raw if name == 'v1' else v2):,} records")
    ax.set(xlabel="condition", ylabel="condition")
    ax.grid(False)  # grid lines would cross the cells
fig.suptitle("Label co-occurrence against independence (clipped at ±3; grey: too few records)")
fig.tight_layout()
save_figure(fig, "01_cooccurrence")
plt.show()

# %%
upper = np.triu(np.ones((len(findings), len(findings)), dtype=bool), 1)
pairs = lifts["v2"].where(upper).stack()
pairs = pairs[np.isfinite(pairs)].sort_values(ascending=False)
(a, b), top = pairs.index[0], pairs.iloc[0]
n_ab = int((v2.labels[:, list(v2.classes).index(a)] * v2.labels[:, list(v2.classes).index(b)]).sum())
v1_pairs = lifts["v1"].where(upper).stack()
v1_max = v1_pairs[np.isfinite(v1_pairs)].max()
prev_v1 = summary["prevalence v1 %"].drop("NORM")
prev_v2 = summary["prevalence v2 %"].drop("NORM").sort_values()
rare_test = summary["test"][summary["test"] < 10]
multi = {name: float((d.labels.sum(1) > 1).mean()) for name, d in (("v1", raw), ("v2", v2))}
col = {c: list(v2.classes).index(c) for c in v2.classes}
broken = int(((v2.labels[:, [col["SBRAD"], col["STACH"], col["AFIB"]]].sum(1) > 1)
              | (v2.labels[:, col["CRBBB"]] * v2.labels[:, col["CLBBB"]] > 0)).sum())
display(Markdown(
    f"v2's findings run from **{prev_v2.iloc[0]:.1f} %** of the records (**{prev_v2.index[0]}**) to "
    f"**{prev_v2.iloc[-1]:.1f} %** (**{prev_v2.index[-1]}**); v1's all lie between **{prev_v1.min():.1f}** and "
    f"**{prev_v1.max():.1f} %**. `NORM`, derived as \"no other finding\", is on "
    f"**{summary.loc['NORM', 'prevalence v2 %']:.0f} %** of v2's records (v1: **{summary.loc['NORM', 'prevalence v1 %']:.0f} %**). "
    + (f"**{len(rare_test)}** classes have fewer than ten positives in v2's test fold "
       f"({', '.join(f'**{c}** {n}' for c, n in rare_test.items())}): their test AUCs rest on a handful of "
       "records and are noisy in every later notebook. " if len(rare_test) else "")
    + f"With most findings rare, {'fewer' if multi['v2'] < multi['v1'] else 'more'} v2 records carry two or "
    f"more labels (**{multi['v2']:.1%}** against v1's **{multi['v1']:.1%}**), and they are not independent: "
    f"**{a}** and **{b}** come together on **{n_ab}** records, **{2 ** top:.1f}** times what independence "
    f"predicts, where v1's strongest pair reaches **{2 ** v1_max:.1f}** times. Label noise breaks a rhythm or "
    f"bundle-branch exclusion in **{broken}** of v2's observed records."
))

# %% [markdown]
# ## 6. A real PTB-XL record beside a synthetic one
#
# PTB-XL (Wagner et al. 2020, PhysioNet, licence `CC BY 4.0`) is the reference public 12-lead data set. The
# suite reads its original release layout; a small sample of its records lives in `../shared/data/ptbxl-mini`
# for tests (absent on your machine? the cell says so and moves on). The generator's realism is
# measured against its normal records by `benchmarks/realism_synthetic.py` (table in the README).
# The synthetic records beside the real ones come from v2, the data the later notebooks use: the
# first record whose only label, observed and true, is the class shown.

# %%
from ecgkd_lite.config import shared_data_dir


def pure_record(data, code):
    """The first record whose only observed and only true label is ``code``."""
    j = list(data.classes).index(code)
    true = data.meta[[f"true_{c}" for c in data.classes]].to_numpy()
    only = (data.labels[:, j] == 1) & (data.labels.sum(1) == 1) & (true[:, j] == 1) & (true.sum(1) == 1)
    return int(np.flatnonzero(only)[0])


pure_v2 = {code: pure_record(v2, code) for code in ("NORM", "LAFB")}
ptbxl_root = shared_data_dir() / "ptbxl-mini"
if ptbxl_root.exists():
    from ecgkd_lite.data import load_ptbxl

    real = load_ptbxl(ptbxl_root, fs=100, task="superdiagnostic")
    print(real)
    i_real = int(np.flatnonzero((real.labels[:, real.classes.index("NORM")] == 1) & (real.labels.sum(1) == 1))[0])
    fig = plot_12lead(real.signals[i_real], real.fs, title=f"PTB-XL record {real.record_ids[i_real]} (NORM)")
    save_figure(fig, "01_ptbxl_norm")
    plt.show()
    i_v2 = pure_v2["NORM"]
    fig = plot_12lead(v2.signals[i_v2], v2.fs, title=f"synthetic {v2.record_ids[i_v2]} (NORM, generator v2)")
    plt.show()
else:
    print(f"PTB-XL sample not found at {ptbxl_root}: skipping the side-by-side view")

# %% [markdown]
# ## 7. Real records beside synthetic ones
#
# The sample above is raw PTB-XL in mV. The real-data benchmark uses a larger set, `ptbxl-2k`: PTB-XL
# records at `250 Hz` with the PhysioNet/CinC Challenge scored labels (rhythms, axis deviations, blocks,
# Q- and T-wave abnormalities; the label set differs from the synthetic one). Below: one real record
# with a left anterior fascicular block (`LAnFB`) beside a v2 record whose only label is `LAFB`, and
# the class prevalences of both sets.
#
# **The z-score caveat.** This release is band-passed and **z-scored per record and lead** by its
# source: every lead of every record has mean $0$ and standard deviation $1$. Shapes, intervals and
# rhythm survive; amplitudes do not. A voltage criterion (left ventricular hypertrophy, low QRS
# voltage) cannot be read in mV from it, and the grid below has no calibration pulse. The data says
# so in its `unit` (`"z"`), and every check that needs mV refuses it through `ECGData.check_unit`.

# %%
import logging
import sys

ptbxl2k_root = shared_data_dir() / "ptbxl-2k"
if ptbxl2k_root.exists():
    from ecgkd_lite.data import load_ptbxl_2k

    loader_log = logging.getLogger("ecgkd_lite.data.ptbxl2k")  # its note on dropped rare classes -> stdout
    loader_log.addHandler(logging.StreamHandler(sys.stdout))
    loader_log.propagate = False
    real2k = load_ptbxl_2k(ptbxl2k_root)
    print(real2k)
    k_lafb = real2k.classes.index("LAnFB")
    # a record in sinus rhythm with LAnFB and as few other labels as possible
    cand = np.flatnonzero((real2k.labels[:, k_lafb] == 1) & (real2k.labels[:, real2k.classes.index("NSR")] == 1))
    i_2k = int(cand[np.argmin(real2k.labels[cand].sum(1))])
    labels_2k = "+".join(c for c, y in zip(real2k.classes, real2k.labels[i_2k]) if y)
    fig = plot_12lead(real2k.signals[i_2k], real2k.fs, unit=real2k.unit, row_height_mv=6.0, scale=0.03,
                      title=f"ptbxl-2k record {real2k.record_ids[i_2k]} ({labels_2k}), z-scored")
    save_figure(fig, "01_ptbxl2k_lafb")
    plt.show()
    i_v2 = pure_v2["LAFB"]
    fig = plot_12lead(v2.signals[i_v2], v2.fs, unit=v2.unit,
                      title=f"synthetic {v2.record_ids[i_v2]} (LAFB, generator v2, frontal axis "
                            f"{v2.meta['axis_deg'].iloc[i_v2]:.0f} deg), mV")
    plt.show()
    try:
        real2k.check_unit("mV", "a voltage criterion")
    except Exception as err:  # DataError: the refusal the amplitude checks give
        print(f"{type(err).__name__}: {err}")
else:
    real2k = None
    print(f"skipped: ptbxl-2k not found at {ptbxl2k_root}")

# %% [markdown]
# Look at lead I in both grids: in `LAFB` the frontal axis turns left and up, which lead I
# (left-right) registers far less than II, III and aVF, whose QRS turns negative. v2 draws the axis of
# an LAFB record over a range, so lead I shows more of it in some records than in others (section 4).
# Z-scoring divides each lead by its own spread, so a lead with little signal shows its noise as
# large as another lead's QRS: read the real grid for shapes and timing, never for height.
#
# **Prevalence.** Generator v1 draws each condition with the same marginal probability. A real cohort
# is dominated by a few classes and has a long tail of rare ones, which is what makes its per-class
# intervals wide (notebook 03); generator v2 takes its prevalences from this cohort where it has the
# class (AMI, IMI, LVH and PVC have no `ptbxl-2k` class and use documented defaults).

# %%
from ecgkd_lite.data.synthetic import DEFAULT_PREVALENCE

if real2k is not None:
    prev_real = pd.Series(100 * real2k.labels.mean(0), index=list(real2k.classes)).sort_values(ascending=False)
    prev_syn = pd.Series(100 * v2.labels.mean(0), index=list(v2.classes)).drop("NORM").sort_values(ascending=False)
    flat = 100 * float(np.mean(list(DEFAULT_PREVALENCE.values())))  # generator v1's design
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.6), sharey=True, gridspec_kw={"width_ratios": [19, 14]})
    bar_colour = series_colors(1)[0]  # a data set, not a method: no method colour
    axes[0].bar(prev_real.index, prev_real.values, color=bar_colour, edgecolor="black", linewidth=0.5)
    axes[0].set_title(f"ptbxl-2k ({len(real2k):,} labeled records)")
    axes[1].bar(prev_syn.index, prev_syn.values, color=bar_colour, edgecolor="black", linewidth=0.5)
    axes[1].set_title(f"synthetic, generator v2 ({len(v2):,} records; NORM left out)")
    for ax in axes:
        ax.axhline(flat, color="black", lw=0.8, ls="--", label=f"generator v1's flat design ({flat:.0f} %)")
        ax.tick_params(axis="x", rotation=90, labelsize=8)
    axes[0].set_xlabel("class (PhysioNet/CinC scored label)")
    axes[1].set_xlabel("condition")
    axes[0].set_ylabel("records with the label (%)")
    axes[1].legend(loc="upper right", fontsize=8)
    fig.suptitle("Class prevalence: a real cohort and generator v2, against v1's flat design")
    fig.tight_layout()
    save_figure(fig, "01_prevalence_real_vs_synthetic")
    plt.show()
    rare = prev_real[prev_real < flat]
    display(Markdown(
        f"In `ptbxl-2k`, **{prev_real.index[0]}** is on **{prev_real.iloc[0]:.0f} %** of the records and "
        f"**{prev_real.index[1]}** on **{prev_real.iloc[1]:.0f} %**; **{len(rare)}** of its **{len(prev_real)}** "
        f"classes sit below v1's flat **{flat:.0f} %**, the rarest (**{prev_real.index[-1]}**) on "
        f"**{prev_real.iloc[-1]:.1f} %**. v2's findings run from **{prev_syn.min():.1f}** to "
        f"**{prev_syn.max():.1f} %**, and **{int((prev_syn < flat).sum())}** of its **{len(prev_syn)}** sit "
        "below v1's flat design."))
else:
    print(f"skipped: ptbxl-2k not found at {ptbxl2k_root}")

# %% [markdown]
# ## 8. The split every later notebook uses
#
# The notebooks' source, `ctx.source` (generator v2 unless `ECGKD_GENERATOR=v1` asks for v1), is
# prepared once and cached: band-pass `0.5-40 Hz`, split by fold, per-lead scaler fitted on the
# training folds only. PTB-XL's `strat_fold` convention: folds `1-8` train, fold `9` validation (early
# stopping, F1 thresholds), fold `10` test (reported once). For semi-supervised training (notebook 07)
# the training folds are further split into a labeled part and an unlabeled pool; validation and test
# never enter either. The noise-free labels travel with the records (`prep.test.meta`), so a model can
# be scored against both (notebook 02).

# %%
# NBVAL_CHECK_OUTPUT
prep = experiment.prepare(ctx.source, profile=ctx.profile)
print(prep)
labeled, unlabeled = prep.train.labeled_unlabeled_split(0.10, seed=0)
print(f"labeled 10 %: {len(labeled)} records | unlabeled pool: {len(unlabeled)} records")
print("pool disjoint from validation and test:",
      not (set(unlabeled.record_ids) & (set(prep.val.record_ids) | set(prep.test.record_ids))))
lead_mean = np.abs(prep.train.signals.mean(axis=(0, 2)))  # |mean|: a mean of about 0 prints no sign on any CPU
print("scaled train: largest |mean| / smallest std per lead:", lead_mean.max().round(2),
      prep.train.signals.std(axis=(0, 2)).round(2).min())

# %%
display(Markdown(f"The split of `{ctx.source}`: **{len(prep.train):,}** training, **{len(prep.val):,}** "
                 f"validation and **{len(prep.test):,}** test records; in the semi-supervised setting "
                 f"**{len(labeled):,}** training records keep their labels and **{len(unlabeled):,}** form "
                 "the unlabeled pool."))

# %% [markdown]
# ## Takeaways
#
# - The 12 leads are linear projections of one 3-D dipole; they are redundant (only eight are
#   independent), but lead I alone sees mainly the left-right direction.
# - Generator v1 is the clean teaching model: it draws LAFB, AMI and IMI as changes that barely move
#   lead I, by construction. That is the information a 1-lead student lacks, in its plainest form.
# - Generator v2, the data every later notebook trains on, draws the same conditions over a range of
#   locations and axes, so what lead I sees of each class is graded and *measured* (the groups of
#   section 4); its labels are a noisy reading of continuous severities (borderline records, label
#   noise kept apart from the truth).
# - Labels are multi-label, with exclusions (rhythms, bundle-branch blocks). v1 draws its conditions
#   independently at one flat prevalence; v2 has findings that come together more often than chance
#   and a long tail, so its rarest classes have only a few test positives and noisy AUCs.
# - Every later notebook uses the same train / validation / test folds of v2, and the unlabeled pool
#   never touches validation or test.
# - Real records (`ptbxl-2k`) show the same lead-I pattern for a fascicular block and the skewed,
#   long-tailed prevalence that v2 copies; they are z-scored per record and lead, so they carry no
#   amplitudes in mV and the voltage checks refuse them.
#
# ## Exercises
#
# - **A lead that sees IMI.** In the counterfactual heatmap (v1), which single lead changes most for
#   IMI and for AMI? Recompute `ratio` with lead II (or V2) in place of lead I and see which
#   conditions become visible.
# - **Noise.** Call `lead_effects` with fewer patients (`n_patients=4`) and compare the table: which
#   ratios move, and why does the ranking of v1's hidden conditions stay?
# - **Label budget.** Change the `labeled_unlabeled_split` ratio from `0.10` to `0.30`: what happens
#   to the two counts, and does the disjointness check still hold?
# - **Coding noise off.** Rebuild the configuration with every coding rate at zero except LNGQT's,
#   `V2Config(false_negative=fn0, false_positive=fp0)` where `fn0 = {c: 0.0 for c in cfg.false_negative if c != "LNGQT"}`
#   and `fp0 = {c: 0.0 for c in cfg.false_positive}`, and load a few thousand records with
#   `load_synthetic_v2(n, fs=100, config=...)`: which columns of the noise table go to zero, which
#   stay, and why does the `1AVB` curve still rise over a band rather than jump? (Try LNGQT at zero
#   too and read the error.)
#
# Solutions: `notebooks/solutions/01_data.md`.
