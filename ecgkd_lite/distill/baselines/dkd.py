"""Decoupled knowledge distillation (Zhao, Cui, Song, Qiu & Liang 2022, "Decoupled Knowledge
Distillation", CVPR, arXiv:2203.08679), adapted to multi-label targets."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import KDTerm, check_non_negative, check_positive, register_term

_MASKED = -1e9  # a finite "minus infinity": masked classes get probability exactly 0, never NaN


def _kl(log_q: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    """Row-wise KL(q || p) from log-probabilities over the last axis."""
    return (log_q.exp() * (log_q - log_p)).sum(-1)


def _target_split(log_probs: torch.Tensor, positive: torch.Tensor) -> torch.Tensor:
    """Log of the binary distribution [mass on the positive classes, mass on the others], (B, 2)."""
    return torch.stack(
        [
            log_probs.masked_fill(~positive, _MASKED).logsumexp(-1),
            log_probs.masked_fill(positive, _MASKED).logsumexp(-1),
        ],
        dim=-1,
    )


@register_term("dkd")
class DKD(KDTerm):
    """DKD with a *set* of target classes per record.

    The paper splits softmax KD into target-class KD (TCKD, binary: target vs the rest) and
    non-target-class KD (NCKD, the distribution among the non-target classes) and re-weights them.
    Multi-label adaptation (stated): the target of a record is the set ``P`` of its positive
    classes and ``N`` the rest. With class distributions ``q = softmax(z_t / T)``,
    ``p = softmax(z_s / T)`` over the C classes::

        b(x)  = [ sum_{c in P} x_c , sum_{c in N} x_c ]               (binary target mass)
        x^N   = softmax over the classes in N only of z / T             (negatives among themselves)
        TCKD  = KL(b(q) || b(p)),   NCKD = KL(q^N || p^N)
        L     = T^2 * mean_b ( alpha * TCKD + beta * NCKD )

    With exactly one positive class this is the paper's DKD. A record with no positive class has
    TCKD = 0 and NCKD = softmax KD over all classes; a record whose classes are all positive has
    NCKD = 0. Uses the ground-truth labels ``batch["y"]``, so it is not label-free.

    Hyperparameters: ``alpha`` = 1, ``beta`` = 8, ``temperature`` T = 4 (paper defaults).
    Returns ``{"tckd": T^2 alpha TCKD, "nckd": T^2 beta NCKD}``.
    """

    label_free = False

    def __init__(self, alpha: float = 1.0, beta: float = 8.0, temperature: float = 4.0):
        super().__init__()
        self.alpha = check_non_negative("dkd alpha", alpha)
        self.beta = check_non_negative("dkd beta", beta)
        self.temperature = check_positive("dkd temperature", temperature)

    def forward(self, s, t, batch=None):
        temp = self.temperature
        z_s, z_t = s["logits"] / temp, t["logits"] / temp
        positive = batch["y"].to(z_s.device) > 0.5
        tckd = _kl(_target_split(F.log_softmax(z_t, -1), positive), _target_split(F.log_softmax(z_s, -1), positive))
        nckd = _kl(
            F.log_softmax(z_t.masked_fill(positive, _MASKED), -1), F.log_softmax(z_s.masked_fill(positive, _MASKED), -1)
        )
        scale = temp**2
        return {"tckd": scale * self.alpha * tckd.mean(), "nckd": scale * self.beta * nckd.mean()}
