"""Shared helpers of the baseline terms: time alignment, shape checks, projections, InfoNCE."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ConfigError


def align_time(x: torch.Tensor, length: int) -> torch.Tensor:
    """Linearly interpolate the last (time) axis of ``x`` to ``length`` samples.

    Accepts ``(B, T)`` or ``(B, C, T)``; returns ``x`` unchanged when the length already matches.
    """
    if x.shape[-1] == length:
        return x
    squeeze = x.dim() == 2
    y = F.interpolate(x.unsqueeze(1) if squeeze else x, size=length, mode="linear", align_corners=False)
    return y.squeeze(1) if squeeze else y


def require_rank(term: str, role: str, feature: str, shape: torch.Size, rank: int, layout: str) -> None:
    """ConfigError unless a per-sample feature shape has ``rank`` dims (``layout`` names them)."""
    if len(shape) != rank:
        raise ConfigError(
            f"term {term!r} needs {role} feature {feature!r} shaped {layout} per sample; got {tuple(shape)}"
        )


def conv_regressor(in_channels: int, out_channels: int) -> nn.Conv1d:
    """A 1x1 convolution mapping ``in_channels`` feature maps to ``out_channels`` (FitNets regressor)."""
    return nn.Conv1d(in_channels, out_channels, kernel_size=1)


def embedding_head(in_dim: int, out_dim: int) -> nn.Linear:
    """A linear projection of a ``(B, in_dim)`` embedding to ``(B, out_dim)``."""
    return nn.Linear(in_dim, out_dim)


def symmetric_info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE with in-batch negatives (van den Oord et al. 2018; CLIP form).

    With L2-normalised ``a_i``, ``b_j`` and ``S_ij = a_i . b_j / tau``::

        L = 1/2 [ CE(S, diag) + CE(S^T, diag) ]

    row ``i``'s positive is ``b_i``; the other ``B - 1`` rows of the batch are its negatives.
    """
    a = F.normalize(a, dim=1)
    b = F.normalize(b, dim=1)
    scores = a @ b.t() / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return 0.5 * (F.cross_entropy(scores, target) + F.cross_entropy(scores.t(), target))


def check_non_empty(name: str, values: tuple) -> tuple:
    """ConfigError when a feature list is empty."""
    if not values:
        raise ConfigError(f"{name} must name at least one feature; got {values!r}")
    return values
