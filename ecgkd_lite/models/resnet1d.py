"""The 12-lead CNN teacher: an xresnet1d-style 1-D ResNet.

Architecture after the xresnet1d of Strodthoff et al. 2021 ("Deep learning for ECG analysis:
benchmarks and insights from PTB-XL", IEEE JBHI), itself the 1-D port of the "Bag of Tricks"
ResNet (He et al. 2019): a stem of three convolutions (the first strided) and a max pool, then
residual stages, global average pooling and a linear head. Striding is early (stem stride 2, max
pool 2) so that the network is fast on a CPU; the total stride is 16, a 250-sample input leaves a
16-step temporal map.
"""

from __future__ import annotations

import torch
from torch import nn

from .blocks import ConvBNAct, MeanPool, Transpose, classifier_head, residual_stage
from .registry import ECGClassifier, register_model


@register_model("resnet1d")
class ResNet1d(ECGClassifier):
    """xresnet1d-style teacher; sizes "small" (0.46 M parameters) and "base" (1.04 M), 12 leads in."""

    sizes = {
        "small": {"stem": (32, 32, 64), "widths": (64, 96, 128, 128), "blocks": (1, 1, 1, 1), "kernel": 5},
        "base": {"stem": (32, 32, 64), "widths": (64, 128, 192, 224), "blocks": (1, 1, 1, 1), "kernel": 5},
    }
    default_size = "small"
    stage_strides = (1, 2, 2, 1)
    min_samples = 16

    def __init__(self, size: str | None = None, *, in_leads: int = 12, n_classes: int = 15, dropout: float = 0.2):
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, dropout=dropout)
        h = self.hparams
        k = h["kernel"]
        s1, s2, s3 = h["stem"]
        self.stem = nn.Sequential(
            ConvBNAct(in_leads, s1, k, stride=2),
            ConvBNAct(s1, s2, k),
            ConvBNAct(s2, s3, k),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        stages, width = [], s3
        for out, n_blocks, stride in zip(h["widths"], h["blocks"], self.stage_strides):
            stages.append(residual_stage(width, out, n_blocks, k, stride))
            width = out
        self.stages = nn.Sequential(*stages)
        self.to_tokens = Transpose()
        self.pool = MeanPool(dim=1)
        self.head = classifier_head(width, n_classes, dropout)
        last = f"stages.{len(stages) - 1}"
        self.feature_layers = {
            "temporal": last,
            "tokens": "to_tokens",
            "penultimate": "pool",
            **{f"stage{i + 1}": f"stages.{i}" for i in range(len(stages))},
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.head(self.pool(self.to_tokens(self.stages(self.stem(x)))))
