"""Preprocessing with explicit parameters: resampling, band-pass filtering, standard scaling.

Each function returns a new ``ECGData`` and appends what it did to ``data.preprocessing`` so the
choices travel with every trained model; its ``key`` is derived from the input's key, the step's
parameters and this module's code version (``ecgkd_lite.versions``), never from the output floats.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import signal as sps

from ..checks import check_int, check_number
from ..errors import ConfigError, DataError
from ..versions import key_versions
from .container import ECGData


def _step(step: str, **params) -> dict:
    """The key of a preprocessing step: its name, parameters and the code version."""
    return {"step": step, **params, "code": key_versions("preprocess")}


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

    step = {"step": "resample", "from_fs": float(data.fs), "to_fs": float(fs)}
    return data.derive(
        _step(**step),
        preprocessing=step,
        signals=sig,
        fs=float(fs),
        fiducials=_rescale(data.fiducials, FIDUCIAL_COLUMNS),
        regions=_rescale(data.regions, ("start", "end")),
    )


def bandpass(data: ECGData, low: float = 0.5, high: float = 40.0, order: int = 3) -> ECGData:
    """Zero-phase Butterworth band-pass (``sosfiltfilt``) between ``low`` and ``high`` Hz."""
    nyq = data.fs / 2
    check_number("band-pass low", low)  # checked, not converted: the values enter the data key as given
    check_number("band-pass high", high)
    check_int("band-pass order", order, low=1)
    if not (0 < low < high < nyq):
        raise ConfigError(f"band-pass needs 0 < low < high < fs/2 = {nyq:g}; got low={low}, high={high}")
    sos = sps.butter(order, [low, high], btype="bandpass", fs=data.fs, output="sos")
    sig = sps.sosfiltfilt(sos, data.signals, axis=2).astype(np.float32)
    step = {"step": "bandpass", "low": low, "high": high, "order": order}
    return data.derive(_step(**step), preprocessing=step, signals=sig)


@dataclass
class StandardScaler:
    """Standardise signals: ``x' = (x - mean) / std``.

    ``per_lead=True`` keeps one mean/std per lead (shape ``(L, 1)``), else one global pair.
    Fit it on the **training split only**, then apply to every split.
    """

    per_lead: bool = True
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    #: the key of the data the scaler was fitted on (part of the key of what it transforms)
    fitted_on: str | None = None

    def fit(self, data: ECGData | np.ndarray) -> "StandardScaler":
        x = data.signals if isinstance(data, ECGData) else np.asarray(data)
        self.fitted_on = data.key if isinstance(data, ECGData) else None
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
        self._check(data.n_leads)
        # fitted on an ECGData: its key says everything; on a bare array: the statistics, rounded
        fitted = self.fitted_on or {
            "mean": np.round(self.mean.ravel().astype(float), 4).tolist(),
            "std": np.round(self.std.ravel().astype(float), 4).tolist(),
        }
        return data.derive(
            _step("standard_scale", per_lead=self.per_lead, fitted_on=fitted),
            preprocessing={"step": "standard_scale", **self.state_dict()},
            signals=self.transform_array(data.signals),
        )

    def state_dict(self) -> dict:
        return {
            "per_lead": self.per_lead,
            "fitted_on": self.fitted_on,
            "mean": None if self.mean is None else self.mean.ravel().tolist(),
            "std": None if self.std is None else self.std.ravel().tolist(),
        }

    @classmethod
    def from_state_dict(cls, state: dict) -> "StandardScaler":
        s = cls(per_lead=state["per_lead"], fitted_on=state.get("fitted_on"))
        if state.get("mean") is not None:
            s.mean = np.asarray(state["mean"], dtype=np.float32).reshape(-1, 1)
            s.std = np.asarray(state["std"], dtype=np.float32).reshape(-1, 1)
        return s
