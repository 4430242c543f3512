# %% [markdown]
# # 13 · Figures: geometry, attention, per-condition accuracy, cost
#
# ## Learning goals
#
# * compare the geometry of a student's outputs with the teacher's (t-SNE, UMAP and a k-NN agreement
#   computed in the original spaces), and say what a 2-D picture can and cannot show;
# * compute Grad-CAM maps, score them against ground-truth regions, and test whether distillation
#   moved a student's attention toward the teacher's;
# * read per-condition AUCs to see which findings lead I carries least, and how many test positives
#   each per-condition number rests on;
# * weigh parameters, FLOPs and latency against accuracy for the teacher, the student sizes and
#   restoration + student;
# * score real Grad-CAM maps against cardiologists' wave boundaries (LUDB) and read them beside chance;
# * point the same tools where distillation changes something: few labels, and real records.
#
# ## Prerequisites
#
# This builds on notebooks 02-03 (teacher and baseline student), notebooks 04-05 (vanilla KD,
# LiteHeart's region-aware term), notebook 08 (restoration), notebooks 09-11 (EVL-ECG) and
# notebook 12 (the benchmark whose runs are shown).
#
# **Data.** The synthetic records are those of notebooks 01-11: generator v2 by default (`ctx.source`,
# printed below), with noisy labels, graded lead-I visibility and a long tail of prevalences. No class
# is hidden from lead I by construction there, so which conditions lead I sees is *measured*
# (`bench.cv.source_visibility`: the teacher-minus-baseline gap of the converged v2 benchmark on its
# hold-out). That hold-out is the quick profile's test split, the records drawn here; the groups were
# measured with the benchmark's converged models, not with the models shown here, so a reading per
# group below describes these models on records that also chose the groups.
#
# **Idea.** Look inside the models the benchmark compared. Six questions, one section each:
#
# * **Geometry.** Do the distilled students arrange the test records like the teacher does? t-SNE
#    and UMAP of the logits (and UMAP of the penultimate features), with one number per student:
#    the k-NN agreement with the teacher, computed in the original spaces.
# * **Attention.** Where in time does each model look for a finding (Grad-CAM), does that match the
#    ground-truth region of the synthetic record, and did distillation move the student's map
#    toward the teacher's?
# * **Per-condition accuracy.** Which conditions each method wins or loses (AUC violins).
# * **Cost.** Parameters, FLOPs and CPU latency against macro AUC for the teacher, the student
#    sizes and restoration + student.
# * **Real boundaries.** Do the maps of a real teacher and a real lead-I student land where
#    cardiologists drew the waves of real records (LUDB)?
# * **Where it matters.** The same geometry, attention and per-condition views with few labels
#    (notebook 07's scenario a), and per-class differences on real records in every setting.
#
# Models are the cached `seed=0` runs of notebooks 02-11 on this data (teacher, 1-lead baseline,
# vanilla KD, LiteHeart, EVL-ECG; `cnn_transformer`/tiny students on lead I; the student sizes of
# notebook 03; restoration of notebook 08). The per-condition AUCs of section 3 come from the
# converged v2 benchmark of notebook 12 (its seeds); the accuracies of section 4 are these cached
# models' own test scores. Nothing is trained here.

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
from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.data import lead_indices
from ecgkd_lite.distill.capture import forward_features
from ecgkd_lite.plots import save_figure

STUDENTS = ("baseline", "vanilla_kd", "liteheart", "evl_ecg")
prep = experiment.prepare(ctx.source, profile=ctx.profile)
teacher = experiment.train_teacher(prep)
cache = experiment.teacher_cache(prep, teacher)
models = {"teacher": teacher.model}
models.update({m: experiment.train_student(prep, m, size="tiny", seed=0, teacher=teacher, cache=cache).model
               for m in STUDENTS})
LEADS = {name: list(prep.test.leads) if name == "teacher" else list(experiment.STUDENT_LEADS) for name in models}
print(prep, "| data source:", ctx.source)
for name, model in models.items():
    print(f"{name:<11} {model.config['name']}/{model.config['size']}, {len(LEADS[name])} lead(s), "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %% [markdown]
# ## 1 · Geometry of the outputs
#
# **Records.** The test records with exactly one label (multi-label records have no single
# condition; they are left out of the pictures and of the numbers). The pictures mark `NORM`, the
# conditions lead I sees least (the measured "not seen" group, or "partly seen" where no class is
# "not seen"; printed below) and two it sees plainly, each with a shade and a marker of its own
# (shades no method uses); the other conditions are drawn in grey behind them.
#
# **Features.** Each model's logits and its penultimate (pooled) features, averaged over the same
# sliding windows the evaluation uses (`window=2.5`, `stride=1.25` seconds); the averaged logits are exactly what
# `predict(..., return_logits=True)` returns (checked below).
#
# **Embeddings.** The same settings for every model (`ecgkd_lite.evaluate.embedding.embed_2d`):
# t-SNE with `perplexity=30`, PCA initialisation, automatic learning rate, `seed=0`; UMAP with
# `n_neighbors=15`, `min_dist=0.1`, `seed=0` (single-threaded, hence reproducible). The first UMAP
# call compiles numba code, so this cell takes longer the first time.

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.train import predict


def window_outputs(model, data, leads, window=2.5, stride=1.25):
    """Logits and penultimate features averaged over sliding windows (as ``predict`` does for logits)."""
    x = torch.from_numpy(data.signals[:, lead_indices(leads, data.leads)])
    win, hop = int(round(window * data.fs)), int(round(stride * data.fs))
    with torch.no_grad():
        outs = [forward_features(model.eval(), x[..., s:s + win], ["penultimate"], detach=True)
                for s in range(0, data.n_samples - win + 1, hop)]
    return {k: torch.stack([o[k] for o in outs]).mean(0).numpy() for k in ("logits", "penultimate")}


single = np.flatnonzero(prep.test.labels.sum(1) == 1)
records = prep.test.subset(single)
condition = np.array(prep.classes)[records.labels.argmax(1)]
outputs = {name: window_outputs(model, records, LEADS[name]) for name, model in models.items()}
same = np.allclose(outputs["baseline"]["logits"],
                   predict(models["baseline"], records, input_leads=LEADS["baseline"], return_logits=True), atol=1e-5)
print(f"{len(single)} single-label test records of {len(prep.test)};", "window-averaged logits match predict:", same)
print(pd.Series(condition).value_counts().sort_index().to_string())
for name, out in outputs.items():
    print(f"{name:<11} logits {out['logits'].shape}, penultimate {out['penultimate'].shape}")

# %%
from ecgkd_lite.evaluate.embedding import embed_2d, knn_agreement, trustworthiness
from ecgkd_lite.bench.cv import source_visibility
from ecgkd_lite.plots import plot_embeddings

VISIBLE = source_visibility(ctx.source, prep.classes)  # {"seen": [...], "partly seen": [...], "not seen": [...]}
LEAST_GROUP = "not seen" if VISIBLE["not seen"] else "partly seen"
LEAST = VISIBLE[LEAST_GROUP]  # the conditions lead I sees least
PLAIN = [c for c in ("AFIB", "CLBBB") if c in VISIBLE["seen"]]  # a rhythm and a wide QRS, if lead I sees them
present = set(condition)
MARKED = [c for c in ("NORM", *LEAST, *PLAIN) if c in present]
print({g: ", ".join(v) or "none" for g, v in VISIBLE.items()})
print(f"marked: {', '.join(MARKED)} (lead I sees least: the {LEAST_GROUP!r} group); single-label records of them:",
      {c: int((condition == c).sum()) for c in MARKED})

VIEWS = (("tsne", "logits"), ("umap", "logits"), ("umap", "penultimate"))
PROJECTION = {"tsne": "t-SNE", "umap": "UMAP"}
embeddings = {(method, feature): {name: embed_2d(out[feature], method, seed=0) for name, out in outputs.items()}
              for method, feature in VIEWS}
for (method, feature), views in embeddings.items():
    fig = plot_embeddings(views, condition, highlight=MARKED,
                          title=f"{PROJECTION[method]} of test {feature} (single-label records, seed 0)")
    save_figure(fig, f"13_{method}_{feature}")
    plt.show()

# %% [markdown]
# **How close is each student's geometry to the teacher's?** The k-NN agreement ($k$ = `K` below) is
# the mean Jaccard overlap between a record's $k$ nearest neighbours in the student's space and in
# the teacher's space, computed on the high-dimensional logits and penultimate features (no
# projection involved, so the numbers are deterministic). A score of $1$ means the same
# neighbourhoods; two unrelated spaces score about $k / (2(N-1) - k)$, printed as chance.

# %%
# NBVAL_CHECK_OUTPUT
K = 10
agreement = pd.DataFrame({feature: {name: knn_agreement(outputs["teacher"][feature], out[feature], k=K)
                                    for name, out in outputs.items() if name != "teacher"}
                          for feature in ("logits", "penultimate")})
print(agreement.round(3).to_string())
print(f"chance: {K / (2 * (len(single) - 1) - K):.3f}")

# %% [markdown]
# The pictures' own faithfulness: trustworthiness ($k = 5$) of each 2-D embedding against the space
# it came from, and the k-NN agreement of each student's 2-D embedding with the teacher's 2-D
# embedding. These depend on the projection (UMAP's layout can vary across machines and library
# versions), so this cell's output is not checked.

# %%
faithful = pd.DataFrame({f"trust {m} {f}": {name: trustworthiness(outputs[name][f], xy, k=5) for name, xy in v.items()}
                         for (m, f), v in embeddings.items()})
for (m, f), v in embeddings.items():
    faithful[f"kNN vs teacher {m} {f}"] = pd.Series({n: knn_agreement(v["teacher"], xy, k=K) for n, xy in v.items()})
print(faithful.round(3).T.to_string())

# %% [markdown]
# **Do the least-seen conditions separate from the normal records?** The pictures suggest it; a
# number says it. For the records of each marked condition, the share of their `K` nearest
# neighbours in a model's logit space that are `NORM` records (the original space, no projection).
# The share among all single-label records is the level of a space that does not separate them at all.

# %%
from sklearn.neighbors import NearestNeighbors


def norm_share(x, classes, k=K):
    """Mean share of NORM records among the k nearest neighbours (logit space) of the records of ``classes``."""
    rows = np.flatnonzero(np.isin(condition, classes))
    if not len(rows):
        return np.nan
    near = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x[rows], return_distance=False)[:, 1:]
    return float((condition[near] == "NORM").mean())


