"""The restoration net: a 1-D U-Net mapping lead I to the 12 leads (Ronneberger et al. 2015, in 1-D).

Encoder levels of two conv-BN-ReLU layers with max-pool downsampling, a bottleneck, decoder levels
with transposed-conv upsampling, skip concatenation and two conv-BN-ReLU layers, then a 1x1 conv
to ``out_leads``. Width doubles per level; sizes differ by the base width (x2 per size, so ~x4
parameters). Any input length works: the input is padded at the end (edge replication) to a
multiple of the total stride ``2 ** levels`` and the output cropped back to T.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import ConvBNAct
from ..errors import ModelError
from .registry import ECGModel, positive_int, register_model


def _double_conv(in_ch: int, out_ch: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(ConvBNAct(in_ch, out_ch, kernel), ConvBNAct(out_ch, out_ch, kernel))


class UpBlock(nn.Module):
    """Transposed conv x2 upsampling, concatenation with the skip, two conv-BN-ReLU layers."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int):
        super().__init__()
        self.up = nn.ConvTranspose1d(in_ch, out_ch, 2, stride=2)
        self.conv = _double_conv(2 * out_ch, out_ch, kernel)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([self.up(x), skip], dim=1))


@register_model("unet1d")
class UNet1d(ECGModel):
    """1-D U-Net restoration net (B, in_leads, T) -> (B, out_leads, T); not a classifier (``n_classes`` is None)."""

    sizes = {
        "tiny": {"width": 16, "levels": 3, "kernel": 7},
        "small": {"width": 32, "levels": 3, "kernel": 7},
        "base": {"width": 64, "levels": 3, "kernel": 7},
    }
    default_size = "small"
    min_samples = 1

    def __init__(self, size: str | None = None, *, in_leads: int = 1, n_classes: None = None, out_leads: int = 12):
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, out_leads=out_leads)
        if n_classes is not None:
            raise ModelError(
                f"model {self.name!r} is a restoration net, not a classifier: n_classes must be None, got {n_classes!r}"
            )
        self.out_leads = positive_int(self.name, "out_leads", out_leads)
        h = self.hparams
        k, levels = h["kernel"], h["levels"]
        widths = [h["width"] * 2**i for i in range(levels + 1)]
        self.stride = 2**levels
        self.inc = _double_conv(in_leads, widths[0], k)
        self.down = nn.ModuleList(
            nn.Sequential(nn.MaxPool1d(2), _double_conv(widths[i], widths[i + 1], k)) for i in range(levels)
        )
        self.up = nn.ModuleList(UpBlock(widths[i + 1], widths[i], k) for i in reversed(range(levels)))
        self.out = nn.Conv1d(widths[0], out_leads, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        t = x.shape[-1]
        pad = -t % self.stride
        h = self.inc(F.pad(x, (0, pad), mode="replicate") if pad else x)
        skips = [h]
        for down in self.down:
            h = down(h)
            skips.append(h)
        skips.pop()
        for up in self.up:
            h = up(h, skips.pop())
        return self.out(h)[..., :t]
