"""Percentile bootstrap confidence intervals over test records (Efron & Tibshirani 1993, ch. 13)."""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np

from ..checks import check_int, check_number
from ..errors import ConfigError
from ..metrics import check_scores, per_class_auc, per_class_average_precision

log = logging.getLogger(__name__)


class ConfidenceInterval(tuple):
    """``(low, high)``; also carries ``estimate`` (metric on the full sample), ``n_boot`` and
    ``n_skipped`` (resamples where the metric was undefined and that were left out)."""

    def __new__(cls, low: float, high: float, *, estimate: float, n_boot: int, n_skipped: int):
        self = super().__new__(cls, (float(low), float(high)))
        self.estimate, self.n_boot, self.n_skipped = float(estimate), int(n_boot), int(n_skipped)
        return self

    @property
    def low(self) -> float:
        return self[0]

    @property
    def high(self) -> float:
        return self[1]

    def __repr__(self) -> str:
        return (
            f"ConfidenceInterval(low={self.low:.4f}, high={self.high:.4f}, estimate={self.estimate:.4f}, "
            f"n_boot={self.n_boot}, n_skipped={self.n_skipped})"
        )


def _fixed_class_macro(per_class: Callable) -> Callable:
    """A macro metric over a FIXED class set: the classes defined on the full sample. A resample in
    which one of them becomes undefined gives NaN (and is skipped), so every bootstrap value
    averages the same classes."""

    def metric(y, p, keep: np.ndarray) -> float:
        values = per_class(y[:, keep], p[:, keep]).to_numpy()
        return float(values.mean())  # NaN propagates

    return metric


_NAMED = {"macro_auc": per_class_auc, "map": per_class_average_precision}


def bootstrap_ci(
    y,
    p,
    metric: str | Callable[[np.ndarray, np.ndarray], float],
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> ConfidenceInterval:
    """Percentile interval ``[q_{alpha/2}, q_{1-alpha/2}]`` of ``metric`` over ``n_boot`` resamples of
    the records (rows) with replacement.

    ``metric`` is ``"macro_auc"``, ``"map"`` (macro over the classes defined on the full sample) or a
    callable ``metric(y, p) -> float``; a resample where it is undefined (NaN) is skipped and
    counted in ``n_skipped`` (also logged).
    """
    y, p = check_scores(y, p)
    check_resampling(n_boot, alpha, seed)
    if isinstance(metric, str):
        if metric not in _NAMED:
            raise ConfigError(f"metric {metric!r} is unknown; use one of {sorted(_NAMED)} or a callable")
        keep = per_class_auc(y, p).notna().to_numpy() if metric == "macro_auc" else y.sum(0) > 0
        fixed = _fixed_class_macro(_NAMED[metric])
        fn = lambda yy, pp: fixed(yy, pp, keep)  # noqa: E731
    elif callable(metric):
        fn = metric
    else:
        raise ConfigError(f"metric must be a name or a callable; got {type(metric).__name__}")

    return resample_ci(lambda rows: fn(y[rows], p[rows]), len(y), fn(y, p), n_boot=n_boot, alpha=alpha, seed=seed)


def check_resampling(n_boot, alpha, seed) -> tuple[int, int]:
    """``n_boot`` >= 1, ``seed`` >= 0 (integers) and ``alpha`` in (0, 1), or ConfigError naming it."""
    n_boot = check_int("n_boot", n_boot, low=1)
    seed = check_int("seed", seed, low=0)
    if not 0 < check_number("alpha", alpha) < 1:
        raise ConfigError(f"alpha must lie in (0, 1); got {alpha!r}")
    return n_boot, seed


def resample_ci(
    value: Callable[[np.ndarray], float], n: int, estimate: float, *, n_boot: int, alpha: float, seed: int
) -> ConfidenceInterval:
    """The percentile loop of ``bootstrap_ci``: ``value(rows)`` on ``n_boot`` draws of ``n`` row
    indices with replacement (``default_rng(seed).integers(0, n, n)`` each), non-finite values skipped
    and counted. Any scorer given the same ``seed`` sees the same resamples."""
    n_boot, seed = check_resampling(n_boot, alpha, seed)
    rng = np.random.default_rng(seed)
    values = np.empty(n_boot)
    for b in range(n_boot):
        values[b] = value(rng.integers(0, n, size=n))
    defined = values[np.isfinite(values)]
    n_skipped = n_boot - defined.size
    if n_skipped:
        log.warning("bootstrap: metric undefined in %d of %d resamples; they were skipped", n_skipped, n_boot)
    if defined.size == 0:
        raise ConfigError(f"the metric is undefined in all {n_boot} bootstrap resamples")
    low, high = np.quantile(defined, [alpha / 2, 1 - alpha / 2])
    return ConfidenceInterval(low, high, estimate=estimate, n_boot=n_boot, n_skipped=n_skipped)