norm_level = float((condition == "NORM").mean())
separation = pd.DataFrame({f"{LEAST_GROUP} ({', '.join(c for c in LEAST if c in present)})":
                           {n: norm_share(o["logits"], LEAST) for n, o in outputs.items()},
                           f"seen ({', '.join(PLAIN)})": {n: norm_share(o["logits"], PLAIN) for n, o in outputs.items()}})
n_least = int(np.isin(condition, LEAST).sum())
print(f"share of NORM among the {K} nearest neighbours (logits); NORM among all single-label records: {norm_level:.3f}")
print(separation.round(3).to_string())

# %%
from IPython.display import Markdown, display

chance_knn = K / (2 * (len(single) - 1) - K)
least_col, plain_col = separation.columns
stud_least = separation.loc[list(STUDENTS), least_col]
mixed = stud_least.min() > separation.loc["teacher", least_col] and stud_least.min() > separation.loc[list(STUDENTS), plain_col].max()
lo, hi = agreement.min().min(), agreement.max().max()
kd_rows = [m for m in agreement.index if m != "baseline"]
display(Markdown(
    f"**Reading.** Every 1-lead student shares only {lo:.3f}-{hi:.3f} of each record's {K} nearest neighbours "
    f"with the teacher (chance {chance_knn:.3f}): far above chance, far from the teacher. The baseline scores "
    f"{agreement.loc['baseline', 'logits']:.3f} on logits and {agreement.loc['baseline', 'penultimate']:.3f} on "
    "features; the distilled students "
    + ", ".join(f"{m} {agreement.loc[m, 'logits']:.3f} / {agreement.loc[m, 'penultimate']:.3f}" for m in kd_rows)
    + f". These are one seed each, so there is no spread to compare with: differences of "
    f"{agreement.loc[kd_rows].max().max() - agreement.loc['baseline'].min():.3f} or less are not evidence. "
    f"Among the {K} nearest neighbours of the {n_least} single-label records of {', '.join(LEAST)} (the conditions "
    f"lead I sees least, the {LEAST_GROUP!r} group), the students' logit spaces place "
    f"{stud_least.min():.0%}-{stud_least.max():.0%} normal records, the teacher's "
    f"{separation.loc['teacher', least_col]:.0%} (for {', '.join(PLAIN)}: students "
    f"{separation.loc[list(STUDENTS), plain_col].min():.0%}-{separation.loc[list(STUDENTS), plain_col].max():.0%}; "
    f"normal records are {norm_level:.0%} of all single-label records). "
    + ("So these conditions sit closer to the normal records for every student than for the teacher or than the "
       "conditions lead I sees plainly: imitation alone does not separate what lead I barely carries."
       if mixed else
       "So the students do not mix these conditions with the normal records more than they mix the plainly seen "
       "ones, or than the teacher does: on this data lead I carries part of them.")
    + (f" The group has only {n_least} single-label test records: a few records move these shares."
       if n_least < 50 else "")))

# %% [markdown]
# ## 2 · Grad-CAM: where the models look
#
# Grad-CAM (Selvaraju et al. 2017) through Captum's `LayerGradCam` on each model's "temporal" feature
# map $(B, C, T')$, target = the condition's class index, upsampled linearly to the samples of the
# whole record, ReLU, then scaled to $[0, 1]$ per record (`ecgkd_lite.explain.grad_cam`). The
# teacher reads 12 leads, the students lead I; the maps are all over the same time axis. The maps
# are computed on the whole record in one pass, while every model was trained on shorter crops;
# a map that is all zero means the model found no evidence *for* the class (the Grad-CAM ReLU).
#
# On the same positive test records of each condition, scored against the synthetic ground-truth
# region of that condition (`region_masks`). On generator v2 a label can be wrong and the regions
# follow the *true* findings, so the records are the first `PER_CLASS` test records that carry the
# label **and** truly have the finding (`prep.test.meta["true_<class>"]`): a falsely labelled record
# has no region to point at. Rare classes have fewer such records than `PER_CLASS`; the count is
# printed with each condition.
#
# * **pointing game** (Zhang et al. 2018): the share of records whose map peaks inside the region;
# * **energy inside** (Wang et al. 2020): the share of the map's mass inside the region;
# * **chance**: the region's share of the record (what a flat map scores);
# * **r vs teacher**: the mean Pearson correlation between the model's map and the teacher's map on
#   the same record (records where either map is flat are skipped): did distillation move the
#   student's attention toward the teacher's?

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.explain import grad_cam, localisation_scores, region_masks

