"""Shared figure style: one colour and one label per method across every figure (from the method
table), and saving to reports/."""

from __future__ import annotations

from pathlib import Path

from ..config import reports_dir
from ..distill.methods import METHOD_TABLE, OTHER_COLOURS
from ..errors import ConfigError

#: one fixed colour per model/method, used by every figure: the method table's colours
#: (``distill/methods.py``) plus the teacher's and the restoration net's
METHOD_COLORS: dict[str, str] = {**{name: m.colour for name, m in METHOD_TABLE.items()}, **OTHER_COLOURS}
_FALLBACK = ["#9edae5", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2"]


#: display names of the rows that are not KD methods
OTHER_LABELS = {
    "teacher": "Teacher (12 leads)",
    "restoration": "Restoration + student",
    "restoration/tiny+student": "Restoration + student (tiny)",
    "features-lead_I": "Features, lead I (log. regression)",
    "features-12_lead": "Features, 12 leads (log. regression)",
}
#: display names of the teacher variants after "@" (``bench/cv.py`` TEACHERS)
TEACHER_VARIANT_LABELS = {"printout": "ECG-image teacher"}


def method_label(name: str, short: bool = False) -> str:
    """The display name of ``name`` from the method table: ``"liteheart-no_mi"`` -> "LiteHeart − MI",
    ``"fitnets-tuned"`` -> "FitNets (tuned)", ``"evl_ecg@printout"`` -> "EVL-ECG (ECG-image teacher)",
    ``"vanilla_kd/tiny"`` -> "Vanilla KD, tiny"; a trailing note is kept (``"teacher (seed 0)"`` ->
    "Teacher (12 leads) (seed 0)"); ``short``: without the table label's own parenthesis ("Baseline",
    not "Baseline (lead I, BCE)"). ``name`` itself when it is neither a method nor a known row."""
    core, sep, note = name.partition(" (")
    if sep:
        return f"{method_label(core, short)} ({note}"
    base, _, variant = name.partition("@")
    if variant:
        teacher = TEACHER_VARIANT_LABELS.get(variant, f"{variant} teacher")
        return teacher[0].upper() + teacher[1:] if base == "teacher" else f"{method_label(base, short)} ({teacher})"
    if base.endswith("-tuned"):
        return f"{method_label(base[: -len('-tuned')], short)} (tuned)"
    head, _, size = base.partition("/")
    if base in METHOD_TABLE or base in OTHER_LABELS:
        label = METHOD_TABLE[base].label if base in METHOD_TABLE else OTHER_LABELS[base]
    elif size and head in METHOD_TABLE:  # "vanilla_kd/tiny": a method at a model size
        return f"{method_label(head, short)}, {size}"
    else:
        return base
    return label.split(" (")[0] if short else label


def method_color(name: str) -> str:
    """The colour of ``name`` from the method table; a variant (``liteheart-x``, ``evl_ecg@printout``,
    ``fitnets-tuned``) takes its method's or its family's colour; a trailing note (``" (seed 0)"``) is ignored."""
    name = name.split(" (")[0].split("@")[0]
    if name.endswith("-tuned"):
        name = name[: -len("-tuned")]
    if name in METHOD_COLORS:
        return METHOD_COLORS[name]
    family = name.split("-")[0].split("/")[0]
    if family in METHOD_COLORS:
        return METHOD_COLORS[family]
    return _FALLBACK[sum(map(ord, name)) % len(_FALLBACK)]


#: colours of things that are not methods (metrics, temperatures, categories, data sets): shades of
#: one hue (orange to brown) that no method uses, so a colour never means both a method and a metric
SERIES_CMAP = "YlOrBr"
#: a neutral tint for shaded ground-truth regions (not a method colour)
REGION_COLOR = "#c7c7c7"


def series_colors(n: int, span: tuple[float, float] = (0.35, 0.8)) -> list[tuple[float, float, float, float]]:
    """``n`` distinct colours for non-method series (metrics, temperatures, categories), light to dark;
    ``span``: the part of ``SERIES_CMAP`` they spread over (wider for many categories)."""
    import matplotlib.pyplot as plt
    import numpy as np

    if n < 1:
        raise ConfigError(f"n must be at least 1; got {n}")
    if not 0 <= span[0] < span[1] <= 1:
        raise ConfigError(f"span must be (low, high) with 0 <= low < high <= 1; got {span}")
    stops = np.linspace(*span, n) if n > 1 else [0.6]
    return [tuple(float(v) for v in c) for c in plt.get_cmap(SERIES_CMAP)(stops)]


def mark_axis_break(ax, axis: str = "y") -> bool:
    """If ``ax``'s ``axis`` does not start at 0 (bars or values all positive), say so: a break mark
    (two slashes) on the axis near its start and "(axis starts at X)" in the axis label. Call it after
    the limits are final. Returns whether a mark was drawn; an axis that starts at or below 0, or a
    log axis, is left alone."""
    if axis not in ("x", "y"):
        raise ConfigError(f"axis must be 'x' or 'y'; got {axis!r}")
    low, high = ax.get_ylim() if axis == "y" else ax.get_xlim()
    scale = ax.get_yscale() if axis == "y" else ax.get_xscale()
    if low <= 0 or scale != "linear" or getattr(ax, "_ecgkd_break", {}).get(axis):
        return False
    kwargs = dict(
        marker=[(-1, -0.5), (1, 0.5)],
        markersize=10,
        linestyle="none",
        color="black",
        mec="black",
        mew=1,
        clip_on=False,
        zorder=10,
        gid=f"axis-break:{axis}",
    )
    if axis == "y":
        ax.plot([0, 0], [0.015, 0.04], transform=ax.transAxes, **kwargs)
        label = ax.get_ylabel()
        ax.set_ylabel(f"{label}\n(axis starts at {low:.3g})" if label else f"(axis starts at {low:.3g})")
    else:
        ax.plot([0.015, 0.04], [0, 0], transform=ax.transAxes, **kwargs)
        label = ax.get_xlabel()
        ax.set_xlabel(f"{label} (axis starts at {low:.3g})" if label else f"(axis starts at {low:.3g})")
    ax._ecgkd_break = {**getattr(ax, "_ecgkd_break", {}), axis: True}
    return True


def save_figure(fig, name: str, *, folder: str | Path | None = None, dpi: int = 150) -> Path:
    """Save ``fig`` as ``<reports>/figures/<name>.png`` at ``dpi``; returns the path."""
    if not name or "/" in name or name.endswith(".png"):
        raise ConfigError(f"figure name must be a plain stem like '02_learning_curves'; got {name!r}")
    folder = Path(folder) if folder else reports_dir() / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
