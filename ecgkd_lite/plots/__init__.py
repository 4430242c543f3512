"""Figures shared by the notebooks and reports/: clinical 12-lead grid, strips, method colours, and the
analysis figures (AUC violins, embeddings, gap closed, efficiency, saliency strips) and the real-data
figures (per-class AUC beside prevalence, LUDB wave boundaries, Grad-CAM over LUDB records)."""

from .analysis import (
    plot_auc_violins,
    plot_class_deltas,
    plot_efficiency,
    plot_embeddings,
    plot_gap_closed,
    plot_paired_deltas,
    plot_saliency_strip,
    plot_tuning,
)
from .ecg import GRID_LAYOUT, plot_12lead, plot_strip
from .real import WAVE_COLORS, plot_class_auc, plot_gradcam_examples, plot_ludb_waves
from .style import METHOD_COLORS, REGION_COLOR, mark_axis_break, method_color, method_label, save_figure, series_colors

__all__ = [
    "plot_12lead",
    "plot_strip",
    "GRID_LAYOUT",
    "METHOD_COLORS",
    "method_color",
    "method_label",
    "save_figure",
    "mark_axis_break",
    "series_colors",
    "REGION_COLOR",
    "plot_auc_violins",
    "plot_class_deltas",
    "plot_embeddings",
    "plot_gap_closed",
    "plot_efficiency",
    "plot_saliency_strip",
    "plot_paired_deltas",
    "plot_tuning",
    "WAVE_COLORS",
    "plot_class_auc",
    "plot_ludb_waves",
    "plot_gradcam_examples",
]