CONDITIONS = ("PVC", "AMI", "CLBBB")  # a premature beat, an infarct's ST and Q changes, a wide QRS
PER_CLASS = 20
test = prep.test

from ecgkd_lite.evaluate.noise import truly_positive

picks = {c: np.flatnonzero(truly_positive(test, c, labelled=True))[:PER_CLASS] for c in CONDITIONS}
GROUP_OF = {c: g for g, members in VISIBLE.items() for c in members}
SEES = {"seen": "lead I sees", "partly seen": "lead I sees only partly", "not seen": "lead I does not see"}
print({c: f"{len(idx)} records ({GROUP_OF.get(c, 'undetermined')})" for c, idx in picks.items()})
maps = {c: {name: grad_cam(model, test.signals[idx][:, lead_indices(LEADS[name], test.leads)],
                           test.classes.index(c))
            for name, model in models.items()} for c, idx in picks.items()}


def map_correlation(a, b):
    """Mean per-record Pearson r between two sets of maps, flat (e.g. all-zero) maps skipped, and the
    number of records it rests on (0 and NaN when every record has a flat map)."""
    keep = (a.std(1) > 0) & (b.std(1) > 0)
    r = float(np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a[keep], b[keep])])) if keep.any() else np.nan
    return r, int(keep.sum())


def score_maps(c, name, m, masks, teacher_maps):
    r, n_r = (np.nan, 0) if name == "teacher" else map_correlation(m, teacher_maps)
    return {"condition": c, "model": name, **localisation_scores(m, masks), "chance": float(masks[masks.any(1)].mean()),
            "zero maps": float((m.max(1) == 0).mean()), "r vs teacher": r, "r records": n_r}


rows = []
for c, idx in picks.items():
    masks = region_masks(test, c, idx)
    for name, m in maps[c].items():
        rows.append(score_maps(c, name, m, masks, maps[c]["teacher"]))
loc = pd.DataFrame(rows)
print(loc.round(2).to_string(index=False))
print("\nmean over conditions:")
print(loc.groupby("model", sort=False)[["pointing_game", "energy_inside", "r vs teacher"]].mean().round(2).to_string())

# %% [markdown]
# One record per condition, drawn as lead I in mV (the scaler undone) with each model's map as the
# colour band under the trace and the ground-truth region shaded: the teacher, the 1-lead baseline
# and the LiteHeart student (the method whose region-aware term distils the teacher's maps). The
# record is the condition's first scored record on which the teacher's map is not all zero (the
# first record where every teacher map is zero), so the strip shows evidence where there is any.

# %%
from ecgkd_lite.plots import plot_saliency_strip

SHOWN = ("teacher", "baseline", "liteheart")
k_lead = test.leads.index("I")
for c, idx in picks.items():
    lit = np.flatnonzero(maps[c]["teacher"].max(1) > 0)
    j = int(lit[0]) if len(lit) else 0
    rec = int(idx[j])
    mv = test.signals[rec, k_lead] * prep.scaler.std[k_lead, 0] + prep.scaler.mean[k_lead, 0]
    fig = plot_saliency_strip(mv, test.fs, {n: maps[c][n][j] for n in SHOWN}, region_masks(test, c, [rec])[0], lead="I")
    fig.suptitle(f"Grad-CAM for {c} on test record {test.record_ids[rec]} (lead I, ground truth shaded)", fontsize=10)
    save_figure(fig, f"13_gradcam_{c}")
    plt.show()

# %%
L = loc.set_index(["condition", "model"])
stud = [m for m in models if m != "teacher"]


def span(values, fmt):
    lo_, hi_ = format(min(values), fmt), format(max(values), fmt)
    return lo_ if lo_ == hi_ else f"{lo_} to {hi_}"


def versus_chance(c, m):
    pg, ch = L.loc[(c, m), "pointing_game"], L.loc[(c, m), "chance"]
    return f"{pg:.2f} against a chance of {ch:.2f} ({'above' if pg > ch else 'not above'})"


def r_shift(table, m):
    """Mean over the conditions where both the baseline's and m's maps give an r: m's r minus the baseline's."""
    r_tab = table[table.model != "teacher"].pivot(index="condition", columns="model", values="r vs teacher")
    both = r_tab[["baseline", m]].dropna()
    return (float((both[m] - both["baseline"]).mean()) if len(both) else np.nan), list(both.index)


pvc = L.loc["PVC"]
students_lower = pvc.loc[stud, "pointing_game"].max() < pvc.loc["teacher", "pointing_game"]
shifts = {m: r_shift(loc, m) for m in ("vanilla_kd", "liteheart")}
least_c = [c for c in CONDITIONS if c in LEAST]
shift_said = "; ".join(f"{m}: {d:+.2f} on {', '.join(cs)}" if cs else f"{m}: no condition where both maps vary"
                       for m, (d, cs) in shifts.items())
clear = [m for m, (d, cs) in shifts.items() if cs and abs(d) >= 0.1]
display(Markdown(
    "**Reading.** The teacher's pointing game: "
    + "; ".join(f"{c} ({len(picks[c])} records) {versus_chance(c, 'teacher')}" for c in CONDITIONS)
    + ". (An infarct changes the ST segment and T wave across much of each beat, so its chance level is high.) "
    f"The 1-lead students localise PVC {'less well than the teacher' if students_lower else 'as well as the teacher or better'} "
    f"(pointing game {span(pvc.loc[stud, 'pointing_game'], '.2f')}). Many student maps are all zero, i.e. the "
    "student finds no evidence *for* the class on the whole record (the Grad-CAM ReLU): "
    + ", ".join(f"{c} {span(L.loc[[(c, m) for m in stud], 'zero maps'], '.0%')}" for c in CONDITIONS)
    + f" of the records across the students (the teacher: "
    + ", ".join(f"{c} {L.loc[(c, 'teacher'), 'zero maps']:.0%}" for c in CONDITIONS) + "). "
    + "".join(f"{c} is a condition that {SEES[GROUP_OF[c]]} on this data. " for c in least_c)
    + "A correlation with the teacher's map exists only where neither map is flat (the `r records` column). "
    f"Against the baseline, on the conditions where both have one, the correlation changes by {shift_said}: "
    + (f"distillation did **not** clearly move the students' attention toward the teacher's. " if not clear else
       f"a shift for {', '.join(clear)}, but on one seed and the few records of the `r records` column. ")
    + f"These are at most {PER_CLASS} records per condition and one seed per model; the maps come from models "
    "trained on short crops and run on the whole record."))

