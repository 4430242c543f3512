"""Plot functions: a figure is produced, axes are labelled, nothing non-finite is drawn, bad input errors."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.plots import (
    GRID_LAYOUT,
    METHOD_COLORS,
    mark_axis_break,
    method_color,
    plot_12lead,
    plot_strip,
    save_figure,
    series_colors,
)


def _record(fs=100, seconds=10):
    t = np.arange(int(fs * seconds)) / fs
    return np.stack([np.sin(2 * np.pi * 1.1 * t) * (0.3 + 0.1 * i) for i in range(12)])


def _finite_lines(fig):
    for ax in fig.axes:
        for line in ax.get_lines():
            assert np.isfinite(np.asarray(line.get_xydata(), dtype=float)).all()


def test_12lead_grid_draws_every_lead_label_and_rhythm_strip():
    fig = plot_12lead(_record(), 100, title="rec-1")
    texts = [t.get_text() for t in fig.axes[0].texts]
    for row in GRID_LAYOUT:
        for lead in row:
            assert lead in texts
    assert texts.count("II") == 2  # grid cell + rhythm strip
    assert "25 mm/s, 10 mm/mV" in texts
    assert fig.axes[0].get_title(loc="left") == "rec-1"
    # 12 grid segments + 1 rhythm strip + 4 calibration pulses
    assert len(fig.axes[0].get_lines()) == 12 + 1 + 4
    _finite_lines(fig)


def test_12lead_grid_is_at_clinical_scale():
    sig = np.zeros((12, 1000))
    sig[0, 100:110] = 1.0  # a 1 mV step in lead I
    fig = plot_12lead(sig, 100)
    lead_I = fig.axes[0].get_lines()[1]  # line 0 is row 0's calibration pulse
    y = lead_I.get_ydata()
    assert np.isclose(y.max() - y.min(), 10.0)  # 10 mm per mV
    x = lead_I.get_xdata()
    assert np.isclose(x[100] - x[0], 25.0)  # 25 mm per second


def test_12lead_lead_names_sit_on_a_white_patch_above_the_traces():
    fig = plot_12lead(_record() * 8, 100)  # tall traces run through the name positions
    ax = fig.axes[0]
    names = [t for t in ax.texts if (t.get_gid() or "").startswith("lead-name:")]
    assert len(names) == 13  # 12 grid cells + the rhythm strip
    top_trace = max(line.get_zorder() for line in ax.get_lines())
    for text in names:
        patch = text.get_bbox_patch()
        assert patch is not None and matplotlib.colors.to_rgb(patch.get_facecolor()) == (1.0, 1.0, 1.0)
        assert text.get_zorder() > top_trace


def test_strip_legend_sits_above_the_axes_and_covers_no_trace():
    y = _record()[0]
    regions = np.zeros_like(y, dtype=bool)
    regions[800:900] = True  # a region at the right end, where an in-axes legend would sit
    fig = plot_strip(y, 100, regions=regions, saliency=np.linspace(0, 1, y.size), title="x")
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    frame = ax.get_window_extent(renderer)
    assert legend.y0 >= frame.y1 - 1  # above the data area...
    title = ax.title if ax.title.get_text() else ax._left_title
    assert not legend.overlaps(title.get_window_extent(renderer))  # ...and beside the title


@pytest.mark.parametrize("bad, match", [(np.zeros((11, 1000)), "12 leads"), (np.zeros(1000), r"\(leads, T\)")])
def test_12lead_grid_rejects_bad_shape(bad, match):
    with pytest.raises(ConfigError, match=match):
        plot_12lead(bad, 100)


def test_12lead_grid_rejects_nan():
    sig = _record()
    sig[3, 5] = np.nan
    with pytest.raises(ConfigError, match="NaN"):
        plot_12lead(sig, 100)


def test_strip_with_regions_and_saliency():
    y = _record()[0]
    regions = np.zeros_like(y, dtype=bool)
    regions[200:300] = True
    sal = np.linspace(0, 1, y.size)
    fig = plot_strip(y, 100, lead="I", regions=regions, saliency=sal, title="x")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "lead I (mV)"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["ground-truth region"]  # no one-colour "saliency" legend entry...
    (colourbar,) = [a for a in fig.axes if a is not ax]  # ...but a colour bar with the saliency's scale
    assert colourbar.get_ylabel() == "saliency"
    _finite_lines(fig)


def test_strip_without_its_own_colour_bar():
    y = _record()[0]
    fig = plot_strip(y, 100, saliency=np.linspace(0, 1, y.size), colorbar=False)
    assert len(fig.axes) == 1 and fig.axes[0].get_legend() is None


def test_strip_rejects_mismatched_overlays():
    y = np.zeros(100)
    with pytest.raises(ConfigError, match="regions"):
        plot_strip(y, 100, regions=np.zeros(50, bool))
    with pytest.raises(ConfigError, match="saliency"):
        plot_strip(y, 100, saliency=np.full(100, np.nan))


def test_method_colours_are_stable_and_families_share():
    assert method_color("liteheart") == METHOD_COLORS["liteheart"]
    assert method_color("liteheart-unknown_variant") == METHOD_COLORS["liteheart"]
    assert method_color("something_new") == method_color("something_new")


def test_baseline_and_dkd_are_told_apart():
    assert method_color("baseline") != method_color("dkd")


def test_truncated_axis_gets_a_break_mark_and_a_note():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.bar([0, 1], [0.9, 0.95])
    ax.set_ylim(0.8, 1.0)
    ax.set_ylabel("test AUC")
    assert mark_axis_break(ax) is True
    assert ax.get_ylabel() == "test AUC\n(axis starts at 0.8)"
    assert [line.get_gid() for line in ax.get_lines()] == ["axis-break:y"]
    assert ax.get_ylim() == pytest.approx((0.8, 1.0))  # the mark does not move the limits
    assert mark_axis_break(ax) is False  # once only
    fig2, ax2 = plt.subplots()
    ax2.bar([0, 1], [0.9, 0.95])
    assert mark_axis_break(ax2) is False and not ax2.get_lines()  # starts at 0: nothing to mark
    with pytest.raises(ConfigError, match="axis must be"):
        mark_axis_break(ax2, "z")
    plt.close(fig)
    plt.close(fig2)


def test_series_colours_are_no_method_colours():
    colours = series_colors(4)
    assert len(set(colours)) == 4
    methods = {matplotlib.colors.to_rgb(c) for c in METHOD_COLORS.values()}
    assert not {c[:3] for c in colours} & methods
    with pytest.raises(ConfigError, match="n must be at least 1"):
        series_colors(0)


def test_save_figure_writes_png(tmp_path):
    fig = plot_strip(np.zeros(100), 100)
    path = save_figure(fig, "strip", folder=tmp_path, dpi=50)
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="plain stem"):
        save_figure(fig, "a/b.png", folder=tmp_path)


def test_variants_take_their_methods_label_and_colour():
    from ecgkd_lite.plots import method_label

    assert (
        method_label("fitnets-tuned") == "FitNets (tuned)" and method_color("fitnets-tuned") == METHOD_COLORS["fitnets"]
    )
    assert method_label("evl_ecg@printout") == "EVL-ECG (ECG-image teacher)"
    assert method_color("evl_ecg@printout") == METHOD_COLORS["evl_ecg"]
    assert method_label("teacher@printout") == "ECG-image teacher"
    assert method_label("vanilla_kd/tiny") == "Vanilla KD, tiny"
    assert method_label("features-lead_I").startswith("Features, lead I")
    assert method_label("something_new") == "something_new"


def _lab(rgb):
    """CIE L*a*b* (D65) of sRGB colours in [0, 1], shape (..., 3)."""
    rgb = np.asarray(rgb, dtype=float)
    lin = np.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = lin @ m.T / np.array([0.9505, 1.0, 1.089])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def test_no_method_colour_is_a_shade_of_the_non_method_series():
    """One meaning per colour: the series shades (metrics, temperatures, conditions) stay far from every
    method's colour (CIE76 distance; 15 is a clearly visible difference)."""
    shades = _lab([c[:3] for c in series_colors(50, span=(0.15, 1.0))])
    close = {
        name: round(float(np.linalg.norm(shades - _lab(matplotlib.colors.to_rgb(c)), axis=1).min()), 1)
        for name, c in METHOD_COLORS.items()
    }
    assert {n: d for n, d in close.items() if d < 15} == {}


def test_12lead_gain_follows_the_unit_and_a_bad_gain_is_refused():
    import matplotlib.pyplot as plt

    record = _record()
    footers = {}
    for unit, gain in (("mV", None), ("z", None), ("mV", 5.0)):
        fig = plot_12lead(record, 100, unit=unit, gain_mm=gain)
        footers[unit, gain] = [t.get_text() for t in fig.axes[0].texts if t.get_text().startswith("25 mm/s")][0]
        plt.close(fig)
    assert footers["mV", None] == "25 mm/s, 10 mm/mV"
    assert footers["z", None].startswith("25 mm/s, 4 mm per z-unit")
    assert footers["mV", 5.0] == "25 mm/s, 5 mm/mV"
    with pytest.raises(ConfigError, match="gain_mm must be positive"):
        plot_12lead(record, 100, gain_mm=0)
