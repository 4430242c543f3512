"""ECG drawings: the 12-lead clinical grid and single-lead strips with overlays.

Clinical conventions: paper speed 25 mm/s, gain 10 mm/mV, 1 mm minor and 5 mm major grid, a 1 mV x
0.2 s calibration pulse at the start of each row, the standard 3 x 4 layout (I aVR V1 V4 / II aVL
V2 V5 / III aVF V3 V6, 2.5 s each) and a 10 s rhythm strip of lead II below.

Units: the drawings take the signal's ``unit`` (``ECGData.unit``: ``"mV"`` or ``"z"``). Signals
z-scored per record and lead (e.g. ptbxl-2k) have no voltage: the grid then draws ``MM_PER_Z`` = 4 mm
per z-unit (a z-scored QRS reaches 6-9 z-units, against 1-2 mV: at 10 mm its spikes would run through
the next row), leaves out the 1 mV calibration pulses and says so in its footer, and the strip's axis
is labelled in z-units, so a z-scored trace is never passed off as millivolts.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from ..errors import ConfigError
from ..data.container import UNITS
from ..data.leads import LEADS12, lead_indices
from .style import REGION_COLOR

MM_PER_S = 25.0
MM_PER_MV = 10.0
MM_PER_Z = 4.0  # gain for z-scored leads: a 6-9 z QRS stays inside its row
GRID_LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
_PAPER = {"minor": "#f6c8c8", "major": "#e48a8a", "trace": "black"}


def _check_record(signal: np.ndarray, n_leads: int | None = None) -> np.ndarray:
    signal = np.asarray(signal, dtype=float)
    if signal.ndim != 2:
        raise ConfigError(f"signal must be (leads, T); got shape {signal.shape}")
    if n_leads is not None and signal.shape[0] != n_leads:
        raise ConfigError(f"signal must have {n_leads} leads; got {signal.shape[0]}")
    if not np.isfinite(signal).all():
        raise ConfigError("signal contains NaN or inf; refusing to draw it")
    return signal


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ConfigError(f"unit must be one of {UNITS} (the data's ECGData.unit); got {unit!r}")
    return unit


def _paper(ax, width_mm: float, height_mm: float, y0_mm: float) -> None:
    for step, kind, lw in ((1.0, "minor", 0.3), (5.0, "major", 0.7)):
        xs = np.arange(0, width_mm + 1e-6, step)
        ys = np.arange(y0_mm, y0_mm + height_mm + 1e-6, step)
        ax.vlines(xs, y0_mm, y0_mm + height_mm, color=_PAPER[kind], lw=lw, zorder=0)
        ax.hlines(ys, 0, width_mm, color=_PAPER[kind], lw=lw, zorder=0)
    ax.set_xlim(0, width_mm)
    ax.set_ylim(y0_mm, y0_mm + height_mm)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_visible(False)
    ax.grid(False)


def _calibration(ax, x_mm: float, base_mm: float, mm_per_mv: float = MM_PER_MV) -> None:
    w, h = 0.2 * MM_PER_S, 1.0 * mm_per_mv
    ax.plot(
        [x_mm, x_mm + 1, x_mm + 1, x_mm + 1 + w, x_mm + 1 + w, x_mm + 2 + w],
        [base_mm, base_mm, base_mm + h, base_mm + h, base_mm, base_mm],
        color=_PAPER["trace"],
        lw=0.9,
    )


def plot_12lead(
    signal: np.ndarray,
    fs: float,
    *,
    leads: Sequence[str] = LEADS12,
    title: str | None = None,
    rhythm_lead: str = "II",
    row_height_mv: float = 3.0,
    scale: float = 0.04,
    unit: str = "mV",
    gain_mm: float | None = None,
):
    """Draw one 12-lead record (shape (12, T), in ``unit``) on ECG paper; returns the figure.

    ``scale`` is inches per mm (0.04 in/mm is a readable screen size; 1/25.4 is true size).
    ``row_height_mv``: the height of each row, in units of 10 mm (3.0 -> 30 mm rows) whatever ``unit``.
    ``unit="z"`` (pass ``data.unit``): 4 mm per z-unit, no calibration pulse (module docstring).
    ``gain_mm``: mm per signal unit, overriding the default (10 mm/mV, ``MM_PER_Z`` mm per z-unit);
    the footer states the gain used. Half a row of paper is left above the first row, so a tall
    complex there is not cut at the top edge.
    """
    signal = _check_record(signal, 12)
    _check_unit(unit)
    if fs <= 0:
        raise ConfigError(f"fs must be positive; got {fs}")
    if gain_mm is None:
        gain_mm = MM_PER_MV if unit == "mV" else MM_PER_Z
    if not gain_mm > 0:
        raise ConfigError(f"gain_mm must be positive; got {gain_mm}")
    idx = {name: i for name, i in zip(leads, lead_indices(list(leads), LEADS12))}
    seg_s = 2.5
    seg_n = int(round(seg_s * fs))
    total_s = min(signal.shape[1] / fs, 10.0)
    cal_mm = 0.2 * MM_PER_S + 3
    width = cal_mm + total_s * MM_PER_S
    row_h = row_height_mv * MM_PER_MV
    n_rows = len(GRID_LAYOUT) + 1
    headroom = 0.5 * row_h  # above the first row: its tall complexes (V1 of a PVC) are not cut off
    height = n_rows * row_h + headroom
    fig, ax = plt.subplots(figsize=(width * scale, height * scale))
    _paper(ax, width, height, 0.0)
    for r, row in enumerate(list(GRID_LAYOUT) + [(rhythm_lead,)]):
        base = height - headroom - (r + 0.5) * row_h
        if unit == "mV":
            _calibration(ax, 0.5, base, gain_mm)
        for c, name in enumerate(row):
            if r < len(GRID_LAYOUT):
                lo, hi = c * seg_n, min((c + 1) * seg_n, signal.shape[1])
            else:
                lo, hi = 0, min(int(total_s * fs), signal.shape[1])
            if lo >= hi:
                continue
            y = signal[idx[name], lo:hi]
            x = cal_mm + (np.arange(lo, hi) / fs) * MM_PER_S
            ax.plot(x, base + (y - np.median(y)) * gain_mm, color=_PAPER["trace"], lw=0.7)
            ax.text(  # on a white patch above the trace: a tall complex never runs through the name
                x[0] + 1,
                base + 0.35 * row_h,
                name,
                fontsize=8,
                fontweight="bold",
                zorder=5,
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.0),
                gid=f"lead-name:{name}",
            )
            if r < len(GRID_LAYOUT) and c > 0:
                ax.vlines(x[0], base - 2, base + 2, color=_PAPER["trace"], lw=0.8)
    ax.set_title(title or "12-lead ECG", fontsize=10, loc="left")
    if unit == "mV":
        footer = f"25 mm/s, {gain_mm:g} mm/mV"
    else:
        footer = f"25 mm/s, {gain_mm:g} mm per z-unit (z-scored: no mV scale)"
    ax.text(
        width - 1,
        1,
        footer,
        ha="right",
        va="bottom",
        fontsize=7,
        bbox=dict(facecolor="white", edgecolor="none", alpha=0.85, pad=1.5),
    )  # readable over a trace
    fig.tight_layout()
    return fig


def plot_strip(
    signal: np.ndarray,
    fs: float,
    *,
    lead: str = "I",
    ax=None,
    regions: np.ndarray | None = None,
    saliency: np.ndarray | None = None,
    region_label: str = "ground-truth region",
    saliency_label: str = "saliency",
    color: str = "black",
    title: str | None = None,
    unit: str = "mV",
    colorbar: bool = True,
):
    """One lead (shape (T,), in ``unit``: pass ``data.unit``) with optional shaded ``regions``
    (bool (T,)) and a ``saliency`` curve (T,) in [0, 1] drawn as coloured dots. The saliency's scale
    is a colour bar labelled ``saliency_label`` (``colorbar=False`` when the caller draws one shared
    bar); the legend names only the region and sits above the axes at the right (the title is on
    the left), so it never covers the trace. Returns the figure."""
    _check_unit(unit)
    y = np.asarray(signal, dtype=float)
    if y.ndim != 1:
        raise ConfigError(f"signal must be one lead (T,); got shape {y.shape}")
    if not np.isfinite(y).all():
        raise ConfigError("signal contains NaN or inf; refusing to draw it")
    t = np.arange(len(y)) / fs
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 2.2))
    else:
        fig = ax.figure
    if regions is not None:
        regions = np.asarray(regions, dtype=bool)
        if regions.shape != y.shape:
            raise ConfigError(f"regions must have the signal's shape {y.shape}; got {regions.shape}")
        ax.fill_between(
            t,
            y.min(),
            y.max(),
            where=regions,
            color=REGION_COLOR,
            alpha=0.5,
            step="mid",
            label=region_label,
            linewidth=0,
        )
    if saliency is not None:
        s = np.asarray(saliency, dtype=float)
        if s.shape != y.shape or not np.isfinite(s).all():
            raise ConfigError(f"saliency must be finite with the signal's shape {y.shape}; got {s.shape}")
        dots = ax.scatter(t, y, c=s, cmap="magma_r", s=4, vmin=0, vmax=1, zorder=3)
        if colorbar:
            fig.colorbar(dots, ax=ax, label=saliency_label, fraction=0.03, pad=0.01)
    ax.plot(t, y, color=color, lw=0.8, zorder=2)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"lead {lead} ({unit})")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    if regions is not None:  # above the axes, right of the title: the legend never covers the trace
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), fontsize=7, frameon=False, borderaxespad=0.1)
    return fig
