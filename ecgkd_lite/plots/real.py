"""Figures of the real-data sections: per-class AUC beside prevalence (synthetic against ptbxl-2k), an
LUDB record with the cardiologists' wave boundaries, and Grad-CAM maps over LUDB records.

Every function returns its Figure and labels its axes with units; a missing value is left out (never
drawn as 0 or 0.5).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ..errors import ConfigError
from .style import mark_axis_break, method_color

#: one shade per LUDB wave mask (a qualitative palette that no method colour uses)
WAVE_COLORS: dict[str, str] = {"P": "#8da0cb", "PR": "#e78ac3", "QRS": "#fc8d62", "ST": "#ffd92f", "T": "#66c2a5"}
#: what each wave mask is (legend text)
WAVE_LABELS: dict[str, str] = {
    "P": "P wave",
    "PR": "PR interval (P onset to QRS onset)",
    "QRS": "QRS complex",
    "ST": "ST segment",
    "T": "T wave",
}
#: markers of the AUC series of :func:`plot_class_auc`, in column order
_AUC_MARKERS = ("o", "D", "s", "^")


def plot_class_auc(panels: Mapping[str, pd.DataFrame], *, title: str | None = None):
    """Per-class AUC (top row) above the class prevalence (bottom row), one column per panel.

    ``panels``: ``{panel title: table indexed by class}``; the column ``prevalence`` (% of records
    with the label) is drawn as points on a log axis shared by the panels (points, not bars: a bar on
    a log axis that starts above 0 has no meaningful length), every other column is an
    AUC series drawn as dots (the first filled, the others hollow), classes sorted by the first
    series, best first. A NaN AUC is not drawn."""
    if not panels:
        raise ConfigError("panels is empty: give {title: DataFrame with AUC columns and 'prevalence'}")
    for name, table in panels.items():
        series = [c for c in table.columns if c != "prevalence"]
        if "prevalence" not in table.columns or not series or len(series) > len(_AUC_MARKERS):
            raise ConfigError(
                f"panel {name!r} needs a 'prevalence' column and 1-{len(_AUC_MARKERS)} AUC columns; "
                f"got {list(table.columns)}"
            )
        prevalence = table["prevalence"].to_numpy(dtype=float)
        if (prevalence <= 0).any() or (prevalence > 100).any():
            raise ConfigError(f"panel {name!r}: prevalence must be a percentage in (0, 100]")
    widths = [max(len(t), 1) for t in panels.values()]
    fig, axes = plt.subplots(
        2,
        len(panels),
        figsize=(min(16, 3 + 0.42 * sum(widths)), 6.2),
        squeeze=False,
        sharey="row",
        gridspec_kw={"width_ratios": widths, "height_ratios": [3, 2]},
    )
    for k, (name, table) in enumerate(panels.items()):
        series = [c for c in table.columns if c != "prevalence"]
        table = table.sort_values(series[0], ascending=False)
        x = np.arange(len(table))
        ax_auc, ax_prev = axes[0, k], axes[1, k]
        for j, col in enumerate(series):
            v = table[col].to_numpy(dtype=float)
            ok = np.isfinite(v)
            ax_auc.plot(
                x[ok],
                v[ok],
                _AUC_MARKERS[j],
                ms=6,
                color="black",
                mfc="black" if j == 0 else "white",
                mew=1.2,
                label=col,
                linestyle="none",
            )
        ax_auc.axhline(0.5, color="grey", lw=0.8, ls="--", label="chance (0.5)")
        ax_auc.set_title(name, fontsize=10)
        ax_auc.grid(axis="y", lw=0.4, alpha=0.6)
        ax_auc.legend(loc="lower left", fontsize=8)
        ax_auc.tick_params(axis="x", labelbottom=False)
        ax_prev.plot(
            x,
            table["prevalence"].to_numpy(dtype=float),
            "o",
            ms=5,
            color="#636363",
            mec="black",
            mew=0.6,
            linestyle="none",
            label="prevalence",
        )
        ax_prev.set_yscale("log")
        ax_prev.grid(axis="y", lw=0.4, alpha=0.6)
        ax_prev.set_xticks(x, table.index, rotation=90, fontsize=8)
        ax_prev.set_xlabel("class (sorted by AUC)")
        for ax in (ax_auc, ax_prev):
            ax.set_xlim(-0.6, len(table) - 0.4)
        ax_auc.set_xticks(x)
    axes[0, 0].set_ylabel("test AUC")
    axes[0, 0].set_ylim(0.35, 1.02)
    low = 10.0 ** np.floor(np.log10(min(float(t["prevalence"].min()) for t in panels.values())))
    ticks = [v for v in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100) if v >= low]
    axes[1, 0].set_ylim(low, 100)
    axes[1, 0].set_yticks(ticks, [f"{v:g}" for v in ticks])
    axes[1, 0].yaxis.set_minor_locator(plt.NullLocator())
    mark_axis_break(axes[0, 0], "y")  # the AUC axis starts above 0
    axes[1, 0].set_ylabel("records with the label\n(%, log scale)")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _shade_runs(
    ax,
    runs: Sequence[Sequence[int]],
    fs: float,
    color: str,
    *,
    ymin: float = 0.0,
    ymax: float = 1.0,
    alpha: float = 0.45,
) -> None:
    for start, end in runs:
        ax.axvspan(start / fs, end / fs, ymin=ymin, ymax=ymax, color=color, alpha=alpha, lw=0)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    from ..data.ludb import mask_runs

    return mask_runs(np.asarray(mask, dtype=bool))


def plot_ludb_waves(
    signals: np.ndarray,
    fs: float,
    leads: Sequence[str],
    waves: Mapping[str, np.ndarray],
    *,
    window: tuple[float, float] | None = None,
    unit: str = "mV",
    title: str | None = None,
):
    """One LUDB record, one row per lead, with the cardiologists' wave masks of that lead shaded.

    ``signals`` (leads, T) in ``unit`` at ``fs``; ``waves``: ``{wave: bool (leads, T)}`` at the same rate
    (e.g. ``ludb_wave_masks(...).wave("QRS")[i]``). P, QRS, ST and T are shaded over the full height;
    PR, which contains the P wave, is a band along the bottom of each row. ``window``: ``(t0, t1)`` in
    seconds to show."""
    x = np.asarray(signals, dtype=float)
    if x.ndim != 2 or x.shape[0] != len(leads):
        raise ConfigError(f"signals must be (leads, T) with one row per lead of {list(leads)}; got {x.shape}")
    unknown = sorted(set(waves) - set(WAVE_COLORS))
    if unknown:
        raise ConfigError(f"unknown wave(s) {unknown}; choose from {list(WAVE_COLORS)}")
    for w, m in waves.items():
        if np.shape(m) != x.shape:
            raise ConfigError(f"waves[{w!r}] must have the signals' shape {x.shape}; got {np.shape(m)}")
    t = np.arange(x.shape[1]) / fs
    fig, axes = plt.subplots(len(leads), 1, figsize=(11, 1.9 * len(leads) + 0.9), sharex=True, squeeze=False)
    for k, (ax, lead) in enumerate(zip(axes[:, 0], leads)):
        for w, m in waves.items():
            if w == "PR":
                _shade_runs(ax, _runs(m[k]), fs, WAVE_COLORS[w], ymax=0.08, alpha=0.9)
            else:
                _shade_runs(ax, _runs(m[k]), fs, WAVE_COLORS[w])
        ax.plot(t, x[k], color="black", lw=0.9)
        ax.set_ylabel(f"lead {lead} ({unit})")
        ax.grid(lw=0.3, alpha=0.5)
    if window is not None:
        axes[0, 0].set_xlim(*window)
        visible = (t >= window[0]) & (t <= window[1])
        for k, ax in enumerate(axes[:, 0]):
            lo, hi = x[k, visible].min(), x[k, visible].max()
            pad = 0.1 * (hi - lo) or 0.1
            ax.set_ylim(lo - 2.5 * pad, hi + pad)  # room for the PR band at the bottom
    axes[-1, 0].set_xlabel("time (s)")
    handles = [Patch(color=WAVE_COLORS[w], alpha=0.9 if w == "PR" else 0.45, label=WAVE_LABELS[w]) for w in waves]
    fig.legend(
        handles=handles, loc="upper center", ncol=len(handles), fontsize=8, frameon=False, bbox_to_anchor=(0.5, 1.0)
    )
    if title:
        fig.suptitle(title, y=1.04, fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def plot_gradcam_examples(
    examples: Sequence[Mapping],
    traces: Mapping[str, np.ndarray],
    trace_fs: float,
    map_fs: float,
    *,
    lead: str = "I",
    unit: str = "mV",
    models: Mapping[str, str] | None = None,
):
    """Grad-CAM maps over LUDB records, one block of rows per example: the lead (``traces[record_id]``,
    (T,) at ``trace_fs``) with the scored region shaded and the annotated span marked, then one row
    per model with its map (``<model>_map``, (T',) in [0, 1] at ``map_fs``) filled and, when the
    example has it, the map without the ReLU (``<model>_no_relu_map``) as a thin line.

    ``examples``: dicts as in ``results/ludb_gradcam_examples.json`` (``class``, ``record_id``,
    ``region``, ``region_runs``, ``span``, ``<model>_map``); ``models``: ``{key prefix: row label}``
    (default teacher and student). A map that is all zero inside the annotated span (``<model>_zero_map``,
    else all zero anywhere: no positive evidence) is said so right of its row."""
    models = dict(models or {"teacher": "teacher\n(12 leads)", "student": "student\n(lead I)"})
    if not examples:
        raise ConfigError("examples is empty")
    missing = [e["record_id"] for e in examples if e["record_id"] not in traces]
    if missing:
        raise ConfigError(f"no trace for record(s) {missing}")
    rows = 1 + len(models)
    fig, axes = plt.subplots(
        rows * len(examples),
        1,
        figsize=(11, (1.5 + 0.8 * len(models)) * len(examples) + 0.8),
        sharex=True,
        gridspec_kw={"height_ratios": ([1.7] + [1] * len(models)) * len(examples)},
    )
    for i, ex in enumerate(examples):
        block = axes[rows * i : rows * (i + 1)]
        wave = ex["region"]
        for ax in block:
            _shade_runs(ax, ex["region_runs"], map_fs, WAVE_COLORS.get(wave, "#c7c7c7"))
            for edge in ex["span"]:
                ax.axvline(edge / map_fs, color="black", lw=0.8, ls=":")
        y = np.asarray(traces[ex["record_id"]], dtype=float)
        block[0].plot(np.arange(len(y)) / trace_fs, y, color="black", lw=0.7)
        block[0].set_ylabel(f"lead {lead}\n({unit})", fontsize=8)
        labels = "+".join(ex.get("labels", [])) or ex["class"]
        block[0].set_title(
            f"{ex['class']}, scored against the {WAVE_LABELS.get(wave, wave)}: LUDB record "
            f"{ex['record_id']} (labels {labels})",
            fontsize=9,
            loc="left",
        )
        for ax, (key, label) in zip(block[1:], models.items()):
            color = method_color("teacher" if key == "teacher" else "baseline")
            m = np.asarray(ex[f"{key}_map"], dtype=float)
            t = np.arange(len(m)) / map_fs
            ax.fill_between(t, 0, m, color=color, alpha=0.55, lw=0)
            if f"{key}_no_relu_map" in ex:
                raw = np.asarray(ex[f"{key}_no_relu_map"], dtype=float)
                ax.plot(np.arange(len(raw)) / map_fs, raw, color=color, lw=0.7)
            if ex.get(f"{key}_zero_map", not (m > 0).any()):  # the example's own flag: zero inside the span
                ax.text(
                    1.005,
                    0.5,
                    "Grad-CAM\nall zero\nin the span",
                    transform=ax.transAxes,
                    ha="left",
                    va="center",
                    fontsize=7,
                )
            ax.set_ylim(0, 1.05)
            ax.set_yticks([0, 1])
            ax.set_ylabel(label, fontsize=7)
    axes[-1].set_xlabel("time (s)")
    waves = list(dict.fromkeys(ex["region"] for ex in examples))
    handles = [
        Patch(color=WAVE_COLORS.get(w, "#c7c7c7"), alpha=0.45, label=f"scored region: {WAVE_LABELS.get(w, w)}")
        for w in waves
    ]
    handles += [
        Line2D([], [], color="black", lw=0.8, ls=":", label="annotated span (scored inside)"),
        Patch(color="grey", alpha=0.55, label="Grad-CAM map (ReLU, 0-1)"),
        Line2D([], [], color="grey", lw=0.7, label="map without ReLU (min-max, 0-1)"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8, frameon=False, bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.55 / fig.get_figheight()))
    return fig
