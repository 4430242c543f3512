"""ECGData: shapes, selection, splits, labeled/unlabeled split, validation, persistence, preprocessing."""

import numpy as np
import pandas as pd
import pytest

from ecgkd_lite.data import CLASS_NAMES, ECGData, StandardScaler, bandpass, resample
from ecgkd_lite.errors import BadSignalError, ConfigError, DataError, LeadMismatchError, SplitError


def make(n=40, t=200, fs=100, seed=0):
    rng = np.random.default_rng(seed)
    sig = rng.normal(size=(n, 12, t)).astype(np.float32)
    labels = (rng.random((n, len(CLASS_NAMES))) < 0.2).astype(np.float32)
    ids = [f"r{i:03d}" for i in range(n)]
    regions = pd.DataFrame(
        {"record_id": ids[:3], "class": ["AMI", "PVC", "AMI"], "start": [10, 20, 30], "end": [15, 40, 31]}
    )
    return ECGData(
        signals=sig,
        labels=labels,
        classes=CLASS_NAMES,
        fs=fs,
        folds=np.arange(n) % 10 + 1,
        record_ids=ids,
        regions=regions,
        source="test",
    )


def test_basic_facts_and_summary():
    d = make()
    assert (len(d), d.n_leads, d.n_samples, d.n_classes, d.seconds) == (40, 12, 200, 15, 2.0)
    s = d.summary()
    assert list(s.columns) == ["train", "val", "test"]
    assert s.values.sum() == d.labels.sum()


def test_splits_follow_ptbxl_folds():
    d = make()
    tr, va, te = d.splits()
    assert set(tr.folds) == set(range(1, 9)) and set(va.folds) == {9} and set(te.folds) == {10}
    assert len(tr) + len(va) + len(te) == len(d)
    assert not set(tr.record_ids) & set(te.record_ids)


def test_empty_split_and_unknown_split_raise():
    d = make().subset(np.arange(8))  # folds 1..8 only
    with pytest.raises(SplitError, match="'test'.*empty"):
        d.split("test")
    with pytest.raises(ConfigError, match="holdout"):
        d.split("holdout")


def test_select_leads_by_name_any_case_and_order():
    d = make()
    one = d.select_leads("i")
    assert one.leads == ("I",) and one.signals.shape == (40, 1, 200)
    np.testing.assert_array_equal(one.signals[:, 0], d.signals[:, 0])
    two = d.select_leads(["V2", "II"])
    np.testing.assert_array_equal(two.signals[:, 0], d.signals[:, 7])
    assert two.preprocessing[-1] == {"step": "select_leads", "leads": ["V2", "II"]}
    with pytest.raises(ConfigError, match="V7"):
        d.select_leads("V7")
    with pytest.raises(ConfigError, match="not in this data set"):
        one.select_leads("II")


def test_labeled_unlabeled_split_is_disjoint_and_inside_train():
    d = make(n=200)
    lab, unl = d.labeled_unlabeled_split(0.1, seed=3)
    assert len(lab) == 16 and len(unl) == 144  # 2 per training fold x 8 folds
    assert not set(lab.record_ids) & set(unl.record_ids)
    assert set(lab.folds) | set(unl.folds) <= set(range(1, 9))
    lab2, _ = d.labeled_unlabeled_split(0.1, seed=3)
    np.testing.assert_array_equal(lab.record_ids, lab2.record_ids)
    full, empty = d.labeled_unlabeled_split(1.0)
    assert len(full) == 160 and len(empty) == 0


@pytest.mark.parametrize("ratio", [0, -0.1, 1.5, float("nan"), "0.1"])
def test_labeled_ratio_out_of_range(ratio):
    with pytest.raises(SplitError, match="ratio"):
        make().labeled_unlabeled_split(ratio)


def test_validate_names_record_and_lead():
    d = make()
    d.signals[5, 2, 7] = np.nan
    d.signals[9, 4, :] = 0.25
    with pytest.raises(BadSignalError, match=r"r005: lead III has NaN"):
        d.validate()
    kept = d.validate(on_bad="drop")
    assert len(kept) == 38 and "r005" not in kept.record_ids and "r009" not in kept.record_ids
    assert kept.preprocessing[-1]["dropped"] == ["r005", "r009"]


