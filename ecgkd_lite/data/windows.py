"""The window grid shared by training crops, the teacher-output cache and sliding-window prediction.

Windows of ``window`` samples start at ``0, stride, 2 stride, ...``; when the grid leaves the end
of the record uncovered, one more window sits flush with the end, so every sample is covered and a
window always lies inside the record.
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError


def window_starts(n_samples: int, window: int, stride: int) -> np.ndarray:
    """Starts ``0, stride, 2 stride, ...`` of windows of ``window`` samples inside ``n_samples``, plus
    ``n_samples - window`` if the grid leaves the end uncovered; ``[0]`` when the record is shorter
    than the window."""
    if window <= 0 or stride <= 0:
        raise ConfigError(f"window ({window}) and stride ({stride}) must be positive sample counts")
    if n_samples <= window:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, n_samples - window + 1, stride, dtype=np.int64)
    if starts[-1] != n_samples - window:
        starts = np.r_[starts, n_samples - window]
    return starts
