"""The 12-lead Transformer teacher with lead-wise patch tokens.

Each lead is cut into patches of ``patch`` samples (25 = 0.25 s at 100 Hz), every patch is projected
by one shared linear map (ViT-style patch embedding, Dosovitskiy et al. 2021, applied per lead as in
PatchTST, Nie et al. 2023), and a learnable lead embedding plus fixed sinusoidal time-position codes
are added. A 250-sample 12-lead input gives 12 x 10 = 120 tokens of width 128: a different token
count and width from the CNN+Transformer students, which makes distillation cross-architecture.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import TOKEN_READOUT_LAYERS, MeanPool, classifier_head, sinusoidal_positions, transformer_encoder
from .registry import ECGClassifier, register_model


class LeadPatchEmbedding(nn.Module):
    """(B, L, T) -> tokens (B, L * P, D), lead-major (token ``l * P + p``), ``P = ceil(T / patch)``.

    The signal is zero-padded at the end to a whole number of patches.
    ``token[l, p] = W x[l, p*patch:(p+1)*patch] + b + lead_embedding[l] + PE[p]``.
    """

    def __init__(self, n_leads: int, patch: int, dim: int):
        super().__init__()
        self.patch = patch
        self.proj = nn.Linear(patch, dim)
        self.lead_embedding = nn.Parameter(torch.empty(n_leads, dim))
        nn.init.trunc_normal_(self.lead_embedding, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n_leads, t = x.shape
        n_patches = -(-t // self.patch)
        x = F.pad(x, (0, n_patches * self.patch - t))
        tokens = self.proj(x.reshape(b, n_leads, n_patches, self.patch))
        dim = tokens.shape[-1]
        tokens = tokens + self.lead_embedding[:, None, :] + sinusoidal_positions(n_patches, dim, x.device, x.dtype)
        return tokens.reshape(b, n_leads * n_patches, dim)


class LeadAverageMap(nn.Module):
    """Lead-major tokens (B, L * P, D) -> temporal map (B, D, P): the mean over leads of each time patch."""

    def __init__(self, n_leads: int):
        super().__init__()
        self.n_leads = n_leads

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        b, n, d = tokens.shape
        return tokens.reshape(b, self.n_leads, n // self.n_leads, d).mean(dim=1).transpose(1, 2)


@register_model("patch_transformer")
class PatchTransformer(ECGClassifier):
    """Lead-wise patch-token Transformer teacher, pre-norm encoder blocks, mean pooling; "small" ~0.53 M parameters.

    Features: "tokens" (B, L * P, D) after the final LayerNorm, "temporal" (B, D, P) the tokens
    averaged over leads, "penultimate" its mean over time, "stage<i>" the output of block i.
    """

    sizes = {"small": {"patch": 25, "dim": 128, "depth": 4, "heads": 4, "mlp_ratio": 2.0}}
    default_size = "small"
    min_samples = 1

    def __init__(self, size: str | None = None, *, in_leads: int = 12, n_classes: int = 15, dropout: float = 0.1):
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, dropout=dropout)
        h = self.hparams
        dim = h["dim"]
        self.patch_embed = LeadPatchEmbedding(in_leads, h["patch"], dim)
        self.blocks = transformer_encoder(dim, h["depth"], h["heads"], h["mlp_ratio"], dropout)
        self.norm = nn.LayerNorm(dim)
        self.to_map = LeadAverageMap(in_leads)
        self.pool = MeanPool(dim=2)
        self.head = classifier_head(dim, n_classes, dropout)
        self.feature_layers = {
            **TOKEN_READOUT_LAYERS,
            **{f"stage{i + 1}": f"blocks.{i}" for i in range(h["depth"])},
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.head(self.pool(self.to_map(self.norm(self.blocks(self.patch_embed(x))))))
