"""Per-record, per-time importance maps from the teacher (Grad-CAM), for region-aware distillation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError, ModelError


def feature_module(model: nn.Module, layer: str) -> nn.Module:
    """The module behind ``model.feature_layers[layer]`` (a module name or the module itself)."""
    layers = getattr(model, "feature_layers", None) or {}
    if layer not in layers:
        raise ModelError(
            f"teacher {type(model).__name__} has no feature layer {layer!r}; feature_layers: {sorted(layers)}"
        )
    target = layers[layer]
    return model.get_submodule(target) if isinstance(target, str) else target


def class_weights(
    probs: torch.Tensor, targets: torch.Tensor | None = None, labeled: torch.Tensor | None = None
) -> torch.Tensor:
    """Weight of each class in a record's map (B, C): its teacher probability on the record's positives.

    Positives are, in order of preference: the labels (``targets`` as (B,) integer classes or
    (B, C) multi-hot/probabilities thresholded at 0.5) on rows where ``labeled`` is True (all rows
    when ``labeled`` is None); else the teacher's predicted positives (``probs > 0.5``); else the
    teacher's top class.
    """
    b, c = probs.shape
    predicted = probs > 0.5
    predicted = predicted | (F.one_hot(probs.argmax(1), c).bool() & ~predicted.any(1, keepdim=True))
    if targets is None:
        return predicted * probs
    if targets.dim() == 1 and not targets.is_floating_point():
        if targets.shape[0] != b or targets.min() < 0 or targets.max() >= c:
            raise ConfigError(
                f"targets: integer class targets must be shape ({b},) with values in [0, {c}); "
                f"got shape {tuple(targets.shape)}, range [{int(targets.min())}, {int(targets.max())}]"
            )
        positives = F.one_hot(targets.long(), c).bool()
    elif targets.shape == (b, c):
        positives = targets > 0.5
    else:
        raise ConfigError(
            f"targets must be ({b},) integer classes or ({b}, {c}) labels/probabilities; "
            f"got shape {tuple(targets.shape)}"
        )
    use_labels = positives.any(1) if labeled is None else positives.any(1) & labeled.bool().to(positives.device)
    return torch.where(use_labels[:, None], positives, predicted) * probs


def resample_gate(gate: torch.Tensor, length: int) -> torch.Tensor:
    """A (B, T) region mask at ``length`` feature steps: max-pooled when shrinking, nearest when growing."""
    gate = gate.float()[:, None, :]
    if gate.shape[-1] >= length:
        return F.adaptive_max_pool1d(gate, length)[:, 0]
    return F.interpolate(gate, size=length, mode="nearest")[:, 0]


def check_floor(floor: float) -> float:
    """ConfigError unless the importance floor lies in [0, 1]."""
    if not (isinstance(floor, (int, float)) and 0.0 <= floor <= 1.0):
        raise ConfigError(f"floor must be in [0, 1]; got {floor!r}")
    return float(floor)


def importance_from_features(
    features: torch.Tensor,
    logits: torch.Tensor,
    targets: torch.Tensor | None = None,
    labeled: torch.Tensor | None = None,
    gate: torch.Tensor | None = None,
    floor: float = 0.1,
) -> torch.Tensor:
    """Grad-CAM importance (Selvaraju et al. 2017) of a feature map ``A`` (B, K, T_f) for ``logits``.

    ``features`` must require grad and ``logits`` must depend on it. Per class ``c`` with ``Y^c`` the
    logit::

        w_k^c = mean_t dY^c / dA_kt,      cam_c = ReLU(sum_k w_k^c A_k)               (B, T_f)
        cam   = sum_c p_c cam_c / sum_c p_c   over the record's positive classes (``class_weights``)
        map   = cam * gate,  divided by its max over time (0 stays 0)
        w     = floor + (1 - floor) * map                                            in [floor, 1]

    The gate (optional (B, T) or (B, T_f) wave-region mask in [0, 1]) acts before the max
    normalisation, so it moves emphasis without ever giving a step zero weight (a record whose
    gate is empty gets uniform weights). Only ``torch.autograd.grad`` w.r.t. ``features`` is used:
    no parameter gradient is accumulated. The returned map is detached.
    """
    check_floor(floor)
    if features.dim() != 3:
        raise ModelError(f"Grad-CAM needs a feature map with a time axis (B, C, T); got {tuple(features.shape)}")
    probs = torch.sigmoid(logits.detach())
    weights = class_weights(probs, targets, labeled)
    cam = features.new_zeros(features.shape[0], features.shape[2])
    for c in torch.nonzero(weights.sum(0) > 0).flatten().tolist():
        (grad,) = torch.autograd.grad(logits[:, c].sum(), features, retain_graph=True)
        cam = cam + weights[:, c : c + 1] * F.relu((grad.mean(2, keepdim=True) * features).sum(1))
    cam = (cam / weights.sum(1, keepdim=True).clamp_min(1e-12)).detach()
    if gate is not None:
        if gate.dim() != 2 or gate.shape[0] != cam.shape[0]:
            raise ConfigError(f"gate must be a (B, T) region mask with B={cam.shape[0]}; got {tuple(gate.shape)}")
        cam = cam * resample_gate(gate.to(cam.device), cam.shape[1])
    peak = cam.amax(1, keepdim=True)
    normalised = torch.where(peak > 0, cam / peak.clamp_min(1e-12), torch.zeros_like(cam))
    return floor + (1.0 - floor) * normalised


def teacher_importance(
    teacher: nn.Module,
    x: torch.Tensor,
    targets: torch.Tensor | None = None,
    layer: str = "temporal",
    gate: torch.Tensor | None = None,
    labeled: torch.Tensor | None = None,
    floor: float = 0.1,
) -> torch.Tensor:
    """Importance map (B, T_f) of ``teacher`` on ``x`` (see ``importance_from_features``).

    Runs one teacher forward under ``enable_grad`` with a forward hook on ``feature_layers[layer]``
    that swaps the layer's output for a detached leaf requiring grad, so the map needs no gradient
    through the (frozen) teacher parameters or the input. Keep the teacher in eval mode.
    Raises ModelError when the layer is unknown or has no time axis.
    """
    module = feature_module(teacher, layer)
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 3:
            shape = tuple(output.shape) if isinstance(output, torch.Tensor) else type(output).__name__
            raise ModelError(f"teacher layer {layer!r} has no time axis: Grad-CAM needs (B, C, T); got {shape}")
        captured.append(output.detach().requires_grad_(True))
        return captured[-1]

    handle = module.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            logits = teacher(x)
            return importance_from_features(captured[-1], logits, targets, labeled, gate, floor)
    finally:
        handle.remove()
