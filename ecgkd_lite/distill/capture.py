"""Run a model once and return its logits plus the named features a distillation term reads.

The one place where the distillation code talks to ``ecgkd_lite.models.FeatureCapture``; the
import is lazy so ``ecgkd_lite.distill`` imports before the models package exists.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import nn

from ..errors import ModelError


def model_name(model: nn.Module) -> str:
    """A readable model name for error messages (``model.name`` when set, else the class name)."""
    return str(getattr(model, "name", None) or type(model).__name__)


def check_features(model: nn.Module, names: Iterable[str], *, term: str, role: str) -> None:
    """Raise ModelError when ``model`` has no hook for a feature the term ``term`` needs.

    ``role`` is ``"student"`` or ``"teacher"``; ``"logits"`` (the model output) always exists.
    """
    layers = getattr(model, "feature_layers", None) or {}
    for name in names:
        if name != "logits" and name not in layers:
            raise ModelError(
                f"term {term!r} needs {role} feature {name!r} but {model_name(model)} has "
                f"feature_layers {sorted(layers)}"
            )


def forward_features(
    model: nn.Module, x: torch.Tensor, names: Iterable[str], *, detach: bool = False
) -> dict[str, torch.Tensor]:
    """``{"logits": model(x), name: hooked output, ...}`` for every requested feature name."""
    hooked = sorted({n for n in names if n != "logits"})
    if not hooked:
        return {"logits": model(x)}
    from ..models import FeatureCapture  # lazy: models may be imported after distill

    with FeatureCapture(model, hooked, detach=detach) as capture:
        logits = model(x)
    features = {name: capture.features[name] for name in hooked}
    features["logits"] = logits.detach() if detach else logits
    return features