def test_constructor_rejects_inconsistent_arrays():
    d = make()
    with pytest.raises(LeadMismatchError, match="11 leads"):
        ECGData(
            signals=d.signals[:, :11],
            labels=d.labels,
            classes=d.classes,
            fs=100,
            folds=d.folds,
            record_ids=d.record_ids,
        )
    with pytest.raises(DataError, match="labels"):
        ECGData(
            signals=d.signals, labels=d.labels[:, :3], classes=d.classes, fs=100, folds=d.folds, record_ids=d.record_ids
        )
    with pytest.raises(DataError, match="folds must lie"):
        ECGData(
            signals=d.signals, labels=d.labels, classes=d.classes, fs=100, folds=d.folds * 0, record_ids=d.record_ids
        )
    with pytest.raises(DataError, match="unique"):
        ECGData(signals=d.signals, labels=d.labels, classes=d.classes, fs=100, folds=d.folds, record_ids=["x"] * 40)


def test_region_mask_and_subset_keep_side_tables():
    d = make()
    m = d.region_mask([0, 1, 2, 3])
    ami, pvc = CLASS_NAMES.index("AMI"), CLASS_NAMES.index("PVC")
    assert m.shape == (4, 15, 200)
    assert m[0, ami, 10:15].all() and m[0, ami].sum() == 5
    assert m[1, pvc].sum() == 20 and m[2, ami].sum() == 1 and not m[3].any()
    sub = d.subset([2, 0])
    assert set(sub.regions["record_id"]) == {"r000", "r002"}
    assert sub.region_mask([1])[0, ami, 10:15].all()


def test_save_load_roundtrip(tmp_path):
    d = make()
    d.meta = pd.DataFrame({"age": np.arange(40, dtype=float) + 20.0, "sex": ["F", "M"] * 20})
    d2 = ECGData.load(d.save(tmp_path / "d.npz"))
    assert d2.meta["age"].dtype == np.float64 and d2.meta["age"].iloc[3] == 23.0
    np.testing.assert_array_equal(d.signals, d2.signals)
    np.testing.assert_array_equal(d.record_ids, d2.record_ids)
    pd.testing.assert_frame_equal(d.regions, d2.regions)
    assert d.fingerprint() == d2.fingerprint() and d2.source == "test"


def test_resample_and_bandpass_record_their_parameters():
    d = make(t=1000)
    r = resample(d, 50)
    assert r.n_samples == 500 and r.fs == 50 and r.preprocessing[-1]["to_fs"] == 50
    assert r.regions["start"].tolist() == [5, 10, 15]
    b = bandpass(d, 0.5, 40.0)
    assert b.preprocessing[-1] == {"step": "bandpass", "low": 0.5, "high": 40.0, "order": 3}
    with pytest.raises(ConfigError, match="fs/2"):
        bandpass(d, 0.5, 60.0)
    with pytest.raises(ConfigError, match="fs must be positive"):
        resample(d, 0)


def test_bandpass_removes_baseline_wander():
    d = make(t=2000)
    t = np.arange(2000) / 100
    d.signals[:] = (np.sin(2 * np.pi * 0.1 * t) * 2 + np.sin(2 * np.pi * 8 * t)).astype(np.float32)
    out = bandpass(d, 0.5, 40.0).signals[0, 0, 500:1500]
    np.testing.assert_allclose(out, np.sin(2 * np.pi * 8 * t[500:1500]), atol=0.05)


def test_scaler_fitted_on_train_only():
    d = make()
    d.signals[d.folds == 10] += 100.0  # test split shifted: must not leak into the scaler
    tr = d.split("train")
    sc = StandardScaler().fit(tr)
    z = sc.transform(tr).signals
    np.testing.assert_allclose(z.mean(axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2)), 1, atol=1e-4)
    assert sc.transform(d.split("test")).signals.mean() > 50
    sc2 = StandardScaler.from_state_dict(sc.state_dict())
    np.testing.assert_array_equal(sc2.transform_array(tr.signals), z)
    with pytest.raises(ConfigError, match="fitted on 12 leads"):
        sc.transform(tr.select_leads("I"))
    with pytest.raises(ConfigError, match="not fitted"):
        StandardScaler().transform(tr)
