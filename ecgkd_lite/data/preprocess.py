"""Preprocessing with explicit parameters: resampling, band-pass filtering, standard scaling.

Each function returns a new ``ECGData`` and appends what it did to ``data.preprocessing`` so the
choices travel with every trained model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from ..errors import ConfigError, DataError
from .container import ECGData


def resample(data: ECGData, fs: float) -> ECGData:
    """Polyphase resampling to ``fs`` Hz (``scipy.signal.resample_poly``, anti-aliased).

    Fiducials and regions are rescaled to the new sample grid.
    """
    if fs <= 0:
        raise ConfigError(f"fs must be positive; got {fs}")
    if float(fs) == float(data.fs):
        return data
    ratio = Fraction(float(fs) / float(data.fs)).limit_denominator(1000)
    up, down = ratio.numerator, ratio.denominator
    sig = sps.resample_poly(data.signals, up, down, axis=2).astype(np.float32)
    scale = up / down

    def _rescale(table, cols):
        if table is None:
            return None
        table = table.copy()
        for c in cols:
            if c in table:
                v = table[c].to_numpy()
                table[c] = np.where(v >= 0, np.round(v * scale), v).astype(np.int64)
        return table

    from .container import FIDUCIAL_COLUMNS

    out = replace(data, signals=sig, fs=float(fs), fiducials=_rescale(data.fiducials, FIDUCIAL_COLUMNS),
                  regions=_rescale(data.regions, ("start", "end")), preprocessing=list(data.preprocessing))
    out.preprocessing.append({"step": "resample", "from_fs": float(data.fs), "to_fs": float(fs)})
    return out


def bandpass(data: ECGData, low: float = 0.5, high: float = 40.0, order: int = 3) -> ECGData:
    """Zero-phase Butterworth band-pass (``sosfiltfilt``) between ``low`` and ``high`` Hz."""
    nyq = data.fs / 2
    if not (0 < low < high < nyq):
        raise ConfigError(f"band-pass needs 0 < low < high < fs/2 = {nyq:g}; got low={low}, high={high}")
    if order < 1:
        raise ConfigError(f"order must be >= 1; got {order}")
    sos = sps.butter(order, [low, high], btype="bandpass", fs=data.fs, output="sos")
    sig = sps.sosfiltfilt(sos, data.signals, axis=2).astype(np.float32)
    out = replace(data, signals=sig, preprocessing=list(data.preprocessing))
    out.preprocessing.append({"step": "bandpass", "low": low, "high": high, "order": order})
    return out


@dataclass
class StandardScaler:
    """Standardise signals: ``x' = (x - mean) / std``.

    ``per_lead=True`` keeps one mean/std per lead (shape ``(L, 1)``), else one global pair.
    Fit it on the **training split only**, then apply to every split.
    """

    per_lead: bool = True
    mean: np.ndarray | None = None
    std: np.ndarray | None = None

    def fit(self, data: ECGData | np.ndarray) -> "StandardScaler":
        x = data.signals if isinstance(data, ECGData) else np.asarray(data)
        if x.ndim != 3 or x.shape[0] == 0:
            raise DataError(f"scaler needs a non-empty (N, L, T) array; got shape {x.shape}")
        axes = (0, 2) if self.per_lead else (0, 1, 2)
        self.mean = x.mean(axis=axes, dtype=np.float64).astype(np.float32).reshape(-1, 1)
        self.std = np.maximum(x.std(axis=axes, dtype=np.float64), 1e-6).astype(np.float32).reshape(-1, 1)
        return self

    def _check(self, n_leads: int):
        if self.mean is None:
            raise ConfigError("StandardScaler is not fitted; call fit(train) first")
        if self.per_lead and self.mean.shape[0] != n_leads:
            raise ConfigError(f"scaler was fitted on {self.mean.shape[0]} leads, data has {n_leads}")

    def transform_array(self, x: np.ndarray) -> np.ndarray:
        self._check(x.shape[-2])
        return ((x - self.mean) / self.std).astype(np.float32)

    def transform(self, data: ECGData) -> ECGData:
        out = replace(data, signals=self.transform_array(data.signals), preprocessing=list(data.preprocessing))
        out.preprocessing.append({"step": "standard_scale", **self.state_dict()})
        return out

    def state_dict(self) -> dict:
        return {"per_lead": self.per_lead,
                "mean": None if self.mean is None else self.mean.ravel().tolist(),
                "std": None if self.std is None else self.std.ravel().tolist()}

    @classmethod
    def from_state_dict(cls, state: dict) -> "StandardScaler":
        s = cls(per_lead=state["per_lead"])
        if state.get("mean") is not None:
            s.mean = np.asarray(state["mean"], dtype=np.float32).reshape(-1, 1)
            s.std = np.asarray(state["std"], dtype=np.float32).reshape(-1, 1)
        return s
