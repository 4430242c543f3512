"""The one method table: every consumer reads it, every row is complete and distinct."""

from __future__ import annotations

import matplotlib.colors as mcolors
import pytest

from ecgkd_lite.bench import quality, report
from ecgkd_lite.distill import FAMILIES, METHOD_TABLE, METHODS, Method, build_recipe, method, methods_of
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.plots import METHOD_COLORS, method_color, method_label


def test_every_row_builds_its_recipe_and_is_distinct():
    for name, row in METHOD_TABLE.items():
        assert row.name == name and row.family in FAMILIES and row.label
        assert mcolors.is_color_like(row.colour)
        recipe = build_recipe(name)
        # the baseline and its full-label reference (trained without the labeled mask) need no term
        assert (len(recipe.entries) == 0) == (name in ("baseline", "baseline-full_labels"))
    colours = [row.colour.lower() for row in METHOD_TABLE.values()]
    labels = [row.label for row in METHOD_TABLE.values()]
    assert len(set(colours)) == len(colours), "two methods share a colour"
    assert len(set(labels)) == len(labels), "two methods share a label"
    assert {"teacher", "restoration"}.isdisjoint(METHOD_TABLE)


def test_figures_and_the_benchmark_read_the_table():
    for name, row in METHOD_TABLE.items():
        assert method_color(name) == METHOD_COLORS[name] == row.colour
        assert method_label(name) == row.label
        assert METHODS[name] is row.recipe
    assert (
        quality.CLASSIC == methods_of("classic") == ("vanilla_kd", "fitnets", "attention_transfer", "rkd", "crd", "dkd")
    )
    assert quality.FAMILIES == ("liteheart", "evl_ecg")
    assert quality.ablations() == [m for m in METHOD_TABLE if METHOD_TABLE[m].kind == "ablation"]
    assert set(report.HEADLINE_METHODS) == {"baseline", *quality.CLASSIC, *quality.FAMILIES, *quality.ablations()}
    assert quality.method_order(sorted(METHOD_TABLE)) == list(METHOD_TABLE)
    everything = quality.resolve_methods("all")
    assert everything[0] == "baseline" and set(everything) == set(report.HEADLINE_METHODS)


def test_a_new_row_is_validated_and_unknown_names_are_refused():
    with pytest.raises(ConfigError, match="family 'other' is not one of"):
        Method("x", "other", "X", "#000000")
    with pytest.raises(ConfigError, match="kind 'variant' is not one of"):
        Method("x", "classic", "X", "#000000", kind="variant")
    with pytest.raises(ConfigError, match="distillation method 'nope' is unknown"):
        method("nope")
    with pytest.raises(ConfigError, match="families"):
        methods_of("nope")