# %% [markdown]
# ## 3 · Per-condition AUC
#
# One violin per model of its per-condition test AUCs (mean over the benchmark's seeds), one dot per
# condition, the macro AUC as a black bar; the conditions lead I sees least (section 1's group) are
# drawn hollow and named. The AUCs come from the converged benchmark of notebook 12 on this
# notebook's generator (`results/bench_quality_converged_v2.json` for v2), for the models this
# notebook trains: the teacher, the baseline, vanilla KD and both families (notebook 12 compares
# every method, the classic ones included). A condition without positive test records has no AUC:
# it is listed under the violin as missing, never drawn as chance.

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.plots import plot_auc_violins, plot_class_deltas

CONVERGED = {"synthetic": "bench_quality_converged.json", "synthetic_v2": "bench_quality_converged_v2.json"}
headline = json.loads((REPO_ROOT / "results" / CONVERGED[ctx.source]).read_text())
print("benchmark:", CONVERGED[ctx.source], "| data", headline["setting"]["data"], "|", headline["n_pool"], "test records")
violin_methods = [m for m in ("teacher", *STUDENTS) if m in headline["methods"]]
per_class = {m: {c: headline["methods"][m]["per_class_auc"].get(c) for c in headline["classes"]} for m in violin_methods}
macro = {m: headline["methods"][m]["macro_auc_mean"] for m in violin_methods}
n_seeds = {m: len(headline["methods"][m]["seeds"]) for m in violin_methods}
no_auc = {name: [c for c, v in aucs.items() if v is None] for name, aucs in per_class.items()}
print("models and seeds:", n_seeds)
print("conditions without an AUC:", {k: v for k, v in no_auc.items() if v} or "none")
print(pd.DataFrame(per_class).round(3).to_string())

# %%
seed_counts = sorted(set(n_seeds.values()))
fig = plot_auc_violins(per_class, macro, label_conditions=[c for c in LEAST if c in headline["classes"]],
                       title=f"Per-condition test AUC, converged benchmark on {ctx.source} (mean of "
                             f"{'-'.join(map(str, seed_counts))} seeds), macro AUC as a black bar")
save_figure(fig, "13_auc_violins")
plt.show()

# %%
auc_table = pd.DataFrame(per_class).astype(float)
cells = headline.get("noise_free", {}).get("teacher_cells", {}).get("per_class")
test_pos = (pd.DataFrame.from_dict(cells, orient="index")[["n labelled positive", "n false positive"]].sum(1).astype(int)
            if cells else None)  # labelled positives among the benchmark's test records
RARE = 50
rare = test_pos[test_pos < RARE].sort_values() if test_pos is not None else pd.Series(dtype=int)
least_auc = auc_table.loc[LEAST].mean()
other_auc = auc_table.drop(index=LEAST).mean()
lowest = auc_table["baseline"].nsmallest(3)
display(Markdown(
    f"**Reading ({ctx.source}).** Averaged over the conditions lead I sees least ({', '.join(LEAST)}), the teacher "
    f"scores {least_auc['teacher']:.3f} and the students {least_auc[list(STUDENTS)].min():.3f}-"
    f"{least_auc[list(STUDENTS)].max():.3f}; over the other conditions {other_auc['teacher']:.3f} and "
    f"{other_auc[list(STUDENTS)].min():.3f}-{other_auc[list(STUDENTS)].max():.3f}. The baseline's lowest conditions: "
    + ", ".join(f"{c} {v:.3f}" for c, v in lowest.items())
    + (f". Few positives: {', '.join(f'{c} ({n})' for c, n in rare.items())} "
       f"{'has' if len(rare) == 1 else 'have'} fewer than {RARE} labelled positives among the {headline['n_pool']} test "
       "records, so a dot of such a class moves with a handful of records" if len(rare) else "")
    + ". Each dot is a seed mean of one condition; the paired intervals of notebook 12 are the evidence."))

# %% [markdown]
# ## 4 · Efficiency against accuracy
#
# Cost of one **whole record** (the profile's `seconds` at its sampling rate; the input shapes are
# printed): parameters; FLOPs of one forward pass ($2\times$ multiply-accumulates, matrix products,
# convolutions and attention only; `torch.utils.flop_counter`); CPU latency at batch size one on one
# thread, the median of `repeats=10` runs after `warmup=3` (timings depend on the machine and its
# load, so that cell is not checked). The
# models: the 12-lead teacher, the 1-lead student at each size, the distilled tiny students (the
# same architecture as the tiny baseline, so the same cost; told apart by colour), and restoration +
# student (the lead-I -> 12-lead U-Net of notebook 08 feeding a 12-lead tiny student).
#
# Accuracy (test macro AUC on this notebook's data) is each cached `seed=0` model's own score on the
# test split, computed here: the teacher and the tiny students of section 1, the small and base
# students of notebook 03 and restoration + student of notebook 08, all trained with the quick
# profile's budget. One seed each; the converged benchmark's seed-to-seed spread of the baseline
# (section 3's file) says how far apart two of these numbers must be to mean something.

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.bench.report import efficiency_lineup
from ecgkd_lite.data import LEADS12
from ecgkd_lite.train.restoration import restore_prepared

net = experiment.train_restoration(prep, size="tiny").model
restored = restore_prepared(prep, net, input_leads=["I"])
restored_student = experiment.train_student(restored, "baseline", leads=LEADS12, size="tiny", seed=0,
                                            tag="student-restored-12lead")
sized = {size: experiment.train_student(prep, "baseline", size=size).model for size in ("small", "base")}  # notebook 03
test_auc = {name: experiment.evaluate_model(model, prep, input_leads=LEADS[name])["macro_auc"]
            for name, model in models.items()}
accuracy = {"teacher": test_auc["teacher"], "baseline/tiny": test_auc["baseline"],
            **{f"baseline/{size}": experiment.evaluate_model(model, prep, input_leads=LEADS["baseline"])["macro_auc"]
               for size, model in sized.items()},
            "restoration/tiny+student": experiment.evaluate_model(restored_student.model, restored)["macro_auc"]}
lineup = efficiency_lineup(n_classes=prep.n_classes, fs=prep.fs, seconds=prep.profile.seconds)
print(pd.Series(accuracy, name="test macro AUC").round(3).to_string())

# %%
from ecgkd_lite.bench.report import efficiency_rows
from ecgkd_lite.plots import plot_efficiency

cost = efficiency_rows(lineup, accuracy, threads=1, warmup=3, repeats=10)
# the distilled tiny students cost what the tiny baseline costs (same architecture): same row, own accuracy
tiny_cost = cost.set_index("name").loc["baseline/tiny"].to_dict()
distilled = [{**tiny_cost, "name": f"{m}/tiny", "macro_auc": test_auc[m]} for m in STUDENTS[1:]]
cost = pd.concat([cost, pd.DataFrame(distilled)], ignore_index=True)
print(cost.assign(mflops=cost["flops"] / 1e6).drop(columns="flops").round(3).to_string(index=False))
# every accuracy comes from one run (seed 0), on this notebook's data
fig = plot_efficiency(cost.dropna(subset=["macro_auc"]).to_dict("records"))
fig.axes[0].set_title(f"Efficiency vs accuracy (marker area ∝ parameters; {ctx.source}, 1 seed: seed 0)",
                      fontsize=10, loc="left")
save_figure(fig, "13_efficiency")
plt.show()

