"""The training engine: ``fit`` (crops, AdamW, one-cycle, AMP on CUDA, early stopping, checkpoints,
resume, DDP) and ``predict`` (sliding windows, mean of window probabilities).

Window choice (stated): ``predict`` slides windows of ``window_seconds`` with ``stride_seconds``
over the whole record (plus one window flush with the end when the grid leaves it uncovered) and
averages the window **probabilities** (sigmoid), as in the PTB-XL benchmark (Strodthoff et al.,
IEEE JBHI 2021, "Deep learning for ECG analysis: benchmarks and insights from PTB-XL").
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..data.container import ECGData
from ..data.leads import lead_indices
from ..errors import CheckpointError, ConfigError, ModelError, TrainingError
from ..metrics import average_precision_macro, macro_auc
from ..metrics import average_precision_macro, macro_auc
from ..progress import progress
from ..utils import fingerprint, seed_everything
from .checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state, unwrap
from .datasets import ECGDataset, epoch_order, window_starts
from .distributed import DistContext, broadcast_flag, init_from_env, shard
from .history import History
from .config import TrainConfig
from .objective import SupervisedObjective, check_objective

#: the classifier's validation metrics (an objective with its own ``monitors`` replaces them)
MONITORS = ("val_macro_auc", "val_map")
LAST, BEST = "last.pt", "best.pt"


@dataclass
class FitResult:
    """What ``fit`` returns: the model (best weights restored, in eval mode), its history, the best epoch (1-based)
    and its monitored metric, and the path of ``best.pt`` (None without ``checkpoint_dir``)."""

    model: nn.Module
    history: History
    best_epoch: int
    best_metric: float
    checkpoint: Path | None


# ---------------------------------------------------------------------------------------- helpers
def resolve_device(device=None) -> torch.device:
    """``device`` as a torch.device; default CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seconds_to_samples(seconds: float, fs: float, name: str) -> int:
    """``round(seconds * fs)``; ConfigError naming ``name`` unless it is at least one sample."""
    if not isinstance(seconds, (int, float)) or not math.isfinite(seconds) or round(seconds * fs) < 1:
        raise ConfigError(f"{name} must be a positive duration in seconds (>= 1 sample at {fs:g} Hz); got {seconds!r}")
    return int(round(seconds * fs))


def input_lead_indices(data: ECGData, input_leads: str | Sequence[str] | None) -> list[int]:
    """Positions of the model's input leads in ``data`` (all its leads when None)."""
    return list(range(data.n_leads)) if input_leads is None else lead_indices(input_leads, data.leads)


def check_model_fits(model: nn.Module, data: ECGData, lead_idx: Sequence[int], what: str) -> None:
    """ModelError when ``model.config`` declares another lead or class count than ``data`` gives."""
    config = getattr(unwrap(model), "config", None)
    if not isinstance(config, dict):
        return
    name = config.get("name", type(unwrap(model)).__name__)
    if "in_leads" in config and config["in_leads"] != len(lead_idx):
        leads = [data.leads[i] for i in lead_idx]
        raise ModelError(
            f"model {name} takes {config['in_leads']} input leads but {what} gives {len(lead_idx)} {leads}; "
            f"pass input_leads="
        )
    if config.get("n_classes") is not None and config["n_classes"] != data.n_classes:  # None: not a classifier
        raise ModelError(f"model {name} predicts {config['n_classes']} classes but {what} has {data.n_classes}")


def _autocast(device: torch.device):
    """bf16 (or fp16 where bf16 is unsupported) autocast on CUDA; nothing elsewhere."""
    if device.type != "cuda":
        return contextlib.nullcontext(), None
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype), dtype


