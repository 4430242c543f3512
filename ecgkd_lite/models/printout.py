"""The ECG-image ("printout") teacher: EVL-ECG's heterogeneous teacher reads ECG *images*.

``render_printout`` draws a 12-lead signal as the clinical printout inside the model, and
``PrintoutCNN`` classifies that image with a small 2-D CNN whose last map is a 2-D grid of patch
tokens, refined by two Transformer blocks. Its 8 x 16 = 128 image tokens of width 144 differ in
count and width from the 1-lead students' 16 time tokens (and from the patch Transformer's 120 x
128), so EVL-ECG distils image tokens into signal tokens as in the paper.

Layout (the standard 3 x 4 printout plus a rhythm strip), panel rows top to bottom::

    row 0:  I   | aVR | V1 | V4
    row 1:  II  | aVL | V2 | V5
    row 2:  III | aVF | V3 | V6
    row 3:  II (rhythm strip over the whole input, full width)

Row ``r`` (0-2), column ``c`` shows lead ``LEADS12[3 c + r]`` over the quarter
``[c T / 4, (c + 1) T / 4)`` of the input's time span, the same quarter for the three leads of a
column; the rhythm strip shows lead II over ``[0, T)``, so a sample of lead II lies at the same x in
II's panel and in the strip.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..checks import check_int, check_positive
from ..errors import ModelError
from .blocks import TOKEN_READOUT_LAYERS, MeanPool, classifier_head, transformer_encoder
from .patch_transformer import LeadAverageMap
from .registry import ECGClassifier, non_finite_input_error, register_model

#: leads of a printout, panel columns of 3 leads each (the order of ``data.leads.LEADS12``)
PRINTOUT_LEADS = 12
#: the lead of the rhythm strip (II)
RHYTHM_LEAD = 1
#: panel columns of the 3 x 4 grid; a 4th panel row holds the rhythm strip
COLUMNS, GRID_ROWS = 4, 3


def render_printout(x: torch.Tensor, *, rows_px: int = 32, panel_px: int = 64, clip: float = 3.0) -> torch.Tensor:
    """Render standardised 12-lead signals (B, 12, T) as printout images (B, 1, 4 rows_px, 4 panel_px).

    Layout: see the module docstring (3 x 4 panel grid, lead II rhythm strip as a 4th row).

    Resolution: every panel is ``rows_px`` high and ``panel_px`` wide whatever ``T`` is (the
    columns are resampled to a fixed width): the defaults give a 128 x 256 image, i.e. 256 px for
    the input's time span (1.024 px per sample for a 2.5 s crop of 250 samples at 100 Hz, 102.4
    px/s; 0.256 px per sample for a 10 s record of 1000 samples). Pixel column ``j`` of the image
    covers the times ``[j T / W, (j + 1) T / W)`` with ``W = 4 panel_px``.

    Gain: fixed, ``(rows_px // 2 - 1) / clip`` px per z-unit (5 px per unit for the defaults; the
    input is standardised): value 0 lies on the panel's mid row ``rows_px // 2``, ``+clip`` on row
    1, ``-clip`` on the last row; values beyond ``+-clip`` are clipped, so row 0 of every panel
    stays blank as the separator between panel rows.

    Trace: the polyline through the samples (sample ``k`` at time ``k + 0.5``, held constant
    beyond the first and last sample). Each pixel column is inked from the polyline's minimum to
    its maximum over the column's time span, so steep QRS edges are continuous vertical runs and a
    column holding several samples shows their full range. Ink is 1 inside that span and falls
    linearly to 0 one pixel outside it (anti-aliasing, which keeps the image differentiable in the
    input); the background is 0. Vectorised over records and leads (gather + ``scatter_reduce``).

    Raises ModelError for an input that is not (B, 12, T) with T >= 1 or bad resolution arguments,
    BadSignalError for NaN or infinite samples.
    """
    if x.dim() != 3 or x.shape[1] != PRINTOUT_LEADS or x.shape[2] < 1:
        raise ModelError(
            f"render_printout: x must be (B, {PRINTOUT_LEADS} leads, T >= 1) in the order of LEADS12; "
            f"received shape {tuple(x.shape)}"
        )
    if not bool(torch.isfinite(x).all()):
        raise non_finite_input_error("render_printout", x)
    return _render(x, rows_px, panel_px, clip)


def _render(x: torch.Tensor, rows_px: int, panel_px: int, clip: float) -> torch.Tensor:
    rows_px = check_int("render_printout: rows_px", rows_px, low=4, error=ModelError)
    panel_px = check_int("render_printout: panel_px", panel_px, low=1, error=ModelError)
    clip = check_positive("render_printout: clip", clip, error=ModelError)
    b = x.shape[0]
    width = COLUMNS * panel_px
    lo, hi = trace_spans(x, width)
    # lead shown at each (panel row, pixel column): 3 c + r in the grid, lead II in the strip
    column = torch.arange(width, device=x.device) // panel_px
    lead = torch.cat(
        [
            column[None, :] * GRID_ROWS + torch.arange(GRID_ROWS, device=x.device)[:, None],
            torch.full((1, width), RHYTHM_LEAD, device=x.device, dtype=column.dtype),
        ]
    ).expand(b, GRID_ROWS + 1, width)
    mid = rows_px // 2
    gain = (mid - 1) / clip
    top = (mid - gain * hi.gather(1, lead).clamp(-clip, clip))[:, :, None, :]
    bottom = (mid - gain * lo.gather(1, lead).clamp(-clip, clip))[:, :, None, :]
    y = torch.arange(rows_px, device=x.device, dtype=x.dtype)[:, None]
    outside = F.relu(top - y) + F.relu(y - bottom)  # pixels from the inked span, (B, 4, rows_px, W)
    return F.relu(1.0 - outside).reshape(b, 1, (GRID_ROWS + 1) * rows_px, width)


def trace_spans(x: torch.Tensor, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(min, max) of each series' polyline over ``width`` equal pixel columns of its time span.

    ``x`` (B, L, T) -> two (B, L, width) tensors: for column ``j`` (times ``[j T / width,
    (j + 1) T / width)``), the extremes of the polyline at the column's two edges (linear
    interpolation between the samples at times ``k + 0.5``) and of every sample inside it.
    """
    t = x.shape[-1]
    edges = torch.arange(width + 1, device=x.device, dtype=torch.float64) * (t / width) - 0.5
    edges = edges.clamp(0, t - 1)
    k0 = edges.floor().long()
    k1 = (k0 + 1).clamp(max=t - 1)
    w = (edges - k0).to(x.dtype)
    at_edges = x[..., k0] * (1 - w) + x[..., k1] * w  # (B, L, width + 1)
    left, right = at_edges[..., :-1], at_edges[..., 1:]
    # the column holding sample k: floor((k + 0.5) width / T), in integers
    column = ((2 * torch.arange(t, device=x.device) + 1) * width) // (2 * t)
    column = column.clamp(max=width - 1).expand_as(x)
    hi = torch.maximum(left, right).scatter_reduce(-1, column, x, "amax", include_self=True)
    lo = torch.minimum(left, right).scatter_reduce(-1, column, x, "amin", include_self=True)
    return lo, hi


