"""Restored 12-lead inputs for notebook 08: restore_dataset, restore_prepared, RestoredInputModel."""

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ecgkd_lite.config import get_profile
from ecgkd_lite.data import CLASS_NAMES, ECGData, StandardScaler
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.errors import ConfigError, ModelError
from ecgkd_lite.experiment import Prepared
from ecgkd_lite.train import predict
from ecgkd_lite.train import restoration
from ecgkd_lite.train.restoration import RestoredInputModel, restore_dataset, restore_prepared

GAINS = np.array([1.0, 0.5, -0.5, -0.75, 0.25, 0.0, -1.0, -0.5, 0.5, 1.0, 1.5, 2.0], dtype=np.float32)


def toy_data(n=20, t=200, seed=0) -> ECGData:
    """Leads that are exact multiples of lead I (``GAINS``), with a regions table."""
    rng = np.random.default_rng(seed)
    lead1 = rng.normal(size=(n, 1, t)).astype(np.float32)
    labels = (rng.random((n, len(CLASS_NAMES))) < 0.3).astype(np.float32)
    regions = pd.DataFrame({"record_id": [f"r{i}" for i in range(n)], "class": "PVC", "start": 10, "end": 30})
    return ECGData(
        signals=lead1 * GAINS.reshape(1, 12, 1),
        labels=labels,
        classes=CLASS_NAMES,
        fs=100,
        folds=np.arange(n) % 10 + 1,
        record_ids=[f"r{i}" for i in range(n)],
        regions=regions,
    )


class GainRestorer(nn.Module):
    """x (B, 1, T) -> gains * x, recording how it was trained like ``experiment.train_restoration``."""

    def __init__(self, gains=GAINS, trained_fs=100.0, trained_samples=100):
        super().__init__()
        self.gains = nn.Parameter(torch.as_tensor(gains).reshape(1, 12, 1).clone())
        self.config = {"name": "gain", "in_leads": 1, "n_classes": None, "kwargs": {"out_leads": 12}}
        self.trained_fs, self.trained_samples = trained_fs, trained_samples

    def forward(self, x):
        return x * self.gains


class MeanClassifier(nn.Module):
    """(B, 12, T) -> (B, C) logits: a fixed linear map of the per-lead means (a 12-lead model)."""

    def __init__(self, n_classes=len(CLASS_NAMES)):
        super().__init__()
        self.linear = nn.Linear(12, n_classes)
        with torch.no_grad():
            self.linear.weight.copy_(torch.linspace(-1, 1, 12 * n_classes).reshape(n_classes, 12))
            self.linear.bias.zero_()
        self.config = {"name": "mean_linear", "in_leads": 12, "n_classes": n_classes, "kwargs": {}}

    def forward(self, x):
        return self.linear(x.mean(2))


def toy_prepared(data: ECGData) -> Prepared:
    train, val, test = data.splits()
    scaler = StandardScaler(per_lead=True).fit(train)
    return Prepared("synthetic", get_profile("quick"), train, val, test, scaler, {"source": "synthetic"})


def test_restore_dataset_rebuilds_12_leads_and_keeps_the_records():
    data = toy_data()
    one_lead = data.select_leads("I")
    out = restore_dataset(GainRestorer(), one_lead)
    assert out.leads == LEADS12 and out.signals.shape == (20, 12, 200)
    np.testing.assert_allclose(out.signals, data.signals, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out.record_ids, data.record_ids)
    np.testing.assert_array_equal(out.labels, data.labels)
    np.testing.assert_array_equal(out.folds, data.folds)
    pd.testing.assert_frame_equal(out.regions, data.regions)
    assert out.preprocessing[-1] == {"step": "restored", "from_leads": ["I"]}
    assert out.signals[3, 10, 7] == pytest.approx(1.5 * data.signals[3, 0, 7])


