"""Cross-validation folds (multi-label iterative stratification) and the paired per-class AUC interval."""

import numpy as np
import pytest

from ecgkd_lite.data import ECGData
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate import cv_folds, paired_class_delta_ci, stratified_folds
from ecgkd_lite.evaluate.folds import Fold, check_folds
from ecgkd_lite.metrics import per_class_auc


def _labels(n=400, seed=0):
    rng = np.random.default_rng(seed)
    # a common class, a few mid ones and rare ones (10-20 positives), as in ptbxl-2k
    return (rng.random((n, 6)) < [0.8, 0.3, 0.1, 0.05, 0.04, 0.03]).astype(np.float32)


def _data(n=400, seed=0):
    y = _labels(n, seed)
    folds = np.where(np.arange(n) % 5 == 0, 10, np.where(np.arange(n) % 5 == 1, 9, 1))
    return ECGData(
        signals=np.zeros((n, 1, 20), np.float32),
        labels=y,
        classes=tuple("abcdef"),
        fs=2.0,
        folds=folds,
        record_ids=np.arange(n).astype(str),
        leads=("I",),
    )


@pytest.mark.parametrize("k", [2, 3, 5])
def test_every_record_tested_once_and_parts_disjoint(k):
    y = _labels()
    folds = stratified_folds(y, k, seed=1)
    assert len(folds) == k
    tested = np.concatenate([f.test for f in folds])
    assert np.array_equal(np.sort(tested), np.arange(len(y)))
    for f in folds:
        assert not set(f.train) & set(f.val) and not set(f.test) & (set(f.train) | set(f.val))
        assert len(f.train) + len(f.val) + len(f.test) == len(y)


def test_validation_is_carved_from_the_training_part():
    y = _labels()
    for f in stratified_folds(y, 5, seed=0, val_fraction=0.2):
        assert len(f.val) == pytest.approx(0.2 * (len(f.val) + len(f.train)), abs=1)
        assert (y[f.val].sum(0) > 0).all()  # every class reaches early stopping's validation


def test_deterministic_for_a_seed_and_different_across_seeds():
    y = _labels()
    a, b, c = (stratified_folds(y, 5, seed=s) for s in (3, 3, 4))
    for fa, fb in zip(a, b):
        assert all(np.array_equal(getattr(fa, p), getattr(fb, p)) for p in ("train", "val", "test"))
    assert any(not np.array_equal(fa.test, fc.test) for fa, fc in zip(a, c))


@pytest.mark.parametrize("seed", range(4))
def test_label_balance_within_one_of_ideal(seed):
    """Stated bound: each class's positives in each test fold lie strictly within 1 of pool / k."""
    y = _labels(seed=seed)
    for k in (3, 5):
        folds = stratified_folds(y, k, seed=seed)
        per_fold = np.stack([y[f.test].sum(0) for f in folds])
        assert np.abs(per_fold - y.sum(0) / k).max() < 1


def test_cv_folds_keeps_the_holdout_out_and_indexes_the_container():
    data = _data()
    plan = cv_folds(data, 4, seed=0)
    assert np.array_equal(plan.holdout, np.flatnonzero(data.folds == 10))
    assert not set(plan.holdout) & set(plan.pool)
    for f in plan.folds:
        assert not set(plan.holdout) & (set(f.train) | set(f.val) | set(f.test))
    assert np.array_equal(np.sort(np.concatenate([f.test for f in plan.folds])), plan.pool)
    table = plan.positives(data.labels, data.classes)
    assert list(table.index) == list(data.classes) and (table["max_deviation"] < 1).all()
    assert len(data.subset(plan.folds[0].train)) == len(plan.folds[0].train)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 1}, "k must be"),
        ({"k": 2.0}, "k must be"),
        ({"k": True}, "k must be"),
        ({"seed": -1}, "seed must be"),
        ({"seed": "0"}, "seed must be"),
        ({"seed": 1.5}, "seed must be"),
        ({"val_fraction": 0.0}, "val_fraction"),
        ({"val_fraction": 0.7}, "val_fraction"),
        ({"k": 50}, "positive"),  # the rarest class has fewer than 50 positives
        ({"k": 500}, "at least 500 records"),
    ],
)
def test_bad_arguments_raise_config_error(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        stratified_folds(_labels(), **kwargs)


def test_bad_labels_and_holdout_names_raise_config_error():
    with pytest.raises(ConfigError, match="multi-hot"):
        stratified_folds(np.full((20, 2), 0.5), 2)
    with pytest.raises(ConfigError, match="unknown"):
        cv_folds(_data(), 3, holdout_splits=("dev",))


def test_check_folds_catches_overlap_and_gaps():
    good = [
        Fold(0, np.array([2, 3]), np.array([4]), np.array([0, 1])),
        Fold(1, np.array([0, 1]), np.array([4]), np.array([2, 3])),
    ]
    with pytest.raises(ConfigError, match="in no test fold"):
        check_folds(good, 5)
    with pytest.raises(ConfigError, match="not disjoint"):
        check_folds([Fold(0, np.array([0, 1]), np.array([2]), np.array([0]))], 1)


def test_paired_class_delta_ci_is_paired_and_matches_auc():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 3)) < [0.5, 0.2, 0.1]).astype(float)
    p_ref = y * 0.3 + rng.random(y.shape)
    p_new = y * 1.5 + rng.random(y.shape)
    table = paired_class_delta_ci(y, p_ref, p_new, list("xyz"), n_boot=200, seed=0)
    ref, new = per_class_auc(y, p_ref).to_numpy(), per_class_auc(y, p_new).to_numpy()
    assert np.allclose(table["auc_ref"], ref) and np.allclose(table["delta"], new - ref)
    assert (
        (table["low"] > 0).all() and (table["low"] <= table["delta"]).all() and (table["delta"] <= table["high"]).all()
    )
    same = paired_class_delta_ci(y, p_ref, p_ref, n_boot=50)
    assert np.allclose(same[["delta", "low", "high"]].to_numpy(), 0)  # paired: identical models differ by exactly 0
    y[:, 2] = 0
    assert np.isnan(paired_class_delta_ci(y, p_ref, p_new, n_boot=20).loc[2, "delta"])
    with pytest.raises(ConfigError):
        paired_class_delta_ci(y, p_ref, p_new[:, :2])
