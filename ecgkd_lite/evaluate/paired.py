"""Paired bootstrap over records, pooled over seeds: the statistics behind "method beats baseline".

Every model of a comparison predicts the SAME records (a test split, or the pooled out-of-fold
predictions of a cross-validation) once per training seed: ``probs[name]`` is ``(S, N, C)``. One
bootstrap resample draws ``N`` record indices with replacement and applies them to every model and
every seed (paired), keeping the fold and seed structure: seed ``s`` of a method is compared with
seed ``s`` of the baseline (same data order, same teacher seed). Per resample ``b``::

    score[b, name, s] = macro AUC (or MAP) of model ``name``, seed ``s``, on the resampled records
    delta_b           = mean_s score[b, new, s] - mean_s score[b, ref, s]
    gap_closed_b      = (mean_s new - mean_s ref) / (mean_s teacher - mean_s ref)

and the 95 % interval is the 2.5 / 97.5 % percentile of ``delta_b`` (Efron & Tibshirani 1993,
percentile method). Macro metrics average the classes defined (a positive and a negative) on the
full sample; in a resample, a rare class that loses every positive is left out of that resample's
mean, for every model alike (so the comparison stays paired; with the few positives of a small
hold-out, skipping such resamples would skip most of them). A model with fewer seeds than the
reference is compared on the seeds it has (``seeds_compared``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np
from scipy.stats import rankdata

from ..checks import check_int
from ..errors import ConfigError
from ..metrics import per_class_auc, per_class_f1
from .bootstrap import ConfidenceInterval, bootstrap_ci, resample_ci

METRICS = ("macro_auc", "map")


def _macro_auc(y: np.ndarray, p: np.ndarray) -> float:
    """Mean over the columns with a positive and a negative of the binary AUC (Mann-Whitney U from
    midranks); NaN if no column has both."""
    pos = y.sum(0)
    neg = y.shape[0] - pos
    ok = (pos > 0) & (neg > 0)
    if not ok.any():
        return float("nan")
    y, p, pos, neg = y[:, ok], p[:, ok], pos[ok], neg[ok]
    ranks = rankdata(p, axis=0)
    return float((((ranks * y).sum(0) - pos * (pos + 1) / 2) / (pos * neg)).mean())


def _macro_ap(y: np.ndarray, p: np.ndarray) -> float:
    """Mean over the columns with a positive of the average precision, tied scores one threshold
    (``metrics.per_class_average_precision``, scikit-learn's definition); NaN if no column has one."""
    return float(_SortedAP(y, p)(np.ones(len(y))))


_FN = {"macro_auc": _macro_auc, "map": _macro_ap}


class _Sorted:
    """One (N, C) prediction sorted once, class by class, into groups of equal score; a bootstrap
    resample is then scored from the multiplicity ``w_i`` of every record with one O(N C) pass (the
    running weight in score order) and a few passes over the positives, instead of a new
    O(N log N) sort per class.

    The classes' sorted columns lie end to end in one flat array. For each positive it keeps its
    class, the flat start and end of its tie group, and how many positives come before that start,
    that end and its class's start. Multiplicities are whole numbers, so every sum is exact and the result does not depend on the
    order of summation. ``descending`` chooses the sort direction.
    """

    descending = False

    def __init__(self, y: np.ndarray, p: np.ndarray):
        n, c = y.shape
        order = np.argsort(-p if self.descending else p, axis=0, kind="stable")
        ranked = np.take_along_axis(p, order, axis=0).T  # (C, N)
        self.order = order.T.ravel()
        self.n_classes = c
        new_group = np.ones((c, n), dtype=bool)
        new_group[:, 1:] = ranked[:, 1:] != ranked[:, :-1]
        group = np.cumsum(new_group.ravel()) - 1  # group id of every flat position
        starts = np.flatnonzero(new_group.ravel())
        ends = np.r_[starts[1:], n * c]
        self.pos = np.flatnonzero(np.take_along_axis(y, order, axis=0).T.ravel() > 0)
        self.pos_class = self.pos // n
        self.pos_start, self.pos_end = starts[group[self.pos]], ends[group[self.pos]]
        self.class_start, self.class_end = np.arange(c) * n, np.arange(1, c + 1) * n
        # positives before a flat position k: searchsorted(pos, k); at the group's start and end and
        # at the class's start of every positive
        self.before_start = np.searchsorted(self.pos, self.pos_start)
        self.before_end = np.searchsorted(self.pos, self.pos_end)
        self.before_class = np.searchsorted(self.pos, self.class_start)[self.pos_class]

    def running(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The running total of the weights in flat sorted order (with a leading 0: ``cum[k]`` is
        the weight of flat positions ``0..k-1``), the positives' weights and their running total."""
        w = weights[self.order]
        w_pos = w[self.pos]
        return np.concatenate(([0.0], np.cumsum(w))), w_pos, np.concatenate(([0.0], np.cumsum(w_pos)))

    def per_class(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.pos_class, weights=values, minlength=self.n_classes)


class _SortedAUC(_Sorted):
    """The macro AUC of one (N, C) prediction on any bootstrap resample (``_Sorted``).

    With the scores of class ``c`` in increasing order and ``N_i``, ``T_i`` the weight of the
    negatives below positive ``i``'s tie group and within it, Mann-Whitney's U with half credit for
    ties is ``U = sum_i w_i (N_i + T_i / 2)`` and ``AUC_c = U / (sum_pos w sum_neg w)``: the midrank
    AUC of ``_macro_auc`` on the resampled records. Classes without a positive or a negative in the
    resample are left out of the mean, or, with ``strict``, make the value NaN (a fixed class set,
    as ``bootstrap.bootstrap_ci`` keeps it).
    """

    def __init__(self, y: np.ndarray, p: np.ndarray, *, strict: bool = False):
        super().__init__(y, p)
        self.strict = strict

    def __call__(self, weights: np.ndarray) -> float:
        cum, w_pos, cum_pos = self.running(weights)
        start, end = self.pos_start, self.pos_end
        class_start = cum[self.class_start][self.pos_class]
        neg_below = (cum[start] - class_start) - (cum_pos[self.before_start] - cum_pos[self.before_class])
        neg_tied = (cum[end] - cum[start]) - (cum_pos[self.before_end] - cum_pos[self.before_start])
        u = self.per_class(w_pos * (neg_below + 0.5 * neg_tied))
        total_pos = self.per_class(w_pos)
        total_neg = cum[self.class_end] - cum[self.class_start] - total_pos
        ok = (total_pos > 0) & (total_neg > 0)
        if not ok.any() or (self.strict and not ok.all()):
            return float("nan")
        return float((u[ok] / (total_pos[ok] * total_neg[ok])).mean())


class _SortedAP(_Sorted):
    """The macro average precision of one (N, C) prediction on any bootstrap resample (``_Sorted``).

    With the scores of class ``c`` in decreasing order, tied scores one threshold, and ``TP_i``,
    ``A_i`` the weight of the positives and of all records up to the end of positive ``i``'s tie
    group, the step-wise area under the precision-recall curve is
    ``AP_c = sum_i w_i TP_i / A_i / sum_i w_i`` over the positives (scikit-learn's
    ``average_precision_score`` on the resampled records). Classes without a positive in the
    resample are left out of the mean.
    """

    descending = True

    def __call__(self, weights: np.ndarray) -> float:
        cum, w_pos, cum_pos = self.running(weights)
        tp = cum_pos[self.before_end] - cum_pos[self.before_class]
        seen = cum[self.pos_end] - cum[self.class_start][self.pos_class]
        precision = np.divide(tp, seen, out=np.zeros_like(tp), where=w_pos > 0)  # w_pos > 0 implies seen > 0
        total_pos = self.per_class(w_pos)
        ok = total_pos > 0
        return float((self.per_class(w_pos * precision)[ok] / total_pos[ok]).mean()) if ok.any() else float("nan")


_SORTED = {"macro_auc": _SortedAUC, "map": _SortedAP}


@dataclass(frozen=True)
class PairedBootstrap:
    """Point scores ``point[name]`` (S,) and resampled scores ``boot[name]`` (n_boot_kept, S) of every
    model, on one set of paired resamples."""

    point: dict[str, np.ndarray]
    boot: dict[str, np.ndarray]
    metric: str
    n_boot: int
    n_skipped: int
    classes_kept: int

    def _pair(self, name: str, ref: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        s = min(len(self.point[name]), len(self.point[ref]))
        return self.point[name][:s], self.point[ref][:s], self.boot[name][:, :s], self.boot[ref][:, :s]

    def delta(self, name: str, ref: str, alpha: float = 0.05) -> dict:
        """``mean_s score(name) - mean_s score(ref)`` with its paired percentile interval."""
        p_new, p_ref, b_new, b_ref = self._pair(name, ref)
        values = b_new.mean(1) - b_ref.mean(1)
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        return {
            "estimate": float(p_new.mean() - p_ref.mean()),
            "ci95": [float(low), float(high)],
            "p_not_better": float((values <= 0).mean()),
            "seeds_compared": int(len(p_new)),
        }

    def gap_closed(self, name: str, ref: str, teacher: str, alpha: float = 0.05) -> dict:
        """``(new - ref) / (teacher - ref)`` (seed means) with its paired percentile interval;
        resamples where the teacher does not beat ``ref`` are skipped (the ratio is undefined)."""
        p_new, p_ref, b_new, b_ref = self._pair(name, ref)
        s = len(p_new)
        p_t, b_t = self.point[teacher][:s], self.boot[teacher][:, :s]
        gap = b_t.mean(1) - b_ref.mean(1)
        ok = gap > 0
        values = (b_new.mean(1) - b_ref.mean(1))[ok] / gap[ok]
        point_gap = p_t.mean() - p_ref.mean()
        estimate = float((p_new.mean() - p_ref.mean()) / point_gap) if point_gap > 0 else float("nan")
        if values.size == 0:
            return {"estimate": estimate, "ci95": [float("nan"), float("nan")], "n_skipped": int((~ok).sum())}
        low, high = np.quantile(values, [alpha / 2, 1 - alpha / 2])
        return {"estimate": estimate, "ci95": [float(low), float(high)], "n_skipped": int((~ok).sum())}


def paired_bootstrap(
    y, probs: Mapping[str, np.ndarray], metric: str = "macro_auc", *, n_boot: int = 1000, seed: int = 0
) -> PairedBootstrap:
    """Scores of every model and seed on ``n_boot`` paired resamples of the records (module docstring).

    ``y`` (N, C) multi-hot; ``probs[name]`` (S, N, C) or (N, C) (one seed). ConfigError for shapes
    that do not match, an unknown metric, or a metric undefined on every resample."""
    if metric not in _FN:
        raise ConfigError(f"metric {metric!r} is unknown; choose one of {list(_FN)}")
    n_boot = check_int("n_boot", n_boot, low=1)
    seed = check_int("seed", seed, low=0)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or not probs:
        raise ConfigError(
            f"y must be (N, C) and probs must name at least one model; got y {y.shape}, {len(probs)} models"
        )
    stacks = {}
    for name, p in probs.items():
        p = np.asarray(p, dtype=np.float64)
        p = p[None] if p.ndim == 2 else p
        if p.ndim != 3 or p.shape[1:] != y.shape:
            raise ConfigError(f"probs[{name!r}] must be (S, N, C) with (N, C) = {y.shape}; got {p.shape}")
        if not np.isfinite(p).all():
            raise ConfigError(f"probs[{name!r}] holds NaN or inf")
        stacks[name] = p
    keep = (y.sum(0) > 0) & (y.sum(0) < len(y)) if metric == "macro_auc" else y.sum(0) > 0
    if not keep.any():
        raise ConfigError(
            f"no class of y is defined for {metric} (each needs a positive{' and a negative' if metric == 'macro_auc' else ''})"
        )
    y = y[:, keep]
    stacks = {k: v[:, :, keep] for k, v in stacks.items()}
    fn = _FN[metric]
    point = {k: np.array([fn(y, v[s]) for s in range(len(v))]) for k, v in stacks.items()}
    rng = np.random.default_rng(seed)
    boot = {k: np.empty((n_boot, len(v))) for k, v in stacks.items()}
    # each prediction sorted once, every resample scored by its record multiplicities
    sorted_metric = _SORTED[metric]
    fast = {k: [sorted_metric(y, v[s]) for s in range(len(v))] for k, v in stacks.items()}
    for b in range(n_boot):
        counts = np.bincount(rng.integers(0, len(y), size=len(y)), minlength=len(y)).astype(np.float64)
        for k, scorers in fast.items():
            boot[k][b] = [score(counts) for score in scorers]
    ok = np.all([np.isfinite(v).all(1) for v in boot.values()], axis=0)
    if not ok.any():
        raise ConfigError(f"{metric} is undefined in all {n_boot} resamples")
    return PairedBootstrap(
        point, {k: v[ok] for k, v in boot.items()}, metric, n_boot, int((~ok).sum()), int(keep.sum())
    )


def paired_delta_ci(
    y,
    p_ref,
    p_new,
    metric: str = "macro_auc",
    *,
    thresholds_ref=None,
    thresholds_new=None,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> ConfidenceInterval:
    """Percentile interval of ``metric(y, p_new) - metric(y, p_ref)`` for ONE pair of predictions,
    over ``n_boot`` resamples of the records, each resample applied to BOTH models (paired; the
    same resamples as ``bootstrap.bootstrap_ci`` and ``paired_bootstrap`` with that ``seed``).
    ``metric``: ``"macro_auc"`` (over the classes whose AUC is defined on the full sample; a resample
    where one becomes undefined is skipped, as in ``bootstrap_ci``; each resample scored from the
    record multiplicities, ``_SortedAUC``) or ``"macro_f1"`` (each model with its own thresholds).
    """
    y = np.asarray(y, dtype=np.float64)
    p_ref, p_new = np.asarray(p_ref, dtype=np.float64), np.asarray(p_new, dtype=np.float64)
    if not (y.shape == p_ref.shape == p_new.shape and y.ndim == 2):
        raise ConfigError(f"y {y.shape}, p_ref {p_ref.shape} and p_new {p_new.shape} must all be (N, C)")
    if metric == "macro_auc":
        keep = per_class_auc(y, p_ref).notna().to_numpy()
        if not keep.any():
            raise ConfigError("no class of y has a positive and a negative: the macro AUC is undefined")
        yk = y[:, keep]
        ref, new = (_SortedAUC(yk, p[:, keep], strict=True) for p in (p_ref, p_new))
        n = len(y)
        estimate = float(per_class_auc(yk, p_new[:, keep]).mean() - per_class_auc(yk, p_ref[:, keep]).mean())

        def value(rows: np.ndarray) -> float:
            counts = np.bincount(rows, minlength=n).astype(np.float64)
            return new(counts) - ref(counts)

        return resample_ci(value, n, estimate, n_boot=n_boot, alpha=alpha, seed=seed)
    if metric != "macro_f1":
        raise ConfigError(f"metric {metric!r} is unknown; choose 'macro_auc' or 'macro_f1'")
    c = y.shape[1]
    t_ref = 0.5 if thresholds_ref is None else thresholds_ref
    t_new = 0.5 if thresholds_new is None else thresholds_new

    def delta(yy: np.ndarray, pp: np.ndarray) -> float:
        return float(
            per_class_f1(yy[:, :c], pp[:, c:], t_new).mean() - per_class_f1(yy[:, :c], pp[:, :c], t_ref).mean()
        )

    # one resample of the rows of [p_ref | p_new] is one paired resample of the records
    return bootstrap_ci(np.hstack([y, y]), np.hstack([p_ref, p_new]), delta, n_boot=n_boot, alpha=alpha, seed=seed)


#: thresholds of the lead-I visibility rule (AUC points of gap = AUC(12 leads) - AUC(lead I))
SEEN_HIGH, NOT_SEEN_LOW = 0.05, 0.10
VISIBILITY_RULE = (
    f"on the paired 95 % interval [lo, hi] of gap = AUC(12 leads) - AUC(lead I): 'seen' if hi < {SEEN_HIGH} "
    f"(lead I loses less than {SEEN_HIGH}); 'not seen' if lo > {NOT_SEEN_LOW} (lead I surely loses more than "
    f"{NOT_SEEN_LOW}); 'partly seen' if lo > 0 otherwise (a certain loss, not surely large); 'undetermined' "
    f"if the interval holds 0 and reaches {SEEN_HIGH} (too few positives to tell)"
)


def visibility_group(lo: float, hi: float) -> str:
    """How well lead I sees a class, from the paired 95 % interval ``[lo, hi]`` of its 12-lead minus
    lead-I AUC gap (``VISIBILITY_RULE``); ``"undefined"`` for a non-finite bound."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "undefined"
    if hi < SEEN_HIGH:
        return "seen"
    if lo > NOT_SEEN_LOW:
        return "not seen"
    if lo > 0:
        return "partly seen"
    return "undetermined"
