"""Figures shared by the notebooks and reports/: clinical 12-lead grid, strips, method colours."""

from .ecg import GRID_LAYOUT, plot_12lead, plot_strip
from .style import METHOD_COLORS, method_color, save_figure

__all__ = ["plot_12lead", "plot_strip", "GRID_LAYOUT", "METHOD_COLORS", "method_color", "save_figure"]
