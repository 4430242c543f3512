"""Shared building blocks: conv-BN-ReLU, residual block, pre-norm Transformer block, reshaping modules.

No block modifies a tensor in place (in-place activations break Captum's and our forward hooks).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ModelError


class ConvBNAct(nn.Sequential):
    """Conv1d (no bias, 'same'-style padding ``kernel // 2``) -> BatchNorm1d -> optional ReLU."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, act: bool = True, zero_init: bool = False
    ):
        layers: list[nn.Module] = [
            nn.Conv1d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm1d(out_ch),
        ]
        if zero_init:  # the residual branch starts as the identity (Goyal et al. 2017; He et al. 2019)
            nn.init.zeros_(layers[1].weight)
        if act:
            layers.append(nn.ReLU())
        super().__init__(*layers)


class ResidualBlock1d(nn.Module):
    """Basic residual block ``relu(bn(conv(relu(bn(conv(x))))) + shortcut(x))`` (He et al. 2016).

    The shortcut follows xresnet (He et al. 2019, "Bag of Tricks", ResNet-D): average pooling for a
    stride, then a 1x1 conv + BN for a change of width. Output length is ``ceil(T / stride)``.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1):
        super().__init__()
        self.conv1 = ConvBNAct(in_ch, out_ch, kernel, stride)
        self.conv2 = ConvBNAct(out_ch, out_ch, kernel, act=False, zero_init=True)
        shortcut: list[nn.Module] = []
        if stride > 1:
            shortcut.append(nn.AvgPool1d(stride, ceil_mode=True))
        if in_ch != out_ch:
            shortcut.append(ConvBNAct(in_ch, out_ch, 1, act=False))
        self.shortcut = nn.Sequential(*shortcut)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv2(self.conv1(x)) + self.shortcut(x))


def residual_stage(in_ch: int, out_ch: int, n_blocks: int, kernel: int, stride: int) -> nn.Sequential:
    """``n_blocks`` residual blocks; the first changes width and applies the stride."""
    return nn.Sequential(
        *(
            ResidualBlock1d(in_ch if i == 0 else out_ch, out_ch, kernel, stride if i == 0 else 1)
            for i in range(n_blocks)
        )
    )


class Transpose(nn.Module):
    """Swap the last two axes: a conv map (B, C, T) <-> tokens (B, T, C).

    Being a module on the forward path, its output can be captured by a forward hook (the
    "tokens" view of a CNN, the "temporal" view of a Transformer).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.transpose(1, 2)


class MeanPool(nn.Module):
    """Mean over one axis; the pooled embedding ("penultimate") before the head."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=self.dim)


def sinusoidal_positions(n_positions: int, dim: int, device=None, dtype=torch.float32) -> torch.Tensor:
    """Fixed sinusoidal position codes (Vaswani et al. 2017), shape (n_positions, dim).

    ``PE[p, 2i] = sin(p / 10000^(2i/dim))``, ``PE[p, 2i+1] = cos(p / 10000^(2i/dim))``; any length works.
    """
    position = torch.arange(n_positions, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(torch.arange(0, dim, 2, device=device, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n_positions, dim, device=device, dtype=torch.float32)
    pe[:, 0::2] = torch.sin(position * freq)
    pe[:, 1::2] = torch.cos(position * freq[: dim // 2])
    return pe.to(dtype)


class AddTimePositions(nn.Module):
    """Add sinusoidal time-position codes to tokens (B, N, D) (parameter-free, so any N works)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + sinusoidal_positions(x.shape[1], x.shape[2], x.device, x.dtype)


class MultiHeadSelfAttention(nn.Module):
    """Multi-head scaled dot-product self-attention, ``softmax(QK^T / sqrt(d_h)) V`` per head (Vaswani et al. 2017)."""

    def __init__(self, dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ModelError(f"attention width {dim} is not divisible by heads={heads}")
        self.heads = heads
        self.dropout = dropout
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


class TransformerBlock(nn.Module):
    """Pre-norm Transformer encoder block (Xiong et al. 2020): ``h = x + MHSA(LN(x)); y = h + MLP(LN(h))``.

    Dropout only on the MLP output (no attention dropout: it forces the slow math kernel on CPU).
    """

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.1):
        super().__init__()
        hidden = int(dim * mlp_ratio)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadSelfAttention(dim, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.attn(self.norm1(x))
        return h + self.mlp(self.norm2(h))


def transformer_encoder(dim: int, depth: int, heads: int, mlp_ratio: float, dropout: float) -> nn.Sequential:
    """``depth`` pre-norm Transformer blocks of width ``dim``."""
    return nn.Sequential(*(TransformerBlock(dim, heads, mlp_ratio, dropout) for _ in range(depth)))


# Feature layers shared by the Transformer classifiers, whose forward ends
# ``blocks -> norm -> to_map (tokens to (B, D, T_f)) -> pool -> head``.
TOKEN_READOUT_LAYERS = {"temporal": "to_map", "tokens": "norm", "penultimate": "pool"}


def classifier_head(dim: int, n_classes: int, dropout: float) -> nn.Sequential:
    """Dropout -> Linear: the multi-label logit head on the pooled embedding."""
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, n_classes))
