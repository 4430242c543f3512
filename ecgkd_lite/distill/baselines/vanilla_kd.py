"""Vanilla logit distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network", arXiv:1503.02531), adapted to multi-label sigmoid outputs."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..base import KDTerm, check_positive, register_term


def binary_kl_from_logits(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(Bern(sigmoid(t)) || Bern(sigmoid(s))), computed with log-sigmoids (stable)."""
    log_p, log_1mp = F.logsigmoid(student_logits), F.logsigmoid(-student_logits)
    log_q, log_1mq = F.logsigmoid(teacher_logits), F.logsigmoid(-teacher_logits)
    return log_q.exp() * (log_q - log_p) + log_1mq.exp() * (log_1mq - log_1mp)


@register_term("vanilla_kd")
class VanillaKD(KDTerm):
    """Soft-target KD with per-class binary distributions.

    With student/teacher logits ``z_s, z_t`` (B, C) and temperature ``T``::

        q = sigmoid(z_t / T),  p = sigmoid(z_s / T)
        L = T^2 * mean_{b,c} KL(Bern(q_bc) || Bern(p_bc))

    Multi-label adaptation: each class is an independent sigmoid, so the softmax KL of the paper
    becomes a per-class binary KL. It equals ``BCE(p, q) - H(q)``: the same gradient as soft-target
    BCE, but 0 when the student matches the teacher. ``T^2`` keeps the gradient scale comparable
    across temperatures, as in the paper.

    Hyperparameters: ``temperature`` (default 4.0, > 0). Label-free.
    """

    def __init__(self, temperature: float = 4.0):
        super().__init__()
        self.temperature = check_positive("vanilla_kd temperature", temperature)

    def forward(self, s, t, batch=None):
        temp = self.temperature
        return temp**2 * binary_kl_from_logits(s["logits"] / temp, t["logits"] / temp).mean()
