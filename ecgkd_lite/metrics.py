"""Multi-label classification metrics: per-class / macro AUC, MAP, thresholded macro F1.

Conventions (docs/design.md section 7):

* ``y`` is multi-hot ``(N, C)`` in {0, 1}; ``p`` are scores ``(N, C)`` (probabilities or logits:
  AUC and AP only use their order, F1 compares them with thresholds).
* A class whose AUC is undefined in ``y`` (no positive or no negative record) gets NaN and is left
  out of the macro average; ``evaluate`` reports it under ``missing_classes``. Likewise AP is
  undefined for a class without a positive.
* Thresholds are tuned per class on the **validation** split only (``tune_thresholds``) and then
  applied to test; with no validation data the threshold is 0.5.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from .errors import ConfigError

DEFAULT_THRESHOLD = 0.5


def check_scores(y, p, y_name: str = "y", p_name: str = "p") -> tuple[np.ndarray, np.ndarray]:
    """Validate and return ``(y, p)`` as float arrays ``(N, C)``; ConfigError naming the argument."""
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if p.ndim == 1:
        p = p[:, None]
    if y.ndim != 2 or p.ndim != 2 or y.shape != p.shape:
        raise ConfigError(f"{y_name} has shape {y.shape} but {p_name} has shape {p.shape}; both must be (N, C)")
    if not np.isfinite(p).all():
        raise ConfigError(f"{p_name} contains {int((~np.isfinite(p)).sum())} NaN or inf values")
    if not np.isin(y, (0.0, 1.0)).all():
        bad = np.unique(y[~np.isin(y, (0.0, 1.0))])[:5]
        raise ConfigError(f"{y_name} must hold only 0 and 1 (multi-hot labels); found {bad.tolist()}")
    return y, p


def _class_names(classes: Sequence[str] | None, n: int) -> list:
    if classes is None:
        return list(range(n))
    if len(classes) != n:
        raise ConfigError(f"classes has {len(classes)} names for {n} columns")
    return list(classes)


def _binary_auc(y: np.ndarray, s: np.ndarray) -> float:
    """ROC AUC of one class by the Mann-Whitney U statistic with mid-ranks for ties:
    ``AUC = (sum of positive ranks - n_pos (n_pos + 1) / 2) / (n_pos n_neg)`` (Hanley & McNeil 1982)."""
    n_pos = int(y.sum())
    n_neg = y.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _binary_average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision ``AP = sum_n (R_n - R_{n-1}) P_n`` over the distinct score thresholds in
    decreasing order (the step-wise area under the precision-recall curve, no interpolation; the
    definition of scikit-learn's ``average_precision_score``). NaN without positives."""
    n_pos = y.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s_sorted)), y.size - 1]
    tp = np.cumsum(y_sorted)[last_of_tie]
    precision = tp / (last_of_tie + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def per_class_auc(y, p, classes: Sequence[str] | None = None) -> pd.Series:
    """ROC AUC per class (NaN where a class has no positive or no negative record in ``y``)."""
    y, p = check_scores(y, p)
    values = [_binary_auc(y[:, c], p[:, c]) for c in range(y.shape[1])]
    return pd.Series(values, index=_class_names(classes, y.shape[1]), name="auc", dtype=float)


def per_class_average_precision(y, p, classes: Sequence[str] | None = None) -> pd.Series:
    """Average precision per class (NaN where a class has no positive record in ``y``)."""
    y, p = check_scores(y, p)
    values = [_binary_average_precision(y[:, c], p[:, c]) for c in range(y.shape[1])]
    return pd.Series(values, index=_class_names(classes, y.shape[1]), name="ap", dtype=float)


def _nanmean_or_nan(values: pd.Series) -> float:
    defined = values.dropna()
    return float(defined.mean()) if len(defined) else float("nan")


def macro_auc(y, p) -> float:
    """Mean ROC AUC over the classes where it is defined (NaN if none is)."""
    return _nanmean_or_nan(per_class_auc(y, p))


def average_precision_macro(y, p) -> float:
    """MAP: mean average precision over the classes with at least one positive."""
    return _nanmean_or_nan(per_class_average_precision(y, p))


def _f1_by_threshold(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """F1 = 2 TP / (2 TP + FP + FN) for the rule ``s >= t`` at every distinct score ``t``."""
    order = np.argsort(-s, kind="mergesort")
    s_sorted, y_sorted = s[order], y[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(s_sorted)), y.size - 1]
    tp = np.cumsum(y_sorted)[last_of_tie]
    predicted = last_of_tie + 1
    f1 = 2 * tp / (predicted + y.sum())
    return s_sorted[last_of_tie], f1


def tune_thresholds(y_val, p_val) -> np.ndarray:
    """Per-class threshold maximising F1 on the VALIDATION split (rule: positive iff ``p >= t``).

    Candidates are the distinct validation scores of the class; ties in F1 go to the highest
    threshold. A class without a positive in ``y_val`` keeps the default 0.5.
    """
    y, p = check_scores(y_val, p_val, "y_val", "p_val")
    thresholds = np.full(y.shape[1], DEFAULT_THRESHOLD)
    for c in range(y.shape[1]):
        if y[:, c].sum() == 0:
            continue
        candidates, f1 = _f1_by_threshold(y[:, c], p[:, c])
        thresholds[c] = candidates[int(np.argmax(f1))]
    return thresholds


def _per_class_thresholds(thresholds, n_classes: int) -> np.ndarray:
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim == 0:
        return np.full(n_classes, float(t))
    if t.shape != (n_classes,):
        raise ConfigError(f"thresholds must be a number or one per class ({n_classes}); got shape {t.shape}")
    return t


def per_class_f1(y, p, thresholds=DEFAULT_THRESHOLD) -> np.ndarray:
    """F1 per class for ``p >= thresholds``; 0 where a class has neither positives nor predictions."""
    y, p = check_scores(y, p)
    pred = p >= _per_class_thresholds(thresholds, y.shape[1])
    tp = (pred & (y == 1)).sum(0)
    denom = pred.sum(0) + y.sum(0)
    return np.divide(2 * tp, denom, out=np.zeros(y.shape[1]), where=denom > 0)


def macro_f1(y, p, thresholds=DEFAULT_THRESHOLD) -> float:
    """Unweighted mean over classes of the per-class F1 (zero-division counts as 0, as in sklearn)."""
    return float(per_class_f1(y, p, thresholds).mean())


def evaluate(y_test, p_test, *, thresholds=None, y_val=None, p_val=None, classes: Sequence[str] | None = None) -> dict:
    """All headline metrics of one model on one test split.

    Thresholds: ``thresholds`` if given, else tuned on ``(y_val, p_val)``, else 0.5.
    Returns ``{"macro_auc", "macro_f1", "map", "per_class_auc" (Series), "thresholds" (C,),
    "missing_classes" (classes whose AUC is undefined on test, left out of the macro AUC)}``.
    """
    y, p = check_scores(y_test, p_test, "y_test", "p_test")
    if thresholds is None:
        if (y_val is None) != (p_val is None):
            raise ConfigError("give both y_val and p_val to tune thresholds, or neither")
        thresholds = tune_thresholds(y_val, p_val) if y_val is not None else np.full(y.shape[1], DEFAULT_THRESHOLD)
    aucs = per_class_auc(y, p, classes)
    return {
        "macro_auc": _nanmean_or_nan(aucs),
        "macro_f1": macro_f1(y, p, thresholds),
        "map": average_precision_macro(y, p),
        "per_class_auc": aucs,
        "thresholds": _per_class_thresholds(thresholds, y.shape[1]),
        "missing_classes": aucs.index[aucs.isna()].tolist(),
    }


def gap_closed(student_kd: float, student_base: float, teacher: float) -> float:
    """Share of the teacher-student gap that distillation closes (docs/design.md section 7)::

        gap_closed = (student_kd - student_base) / (teacher - student_base)

    1 means the KD student matches the teacher, 0 means no gain, < 0 a loss. ConfigError when the
    teacher equals the baseline (the ratio is undefined).
    """
    kd, base, teach = float(student_kd), float(student_base), float(teacher)
    for name, v in (("student_kd", kd), ("student_base", base), ("teacher", teach)):
        if not np.isfinite(v):
            raise ConfigError(f"{name} must be a finite number; got {v}")
    if teach == base:
        raise ConfigError(f"gap closed is undefined: teacher ({teach:g}) equals student_base ({base:g})")
    return (kd - base) / (teach - base)
