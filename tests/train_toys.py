"""Small data sets and models for the training-engine tests (fast, deterministic, no generator or
model-zoo dependency: models only carry ``config`` and ``name`` as the real ones do)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ecgkd_lite.data import ECGData

CLASSES = ("flutter", "offset", "square")


@pytest.fixture(scope="module")
def single_thread():
    """One torch thread for the module's tests (small convs; the CI machine is shared), then restore."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def toy_data(n_per_fold: int = 6, n_leads: int = 12, n_samples: int = 500, fs: float = 100.0, seed: int = 0) -> ECGData:
    """Records of folds 1-10 with three learnable classes: a 3 Hz wave in lead I, a DC offset in lead
    II, a 1 Hz square wave in lead I, over Gaussian noise."""
    rng = np.random.default_rng(seed)
    n = 10 * n_per_fold
    y = (rng.random((n, 3)) < 0.4).astype(np.float32)
    t = np.arange(n_samples) / fs
    x = rng.normal(0.0, 0.3, (n, n_leads, n_samples)).astype(np.float32)
    x[:, 0] += y[:, 0:1] * np.sin(2 * np.pi * 3 * t) + y[:, 2:3] * np.sign(np.sin(2 * np.pi * t))
    x[:, 1 % n_leads] += y[:, 1:2]
    leads = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")[:n_leads]
    return ECGData(
        x,
        y,
        CLASSES,
        fs,
        np.repeat(np.arange(1, 11), n_per_fold),
        [f"rec{i:03d}" for i in range(n)],
        leads=leads,
        source="toy",
    )


class TinyNet(nn.Module):
    """conv -> (BatchNorm) -> ReLU -> (Dropout) -> mean pool -> linear."""

    def __init__(
        self,
        in_leads: int = 12,
        n_classes: int = 3,
        width: int = 8,
        norm: bool = True,
        dropout: float = 0.0,
        name: str = "tinynet",
    ):
        super().__init__()
        self.name = name
        self.config = {"name": name, "size": "tiny", "in_leads": in_leads, "n_classes": n_classes}
        self.body = nn.Sequential(
            nn.Conv1d(in_leads, width, 7, padding=3),
            nn.BatchNorm1d(width) if norm else nn.Identity(),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
        )
        self.head = nn.Linear(width, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def tiny_net(seed: int = 0, **kwargs) -> TinyNet:
    torch.manual_seed(seed)
    return TinyNet(**kwargs)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def assert_same_weights(a: dict, b: dict, atol: float = 0.0) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if atol == 0:
            assert torch.equal(a[key], b[key]), key
        else:
            torch.testing.assert_close(a[key], b[key], atol=atol, rtol=0, msg=key)