def test_restore_dataset_errors_name_the_mismatch():
    data = toy_data()
    with pytest.raises(ConfigError, match="trained at 500 Hz; the data is at 100 Hz"):
        restore_dataset(GainRestorer(trained_fs=500.0), data)
    with pytest.raises(ConfigError, match="trained on crops of 400 samples; the data's records have 200"):
        restore_dataset(GainRestorer(trained_samples=400), data)
    with pytest.raises(ConfigError, match=r"takes 1 input lead\(s\); input_leads=\['I', 'II'\] gives 2"):
        restore_dataset(GainRestorer(), data, ["I", "II"])
    with pytest.raises(ConfigError, match="lead 'V1' is not in this data set"):
        restore_dataset(GainRestorer(), data.select_leads("I"), ["V1"])
    unrecorded = GainRestorer()
    del unrecorded.trained_fs
    with pytest.raises(ModelError, match="GainRestorer does not record its training rate and crop length"):
        restore_dataset(unrecorded, data)


def test_restore_prepared_restores_every_split_and_caches_them(monkeypatch, tmp_path):
    monkeypatch.setenv("ECGKD_CACHE", str(tmp_path))
    data = toy_data(n=30)
    prep = toy_prepared(data)
    damaged = toy_prepared(data)
    for name in ("train", "val", "test"):  # zero every lead but I: the net must rebuild them
        split = getattr(damaged, name)
        split.signals[:, 1:] = 0.0
    net = GainRestorer(gains=np.ones(12, np.float32))
    out = restore_prepared(damaged, net)
    assert [len(out.train), len(out.val), len(out.test)] == [24, 3, 3]
    for name in ("train", "val", "test"):
        np.testing.assert_allclose(getattr(out, name).signals, np.repeat(getattr(prep, name).signals[:, :1], 12, 1))
        np.testing.assert_array_equal(getattr(out, name).record_ids, getattr(prep, name).record_ids)
    assert out.scaler is damaged.scaler and out.recipe["restored"]["from_leads"] == ["I"]
    assert len(list((tmp_path / "datasets").glob("restored-*.npz"))) == 3

    def fail(*args, **kwargs):
        raise AssertionError("restore_dataset ran although the splits were cached")

    monkeypatch.setattr(restoration, "restore_dataset", fail)
    again = restore_prepared(damaged, net)
    np.testing.assert_array_equal(again.train.signals, out.train.signals)
    with pytest.raises(AssertionError, match="restore_dataset ran"):
        restore_prepared(damaged, GainRestorer(gains=np.full(12, 2.0, np.float32)))  # another net, another key


def test_restored_input_model_is_net_then_model_and_declares_one_lead():
    torch.manual_seed(0)
    net, model = GainRestorer(), MeanClassifier()
    pipeline = RestoredInputModel(net, model)
    x = torch.randn(4, 1, 50)
    torch.testing.assert_close(pipeline(x), model(net(x)))
    assert pipeline.config["in_leads"] == 1 and pipeline.config["n_classes"] == len(CLASS_NAMES)
    assert pipeline.config["name"] == "restored+mean_linear"
    data = toy_data()
    end_to_end = predict(pipeline, data.select_leads("I"), window_seconds=1.0, stride_seconds=0.5)
    on_real = predict(model, data, window_seconds=1.0, stride_seconds=0.5)
    np.testing.assert_allclose(end_to_end, on_real, atol=1e-5)  # the gains rebuild the leads exactly
    pipeline(x).sum().backward()
    assert net.gains.grad is not None and model.linear.weight.grad is not None


def test_restored_input_model_refuses_a_model_for_other_leads():
    one_lead_model = MeanClassifier()
    one_lead_model.config = {**one_lead_model.config, "name": "student", "in_leads": 1}
    with pytest.raises(ModelError, match="model student takes 1 leads; the restoration net outputs 12"):
        RestoredInputModel(GainRestorer(), one_lead_model)


def test_torch_threads_pins_and_restores():
    """Restored data sets are computed on one thread (their fingerprint keys the model cache)."""
    import torch

    from ecgkd_lite.utils import torch_threads

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    try:
        with torch_threads(1):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before
