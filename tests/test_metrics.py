"""Metrics: golden values against scikit-learn and committed numbers, undefined classes, bad input."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate import (
    average_precision_macro,
    bootstrap_ci,
    evaluate,
    gap_closed,
    macro_auc,
    macro_f1,
    per_class_auc,
    per_class_average_precision,
    tune_thresholds,
)

# 8 records x 3 classes, hand-made (class 0 has one mis-ordered pair out of 16 -> AUC 15/16)
Y = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1], [1, 1, 0], [0, 0, 0]], float)
P = np.array(
    [
        [0.9, 0.2, 0.6],
        [0.3, 0.1, 0.8],
        [0.7, 0.8, 0.3],
        [0.4, 0.6, 0.55],
        [0.35, 0.3, 0.2],
        [0.2, 0.45, 0.7],
        [0.8, 0.7, 0.4],
        [0.1, 0.5, 0.65],
    ]
)


@pytest.fixture(scope="module")
def random_scores():
    """400 x 5 scores with ties (rounded to 2 decimals) and informative signal."""
    rng = np.random.default_rng(0)
    y = (rng.random((400, 5)) < 0.25).astype(float)
    p = np.round(0.6 * rng.random((400, 5)) + 0.3 * y, 2)
    return y, p


def test_committed_golden_numbers():
    report = evaluate(Y, P)
    assert report["per_class_auc"].tolist() == pytest.approx([0.9375, 1.0, 0.875])
    assert report["macro_auc"] == pytest.approx(0.9375)
    assert report["map"] == pytest.approx(0.9458333333333333)
    assert report["macro_f1"] == pytest.approx(0.8677248677248676)  # default threshold 0.5
    assert report["missing_classes"] == []
    np.testing.assert_allclose(tune_thresholds(Y, P), [0.35, 0.6, 0.55])
    assert macro_f1(Y, P, tune_thresholds(Y, P)) == pytest.approx(0.9259259259259259)


def test_auc_and_ap_match_sklearn_with_ties(random_scores):
    y, p = random_scores
    expected_auc = [roc_auc_score(y[:, c], p[:, c]) for c in range(5)]
    np.testing.assert_allclose(per_class_auc(y, p).to_numpy(), expected_auc, rtol=1e-12)
    np.testing.assert_allclose(
        per_class_average_precision(y, p).to_numpy(), average_precision_score(y, p, average=None), rtol=1e-12
    )
    assert macro_auc(y, p) == pytest.approx(roc_auc_score(y, p, average="macro"), rel=1e-12)
    assert average_precision_macro(y, p) == pytest.approx(average_precision_score(y, p, average="macro"), rel=1e-12)


def test_macro_f1_matches_sklearn(random_scores):
    y, p = random_scores
    thresholds = np.array([0.3, 0.4, 0.5, 0.6, 0.45])
    expected = f1_score(y, p >= thresholds, average="macro", zero_division=0)
    assert macro_f1(y, p, thresholds) == pytest.approx(expected, rel=1e-12)
    assert macro_f1(y, p, 0.5) == pytest.approx(f1_score(y, p >= 0.5, average="macro", zero_division=0), rel=1e-12)


def test_tuned_thresholds_maximise_validation_f1(random_scores):
    y, p = random_scores
    thresholds = tune_thresholds(y, p)
    for c in range(5):
        best = f1_score(y[:, c], p[:, c] >= thresholds[c])
        others = [f1_score(y[:, c], p[:, c] >= t) for t in np.unique(p[:, c])]
        assert best == pytest.approx(max(others))


def test_evaluate_uses_validation_thresholds_not_test(random_scores):
    y, p = random_scores
    y_val, p_val, y_test, p_test = y[:200], p[:200], y[200:], p[200:]
    report = evaluate(y_test, p_test, y_val=y_val, p_val=p_val)
    np.testing.assert_array_equal(report["thresholds"], tune_thresholds(y_val, p_val))
    assert report["macro_f1"] == pytest.approx(macro_f1(y_test, p_test, tune_thresholds(y_val, p_val)))


def test_undefined_class_is_excluded_and_reported():
    y = Y.copy()
    y[:, 1] = 0  # class 1: no positive -> AUC and AP undefined
    report = evaluate(y, P, classes=["A", "B", "C"])
    assert np.isnan(report["per_class_auc"]["B"])
    assert report["missing_classes"] == ["B"]
    assert report["macro_auc"] == pytest.approx((0.9375 + 0.875) / 2)
    assert np.isnan(per_class_average_precision(y, P).iloc[1])
    assert np.isnan(macro_auc(np.zeros_like(Y), P))
    assert tune_thresholds(y, P)[1] == 0.5  # no positive in validation: default threshold


@pytest.mark.parametrize(
    "y, p, message",
    [
        (Y[:5], P, "y_test has shape (5, 3) but p_test has shape (8, 3)"),
        (Y, np.where(P > 0.85, np.nan, P), "p_test contains 1 NaN"),
        (np.where(Y == 1, 2.0, Y), P, "y_test must hold only 0 and 1"),
    ],
)
def test_bad_input_names_the_argument(y, p, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        evaluate(y, p)


def test_bad_thresholds_and_half_given_validation():
    with pytest.raises(ConfigError, match="thresholds must be a number or one per class"):
        macro_f1(Y, P, [0.5, 0.5])
    with pytest.raises(ConfigError, match="both y_val and p_val"):
        evaluate(Y, P, y_val=Y)
    with pytest.raises(ConfigError, match="p_val contains"):
        tune_thresholds(Y, np.full_like(P, np.inf))


def test_bootstrap_interval_committed_and_counts_skips():
    ci = bootstrap_ci(Y, P, "macro_auc", n_boot=200, seed=0)
    assert (ci.low, ci.high) == pytest.approx((0.7916666666666666, 1.0))
    assert ci.estimate == pytest.approx(0.9375)
    assert ci.n_skipped == 6  # resamples of 8 records that lose every positive/negative of a class
    assert ci.low <= ci.estimate <= ci.high
    assert bootstrap_ci(Y, P, "macro_auc", n_boot=200, seed=0) == ci  # deterministic given the seed


def test_bootstrap_interval_narrows_with_more_records(random_scores):
    y, p = random_scores
    wide = bootstrap_ci(y[:50], p[:50], "map", n_boot=100)
    narrow = bootstrap_ci(y, p, "map", n_boot=100)
    assert narrow.high - narrow.low < wide.high - wide.low
    custom = bootstrap_ci(y, p, lambda yy, pp: macro_f1(yy, pp, 0.5), n_boot=50)
    assert custom.n_skipped == 0 and custom.low < custom.high


def test_bootstrap_bad_arguments():
    with pytest.raises(ConfigError, match="metric 'auc' is unknown"):
        bootstrap_ci(Y, P, "auc")
    with pytest.raises(ConfigError, match="alpha must lie in"):
        bootstrap_ci(Y, P, "map", alpha=1.5)
    with pytest.raises(ConfigError, match="undefined in all 5"):
        bootstrap_ci(Y, P, lambda yy, pp: float("nan"), n_boot=5)


def test_gap_closed():
    assert gap_closed(0.85, 0.80, 0.90) == pytest.approx(0.5)
    assert gap_closed(0.78, 0.80, 0.90) == pytest.approx(-0.2)
    with pytest.raises(ConfigError, match=r"teacher \(0.8\) equals student_base \(0.8\)"):
        gap_closed(0.85, 0.80, 0.80)
    with pytest.raises(ConfigError, match="student_kd must be a finite number"):
        gap_closed(float("nan"), 0.80, 0.90)
