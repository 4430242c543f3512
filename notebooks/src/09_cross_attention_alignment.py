# %% [markdown]
# # 09 · EVL-ECG, part 1: multi-head cross-attention alignment
#
# **Goal.** EVL-ECG (arXiv 2605.29977) distils between models that differ in architecture, width and
# number of tokens. Its first term lets the *student* decide which teacher tokens to imitate: a
# learnable multi-head cross-attention (MHCA) reads the frozen teacher's hidden states with the
# student's hidden states as queries, and the student is pulled toward what it read. In the paper
# the tokens are image patches of a plotted ECG; here they are the signal tokens of our models.
#
# ## The equations (as implemented in `ecgkd_lite/distill/evl/mhca.py`)
#
# Student tokens $S \in \mathbb{R}^{N_s \times D_s}$, teacher tokens $T \in \mathbb{R}^{N_t \times D_t}$
# (per record; $N_s \ne N_t$ and $D_s \ne D_t$ allowed), shared width $d = 64$, $H = 4$ heads,
# $d_h = d / H$:
#
# $$ Q = S W_s + b_s, \qquad V = \operatorname{sg}(T)\, P_t, $$
#
# $$ A_h = \operatorname{softmax}\!\Big(\frac{(Q W_q)_h (V W_k)_h^{\top}}{\sqrt{d_h}}\Big) \in \mathbb{R}^{N_s \times N_t},
# \qquad \hat T = \operatorname{concat}_h\big(A_h V_h\big) \in \mathbb{R}^{N_s \times d}, $$
#
# $$ \mathcal{L}_{\text{mhca}} = \frac{1}{N_s d} \sum_{n,k} \big(\operatorname{LN}(Q)_{nk} - \operatorname{LN}(\hat T)_{nk}\big)^2 . $$
#
# $\hat T$ is "the teacher, summarised at the student's length": row $n$ of $A_h$ says which teacher
# tokens student token $n$ reads in head $h$. The loss is the mean squared L2 distance between the
# student states and that summary.
#
# ## What prevents collapse (read from the code)
#
# A learnable map on *both* sides of an L2 loss can cheat: map everything to one constant and the loss
# is 0. The implementation closes every such door:
#
# * **stop-gradient on the teacher path**: the teacher is frozen and `teacher.detach()` is applied
#   before the value projection, so no gradient reaches the teacher or its tokens;
# * **a fixed value path**: $P_t$ is a *frozen* random orthogonal matrix (a buffer, not a parameter)
#   and the attention has no value or output projection and no bias, so $\hat T$ is always a convex
#   combination of fixed teacher vectors. The target can move only by *choosing* other teacher
#   tokens (the gradient does flow through $A_h$ into $W_q$, $W_k$ and the student; the summary
#   itself is not detached inside this loss; only the copy handed to the relation term,
#   `t["aligned"]`, is);
# * **LayerNorm without learnable gain** on both sides: neither side can shrink to zero. With every
#   learnable weight at zero, $\operatorname{LN}(Q) = 0$ while $\operatorname{LN}(\hat T)$ has unit
#   second moment, so the loss is about 1, not 0 (checked below).

# %%
from ecgkd_lite.notebook import setup_notebook

ctx = setup_notebook(seed=0)
ctx

# %%
# NBVAL_CHECK_OUTPUT
import numpy as np
import torch
import matplotlib.pyplot as plt
from ecgkd_lite import experiment
from ecgkd_lite.distill import METHODS, build_term
from ecgkd_lite.explain.evl_views import evl_views, token_centres, token_grid, trained_distiller
from ecgkd_lite.plots import save_figure

prep = experiment.prepare("synthetic", profile=ctx.profile)
teacher = experiment.train_teacher(prep)
cache = experiment.teacher_cache(prep, teacher)
evl = experiment.train_student(prep, "evl_ecg", size="tiny", seed=0, teacher=teacher, cache=cache)
print(prep)
print("EVL-ECG recipe:", METHODS["evl_ecg"])

