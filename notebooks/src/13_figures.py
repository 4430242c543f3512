# %% [markdown]
# # 13 · Figures: geometry, attention, per-condition accuracy, cost
#
# ## Learning goals
#
# * compare the geometry of a student's outputs with the teacher's (t-SNE, UMAP and a k-NN agreement
#   computed in the original spaces), and say what a 2-D picture can and cannot show;
# * compute Grad-CAM maps, score them against ground-truth regions, and test whether distillation
#   moved a student's attention toward the teacher's;
# * read per-condition AUCs to see which findings lead I cannot carry;
# * weigh parameters, FLOPs and latency against accuracy for the teacher, the student sizes and
#   restoration + student.
#
# ## Prerequisites
#
# This builds on notebooks 02-03 (teacher and baseline student), notebooks 04-05 (vanilla KD,
# LiteHeart's region-aware term), notebook 08 (restoration), notebooks 09-11 (EVL-ECG) and
# notebook 12 (the benchmark whose runs are shown).
#
# **Idea.** Look inside the models the benchmark compared. Four questions, one section each:
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
#
# Models are the cached `seed=0` runs of the benchmark (teacher, 1-lead baseline, vanilla KD,
# LiteHeart, EVL-ECG; `cnn_transformer`/tiny students on lead I); accuracies come from the stored
# benchmark JSONs. Nothing is trained here.

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
prep = experiment.prepare("synthetic", profile=ctx.profile)
teacher = experiment.train_teacher(prep)
cache = experiment.teacher_cache(prep, teacher)
models = {"teacher": teacher.model}
models.update({m: experiment.train_student(prep, m, size="tiny", seed=0, teacher=teacher, cache=cache).model
               for m in STUDENTS})
