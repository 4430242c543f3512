"""Training objectives: modules whose ``forward(batch)`` returns named scalar losses incl. ``"total"``.

``fit`` optimises ``objective(batch)["total"]``; every other entry is logged per epoch as
``train_<name>``. Distillers are objectives too (they hold the student and may own extra heads).
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn


def select_leads(x: torch.Tensor, lead_idx: Sequence[int] | None) -> torch.Tensor:
    """``x[:, lead_idx]`` of a ``(B, L, T)`` batch (all leads when ``lead_idx`` is None)."""
    return x if lead_idx is None else x[:, list(lead_idx)]


def masked_bce_with_logits(logits: torch.Tensor, y: torch.Tensor, labeled: torch.Tensor | None) -> torch.Tensor:
    """Mean multi-label BCE-with-logits over the labeled records of the batch::

        L = -1/(|B_l| C) sum_{i in B_l} sum_c [y_ic log s(z_ic) + (1 - y_ic) log(1 - s(z_ic))]

    ``0 * logits.sum()`` (zero, still attached to the graph) when no record is labeled.
    """
    if labeled is not None:
        logits, y = logits[labeled], y[labeled]
    if logits.shape[0] == 0:
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits.float(), y.float())


class SupervisedObjective(nn.Module):
    """Plain supervised training: BCE-with-logits of ``model(x[:, lead_idx])`` on labeled records.

    Returns ``{"bce": L, "total": L}``.
    """

    def __init__(self, model: nn.Module, lead_idx: Sequence[int] | None = None):
        super().__init__()
        self.model = model
        self.lead_idx = None if lead_idx is None else list(lead_idx)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        logits = self.model(select_leads(batch["x"], self.lead_idx))
        loss = masked_bce_with_logits(logits, batch["y"], batch.get("labeled"))
        return {"bce": loss, "total": loss}
