"""The paired bootstrap pooled over seeds: golden equalities with the single-seed tools, and the
verdicts it must give on a clearly better, an identical and a worse model."""

from __future__ import annotations

import numpy as np
import pytest

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate.paired import paired_bootstrap, paired_delta_ci
from ecgkd_lite.metrics import average_precision_macro, macro_auc


def scores(rng, y, signal):
    return 1 / (1 + np.exp(-(signal * (2 * y - 1) + rng.normal(size=y.shape))))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    y = (rng.random((300, 4)) < 0.3).astype(float)
    base = np.stack([scores(rng, y, 0.5) for _ in range(3)])
    better = np.stack([scores(rng, y, 1.5) for _ in range(3)])
    teacher = np.stack([scores(rng, y, 2.5) for _ in range(3)])
    return y, base, better, teacher


def test_point_scores_equal_the_package_metrics(data):
    y, base, _, _ = data
    pb = paired_bootstrap(y, {"b": base}, n_boot=5)
    assert pb.point["b"] == pytest.approx([macro_auc(y, p) for p in base], abs=1e-12)
    ap = paired_bootstrap(y, {"b": base}, "map", n_boot=5)
    assert ap.point["b"] == pytest.approx([average_precision_macro(y, p) for p in base], abs=1e-12)


def test_one_seed_equals_the_single_seed_paired_interval(data):
    """Same seed, same resampled rows: the pooled tool reduces to ``paired_delta_ci`` for one seed."""
    y, base, better, _ = data
    got = paired_bootstrap(y, {"new": better[0], "ref": base[0]}, n_boot=200, seed=3).delta("new", "ref")
    ref = paired_delta_ci(y, base[0], better[0], "macro_auc", n_boot=200, seed=3)
    assert got["estimate"] == pytest.approx(ref.estimate, abs=1e-12)
    assert got["ci95"] == pytest.approx([ref.low, ref.high], abs=1e-12)


def test_single_pair_interval_equals_resampling_the_arrays_with_skips():
    """``paired_delta_ci`` scores each resample from record multiplicities; the golden value is the
    plain loop that re-sorts the resampled arrays (``macro_auc`` per resample), with a rare class and
    tied scores so that some resamples lose every positive and are skipped, as ``bootstrap_ci`` does."""
    rng = np.random.default_rng(4)
    y = (rng.random((120, 3)) < [0.3, 0.2, 0.03]).astype(float)
    y[0, 2], y[1, 2] = 1, 0
    p_ref = np.round(scores(rng, y, 0.7), 1)  # ties
    p_new = np.round(scores(rng, y, 1.2), 1)
    golden, draws = [], np.random.default_rng(5)
    for _ in range(150):
        rows = draws.integers(0, len(y), size=len(y))
        if (y[rows].sum(0) > 0).all() and (y[rows].sum(0) < len(y)).all():
            golden.append(macro_auc(y[rows], p_new[rows]) - macro_auc(y[rows], p_ref[rows]))
    ci = paired_delta_ci(y, p_ref, p_new, "macro_auc", n_boot=150, seed=5)
    assert ci.n_skipped == 150 - len(golden) > 0
    assert [ci.low, ci.high] == pytest.approx(np.quantile(golden, [0.025, 0.975]), abs=1e-12)
    assert ci.estimate == pytest.approx(macro_auc(y, p_new) - macro_auc(y, p_ref), abs=1e-12)


def test_verdicts_better_level_and_gap_closed(data):
    y, base, better, teacher = data
    pb = paired_bootstrap(y, {"base": base, "better": better, "teacher": teacher, "same": base.copy()}, n_boot=300)
    up = pb.delta("better", "base")
    assert up["ci95"][0] > 0 and up["seeds_compared"] == 3 and up["p_not_better"] < 0.025
    same = pb.delta("same", "base")
    assert same["estimate"] == 0 and same["ci95"] == [0.0, 0.0]
    down = pb.delta("base", "better")
    assert down["ci95"][1] < 0
    gap = pb.gap_closed("better", "base", "teacher")
    expected = (better_mean := pb.point["better"].mean()) - pb.point["base"].mean()
    assert gap["estimate"] == pytest.approx(expected / (pb.point["teacher"].mean() - pb.point["base"].mean()))
    assert 0 < gap["ci95"][0] < gap["estimate"] < gap["ci95"][1] < 1 and better_mean > 0.5
    assert pb.gap_closed("teacher", "base", "teacher")["ci95"] == pytest.approx([1.0, 1.0])


