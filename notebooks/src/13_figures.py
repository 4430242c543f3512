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
# **Records.** The test records with exactly one label (multi-label records have no single
# condition; they are left out of the pictures and of the numbers). The pictures mark `NORM`, the
# conditions lead I does not see and two it sees plainly, each with a shade and a marker of its own
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
from ecgkd_lite.bench.cv import lead_i_visibility
from ecgkd_lite.plots import plot_embeddings

MARKED = ["NORM", *lead_i_visibility(prep.classes, data="synthetic")["not seen"], "AFIB", "CLBBB"]

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
# condition, the macro AUC as a black bar; the conditions lead I cannot see (IMI, AMI, LAFB) are drawn
# hollow and named; from the headline benchmark. A condition without positive
# test records has no AUC: it is listed under the violin as missing, never drawn as chance.

# %%
# NBVAL_CHECK_OUTPUT
from ecgkd_lite.bench import CLASSIC
from ecgkd_lite.bench.report import find_setting, load_benchmarks, merge_results, per_class_auc
from ecgkd_lite.plots import plot_auc_violins, plot_class_deltas

loaded, _ = load_benchmarks(log=lambda note: None)
headline = find_setting(merge_results(loaded))
violin_methods = [m for m in ("baseline", *CLASSIC, "liteheart", "evl_ecg") if m in headline["methods"]]
per_class, macro = per_class_auc(headline, violin_methods)
no_auc = {name: [c for c, v in aucs.items() if v is None] for name, aucs in per_class.items()}
print("models:", ", ".join(per_class))
print("conditions without an AUC:", {k: v for k, v in no_auc.items() if v} or "none")
print(pd.DataFrame(per_class).round(3).to_string())

# %%
fig = plot_auc_violins(per_class, macro, label_conditions=("IMI", "AMI", "LAFB"),
                       title=f"Per-condition test AUC (mean of {headline['seeds']} seeds), macro AUC as a black bar")
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
# models: the 12-lead teacher, the 1-lead student at each size, the distilled tiny students (the
# same architecture as the tiny baseline, so the same cost; told apart by colour), and restoration +
# student (the lead-I -> 12-lead U-Net of notebook 08 feeding a 12-lead tiny student).
#
# Accuracy (test macro AUC) comes from: the quick headline benchmark (teacher; the tiny baseline and
# distilled students, mean over their seeds), `results/bench_training_quick.json` (small and base students,
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
# the distilled tiny students cost what the tiny baseline costs (same architecture): same row, own accuracy
tiny_cost = cost.set_index("name").loc["baseline/tiny"].to_dict()
distilled = [{**tiny_cost, "name": f"{m}/tiny", "macro_auc": headline["methods"][m]["mean"]["macro_auc"]}
             for m in STUDENTS[1:] if m in headline["methods"]]
