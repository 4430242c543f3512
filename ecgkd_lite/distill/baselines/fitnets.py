"""FitNets hint learning (Romero et al. 2015, "FitNets: Hints for Thin Deep Nets", ICLR,
arXiv:1412.6550), on 1-D temporal feature maps."""

from __future__ import annotations

import torch.nn.functional as F

from ..base import KDTerm, register_term
from .adapters import align_time, conv_regressor, require_rank


@register_term("fitnets")
class FitNets(KDTerm):
    """Hint loss between a regressed student feature map and the teacher's.

    With student map ``F_s`` (B, C_s, T_s), teacher map ``F_t`` (B, C_t, T_t), a learned 1x1
    convolution ``r`` (C_s -> C_t) and linear interpolation ``I`` in time to ``T_t``::

        L = mean_{b,c,t} ( I(r(F_s)) - F_t )^2

    Hyperparameters: ``feature`` (default ``"temporal"``; any ``(C, T)`` map both models expose,
    e.g. ``"stage2"``). The regressor is built from the feature shapes and trained with the
    student. Label-free. The paper's two-stage schedule (hint pre-training, then KD) is replaced
    by a joint weighted sum, which is the common modern usage.
    """

    def __init__(self, feature: str = "temporal"):
        super().__init__()
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)
        self.regressor = None

    def build(self, student_shapes, teacher_shapes):
        for role, shapes in (("student", student_shapes), ("teacher", teacher_shapes)):
            require_rank(self.name, role, self.feature, shapes[self.feature], 2, "(C, T)")
        self.regressor = conv_regressor(student_shapes[self.feature][0], teacher_shapes[self.feature][0])

    def forward(self, s, t, batch=None):
        target = t[self.feature]
        hint = align_time(self.regressor(s[self.feature]), target.shape[-1])
        return F.mse_loss(hint, target)