def test_fewer_seeds_are_compared_on_the_seeds_they_have(data):
    y, base, better, _ = data
    pb = paired_bootstrap(y, {"base": base, "one": better[:1]}, n_boot=50)
    assert pb.delta("one", "base")["seeds_compared"] == 1
    assert pb.delta("one", "base")["estimate"] == pytest.approx(pb.point["one"][0] - pb.point["base"][0])


def test_bad_input_is_named(data):
    y, base, _, _ = data
    with pytest.raises(ConfigError, match="metric 'f1' is unknown"):
        paired_bootstrap(y, {"b": base}, "f1")
    with pytest.raises(ConfigError, match=r"probs\['b'\] must be \(S, N, C\)"):
        paired_bootstrap(y, {"b": base[:, :10]})
    bad = base.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ConfigError, match="NaN or inf"):
        paired_bootstrap(y, {"b": bad})
    with pytest.raises(ConfigError, match="n_boot must be an integer >= 1; got True"):
        paired_bootstrap(y, {"b": base}, n_boot=True)


def test_sorted_auc_equals_the_midrank_auc_on_every_resample():
    """The O(N) resample AUC (record multiplicities on a sort done once) equals the midrank macro AUC
    of the resampled records: ties (scores rounded to 2 places), duplicated records, and a class
    whose positives a resample can miss entirely."""
    from ecgkd_lite.evaluate.paired import _macro_auc, _SortedAUC

    rng = np.random.default_rng(1)
    y = (rng.random((200, 3)) < [0.3, 0.5, 0.02]).astype(float)
    p = np.round(rng.random((200, 3)) * 0.6 + 0.4 * y, 2)
    scorer = _SortedAUC(y, p)
    for _ in range(30):
        rows = rng.integers(0, 200, 200)
        fast = scorer(np.bincount(rows, minlength=200).astype(float))
        assert fast == pytest.approx(_macro_auc(y[rows], p[rows]), abs=1e-12)
    assert scorer(np.ones(200)) == pytest.approx(macro_auc(y, p), abs=1e-12)
    assert np.isnan(_SortedAUC(np.zeros((5, 1)), np.ones((5, 1)))(np.ones(5)))  # no positive: undefined


def test_sorted_ap_equals_the_average_precision_of_every_resample():
    """The O(N) resample AP equals the package's average precision (tied scores one threshold) of the
    resampled records: ties (scores rounded to 2 places), duplicated records, and a rare class that a
    resample can lose (left out of that resample's mean)."""
    from ecgkd_lite.evaluate.paired import _macro_ap, _SortedAP
    from ecgkd_lite.metrics import per_class_average_precision

    rng = np.random.default_rng(2)
    y = (rng.random((200, 3)) < [0.3, 0.5, 0.02]).astype(float)
    lost = 0
    for p in (np.round(rng.random((200, 3)) * 0.6 + 0.4 * y, 2), rng.random((200, 3)) * 0.6 + 0.4 * y):
        scorer = _SortedAP(y, p)
        for _ in range(30):
            rows = rng.integers(0, 200, 200)
            fast = scorer(np.bincount(rows, minlength=200).astype(float))
            assert fast == pytest.approx(per_class_average_precision(y[rows], p[rows]).mean(), abs=1e-12)
            lost += y[rows, 2].sum() == 0
        assert _macro_ap(y, p) == pytest.approx(average_precision_macro(y, p), abs=1e-12)
    assert lost > 0  # the rare class was missing from some resample
    assert np.isnan(_SortedAP(np.zeros((5, 1)), np.ones((5, 1)))(np.ones(5)))  # no positive: undefined
