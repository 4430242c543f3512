"""evaluate/noise.py: a model's probabilities in the four (truth, label) cells of noisy labels."""

from __future__ import annotations

import numpy as np
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate.noise import label_noise_view


def test_cells_counts_means_and_both_aucs():
    y_true = np.array([[1], [1], [1], [0], [0], [0]])
    y_seen = np.array([[1], [1], [0], [1], [0], [0]])  # one omission, one false positive
    probs = np.array([[0.9], [0.8], [0.7], [0.2], [0.1], [0.3]])
    view = label_noise_view(y_seen, y_true, probs, ["AMI"]).loc["AMI"]
    assert view["n labelled positive"] == 2 and view["n omitted positive"] == 1
    assert view["n false positive"] == 1 and view["n labelled negative"] == 2
    assert view["p labelled positive"] == pytest.approx(0.85) and view["p omitted positive"] == pytest.approx(0.7)
    assert view["p false positive"] == pytest.approx(0.2) and view["p labelled negative"] == pytest.approx(0.2)
    assert view["AUC true labels"] == pytest.approx(1.0)  # the model ranks the truth perfectly
    # against the noisy labels: positives {0.9, 0.8, 0.2}, negatives {0.7, 0.1, 0.3}: 7 of 9 pairs
    assert view["AUC seen labels"] == pytest.approx(7 / 9)


def test_an_empty_cell_is_nan_not_zero():
    y = np.array([[1], [0]])
    view = label_noise_view(y, y, np.array([[0.6], [0.4]]), ["X"]).loc["X"]
    assert view["n omitted positive"] == 0 and np.isnan(view["p omitted positive"])


def test_bad_input_is_named():
    y = np.zeros((3, 2))
    with pytest.raises(ConfigError, match="share one"):
        label_noise_view(y, y, np.zeros((3, 1)), ["a", "b"])
    with pytest.raises(ConfigError, match="y_true must hold only 0 and 1"):
        label_noise_view(y, y + 0.5, np.zeros((3, 2)), ["a", "b"])
    with pytest.raises(ConfigError, match="probs must be finite"):
        label_noise_view(y, y, np.full((3, 2), np.nan), ["a", "b"])


def test_truly_positive_follows_the_truth_where_kept_and_the_label_otherwise():
    import pandas as pd

    from ecgkd_lite.evaluate.noise import truly_positive

    class Data:  # the three attributes truly_positive reads from an ECGData
        classes = ("NORM", "AMI")
        labels = np.array([[0, 1], [0, 1], [1, 0], [1, 0]])
        meta = pd.DataFrame({"true_AMI": [1, 0, 1, 0]})  # record 1 a false positive, record 2 an omission

    assert truly_positive(Data, "AMI").tolist() == [True, False, True, False]
    assert truly_positive(Data, "AMI", labelled=True).tolist() == [True, False, False, False]
    assert truly_positive(Data, "NORM").tolist() == [False, False, True, True]  # no truth kept: the labels
    Data.meta = None
    assert truly_positive(Data, "AMI").tolist() == [True, True, False, False]
    with pytest.raises(ConfigError, match="'IMI' is not in the data's classes"):
        truly_positive(Data, "IMI")


def test_true_labels_of_each_generator_and_clear_errors():
    """v2: the kept noise-free columns (they differ from the seen labels somewhere); v1: the labels
    themselves (no noise); a real source or v2 data without the columns: a named ConfigError."""
    import dataclasses

    from ecgkd_lite.data.synthetic import load_synthetic
    from ecgkd_lite.data.synthetic_v2 import load_synthetic_v2
    from ecgkd_lite.evaluate.noise import true_labels

    v2 = load_synthetic_v2(400, fs=100, seconds=2.0, seed=0)
    truth = true_labels(v2, "synthetic_v2")
    assert truth.shape == v2.labels.shape and set(np.unique(truth)) <= {0.0, 1.0}
    assert (truth != v2.labels).any(), "v2's label noise makes the truth differ from the seen labels"
    v1 = load_synthetic(50, fs=100, seconds=2.0, seed=0)
    assert np.array_equal(true_labels(v1, "synthetic"), v1.labels)
    with pytest.raises(ConfigError, match="'ptbxl2k' has no noise-free labels"):
        true_labels(v1, "ptbxl2k")
    lost = dataclasses.replace(v2, meta=v2.meta.drop(columns=[f"true_{v2.classes[3]}"]))
    with pytest.raises(ConfigError, match=f"no column 'true_{v2.classes[3]}'"):
        true_labels(lost, "synthetic_v2")
