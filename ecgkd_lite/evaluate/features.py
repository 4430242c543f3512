"""A naive, non-deep reference: logistic regression on hand-made beat and rhythm features.

Beside every deep table stands what a simple model on the same leads reaches (the "naive baseline"
of Strodthoff et al. 2021, PTB-XL benchmarking). Per record, from the chosen leads only:

* R peaks: maxima of the smoothed (50 ms) squared first difference summed over the leads,
  at least 0.3 s apart and above 30 % of its 99th percentile (``scipy.signal.find_peaks``);
* the **median beat** of each lead from -0.25 s to +0.45 s around the R peaks;
* **rhythm**: RR mean (s), RR standard deviation / mean, min / mean, max / mean, RMSSD / mean,
  beats per second.

A record with fewer than 2 usable peaks gets NaN rhythm (and median-beat) features; they are
filled with the training median and flagged by an indicator column (stated, never dropped).

The classifier is one L2 logistic regression per class on standardised features; its inverse
regularisation ``C`` is chosen from ``C_GRID`` by the validation macro AUC (never the test split).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from ..checks import check_positive
from ..data.container import ECGData
from ..data.leads import lead_indices
from ..errors import ConfigError
from ..metrics import macro_auc

#: bump when the features or the classifier change (recorded in benchmark parts that use them)
VERSION = 1
C_GRID = (0.01, 0.1, 1.0)
PRE_S, POST_S = 0.25, 0.45


def r_peaks(x: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of the R peaks of one record ``x`` (leads, samples), from those leads only."""
    energy = (np.diff(x, axis=-1) ** 2).sum(0)
    width = max(1, int(round(0.05 * fs)))
    energy = np.convolve(energy, np.ones(width) / width, mode="same")
    height = 0.3 * np.percentile(energy, 99)
    if not np.isfinite(height) or height <= 0:
        return np.zeros(0, dtype=int)
    peaks, _ = find_peaks(energy, height=height, distance=max(1, int(0.3 * fs)))
    # the energy of a difference peaks on the steep R upstroke: move to the largest |x| nearby
    near = max(1, int(round(0.04 * fs)))
    amp = np.abs(x).sum(0)
    refined = [max(0, p - near) + int(np.argmax(amp[max(0, p - near) : p + near + 1])) for p in peaks]
    return np.unique(np.asarray(refined, dtype=int))


def beat_features(data: ECGData, leads) -> np.ndarray:
    """``(N, L * window + 6 + 1)`` features of every record of ``data`` from ``leads`` (names)."""
    idx = lead_indices(leads, data.leads)  # ConfigError for an unknown lead
    data.check_finite("beat features", idx)  # BadSignalError naming the record and lead
    fs = float(data.fs)
    pre, post = int(round(PRE_S * fs)), int(round(POST_S * fs))
    rows = []
    for i in range(len(data)):
        x = np.asarray(data.signals[i][idx], dtype=np.float64)
        r = r_peaks(x, fs)
        usable = r[(r >= pre) & (r < x.shape[-1] - post)]
        if len(r) < 2 or len(usable) < 1:
            rows.append(np.concatenate([np.full(len(idx) * (pre + post) + 6, np.nan), [1.0]]))
            continue
        med = np.median(np.stack([x[:, k - pre : k + post] for k in usable]), axis=0).ravel()
        rr = np.diff(r) / fs
        m = rr.mean()
        rmssd = np.sqrt(np.mean(np.diff(rr) ** 2)) if len(rr) > 1 else 0.0
        rhythm = [m, rr.std() / m, rr.min() / m, rr.max() / m, rmssd / m, len(r) / (x.shape[-1] / fs)]
        rows.append(np.concatenate([med, rhythm, [0.0]]))
    return np.asarray(rows)


@dataclass
class FeatureLogistic:
    """Median-beat + rhythm features of ``leads`` -> one logistic regression per class."""

    leads: tuple[str, ...]
    C: float | None = None  # None: chosen on validation in ``fit``

    def fit(self, train: ECGData, val: ECGData) -> "FeatureLogistic":
        from sklearn.linear_model import LogisticRegression

        self._LR = LogisticRegression
        x_tr, x_va = beat_features(train, self.leads), beat_features(val, self.leads)
        self.fill = np.nanmedian(x_tr, axis=0)
        self.fill = np.where(np.isfinite(self.fill), self.fill, 0.0)
        x_tr = self._prepare(x_tr, fit=True)
        x_va = self._prepare(x_va)
        grid = [self.C] if self.C is not None else list(C_GRID)
        self.val_auc = {}
        best = None
        for c in grid:
            c = check_positive("C", c)
            models = self._fit_classes(x_tr, train.labels, c)
            auc = macro_auc(val.labels, self._predict(models, x_va))
            self.val_auc[c] = float(auc)
            if best is None or auc > best[0]:
                best = (auc, c, models)
        _, self.C, self.models = best
        return self

    def _prepare(self, x: np.ndarray, fit: bool = False) -> np.ndarray:
        x = np.where(np.isnan(x), self.fill, x)
        if fit:
            self.mean, self.std = x.mean(0), x.std(0)
            self.std = np.where(self.std > 0, self.std, 1.0)
        return (x - self.mean) / self.std

    def _fit_classes(self, x, y, c):
        models = []
        for k in range(y.shape[1]):
            yk = y[:, k] > 0.5
            if yk.all() or not yk.any():  # one-sided class: its training prevalence
                models.append(float(yk.mean()))
            else:
                models.append(self._LR(C=c, max_iter=3000).fit(x, yk))
        return models

    @staticmethod
    def _predict(models, x) -> np.ndarray:
        return np.stack(
            [np.full(len(x), m) if isinstance(m, float) else m.predict_proba(x)[:, 1] for m in models], axis=1
        )

    def predict(self, data: ECGData) -> np.ndarray:
        """Probabilities ``(N, C)``."""
        if not hasattr(self, "models"):
            raise ConfigError("FeatureLogistic.predict before fit")
        return self._predict(self.models, self._prepare(beat_features(data, self.leads)))
