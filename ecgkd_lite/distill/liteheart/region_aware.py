"""LiteHeart region-aware feature distillation, weighted over time by the teacher's importance map."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...errors import ModelError
from ..base import KDTerm, check_non_negative, register_term
from ..baselines.adapters import align_time, conv_regressor, require_rank
from .importance import check_floor, importance_from_features


@register_term("region_aware")
class RegionAwareKD(KDTerm):
    """Region-aware KD (LiteHeart, arXiv 2511.02851; the paper's code is unpublished, choices stated).

    Student temporal features ``F_s`` (B, C_s, T_s), teacher temporal features ``F_t`` (B, C_t, T_f)
    and the teacher importance map ``w`` (B, T_f) (``importance.teacher_importance``: Grad-CAM of the
    record's positive classes, floored at 0.1, optionally gated by wave regions)::

        phi(F_s) = interp_T_f(Conv1x1(F_s))                                  (B, C_t, T_f)
        L_feat   = mean_b  sum_t w_bt mean_k (phi(F_s)_bkt - F_t,bkt)^2 / sum_t w_bt

    Optional saliency component (``saliency_weight`` lambda_s, default 0 = off): the student's
    temporal saliency, its normalised activation energy ``q_t = e_t / sum_t e_t`` with
    ``e_t = mean_k F_s,kt^2`` interpolated to T_f, is pulled toward the teacher map taken as a
    distribution ``p = w / sum_t w`` by ``KL(p || q)``; the term then returns
    ``{"feature": L_feat, "saliency": lambda_s * KL}`` (summed by the distiller).

    ``uniform=True`` is the ablation: the same feature KD with ``w = 1`` (no importance map needed).

    Wiring (``needs_teacher_grad = True``): the map is ``t["importance"]`` when the caller put it
    there (``teacher_importance(teacher, x, ...)``); otherwise the term computes it from the
    teacher features it receives, which the Distiller runs under ``enable_grad`` for this term
    (``t["temporal"]`` then carries the graph to ``t["logits"]``)::

        importance_from_features(t["temporal"], t["logits"], batch["y"], batch["labeled"],
                                 gate=batch[gate_key] if gate_key else None, floor=floor)

    (labels on labeled records, the teacher's own predicted positives elsewhere: label-free).
    Hyperparameters: ``floor`` 0.1, ``gate_key`` None (batch key of a (B, T) wave-region mask),
    ``uniform`` False, ``saliency_weight`` 0. Side output: ``last_importance`` (B, T_f), the
    detached weights of the last forward (for plots).
    """

    student_features = ("temporal",)
    teacher_features = ("temporal",)
    needs_teacher_grad = True
    label_free = True

    def __init__(
        self, uniform: bool = False, saliency_weight: float = 0.0, floor: float = 0.1, gate_key: str | None = None
    ):
        super().__init__()
        self.uniform = bool(uniform)
        self.floor = check_floor(floor)
        self.gate_key = gate_key
        self.saliency_weight = check_non_negative("region_aware saliency_weight", saliency_weight)
        if self.uniform:
            self.needs_teacher_grad = False
        self.regressor = None
        self.last_importance: torch.Tensor | None = None

    def build(self, student_shapes, teacher_shapes):
        require_rank(self.name, "student", "temporal", student_shapes["temporal"], 2, "(C, T)")
        require_rank(self.name, "teacher", "temporal", teacher_shapes["temporal"], 2, "(C, T)")
        self.regressor = conv_regressor(student_shapes["temporal"][0], teacher_shapes["temporal"][0])

    def importance(self, t: dict, batch: dict | None, batch_size: int, length: int) -> torch.Tensor:
        """The (B, T_f) weights: ones when ``uniform``, else ``t["importance"]`` or Grad-CAM of ``t``."""
        teacher = t["temporal"]
        if self.uniform:
            return teacher.new_ones(batch_size, length)
        if "importance" in t:
            weights = t["importance"]
        elif teacher.requires_grad and t["logits"].requires_grad:
            batch = batch or {}
            gate = batch[self.gate_key] if self.gate_key else None
            weights = importance_from_features(
                teacher, t["logits"], batch.get("y"), batch.get("labeled"), gate, self.floor
            )
        else:
            raise ModelError(
                "term 'region_aware' needs t['importance'] (B, T_f) or teacher features with a graph "
                "(needs_teacher_grad): compute it with ecgkd_lite.distill.liteheart."
                "teacher_importance(teacher, x, ...) or use uniform=True"
            )
        if tuple(weights.shape) != (batch_size, length):
            raise ModelError(
                f"term 'region_aware': t['importance'] has shape {tuple(weights.shape)}; the teacher "
                f"temporal map needs ({batch_size}, {length})"
            )
        return weights.detach()

    def forward(self, s, t, batch=None):
        if self.regressor is None:
            raise ModelError("term 'region_aware' is not built; call build(student_shapes, teacher_shapes) first")
        teacher = t["temporal"].detach()
        b, _, length = teacher.shape
        weights = self.importance(t, batch, b, length)
        self.last_importance = weights
        projected = align_time(self.regressor(s["temporal"]), length)
        per_step = (projected - teacher).pow(2).mean(1)
        feature = ((weights * per_step).sum(1) / weights.sum(1)).mean()
        if self.saliency_weight == 0.0:
            return feature
        energy = align_time(s["temporal"].pow(2).mean(1), length)
        student_dist = energy / energy.sum(1, keepdim=True).clamp_min(1e-12)
        teacher_dist = weights / weights.sum(1, keepdim=True)
        saliency = F.kl_div(student_dist.clamp_min(1e-12).log(), teacher_dist, reduction="batchmean")
        return {"feature": feature, "saliency": self.saliency_weight * saliency}
