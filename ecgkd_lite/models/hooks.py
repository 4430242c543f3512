"""Capture intermediate features with forward hooks, by semantic or module name (never by editing ``forward``).

Usage::

    with FeatureCapture(model, ["temporal", "penultimate", "logits"]) as cap:
        logits = model(x)
    cap.features["temporal"]      # (B, C_f, T_f), exactly the tensor the model computed

Semantic names come from ``model.feature_layers``; ``"logits"`` is the output of the model itself
(the root module); any other name is looked up in ``model.named_modules()``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from ..errors import ModelError

LOGITS = "logits"


def resolve_feature_modules(model: nn.Module, names: Iterable[str]) -> dict[str, str]:
    """Map each requested name to a module name; unknown names raise ModelError listing the available ones."""
    semantic = {**getattr(model, "feature_layers", {}), LOGITS: ""}
    modules = dict(model.named_modules())
    resolved, unknown = {}, []
    for name in names:
        module_name = semantic.get(name, name)
        if module_name in modules:
            resolved[name] = module_name
        else:
            unknown.append(name)
    if unknown:
        model_name = getattr(model, "name", type(model).__name__)
        raise ModelError(
            f"model {model_name!r} has no feature layer {unknown}; semantic names: {sorted(semantic)}; "
            f"module names: {[m for m in modules if m]}"
        )
    return resolved


class FeatureCapture:
    """Context manager registering forward hooks; ``features[name]`` holds the module output of the last forward.

    Args:
        model: the model to observe.
        names: semantic names (``model.feature_layers`` keys or ``"logits"``) or raw module names.
        detach: store ``output.detach()`` (no graph kept) instead of the output itself.

    Hooks are registered on entering (or by ``register()``) and removed on exit (or by ``remove()``).
    Several names mapped to one module share one hook.
    """

    def __init__(self, model: nn.Module, names: Iterable[str], detach: bool = False):
        if isinstance(names, str):
            names = [names]
        self.model = model
        self.detach = detach
        self.module_names = resolve_feature_modules(model, names)
        self.features: dict[str, Any] = {}
        self._handles: list[torch.utils.hooks.RemovableHandle] = []

    def register(self) -> "FeatureCapture":
        """Register the hooks (idempotent)."""
        if self._handles:
            return self
        modules = dict(self.model.named_modules())
        by_module: dict[str, list[str]] = {}
        for name, module_name in self.module_names.items():
            by_module.setdefault(module_name, []).append(name)
        for module_name, names in by_module.items():
            self._handles.append(modules[module_name].register_forward_hook(self._hook(names)))
        return self

    def remove(self) -> None:
        """Remove every hook; ``features`` keeps the last values."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, names: list[str]):
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            value = output.detach() if self.detach and isinstance(output, torch.Tensor) else output
            for name in names:
                self.features[name] = value

        return hook

    def __enter__(self) -> "FeatureCapture":
        return self.register()

    def __exit__(self, *exc: Any) -> None:
        self.remove()
