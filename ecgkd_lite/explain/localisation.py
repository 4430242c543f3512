"""How well a saliency map lands on the ground-truth diagnostic region (synthetic data only).

* **Pointing game** (Zhang et al. 2018, "Top-down neural attention by excitation backprop", IJCV):
  a record is a hit when the map's maximum lies inside the region. Ties count as a hit when the
  maximum value is reached anywhere inside the mask; an all-zero map points nowhere (a miss).
* **Energy-based pointing game** (Wang et al. 2020, "Score-CAM: Score-weighted visual explanations
  for convolutional neural networks", CVPR-W): the share of the map's energy inside the region,
  ``sum_t map(t) mask(t) / sum_t map(t)``; an all-zero map scores 0.

Records whose mask is empty (the class has no region in that record) are left out of both scores;
``n_scored`` says how many records were scored.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ..data import ECGData
from ..errors import ConfigError


def localisation_scores(maps: np.ndarray, masks: np.ndarray) -> dict:
    """``{"pointing_game", "energy_inside", "n_scored"}`` of non-negative maps (N, T) against bool masks (N, T).

    Both scores are means over the records with a non-empty mask (NaN when there is none).
    """
    maps = np.asarray(maps, dtype=float)
    masks = np.asarray(masks)
    if maps.ndim != 2:
        raise ConfigError(f"maps must be (N, T); got shape {maps.shape}")
    if masks.shape != maps.shape:
        raise ConfigError(f"masks must have the maps' shape {maps.shape}; got {masks.shape}")
    if masks.dtype != bool:
        raise ConfigError(f"masks must be boolean; got dtype {masks.dtype}")
    if not np.isfinite(maps).all():
        raise ConfigError(f"maps contain NaN or inf (record {np.flatnonzero(~np.isfinite(maps).all(1))[0]})")
    if (maps < 0).any():
        raise ConfigError(
            f"maps must be non-negative (record {np.flatnonzero((maps < 0).any(1))[0]}); "
            "use grad_cam(..., relu=True) or rescale"
        )
    scored = masks.any(axis=1)
    maps, masks = maps[scored], masks[scored]
    if not len(maps):
        return {"pointing_game": float("nan"), "energy_inside": float("nan"), "n_scored": 0}
    peak = maps.max(axis=1)
    inside_peak = np.where(masks, maps, -np.inf).max(axis=1)
    hits = (peak > 0) & (inside_peak == peak)
    total = maps.sum(axis=1)
    energy = np.divide((maps * masks).sum(axis=1), total, out=np.zeros_like(total), where=total > 0)
    return {"pointing_game": float(hits.mean()), "energy_inside": float(energy.mean()), "n_scored": int(len(maps))}


def region_masks(data: ECGData, class_name: str, index: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
    """Bool (N, T) mask of ``class_name``'s ground-truth regions in records ``index`` (default: all).

    Cut it like the signals when the maps come from a crop (``masks[:, start:start + T]``).
    Raises ConfigError for an unknown class, DataError when ``data`` has no regions.
    """
    if class_name not in data.classes:
        raise ConfigError(f"class_name {class_name!r} is not one of the data's classes {list(data.classes)}")
    return data.region_mask(index)[:, data.classes.index(class_name), :]