# %%
C = cost.set_index("name")
ratio = lambda a, b, col: C.loc[a, col] / C.loc[b, col]
tiny, std_tiny = "baseline/tiny", headline["methods"]["baseline"]["macro_auc_std"]
display(Markdown(
    f"**Reading** (latencies measured on this machine now, so they vary between runs). For one whole record "
    f"at batch size one on one thread, the tiny student needs **{ratio(tiny, 'teacher', 'flops'):.2f}x** the "
    f"teacher's FLOPs and **{ratio(tiny, 'teacher', 'latency_ms'):.2f}x** its latency"
    + (" (the teacher is a compact ResNet; the student's Transformer block costs more time per FLOP). "
       if ratio(tiny, 'teacher', 'latency_ms') > ratio(tiny, 'teacher', 'flops') else ". ")
    + "Restoration + student costs "
    f"**{ratio('restoration/tiny+student', tiny, 'flops'):.1f}x** the FLOPs and "
    f"**{ratio('restoration/tiny+student', tiny, 'latency_ms'):.1f}x** the latency of the tiny student for "
    f"{C.loc['restoration/tiny+student', 'macro_auc'] - C.loc[tiny, 'macro_auc']:+.3f} macro AUC (one seed), and the "
    f"small and base students buy {C.loc['baseline/small', 'macro_auc'] - C.loc[tiny, 'macro_auc']:+.3f} and "
    f"{C.loc['baseline/base', 'macro_auc'] - C.loc[tiny, 'macro_auc']:+.3f} over the tiny one (one seed each; in the "
    f"converged benchmark the tiny baseline's seed std is {std_tiny:.3f}) for {ratio('baseline/small', tiny, 'flops'):.1f}x and "
    f"{ratio('baseline/base', tiny, 'flops'):.1f}x the FLOPs."))

# %% [markdown]
# ## 5 · Grad-CAM against cardiologists' boundaries (LUDB)
#
# The synthetic records know their ground-truth regions because we wrote them. Real records need an
# annotator: in LUDB (Lobachevsky University Electrocardiography Database, PhysioNet, `200` records of
# `10 s` at `500 Hz`) cardiologists delineated the P wave, the QRS complex and the T wave of every beat,
# lead by lead. `ecgkd_lite.data.ludb_wave_masks` turns that into five masks per lead: **P**, **QRS**
# and **T** (onset to offset), the **PR** interval (P onset to QRS onset, so it contains the P wave)
# and the **ST** segment (QRS offset to T onset). The delineation covers a central window only (the
# *annotated span*); outside it a mask is empty because nobody annotated there, not because no wave
# is there. The data lives in `../shared/data/ludb` (absent on your machine? the drawing cells say so
# and move on; the tables come from committed results).
#
# First, one record as the cardiologists drew it: lead I and lead II, each lead with its own masks.

# %%
from ecgkd_lite.config import shared_data_dir
from ecgkd_lite.plots import plot_gradcam_examples, plot_ludb_waves

ludb_root = shared_data_dir() / "ludb"
if ludb_root.exists():
    import logging
    import sys

    from ecgkd_lite.data import load_ludb
    from ecgkd_lite.data.ludb import ludb_wave_masks

    ludb_log = logging.getLogger("ecgkd_lite.data.ludb")  # its notes (e.g. an amplitude warning) -> stdout
    ludb_log.addHandler(logging.StreamHandler(sys.stdout))
    ludb_log.propagate = False
    ludb = load_ludb(ludb_root)
    # the first record in sinus rhythm with no other mapped diagnosis
    i_ludb = int(np.flatnonzero((ludb.labels[:, ludb.classes.index("NSR")] == 1) & (ludb.labels.sum(1) == 1))[0])
    rid = str(ludb.record_ids[i_ludb])
    wm = ludb_wave_masks(ludb_root, [rid])
    shown = [ludb.leads.index(lead) for lead in ("I", "II")]
    first = np.flatnonzero(wm.annotated[0, shown].all(0))[0] / wm.fs  # both leads annotated from here
    window = (float(np.floor(first * 2) / 2), float(np.floor(first * 2) / 2 + 3.0))
    fig = plot_ludb_waves(ludb.signals[i_ludb, shown], ludb.fs, ["I", "II"],
                          {w: wm.wave(w)[0, shown] for w in wm.waves}, window=window, unit=ludb.unit,
                          title=f"LUDB record {rid} (sinus rhythm): the cardiologists' delineation, "
                                f"{window[0]:g}-{window[1]:g} s")
    save_figure(fig, "13_ludb_waves")
    plt.show()
    print(f"{len(ludb)} LUDB records; record {rid}: waves per lead {wm.intervals.groupby('lead')['wave'].size().loc[['I', 'II']].to_dict()}")
else:
    ludb = None
    print(f"skipped: LUDB not found at {ludb_root}")

# %% [markdown]
# **The scores.** `benchmarks/ludb_external.py` trains a real 12-lead teacher (`resnet1d/small`) and a
# lead-I student (`cnn_transformer/tiny`, no distillation) on `ptbxl-2k`, preprocesses LUDB the way
# `ptbxl-2k` was, and computes Grad-CAM (as in section 2) of both on the LUDB records positive for
# each class that has a delineated region: the QRS complex for the blocks and axis classes, the PR
# interval for first-degree AV block. Maps and masks live on the models' grid; a map is zeroed and a
# mask cut outside the annotated span, the mask is the union over the 12 leads, and the scores are
# averaged over the training seeds (printed with the table). **Chance** is the share of the span the region covers (what
# a flat map scores); **zero maps** counts all-zero maps (no positive evidence for the class: a miss
# with no energy inside), summed over the seeds. It takes minutes, so the table is read from the committed
# `results/ludb_external.json`.

# %%
# NBVAL_CHECK_OUTPUT
ludb_ext = json.loads((REPO_ROOT / "results" / "ludb_external.json").read_text())
gc_rows = []
for r in ludb_ext["gradcam"]["per_class"]:
    for role, label in (("teacher", "teacher (12 leads)"), ("student", "student (lead I)")):
        gc_rows.append({"class": r["class"], "region": r["region"], "records": r["n_scored"], "model": label,
                        "pointing game": r[f"{role}_pointing_game"], "energy inside": r[f"{role}_energy_inside"],
                        "chance": r["chance"], "zero maps": r[f"{role}_zero_maps"],
                        "of maps": r["n_scored"] * len(ludb_ext["seeds"])})
ludb_loc = pd.DataFrame(gc_rows).set_index(["class", "model"])
print(f"seeds {ludb_ext['seeds']}; LUDB records per class = positives with a delineated region")
print(ludb_loc.round(3).to_string())

# %%
teacher_loc = ludb_loc.xs("teacher (12 leads)", level="model")
student_loc = ludb_loc.xs("student (lead I)", level="model")
t_above = teacher_loc.index[teacher_loc["pointing game"] > teacher_loc["chance"]]
s_above = student_loc.index[student_loc["pointing game"] > student_loc["chance"]]
zero_share = {k: v["zero maps"].sum() / v["of maps"].sum() for k, v in (("teacher", teacher_loc), ("student", student_loc))}
big = teacher_loc["records"].idxmax()
from ecgkd_lite.bench.cv import lead_i_visibility

