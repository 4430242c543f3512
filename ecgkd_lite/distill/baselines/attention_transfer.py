"""Attention transfer (Zagoruyko & Komodakis 2017, "Paying More Attention to Attention", ICLR,
arXiv:1612.03928), with 1-D temporal attention maps."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...errors import ConfigError
from ..base import KDTerm, check_positive, register_term
from .adapters import align_time, check_non_empty, require_rank


def temporal_attention(feature: torch.Tensor, p: float, length: int) -> torch.Tensor:
    """``a = mean_c |F|^p`` over channels of a (B, C, T) map, resampled to ``length``, L2-normalised."""
    attention = feature.abs().pow(p).mean(dim=1)
    return F.normalize(align_time(attention, length), dim=1)


@register_term("attention_transfer")
class AttentionTransfer(KDTerm):
    """Match normalised temporal attention maps of matched stage pairs.

    For each feature name ``j`` (same name on both models) with maps ``F_s^j``, ``F_t^j``::

        a^j = normalize_2( interp_{T_t}( mean_c |F^j|^p ) )        (B, T_t)
        L = mean_j mean_b || a_s^j - a_t^j ||_2^2

    The student's attention is interpolated to the teacher's time length before normalising.
    Hyperparameters: ``features`` (default ``("temporal",)``), ``p`` (default 2, as in the paper).
    Every listed feature must be a (C, T) map on both models. ``"temporal"`` is one on every model
    of ``ecgkd_lite.models``; the ``"stageN"`` names are not comparable across architectures (the
    patch Transformer's stages and the CNN-Transformer's ``stage3`` are (N, D) token sets, which have
    the same rank and so cannot be rejected by shape), so add stage pairs such as ``"stage2"`` only
    for CNN-to-CNN pairs. Each ||.||^2 lies in [0, 4], so the term is bounded. Label-free.
    """

    def __init__(self, features: tuple[str, ...] = ("temporal",), p: float = 2.0):
        super().__init__()
        self.features = check_non_empty("attention_transfer features", tuple(features))
        if len(set(self.features)) != len(self.features):
            raise ConfigError(f"attention_transfer features name a feature twice: {self.features}")
        self.p = check_positive("attention_transfer p", p)
        self.student_features = self.features
        self.teacher_features = self.features

    def build(self, student_shapes, teacher_shapes):
        for name in self.features:
            require_rank(self.name, "student", name, student_shapes[name], 2, "(C, T)")
            require_rank(self.name, "teacher", name, teacher_shapes[name], 2, "(C, T)")

    def forward(self, s, t, batch=None):
        losses = []
        for name in self.features:
            length = t[name].shape[-1]
            a_s = temporal_attention(s[name], self.p, length)
            a_t = temporal_attention(t[name], self.p, length)
            losses.append((a_s - a_t).pow(2).sum(dim=1).mean())
        return torch.stack(losses).mean()
