"""Cross-validation folds for a small multi-label data set, and paired per-class AUC differences.

A set like ``ptbxl-2k`` (1,805 records, some classes with 20-30 positives) gives a test split with
a handful of positives per rare class: one split's per-class AUC is mostly noise. ``cv_folds``
predicts every record of the **pool** (train + val, by default) exactly once instead:

* the pool is cut into ``k`` test folds by multi-label iterative stratification (Sechidis et al.
  2011, ``iterstrat.ml_stratifiers.MultilabelStratifiedKFold``, shuffled with ``seed``), so each
  class's positives spread evenly over the folds;
* in each fold the other ``k - 1`` parts are split once more, also stratified
  (``MultilabelStratifiedShuffleSplit``, ``val_fraction`` of them), into **train** and
  **validation** (early stopping, threshold tuning): no test record is ever used for a decision;
* the hold-out (the source ``test`` split, folds 10) is never in any fold: it stays a separate,
  untouched check (``CVPlan.holdout``).

``paired_class_delta_ci`` gives, per class, the percentile bootstrap interval of
``AUC(p_new) - AUC(p_ref)`` on pooled out-of-fold predictions, both models scored on the SAME
resampled records (paired); it is ``bootstrap_ci`` applied per class with one seed, so every class
sees the same resamples. The macro difference is ``evaluate.paired.paired_delta_ci``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..checks import check_int, check_number
from ..errors import ConfigError
from .bootstrap import bootstrap_ci
from ..metrics import _binary_auc, check_scores

#: the source splits ``cv_folds`` keeps out of every fold by default
HOLDOUT_SPLITS = ("test",)


@dataclass(frozen=True)
class Fold:
    """Positions (into the container given to ``cv_folds``) of one fold's train / val / test records."""

    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class CVPlan:
    """``k`` folds over ``pool`` (every pool record in exactly one ``test``) and the untouched ``holdout``."""

    folds: tuple[Fold, ...]
    pool: np.ndarray
    holdout: np.ndarray
    k: int
    seed: int
    val_fraction: float

    def positives(self, labels, classes: Sequence[str] | None = None) -> pd.DataFrame:
        """Positives per class (rows) in each fold's test part (columns ``fold1``..), with the ideal
        ``pool positives / k`` and the largest deviation from it."""
        labels = np.asarray(labels)
        table = pd.DataFrame(
            {f"fold{f.index + 1}": labels[f.test].sum(0).astype(int) for f in self.folds},
            index=list(classes) if classes is not None else None,
        )
        table["ideal"] = labels[self.pool].sum(0) / self.k
        table["max_deviation"] = (table.filter(like="fold").sub(table["ideal"], axis=0)).abs().max(axis=1)
        return table


def stratified_folds(labels, k: int = 5, *, seed: int = 0, val_fraction: float = 0.15) -> list[Fold]:
    """``k`` folds over the rows of the multi-hot ``labels`` (N, C): test parts by
    ``MultilabelStratifiedKFold(k, shuffle=True, random_state=seed)``, each fold's validation
    carved from its training part by ``MultilabelStratifiedShuffleSplit(test_size=val_fraction,
    random_state=seed + fold)``. Positions are sorted. ConfigError for ``k < 2``, ``k`` above the
    number of rows or above a class's positives (that class would be absent from some test
    fold), ``seed`` not an integer >= 0, ``val_fraction`` outside (0, 0.5]."""
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold, MultilabelStratifiedShuffleSplit

    k = check_int("k", k, low=2)
    seed = check_int("seed", seed, low=0)
    check_number("val_fraction", val_fraction, low=0, low_open=True, high=0.5)
    y = np.asarray(labels)
    if y.ndim != 2 or not np.isin(y, (0, 1)).all():
        raise ConfigError(f"labels must be multi-hot (N, C) with 0/1 only; got shape {y.shape}")
    if k > len(y):
        raise ConfigError(f"k={k} folds need at least {k} records; got {len(y)}")
    counts = y.sum(0).astype(int)
    if counts.size and counts.min() < k:
        worst = int(np.argmin(counts))
        raise ConfigError(
            f"class column {worst} has {counts[worst]} positive(s) for k={k} folds: some test fold "
            f"would hold none (undefined AUC there); use k <= {counts.min()} or drop the class"
        )
    outer = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    folds = []
    for i, (rest, test) in enumerate(outer.split(np.zeros(len(y)), y)):
        inner = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=val_fraction, random_state=seed + i)
        tr, va = next(inner.split(np.zeros(len(rest)), y[rest]))
        folds.append(Fold(i, np.sort(rest[tr]), np.sort(rest[va]), np.sort(test)))
    check_folds(folds, len(y))
    return folds


