"""Training objectives: the contract between ``fit`` and what it optimises.

An objective is an ``nn.Module`` that satisfies the ``ObjectiveProtocol``:

* ``forward(batch) -> {name: scalar}`` with ``"total"``: ``fit`` optimises ``total``; every other
  entry is logged per epoch as ``train_<name>``;
* ``is_setup`` / ``setup(batch)``: an objective that builds parts from feature shapes (a
  Distiller's projection heads) is set up by ``fit`` on the first batch, before the optimizer;
* ``monitors`` / ``validation_metrics(model, val)``: the metrics ``fit`` may monitor and how to
  compute them; ``None`` means the classifier's (``val_macro_auc``, ``val_map`` from ``predict``).

``Objective`` is the base class with those defaults; ``fit`` checks the contract before training
(``check_objective``) and names what is missing. Distillers satisfy it structurally (they live in a
lower layer and do not subclass ``Objective``).
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ConfigError

#: the members ``fit`` uses, besides ``forward``
CONTRACT = ("is_setup", "setup", "monitors", "validation_metrics")


@runtime_checkable
class ObjectiveProtocol(Protocol):
    """What ``fit`` needs of an objective (see the module docstring)."""

    is_setup: bool
    monitors: tuple[str, ...] | None

    def setup(self, batch: dict) -> Any: ...

    def validation_metrics(self, model: nn.Module, val) -> dict[str, float] | None: ...

    def __call__(self, batch: dict) -> dict[str, torch.Tensor]: ...


class Objective(nn.Module):
    """Base class of training objectives: nothing to set up, the classifier's validation metrics."""

    is_setup: bool = True
    monitors: tuple[str, ...] | None = None

    def setup(self, batch: dict) -> "Objective":
        return self

    def validation_metrics(self, model: nn.Module, val) -> dict[str, float] | None:
        return None


def check_objective(objective: Any) -> None:
    """ConfigError naming what ``objective`` lacks of the ``ObjectiveProtocol``."""
    if not isinstance(objective, nn.Module):
        raise ConfigError(f"objective must be an nn.Module; got {type(objective).__name__}")
    missing = [name for name in CONTRACT if not hasattr(objective, name)]
    if missing:
        raise ConfigError(
            f"objective {type(objective).__name__} lacks {missing} of the objective contract; "
            "subclass ecgkd_lite.train.Objective (which gives the defaults) or define them"
        )
    if not (objective.monitors is None or (isinstance(objective.monitors, tuple) and objective.monitors)):
        raise ConfigError(
            f"objective {type(objective).__name__}: monitors must be None or a non-empty tuple of "
            f"metric names; got {objective.monitors!r}"
        )


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


class SupervisedObjective(Objective):
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
