"""Shared figure style: one colour per method across every figure, and saving to reports/."""

from __future__ import annotations

from pathlib import Path

from ..config import reports_dir
from ..errors import ConfigError

#: one fixed colour per model/method, used by every figure
METHOD_COLORS: dict[str, str] = {
    "teacher": "#1b1b1b",
    "baseline": "#9e9e9e",
    "vanilla_kd": "#1f77b4",
    "fitnets": "#17becf",
    "attention_transfer": "#8c564b",
    "rkd": "#e377c2",
    "crd": "#bcbd22",
    "dkd": "#7f7f7f",
    "liteheart": "#d62728",
    "evl_ecg": "#2ca02c",
    "restoration": "#9467bd",
}
_FALLBACK = ["#ff7f0e", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2"]


def method_color(name: str) -> str:
    """The colour of ``name``; ablations (``liteheart-no_mi``) share their family's colour."""
    if name in METHOD_COLORS:
        return METHOD_COLORS[name]
    family = name.split("-")[0].split("/")[0]
    if family in METHOD_COLORS:
        return METHOD_COLORS[family]
    return _FALLBACK[sum(map(ord, name)) % len(_FALLBACK)]


def save_figure(fig, name: str, *, folder: str | Path | None = None, dpi: int = 150) -> Path:
    """Save ``fig`` as ``<reports>/figures/<name>.png`` at ``dpi``; returns the path."""
    if not name or "/" in name or name.endswith(".png"):
        raise ConfigError(f"figure name must be a plain stem like '02_learning_curves'; got {name!r}")
    folder = Path(folder) if folder else reports_dir() / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    return path
