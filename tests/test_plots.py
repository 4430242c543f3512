"""Plot functions: a figure is produced, axes are labelled, nothing non-finite is drawn, bad input errors."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.plots import GRID_LAYOUT, METHOD_COLORS, method_color, plot_12lead, plot_strip, save_figure


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
    assert labels == ["ground-truth region", "saliency"]
    _finite_lines(fig)


def test_strip_rejects_mismatched_overlays():
    y = np.zeros(100)
    with pytest.raises(ConfigError, match="regions"):
        plot_strip(y, 100, regions=np.zeros(50, bool))
    with pytest.raises(ConfigError, match="saliency"):
        plot_strip(y, 100, saliency=np.full(100, np.nan))


def test_method_colours_are_stable_and_families_share():
    assert method_color("liteheart") == METHOD_COLORS["liteheart"]
    assert method_color("liteheart-no_mi") == METHOD_COLORS["liteheart"]
    assert method_color("something_new") == method_color("something_new")


def test_save_figure_writes_png(tmp_path):
    fig = plot_strip(np.zeros(100), 100)
    path = save_figure(fig, "strip", folder=tmp_path, dpi=50)
    assert path.exists() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ConfigError, match="plain stem"):
        save_figure(fig, "a/b.png", folder=tmp_path)