real_groups = lead_i_visibility(list(student_loc.index))  # ptbxl-2k's measured groups (results/real_gap_ptbxl2k.json)
mostly_zero = list(student_loc.index[student_loc["zero maps"] / student_loc["of maps"] > 0.5])
mostly_zero_unseen = [c for c in mostly_zero if c in real_groups.get("not seen", [])]
display(Markdown(
    f"**Reading.** The teacher's maps peak inside the cardiologists' region more often than chance for "
    f"**{len(t_above)}** of the **{len(teacher_loc)}** classes ({', '.join(f'**{c}**' for c in t_above) or 'none'}); "
    f"on the class with the most records, **{big}** (**{teacher_loc.loc[big, 'records']}** records), it points "
    f"inside the {teacher_loc.loc[big, 'region']} in **{teacher_loc.loc[big, 'pointing game']:.2f}** of them against a chance of "
    f"**{teacher_loc.loc[big, 'chance']:.2f}**, and puts **{teacher_loc.loc[big, 'energy inside']:.2f}** of its "
    f"mass there. The lead-I student beats chance on **{len(s_above)}** classes "
    f"({', '.join(f'**{c}**' for c in s_above) or 'none'}) and its maps are all zero in "
    f"**{100 * zero_share['student']:.0f} %** of the cases (the teacher's: **{100 * zero_share['teacher']:.0f} %**). "
    + (f"Its maps are mostly all zero (no positive evidence for the class at all) on {', '.join(mostly_zero)}"
       + (f"; of these, {', '.join(mostly_zero_unseen)} {'is' if len(mostly_zero_unseen) == 1 else 'are'} among the "
          "classes lead I does not see on ptbxl-2k (notebook 12's real gap table). " if mostly_zero_unseen else
          "; none of them is among the classes lead I does not see on ptbxl-2k. ")
       if mostly_zero else "On no class are its maps mostly all zero. ")
    + "Most classes have few LUDB positives, so one record moves a score a lot: read these as a first look, "
    "with the chance column beside every number."))

# %% [markdown]
# **One record per class, maps drawn.** With `--examples`, the benchmark also stores, for each scored
# class, the positive LUDB record with the fewest labels (the first on a tie), the teacher's and the
# student's Grad-CAM maps on it (the first seed's models) and that record's scored region, in
# `results/ludb_gradcam_examples.json`. Each example below: lead I in mV with the scored region shaded
# and the annotated span marked, then each model's map. The filled curve is the Grad-CAM map (ReLU:
# evidence *for* the class); the thin line is the same map without the ReLU, min-max scaled, which
# shows where the evidence is relatively highest even when it is negative everywhere.

# %%
gc_examples = json.loads((REPO_ROOT / "results" / "ludb_gradcam_examples.json").read_text())
print(f"{len(gc_examples['examples'])} examples, maps at {gc_examples['fs']:g} Hz, seed {gc_examples['examples'][0]['seed']}")
if ludb is not None:
    traces = {ex["record_id"]: ludb.signals[list(ludb.record_ids).index(ex["record_id"]), ludb.leads.index("I")]
              for ex in gc_examples["examples"]}
    half = (len(gc_examples["examples"]) + 1) // 2
    for part, chunk in enumerate((gc_examples["examples"][:half], gc_examples["examples"][half:]), start=1):
        fig = plot_gradcam_examples(chunk, traces, ludb.fs, gc_examples["fs"], unit=ludb.unit)
        fig.suptitle(f"Grad-CAM on LUDB records against the cardiologists' regions ({part} of 2)", y=1.03, fontsize=11)
        save_figure(fig, f"13_ludb_gradcam_{part}")
        plt.show()
else:
    print(f"skipped: LUDB not found at {ludb_root} (the maps need the records to be drawn over)")

# %%
ex_df = pd.DataFrame(gc_examples["examples"]).set_index("class")
both_zero = ex_df.index[ex_df["teacher_zero_map"] & ex_df["student_zero_map"]]
hits = {k: ex_df.index[ex_df[f"{k}_pointing_hit"]] for k in ("teacher", "student", "teacher_no_relu", "student_no_relu")}
display(Markdown(
    f"**Reading the examples.** On these **{len(ex_df)}** records the first seed's teacher peaks inside the region "
    f"for {', '.join(f'**{c}**' for c in hits['teacher']) or 'no class'} and the student for "
    f"{', '.join(f'**{c}**' for c in hits['student']) or 'no class'}; for **{len(both_zero)}** classes "
    f"({', '.join(f'**{c}**' for c in both_zero) or 'none'}) both maps are all zero inside the annotated span: neither model finds evidence "
    "*for* the class on that record (the table's zero-map counts, seen one record at a time). Without the ReLU the "
    f"teacher's map peaks inside the region for {', '.join(f'**{c}**' for c in hits['teacher_no_relu']) or 'no class'}, "
    f"the student's for {', '.join(f'**{c}**' for c in hits['student_no_relu']) or 'no class'}. One record per class "
    "and one seed: an illustration of the table above, not evidence on its own."))

# %% [markdown]
# ## 6 · Where distillation changes something: few labels, real records
#
# The sections above look at the all-labels synthetic setting, where the distilled students and the
# baseline read the same labels; notebook 12's paired intervals say which of their differences are
# evidence there. Distillation has more room where labels are scarce, and real records are the test
# that matters. The same tools, pointed there:
#
# * **Few labels, synthetic records** (notebook 07's scenario a: the teacher and the students read
#   the labels of `RATIO` of the training records, the students also the unlabeled rest): the
#   scenario's teacher and its baseline, vanilla KD and LiteHeart students, exactly the runs notebook
#   07 trains on this data (`SemiSetting.train`: matched batches, the benchmark's cache tags; cached by
#   notebook 07, so they load). One seed each: the numbers describe these models, the verdicts are the
#   benchmark's.
# * **Real records** (the `ptbxl-2k` set, cross-validated, notebook 12): per-class differences to the
#   baseline in the three settings, from the stored benchmark results.

# %%
from ecgkd_lite.bench import semi

RATIO = 0.10
FEW = ("baseline", "vanilla_kd", "liteheart")
few_setting = semi.setting(prep, RATIO, "a", prep.profile.batch_size, log=lambda *a: None)
few_teacher, few_fits = few_setting.train(FEW)
few_models = {"teacher": few_teacher.model, **{m: fit.model for m, fit in few_fits.items()}}
few_eval = {name: experiment.evaluate_model(model, prep, input_leads=LEADS[name]) for name, model in few_models.items()}
few_outputs = {name: window_outputs(model, records, LEADS[name]) for name, model in few_models.items()}
few_agreement = pd.DataFrame({feature: {name: knn_agreement(few_outputs["teacher"][feature], out[feature], k=K)
                                        for name, out in few_outputs.items() if name != "teacher"}
                              for feature in ("logits", "penultimate")})
print(f"scenario a, RATIO = {RATIO}: teacher on {len(few_setting.data.teacher.train)} labeled records, students on "
      f"{len(few_setting.data.student.train)} ({int(few_setting.data.labeled.sum())} labeled), seed 0")
print(pd.DataFrame({"test macro AUC": {n: r["macro_auc"] for n, r in few_eval.items()}}).round(3).to_string())
print(f"\nk-NN agreement with this teacher (k = {K}; chance {chance_knn:.3f}):")
print(few_agreement.round(3).to_string())

# %% [markdown]
# The same t-SNE of the logits as in section 1 (the same single-label test records, the same
# settings), now for the few-label teacher and its students.