# %% [markdown]
# ## The trained alignment, rebuilt from the student's checkpoint
#
# The benchmark's EVL-ECG student (tiny CNN+Transformer on lead I, seed 0) was trained together with
# its MHCA module; the engine saved the module's weights with the run. `trained_distiller` rebuilds
# the Distiller the student was trained with and restores the student and the MHCA / OT heads from the
# *same* checkpoint file (`last.pt`: the heads are saved with the last epoch), so the maps below are
# the ones that epoch actually used. We feed the first 2.5 s (the training crop length) of four test
# records.

# %%
# NBVAL_CHECK_OUTPUT
import logging

logging.getLogger("ecgkd_lite.distill.evl.optimal_transport").setLevel(logging.ERROR)  # OT: notebook 10
distiller, epoch = trained_distiller(evl, teacher.model, "evl_ecg")
picks = ["NORM", "AFIB", "AMI", "LAFB"]
rows = [int(np.flatnonzero(prep.test.labels[:, prep.classes.index(c)] == 1)[0]) for c in picks]
crop = int(round(prep.profile.crop_seconds * prep.fs))
x = torch.from_numpy(prep.test.signals[rows, :, :crop])
views = evl_views(distiller, x)
n_s, n_t = views.student_tokens.shape[1], views.teacher_tokens.shape[1]
leads_t, times_t = token_grid(teacher.model, n_t)
print(f"heads and student restored from epoch {epoch} (best validation epoch: {evl.best_epoch})")
print(f"student tokens {tuple(views.student_tokens.shape)}  ({distiller.student.config['name']}, lead I)")
print(f"teacher tokens {tuple(views.teacher_tokens.shape)}  ({teacher.model.config['name']}, 12 leads)")
print(f"teacher token grid: {leads_t} lead row(s) x {times_t} time positions")
print(f"attention {tuple(views.attention.shape)} = (records, heads, student tokens, teacher tokens)")

# %% [markdown]
# The shapes are worth reading. Both models reduce the 2.5 s crop with stride-16 convolutions, so
# the default `resnet1d` teacher has as many time tokens as the student, only wider (128 vs 96
# channels) and from another architecture. Its tokens carry **no lead axis**: a convolution over the
# 12 input leads mixes them into every channel, so "which lead" has no token to point at. With the
# patch-Transformer teacher (`patch_transformer`, 12 leads x 10 patches = 120 lead-major tokens, the
# setting of the OT cost benchmark in notebook 10) `token_grid` returns `(12, 10)` and each
# attention row reshapes into a lead x time map.
#
# ## Sanity checks
#
# Every attention row is a probability distribution over the teacher tokens, and the anti-collapse
# argument above holds numerically: zero weights give a loss of about 1.

# %%
# NBVAL_CHECK_OUTPUT
row_sums = views.attention.sum(-1)
print("attention rows sum to 1:", bool(torch.allclose(row_sums, torch.ones_like(row_sums), atol=1e-5)))
print("attention entries in [0, 1]:", bool((views.attention >= 0).all() and (views.attention <= 1).all()))

toy = build_term("mhca", dim=8, heads=2)
toy.build({"tokens": torch.Size([6, 10])}, {"tokens": torch.Size([15, 12])})
with torch.no_grad():
    for p in toy.parameters():
        p.zero_()
s_toy = torch.randn(4, 6, 10, generator=torch.Generator().manual_seed(1))
t_toy = torch.randn(4, 15, 12, generator=torch.Generator().manual_seed(2))
print(f"loss with every learnable weight at 0: {toy({'tokens': s_toy}, {'tokens': t_toy}).item():.2f} (not 0)")

# %% [markdown]
# ## Which teacher tokens does each student token read?
#
# Heads averaged, one panel per record: row $n$ is student token $n$, column $j$ teacher token $j$,
# both placed at their centre time in the crop. A diagonal band would mean "read the teacher at the
# same moment"; a vertical stripe means every student token reads the same teacher token.

