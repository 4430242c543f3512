"""LiteHeart (arXiv 2511.02851) distillation terms; the paper's code is unpublished, choices are stated.

``region_aware`` (teacher Grad-CAM weighted feature KD, maps from ``teacher_importance``),
``cross_layer_mi`` (InfoNCE between student and teacher layers), ``pseudo_label`` and
``consistency`` (semi-supervised), and ``liteheart_recipe`` which combines them.
"""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError
from ..base import check_non_negative
from .cross_layer_mi import CrossLayerMI
from .importance import importance_from_features, teacher_importance
from .region_aware import RegionAwareKD
from .semi_supervised import (
    PseudoLabelKD,
    WeakStrongConsistency,
    amplitude_scale,
    baseline_wander,
    burst_dropout,
    gaussian_noise,
    strong_view,
    time_shift,
    weak_view,
)

SEMI_SUPERVISED = ("pseudo_label", "consistency")


def liteheart_recipe(
    l_region: float = 0.25,
    l_mi: float = 0.1,
    l_semi: float = 1.0,
    semi: str = "pseudo_label",
    *,
    l_soft: float = 1.0,
    temperature: float = 4.0,
    saliency_weight: float = 0.0,
    mi_dim: int = 128,
    mi_tau: float = 0.1,
    tau_hi: float = 0.9,
    tau_lo: float = 0.1,
    mi_pairs: str = "all",
) -> dict[str, Any]:
    """The LiteHeart recipe config ``{name: {"weight": w, **params}}`` for the Distiller:

    ``CE (labeled records) + l_region L_region + l_mi L_MI + l_soft L_soft + l_semi L_semi``.

    The semi-supervised component is two label-free terms on every record, labeled or not
    (docs/design.md section 6): the teacher's soft targets ``L_soft`` (multi-label KD, ``temperature``) and
    ``L_semi`` = confident ``pseudo_label`` or weak/strong ``consistency`` (``semi``).

    Defaults, stated: region-aware weight 0.25 and MI weight 0.1, chosen on the VALIDATION fold from
    the grid {1, 0.25} x {0.5, 0.1} (``python benchmarks/tune_family.py --family liteheart``, seed 0;
    the validation score of every grid point is in ``results/tune_liteheart_quick.json``); all cross
    layer pairs, dim 128, tau 0.1; soft targets weight 1 at T = 4 (as vanilla KD); pseudo-label
    weight 1 (a masked BCE, <= CE) with thresholds 0.9 / 0.1.
    """
    if semi not in SEMI_SUPERVISED:
        raise ConfigError(f"liteheart_recipe semi must be one of {SEMI_SUPERVISED}; got {semi!r}")
    return {
        "region_aware": {
            "weight": check_non_negative("liteheart_recipe l_region", l_region),
            "saliency_weight": saliency_weight,
        },
        "cross_layer_mi": {
            "weight": check_non_negative("liteheart_recipe l_mi", l_mi),
            "dim": mi_dim,
            "tau": mi_tau,
            "pairs": mi_pairs,
        },
        "vanilla_kd": {"weight": check_non_negative("liteheart_recipe l_soft", l_soft), "temperature": temperature},
        semi: {"weight": check_non_negative("liteheart_recipe l_semi", l_semi), "tau_hi": tau_hi, "tau_lo": tau_lo},
    }


__all__ = [
    "CrossLayerMI",
    "PseudoLabelKD",
    "RegionAwareKD",
    "WeakStrongConsistency",
    "amplitude_scale",
    "baseline_wander",
    "burst_dropout",
    "gaussian_noise",
    "importance_from_features",
    "liteheart_recipe",
    "strong_view",
    "teacher_importance",
    "time_shift",
    "weak_view",
]