# %%
few_tsne = {name: embed_2d(out["logits"], "tsne", seed=0) for name, out in few_outputs.items()}
fig = plot_embeddings(few_tsne, condition, highlight=MARKED,
                      title=f"t-SNE of test logits, few labels (scenario a, {RATIO:.0%} labeled, single-label records, seed 0)")
save_figure(fig, "13_tsne_logits_few_labels")
plt.show()

# %% [markdown]
# Grad-CAM on the same records and conditions as section 2, scored against the same ground-truth
# regions, with the correlation to *this* teacher's maps.

# %%
few_rows = []
for c, idx in picks.items():
    masks = region_masks(test, c, idx)
    few_maps = {name: grad_cam(model, test.signals[idx][:, lead_indices(LEADS[name], test.leads)], test.classes.index(c))
                for name, model in few_models.items()}
    for name, m in few_maps.items():
        few_rows.append(score_maps(c, name, m, masks, few_maps["teacher"]))
few_loc = pd.DataFrame(few_rows)
print(few_loc.round(2).to_string(index=False))
few_loc_mean = few_loc.groupby("model", sort=False)[["pointing_game", "energy_inside", "r vs teacher"]].mean()
print("\nmean over conditions:")
print(few_loc_mean.round(2).to_string())

# %%
few_per_class = {name: r["per_class_auc"].to_dict() for name, r in few_eval.items()}
fig = plot_auc_violins(few_per_class, {name: r["macro_auc"] for name, r in few_eval.items()},
                       label_conditions=LEAST,
                       title=f"Per-condition test AUC, few labels (scenario a, {RATIO:.0%} labeled, seed 0)")
save_figure(fig, "13_auc_violins_few_labels")
plt.show()

# %%
hidden = LEAST  # section 1: the measured "not seen" group, or "partly seen" where none is "not seen"
shown = [c for c in prep.classes if c not in hidden]
test_positives = pd.Series(prep.test.labels.sum(0).astype(int), index=prep.classes)
RARE_TEST = 20  # fewer labelled positives than this among the test split: a noisy per-class AUC
few_rare = test_positives[test_positives < RARE_TEST].sort_values()


def mean_gain(model, classes):
    return np.nanmean([few_per_class[model][c] - few_per_class["baseline"][c] for c in classes])


few_gain = {m: mean_gain(m, shown) for m in ("vanilla_kd", "liteheart")}
few_gain_hidden = {m: mean_gain(m, hidden) for m in ("vanilla_kd", "liteheart")}
r_few = few_loc_mean["r vs teacher"]
r_few_n = few_loc.groupby("model", sort=False)["r records"].sum()
display(Markdown(
    f"**Reading (few labels, one seed).** In this run LiteHeart's test macro AUC is "
    f"**{few_eval['liteheart']['macro_auc']:.3f}** and vanilla KD's **{few_eval['vanilla_kd']['macro_auc']:.3f}** "
    f"against the baseline's **{few_eval['baseline']['macro_auc']:.3f}** (teacher "
    f"{few_eval['teacher']['macro_auc']:.3f}). Per class, LiteHeart gains on average "
    f"{few_gain['liteheart']:+.3f} on the other conditions and {few_gain_hidden['liteheart']:+.3f} on "
    f"{', '.join(hidden)} (lead I sees these least: the {LEAST_GROUP!r} group, "
    f"{', '.join(f'{c} {test_positives[c]}' for c in hidden)} labelled test positives); vanilla KD "
    f"{few_gain['vanilla_kd']:+.3f} and {few_gain_hidden['vanilla_kd']:+.3f}. "
    + (f"On these {len(prep.test)} test records {', '.join(f'{c} ({n})' for c, n in few_rare.items())} have fewer than "
       f"{RARE_TEST} labelled positives, so their per-class differences are noisy. " if len(few_rare) else "")
    + "The geometry: k-NN agreement with the teacher on logits "
    + ", ".join(f"{m} {few_agreement.loc[m, 'logits']:.3f}" for m in few_agreement.index)
    + f" (chance {chance_knn:.3f}), and the Grad-CAM maps' mean correlation with the teacher's "
    + ", ".join(f"{m} {r_few[m]:.2f} ({r_few_n[m]} records with non-flat maps)" for m in FEW)
    + ". With few labels the teacher's outputs on the unlabeled records are most of what a student learns from"
    + (", and the distilled students' outputs sit closer to the teacher's than the baseline's do"
       if min(few_agreement.loc[m, "logits"] for m in ("vanilla_kd", "liteheart")) > few_agreement.loc["baseline", "logits"]
       else ", yet not every distilled student's outputs sit closer to the teacher's than the baseline's")
    + "; whether a student is *better* is the benchmark's question (notebook 07's and 12's paired intervals, several "
    "seeds), not this single run's."))

# %% [markdown]
# **Real records.** Per class, each model's out-of-fold AUC on `ptbxl-2k` minus the baseline's (means
# over the benchmark's seeds), in the three settings of notebook 12: all labels, and a tenth of the
# labels in scenarios a and b (`REAL` below). Classes are grouped by what lead I sees (the independent per-class gap table,
# `results/real_gap_ptbxl2k.json`; "undetermined": classes whose gap interval fits no group).
# The teacher's row shows where the 12-lead advantage lies; the lead-I feature model is the non-deep
# reference. Colours are point estimates without intervals: the pattern across classes, read beside
# the paired group intervals printed under the figure.

# %%
REAL = {"all labels": "bench_quality_ptbxl2k.json",
        "10 % labels, scenario a": "bench_quality_ptbxl2k_labels10_scenario_a.json",
        "10 % labels, scenario b": "bench_quality_ptbxl2k_labels10_scenario_b.json"}
REAL_ROWS = ("baseline", "teacher", "vanilla_kd", "liteheart", "evl_ecg", "features-lead_I")
real = {name: json.loads((REPO_ROOT / "results" / f).read_text()) for name, f in REAL.items()}
real_panels = {name: {m: r["methods"][m]["per_class_auc"] for m in REAL_ROWS if m in r["methods"]}
               for name, r in real.items()}
vis_groups = real["all labels"]["by_visibility"]["groups"]
all_classes = list(real_panels["all labels"]["baseline"])
groups = {g: vis_groups.get(g, []) for g in ("seen", "partly seen", "not seen")}
groups["undetermined"] = [c for c in all_classes if not any(c in v for v in groups.values())]
fig = plot_class_deltas(real_panels, groups=groups,
                        title="ptbxl-2k: per-class out-of-fold AUC minus the baseline's (mean over seeds; "
                              "the feature model has one)")
save_figure(fig, "13_class_deltas_ptbxl2k")
plt.show()
group_rows = []
for name, r in real.items():
    for m, per_group in r["by_visibility"]["methods"].items():
        if m in REAL_ROWS:
            for g, v in per_group.items():
                d = v["paired_delta_macro_auc"]
                group_rows.append({"setting": name, "model": m, "lead I": g,
                                   "minus baseline": f"{d['estimate']:+.3f} [{d['ci95'][0]:+.3f}, {d['ci95'][1]:+.3f}]"})
print("paired 95 % intervals of the macro AUC over each group's classes, minus the baseline's:")
print(pd.DataFrame(group_rows).pivot_table(index=["setting", "model"], columns="lead I", values="minus baseline",
                                            aggfunc="first", sort=False).to_string())

