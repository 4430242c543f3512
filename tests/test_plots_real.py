"""Real-data figures: per-class AUC beside prevalence (sorted, NaN not drawn), LUDB wave shading per lead,
Grad-CAM examples (one block of rows per example, zero maps said), and their errors."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.plots import WAVE_COLORS, plot_class_auc, plot_gradcam_examples, plot_ludb_waves


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _panels():
    real = pd.DataFrame(
        {"out-of-fold": [0.9, 0.6, 0.75], "hold-out": [0.95, np.nan, 0.7], "prevalence": [40.0, 1.5, 8.0]},
        index=["A", "B", "C"],
    )
    syn = pd.DataFrame({"test": [0.99, 0.97], "prevalence": [10.0, 12.0]}, index=["X", "Y"])
    return {"synthetic": syn, "real": real}


def test_class_auc_sorted_labelled_and_nan_left_out():
    fig = plot_class_auc(_panels(), title="t")
    (ax_syn, ax_real), (prev_syn, prev_real) = np.asarray(fig.axes).reshape(2, 2)
    assert ax_syn.get_ylabel() == "test AUC\n(axis starts at 0.35)" and "%" in prev_syn.get_ylabel()
    assert [t.get_text() for t in prev_real.get_xticklabels()] == ["A", "C", "B"]  # by the first series, best first
    series = {line.get_label(): line for line in ax_real.get_lines()}
    assert series["out-of-fold"].get_ydata().tolist() == [0.9, 0.75, 0.6]
    assert series["hold-out"].get_xdata().tolist() == [0, 1]  # B's NaN is not drawn
    assert "chance (0.5)" in series and ax_real.get_legend() is not None
    assert prev_real.get_yscale() == "log"
    assert not prev_real.patches  # points, not bars: a bar on a log axis has no meaningful length
    assert [line.get_ydata().tolist() for line in prev_real.get_lines()] == [[40.0, 8.0, 1.5]]


@pytest.mark.parametrize(
    "panels, match",
    [
        ({}, "empty"),
        ({"p": pd.DataFrame({"auc": [0.9]}, index=["A"])}, "prevalence"),
        ({"p": pd.DataFrame({"auc": [0.9], "prevalence": [0.0]}, index=["A"])}, "percentage"),
    ],
)
def test_class_auc_errors(panels, match):
    with pytest.raises(ConfigError, match=match):
        plot_class_auc(panels)


def _waves(n_leads=2, t=500):
    masks = {w: np.zeros((n_leads, t), dtype=bool) for w in WAVE_COLORS}
    masks["P"][:, 50:80] = True
    masks["PR"][:, 50:110] = True
    masks["QRS"][:, 110:150] = True
    masks["ST"][:, 150:200] = True
    masks["T"][:, 200:260] = True
    return masks


def test_ludb_waves_shades_each_lead_and_legend_names_every_wave():
    x = np.sin(np.linspace(0, 20, 500))[None].repeat(2, 0)
    fig = plot_ludb_waves(x, 250.0, ["I", "II"], _waves(), window=(0.0, 1.5), title="record")
    axes = fig.axes
    assert len(axes) == 2 and axes[1].get_xlabel() == "time (s)"
    assert [ax.get_ylabel() for ax in axes] == ["lead I (mV)", "lead II (mV)"]
    assert all(len(ax.patches) == 5 for ax in axes)  # one run of each wave per lead
    assert axes[0].get_xlim() == (0.0, 1.5)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["P wave", "PR interval (P onset to QRS onset)", "QRS complex", "ST segment", "T wave"]


@pytest.mark.parametrize(
    "signals, waves, match",
    [
        (np.zeros((3, 500)), _waves(), "one row per lead"),
        (np.zeros((2, 500)), {"U": np.zeros((2, 500), bool)}, "unknown wave"),
        (np.zeros((2, 500)), {"P": np.zeros((2, 400), bool)}, "shape"),
    ],
)
def test_ludb_waves_errors(signals, waves, match):
    with pytest.raises(ConfigError, match=match):
        plot_ludb_waves(signals, 250.0, ["I", "II"], waves)


def _example(rid, zero_student):
    m = np.linspace(0, 1, 100)
    return {
        "class": "LAD",
        "region": "QRS",
        "record_id": rid,
        "labels": ["LAD"],
        "span": [10, 90],
        "region_runs": [[20, 30], [60, 70]],
        "teacher_map": m.tolist(),
        "teacher_zero_map": False,
        "teacher_no_relu_map": m[::-1].tolist(),
        "student_map": (0 * m).tolist() if zero_student else m.tolist(),
        "student_zero_map": zero_student,
    }


def test_gradcam_examples_rows_and_zero_maps_said():
    examples = [_example("1", False), _example("2", True)]
    fig = plot_gradcam_examples(examples, {"1": np.zeros(500), "2": np.zeros(500)}, 500.0, 100.0)
    axes = fig.axes
    assert len(axes) == 6  # trace, teacher, student per example
    assert axes[-1].get_xlabel() == "time (s)" and all(ax.get_ylabel() for ax in axes)
    zero_notes = [ax for ax in axes if any("all zero" in t.get_text() for t in ax.texts)]
    assert zero_notes == [axes[5]]
    assert len(axes[1].get_lines()) >= 1  # the no-ReLU line of the teacher
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[0] == "scored region: QRS complex" and "annotated span (scored inside)" in labels


def test_gradcam_examples_errors():
    with pytest.raises(ConfigError, match="empty"):
        plot_gradcam_examples([], {}, 500.0, 100.0)
    with pytest.raises(ConfigError, match="no trace"):
        plot_gradcam_examples([_example("7", False)], {}, 500.0, 100.0)
