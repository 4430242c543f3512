"""Train once, reuse everywhere: a model cache keyed by what determines the trained weights.

``cached_fit`` is how every notebook gets the teacher: the first call trains it (with checkpoints,
so an interrupted run resumes), later calls load ``best.pt`` instead of training.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Callable

import numpy as np
from torch import nn

from ..config import cache_dir
from ..data.container import ECGData, digest_problems
from ..errors import CheckpointError, ConfigError, DataError
from ..utils import fingerprint, seed_everything
from ..versions import key_versions, model_components
from .checkpoint import load_checkpoint, model_config, sidecar_path
from .config import TrainConfig
from .engine import BEST, LAST, FitResult, fit
from .history import History
from .pretrained import fetch_pretrained, record_run

log = logging.getLogger(__name__)


def cache_key(
    model: nn.Module,
    train: ECGData,
    val: ECGData,
    *,
    tag: str,
    config: TrainConfig,
    labeled: np.ndarray | None = None,
    objective_key: dict | None = None,
    labeled_per_batch: int | None = None,
    steps_per_epoch: int | None = None,
) -> str:
    """fingerprint(model config, training config (``TrainConfig.key_dict``: without progress and
    device), the labeled mask, train and val data keys, tag, versions of the model and engine
    code (plus the architecture's own component, ``versions.model_components``), objective key).

    Everything in it is a recipe: data keys come from how the data were made (``ECGData.key``), code
    enters through explicit versions (``ecgkd_lite.versions``), so the key is the same on every
    machine and changes when the code that trains the model changes."""
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"config must be a TrainConfig; got {type(config).__name__}")
    config_of_model = model_config(model)
    parts = [
        config_of_model,
        config.key_dict(),
        None if labeled is None else fingerprint(np.asarray(labeled, bool)),
        train.fingerprint(),
        val.fingerprint(),
        tag,
        key_versions("models", "engine", *model_components(str(config_of_model.get("name")))),
    ]
    if objective_key is not None:
        parts.append(json.loads(json.dumps(objective_key, default=_jsonable)))
    if labeled_per_batch is not None:
        batches = {"matched_batches": int(labeled_per_batch), "code": key_versions("matched_batches")}
        if steps_per_epoch is not None:
            batches["steps_per_epoch"] = int(steps_per_epoch)
        parts.append(batches)
    return fingerprint(*parts)


def check_data_digest(path: Path, stored: dict | None, train: ECGData, val: ECGData) -> None:
    """The cheap consistency check behind a recipe key: the run at ``path`` was trained on data
    whose digest (``ECGData.digest``) is ``stored``; DataError when today's data differ beyond
    float noise (same recipe, other data: a generator or reader changed without a version bump),
    a log line when they differ only in float noise (another CPU or library build)."""
    if not stored:
        return
    for name, data in (("train", train), ("val", val)):
        if name not in stored:
            continue
        problems, exact = digest_problems(stored[name], data.digest())
        if problems:
            raise DataError(
                f"run {path.parent.name} was trained on a {name} split with the same key ({data.key}) but "
                f"other data: {'; '.join(problems[:4])}. The code that makes this data set changed "
                "without a version bump (ecgkd_lite.versions); bump it so the key changes"
            )
        if not exact:
            log.info(
                "run %s: %s split matches its digest up to float noise (another CPU or library build)",
                path.parent.name,
                name,
            )


def run_finished(run_dir: Path) -> bool:
    """Whether ``run_dir`` holds a *finished* run. ``best.pt`` is written at every improvement, so an
    interrupted run (or one another process is still training) has one too; the run is finished
    when its ``last.pt`` history reached the epoch cap or ran ``patience`` epochs past its best
    epoch (the engine's stopping rule, read from ``last.pt``'s JSON). A folder without ``last.pt``
    (a shipped run: only finished runs are shipped) counts as finished."""
    last = sidecar_path(run_dir / LAST)
    if not (run_dir / LAST).exists() or not last.exists():
        return True
    try:
        summary = json.loads(last.read_text())
        history, cfg = summary["history"]["epochs"], summary["config"]
        values = [float(row[cfg["monitor"]]) for row in history]
        epochs, patience = int(cfg["epochs"]), cfg.get("patience")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{last} is unreadable ({err}); delete {run_dir} to train the run again") from err
    if len(values) >= epochs:
        return True
    best = 0  # the engine's rule: the first epoch, then only a strictly better, non-NaN score
    for i, v in enumerate(values[1:], start=1):
        if not np.isnan(v) and (np.isnan(values[best]) or v > values[best]):
            best = i
    return patience is not None and len(values) - 1 - best >= int(patience)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def cached_fit(
    model_factory: Callable[[], nn.Module],
    train: ECGData,
    val: ECGData,
    *,
    tag: str,
    config: TrainConfig,
    labeled: np.ndarray | None = None,
    cache_root=None,
    force: bool = False,
    objective_factory: Callable[[nn.Module], nn.Module] | None = None,
    objective_key: dict | None = None,
    labeled_per_batch: int | None = None,
    steps_per_epoch: int | None = None,
) -> FitResult:
    """``fit(model_factory(), train, val, config, labeled=labeled)`` unless an identical run is in the cache.

    The model is built after ``seed_everything(config.seed)`` so its initial weights
    follow the seed. The run lives in ``<cache_root or cache_dir("models")>/<tag>-<key>/``; if its
    ``best.pt`` exists (and not ``force``) it is loaded (``weights_only``) with its history from
    ``best.pt.json``; otherwise, if the repository ships that exact run (``train/pretrained.py``;
    ``ECGKD_PRETRAINED=0`` turns this off), it is copied in and loaded; otherwise the model is
    trained there (resuming a killed run).

    A distilled student passes ``objective_factory(model) -> objective`` (e.g. a Distiller) together
    with ``objective_key``, a JSON description of everything that shapes the objective (recipe,
    hyperparameters, the teacher's own cache key); both are required together.
    ``labeled_per_batch`` (with ``labeled``): train on matched batches of that many labeled records
    (``train.matched.fit_matched``; part of the key), ``steps_per_epoch`` steps an epoch if given.
    """
    if (objective_factory is None) != (objective_key is None):
        raise ConfigError("objective_factory and objective_key go together: the key says what the objective is")
    if not isinstance(tag, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", tag):
        raise ConfigError(f"tag must be a non-empty name of letters, digits, '_', '.', '-'; got {tag!r}")
    if not isinstance(config, TrainConfig):
        raise ConfigError(f"config must be a TrainConfig; got {type(config).__name__}")
    seed_everything(config.seed)
    model = model_factory()
    if steps_per_epoch is not None and labeled_per_batch is None:
        raise ConfigError("steps_per_epoch needs labeled_per_batch (it fixes the length of a matched epoch)")
    if labeled_per_batch is not None and labeled is None:
        raise ConfigError("labeled_per_batch needs labeled= (matched batches mix labeled and unlabeled records)")
    key = cache_key(
        model,
        train,
        val,
        tag=tag,
        config=config,
        labeled=labeled,
        objective_key=objective_key,
        labeled_per_batch=labeled_per_batch,
        steps_per_epoch=steps_per_epoch,
    )
    run_dir = Path(cache_root or cache_dir("models")) / f"{tag}-{key}"
    best = run_dir / BEST
    if not best.exists() and not force and fetch_pretrained(run_dir):
        status = "shipped"
    else:
        status = "cached" if best.exists() and not force else "trained"
    # an unfinished run (interrupted, or still training elsewhere) resumes from last.pt instead
    finished = best.exists() and not force and run_finished(run_dir)
    if status == "cached" and not finished:
        status = "trained"  # the rest of its epochs
    record_run(run_dir, status)
    if finished:
        payload = load_checkpoint(best, model)
        try:
            sidecar = json.loads(sidecar_path(best).read_text())
            history = History.from_dict(sidecar["history"])
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"checkpoint {best} has no readable history in {sidecar_path(best)}: {err}") from err
        check_data_digest(best, sidecar.get("data_digest"), train, val)
        return FitResult(model, history, payload["epoch"], payload["metrics"][config.monitor], best)
    objective = objective_factory(model) if objective_factory is not None else None
    if labeled_per_batch is not None:
        from .matched import fit_matched

        return fit_matched(
            model,
            train,
            val,
            config,
            labeled=np.asarray(labeled, bool),
            labeled_per_batch=labeled_per_batch,
            steps_per_epoch=steps_per_epoch,
            objective=objective,
            checkpoint_dir=run_dir,
            resume=not force,
        )
    return fit(
        model, train, val, config, objective=objective, labeled=labeled, checkpoint_dir=run_dir, resume=not force
    )