# %%
few_real = real["10 % labels, scenario a"]
few_seeds = {m: len(few_real["methods"][m].get("seeds", [0])) for m in REAL_ROWS if m in few_real["methods"]}
fig = plot_auc_violins({m: few_real["methods"][m]["per_class_auc"] for m in REAL_ROWS if m in few_real["methods"]},
                       {m: few_real["methods"][m]["macro_auc_mean"] for m in REAL_ROWS if m in few_real["methods"]},
                       label_conditions=groups["not seen"],
                       title="ptbxl-2k, 10 % labels (scenario a): per-condition out-of-fold AUC, macro AUC as a black bar\n"
                             "seeds per model: " + ", ".join(f"{m} {n}" for m, n in few_seeds.items()))
save_figure(fig, "13_auc_violins_ptbxl2k_scenario_a")
plt.show()

# %%
def group_delta(setting, model, group):
    d = real[setting]["by_visibility"]["methods"][model][group]["paired_delta_macro_auc"]
    return d["estimate"], d["ci95"]


def said(setting, model, group):
    est, (lo, hi) = group_delta(setting, model, group)
    word = "better" if lo > 0 else "worse" if hi < 0 else "level"
    return f"{est:+.3f} [{lo:+.3f}, {hi:+.3f}], {word}"


few_ratio = real["10 % labels, scenario a"]["setting"]["label_ratio"]
display(Markdown(
    "**Reading (real records).** With all labels, LiteHeart's difference to the baseline is "
    f"{said('all labels', 'liteheart', 'seen')} on the classes lead I sees and {said('all labels', 'liteheart', 'not seen')} "
    f"on those it does not (vanilla KD: {said('all labels', 'vanilla_kd', 'seen')} and "
    f"{said('all labels', 'vanilla_kd', 'not seen')}). With {few_ratio:.0%} of the labels the picture changes: in scenario "
    f"a LiteHeart's difference is {said('10 % labels, scenario a', 'liteheart', 'seen')} on the classes lead I sees and "
    f"{said('10 % labels, scenario a', 'liteheart', 'not seen')} on those it does not; in scenario b "
    f"{said('10 % labels, scenario b', 'liteheart', 'seen')} and {said('10 % labels, scenario b', 'liteheart', 'not seen')}. "
    + ("So on real records with few labels LiteHeart's gain is larger on the classes lead I already shows, where the "
       "teacher's outputs stand in for the missing labels, than on the 12-lead-only findings, although the teacher's "
       "own lead is largest there (its row in the figure). "
       if all(group_delta(f"10 % labels, scenario {x}", "liteheart", "seen")[0]
              > group_delta(f"10 % labels, scenario {x}", "liteheart", "not seen")[0] for x in "ab")
       else "So on real records with few labels LiteHeart's gain is not confined to the classes lead I already shows. ")
    + "The lead-I feature model, with no teacher at all, differs by "
    f"{said('10 % labels, scenario a', 'features-lead_I', 'seen')} on the seen classes of scenario a: part of what the "
    "deep students gain there is the better use of few labels that a simpler model also gets, not 12-lead knowledge."))

# %% [markdown]
# ## Takeaways

# %%
knn_lo, knn_hi = agreement.min().min(), agreement.max().max()
few_closer = min(few_agreement.loc[m, "logits"] for m in ("vanilla_kd", "liteheart")) > few_agreement.loc["baseline", "logits"]
seen_larger = all(group_delta(f"10 % labels, scenario {x}", "liteheart", "seen")[0]
                  > group_delta(f"10 % labels, scenario {x}", "liteheart", "not seen")[0] for x in "ab")
features_gain = group_delta("10 % labels, scenario a", "features-lead_I", "seen")[1][0] > 0
dearer = ("baseline/small", "baseline/base", "restoration/tiny+student")
flops_x = [ratio(n, tiny, "flops") for n in dearer]
best_gain = max(C.loc[n, "macro_auc"] - C.loc[tiny, "macro_auc"] for n in dearer)
display(Markdown("\n".join([
    f"* With all labels, a 1-lead student's output geometry stays far from the 12-lead teacher's (k-NN agreement "
    f"{knn_lo:.3f}-{knn_hi:.3f}, one seed each); "
    + ("the conditions lead I sees least stay closer to the normal records for every student than for the teacher."
       if mixed else "on this data the conditions lead I sees least are not more mixed with the normal records for "
       "the students than the plainly seen ones, or than for the teacher."),
    "* With few labels (section 6) "
    + ("the distilled students' outputs sit closer to the teacher's than the baseline's in this run. "
       if few_closer else "not every distilled student's outputs sit closer to the teacher's than the baseline's in this run. ")
    + ("On real records with few labels LiteHeart's paired gains are larger on the classes lead I already shows than "
       "on those it does not" if seen_larger else
       "On real records with few labels LiteHeart's gains are not confined to the classes lead I already shows")
    + (", and a teacher-free lead-I feature model gains on the seen classes too: look for the teacher's knowledge "
       "where the teacher's lead is." if features_gain else "."),
    "* 2-D pictures are for looking; the k-NN agreement in the original spaces is the number to quote.",
    f"* Grad-CAM: the teacher's maps point at the region more often than chance on "
    f"{sum(L.loc[(c, 'teacher'), 'pointing_game'] > L.loc[(c, 'teacher'), 'chance'] for c in CONDITIONS)} of "
    f"{len(CONDITIONS)} conditions; against the baseline, distillation changed the students' map correlation with the "
    f"teacher's by {shift_said} (one seed, few records); an all-zero map is an honest \"no evidence\".",
    f"* Cost and accuracy must be read together: the larger students and restoration + student cost "
    f"{min(flops_x):.1f}x-{max(flops_x):.1f}x the tiny student's FLOPs for at most {best_gain:+.3f} macro AUC "
    f"(one seed each; the converged baseline's seed std is {std_tiny:.3f}).",
    f"* On real records (LUDB) the real teacher's Grad-CAM peaks in the cardiologists' regions more often than "
    f"chance on {len(t_above)} of {len(teacher_loc)} classes, on few records each; the lead-I student's maps are all "
    f"zero in {zero_share['student']:.0%} of the cases. Every localisation score needs its chance level beside it.",
])))

# %% [markdown]
# ## Exercises
#
# * **A smaller neighbourhood.** Recompute the k-NN agreement with `K = 5` and `K = 30`. Expect all
#   scores and the chance level to change together, with the students' order mostly kept.
# * **Grad-CAM on another layer.** Pass another entry of `model.feature_layers` to Grad-CAM for the
#   PVC records and compare the pointing game. Expect coarser maps (and worse localisation) from a
#   deeper, lower-resolution layer.
# * **The other scenario.** In section 6, build `few_setting` for scenario b (a labeled 12-lead
#   archive, a disjoint wearable pool) and re-run the cells. Expect a teacher trained on more records
#   (half the training split), students that train longer than the shipped runs (nothing is cached),
#   and a larger k-NN agreement with the teacher for the distilled students.
# * **Latency with more threads.** Re-run `efficiency_rows(..., threads=2)`. Expect the large models to
#   gain more than the tiny student, whose calls are dominated by per-op overhead.