# %%
t_s = token_centres(n_s, crop, prep.fs).numpy()
t_t = token_centres(times_t, crop, prep.fs).numpy()
extent = [0, crop / prep.fs, crop / prep.fs, 0]
mean_attention = views.attention.mean(1)
fig, axes = plt.subplots(1, len(rows), figsize=(13, 3.6), sharey=True)
for ax, a, cls, r in zip(axes, mean_attention, picks, rows):
    grid = a.reshape(n_s, leads_t, times_t).mean(1)  # averaged over lead rows (one row for resnet1d)
    im = ax.imshow(grid, aspect="auto", cmap="magma", extent=extent, vmin=0)
    ax.set(title=f"{prep.test.record_ids[r]} ({cls})", xlabel="teacher token time (s)")
    ax.grid(False)
axes[0].set_ylabel("student token time (s)")
fig.colorbar(im, ax=axes, shrink=0.8, label="attention (heads averaged)")
fig.suptitle(f"Trained MHCA attention, {views.attention.shape[1]} heads averaged", y=1.03)
save_figure(fig, "09_attention_heads_averaged")
plt.show()

# %%
fig, axes = plt.subplots(1, views.attention.shape[1], figsize=(13, 3.4), sharey=True)
for h, ax in enumerate(axes):
    ax.imshow(views.attention[0, h].reshape(n_s, leads_t, times_t).mean(1), aspect="auto", cmap="magma",
              extent=extent, vmin=0)
    ax.set(title=f"head {h}", xlabel="teacher token time (s)")
    ax.grid(False)
axes[0].set_ylabel("student token time (s)")
fig.suptitle(f"Per head, record {prep.test.record_ids[rows[0]]} ({picks[0]})", y=1.03)
save_figure(fig, "09_attention_per_head")
plt.show()

# %% [markdown]
# Two numbers summarise the maps: how *peaked* each row is (entropy divided by $\log N_t$: 1 is
# uniform, 0 reads a single token) and where the rows point (the teacher token each student token
# reads most, and its distance in time from the student token).

# %%
# NBVAL_CHECK_OUTPUT
a = views.attention.double()
entropy = -(a * a.clamp_min(1e-12).log()).sum(-1) / np.log(n_t)  # (records, heads, N_s)
top = mean_attention.reshape(len(rows), n_s, leads_t, times_t).sum(2).argmax(-1)  # time position read most
lag = np.abs(t_t[top.numpy()] - t_s[None, :])
print("normalised row entropy per head (mean over records and student tokens):",
      np.round(entropy.mean((0, 2)).numpy(), 2))
print("distinct teacher time positions read most, per record:", [len(set(r.tolist())) for r in top])
print(f"mean |time(student token) - time(teacher token read most)|: {lag.mean():.2f} s")
print(f"MHCA loss on these records: {views.losses['mhca']:.3f}")

# %% [markdown]
# ## What the maps say
#
# The maps show what the alignment *learned to read*, which is not necessarily what a cardiologist
# would read. A diagonal band means the student imitates the teacher at the same moment (time-aligned
# transfer); stripes mean the student is matched to a few fixed teacher tokens, which carries little
# record-specific information and, under a large weight, pulls every student token toward the same
# target.
#
# **Reading the maps.** Even with the tuned recipe (MHCA weight 0.25 inside alpha = 0.1), the trained
# alignment has largely collapsed: within a record the student tokens read the same one or two
# teacher time positions (the "distinct positions read most" line above), which sit about a second
# away from the student token's own time on average, so the maps are vertical stripes, not a
# time-aligned diagonal. The anti-collapse measures above stop the *loss* from reaching 0 by
# shrinking, but not this: the student can lower the loss by making its queries similar enough to
# attend to one summary vector, and nothing rewards a diagonal. With the paper-like weights (alpha 0.5,
# unit weights) the same pull, shared with the relation term that compares against this summary,
# cost the student about 0.2 validation AUC (notebook 11's grid); at the chosen small weight it costs
# nothing measurable, and it gains nothing either (notebook 11's ablation).
#
# Notebook 10 adds the optimal-transport term, which has no such freedom: its plan must spend every
# student token's mass *and* cover every teacher token.
