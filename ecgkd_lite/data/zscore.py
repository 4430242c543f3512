"""Synthetic (or any mV) records made to look like ptbxl-2k's source: band-pass, then z-score per
record and lead (the steps ptbxl-2k's source applied, see ``../shared/data/ptbxl-2k/README.md``).

Used by the benchmarks that compare synthetic with ptbxl-2k records (``benchmarks/calibration_synthetic.py``,
``benchmarks/realism_synthetic.py``); no cached data set or shipped run depends on it.

>>> from ecgkd_lite.data.synthetic import load_synthetic
>>> z = like_ptbxl_2k(load_synthetic(4, fs=250, seed=0), {"low": 0.5, "high": 40.0, "order": 3})
>>> z.unit, z.fs
('z', 250.0)
"""

from __future__ import annotations

import numpy as np

from .container import ECGData
from .preprocess import bandpass, resample

#: ptbxl-2k's stored sampling rate (Hz)
PTBXL_2K_FS = 250.0


def zscore_records(data: ECGData) -> ECGData:
    """Per record and lead: subtract the mean, divide by the SD (ptbxl-2k's source step)."""
    x = np.empty_like(data.signals, dtype=np.float32)
    for i in range(0, len(data), 256):  # chunks of float64: memory stays small for large samples
        c = data.signals[i : i + 256].astype(np.float64)
        x[i : i + 256] = (c - c.mean(-1, keepdims=True)) / np.maximum(c.std(-1, keepdims=True), 1e-8)
    return data.derive({"step": "zscore_per_record_lead"}, signals=x, unit="z")


def like_ptbxl_2k(data: ECGData, band: dict) -> ECGData:
    """``data`` resampled to 250 Hz (ptbxl-2k's rate; no-op when already there), band-passed with
    ``band`` (``bandpass``'s ``low``, ``high``, ``order``), then z-scored per record and lead."""
    return zscore_records(bandpass(resample(data, PTBXL_2K_FS), **band))
