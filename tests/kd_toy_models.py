"""Tiny models and batches for the distillation tests (fast, deterministic, same feature contract
as ``ecgkd_lite.models``: ``feature_layers`` maps semantic names to module names)."""

from __future__ import annotations

import torch
from torch import nn


class ToyNet(nn.Module):
    """conv-BN-ReLU -> strided conv-BN-ReLU -> tokens -> mean pool -> linear; (B, in_leads, T) -> (B, n_classes)."""

    def __init__(self, in_leads: int, n_classes: int = 4, width: int = 4, stride: int = 2, name: str = "toy"):
        super().__init__()
        self.name = name
        self.stage1 = nn.Sequential(nn.Conv1d(in_leads, width, 5, padding=2), nn.BatchNorm1d(width), nn.ReLU())
        self.stage2 = nn.Sequential(
            nn.Conv1d(width, 2 * width, 5, stride=stride, padding=2), nn.BatchNorm1d(2 * width), nn.ReLU()
        )
        self.to_tokens = ToTokens()
        self.pool = MeanTokens()
        self.head = nn.Linear(2 * width, n_classes)
        self.feature_layers = {
            "stage1": "stage1",
            "stage2": "stage2",
            "stage3": "to_tokens",
            "temporal": "stage2",
            "tokens": "to_tokens",
            "penultimate": "pool",
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.to_tokens(self.stage2(self.stage1(x)))))


class ToTokens(nn.Module):
    """(B, C, T) feature map -> (B, T, C) tokens (parameter-free)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class MeanTokens(nn.Module):
    """(B, N, D) -> (B, D): the mean over tokens (= global average pooling over time)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=1)


def toy_pair(n_classes: int = 4, seed: int = 0) -> tuple[ToyNet, ToyNet]:
    """(teacher on 12 leads, width 8, stride 2; student on 1 lead, width 4, stride 4)."""
    torch.manual_seed(seed)
    teacher = ToyNet(12, n_classes, width=8, stride=2, name="toy_teacher")
    student = ToyNet(1, n_classes, width=4, stride=4, name="toy_student")
    return teacher, student


def toy_batch(
    n: int = 8, n_samples: int = 64, n_classes: int = 4, labeled: list[bool] | None = None, seed: int = 0
) -> dict:
    """A training batch in the engine's format: x (B, 12, T), y, index, start, labeled."""
    g = torch.Generator().manual_seed(seed)
    return {
        "x": torch.randn(n, 12, n_samples, generator=g),
        "y": (torch.rand(n, n_classes, generator=g) < 0.4).float(),
        "index": torch.arange(n),
        "start": torch.zeros(n, dtype=torch.long),
        "labeled": torch.ones(n, dtype=torch.bool) if labeled is None else torch.tensor(labeled),
    }