class ConvNormAct2d(nn.Sequential):
    """Conv2d (no bias, padding ``kernel // 2``) -> BatchNorm2d -> GELU; output ``ceil(H / stride)``."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int):
        super().__init__(
            nn.Conv2d(in_ch, out_ch, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(out_ch),
            nn.GELU(),
        )


class GridTokens(nn.Module):
    """A conv map (B, D, H, W) -> tokens (B, H * W, D), row-major (token ``h W + w``), plus a
    learned position embedding per grid cell (the grid is fixed: the image size does not depend
    on the input length)."""

    def __init__(self, n_tokens: int, dim: int):
        super().__init__()
        self.positions = nn.Parameter(torch.empty(n_tokens, dim))
        nn.init.trunc_normal_(self.positions, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.flatten(2).transpose(1, 2)
        if tokens.shape[1] != self.positions.shape[0]:
            raise ModelError(
                f"printout token grid has {tokens.shape[1]} cells; the model was built for {self.positions.shape[0]}"
            )
        return tokens + self.positions


class RenderPrintout(nn.Module):
    """``render_printout`` as a parameter-free module (its output can be hooked: feature "image")."""

    def __init__(self, rows_px: int, panel_px: int, clip: float):
        super().__init__()
        self.rows_px, self.panel_px, self.clip = rows_px, panel_px, clip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _render(x, self.rows_px, self.panel_px, self.clip)


@register_model("printout_cnn")
class PrintoutCNN(ECGClassifier):
    """12-lead printout-image teacher: render -> 2-D CNN -> 8 x 16 patch tokens -> 2 Transformer blocks.

    "small" (0.62 M parameters): the 128 x 256 printout (``render_printout`` defaults) goes through
    five conv-BN-GELU layers (kernels 5, 3, 3, 3, 3; strides 2, 2, 2, 1, 2; widths 24, 48, 96, 96,
    144; total stride 16) to an 8 x 16 map; its cells become 128 row-major tokens of width 144 with
    learned grid positions, then two pre-norm Transformer blocks (4 heads), LayerNorm, mean pooling
    and a linear head. Each token covers a 16 x 16 px patch: half a panel high, a quarter of a panel
    wide. Width 144, not 128, so the token count (128) and width differ (a square (N, D) token set
    is ambiguous for layout detection, ``distill.liteheart.cross_layer_mi.is_token_layout``).

    Features: "image" (B, 1, 128, 256) the rendered printout, "tokens" (B, 128, 144) after the
    final LayerNorm, "temporal" (B, 144, 16) the tokens averaged over the 8 grid rows (one step per
    16 px of time), "penultimate" (B, 144) their mean, "stage1" the CNN's grid tokens (with
    positions), "stage2" / "stage3" the Transformer blocks (all (B, N, D)). Any input length
    >= ``min_samples`` gives the same image size and token grid.
    """

    sizes = {
        "small": {
            "rows_px": 32,
            "panel_px": 64,
            "clip": 3.0,
            "widths": (24, 48, 96, 96, 144),
            "kernels": (5, 3, 3, 3, 3),
            "strides": (2, 2, 2, 1, 2),
            "depth": 2,
            "heads": 4,
            "mlp_ratio": 2.0,
        },
        # a quarter of the pixels (64 x 128; 51 px/s for a 2.5 s crop, a QRS about 5 px wide), four
        # conv layers to a 4 x 8 grid: 32 tokens of width 112 (the tiny student: 16 of width 96),
        # 0.30 M parameters; about a fifth of "small"'s cost per training step, for CPU-only benchmarks
        "tiny": {
            "rows_px": 16,
            "panel_px": 32,
            "clip": 3.0,
            "widths": (16, 32, 64, 112),
            "kernels": (5, 3, 3, 3),
            "strides": (2, 2, 2, 2),
            "depth": 2,
            "heads": 4,
            "mlp_ratio": 2.0,
        },
    }
    default_size = "small"
    min_samples = COLUMNS  # at least one sample per panel column

    def __init__(self, size: str | None = None, *, in_leads: int = 12, n_classes: int = 15, dropout: float = 0.1):
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, dropout=dropout)
        if self.in_leads != PRINTOUT_LEADS:
            raise ModelError(
                f"model {self.name!r} renders the 12-lead printout: in_leads must be {PRINTOUT_LEADS}; got {in_leads}"
            )
        h = self.hparams
        self.render = RenderPrintout(h["rows_px"], h["panel_px"], h["clip"])
        layers, width, stride = [], 1, 1
        for out, kernel, s in zip(h["widths"], h["kernels"], h["strides"]):
            layers.append(ConvNormAct2d(width, out, kernel, s))
            width, stride = out, stride * s
        self.cnn = nn.Sequential(*layers)
        grid_h = -(-(GRID_ROWS + 1) * h["rows_px"] // stride)
        grid_w = -(-COLUMNS * h["panel_px"] // stride)
        self.grid = (grid_h, grid_w)
        self.to_tokens = GridTokens(grid_h * grid_w, width)
        self.blocks = transformer_encoder(width, h["depth"], h["heads"], h["mlp_ratio"], dropout)
        self.norm = nn.LayerNorm(width)
        self.to_map = LeadAverageMap(grid_h)  # row-major tokens: the mean over grid rows
        self.pool = MeanPool(dim=2)
        self.head = classifier_head(width, n_classes, dropout)
        self.feature_layers = {
            **TOKEN_READOUT_LAYERS,
            "image": "render",
            "stage1": "to_tokens",
            **{f"stage{i + 2}": f"blocks.{i}" for i in range(h["depth"])},
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        tokens = self.norm(self.blocks(self.to_tokens(self.cnn(self.render(x)))))
        return self.head(self.pool(self.to_map(tokens)))