LEADS = {name: list(prep.test.leads) if name == "teacher" else list(experiment.STUDENT_LEADS) for name in models}
print(prep)
for name, model in models.items():
    print(f"{name:<11} {model.config['name']}/{model.config['size']}, {len(LEADS[name])} lead(s), "
          f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %% [markdown]
# ## 1 · Geometry of the outputs
#
# **Records.** The test records with exactly one label, coloured by that condition (multi-label
# records have no single colour; they are left out of the pictures and of the numbers).
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
from ecgkd_lite.plots import plot_embeddings

VIEWS = (("tsne", "logits"), ("umap", "logits"), ("umap", "penultimate"))
embeddings = {(method, feature): {name: embed_2d(out[feature], method, seed=0) for name, out in outputs.items()}
              for method, feature in VIEWS}
for (method, feature), views in embeddings.items():
    fig = plot_embeddings(views, condition, title=f"{method.upper()} of test {feature} (single-label records, seed 0)")
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

# %%
from IPython.display import Markdown, display

chance_knn = K / (2 * (len(single) - 1) - K)
lo, hi = agreement.min().min(), agreement.max().max()
kd_rows = [m for m in agreement.index if m != "baseline"]
display(Markdown(
    f"**Reading.** Every 1-lead student shares only {lo:.3f}-{hi:.3f} of each record's {K} nearest neighbours "
    f"with the teacher (chance {chance_knn:.3f}): far above chance, far from the teacher. The baseline scores "
    f"{agreement.loc['baseline', 'logits']:.3f} on logits and {agreement.loc['baseline', 'penultimate']:.3f} on "
    "features; the distilled students "
    + ", ".join(f"{m} {agreement.loc[m, 'logits']:.3f} / {agreement.loc[m, 'penultimate']:.3f}" for m in kd_rows)
    + f". These are one seed each, so there is no spread to compare with: differences of "
    f"{agreement.loc[kd_rows].max().max() - agreement.loc['baseline'].min():.3f} or less are not evidence. In the "
    "pictures the conditions lead I shows (bundle-branch blocks, rate, PVC, low voltage) form their own islands for "
    "every model, while AMI, IMI and LAFB sit inside the normal records for all students: lead I does not carry "
    "them, so no amount of imitation separates them."))

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
# On the same positive test records of each condition (the first `PER_CLASS`), scored against the synthetic
# ground-truth region of that condition (`region_masks`):
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

CONDITIONS = ("PVC", "AMI", "CLBBB")  # a premature beat, ST elevation in V1-V4, a wide QRS
PER_CLASS = 20
test = prep.test
picks = {c: np.flatnonzero(test.labels[:, test.classes.index(c)] == 1)[:PER_CLASS] for c in CONDITIONS}
maps = {c: {name: grad_cam(model, test.signals[idx][:, lead_indices(LEADS[name], test.leads)],
                           test.classes.index(c))
            for name, model in models.items()} for c, idx in picks.items()}


def map_correlation(a, b):
    """Mean per-record Pearson r between two sets of maps, flat maps skipped."""
    keep = (a.std(1) > 0) & (b.std(1) > 0)
    return float(np.mean([np.corrcoef(x, y)[0, 1] for x, y in zip(a[keep], b[keep])])) if keep.any() else np.nan


rows = []
for c, idx in picks.items():
    masks = region_masks(test, c, idx)
    for name, m in maps[c].items():
        rows.append({"condition": c, "model": name, **localisation_scores(m, masks), "chance": float(masks.mean()),
                     "r vs teacher": np.nan if name == "teacher" else map_correlation(m, maps[c]["teacher"])})
loc = pd.DataFrame(rows)
print(loc.round(2).to_string(index=False))
print("\nmean over conditions:")
print(loc.groupby("model", sort=False)[["pointing_game", "energy_inside", "r vs teacher"]].mean().round(2).to_string())

# %% [markdown]
# One record per condition, drawn as lead I in mV (the scaler undone) with each model's map as the
# colour band under the trace and the ground-truth region shaded: the teacher, the 1-lead baseline
# and the LiteHeart student (the method whose region-aware term distils the teacher's maps).

# %%
from ecgkd_lite.plots import plot_saliency_strip

SHOWN = ("teacher", "baseline", "liteheart")
k_lead = test.leads.index("I")
for c, idx in picks.items():
    rec = int(idx[0])
    mv = test.signals[rec, k_lead] * prep.scaler.std[k_lead, 0] + prep.scaler.mean[k_lead, 0]
    fig = plot_saliency_strip(mv, test.fs, {n: maps[c][n][0] for n in SHOWN}, region_masks(test, c, [rec])[0], lead="I")
    fig.suptitle(f"Grad-CAM for {c} on test record {test.record_ids[rec]} (lead I, ground truth shaded)", fontsize=10)
    save_figure(fig, f"13_gradcam_{c}")
    plt.show()

# %%
L = loc.set_index(["condition", "model"])
stud = [m for m in models if m != "teacher"]
pvc = L.loc["PVC"]
r_mean = loc[loc.model != "teacher"].groupby("model")["r vs teacher"].mean()
ami_zero = all(L.loc[("AMI", m), "energy_inside"] == 0 for m in stud)
display(Markdown(
    f"**Reading.** The teacher's maps land on the ground truth for PVC (pointing game "
    f"**{pvc.loc['teacher', 'pointing_game']:.2f}** against a chance of {pvc.loc['teacher', 'chance']:.2f}); for AMI "
    f"it scores {L.loc[('AMI', 'teacher'), 'pointing_game']:.2f} against a chance of {L.loc[('AMI', 'teacher'), 'chance']:.2f}, "
    "since the infarct's ST segment spans much of each beat. The 1-lead students localise PVC far less well "
    f"({pvc.loc[stud, 'pointing_game'].min():.2f}-{pvc.loc[stud, 'pointing_game'].max():.2f}) and their maps "
    f"correlate only weakly with the teacher's (mean r over conditions {r_mean.min():.2f}-{r_mean.max():.2f}). "
    f"Distillation did **not** clearly move their attention toward the teacher's: vanilla KD points at the PVC in "
    f"{pvc.loc['vanilla_kd', 'pointing_game']:.2f} of the records against the baseline's "
    f"{pvc.loc['baseline', 'pointing_game']:.2f}, with mean r {r_mean['vanilla_kd']:.2f} against the baseline's "
    f"{r_mean['baseline']:.2f}; LiteHeart's region-weighted feature KD (notebook 05) gives r {r_mean['liteheart']:.2f}. "
    + ("For AMI every student's map is all zero (no positive evidence for the class on lead I, so nothing is "
       "localised), which is the honest picture of a condition lead I cannot see. " if ami_zero else "")
    + f"These are {PER_CLASS} records per condition and one seed per model; the maps come from models trained on "
    "short crops and run on the whole record."))

# %% [markdown]
# ## 3 · Per-condition AUC
#
# One violin per model of its per-condition test AUCs (mean over the benchmark's seeds), one dot per
# condition, the macro AUC as a red bar; from the headline benchmark. A condition without positive
# test records has no AUC: it is listed under the violin as missing, never drawn as chance.

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.bench import CLASSIC
from ecgkd_lite.bench.report import find_setting, load_benchmarks, merge_results, per_class_auc
from ecgkd_lite.plots import plot_auc_violins

loaded, _ = load_benchmarks(log=lambda note: None)
headline = find_setting(merge_results(loaded))
violin_methods = [m for m in ("baseline", *CLASSIC, "liteheart", "evl_ecg") if m in headline["methods"]]
per_class, macro = per_class_auc(headline, violin_methods)
no_auc = {name: [c for c, v in aucs.items() if v is None] for name, aucs in per_class.items()}
print("models:", ", ".join(per_class))
print("conditions without an AUC:", {k: v for k, v in no_auc.items() if v} or "none")
print(pd.DataFrame(per_class).round(3).to_string())

# %%
fig = plot_auc_violins(per_class, macro, title=f"Per-condition test AUC (mean of {headline['seeds']} seeds), macro AUC in red")
save_figure(fig, "13_auc_violins")
plt.show()

# %% [markdown]
# ## 4 · Efficiency against accuracy
#
# Cost of one **whole record** (the profile's `seconds` at its sampling rate; the input shapes are
# printed): parameters; FLOPs of one forward pass ($2\times$ multiply-accumulates, matrix products,
# convolutions and attention only; `torch.utils.flop_counter`); CPU latency at batch size one on one
# thread, the median of `repeats=10` runs after `warmup=3` (timings depend on the machine and its
# load, so that cell is not checked). The
# models: the 12-lead teacher, the 1-lead student at each size, and restoration + student (the
# lead-I -> 12-lead U-Net of notebook 08 feeding a 12-lead tiny student).
#
# Accuracy (test macro AUC) comes from: the headline benchmark (teacher; tiny student = the
# baseline, mean over its seeds), `results/bench_training_quick.json` (small and base students,
# `seed=0`, made by `python benchmarks/bench_training_time.py`) and the cached models of notebook 08
# (restoration + student, `seed=0`).

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.bench.report import efficiency_lineup
from ecgkd_lite.data import LEADS12
from ecgkd_lite.train.restoration import restore_prepared

training = json.loads((REPO_ROOT / "results" / "bench_training_quick.json").read_text())["results"]
net = experiment.train_restoration(prep, size="tiny").model
restored = restore_prepared(prep, net, input_leads=["I"])
restored_student = experiment.train_student(restored, "baseline", leads=LEADS12, size="tiny", seed=0,
                                            tag="student-restored-12lead")
accuracy = {"teacher": headline["teacher"]["macro_auc"],
            "baseline/tiny": headline["methods"]["baseline"]["mean"]["macro_auc"],
            "baseline/small": training["student small"]["macro_auc"],
            "baseline/base": training["student base"]["macro_auc"],
            "restoration/tiny+student": experiment.evaluate_model(restored_student.model, restored)["macro_auc"]}
lineup = efficiency_lineup(n_classes=prep.n_classes, fs=prep.fs, seconds=prep.profile.seconds)
print(pd.Series(accuracy, name="test macro AUC").round(4).to_string())

# %%
from ecgkd_lite.bench.report import efficiency_rows
from ecgkd_lite.plots import plot_efficiency

cost = efficiency_rows(lineup, accuracy, threads=1, warmup=3, repeats=10)
print(cost.assign(mflops=cost["flops"] / 1e6).drop(columns="flops").round(3).to_string(index=False))
fig = plot_efficiency(cost.dropna(subset=["macro_auc"]).to_dict("records"))
save_figure(fig, "13_efficiency")
plt.show()

# %%
C = cost.set_index("name")
ratio = lambda a, b, col: C.loc[a, col] / C.loc[b, col]
tiny, std_tiny = "baseline/tiny", headline["methods"]["baseline"]["std"]["macro_auc"]
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
    f"{C.loc['baseline/base', 'macro_auc'] - C.loc[tiny, 'macro_auc']:+.3f} over the tiny one (one seed each; the "
    f"tiny student's seed std is {std_tiny:.3f}) for {ratio('baseline/small', tiny, 'flops'):.1f}x and "
    f"{ratio('baseline/base', tiny, 'flops'):.1f}x the FLOPs."))

# %% [markdown]
# ## Takeaways
#
# * A 1-lead student's output geometry stays far from the 12-lead teacher's; distillation moves it
#   by no more than one seed's noise, and conditions lead I does not carry stay mixed for every student.
# * 2-D pictures are for looking; the k-NN agreement in the original spaces is the number to quote.
# * Grad-CAM shows that the teacher localises what it can see, while distilled students do not inherit
#   its attention; an all-zero map is an honest "no evidence".
# * Cost and accuracy must be read together: a larger student or restoration + student costs several
#   times the compute for gains of the size of seed noise.
#
# ## Exercises
#
# * **A smaller neighbourhood.** Recompute the k-NN agreement with `K = 5` and `K = 30`. Expect all
#   scores and the chance level to change together, with the students' order mostly kept.
# * **Grad-CAM on another layer.** Pass another entry of `model.feature_layers` to Grad-CAM for the
#   PVC records and compare the pointing game. Expect coarser maps (and worse localisation) from a
#   deeper, lower-resolution layer.
# * **Latency with more threads.** Re-run `efficiency_rows(..., threads=2)`. Expect the large models to
#   gain more than the tiny student, whose calls are dominated by per-op overhead.