cost = pd.concat([cost, pd.DataFrame(distilled)], ignore_index=True)
print(cost.assign(mflops=cost["flops"] / 1e6).drop(columns="flops").round(3).to_string(index=False))
# the tiny rows are means over the benchmark's seeds; the other accuracies come from one run each
shown = cost.assign(name=[n if n.endswith("/tiny") else f"{n} (seed 0)" for n in cost["name"]])
fig = plot_efficiency(shown.dropna(subset=["macro_auc"]).to_dict("records"))
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
display(Markdown(
    f"**Reading.** The teacher's maps peak inside the cardiologists' region more often than chance for "
    f"**{len(t_above)}** of the **{len(teacher_loc)}** classes ({', '.join(f'**{c}**' for c in t_above) or 'none'}); "
    f"on the class with the most records, **{big}** (**{teacher_loc.loc[big, 'records']}** records), it points "
    f"inside the {teacher_loc.loc[big, 'region']} in **{teacher_loc.loc[big, 'pointing game']:.2f}** of them against a chance of "
    f"**{teacher_loc.loc[big, 'chance']:.2f}**, and puts **{teacher_loc.loc[big, 'energy inside']:.2f}** of its "
    f"mass there. The lead-I student beats chance on **{len(s_above)}** classes "
    f"({', '.join(f'**{c}**' for c in s_above) or 'none'}) and its maps are all zero in "
    f"**{100 * zero_share['student']:.0f} %** of the cases (the teacher's: **{100 * zero_share['teacher']:.0f} %**): "
    "on the axis, fascicular and right-bundle classes lead I does not see (notebook 03) it mostly finds no "
    "positive evidence for the class at all. Most "
    "classes have few LUDB positives, so one record moves a score a lot: read these as a first look, "
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
# The sections above look at the all-labels synthetic setting, where no method clearly beats the
# baseline (notebook 12), so the pictures could only show that nothing happens. Distillation changes
# something where labels are scarce and on real records. The same tools, pointed there:
#
# * **Few labels, synthetic records** (notebook 07's scenario a: the teacher and the students read
#   the labels of `RATIO` of the training records, the students also the unlabeled rest): the
#   scenario's teacher and its baseline, vanilla KD and LiteHeart students, exactly the runs notebook
#   07 trains (`SemiSetting.train`: matched batches, the benchmark's cache tags; shipped, so they
#   load). One seed each: the numbers describe these models, the verdicts are the benchmark's.
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
        few_rows.append({"condition": c, "model": name, **localisation_scores(m, masks), "chance": float(masks.mean()),
                         "r vs teacher": np.nan if name == "teacher" else map_correlation(m, few_maps["teacher"])})
few_loc = pd.DataFrame(few_rows)
print(few_loc.round(2).to_string(index=False))
few_loc_mean = few_loc.groupby("model", sort=False)[["pointing_game", "energy_inside", "r vs teacher"]].mean()
print("\nmean over conditions:")
print(few_loc_mean.round(2).to_string())

# %%
few_per_class = {name: r["per_class_auc"].to_dict() for name, r in few_eval.items()}
fig = plot_auc_violins(few_per_class, {name: r["macro_auc"] for name, r in few_eval.items()},
                       label_conditions=("IMI", "AMI", "LAFB"),
                       title=f"Per-condition test AUC, few labels (scenario a, {RATIO:.0%} labeled, seed 0)")
save_figure(fig, "13_auc_violins_few_labels")
plt.show()

# %%
hidden = lead_i_visibility(prep.classes, data="synthetic")["not seen"]  # by the generator's construction
shown = [c for c in prep.classes if c not in hidden]


def mean_gain(model, classes):
    return np.mean([few_per_class[model][c] - few_per_class["baseline"][c] for c in classes])


few_gain = {m: mean_gain(m, shown) for m in ("vanilla_kd", "liteheart")}
few_gain_hidden = {m: mean_gain(m, hidden) for m in ("vanilla_kd", "liteheart")}
r_few = few_loc_mean["r vs teacher"]
display(Markdown(
    f"**Reading (few labels, one seed).** In this run LiteHeart's test macro AUC is "
    f"**{few_eval['liteheart']['macro_auc']:.3f}** and vanilla KD's **{few_eval['vanilla_kd']['macro_auc']:.3f}** "
    f"against the baseline's **{few_eval['baseline']['macro_auc']:.3f}** (teacher "
    f"{few_eval['teacher']['macro_auc']:.3f}). Per class, LiteHeart gains on average "
    f"{few_gain['liteheart']:+.3f} on the conditions lead I shows or partly shows and {few_gain_hidden['liteheart']:+.3f} on "
    f"{', '.join(hidden)}; vanilla KD {few_gain['vanilla_kd']:+.3f} and {few_gain_hidden['vanilla_kd']:+.3f}. "
    f"The geometry moves with it: k-NN agreement with the teacher on logits "
    + ", ".join(f"{m} {few_agreement.loc[m, 'logits']:.3f}" for m in few_agreement.index)
    + f" (chance {chance_knn:.3f}), and the Grad-CAM maps' mean correlation with the teacher's "
    + ", ".join(f"{m} {r_few[m]:.2f}" for m in FEW)
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
#
# * With all labels, a 1-lead student's output geometry stays far from the 12-lead teacher's; the
#   distilled students differ from the baseline by little (one seed each, so no spread to judge it by),
#   and conditions lead I does not carry stay mixed for every student.
# * With few labels (section 6) distillation does change the student: in this run the distilled
#   students' outputs sit closer to the teacher's than the baseline's. On real records with few labels
#   LiteHeart's paired gains are largest on the classes lead I already shows, and a teacher-free
#   lead-I feature model gains there too: look for the teacher's knowledge where the teacher's lead is.
# * 2-D pictures are for looking; the k-NN agreement in the original spaces is the number to quote.
# * Grad-CAM shows that the teacher localises what it can see, while distilled students do not inherit
#   its attention; an all-zero map is an honest "no evidence".
# * Cost and accuracy must be read together: a larger student or restoration + student costs several
#   times the compute for gains of the size of seed noise.
# * On real records (LUDB) the real teacher's Grad-CAM lands in the cardiologists' regions more often
#   than chance on most classes, but by small margins and on few records; the lead-I student's maps are
#   mostly all zero on the classes lead I does not see. Real localisation is weaker than on synthetic
#   records, and every score needs its chance level beside it.
#
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
