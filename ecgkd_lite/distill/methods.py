"""The one method table: every method the suite trains, with its family, recipe, colour and name.

Everything that lists methods reads this table: ``build_recipe`` (the recipe), the benchmark's
method groups (``family``), the report's tables and every figure's colours and labels. Adding a
method is one ``Method`` row here (and its term's file, if it brings a new term).

Families: ``baseline`` (the 1-lead student with BCE only), ``classic`` (the KD baselines),
``liteheart`` (LiteHeart, arXiv 2511.02851), ``evl_ecg`` (EVL-ECG, arXiv 2605.29977) and
``reference`` (the reference rows of every semi-supervised table, ``distill/reference/``). A row with
``kind="ablation"`` is that family's full recipe with one part removed; ``kind="part"`` one of its
parts alone; ``kind="reference"`` a reference row (``baseline-full_labels``: the baseline on 100 % of
the labels, an upper reference; ``mean_teacher``: lead-I-only semi-supervised, no 12-lead teacher;
``hard_pseudo_label``: the 12-lead teacher's hard labels at 0.5 on the unlabeled records, no soft
targets).

Classic defaults, stated (the papers' own values): vanilla_kd T = 4 (Hinton et al. 2015); fitnets
weight 1 on the temporal map (features are z-scored by BN, MSE is O(1)); attention_transfer weight
10 on the temporal map (the only (C, T) map every model exposes; the loss is bounded in [0, 4]);
rkd distance 25 / angle 50 inside the term (Park et al. 2019), weight 1; crd dim 128, tau 0.07
(Tian et al. 2020), weight 0.5; dkd alpha 1, beta 2, T 4 (Zhao et al. 2022 use beta 8 for softmax DKD; the per-class binary form needs no such boost, see dkd.py), weight 1. Every KD
method keeps the student's BCE on labeled records (Distiller ce_weight = 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from ..errors import ConfigError
from .evl import evl_recipe
from .liteheart import liteheart_recipe

FAMILIES = ("baseline", "classic", "liteheart", "evl_ecg", "reference")
KINDS = ("headline", "ablation", "part", "reference")


@dataclass(frozen=True)
class Method:
    """One row of the method table.

    ``recipe``: the Distiller's recipe config (``Recipe.from_config``; empty for the baseline);
    ``family``: one of ``FAMILIES``; ``colour``: its colour in every figure; ``label``: its
    display name; ``kind``: ``"headline"`` (the baseline, a classic method, a family's full
    recipe), ``"ablation"`` (a family's full recipe with one part removed), ``"part"`` (one
    part of a family alone on top of CE, or a variant of it) or ``"reference"`` (a reference row
    of the semi-supervised tables)."""

    name: str
    family: str
    label: str
    colour: str
    recipe: Mapping[str, Any] = field(default_factory=dict)
    kind: str = "headline"

    def __post_init__(self):
        if self.family not in FAMILIES:
            raise ConfigError(f"method {self.name!r}: family {self.family!r} is not one of {FAMILIES}")
        if self.kind not in KINDS:
            raise ConfigError(f"method {self.name!r}: kind {self.kind!r} is not one of {KINDS}")


def _without(recipe: Mapping[str, Any], *parts: str) -> dict[str, Any]:
    return {k: dict(v) for k, v in recipe.items() if k not in parts}


def _rows() -> list[Method]:
    lite, evl = liteheart_recipe(), evl_recipe()

    def evl_without(part: str) -> dict[str, Any]:
        terms = _without(evl["terms"], part)
        if part == "mhca":  # without MHCA, relation compares with the interpolated teacher tokens
            terms["relation"]["teacher_alignment"] = "interpolate"
        return {"alpha": evl["alpha"], "terms": terms}

    return [
        Method("baseline", "baseline", "Baseline (lead I, BCE)", "#9e9e9e"),
        Method("vanilla_kd", "classic", "Vanilla KD", "#1f77b4", {"vanilla_kd": {"weight": 1.0, "temperature": 4.0}}),
        Method("fitnets", "classic", "FitNets", "#17becf", {"fitnets": {"weight": 1.0, "feature": "temporal"}}),
        Method(
            "attention_transfer",
            "classic",
            "Attention transfer",
            "#8c564b",
            {"attention_transfer": {"weight": 10.0, "p": 2.0, "features": ["temporal"]}},
        ),
        Method(
            "rkd", "classic", "RKD", "#e377c2", {"rkd": {"weight": 1.0, "distance_weight": 25.0, "angle_weight": 50.0}}
        ),
        Method("crd", "classic", "CRD", "#bcbd22", {"crd": {"weight": 0.5, "dim": 128, "temperature": 0.07}}),
        Method(
            "dkd", "classic", "DKD", "#393b79", {"dkd": {"weight": 1.0, "alpha": 1.0, "beta": 2.0, "temperature": 4.0}}
        ),
        Method("liteheart", "liteheart", "LiteHeart", "#d62728", lite),
        Method("evl_ecg", "evl_ecg", "EVL-ECG", "#2ca02c", evl),
        # LiteHeart ablations: no_semi removes the whole semi-supervised part (soft targets and pseudo-labels)
        Method(
            "liteheart-no_region",
            "liteheart",
            "LiteHeart − region",
            "#f08080",
            _without(lite, "region_aware"),
            "ablation",
        ),
        Method(
            "liteheart-no_mi", "liteheart", "LiteHeart − MI", "#a50f15", _without(lite, "cross_layer_mi"), "ablation"
        ),
        Method(
            "liteheart-no_semi",
            "liteheart",
            "LiteHeart − semi",
            "#fcbba1",
            _without(lite, "vanilla_kd", "pseudo_label"),
            "ablation",
        ),
        # LiteHeart parts alone on top of CE, and their own ablations (notebooks 05, 06)
        Method(
            "region_aware",
            "liteheart",
            "Region-aware KD",
            "#e7298a",
            {"region_aware": dict(lite["region_aware"])},
            "part",
        ),
        Method(
            "region_aware-uniform",
            "liteheart",
            "Region-aware KD, uniform map",
            "#f4a6c9",
            {"region_aware": {**lite["region_aware"], "uniform": True}},
            "part",
        ),
        Method(
            "cross_layer_mi",
            "liteheart",
            "Cross-layer MI",
            "#1b9e77",
            {"cross_layer_mi": dict(lite["cross_layer_mi"])},
            "part",
        ),
        Method(
            "cross_layer_mi-same_depth",
            "liteheart",
            "MI, same-depth pairs",
            "#80cdc1",
            {"cross_layer_mi": {**lite["cross_layer_mi"], "pairs": "same_depth"}},
            "part",
        ),
        Method("evl_ecg-no_mhca", "evl_ecg", "EVL-ECG − MHCA", "#74c476", evl_without("mhca"), "ablation"),
        Method("evl_ecg-no_relation", "evl_ecg", "EVL-ECG − relation", "#006d2c", evl_without("relation"), "ablation"),
        Method("evl_ecg-no_ot", "evl_ecg", "EVL-ECG − OT", "#c7e9c0", evl_without("ot"), "ablation"),
        # the reference rows of every semi-supervised table (bench/quality.py adds them at label ratio < 1)
        Method("baseline-full_labels", "reference", "Baseline, 100 % labels", "#4d4d4d", {}, "reference"),
        Method(
            "mean_teacher",
            "reference",
            "Mean teacher (lead I, no 12-lead teacher)",
            "#cc00cc",
            {"mean_teacher": {"weight": 1.0, "decay": 0.99}},
            "reference",
        ),
        Method(
            "hard_pseudo_label",
            "reference",
            "Teacher hard pseudo-labels",
            "#6a3d9a",
            {"hard_pseudo_label": {"weight": 1.0, "threshold": 0.5}},
            "reference",
        ),
    ]


#: name -> Method, in display order (baseline, classic, families, ablations)
METHOD_TABLE: dict[str, Method] = {m.name: m for m in _rows()}
#: name -> recipe config (what ``build_recipe`` reads)
METHODS: dict[str, Mapping[str, Any]] = {name: m.recipe for name, m in METHOD_TABLE.items()}
#: colours of the models that are not methods
OTHER_COLOURS = {
    "teacher": "#1b1b1b",
    "restoration": "#9467bd",
    # the naive feature models beside the real tables (bench/cv.py FEATURE_MODELS)
    "features-lead_I": "#08306b",
    "features-12_lead": "#b2abd2",
}


def methods_of(*families: str, kind: str = "headline") -> tuple[str, ...]:
    """The methods of ``families`` (all when none is given) of one ``kind``, in table order."""
    unknown = [f for f in families if f not in FAMILIES]
    if unknown or kind not in KINDS:
        raise ConfigError(
            f"families {unknown} / kind {kind!r}: choose families from {FAMILIES} and a kind from {KINDS}"
        )
    return tuple(m.name for m in METHOD_TABLE.values() if (not families or m.family in families) and m.kind == kind)


def method(name: str) -> Method:
    """The table row of ``name``; ConfigError listing the known methods."""
    if name not in METHOD_TABLE:
        raise ConfigError(f"distillation method {name!r} is unknown; known: {sorted(METHOD_TABLE)}")
    return METHOD_TABLE[name]
