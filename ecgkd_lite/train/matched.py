"""Matched supervision per step for label-ratio runs: every batch holds the same number of labeled records.

The engine's batches are a plain shuffle of the training records, so at a label ratio r a batch of
B holds about r*B labeled records, a number that varies from batch to batch. In a label-ratio run
every method (the baseline included) instead trains on **matched batches** (``matched_batches``):

* an epoch is one pass over the labeled records L: a seeded permutation of L cut in chunks of
  ``k`` (a last chunk shorter than ``k`` is left out that epoch; the permutation changes every
  epoch);
* every step adds ``B - k`` unlabeled records: a seeded permutation of U, repeated as often as
  needed (so every unlabeled record is visited about once per epoch); the ``B`` records of a
  batch are then shuffled together;
* ``k = labeled_per_batch(|L|, |L| + |U|, B) = clip(round(B * |L| / (|L| + |U|)), 2, |L|)``: the
  labeled share of a batch is the labeled share of the pool, fixed, so an epoch has about
  ``(|L| + |U|) / B`` steps, the engine's count for the same pool with every label.

The batches depend only on ``(labeled mask, B, k, seed, epoch)``, so every method of a run (same
seed) trains on exactly the same records in every step: the same ``k`` labeled records, whose
labels the losses may read, and the same ``B - k`` unlabeled ones, whose labels none may.
``fit_matched`` is ``engine.fit`` with these batches (the rest of the engine unchanged: crops,
optimiser, schedule sized to the matched step count, checkpoints, exact resume).
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.container import ECGData
from ..errors import ConfigError
from .config import TrainConfig
from .datasets import epoch_rng
from .distributed import shard
from ..progress import progress
from ..utils import seed_everything
from .engine import (
    LAST,
    FitResult,
    _make_scheduler,
    _run_record,
    _Trainer,
    check_model_fits,
    input_lead_indices,
    resolve_device,
    set_train_mode,
)
from .objective import check_objective

#: the random streams of ``datasets.epoch_rng`` used here (0 and 1 are the engine's order and crops)
_STREAM_LABELED, _STREAM_UNLABELED, _STREAM_MIX = 2, 3, 4


def labeled_per_batch(n_labeled: int, n_pool: int, batch_size: int) -> int:
    """``k = clip(round(batch_size * n_labeled / n_pool), 2, n_labeled)`` (module docstring);
    ConfigError when the pool has fewer than two labeled records."""
    if not (0 < n_labeled <= n_pool) or batch_size < 2:
        raise ConfigError(
            f"matched batches need 0 < n_labeled <= n_pool and batch_size >= 2; got {n_labeled}, {n_pool}, {batch_size}"
        )
    if n_labeled < 2:
        raise ConfigError(f"matched batches need at least 2 labeled records (BatchNorm); got {n_labeled}")
    return int(min(n_labeled, max(2, round(batch_size * n_labeled / n_pool))))


def matched_batches(
    labeled: np.ndarray, batch_size: int, k: int, seed: int, epoch: int, steps: int | None = None
) -> list[np.ndarray]:
    """The batches of one epoch (record positions): ``k`` labeled + ``batch_size - k`` unlabeled each.

    ``steps`` (default ``|L| // k``, one pass over L) fixes the epoch's length instead: the labeled
    records then come from as many fresh permutations of L as needed (a small labeled set, e.g. a
    teacher trained on L only, gets epochs as long as the student's, not one step each)."""
    labeled = np.asarray(labeled, dtype=bool)
    lab, unl = np.flatnonzero(labeled), np.flatnonzero(~labeled)
    if not (1 <= k <= min(batch_size, len(lab))):
        raise ConfigError(f"labeled_per_batch must lie in [1, min(batch_size, n_labeled)]; got {k}")
    if len(unl) == 0 and k != min(batch_size, len(lab)):
        raise ConfigError(
            f"labeled_per_batch {k}: a pool without unlabeled records takes batches of "
            f"min(batch_size, n_labeled) = {min(batch_size, len(lab))} labeled records"
        )
    rng = epoch_rng(seed, epoch, _STREAM_LABELED)
    if steps is None:
        steps = len(lab) // k
        lab = rng.permutation(lab)[: steps * k].reshape(steps, k)
    else:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
            raise ConfigError(f"steps must be an integer >= 1; got {steps!r}")
        rounds = -(-steps * k // len(lab))
        lab = np.concatenate([rng.permutation(lab) for _ in range(rounds)])[: steps * k].reshape(steps, k)
    u = batch_size - k if len(unl) else 0
    if u:
        perm = epoch_rng(seed, epoch, _STREAM_UNLABELED).permutation(unl)
        unl = np.resize(perm, steps * u).reshape(steps, u)
    else:
        unl = np.zeros((steps, 0), np.int64)
    mix = epoch_rng(seed, epoch, _STREAM_MIX)
    return [mix.permutation(np.concatenate([a, b])) for a, b in zip(lab, unl)]


class _MatchedTrainer(_Trainer):
    """The engine's trainer on matched batches (``cfg["batches"]``)."""

    def __init__(self, model, train, val, objective, cfg: dict, *, labeled, **kwargs):
        self._mask = np.asarray(labeled, dtype=bool)  # before super().__init__: _setup_objective reads it
        super().__init__(model, train, val, objective, cfg, labeled=labeled, **kwargs)
        self.steps_per_epoch = len(self._batches(0))
        # the engine sized the schedule for its own batches: build both again (nothing has stepped yet)
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        self.scheduler = _make_scheduler(
            cfg["scheduler"], self.optimizer, cfg["lr"], cfg["epochs"] * self.steps_per_epoch
        )

    def _batches(self, epoch: int) -> list[np.ndarray]:
        b = self.cfg["batches"]
        return matched_batches(
            self._mask,
            self.cfg["batch_size"],
            b["labeled_per_batch"],
            self.cfg["seed"],
            epoch,
            b.get("steps_per_epoch"),
        )

    def _setup_objective(self) -> None:
        if self.objective.is_setup:
            return
        self.objective.setup(self._to_device(self.dataset.batch(shard(self._batches(0)[0], self.ctx))))
        self.objective.to(self.device)

    def train_epoch(self, epoch: int) -> dict:
        set_train_mode(self.objective)
        self.dataset.set_epoch(epoch)
        sums, count = None, 0
        batches = self._batches(epoch)
        for step, items in enumerate(progress(batches, desc=f"epoch {epoch + 1}", leave=False, enabled=self.progress)):
            values = self._step(epoch, step, items)
            n = len(shard(items, self.ctx))
            sums = values * n if sums is None else sums + values * n
            count += n
        totals = torch.cat([sums.cpu(), torch.tensor([float(count)])])
        if self.ctx.enabled:
            torch.distributed.all_reduce(totals)
        return {f"train_{name}": float(v) for name, v in zip(self._names, totals[:-1] / totals[-1])}


def fit_matched(
    model,
    train: ECGData,
    val: ECGData,
    config: TrainConfig,
    *,
    labeled: np.ndarray,
    labeled_per_batch: int,
    steps_per_epoch: int | None = None,
    objective=None,
    checkpoint_dir=None,
    resume: bool = True,
) -> FitResult:
    """``engine.fit`` on matched batches of ``labeled_per_batch`` labeled records (module docstring).

    The run record (checked on resume, saved in every checkpoint) carries ``batches``; the input
    checks are ``fit``'s (leads, classes, finite signals), run before anything is trained."""
    labeled = np.asarray(labeled)
    if labeled.dtype != bool or labeled.shape != (len(train),):
        raise ConfigError(
            f"labeled must be a boolean mask of shape ({len(train)},); got {labeled.dtype} {labeled.shape}"
        )
    matched_batches(labeled, config.batch_size, labeled_per_batch, config.seed, 0, steps_per_epoch)  # checks k
    if objective is not None:
        check_objective(objective)
    _check_inputs(model, train, val, config, labeled)
    cfg = _run_record(config, train, objective, labeled)
    cfg["batches"] = {
        "rule": "matched",
        "labeled_per_batch": int(labeled_per_batch),
        "unlabeled_per_batch": int(config.batch_size - labeled_per_batch),
    }
    if steps_per_epoch is not None:
        cfg["batches"]["steps_per_epoch"] = int(steps_per_epoch)
    device = resolve_device(config.device)
    seed_everything(config.seed, deterministic=device.type == "cpu")
    trainer = _MatchedTrainer(
        model,
        train,
        val,
        objective,
        cfg,
        labeled=labeled,
        checkpoint_dir=checkpoint_dir,
        device=device,
        progress=config.progress,
    )
    if trainer.dir is not None and resume and (trainer.dir / LAST).exists():
        trainer.resume()
    return trainer.run()


def _check_inputs(model, train, val, config, labeled) -> None:
    """The input checks ``engine.fit`` runs before training (leads, classes, finite signals, labels)."""
    if val.classes != train.classes or val.leads != train.leads:
        raise ConfigError(f"val must have the classes and leads of train; got {val!r} vs {train!r}")
    lead_idx = input_lead_indices(train, config.input_leads)
    check_model_fits(model, train, lead_idx, "train")
    train.check_finite("the training split", lead_idx)
    val.check_finite("the validation split", lead_idx)
    if not labeled.any():
        raise ConfigError("labeled marks no training record; matched batches need labels")


__all__ = ["labeled_per_batch", "matched_batches", "fit_matched"]
