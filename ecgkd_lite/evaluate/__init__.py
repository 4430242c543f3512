"""Evaluation: multi-label metrics, validation-tuned thresholds, bootstrap intervals, gap closed.

>>> from ecgkd_lite.evaluate import evaluate
>>> report = evaluate(y_test, p_test, y_val=y_val, p_val=p_val)
>>> report["macro_auc"], report["missing_classes"]
"""

from .bootstrap import ConfidenceInterval, bootstrap_ci
from .folds import CVPlan, Fold, cv_folds, paired_class_delta_ci, stratified_folds
from .lead_drop import keep_only, lead_drop
from .paired import PairedBootstrap, paired_bootstrap, paired_delta_ci
from ..metrics import (
    average_precision_macro,
    evaluate,
    gap_closed,
    macro_auc,
    macro_f1,
    per_class_auc,
    per_class_average_precision,
    per_class_f1,
    tune_thresholds,
)

__all__ = [
    "macro_auc",
    "per_class_auc",
    "average_precision_macro",
    "per_class_average_precision",
    "macro_f1",
    "per_class_f1",
    "tune_thresholds",
    "evaluate",
    "gap_closed",
    "bootstrap_ci",
    "ConfidenceInterval",
    "lead_drop",
    "keep_only",
    "cv_folds",
    "stratified_folds",
    "CVPlan",
    "Fold",
    "paired_class_delta_ci",
    "paired_bootstrap",
    "PairedBootstrap",
    "paired_delta_ci",
]
