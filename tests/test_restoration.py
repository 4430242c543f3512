"""Restoration objective, restore() guards, and per-lead scores."""

import numpy as np
import pytest
import torch
from torch import nn

from ecgkd_lite.data import CLASS_NAMES, ECGData
from ecgkd_lite.errors import ConfigError, ModelError
from ecgkd_lite.models import build_model
from ecgkd_lite.train import fit
from ecgkd_lite.train.restoration import RestorationObjective, restoration_scores, restore


def data12(n=20, t=200, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n, 1, t)).astype(np.float32)
    gains = np.linspace(-1, 1, 12, dtype=np.float32).reshape(1, 12, 1)
    gains[0, 0, 0] = 1.0
    sig = base * gains + 0.01 * rng.normal(size=(n, 12, t)).astype(np.float32)
    return ECGData(
        signals=sig,
        labels=np.zeros((n, len(CLASS_NAMES))),
        classes=CLASS_NAMES,
        fs=100,
        folds=np.arange(n) % 10 + 1,
        record_ids=[f"r{i}" for i in range(n)],
    )


class LinearRestorer(nn.Module):
    """x (B, 1, T) -> gains * x: the exact restoration for ``data12`` (up to the small noise)."""

    def __init__(self, gains):
        super().__init__()
        self.gains = nn.Parameter(torch.as_tensor(gains).reshape(1, 12, 1))
        self.config = {"name": "linear", "in_leads": 1, "n_classes": None, "kwargs": {"out_leads": 12}}

    def forward(self, x):
        return x * self.gains


def test_scores_of_an_exact_restorer():
    d = data12()
    net = LinearRestorer(np.linspace(-1, 1, 12).astype(np.float32) * 0 + np.r_[1.0, np.linspace(-1, 1, 12)[1:]])
    table = restoration_scores(net, d)
    assert list(table.index) == list(d.leads) and table.loc["I", "input"] and not table.loc["V1", "input"]
    assert (table["pearson_r"].drop("I").abs() > 0.9).all()
    assert table["rmse"].max() < 0.03
    std = np.full(12, 2.0)
    np.testing.assert_allclose(restoration_scores(net, d, lead_std=std)["rmse"], 2 * table["rmse"], rtol=1e-5)


def test_objective_loss_is_mse_plus_l1_and_zero_for_perfect_output():
    d = data12()
    x = torch.from_numpy(d.signals[:4])
    perfect = RestorationObjective(nn.Identity(), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    out = perfect({"x": x})
    assert out["total"].item() == 0.0
    net = LinearRestorer(np.zeros(12, np.float32))
    out = RestorationObjective(net, [0])({"x": x})
    torch.testing.assert_close(out["mse"], (x**2).mean())
    torch.testing.assert_close(out["total"], out["mse"] + x.abs().mean())


def test_fit_trains_a_unet_and_validation_pearson_rises():
    torch.manual_seed(0)
    d = data12(n=40)
    net = build_model("unet1d", "tiny", in_leads=1)
    res = fit(
        net,
        d,
        d,
        input_leads=["I"],
        objective=RestorationObjective(net, [0]),
        epochs=3,
        batch_size=8,
        lr=3e-3,
        crop_seconds=1.0,
        monitor="val_pearson",
        progress=False,
    )
    pearson = [h["val_pearson"] for h in res.history]
    assert pearson[-1] > pearson[0] and res.best_metric == max(pearson)
    with pytest.raises(ConfigError, match="monitor 'val_macro_auc' is unknown; choose one of \\['val_pearson'\\]"):
        fit(
            net,
            d,
            d,
            input_leads=["I"],
            objective=RestorationObjective(net, [0]),
            epochs=1,
            batch_size=8,
            monitor="val_macro_auc",
            progress=False,
        )


def test_restore_guards_rate_length_and_output_leads():
    d = data12()
    net = LinearRestorer(np.ones(12, np.float32))
    out = restore(net, d.select_leads(["I", "II"]), input_leads=["I"], trained_fs=100, trained_samples=200)
    assert out.signals.shape == (20, 12, 200) and out.preprocessing[-1]["step"] == "restored"
    with pytest.raises(ConfigError, match="trained at 500 Hz; the data is at 100 Hz"):
        restore(net, d, trained_fs=500)
    assert restore(net, d, trained_samples=100).n_samples == 200  # longer records are fine
    with pytest.raises(ConfigError, match="crops of 1000 samples; the data's records have 200"):
        restore(net, d, trained_samples=1000)
    with pytest.raises(ConfigError, match="12 real leads"):
        restoration_scores(net, d.select_leads(["I"]))
    eight = LinearRestorer(np.ones(12, np.float32))
    eight.config["kwargs"]["out_leads"] = 8
    with pytest.raises(ModelError, match="outputs 8 leads; the data has 12"):
        RestorationObjective(eight, [0])
