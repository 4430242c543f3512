"""Analysis figures: labelled axes, missing AUCs listed (never drawn), golden gap bars, no NaN drawn, errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import LineCollection, PathCollection

from ecgkd_lite.bench.quality import SCHEMA
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.plots import (
    method_color,
    method_label,
    plot_auc_violins,
    plot_efficiency,
    plot_embeddings,
    plot_gap_closed,
    plot_saliency_strip,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _assert_nothing_nan_drawn(fig):
    for ax in fig.axes:
        for line in ax.get_lines():
            assert np.isfinite(np.asarray(line.get_xydata(), dtype=float)).all()
        for coll in ax.collections:
            if isinstance(coll, PathCollection):
                assert np.isfinite(np.asarray(coll.get_offsets(), dtype=float)).all()


def _assert_labelled(ax):
    assert ax.get_xlabel() and ax.get_ylabel()


def _points(ax, method):
    (coll,) = [c for c in ax.collections if c.get_gid() == f"conditions:{method}"]
    return np.asarray(coll.get_offsets())


PER_CLASS = {
    "baseline": {"AMI": 0.7, "LVH": 0.9, "NORM": 0.95, "PVC": 0.8},
    "vanilla_kd": {"AMI": None, "LVH": float("nan"), "NORM": 0.97, "PVC": 0.85},
}


def test_violins_draw_one_point_per_known_condition_and_list_the_missing():
    fig = plot_auc_violins(PER_CLASS, {"baseline": 0.8375, "vanilla_kd": 0.91})
    ax = fig.axes[0]
    _assert_labelled(ax)
    assert sorted(_points(ax, "baseline")[:, 1]) == pytest.approx([0.7, 0.8, 0.9, 0.95])
    assert sorted(_points(ax, "vanilla_kd")[:, 1]) == pytest.approx([0.85, 0.97])  # no 0.5, no NaN
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Baseline\n(lead I, BCE)", "Vanilla KD\nmissing: AMI, LVH"]  # display names, wrapped
    macro = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert sorted(seg[0][1] for c in macro for seg in c.get_segments()) == pytest.approx([0.8375, 0.91])
    _assert_nothing_nan_drawn(fig)


def test_violins_name_the_points_of_the_conditions_asked_for():
    fig = plot_auc_violins(PER_CLASS, label_conditions=["AMI", "LVH"])
    ax = fig.axes[0]
    names = sorted(t.get_gid() for t in ax.texts)
    # vanilla_kd's AMI and LVH are missing: nothing to label there
    assert names == ["condition-label:baseline:AMI", "condition-label:baseline:LVH"]
    (ami,) = [t for t in ax.texts if t.get_gid().endswith(":AMI")]
    assert ami.get_text() == "AMI" and ami.xy[1] == pytest.approx(0.7)
    assert not plot_auc_violins(PER_CLASS).axes[0].texts  # none asked for, none drawn


def test_violins_without_macro_and_with_an_all_missing_method():
    fig = plot_auc_violins({"teacher": {"AMI": 1.0, "NORM": 0.99}, "crd": {"AMI": None, "NORM": None}})
    ax = fig.axes[0]
    assert len(_points(ax, "crd")) == 0
    assert ax.get_xticklabels()[1].get_text() == "CRD\nmissing: AMI, NORM"
    assert not [c for c in ax.collections if isinstance(c, LineCollection)]
    _assert_nothing_nan_drawn(fig)
    with pytest.raises(ConfigError, match="per_class is empty"):
        plot_auc_violins({})


def test_embeddings_share_colours_and_one_legend():
    rng = np.random.default_rng(0)
    labels = np.array(["NORM", "AMI", "NORM", "LVH", "AMI", "LVH"])
    fig = plot_embeddings(
        {"teacher": rng.normal(size=(6, 2)), "baseline": rng.normal(size=(6, 2))}, labels, title="t-SNE of logits"
    )
    assert len(fig.axes) == 2 and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["AMI", "LVH", "NORM"]
    for ax in fig.axes:
        _assert_labelled(ax)
        assert [len(c.get_offsets()) for c in ax.collections] == [2, 2, 2]
    colours = [[tuple(c.get_facecolor()[0]) for c in ax.collections] for ax in fig.axes]
    assert colours[0] == colours[1] and len(set(colours[0])) == 3
    assert fig.axes[0].get_title() == "Teacher (12 leads)"
    _assert_nothing_nan_drawn(fig)


def test_embeddings_highlight_conditions_in_non_method_colours():
    """Highlighted conditions get a shade and a marker of their own, none of them a method's colour;
    the rest are drawn once, in grey, as "other conditions"; an unknown condition is named."""
    from ecgkd_lite.plots import METHOD_COLORS

    rng = np.random.default_rng(0)
    labels = np.array(["NORM", "AMI", "IMI", "LVH", "PVC", "AMI"] * 3)
    fig = plot_embeddings({"teacher": rng.normal(size=(18, 2))}, labels, highlight=["NORM", "AMI", "IMI"])
    names = [t.get_text() for t in fig.legends[0].get_texts()]
    assert names == ["other conditions", "AMI", "IMI", "NORM"]
    (ax,) = fig.axes
    assert [len(c.get_offsets()) for c in ax.collections] == [6, 6, 3, 3]
    methods = {matplotlib.colors.to_hex(c) for c in METHOD_COLORS.values()}
    faces = [matplotlib.colors.to_hex(c.get_facecolor()[0], keep_alpha=False) for c in ax.collections]
    assert len(set(faces)) == 4 and not set(faces) & methods
    assert len({c.get_paths()[0].vertices.shape for c in ax.collections[1:]}) == 3  # three marker shapes
    with pytest.raises(ConfigError, match=r"highlight names \['LAFB'\]"):
        plot_embeddings({"teacher": rng.normal(size=(18, 2))}, labels, highlight=["LAFB"])


def test_embeddings_reject_bad_shapes():
    with pytest.raises(ConfigError, match=r"embeddings\['student'\] must be finite with shape \(3, 2\)"):
        plot_embeddings({"student": np.zeros((4, 2))}, [0, 1, 2])
    with pytest.raises(ConfigError, match=r"embeddings\['student'\]"):
        plot_embeddings({"student": np.full((3, 2), np.nan)}, [0, 1, 2])


def _bench_result():
    def method(values, gap):
        return {
            "runs": [{"macro_auc": v} for v in values],
            "mean": {"macro_auc": float(np.mean(values))},
            "gap_closed": {"macro_auc": gap},
        }

    return {
        "schema": SCHEMA,
        "seeds": 2,
        "teacher": {"macro_auc": 0.9},
        "methods": {
            "baseline": method([0.79, 0.81], 0.0),
            "vanilla_kd": method([0.84, 0.86], 0.5),
            "rkd": method([0.70, 0.70], -1.0),
            "dkd": method([0.8, 0.8], None),
        },
    }


def test_gap_closed_bars_golden_heights_and_error_bars():
    fig = plot_gap_closed(_bench_result())
    ax = fig.axes[0]
    _assert_labelled(ax)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["vanilla_kd", "rkd", "dkd"]  # method_order, no baseline
    bars = ax.patches
    assert [b.get_height() for b in bars] == pytest.approx([50.0, -100.0])
    assert bars[0].get_facecolor()[:3] == pytest.approx(matplotlib.colors.to_rgb(method_color("vanilla_kd")))
    # per-seed gaps 40 % and 60 % -> std (ddof 1) 14.14; rkd's seeds agree -> 0
    (err_vanilla, err_rkd) = [c for c in ax.collections if isinstance(c, LineCollection)]
    ((low, high),) = [seg[:, 1] for seg in err_vanilla.get_segments()]
    assert (low, high) == pytest.approx((50 - 14.1421, 50 + 14.1421), abs=1e-3)
    assert [t.get_text() for t in ax.texts] == ["n/a"]  # dkd: gap undefined, no bar
    assert ax.get_ylabel() == "gap closed on macro AUC (%)\n0 = baseline, 100 = teacher"  # no raw key
    assert ax.get_legend() is not None  # bars reach 64 %: the teacher's 100 % line is drawn
    _assert_nothing_nan_drawn(fig)


def test_gap_closed_one_seed_has_no_error_bars_and_says_so():
    result = _bench_result()
    for method in result["methods"].values():
        method["runs"] = method["runs"][:1]
    ax = plot_gap_closed(result).axes[0]
    assert not [c for c in ax.collections if isinstance(c, LineCollection)]
    assert "1 seed" in ax.get_title(loc="left")


def test_gap_closed_small_gaps_are_not_squashed_by_the_teacher_line():
    result = _bench_result()
    result["methods"]["vanilla_kd"] = {
        "runs": [{"macro_auc": 0.81}, {"macro_auc": 0.812}],
        "mean": {"macro_auc": 0.811},
        "gap_closed": {"macro_auc": 0.11},
    }
    result["methods"]["rkd"]["gap_closed"]["macro_auc"] = -0.2
    result["methods"]["rkd"]["runs"] = [{"macro_auc": 0.78}, {"macro_auc": 0.78}]
    ax = plot_gap_closed(result).axes[0]
    assert ax.get_ylim()[1] < 60 and ax.get_legend() is None


def test_gap_closed_errors():
    with pytest.raises(ConfigError, match="schema"):
        plot_gap_closed({"schema": "old"})
    with pytest.raises(ConfigError, match="metric must be one of"):
        plot_gap_closed(_bench_result(), metric="accuracy")
    with pytest.raises(ConfigError, match=r"methods \['crd'\] are not in the result; available: \['baseline'"):
        plot_gap_closed(_bench_result(), methods=["vanilla_kd", "crd"])


ROWS = [
    {"name": "teacher", "params": 464_975, "flops": 3.1e7, "latency_ms": 6.0, "macro_auc": 0.998},
    {"name": "baseline", "params": 265_031, "flops": 8.0e6, "latency_ms": 0.5, "macro_auc": 0.905},
    {"name": "liteheart", "params": 265_031, "flops": 8.0e6, "latency_ms": 0.5, "macro_auc": 0.93},
]


def test_efficiency_scatter_sizes_follow_parameters_and_points_are_labelled():
    fig = plot_efficiency(ROWS)
    ax = fig.axes[0]
    _assert_labelled(ax)
    offsets = np.concatenate([c.get_offsets() for c in ax.collections])
    np.testing.assert_allclose(offsets, [[6.0, 0.998], [0.5, 0.905], [0.5, 0.93]])
    sizes = [c.get_sizes()[0] for c in ax.collections]
    assert sizes[0] == pytest.approx(430) and sizes[1] == sizes[2] < sizes[0]
    # the two students share one architecture: their cost is written once, their names in the legend
    assert [t.get_text().split("\n")[0] for t in ax.texts] == ["Teacher", "2 models of one architecture"]
    assert "0.27 M params, 8 MFLOPs each" in ax.texts[1].get_text()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["Baseline", "LiteHeart"]  # short names
    colours = [tuple(c.get_facecolor()[0][:3]) for c in ax.collections]
    assert colours[1] != colours[2]  # one colour per method
    assert ax.get_xscale() == "log"  # 12x span
    _assert_nothing_nan_drawn(fig)


@pytest.mark.parametrize(
    "row,message",
    [
        (
            {"name": "x", "params": 1, "flops": 1, "latency_ms": 1.0},
            r"rows\[0\] \('x'\) lacks the keys \['macro_auc'\]",
        ),
        ({"name": "x", "params": 1, "flops": 1, "latency_ms": float("nan"), "macro_auc": 0.9}, r"\['latency_ms'\]"),
        ({"name": "x", "params": 1, "flops": 1, "latency_ms": 1.0, "macro_auc": None}, r"\['macro_auc'\]"),
    ],
)
def test_efficiency_rejects_incomplete_rows(row, message):
    with pytest.raises(ConfigError, match=message):
        plot_efficiency([row])


def test_saliency_strips_one_per_model_with_region_and_colour_bar():
    t = np.arange(250) / 100
    regions = (t > 1.0) & (t < 1.5)
    maps = {"teacher": np.exp(-20 * (t - 1.2) ** 2), "baseline": np.linspace(0, 1, 250)}
    fig = plot_saliency_strip(np.sin(2 * np.pi * t), 100, maps, regions, lead="I")
    strips, colourbar = fig.axes[:2], fig.axes[2]
    assert len(fig.axes) == 3 and colourbar.get_ylabel() == "saliency"
    assert [ax.get_xlabel() for ax in strips] == ["", "time (s)"]  # one time label: none hits the next title
    for ax, name in zip(strips, maps):
        assert ax.get_ylabel() == "lead I (mV)"
        assert ax.get_title(loc="left") == method_label(name)  # the display name
        (band,) = [c for c in ax.collections if isinstance(c, PathCollection)]
        np.testing.assert_allclose(band.get_array(), maps[name])
        assert any(label.get_text() == "ground-truth region" for label in ax.get_legend().get_texts())
    _assert_nothing_nan_drawn(fig)


def test_saliency_strip_errors():
    t = np.arange(100) / 100
    with pytest.raises(ConfigError, match=r"maps\['student'\] must lie in \[0, 1\]"):
        plot_saliency_strip(np.sin(t), 100, {"student": 2 * t})
    with pytest.raises(ConfigError, match="saliency must be finite"):
        plot_saliency_strip(np.sin(t), 100, {"student": np.full(100, np.nan)})
    with pytest.raises(ConfigError, match="maps is empty"):
        plot_saliency_strip(np.sin(t), 100, {})


def test_paired_deltas_fill_only_the_rows_whose_interval_excludes_zero():
    from ecgkd_lite.plots import plot_paired_deltas

    deltas = {
        "vanilla_kd": {"estimate": 0.01, "ci95": [-0.005, 0.02], "seeds_compared": 3},
        "liteheart": {"estimate": 0.03, "ci95": [0.01, 0.05], "seeds_compared": 3},
        "rkd": {"estimate": -0.04, "ci95": [-0.06, -0.02], "seeds_compared": 1},
    }
    fig = plot_paired_deltas(deltas)
    gids = sorted(a.get_gid() for a in fig.axes[0].lines if a.get_gid())
    assert gids == ["delta:liteheart:sure", "delta:rkd:sure", "delta:vanilla_kd:level"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "1 seed" in texts and texts.count("3 seeds") == 2
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Vanilla KD", "LiteHeart", "RKD"]  # display names
    styles = [c.get_linestyle()[0][1] for c in ax.collections]  # one interval line per row, in row order
    assert styles[0] is None and styles[1] is None and styles[2] is not None  # the one-seed row is dashed
    assert "filled = interval excludes 0" in ax.get_title(loc="left") and "dashed = 1 seed" in ax.get_title(loc="left")
    plt.close(fig)
    titled = plot_paired_deltas({k: {**v, "seeds_compared": 3} for k, v in deltas.items()}, title="my title")
    assert titled.axes[0].get_title(loc="left").startswith("my title\nfilled = interval excludes 0")  # the key stays
    assert "dashed" not in titled.axes[0].get_title(loc="left")
    plt.close(titled)
    with pytest.raises(ConfigError, match="needs 'estimate' and 'ci95'"):
        plot_paired_deltas({"x": {"estimate": 0.1}})
    with pytest.raises(ConfigError, match="deltas is empty"):
        plot_paired_deltas({})


def test_class_deltas_golden_cells_groups_and_missing():
    from ecgkd_lite.plots import plot_class_deltas

    panels = {
        "all labels": {
            "baseline": {"A": 0.80, "B": 0.70, "C": 0.60},
            "kd": {"A": 0.85, "B": 0.60, "C": None},  # no AUC for C: a blank, hatched cell
        },
        "few labels": {"baseline": {"A": 0.50, "B": 0.50, "C": 0.50}, "kd": {"A": 0.52, "B": 0.50, "C": 0.70}},
    }
    fig = plot_class_deltas(panels, groups={"seen": ["B"], "not seen": ["C"]})
    top, bottom = fig.axes[0], fig.axes[1]
    image = top.images[0].get_array()
    assert np.ma.is_masked(image[0, 1])  # C (second column: groups first) has no AUC
    assert image[0, 0] == pytest.approx(-0.10) and image[0, 2] == pytest.approx(0.05)  # B, then A under "other"
    assert [t.get_text() for t in top.texts if t.get_text().startswith(("+", "-"))] == ["-.10", "+.05"]
    assert {"seen", "not seen", "other"} <= {t.get_text() for t in top.texts}
    assert [t.get_text() for t in bottom.get_xticklabels()] == ["B", "C", "A"]
    assert not [t.get_text() for t in top.get_xticklabels() if t.get_text()]  # names under the last panel only
    norm = top.images[0].norm
    assert norm.vmin == -norm.vmax == pytest.approx(-0.20)  # one symmetric scale: the largest |difference|
    assert "per-class AUC minus Baseline (lead I, BCE)" in fig.axes[-1].get_ylabel()
    with pytest.raises(ConfigError, match="no 'baseline' row"):
        plot_class_deltas({"p": {"kd": {"A": 0.5}}})
    with pytest.raises(ConfigError, match="nothing to compare"):
        plot_class_deltas({"p": {"baseline": {"A": 0.5}}})
    with pytest.raises(ConfigError, match="panels is empty"):
        plot_class_deltas({})


def _extents(fig, texts):
    """The texts' own boxes on screen (an annotation's leader line left out)."""
    from matplotlib.text import Text

    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    return [Text.get_window_extent(t, renderer) for t in texts]


def _overlapping_pairs(boxes, names):
    return [
        (names[i], names[j]) for i in range(len(boxes)) for j in range(i + 1, len(boxes)) if boxes[i].overlaps(boxes[j])
    ]


def test_violins_axis_above_zero_carries_the_break_mark():
    fig = plot_auc_violins(PER_CLASS)
    ax = fig.axes[0]
    assert ax.get_ylim()[0] > 0
    assert "axis-break:y" in [line.get_gid() for line in ax.get_lines()]
    assert "axis starts at" in ax.get_ylabel()


def test_violins_names_of_close_dots_do_not_overlap_and_the_legend_hides_no_dot():
    # three conditions within 0.002 AUC of each other (the teacher at 1.0, IMI/AMI in one violin)
    per_class = {
        "teacher": {"AMI": 1.0, "IMI": 0.999, "LAFB": 0.998, "NORM": 1.0},
        "baseline": {"AMI": 0.690, "IMI": 0.686, "LAFB": 0.75, "NORM": 0.97, "PVC": 0.95},
    }
    fig = plot_auc_violins(per_class, label_conditions=("IMI", "AMI", "LAFB"))
    ax = fig.axes[0]
    labels = [t for t in ax.texts if (t.get_gid() or "").startswith("condition-label:")]
    assert len(labels) == 6
    boxes = _extents(fig, labels)
    assert _overlapping_pairs(boxes, [t.get_gid() for t in labels]) == []
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1 - 1  # beside the axes, not over the dots


EFFICIENCY_13 = [  # the line-up of notebook 13: one architecture shared by four models, labels near the legend
    {"name": "teacher", "params": 460_000, "flops": 60e6, "latency_ms": 4.39, "macro_auc": 0.9985},
    {"name": "restoration/tiny+student", "params": 630_000, "flops": 203e6, "latency_ms": 4.05, "macro_auc": 0.9265},
    {"name": "baseline/small", "params": 1_010_000, "flops": 138e6, "latency_ms": 2.58, "macro_auc": 0.9135},
    {"name": "baseline/base", "params": 1_600_000, "flops": 227e6, "latency_ms": 4.33, "macro_auc": 0.9105},
] + [
    {"name": f"{m}/tiny", "params": 270_000, "flops": 40e6, "latency_ms": 1.2, "macro_auc": auc}
    for m, auc in (("baseline", 0.9045), ("vanilla_kd", 0.8975), ("liteheart", 0.9045), ("evl_ecg", 0.899))
]


def test_efficiency_labels_overlap_nothing_and_stay_inside_the_axes():
    fig = plot_efficiency(EFFICIENCY_13)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_gid() == "point-label"]
    assert len(labels) == 5  # four single models and one shared architecture
    boxes = _extents(fig, labels)
    renderer = fig.canvas.get_renderer()
    assert _overlapping_pairs(boxes, [t.get_text() for t in labels]) == []
    frame = ax.get_window_extent(renderer)
    legend = ax.get_legend().get_window_extent(renderer)
    for text, box in zip(labels, boxes):
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, text.get_text()
        assert not box.overlaps(legend), text.get_text()
        anchor = ax.transData.transform(text.xy)
        for marker in ax.collections:
            extent = marker.get_window_extent(renderer)
            if not extent.contains(*anchor):  # another model's marker
                assert not box.overlaps(extent), (text.get_text(), marker.get_label())


def test_embeddings_titles_are_black_where_colour_means_the_condition():
    rng = np.random.default_rng(0)
    labels = np.array(["NORM", "AMI", "LVH"] * 4)
    fig = plot_embeddings({"baseline": rng.normal(size=(12, 2)), "vanilla_kd": rng.normal(size=(12, 2))}, labels)
    for ax in fig.axes:
        assert matplotlib.colors.to_rgb(ax.title.get_color()) == (0.0, 0.0, 0.0)


def test_class_deltas_name_the_class_axis_under_the_last_panel():
    from ecgkd_lite.plots import plot_class_deltas

    panels = {p: {"baseline": {"A": 0.5, "B": 0.6}, "kd": {"A": 0.55, "B": 0.6}} for p in ("one", "two")}
    fig = plot_class_deltas(panels)
    assert [ax.get_xlabel() for ax in fig.axes[:2]] == ["", "class"]


def test_tuning_marks_the_default_and_the_chosen_point():
    from ecgkd_lite.plots import plot_tuning

    fig = plot_tuning(
        {"vanilla_kd": {"val": [0.90, 0.93, 0.91], "chosen": 1}, "rkd": {"val": [0.8, np.nan], "chosen": 0}}
    )
    ax = fig.axes[0]
    marks = {line.get_gid(): line.get_xdata()[0] for line in ax.lines if (line.get_gid() or "").count(":") == 1}
    marks.pop("axis-break:x")  # the truncated axis is marked
    assert marks == {"default:vanilla_kd": 0.90, "chosen:vanilla_kd": 0.93, "default:rkd": 0.8, "chosen:rkd": 0.8}
    assert "1 NaN" in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel().startswith("validation macro AUC")
    assert ax.get_xlim()[0] > 0 and "axis starts at" in ax.get_xlabel()
    plt.close(fig)
    with pytest.raises(ConfigError, match="chosen 1 is not a finite point"):
        plot_tuning({"rkd": {"val": [0.8, np.nan], "chosen": 1}})
    with pytest.raises(ConfigError, match="searches is empty"):
        plot_tuning({})


def test_series_colors_span_is_checked_and_widens_the_spread():
    from ecgkd_lite.plots import series_colors

    narrow, wide = series_colors(2), series_colors(2, span=(0.15, 1.0))
    assert np.abs(np.subtract(*wide)).sum() > np.abs(np.subtract(*narrow)).sum()
    with pytest.raises(ConfigError, match="span must be"):
        series_colors(3, span=(0.9, 0.1))