# ---------------------------------------------------------------------------------------- predict
@torch.no_grad()
def predict(
    model: nn.Module,
    data: ECGData,
    *,
    input_leads=None,
    window_seconds: float = 2.5,
    stride_seconds: float = 1.25,
    batch_size: int = 256,
    return_logits: bool = False,
    device=None,
) -> np.ndarray:
    """Record-level scores ``(N, C)``: mean over sliding windows of the window probabilities
    (``return_logits=True``: mean window logits). A record shorter than the window is one window."""
    if len(data) == 0:
        raise ConfigError(f"data is empty: {data!r}")
    if not (isinstance(batch_size, int) and batch_size >= 1):
        raise ConfigError(f"batch_size must be a positive integer; got {batch_size!r}")
    lead_idx = input_lead_indices(data, input_leads)
    check_model_fits(model, data, lead_idx, "the data")
    data.check_finite("predict", lead_idx)
    window = min(seconds_to_samples(window_seconds, data.fs, "window_seconds"), data.n_samples)
    starts = window_starts(data.n_samples, window, seconds_to_samples(stride_seconds, data.fs, "stride_seconds"))
    model = unwrap(model)
    device = torch.device(device) if device is not None else next(model.parameters()).device
    autocast, _ = _autocast(device)
    was_training = model.training
    model.eval()
    records_per_chunk = max(1, batch_size // len(starts))
    out = np.empty((len(data), data.n_classes), dtype=np.float32)
    try:
        for lo in range(0, len(data), records_per_chunk):
            x = torch.from_numpy(data.signals[lo : lo + records_per_chunk][:, lead_idx]).to(device)
            windows = torch.stack([x[..., s : s + window] for s in starts], dim=1)  # (b, W, L, window)
            with autocast:
                z = model(windows.flatten(0, 1)).float().unflatten(0, windows.shape[:2])  # (b, W, C)
            out[lo : lo + len(x)] = (z.mean(1) if return_logits else torch.sigmoid(z).mean(1)).cpu().numpy()
    finally:
        model.train(was_training)
    return out


# ---------------------------------------------------------------------------------------- fit
def set_train_mode(module: nn.Module) -> None:
    """``module.train()``, except that fully frozen submodules (e.g. a distiller's teacher: it has
    parameters and none requires grad) stay in eval mode."""
    params = list(module.parameters())
    if params and not any(p.requires_grad for p in params):
        module.eval()
        return
    module.training = True
    for child in module.children():
        set_train_mode(child)


def trainable_parameters(*modules: nn.Module) -> list[nn.Parameter]:
    """Parameters with ``requires_grad`` of all ``modules``, each once (deduplicated by identity)."""
    seen, out = set(), []
    for module in modules:
        for p in module.parameters():
            if p.requires_grad and id(p) not in seen:
                seen.add(id(p))
                out.append(p)
    return out


def epoch_batches(n: int, batch_size: int, seed: int, epoch: int, min_batch: int) -> list[np.ndarray]:
    """The global batches of one epoch: a seeded shuffle split in ``batch_size`` chunks; a last
    chunk smaller than ``min_batch`` is dropped (BatchNorm cannot train on one sample, and under
    DDP every process needs at least two)."""
    order = epoch_order(n, seed, epoch)
    batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if batches and len(batches[-1]) < min_batch:
        batches.pop()
    return batches


def _make_scheduler(name: str, optimizer, lr: float, total_steps: int):
    if name == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=total_steps)
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def _state_not_in(module: nn.Module, exclude: nn.Module) -> dict:
    """``module.state_dict()`` without the tensors that belong to ``exclude`` (saved separately)."""
    owned = {t.data_ptr() for t in exclude.state_dict().values()}
    return {k: v for k, v in module.state_dict().items() if v.data_ptr() not in owned}


def _cpu_copy(state: dict) -> dict:
    return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}


