"""EVL-ECG multi-head cross-attention (MHCA) alignment of heterogeneous token sets."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ModelError
from ..base import KDTerm, TermOutput, check_non_negative, check_positive, register_term
from .guards import fixed_projection, variance_hinge
from .tokens import require_tokens


class CrossAttention(nn.Module):
    """Multi-head cross-attention whose value path is the identity.

    Per head ``h`` (``d_h = d / heads``), with learnable ``W_q``, ``W_k`` (no bias)::

        A_h = softmax((X_q W_q)_h (X_kv W_k)_h^T / sqrt(d_h))      (B, N_q, N_kv)
        out = concat_h(A_h (X_kv)_h)                               (B, N_q, d)

    i.e. ``nn.MultiheadAttention`` with its value and output projections fixed to the identity and
    no biases (a test checks the equivalence). Fixing the value path is what keeps the attended
    teacher summary from collapsing: it is always a convex combination of the teacher tokens.
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.query = nn.Linear(dim, dim, bias=False)
        self.key = nn.Linear(dim, dim, bias=False)

    def forward(self, queries: torch.Tensor, keys_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(summary (B, N_q, d), attention (B, heads, N_q, N_kv))``."""
        b, n_q, d = queries.shape
        d_h = d // self.heads

        def split(x: torch.Tensor) -> torch.Tensor:  # (B, N, d) -> (B, heads, N, d_h)
            return x.view(b, x.shape[1], self.heads, d_h).transpose(1, 2)

        q, k, v = split(self.query(queries)), split(self.key(keys_values)), split(keys_values)
        attention = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d_h), dim=-1)
        summary = (attention @ v).transpose(1, 2).reshape(b, n_q, d)
        return summary, attention


@register_term("mhca")
class MHCAAlignment(KDTerm):
    """MHCA alignment (EVL-ECG, arXiv 2605.29977), ported from image patches to ECG signal tokens.

    Student tokens ``S`` (B, N_s, D_s) and teacher tokens ``T`` (B, N_t, D_t), N_s != N_t allowed::

        q       = S W_s + b_s                       learnable student projection to d
        v       = stopgrad(T) P_t                   FIXED teacher projection to d (``fixed_projection``)
        summary = MHCA(queries=q, keys=values=v)    (B, N_s, d): the teacher aligned to the student
        align   = mean_{b,n,k} (LN(q) - LN(summary))^2      (LN without affine parameters)
        std_bk  = sqrt(Var_n LN(q)_bnk + 1e-4)              per record b and dimension k
        variance = w_v * mean_{b,k} max(0, gamma - std_bk)  token-variance guard (``variance_hinge``)
        L       = align + variance

    Anti-collapse design (stated, tested): the teacher path is detached; the teacher value
    projection ``P_t`` is a frozen buffer (the identity when ``D_t == d``, else a random orthogonal
    matrix from a fixed seed) and the attention has no value/output projection or bias, so the
    summary is a convex combination of fixed teacher vectors; LayerNorm has no learnable gain. With
    every learnable projection at zero, ``LN(q) = 0`` and the summary is the mean teacher token, so
    ``align ~ 1``, not 0. What that leaves open, a student projection ``q = b_s`` that is the same for
    every token (the attention rows are then identical, so is the summary, and ``align`` can reach
    0), the variance guard closes: a VICReg hinge on the per-dimension spread of ``LN(q)`` over the
    tokens of each record. It is computed on ``LN(q)``, what ``align`` compares, so it is scale-free
    and cannot be met by inflating ``W_s`` (which would only sharpen the attention).

    Hyperparameters: ``dim`` d = 64, ``heads`` = 4, ``feature`` = ``"tokens"``, ``variance_gamma``
    = 0.1 and ``variance_weight`` w_v = 1. Gamma, stated: the within-record per-dimension std of
    ``LN(q)`` (random ``W_s``) is ~0.3 for the trained tiny students, so the hinge is 0 in healthy
    training and turns on only as the tokens of a record approach one vector; it is bounded by
    gamma, so at weight 1 (VICReg weighs its variance and invariance terms equally) it adds at
    most 0.1 to an ``align`` that is ~1 at initialisation.
    Returns named parts ``{"align", "variance"}`` (summed) and the diagnostic ``token_std`` (mean
    ``std_bk``). Side outputs: ``last_attention`` (B, heads, N_s, N_t), detached, from the last
    forward; and the value ``"aligned"`` = ``summary.detach()`` it **provides** (the attention
    views, ``ecgkd_lite.explain.evl_views``, read it; the ``relation`` term no longer does: its
    target comes from the teacher's own tokens).
    """

    provides = ("aligned",)

    def __init__(
        self,
        dim: int = 64,
        heads: int = 4,
        feature: str = "tokens",
        variance_gamma: float = 0.1,
        variance_weight: float = 1.0,
    ):
        super().__init__()
        self.variance_gamma = check_non_negative("mhca variance_gamma", variance_gamma)
        self.variance_weight = check_non_negative("mhca variance_weight", variance_weight)
        self.dim = int(check_positive("mhca dim", dim))
        self.heads = int(check_positive("mhca heads", heads))
        if self.dim % self.heads:
            raise ConfigError(f"mhca dim ({self.dim}) must be divisible by heads ({self.heads})")
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)
        self.student_proj: nn.Linear | None = None
        self.attention: CrossAttention | None = None
        self.last_attention: torch.Tensor | None = None

    def build(self, student_shapes, teacher_shapes):
        d_s, d_t = student_shapes[self.feature][-1], teacher_shapes[self.feature][-1]
        self.student_proj = nn.Linear(d_s, self.dim)
        self.register_buffer("teacher_value", fixed_projection(self.dim, d_t))
        self.attention = CrossAttention(self.dim, self.heads)

    def forward(self, s, t, batch=None):
        if self.student_proj is None:
            raise ModelError("term 'mhca' is not built; call build(student_shapes, teacher_shapes) first")
        student = require_tokens(self.name, "student", self.feature, s[self.feature], self.student_proj.in_features)
        teacher = require_tokens(self.name, "teacher", self.feature, t[self.feature], self.teacher_value.shape[1])
        q = self.student_proj(student)
        values = teacher.detach() @ self.teacher_value.t()
        summary, attention = self.attention(q, values)
        self.last_attention = attention.detach()
        normed = F.layer_norm(q, (self.dim,))
        align = F.mse_loss(normed, F.layer_norm(summary, (self.dim,)))
        variance, std = variance_hinge(normed, self.variance_gamma)
        return TermOutput(
            {"align": align, "variance": self.variance_weight * variance},
            diagnostics={"token_std": std.mean().detach()},
            provides={"aligned": summary.detach()},
        )
