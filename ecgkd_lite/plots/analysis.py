"""Analysis figures: per-class AUC violins, embeddings, gap closed, efficiency, saliency strips.

Every function returns its Figure, labels its axes, colours methods with ``method_color`` and
draws no NaN: a missing value is left out and said so (never drawn as 0 or 0.5).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.patheffects import withStroke
from matplotlib.text import Text
from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter
from matplotlib.transforms import ScaledTranslation

from ..errors import ConfigError
from .ecg import plot_strip
from .style import mark_axis_break, method_color, method_label, series_colors

SALIENCY_CMAP = "magma_r"  # the colour map of plot_strip's saliency band


def plot_auc_violins(
    per_class: Mapping[str, Mapping[str, float | None]],
    macro: Mapping[str, float] | None = None,
    *,
    title: str = "Per-condition AUC",
    label_conditions: Sequence[str] = (),
):
    """One violin per method of its per-condition AUCs, one dot per condition, the macro AUC as a bar.

    A condition whose AUC is None/NaN (no positive in the test split) is not drawn; it is listed
    as "missing: X, Y" in the method's tick label under the violin. The dots of the conditions in
    ``label_conditions`` (e.g. those lead I cannot see) are drawn hollow and named beside the dot.
    """
    if not per_class:
        raise ConfigError("per_class is empty: give {method: {condition: AUC}}")
    methods = list(per_class)
    rows, missing = [], {}
    for method in methods:
        values = {c: (np.nan if v is None else float(v)) for c, v in per_class[method].items()}
        missing[method] = [c for c, v in values.items() if not np.isfinite(v)]
        rows += [{"method": method, "condition": c, "auc": v} for c, v in values.items() if np.isfinite(v)]
    data = pd.DataFrame(rows, columns=["method", "condition", "auc"])
    palette = {m: method_color(m) for m in methods}
    fig, ax = plt.subplots(figsize=(max(4.0, 1.3 * len(methods) + 1.5), 4.2))
    if len(data):
        sns.violinplot(
            data=data,
            x="method",
            y="auc",
            hue="method",
            order=methods,
            hue_order=methods,
            palette=palette,
            inner=None,
            cut=0,
            density_norm="width",
            linewidth=0.8,
            legend=False,
            ax=ax,
        )
    jitter = np.random.default_rng(0)
    named = set(label_conditions)
    labels: list[tuple[str, str, float, float]] = []  # (method, condition, x, y) of the named dots
    for i, method in enumerate(methods):
        rows_m = data.loc[data["method"] == method]
        auc, conditions = rows_m["auc"].to_numpy(), rows_m["condition"].to_numpy()
        x = i + jitter.uniform(-0.12, 0.12, len(auc))
        ax.scatter(
            x,
            auc,
            s=14,
            color="black",
            edgecolors="white",  # the white rim keeps the dots visible on a dark violin
            linewidths=0.5,
            alpha=0.85,
            zorder=3,
            label="one condition" if i == 0 else None,
            gid=f"conditions:{method}",
        )
        for xi, yi, condition in zip(x, auc, conditions):
            if condition in named:
                ax.scatter(
                    xi,
                    yi,
                    s=40,
                    facecolor="none",
                    edgecolor="black",
                    lw=0.9,
                    zorder=4,
                    path_effects=[withStroke(linewidth=2.2, foreground="white")],
                )
                labels.append((method, condition, xi, yi))
        if macro is not None and method in macro and macro[method] is not None and np.isfinite(macro[method]):
            ax.hlines(
                macro[method],
                i - 0.35,
                i + 0.35,
                color="black",
                lw=2,
                zorder=4,
                label="macro AUC" if i == 0 else None,
                path_effects=[withStroke(linewidth=4, foreground="white")],  # visible on a dark violin
            )
    ax.set_xticks(range(len(methods)), [_with_missing(m, missing[m]) for m in methods], fontsize=8)
    ax.set_xlim(-0.6, len(methods) - 0.4)
    ax.set_xlabel("method")
    ax.set_ylabel("test AUC per condition")
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)  # beside the axes: it hides no dot
    mark_axis_break(ax)  # AUCs sit far above 0: the axis starts where the data do, and says so
    fig.tight_layout()
    _place_condition_labels(ax, labels)  # after the layout: the spacing is in final screen points
    return fig


#: font size (points) of the condition names beside the violins' dots
_LABEL_PT = 7.0


def _place_condition_labels(ax, labels: Sequence[tuple[str, str, float, float]]) -> None:
    """Name each dot right of it; names of one violin closer than a line height are pushed apart
    vertically (downwards from the highest), with a thin leader line to a name moved off its dot."""
    fig = ax.figure
    step = (1.25 * _LABEL_PT + 2.0) * fig.dpi / 72  # one line of text and its patch, in pixels
    by_method: dict[str, list[tuple[str, float, float]]] = {}
    for method, condition, x, y in labels:
        by_method.setdefault(method, []).append((condition, x, y))
    to_px = ax.transData.transform
    for method, items in by_method.items():
        items.sort(key=lambda item: -item[2])  # highest first
        placed: list[float] = []  # the names' y in pixels
        for condition, x, y in items:
            y_px = to_px((x, y))[1]
            target = min(y_px, placed[-1] - step) if placed else y_px
            placed.append(target)
            dy = (target - y_px) * 72 / fig.dpi  # points
            moved = abs(dy) > 1.0
            ax.annotate(
                str(condition),
                (x, y),
                xytext=(8, dy),
                textcoords="offset points",
                va="center",
                fontsize=_LABEL_PT,
                zorder=5,
                bbox=dict(facecolor="white", edgecolor="none", alpha=0.75, pad=0.6),  # readable on a dark violin
                arrowprops=dict(arrowstyle="-", lw=0.5, color="0.3", shrinkA=0, shrinkB=2) if moved else None,
                gid=f"condition-label:{method}:{condition}",
            )


def _with_missing(method: str, missing: Sequence[str], per_line: int = 3) -> str:
    name = _wrap(method_label(method))
    if not missing:
        return name
    lines = [", ".join(missing[i : i + per_line]) for i in range(0, len(missing), per_line)]
    return name + "\nmissing: " + ",\n".join(lines)


def _wrap(text: str, width: int = 14) -> str:
    """``text`` broken before each parenthesis and at spaces into lines of about ``width`` characters
    (tick labels under narrow columns)."""
    lines: list[str] = []
    for k, part in enumerate(text.split(" (")):
        for i, word in enumerate(("(" + part if k else part).split(" ")):
            if i and len(lines[-1]) + 1 + len(word) <= width:
                lines[-1] += " " + word
            else:
                lines.append(word)
    return "\n".join(lines)


#: marker shapes that, with a shade of ``SERIES_CMAP``, tell the conditions apart in an embedding
CONDITION_MARKERS = ("o", "^", "s", "D", "v", "P", "X", "*")
#: the tint of the conditions an embedding does not highlight
OTHER_CONDITIONS = "#dcdcdc"


def plot_embeddings(
    embeddings: Mapping[str, np.ndarray],
    labels: Sequence,
    *,
    title: str | None = None,
    highlight: Sequence | None = None,
):
    """Side-by-side 2-D scatter panels (one per model), the same colour per label, one shared legend.

    Colour and marker mean the label (condition) only, drawn from the non-method series shades
    (``style.SERIES_CMAP``) with a marker shape per condition, so no colour here also means a method;
    the panel titles stay black. ``highlight``: the conditions to draw in colour (the others in a light
    grey, behind them, as "other conditions"); default every condition."""
    if not embeddings:
        raise ConfigError("embeddings is empty: give {model: (N, 2) coordinates}")
    labels = np.asarray(labels)
    for name, xy in embeddings.items():
        xy = np.asarray(xy, dtype=float)
        if xy.shape != (len(labels), 2) or not np.isfinite(xy).all():
            raise ConfigError(
                f"embeddings[{name!r}] must be finite with shape ({len(labels)}, 2) like labels; got {xy.shape}"
            )
    classes = sorted(set(labels.tolist()), key=str)
    if highlight is not None:
        unknown = [c for c in highlight if c not in classes]
        if unknown or not highlight:
            raise ConfigError(f"highlight names {unknown or 'no condition'}; the labels hold {classes}")
    shown = classes if highlight is None else [c for c in classes if c in set(highlight)]
    others = [c for c in classes if c not in shown]
    shades = series_colors(len(shown), span=(0.3, 1.0))  # a wide spread without the palest yellows
    style = {c: (shades[i], CONDITION_MARKERS[i % len(CONDITION_MARKERS)]) for i, c in enumerate(shown)}
    fig, axes = plt.subplots(1, len(embeddings), figsize=(3.6 * len(embeddings), 3.8), squeeze=False)
    for ax, (name, xy) in zip(axes[0], embeddings.items()):
        xy = np.asarray(xy, dtype=float)
        if others:
            keep = np.isin(labels, others)
            ax.scatter(xy[keep, 0], xy[keep, 1], s=6, color=OTHER_CONDITIONS, label="other conditions")
        for cls in shown:
            keep = labels == cls
            colour, marker = style[cls]
            ax.scatter(
                xy[keep, 0],
                xy[keep, 1],
                s=20,
                color=colour,
                marker=marker,
                label=str(cls),
                alpha=0.85,
                edgecolors="0.2",
                linewidths=0.4,
            )
        ax.set_title(method_label(name), fontsize=10)  # black: here colour means the condition, not the method
        ax.set_xlabel("dim 1")
        ax.set_ylabel("dim 2")
        ax.set_xticks([])
        ax.set_yticks([])
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, loc="center right", fontsize=8, markerscale=1.5, title="condition")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.86, 1))
    return fig


def plot_gap_closed(result: Mapping, methods: Sequence[str] | None = None, metric: str = "macro_auc"):
    """Bars of the gap closed (%) per method, error bars the std over seeds, from a quality-benchmark JSON.

    Per seed s: ``gap_s = (student_s - mean baseline) / (teacher - mean baseline)``; the bar is the
    mean over seeds (the JSON's ``gap_closed``) and the error bar their std (ddof 1). A method whose
    gap is undefined (teacher == baseline) gets no bar and the label "n/a".
    """
    from ..bench.quality import METRICS, SCHEMA, method_order

    if result.get("schema") != SCHEMA:
        raise ConfigError(f"result has schema {result.get('schema')!r}; expected {SCHEMA!r}")
    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {list(METRICS)}; got {metric!r}")
    known = result["methods"]
    methods = list(methods) if methods is not None else [m for m in method_order(known) if m != "baseline"]
    unknown = [m for m in methods if m not in known]
    if unknown or not methods:
        raise ConfigError(f"methods {unknown or methods} are not in the result; available: {method_order(known)}")
    base, teacher = known["baseline"]["mean"][metric], result["teacher"][metric]
    fig, ax = plt.subplots(figsize=(min(9.0, max(4.0, 0.42 * len(methods) + 1.5)), 3.8))
    seeds = set()
    for i, method in enumerate(methods):
        gap = known[method]["gap_closed"][metric]
        if gap is None or not np.isfinite(gap) or teacher == base:
            ax.text(i, 0, "n/a", ha="center", va="bottom", fontsize=8)
            continue
        per_seed = [100 * (run[metric] - base) / (teacher - base) for run in known[method]["runs"]]
        seeds.add(len(per_seed))
        err = float(np.std(per_seed, ddof=1)) if len(per_seed) > 1 else None  # 1 seed: no error bar
        ax.bar(i, 100 * gap, yerr=err, color=method_color(method), capsize=3, edgecolor="black", linewidth=0.5)
    ax.axhline(0, color="black", lw=0.8)
    low, high = ax.get_ylim()
    if high >= 60:  # the teacher line only where it does not squash the bars
        ax.axhline(100, color="black", lw=0.8, ls="--", label="teacher (100 %)")
        ax.legend(loc="best", fontsize=7)
    ax.set_xticks(range(len(methods)), methods, rotation=45, ha="right", fontsize=8)
    ax.set_xlabel("method")
    ax.set_ylabel(f"gap closed on {METRIC_NAMES.get(metric, metric)} (%)\n0 = baseline, 100 = teacher")
    spread = "1 seed, no error bars" if seeds == {1} else f"mean ± std over {result.get('seeds', '?')} seeds"
    ax.set_title(f"Gap closed, {spread}", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


#: readable axis names of the benchmark metrics
METRIC_NAMES = {"macro_auc": "macro AUC", "macro_f1": "macro F1", "map": "mAP"}

EFFICIENCY_KEYS = ("name", "params", "flops", "latency_ms", "macro_auc")


def plot_efficiency(rows: Sequence[Mapping]):
    """Latency (x) against macro AUC (y); marker area grows with parameters; each point labelled
    with its name and FLOPs. A log latency axis when latencies span more than a factor of 10."""
    if not rows:
        raise ConfigError("rows is empty: give [{name, params, flops, latency_ms, macro_auc}, ...]")
    for i, row in enumerate(rows):
        absent = [k for k in EFFICIENCY_KEYS if k not in row]
        if absent:
            raise ConfigError(f"rows[{i}] ({row.get('name', '?')!r}) lacks the keys {absent}")
        bad = [k for k in EFFICIENCY_KEYS[1:] if row[k] is None or not math.isfinite(row[k]) or row[k] < 0]
        if bad:
            raise ConfigError(f"rows[{i}] ({row['name']!r}) has missing, non-finite or negative {bad}")
    biggest = max(row["params"] for row in rows) or 1
    fig, ax = plt.subplots(figsize=(6.6, 4.2))
    # models of one architecture (the distilled students and their baseline) share their cost: one
    # point each, told apart by colour in the legend, the cost written once for the group
    groups: dict[tuple, list] = {}
    for row in rows:
        groups.setdefault((row["params"], row["flops"], row["latency_ms"]), []).append(row)
    for members in groups.values():
        shared = len(members) > 1
        for j, row in enumerate(members):
            # same-cost models are dodged sideways by a few points on screen (their data are unchanged)
            dodge = ScaledTranslation((j - (len(members) - 1) / 2) * 3 / 72, 0, fig.dpi_scale_trans)
            points = ax.scatter(
                row["latency_ms"],
                row["macro_auc"],
                s=30 + 400 * row["params"] / biggest,
                alpha=0.75,
                color=method_color(row["name"]),
                edgecolor="black",
                linewidth=0.5,
                label=method_label(row["name"], short=True) if shared else None,
            )
            points.set_offset_transform(ax.transData + dodge)  # after autoscaling saw the data
        top = max(members, key=lambda r: r["macro_auc"])
        cost = f"{top['params'] / 1e6:.2f} M params, {top['flops'] / 1e6:.0f} MFLOPs"
        label = ax.annotate(
            f"{len(members)} models of one architecture\n{cost} each"
            if shared
            else f"{method_label(top['name'], short=True)}\n{cost}",
            (top["latency_ms"], top["macro_auc"]),
            xytext=(7, 4),
            textcoords="offset points",
            fontsize=7,
            gid="point-label",
            arrowprops=dict(arrowstyle="-", lw=0.5, color="0.4", shrinkA=0, shrinkB=2),  # a leader line to its point
        )
        label._ecgkd_radius = math.sqrt(30 + 400 * top["params"] / biggest) / 2  # its marker's radius (pt)
    if any(len(m) > 1 for m in groups.values()):
        ax.legend(
            fontsize=7,
            title="same architecture and latency\n(dodged sideways to be seen)",
            title_fontsize=7,
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
        )
    latencies = [row["latency_ms"] for row in rows]
    if min(latencies) > 0 and max(latencies) / min(latencies) > 10:
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("CPU latency per record (ms)")
    ax.set_ylabel("test macro AUC")
    ax.set_title("Efficiency vs accuracy (marker area ∝ parameters)", fontsize=10, loc="left")
    ax.margins(x=0.25, y=0.15)
    mark_axis_break(ax)
    fig.tight_layout()
    _place_point_labels(ax)
    return fig


#: a label further than this (points, beyond its marker's radius) from its point gets a leader line
_LEADER_PT = 9.0
#: where a point's name may go, as (dx, dy, ha, va) in points from the point: right-above first
_LABEL_SPOTS = (
    (7, 4, "left", "bottom"),
    (-7, 4, "right", "bottom"),
    (7, -4, "left", "top"),
    (-7, -4, "right", "top"),
    (0, 10, "center", "bottom"),
    (0, -10, "center", "top"),
    (12, 16, "left", "bottom"),
    (-12, 16, "right", "bottom"),
    (12, -16, "left", "top"),
    (-12, -16, "right", "top"),
    (18, 30, "left", "bottom"),
    (-18, 30, "right", "bottom"),
    (18, -30, "left", "top"),
    (-18, -30, "right", "top"),
)


def _overlap(a, b) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return w * h if w > 0 and h > 0 else 0.0


def _text_box(text, renderer):
    """An annotation's text box on screen, without its leader line (positions updated first)."""
    text.update_positions(renderer)
    return Text.get_window_extent(text, renderer)


def _place_point_labels(ax) -> None:
    """Move each point label (``gid="point-label"``) to the first spot of ``_LABEL_SPOTS`` where it
    stays inside the axes and covers neither another label nor a marker (else the spot that covers
    least): the names and costs never run into each other, the markers or the legend beside the axes."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    markers = [c.get_window_extent(renderer) for c in ax.collections]
    placed = []
    for text in [t for t in ax.texts if t.get_gid() == "point-label"]:
        anchor = ax.transData.transform(text.xy)
        others = [m for m in markers if not m.contains(*anchor)]  # its own marker(s) excepted...
        grow = 0.7 * getattr(text, "_ecgkd_radius", 0.0)  # ...which the spots clear by its radius
        best, best_cost = None, None
        for dx, dy, ha, va in _LABEL_SPOTS:
            dx, dy = dx + np.sign(dx) * grow, dy + np.sign(dy) * grow
            text.set_position((dx, dy))
            text.set_ha(ha)
            text.set_va(va)
            box = _text_box(text, renderer)
            outside = box.width * box.height - _overlap(box, frame)
            cost = 10 * outside + sum(_overlap(box, other) for other in placed + others)
            if best_cost is None or cost < best_cost:
                best, best_cost = (dx, dy, ha, va), cost
            if cost == 0:
                break
        dx, dy, ha, va = best
        text.set_position((dx, dy))
        text.set_ha(ha)
        text.set_va(va)
        if text.arrow_patch is not None:  # a leader line only where the label had to move off its point
            text.arrow_patch.set_visible(bool(np.hypot(dx, dy) > _LEADER_PT + grow))
        placed.append(_text_box(text, renderer))


def plot_saliency_strip(
    signal: np.ndarray,
    fs: float,
    maps: Mapping[str, np.ndarray],
    regions: np.ndarray | None = None,
    *,
    lead: str = "I",
    unit: str = "mV",
):
    """One strip per model: the lead (in ``unit``, the data's ``ECGData.unit``) with its saliency
    map (T,) in [0, 1] as a colour band and the ground-truth region (bool (T,)) shaded; one shared
    colour bar."""
    if not maps:
        raise ConfigError("maps is empty: give {model: (T,) saliency}")
    fig, axes = plt.subplots(
        len(maps), 1, figsize=(10, 2.0 * len(maps) + 0.5), sharex=True, squeeze=False, layout="constrained"
    )
    for ax, (name, saliency) in zip(axes[:, 0], maps.items()):
        saliency = np.asarray(saliency, dtype=float)
        if saliency.size and np.isfinite(saliency).all() and (saliency.min() < 0 or saliency.max() > 1):
            raise ConfigError(f"maps[{name!r}] must lie in [0, 1] (normalise it, e.g. grad_cam does)")
        plot_strip(
            signal,
            fs,
            lead=lead,
            ax=ax,
            regions=regions,
            saliency=saliency,
            title=method_label(name),
            color=method_color(name),
            unit=unit,
            colorbar=False,
        )
    for ax in axes[:-1, 0]:
        ax.set_xlabel("")  # one time label, under the last strip: none runs into the next strip's title
    fig.colorbar(ScalarMappable(Normalize(0, 1), SALIENCY_CMAP), ax=list(axes[:, 0]), label="saliency", fraction=0.03)
    return fig


def _row_note(ax, row: float, text: str) -> None:
    """A small note just right of the axes, level with row ``row`` (data y)."""
    ax.annotate(
        text,
        (1.0, row),
        xycoords=("axes fraction", "data"),
        xytext=(4, 0),
        textcoords="offset points",
        va="center",
        fontsize=7,
    )


def plot_paired_deltas(
    deltas: Mapping[str, Mapping], *, reference: str = "baseline", xlabel: str | None = None, title: str | None = None
):
    """A forest plot of paired differences to ``reference``: one row per method, the point estimate
    and its 95 % interval (``deltas[m] = {"estimate", "ci95": [lo, hi], "seeds_compared"}``), a line
    at 0; a row whose interval excludes 0 is filled ("better" / "worse"), the others hollow ("level").
    Colours from the method table; the seed count is written beside each row, and a one-seed row's
    interval is dashed (it covers the sampling of the test records, not the seed-to-seed spread)."""
    if not deltas:
        raise ConfigError("deltas is empty: nothing to draw")
    for m, d in deltas.items():
        if not {"estimate", "ci95"} <= set(d) or len(d["ci95"]) != 2:
            raise ConfigError(f"deltas[{m!r}] needs 'estimate' and 'ci95' [lo, hi]; got {sorted(d)}")
    names = list(deltas)
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(names) + 1.3))
    for i, m in enumerate(names):
        d = deltas[m]
        lo, hi = d["ci95"]
        sure = lo > 0 or hi < 0
        colour = method_color(m)
        one_seed = d.get("seeds_compared") == 1
        ax.hlines(i, lo, hi, color=colour, lw=2, linestyles="--" if one_seed else "-")
        ax.plot(
            d["estimate"],
            i,
            "o",
            ms=7,
            color=colour,
            mfc=colour if sure else "white",
            mec="black",  # a black rim: pale method colours stay visible
            mew=1.0,
            gid=f"delta:{m}:{'sure' if sure else 'level'}",
        )
        if "seeds_compared" in d:
            _row_note(ax, i, f"{d['seeds_compared']} seed{'s' if d['seeds_compared'] != 1 else ''}")
    ax.axvline(0, color="black", lw=0.9, ls=":")
    ax.set_yticks(range(len(names)), [method_label(m) for m in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel or f"difference to {reference} (paired 95 % interval)")
    key = "filled = interval excludes 0" + (
        "; dashed = 1 seed (test-record sampling only)"
        if any(d.get("seeds_compared") == 1 for d in deltas.values())
        else ""
    )
    ax.set_title(f"{title or f'each method minus {reference}'}\n{key}", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


#: the diverging colour map of per-class differences (blue: above the reference, red: below)
DELTA_CMAP = "RdBu"


def plot_class_deltas(
    panels: Mapping[str, Mapping[str, Mapping[str, float | None]]],
    *,
    reference: str = "baseline",
    groups: Mapping[str, Sequence[str]] | None = None,
    title: str | None = None,
):
    """Per-class AUC differences to ``reference``, one heatmap per panel (e.g. one per setting).

    ``panels[p][method][class]`` is an AUC (None / NaN: no AUC, the cell is left blank and hatched);
    each panel must hold ``reference``. Rows: the other methods; columns: the classes, ordered by
    ``groups`` (``{group name: classes}``, e.g. what lead I sees; the group is named over its
    columns) then the rest; cell = method minus reference, written in the cell. Diverging colours
    centred at zero, one symmetric scale and colour bar for every panel. The values are point
    estimates (e.g. means over seeds) without intervals: a pattern across classes, not a verdict."""
    if not panels:
        raise ConfigError("panels is empty: give {panel: {method: {class: AUC}}}")
    for p, rows in panels.items():
        if reference not in rows:
            raise ConfigError(f"panel {p!r} has no {reference!r} row to subtract; it holds {sorted(rows)}")
        if len(rows) < 2:
            raise ConfigError(f"panel {p!r} holds only {reference!r}: nothing to compare")
    classes = list(dict.fromkeys(c for rows in panels.values() for auc in rows.values() for c in auc))
    grouped = [c for cls in (groups or {}).values() for c in cls if c in classes]
    classes = grouped + [c for c in classes if c not in grouped]  # the ungrouped ones under "other"
    grids = {}
    for p, rows in panels.items():
        ref = rows[reference]
        methods = [m for m in rows if m != reference]
        grid = np.full((len(methods), len(classes)), np.nan)
        for i, m in enumerate(methods):
            for j, c in enumerate(classes):
                a, b = rows[m].get(c), ref.get(c)
                if a is not None and b is not None:
                    grid[i, j] = float(a) - float(b)
        grids[p] = (methods, grid)
    finite = np.concatenate([g[np.isfinite(g)] for _, g in grids.values()])
    span = max(float(np.abs(finite).max()) if finite.size else 0.0, 0.01)
    norm = Normalize(-span, span)
    heights = [len(m) + 1.6 for m, _ in grids.values()]
    fig, axes = plt.subplots(
        len(panels),
        1,
        figsize=(max(6.0, 0.5 * len(classes) + 2.5), 0.38 * sum(heights) + 1.0),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, (p, (methods, grid)) in zip(axes[:, 0], grids.items()):
        ax.imshow(np.ma.masked_invalid(grid), cmap=DELTA_CMAP, norm=norm, aspect="auto")
        for i, j in zip(*np.nonzero(~np.isfinite(grid))):
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", lw=0, color="0.7"))
        for i, j in zip(*np.nonzero(np.isfinite(grid))):
            v = grid[i, j]
            ax.text(
                j,
                i,
                f"{v:+.2f}".replace("0.", "."),
                ha="center",
                va="center",
                fontsize=7.5,
                color="white" if abs(v) > 0.6 * span else "black",
            )
        ax.set_yticks(range(len(methods)), [method_label(m) for m in methods], fontsize=8)
        last = ax is axes[-1, 0]  # the panels share their columns: class names under the last one only
        ax.set_xticks(range(len(classes)), classes if last else [], rotation=60, ha="right", fontsize=7.5)
        ax.set_xticks(np.arange(len(classes) + 1) - 0.5, minor=True)
        ax.set_yticks(np.arange(len(methods) + 1) - 0.5, minor=True)
        ax.grid(which="minor", color="white", lw=1.0)
        ax.grid(which="major", visible=False)
        ax.tick_params(which="minor", length=0)
        start = 0
        named = {
            **(groups or {}),
            **({"other": classes[len(grouped) :]} if groups and len(grouped) < len(classes) else {}),
        }
        for g, cls in named.items():
            n = sum(c in classes for c in cls)
            if n:
                ax.axvline(start + n - 0.5, color="black", lw=1.2)
                ax.annotate(
                    g,
                    ((start + start + n - 1) / 2, 1.0),
                    xycoords=("data", "axes fraction"),
                    xytext=(0, 2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom",
                    fontsize=7.5,
                )
                start += n
        ax.set_title(p, fontsize=9.5, loc="left", pad=12 if groups else 4)
        if last:
            ax.set_xlabel("class")
    fig.colorbar(
        ScalarMappable(norm, DELTA_CMAP),
        ax=list(axes[:, 0]),
        fraction=0.025,
        label=f"per-class AUC minus {method_label(reference)}\n(colour: size and sign, not a method)",
    )
    if title:
        fig.suptitle(title, fontsize=10.5, x=0.02, ha="left")
    return fig


def plot_tuning(searches: Mapping[str, Mapping]):
    """An equal validation search at a glance: one row per method, one dot per configuration of its
    grid at its validation macro AUC, the default (grid point 0) as a black ring, the chosen point
    filled in the method's colour. ``searches[m] = {"val": [AUC per point], "chosen": index}``
    (``bench/tune.py``'s ``rows`` and ``chosen_index``); a NaN point is left out and counted."""
    if not searches:
        raise ConfigError("searches is empty: give {method: {'val': [...], 'chosen': i}}")
    names = list(searches)
    fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(names) + 1.4))
    for i, m in enumerate(names):
        val = np.asarray(searches[m]["val"], dtype=float)
        chosen = int(searches[m]["chosen"])
        if not 0 <= chosen < len(val) or not np.isfinite(val[chosen]):
            raise ConfigError(f"searches[{m!r}]: chosen {chosen} is not a finite point of its {len(val)}")
        ok = np.isfinite(val)
        colour = method_color(m)
        ax.plot(val[ok], np.full(ok.sum(), i), "o", ms=5, color=colour, alpha=0.45, mec="none")
        if ok[0]:
            ax.plot(val[0], i, "o", ms=10, mfc="none", mec="black", mew=1.2, gid=f"default:{m}")
        ax.plot(val[chosen], i, "*", ms=12, color=colour, mec="black", mew=0.6, gid=f"chosen:{m}")
        if not ok.all():
            _row_note(ax, i, f"{(~ok).sum()} NaN")
    ax.set_yticks(range(len(names)), [method_label(m) for m in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("validation macro AUC (seed 0)")
    handles = [
        plt.Line2D([], [], ls="", marker="o", ms=5, color="0.5", alpha=0.45, label="a configuration"),
        plt.Line2D([], [], ls="", marker="o", ms=10, mfc="none", mec="black", label="the default"),
        plt.Line2D([], [], ls="", marker="*", ms=12, color="0.5", mec="black", label="chosen on validation"),
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.set_title("the same search for every method: each configuration's validation score", fontsize=10, loc="left")
    fig.tight_layout()
    mark_axis_break(ax, "x")
    return fig
