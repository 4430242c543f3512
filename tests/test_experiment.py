"""The shared experiment recipe: preparation (train-only scaler), the restoration path, bad input."""

import numpy as np
import pytest

from ecgkd_lite import experiment
from ecgkd_lite.config import PROFILES
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.train.restoration import restore

TINY = PROFILES["quick"].with_(
    name="test", n_records=120, seconds=5.0, batch_size=16, teacher_epochs=1, student_epochs=1
)


@pytest.fixture(scope="module")
def prep():
    return experiment.prepare("synthetic", profile=TINY)


def test_prepare_scales_with_train_statistics_only(prep):
    assert (len(prep.train), len(prep.val), len(prep.test)) == (96, 12, 12)
    np.testing.assert_allclose(prep.train.signals.mean(axis=(0, 2)), 0, atol=1e-4)
    np.testing.assert_allclose(prep.train.signals.std(axis=(0, 2)), 1, atol=1e-3)
    assert abs(prep.test.signals.mean()) > 1e-6  # the test split was not re-centred on itself
    steps = [s["step"] for s in prep.train.preprocessing]
    assert steps[-2:] == ["bandpass", "standard_scale"] and prep.recipe["bandpass"] == experiment.BANDPASS
    again = experiment.prepare("synthetic", profile=TINY)  # from the on-disk cache, identical
    np.testing.assert_array_equal(again.test.signals, prep.test.signals)


def test_bad_sources_and_labeled_masks(prep):
    with pytest.raises(ConfigError, match="source='mitbih' is unknown"):
        experiment.load_source("mitbih", profile=TINY)
    with pytest.raises(ConfigError, match="needs root="):
        experiment.load_source("ptbxl", profile=TINY)
    with pytest.raises(ConfigError, match=r"labeled must be a bool per training record \(96\)"):
        experiment.train_student(prep, "baseline", size="tiny", labeled=np.ones(5, bool))
    with pytest.raises(ConfigError, match="split 'holdout' is unknown"):
        prep.split("holdout")


def test_restoration_net_records_its_rate_and_refuses_others(prep):
    from ecgkd_lite.data import resample

    net = experiment.train_restoration(prep, size="tiny").model
    assert net.trained_fs == prep.fs and net.trained_samples == 250
    out = restore(net, prep.test, trained_fs=net.trained_fs, trained_samples=net.trained_samples)
    assert out.signals.shape == prep.test.signals.shape
    with pytest.raises(ConfigError, match="trained at 100 Hz; the data is at 50 Hz"):
        restore(net, resample(prep.test, 50), trained_fs=net.trained_fs)


def test_ptbxl_sample_goes_through_the_same_recipe(ptbxl_root):
    p = experiment.prepare("ptbxl", profile=TINY, root=ptbxl_root)
    assert p.classes == ("NORM", "MI", "STTC", "CD", "HYP") and p.fs == 100
    assert len(p.train) + len(p.val) + len(p.test) == 390
    assert set(p.test.folds) == {10}


def test_semi_supervised_split_is_disjoint_and_leakage_is_refused(prep):
    """The leakage test: the unlabeled pool comes from the training folds only, never from validation
    or test, and a pool that does overlap them is refused with the shared ids named."""
    from ecgkd_lite.errors import SplitError

    labeled, pool = experiment.semi_supervised_split(prep, 0.1, seed=0)
    assert labeled.shape == (len(prep.train),) and labeled.dtype == bool
    assert labeled.sum() + len(pool) == len(prep.train)
    assert set(pool.record_ids) == set(prep.train.record_ids[~labeled])
    assert not set(pool.record_ids) & (set(prep.val.record_ids) | set(prep.test.record_ids))
    assert set(np.unique(pool.folds)) <= set(range(1, 9))
    leaky = prep.test.subset([0, 1])
    with pytest.raises(SplitError, match=rf"shares 2 record\(s\) with test \(e\.g\. \['{leaky.record_ids[0]}'"):
        experiment.check_disjoint(leaky, val=prep.val, test=prep.test)
    with pytest.raises(SplitError, match=r"labeled ratio must be > 0 and <= 1"):
        experiment.semi_supervised_split(prep, 1.5)
