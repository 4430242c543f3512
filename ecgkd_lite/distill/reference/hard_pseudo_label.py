"""The teacher's hard pseudo-labels alone: a reference row of the semi-supervised tables."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ...errors import ConfigError
from ..base import KDTerm, TermOutput, register_term


@register_term("hard_pseudo_label")
class HardPseudoLabel(KDTerm):
    """BCE of the student on the 12-lead teacher's hard pseudo-labels of the **unlabeled** records.

    With ``p = sigmoid(teacher logits)`` and U the unlabeled records of the batch::

        y_hat = 1[p > threshold],   L = 1/(|U| C) sum_{i in U} sum_c BCE(z_ic, y_hat_ic)

    No soft targets, no confidence mask (every class entry counts), ``threshold`` 0.5 by default;
    zero when the batch has no unlabeled record. The labeled records get the Distiller's BCE on
    their labels. Label-free: it reads ``batch["labeled"]``, never ``batch["y"]``. Diagnostic:
    ``positive_fraction`` (mean of ``y_hat`` over U).
    """

    def __init__(self, threshold: float = 0.5):
        super().__init__()
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
            raise ConfigError(f"hard_pseudo_label threshold must lie in (0, 1); got {threshold!r}")
        self.threshold = float(threshold)

    def forward(self, s, t, batch=None):
        if batch is None or "labeled" not in batch:
            raise ConfigError("term 'hard_pseudo_label' needs batch['labeled'] (B,) bool")
        unlabeled = ~torch.as_tensor(batch["labeled"], dtype=torch.bool, device=s["logits"].device)
        if not bool(unlabeled.any()):
            zero = s["logits"].sum() * 0.0
            return TermOutput({"bce": zero}, diagnostics={"positive_fraction": zero.detach()})
        targets = (torch.sigmoid(t["logits"].detach()[unlabeled].float()) > self.threshold).float()
        loss = F.binary_cross_entropy_with_logits(s["logits"][unlabeled].float(), targets)
        return TermOutput({"bce": loss}, diagnostics={"positive_fraction": targets.mean().detach()})
