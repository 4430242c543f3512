"""Relational knowledge distillation (Park, Kim, Lu & Cho 2019, "Relational Knowledge
Distillation", CVPR, arXiv:1904.05068) on penultimate embeddings."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import KDTerm, check_non_negative, register_term
from .adapters import require_rank


def pairwise_distances(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Euclidean distances ``||x_i - x_j||`` of a (B, D) batch, shape (B, B)."""
    diff = x.unsqueeze(1) - x.unsqueeze(0)
    return diff.pow(2).sum(-1).clamp_min(eps).sqrt()


def triplet_angles(x: torch.Tensor) -> torch.Tensor:
    """``cos angle(x_i, x_j, x_k) = <e_ij, e_kj>`` with ``e_ij = normalize(x_i - x_j)``, shape (B, B, B)
    indexed ``[j, i, k]``."""
    e = F.normalize(x.unsqueeze(0) - x.unsqueeze(1), dim=2)  # e[j, i] = normalize(x_i - x_j)
    return torch.bmm(e, e.transpose(1, 2))


@register_term("rkd")
class RKD(KDTerm):
    """Distance-wise and angle-wise relational KD.

    On student/teacher embeddings ``s_i``, ``t_i`` (B, D_s) and (B, D_t) (widths may differ;
    only relations are compared) with Huber loss ``l_delta`` (delta = 1)::

        psi_D(x_i, x_j) = ||x_i - x_j|| / mu,   mu = mean_{i != j} ||x_i - x_j||
        L_D = mean_{i != j} l_delta( psi_D(s_i, s_j), psi_D(t_i, t_j) )
        psi_A(x_i, x_j, x_k) = < normalize(x_i - x_j), normalize(x_k - x_j) >
        L_A = mean_{i, j, k distinct} l_delta( psi_A(s), psi_A(t) )
        L = w_D L_D + w_A L_A

    Hyperparameters: ``distance_weight`` w_D = 25 and ``angle_weight`` w_A = 50 (the paper's
    values), ``feature`` (default ``"penultimate"``). Returns ``{"distance": w_D L_D,
    "angle": w_A L_A}``. A batch of fewer than 2 (distance) or 3 (angle) records gives 0.
    Label-free.
    """

    def __init__(self, distance_weight: float = 25.0, angle_weight: float = 50.0, feature: str = "penultimate"):
        super().__init__()
        self.distance_weight = check_non_negative("rkd distance_weight", distance_weight)
        self.angle_weight = check_non_negative("rkd angle_weight", angle_weight)
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)

    def build(self, student_shapes, teacher_shapes):
        require_rank(self.name, "student", self.feature, student_shapes[self.feature], 1, "(D,)")
        require_rank(self.name, "teacher", self.feature, teacher_shapes[self.feature], 1, "(D,)")

    def forward(self, s, t, batch=None):
        x_s, x_t = s[self.feature].flatten(1), t[self.feature].flatten(1)
        n = x_s.shape[0]
        eye = torch.eye(n, dtype=torch.bool, device=x_s.device)
        off_diagonal = ~eye
        zero = x_s.sum() * 0.0
        distance = angle = zero
        if n >= 2:
            d_s, d_t = pairwise_distances(x_s)[off_diagonal], pairwise_distances(x_t)[off_diagonal]
            distance = F.smooth_l1_loss(d_s / d_s.mean(), d_t / d_t.mean())
        if n >= 3:
            # the mean over distinct triples as a masked sum: selecting the n(n-1)(n-2) entries with a
            # boolean index costs a scatter in the backward pass that is three times the whole term
            distinct = off_diagonal.unsqueeze(2) & off_diagonal.unsqueeze(1) & off_diagonal.unsqueeze(0)
            per_triple = F.smooth_l1_loss(triplet_angles(x_s), triplet_angles(x_t), reduction="none")
            angle = per_triple.masked_fill(~distinct, 0.0).sum() / (n * (n - 1) * (n - 2))
        return {"distance": self.distance_weight * distance, "angle": self.angle_weight * angle}
