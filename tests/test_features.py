"""The naive feature reference (evaluate/features.py): R peaks, features, C chosen on validation, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from ecgkd_lite.data import load_synthetic
from ecgkd_lite.errors import BadSignalError, ConfigError
from ecgkd_lite.evaluate.features import C_GRID, FeatureLogistic, beat_features, r_peaks


@pytest.fixture(scope="module")
def data():
    return load_synthetic(120, fs=100, seconds=10.0, seed=5)


def test_r_peaks_match_the_generator_fiducials(data):
    """Detected peaks on lead I lie within 40 ms of the generator's R peaks for most beats."""
    hits, total = 0, 0
    for i in range(20):
        truth = data.fiducials[data.fiducials.record_id == data.record_ids[i]].r_peak.to_numpy()
        found = r_peaks(np.asarray(data.signals[i][[0]], dtype=float), data.fs)
        total += len(truth)
        hits += sum(np.min(np.abs(found - t)) <= 4 for t in truth) if len(found) else 0
    assert hits / total > 0.9


def test_features_shape_and_heart_rate(data):
    x = beat_features(data, ["I"])
    assert x.shape == (len(data), int(0.7 * data.fs) + 6 + 1)
    beats_per_s = x[:, -2]
    assert np.all((beats_per_s > 0.5) & (beats_per_s < 3.5))  # 30-210 bpm


def test_c_is_chosen_on_validation_and_predictions_are_probabilities(data):
    train, val, test = data.subset(np.arange(80)), data.subset(np.arange(80, 100)), data.subset(np.arange(100, 120))
    model = FeatureLogistic(("I",)).fit(train, val)
    assert set(model.val_auc) == set(C_GRID) and model.val_auc[model.C] == max(model.val_auc.values())
    p = model.predict(test)
    assert p.shape == (len(test), data.n_classes) and np.all((p >= 0) & (p <= 1))
    fixed = FeatureLogistic(("I",), C=0.1).fit(train, val)
    assert list(fixed.val_auc) == [0.1]


def test_bad_input_is_refused(data):
    with pytest.raises(ConfigError, match="lead 'X9' is not a standard lead"):
        beat_features(data, ["X9"])
    bad = data.subset(np.arange(5))
    bad.signals[2, 0, 10] = np.nan
    with pytest.raises(BadSignalError, match="beat features"):
        beat_features(bad, ["I"])
    with pytest.raises(ConfigError, match="predict before fit"):
        FeatureLogistic(("I",)).predict(data)
    with pytest.raises(ConfigError, match="C"):
        FeatureLogistic(("I",), C=-1.0).fit(data.subset(np.arange(40)), data.subset(np.arange(40, 60)))
