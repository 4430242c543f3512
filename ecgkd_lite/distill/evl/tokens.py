"""Token-set helpers shared by the EVL-ECG terms: shape checks and resampling along the token axis."""

from __future__ import annotations

import torch

from ...errors import ModelError
from ..baselines.adapters import align_time


def require_tokens(term: str, role: str, feature: str, tokens: torch.Tensor, dim: int | None = None) -> torch.Tensor:
    """ModelError unless ``tokens`` is ``(B, N, D)`` (with ``D == dim`` when ``dim`` is given)."""
    if tokens.dim() != 3:
        raise ModelError(f"term {term!r} needs {role} feature {feature!r} shaped (B, N, D); got {tuple(tokens.shape)}")
    if dim is not None and tokens.shape[-1] != dim:
        raise ModelError(
            f"term {term!r}: {role} feature {feature!r} has token dim {tokens.shape[-1]} but the "
            f"term was built for {dim} (build() saw another model, or the layer changed)"
        )
    return tokens


def resample_tokens(tokens: torch.Tensor, n_tokens: int) -> torch.Tensor:
    """Linearly interpolate a ``(B, N, D)`` token sequence to ``(B, n_tokens, D)`` along the token axis."""
    return align_time(tokens.transpose(1, 2), n_tokens).transpose(1, 2)