def cv_folds(
    data, k: int = 5, *, seed: int = 0, val_fraction: float = 0.15, holdout_splits: Sequence[str] = HOLDOUT_SPLITS
) -> CVPlan:
    """``stratified_folds`` over the records of ``data`` (an ``ECGData``) outside ``holdout_splits``
    (default the source test split, fold 10); positions refer to ``data`` itself, so
    ``data.subset(fold.train)`` is a fold's training set."""
    from ..data.container import SPLIT_FOLDS

    unknown = sorted(set(holdout_splits) - set(SPLIT_FOLDS))
    if unknown:
        raise ConfigError(f"holdout_splits {unknown} are unknown; choose from {list(SPLIT_FOLDS)}")
    held = np.isin(data.folds, [f for s in holdout_splits for f in SPLIT_FOLDS[s]])
    pool, holdout = np.flatnonzero(~held), np.flatnonzero(held)
    inner = stratified_folds(data.labels[pool], k, seed=seed, val_fraction=val_fraction)
    folds = tuple(Fold(f.index, pool[f.train], pool[f.val], pool[f.test]) for f in inner)
    return CVPlan(folds, pool, holdout, k, seed, float(val_fraction))


def check_folds(folds: Sequence[Fold], n: int) -> None:
    """ConfigError unless each fold's train / val / test are disjoint and the test parts cover
    ``range(n)`` exactly once."""
    seen = np.zeros(n, dtype=int)
    for f in folds:
        parts = {"train": f.train, "val": f.val, "test": f.test}
        for name, idx in parts.items():
            if len(np.unique(idx)) != len(idx):
                raise ConfigError(f"fold {f.index}: {name} repeats a record")
        if set(f.train.tolist()) & set(f.val.tolist()) or set(f.test.tolist()) & (
            set(f.train.tolist()) | set(f.val.tolist())
        ):
            raise ConfigError(f"fold {f.index}: train, val and test are not disjoint")
        seen[f.test] += 1
    if (seen != 1).any():
        raise ConfigError(
            f"{int((seen == 0).sum())} record(s) are in no test fold and {int((seen > 1).sum())} in more than one"
        )


def paired_class_delta_ci(
    y, p_ref, p_new, classes: Sequence[str] | None = None, *, n_boot: int = 1000, alpha: float = 0.05, seed: int = 0
) -> pd.DataFrame:
    """Per class: ``auc_ref``, ``auc_new``, ``delta = auc_new - auc_ref`` and its paired percentile
    interval ``[low, high]`` over ``n_boot`` resamples of the records (the same rows for both models
    and, with one ``seed``, for every class), ``positives`` and ``n_skipped`` (resamples without a
    positive or a negative). A class undefined on the full sample gets NaN."""
    y, p_ref = check_scores(y, p_ref, "y", "p_ref")
    _, p_new = check_scores(y, p_new, "y", "p_new")
    names = list(classes) if classes is not None else list(range(y.shape[1]))
    if len(names) != y.shape[1]:
        raise ConfigError(f"classes has {len(names)} names for {y.shape[1]} columns")

    def delta(yy: np.ndarray, pp: np.ndarray) -> float:
        return _binary_auc(yy[:, 0], pp[:, 1]) - _binary_auc(yy[:, 0], pp[:, 0])

    rows = []
    for j, name in enumerate(names):
        row = {
            "class": name,
            "positives": int(y[:, j].sum()),
            "auc_ref": _binary_auc(y[:, j], p_ref[:, j]),
            "auc_new": _binary_auc(y[:, j], p_new[:, j]),
        }
        row["delta"] = row["auc_new"] - row["auc_ref"]
        if np.isfinite(row["delta"]):
            ci = bootstrap_ci(
                np.stack([y[:, j], y[:, j]], 1),
                np.stack([p_ref[:, j], p_new[:, j]], 1),
                delta,
                n_boot=n_boot,
                alpha=alpha,
                seed=seed,
            )
            row.update(low=ci.low, high=ci.high, n_skipped=ci.n_skipped)
        else:
            row.update(low=np.nan, high=np.nan, n_skipped=n_boot)
        rows.append(row)
    return pd.DataFrame(rows).set_index("class")