class _Trainer:
    """One call of ``fit``: holds the run's state so each step of the loop stays short."""

    def __init__(self, model, train, val, objective, cfg: dict, *, labeled, checkpoint_dir, device, progress):
        self.ctx: DistContext = init_from_env(device)
        if self.ctx.enabled and device.type == "cuda":
            device = torch.device("cuda", self.ctx.local_rank)
        self.device, self.cfg = device, cfg
        self.model, self.train, self.val = model.to(device), train, val
        self.dataset = ECGDataset(
            train,
            cfg["crop_samples"],
            train=True,
            crop_stride=cfg["crop_stride_samples"],
            labeled=labeled,
            seed=cfg["seed"],
        )
        self.min_batch = 2 * self.ctx.world_size  # >= 2 records per process (BatchNorm)
        if cfg["batch_size"] < self.min_batch:
            raise ConfigError(
                f"batch_size must be at least {self.min_batch} (2 records per process); got {cfg['batch_size']}"
            )
        self.steps_per_epoch = len(epoch_batches(len(train), cfg["batch_size"], 0, 0, self.min_batch))
        if self.steps_per_epoch == 0:
            raise ConfigError(f"train has {len(train)} records; need at least {self.min_batch} for one batch")
        self.lead_idx = input_lead_indices(train, cfg["input_leads"])
        self.objective = (objective or SupervisedObjective(model, self.lead_idx)).to(device)
        self._setup_objective()
        self.params = trainable_parameters(model, self.objective)
        if not self.params:
            raise ConfigError(
                "nothing to train: neither the model nor the objective has a parameter with requires_grad"
            )
        self.runner = self._wrap_ddp()
        self.optimizer = torch.optim.AdamW(self.params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        self.scheduler = _make_scheduler(
            cfg["scheduler"], self.optimizer, cfg["lr"], cfg["epochs"] * self.steps_per_epoch
        )
        self.autocast, amp_dtype = _autocast(device)
        self.scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
        self.dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.writes = self.dir is not None and self.ctx.is_main
        self.data_fp = fingerprint(train.fingerprint(), val.fingerprint()) if self.dir is not None else ""
        self.data_digest = {"train": train.digest(), "val": val.digest()} if self.dir is not None else None
        self.progress = progress and self.ctx.is_main
        self.history = History()
        self.start_epoch, self.best_epoch, self.best_metric, self.bad_epochs, self.stopped = 0, 0, math.nan, 0, False
        self.best_state: dict | None = None

    def _setup_objective(self) -> None:
        """An objective that builds parts from feature shapes (``is_setup`` False, e.g. a Distiller)
        is set up on the first batch of epoch 0, before the optimizer is built."""
        if self.objective.is_setup:
            return
        first = epoch_batches(len(self.train), self.cfg["batch_size"], self.cfg["seed"], 0, self.min_batch)[0]
        self.objective.setup(self._to_device(self.dataset.batch(shard(first, self.ctx))))
        self.objective.to(self.device)

    def _to_device(self, batch: dict) -> dict:
        return {k: v.to(self.device, non_blocking=True) for k, v in batch.items()}

    def _wrap_ddp(self) -> nn.Module:
        if not self.ctx.enabled:
            return self.objective
        model_params = {id(p) for p in self.model.parameters()}
        if not model_params <= {id(p) for p in self.objective.parameters()}:
            raise ConfigError(
                "under DDP the objective must hold the model as a submodule (its gradients are synced "
                "through the objective)"
            )
        ids = [self.ctx.local_rank] if self.device.type == "cuda" else None
        return DistributedDataParallel(self.objective, device_ids=ids)

    # ------------------------------------------------------------------ checkpoints
    def _extra_state(self) -> dict:
        extra = {
            "rng": rng_state(),
            "data_order": {"seed": self.cfg["seed"], "next_epoch": len(self.history)},
            "best_epoch": self.best_epoch,
            "best_metric": self.best_metric,
            "bad_epochs": self.bad_epochs,
            "stopped": self.stopped,
            "objective_state": _state_not_in(self.objective, self.model),
        }
        if self.scaler is not None:
            extra["scaler"] = self.scaler.state_dict()
        return extra

    def _save(self, name: str, metrics: dict) -> None:
        if not self.writes:
            return
        last = name == LAST
        save_checkpoint(
            self.dir / name,
            model=self.model,
            optimizer=self.optimizer if last else None,
            scheduler=self.scheduler if last else None,
            epoch=len(self.history) if last else self.best_epoch,
            history=self.history,
            config=self.cfg,
            data_fingerprint=self.data_fp,
            data_digest=self.data_digest,
            metrics=metrics,
            # best.pt keeps the objective's learnable parts (projection heads, MHCA) of that epoch
            extra_state=self._extra_state() if last else {"objective_state": _state_not_in(self.objective, self.model)},
        )

    def resume(self) -> None:
        """Continue from ``last.pt`` (same training config and data, else CheckpointError)."""
        path = self.dir / LAST
        payload = load_checkpoint(path, self.model, map_location=self.device)
        differ = sorted(
            k for k in set(self.cfg) | set(payload["config"]) if self.cfg.get(k) != payload["config"].get(k)
        )
        if differ:
            raise CheckpointError(
                f"checkpoint {path} was written with another training config (differs in {differ}); "
                "pass resume=False or another checkpoint_dir"
            )
        if payload["data_fingerprint"] != self.data_fp:
            raise CheckpointError(
                f"checkpoint {path} was trained on other data (fingerprint {payload['data_fingerprint']} "
                f"vs {self.data_fp}); pass resume=False or another checkpoint_dir"
            )
        extra = payload["extra_state"]
        self.objective.load_state_dict(extra["objective_state"], strict=False)
        self.optimizer.load_state_dict(payload["optimizer"])
        if self.scheduler is not None:
            self.scheduler.load_state_dict(payload["scheduler"])
        if self.scaler is not None and "scaler" in extra:
            self.scaler.load_state_dict(extra["scaler"])
        set_rng_state(extra["rng"])
        self.history = History(payload["history"])
        self.start_epoch = payload["epoch"]
        self.best_epoch, self.best_metric = extra["best_epoch"], extra["best_metric"]
        self.bad_epochs, self.stopped = extra["bad_epochs"], extra["stopped"]
        if self.best_epoch:
            self.best_state = load_checkpoint(self.dir / BEST, map_location="cpu")["model_state"]

    # ------------------------------------------------------------------ one epoch
    def _step(self, epoch: int, step: int, items: np.ndarray) -> torch.Tensor:
        batch = self._to_device(self.dataset.batch(shard(items, self.ctx)))
        with self.autocast:
            losses = self.runner(batch)
        if not isinstance(losses, dict) or "total" not in losses:
            raise ConfigError(
                f"the objective must return a dict of named losses including 'total'; got {type(losses).__name__}"
                + (f" with keys {sorted(losses)}" if isinstance(losses, dict) else "")
            )
        values = torch.stack([v.detach().float().reshape(()) for v in losses.values()])
        finite = torch.isfinite(values)
        if broadcast_flag(not bool(finite.all()), self.ctx):
            self._raise_non_finite(epoch, step, losses, finite)
        self.optimizer.zero_grad(set_to_none=True)
        total = losses["total"]
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            total.backward()
        if self.cfg["max_grad_norm"] is not None:
            torch.nn.utils.clip_grad_norm_(self.params, self.cfg["max_grad_norm"])
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        self._names = list(losses)
        return values

    def _raise_non_finite(self, epoch: int, step: int, losses: dict, finite: torch.Tensor):
        bad = [(name, float(v.detach())) for (name, v), ok in zip(losses.items(), finite.tolist()) if not ok]
        what = ", ".join(f"{name}={value}" for name, value in bad) or "a loss term on another process"
        if self.dir is None:
            saved = "no checkpoint_dir was given"
        elif (self.dir / LAST).exists():
            saved = f"the last good checkpoint ({len(self.history)} epochs) is {self.dir / LAST}"
        else:
            saved = "no epoch finished, so there is no checkpoint yet"
        raise TrainingError(f"non-finite loss at epoch {epoch + 1}, step {step + 1}: {what}; {saved}")

    def train_epoch(self, epoch: int) -> dict:
        set_train_mode(self.objective)
        self.dataset.set_epoch(epoch)
        batches = epoch_batches(len(self.train), self.cfg["batch_size"], self.cfg["seed"], epoch, self.min_batch)
        sums, count = None, 0
        for step, items in enumerate(progress(batches, desc=f"epoch {epoch + 1}", leave=False, enabled=self.progress)):
            values = self._step(epoch, step, items)
            n = len(shard(items, self.ctx))
            sums = values * n if sums is None else sums + values * n
            count += n
        totals = torch.cat([sums.cpu(), torch.tensor([float(count)])])
        if self.ctx.enabled:
            torch.distributed.all_reduce(totals)
        return {f"train_{name}": float(v) for name, v in zip(self._names, totals[:-1] / totals[-1])}

    def validate(self) -> dict:
        self.model.eval()
        with torch.inference_mode():  # e.g. the restoration objective's (a regression, not a classifier)
            custom = self.objective.validation_metrics(self.model, self.val)
        if custom is not None:
            return custom
        crop, stride = self.cfg["crop_seconds"], self.cfg["crop_stride_seconds"] or self.cfg["crop_seconds"] / 2
        p = predict(
            self.model,
            self.val,
            input_leads=self.cfg["input_leads"],
            window_seconds=crop,
            stride_seconds=stride,
            batch_size=2 * self.cfg["batch_size"],
            device=self.device,
        )
        return {"val_macro_auc": macro_auc(self.val.labels, p), "val_map": average_precision_macro(self.val.labels, p)}

    def run(self) -> FitResult:
        epochs, monitor, patience = self.cfg["epochs"], self.cfg["monitor"], self.cfg["patience"]
        bar = progress(
            range(self.start_epoch, epochs), initial=self.start_epoch, total=epochs, desc="fit", enabled=self.progress
        )
        for epoch in bar:
            if self.stopped:
                break
            t0 = time.perf_counter()
            row = {
                "epoch": epoch + 1,
                **self.train_epoch(epoch),
                **self.validate(),
                "lr": self.optimizer.param_groups[0]["lr"],
            }
            row["seconds"] = time.perf_counter() - t0
            self.history.append(row)
            metric = row[monitor]
            if self.best_epoch == 0 or (
                not math.isnan(metric) and (math.isnan(self.best_metric) or metric > self.best_metric)
            ):
                self.best_epoch, self.best_metric, self.bad_epochs = epoch + 1, metric, 0
                self.best_state = _cpu_copy(unwrap(self.model).state_dict())
                self._save(BEST, {monitor: metric, "best_epoch": self.best_epoch})
            else:
                self.bad_epochs += 1
            self.stopped = patience is not None and self.bad_epochs >= patience
            self._save(LAST, {k: v for k, v in row.items() if k.startswith("val_")})
            bar.set_postfix(loss=f"{row['train_total']:.4f}", **{monitor: f"{metric:.4f}"}, best=self.best_epoch)
        bar.close()
        if self.best_state is None:
            raise TrainingError("fit finished without a completed epoch")
        unwrap(self.model).load_state_dict(self.best_state)
        self.model.eval()
        self._save(BEST, {monitor: self.best_metric, "best_epoch": self.best_epoch})  # now with the full history
        return FitResult(
            self.model, self.history, self.best_epoch, self.best_metric, None if self.dir is None else self.dir / BEST
        )


def _run_record(config: TrainConfig, train: ECGData, objective, labeled) -> dict:
    """The JSON-able record of a run saved beside every checkpoint (a resume must match it): the
    config's key fields, the resolved input leads and crop sizes in samples, the objective's class
    and the labeled mask's fingerprint. ConfigError for a monitor the objective does not offer."""
    monitors = MONITORS if objective is None or objective.monitors is None else tuple(objective.monitors)
    if config.monitor not in monitors:
        raise ConfigError(f"monitor {config.monitor!r} is unknown; choose one of {list(monitors)}")
    lead_idx = input_lead_indices(train, config.input_leads)
    stride = config.crop_stride_seconds
    return {
        **config.key_dict(),
        "input_leads": [train.leads[i] for i in lead_idx],
        "crop_samples": seconds_to_samples(config.crop_seconds, train.fs, "crop_seconds"),
        "crop_stride_samples": None if stride is None else seconds_to_samples(stride, train.fs, "crop_stride_seconds"),
        "objective": type(objective).__name__ if objective is not None else SupervisedObjective.__name__,
        "labeled": None if labeled is None else fingerprint(np.asarray(labeled)),
    }


def fit(
    model: nn.Module,
    train: ECGData,
    val: ECGData,
    config: TrainConfig | None = None,
    *,
    objective: nn.Module | None = None,
    labeled: np.ndarray | None = None,
    checkpoint_dir=None,
    resume: bool = True,
    **options,
) -> FitResult:
    """Train ``model`` on random grid crops of ``train``; validate on ``val`` every epoch.

    * Loss: ``objective(batch)["total"]`` (default ``SupervisedObjective``: BCE-with-logits on the
      labeled records); every named term is averaged per epoch into the history as ``train_<name>``.
      An objective with ``setup(batch)`` and ``is_setup=False`` (a Distiller) is set up on the first
      batch before the optimizer is built; fully frozen submodules (a teacher) stay in eval mode.
    * AdamW(lr, weight_decay) over the trainable parameters of model and objective; ``scheduler``
      "onecycle" (max lr = ``lr``), "cosine" or "constant", stepped per batch; optional gradient
      clipping at ``max_grad_norm``; bf16/fp16 autocast (+ GradScaler for fp16) on CUDA only.
    * Validation: ``predict`` with windows of ``crop_seconds`` and stride ``crop_stride_seconds``
      (default half a crop) -> ``val_macro_auc`` and ``val_map`` (an objective with
      ``validation_metrics(model, val) -> dict`` and ``monitors`` supplies its own, maximised); early stopping after ``patience``
      epochs without improvement of ``monitor``; the best weights are restored at the end.
    * ``checkpoint_dir``: ``last.pt`` every epoch (everything needed to resume) and ``best.pt``;
      with ``resume=True`` an existing ``last.pt`` is continued. Under ``torchrun`` the run is
      distributed (DDP, each process takes its share of every global batch of ``batch_size``).
    * Deterministic on CPU given ``seed`` (the model's initial weights are the caller's).
    * Settings: ``config`` (a ``TrainConfig``), or its fields as keywords (``epochs=10, lr=1e-3``),
      which also override a given ``config``.
    NaN/inf in an input lead of ``train`` or ``val`` -> BadSignalError naming the split and record,
    before any training; NaN/inf loss -> TrainingError naming epoch, step and term.
    """
    config = TrainConfig.from_options(config, **options)
    if objective is not None:
        check_objective(objective)
    device = resolve_device(config.device)
    cfg = _run_record(config, train, objective, labeled)
    if val.classes != train.classes or val.leads != train.leads:
        raise ConfigError(f"val must have the classes and leads of train; got {val!r} vs {train!r}")
    lead_idx = input_lead_indices(train, config.input_leads)
    check_model_fits(model, train, lead_idx, "train")
    train.check_finite("the training split", lead_idx)
    val.check_finite("the validation split", lead_idx)
    if objective is None and labeled is not None and not np.asarray(labeled).any():
        raise ConfigError("labeled marks no training record; supervised training needs labels")
    seed_everything(config.seed, deterministic=device.type == "cpu")
    trainer = _Trainer(
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
