"""The 1-lead students: a CNN+Transformer family (tiny / small / base) and a plain CNN.

CNN+Transformer: a strided conv stem with max pooling and two strided residual conv stages (total
stride 16: a 250-sample input becomes 16 time tokens, far fewer than the patch Transformer
teacher's 120) feed a small pre-norm Transformer encoder over the time tokens (sinusoidal
positions), then mean pooling and a linear head (the conv-then-attention design of e.g. Natarajan et al. 2020, "A wide and deep transformer neural
network for 12-lead ECG classification"). Parameter counts for in_leads=1, n_classes=15 are pinned
in the tests.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import (
    TOKEN_READOUT_LAYERS,
    AddTimePositions,
    ConvBNAct,
    MeanPool,
    ResidualBlock1d,
    Transpose,
    classifier_head,
    transformer_encoder,
)
from .registry import ECGClassifier, register_model


@register_model("cnn_transformer")
class CNNTransformer(ECGClassifier):
    """Conv stem + 2 residual stages (total stride 16) + Transformer encoder over time tokens.

    Features: "stage1" / "stage2" conv maps (B, C, T/8) and (B, D, T/16), "stage3".. the Transformer
    blocks (B, N, D), "tokens" (B, N, D) after the final LayerNorm, "temporal" (B, D, N) the same
    tokens as a map, "penultimate" their mean (B, D).
    """

    sizes = {
        "tiny": {"stem": 24, "conv": 64, "dim": 96, "depth": 2, "heads": 4, "mlp_ratio": 2.0, "kernel": 5},
        "small": {"stem": 24, "conv": 64, "dim": 176, "depth": 3, "heads": 4, "mlp_ratio": 2.0, "kernel": 5},
        "base": {"stem": 24, "conv": 128, "dim": 160, "depth": 6, "heads": 4, "mlp_ratio": 2.0, "kernel": 5},
    }
    default_size = "small"
    min_samples = 16

    def __init__(self, size: str | None = None, *, in_leads: int = 1, n_classes: int = 15, dropout: float = 0.1):
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, dropout=dropout)
        h = self.hparams
        k, dim = h["kernel"], h["dim"]
        self.stem = nn.Sequential(ConvBNAct(in_leads, h["stem"], 7, stride=2), nn.MaxPool1d(3, stride=2, padding=1))
        self.stage1 = ResidualBlock1d(h["stem"], h["conv"], k, stride=2)
        self.stage2 = ResidualBlock1d(h["conv"], dim, k, stride=2)
        self.to_tokens = Transpose()
        self.positions = AddTimePositions()
        self.blocks = transformer_encoder(dim, h["depth"], h["heads"], h["mlp_ratio"], dropout)
        self.norm = nn.LayerNorm(dim)
        self.to_map = Transpose()
        self.pool = MeanPool(dim=2)
        self.head = classifier_head(dim, n_classes, dropout)
        self.feature_layers = {
            **TOKEN_READOUT_LAYERS,
            "stage1": "stage1",
            "stage2": "stage2",
            **{f"stage{i + 3}": f"blocks.{i}" for i in range(h["depth"])},
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        conv = self.stage2(self.stage1(self.stem(x)))
        tokens = self.norm(self.blocks(self.positions(self.to_tokens(conv))))
        return self.head(self.pool(self.to_map(tokens)))


@register_model("cnn")
class CNN1d(ECGClassifier):
    """Plain CNN student (0.29 M parameters): conv stem and four stages of two conv-BN-ReLU layers (no residuals), total stride 16.

    Features: "stage1".."stage4" (B, C, T_i), "temporal" the last stage, "tokens" its (B, T_f, C)
    view, "penultimate" the time average.
    """

    sizes = {"small": {"stem": 32, "widths": (32, 64, 96, 144), "kernel": 5}}
    default_size = "small"
    stage_strides = (2, 2, 2, 1)
    min_samples = 16

    def __init__(self, size: str | None = None, *, in_leads: int = 1, n_classes: int = 15, dropout: float = 0.2):
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, dropout=dropout)
        h = self.hparams
        k = h["kernel"]
        self.stem = ConvBNAct(in_leads, h["stem"], 7, stride=2)
        stages, width = [], h["stem"]
        for out, stride in zip(h["widths"], self.stage_strides):
            stages.append(nn.Sequential(ConvBNAct(width, out, k, stride), ConvBNAct(out, out, k)))
            width = out
        self.stages = nn.Sequential(*stages)
        self.to_tokens = Transpose()
        self.pool = MeanPool(dim=1)
        self.head = classifier_head(width, n_classes, dropout)
        self.feature_layers = {
            "temporal": f"stages.{len(stages) - 1}",
            "tokens": "to_tokens",
            "penultimate": "pool",
            **{f"stage{i + 1}": f"stages.{i}" for i in range(len(stages))},
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.head(self.pool(self.to_tokens(self.stages(self.stem(x)))))
