"""Grad-CAM saliency over time for the 1-D ECG classifiers (Captum ``LayerGradCam``).

Grad-CAM (Selvaraju et al. 2017, "Grad-CAM: Visual explanations from deep networks via
gradient-based localization", ICCV) weights each channel ``k`` of a feature map ``A`` (B, C, T')
by the time-averaged gradient of the class logit ``y_c``::

    alpha_k = (1 / T') sum_t d y_c / d A_k(t)          L(t) = sum_k alpha_k A_k(t)

which is exactly Captum's ``LayerGradCam.attribute`` (channel sum of ``alpha * A``). The map is then
upsampled to the input length with ``LayerAttribution.interpolate`` (linear), optionally passed
through a ReLU, and normalised per record to [0, 1].
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..checks import check_int
from ..errors import ConfigError, ModelError
from ..models.hooks import FeatureCapture, resolve_feature_modules


def grad_cam(
    model: nn.Module,
    x: np.ndarray | torch.Tensor,
    target: int | Sequence[int] | np.ndarray,
    *,
    layer: str = "temporal",
    relu: bool = True,
    batch_size: int = 64,
    progress: bool = False,
) -> np.ndarray:
    """Grad-CAM maps (N, T) of the class logits ``target`` for the records ``x`` (N, leads, T).

    Args:
        model: an ``ECGClassifier`` (any module with ``feature_layers`` works).
        x: the input records, shaped like the model's training input.
        target: one class index for every record, or one index per record (int array of length N).
        layer: a name of ``model.feature_layers`` (or a module name) whose output is a
            channel-first map (B, C, T'); "temporal" for every classifier of the zoo.
        relu: keep only evidence *for* the class (the Grad-CAM ReLU).
        batch_size: records per backward pass.
        progress: show a tqdm bar over the batches.

    Normalisation per record: with ``relu`` the map is divided by its maximum; without it, it is
    min-max rescaled. Either way it lies in [0, 1], and a constant map (e.g. all zero: no positive
    evidence) stays all zero.

    The model is not modified: it runs in eval mode and every submodule's train/eval mode is restored, no
    parameter gets a ``.grad``. In-place modules after the layer (``nn.ReLU(inplace=True)``) are
    safe: Captum stores a clone of the layer output and routes the forward through it (checked in
    the tests against an identical model without in-place modules), so no copy of the model is made.

    Raises:
        ModelError: unknown ``layer`` (lists the available names), a layer without a trailing time
            axis (names the layer and its output shape), or ``x`` with the wrong lead count.
        ConfigError: ``target`` outside [0, n_classes), non-integer or of the wrong length; bad
            ``x`` shape, non-finite ``x``, ``batch_size`` < 1.
    """
    from captum.attr import LayerAttribution, LayerGradCam

    x = _check_input(model, x)
    batch_size = check_int("batch_size", batch_size, low=1)
    module_name = resolve_feature_modules(model, [layer])[layer]
    modes = [(module, module.training) for module in model.modules()]  # submodules may differ (frozen BN)
    model.eval()
    try:
        device = next(model.parameters()).device
        n_classes = _check_time_axis(model, x[:1].to(device), layer, module_name)
        targets = _check_targets(target, len(x), n_classes)
        cam = LayerGradCam(model, dict(model.named_modules())[module_name])
        maps = []
        starts = range(0, len(x), batch_size)
        for start in tqdm(starts, desc="grad-cam", disable=not progress, leave=False):
            batch = x[start : start + batch_size].to(device)
            batch_targets = torch.as_tensor(targets[start : start + batch_size], device=device)
            attr = cam.attribute(batch, target=batch_targets)  # (B, 1, T')
            maps.append(LayerAttribution.interpolate(attr.detach(), x.shape[-1], "linear")[:, 0].cpu())
    finally:
        for module, training in modes:
            module.training = training
    return normalise_maps(torch.cat(maps).numpy().astype(np.float64), relu=relu)


def normalise_maps(maps: np.ndarray, *, relu: bool) -> np.ndarray:
    """Per-row [0, 1] scaling: ReLU then divide by the maximum (``relu``), else min-max; constant rows -> 0."""
    if relu:
        maps = np.maximum(maps, 0.0)
        low = np.zeros((len(maps), 1))
    else:
        low = maps.min(axis=1, keepdims=True)
    span = maps.max(axis=1, keepdims=True) - low
    return np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0)


def _check_input(model: nn.Module, x) -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x, dtype=torch.float32)
    if x.dim() != 3 or len(x) == 0:
        raise ConfigError(f"x must be records (N, leads, T) with N >= 1; got shape {tuple(x.shape)}")
    expected = getattr(model, "in_leads", None)
    if expected is not None and x.shape[1] != expected:
        raise ModelError(
            f"model {_name(model)!r} expects {expected} input leads; x has {x.shape[1]} (shape {tuple(x.shape)})"
        )
    if not torch.isfinite(x).all():
        raise ConfigError("x contains NaN or inf")
    return x


def _check_time_axis(model: nn.Module, one: torch.Tensor, layer: str, module_name: str) -> int:
    """Probe one record at lengths T and 2T: the layer output must be (B, C, T') with T' growing.

    Returns the number of logits (the class count). A channel-last token map (B, T', C) or a pooled
    vector (B, D) is refused, because Grad-CAM would then average over the wrong axis.
    """
    shapes = []
    with torch.no_grad(), FeatureCapture(model, [module_name]) as cap:
        for probe in (one, torch.cat([one, one], dim=-1)):
            logits = model(probe)
            shapes.append(tuple(cap.features[module_name].shape))
    grows = [axis for axis in range(1, len(shapes[0])) if shapes[0][axis] != shapes[1][axis]]
    if len(shapes[0]) != 3 or grows != [2]:
        kind = "no time axis" if not grows else f"channel-last, time on axis {grows[0]}"
        raise ModelError(
            f"layer {layer!r} of {_name(model)!r} outputs shape {shapes[0]} ({kind}); Grad-CAM needs "
            "a channel-first map (B, C, T') such as 'temporal'"
        )
    return int(logits.shape[-1])


def _check_targets(target, n: int, n_classes: int) -> np.ndarray:
    values = np.asarray(target)
    if values.dtype == bool or not np.issubdtype(values.dtype, np.integer):
        raise ConfigError(f"target must be an integer class index or an int array; got {target!r}")
    if values.ndim == 0:
        values = np.full(n, int(values))
    if values.shape != (n,):
        raise ConfigError(f"target must be one int or one int per record ({n}); got shape {values.shape}")
    bad = values[(values < 0) | (values >= n_classes)]
    if bad.size:
        raise ConfigError(f"target {bad[0]} is outside [0, {n_classes}) (the model's classes)")
    return values.astype(np.int64)


def _name(model: nn.Module) -> str:
    return str(getattr(model, "name", None) or type(model).__name__)
