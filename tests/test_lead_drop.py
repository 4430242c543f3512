"""Lead-drop test: a model that reads only lead V2 loses everything when V2 is zeroed, nothing otherwise."""

import numpy as np
import torch
from torch import nn

from ecgkd_lite.data import ECGData
from ecgkd_lite.evaluate import keep_only, lead_drop


class ReadsV2(nn.Module):
    """Logit of class 0 = mean of lead V2; class 1 = mean of lead I."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))
        self.config = {"name": "reads_v2", "in_leads": 12, "n_classes": 2}

    def forward(self, x):
        return torch.stack([x[:, 7].mean(-1), x[:, 0].mean(-1)], dim=1) * self.scale


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 2)) < 0.5).astype(np.float32)
    sig = rng.normal(scale=0.3, size=(n, 12, 300)).astype(np.float32)
    sig[:, 7] += y[:, :1] * 1.0
    sig[:, 0] += y[:, 1:2] * 1.0
    return ECGData(
        signals=sig,
        labels=y,
        classes=("a", "b"),
        fs=100,
        folds=np.arange(n) % 10 + 1,
        record_ids=[f"r{i}" for i in range(n)],
    )


def test_lead_drop_finds_the_lead_each_class_needs():
    d = data()
    table = lead_drop(ReadsV2(), d, predict_kwargs={"window_seconds": 3.0})
    assert list(table.columns) == ["a", "b", "macro"] and list(table.index) == list(d.leads)
    assert table.loc["V2", "a"] > 0.3 and table.loc["I", "b"] > 0.3  # AUC falls to ~0.5 from ~1
    others = table.drop(index=["V2", "I"])
    np.testing.assert_allclose(others[["a", "b"]].to_numpy(), 0.0, atol=1e-12)


def test_keep_only_lead_I():
    auc = keep_only(ReadsV2(), data(), "I", predict_kwargs={"window_seconds": 3.0})
    assert auc["b"] > 0.95 and abs(auc["a"] - 0.5) < 0.2
