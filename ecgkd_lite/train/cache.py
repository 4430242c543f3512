"""Train once, reuse everywhere: a model cache keyed by what determines the trained weights.

``cached_fit`` is how every notebook gets the teacher: the first call trains it (with checkpoints,
so an interrupted run resumes), later calls load ``best.pt`` instead of training.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Callable

from torch import nn

from ..config import cache_dir
from ..data.container import ECGData
from ..errors import CheckpointError, ConfigError
from ..utils import fingerprint, seed_everything
from .checkpoint import load_checkpoint, model_config, sidecar_path
from .engine import BEST, FitResult, fit
from .history import History
from .pretrained import fetch_pretrained, record_run

#: fit arguments that do not change the trained weights (left out of the key)
NOT_IN_KEY = ("progress", "device")
#: fit arguments that cached_fit sets itself
OWNED = ("checkpoint_dir", "resume")


def cache_key(model: nn.Module, train: ECGData, val: ECGData, *, tag: str, fit_kwargs: dict,
              objective_key: dict | None = None) -> str:
    """fingerprint(model config, fit kwargs (minus progress/device), train and val fingerprints, tag,
    objective key)."""
    kwargs = {k: v for k, v in fit_kwargs.items() if k not in NOT_IN_KEY}
    try:
        json.dumps(kwargs, default=_jsonable)
    except TypeError as err:
        raise ConfigError(f"fit_kwargs must be JSON-like to form a cache key ({err}); pass an objective "
                          "through objective_factory/objective_key instead") from err
    parts = [model_config(model), json.loads(json.dumps(kwargs, default=_jsonable)), train.fingerprint(),
             val.fingerprint(), tag]
    if objective_key is not None:
        parts.append(json.loads(json.dumps(objective_key, default=_jsonable)))
    return fingerprint(*parts)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def cached_fit(model_factory: Callable[[], nn.Module], train: ECGData, val: ECGData, *, tag: str, fit_kwargs: dict,
               cache_root=None, force: bool = False,
               objective_factory: Callable[[nn.Module], nn.Module] | None = None,
               objective_key: dict | None = None) -> FitResult:
    """``fit(model_factory(), train, val, **fit_kwargs)`` unless an identical run is in the cache.

    The model is built after ``seed_everything(fit_kwargs.get("seed", 0))`` so its initial weights
    follow the seed. The run lives in ``<cache_root or cache_dir("models")>/<tag>-<key>/``; if its
    ``best.pt`` exists (and not ``force``) it is loaded (``weights_only``) with its history from
    ``best.pt.json``; otherwise, if the repository ships that exact run (``train/pretrained.py``;
    ``ECGKD_PRETRAINED=0`` turns this off), it is copied in and loaded; otherwise the model is
    trained there (resuming a killed run).

    A distilled student passes ``objective_factory(model) -> objective`` (e.g. a Distiller) together
    with ``objective_key``, a JSON description of everything that shapes the objective (recipe,
    hyperparameters, the teacher's own cache key); both are required together.
    """
    if (objective_factory is None) != (objective_key is None):
        raise ConfigError("objective_factory and objective_key go together: the key says what the objective is")
    if not isinstance(tag, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", tag):
        raise ConfigError(f"tag must be a non-empty name of letters, digits, '_', '.', '-'; got {tag!r}")
    owned = sorted(set(fit_kwargs) & set(OWNED))
    if owned:
        raise ConfigError(f"fit_kwargs must not set {owned}; cached_fit manages checkpoints itself")
    seed_everything(fit_kwargs.get("seed", 0))
    model = model_factory()
    run_dir = Path(cache_root or cache_dir("models")) / f"{tag}-{cache_key(model, train, val, tag=tag, fit_kwargs=fit_kwargs, objective_key=objective_key)}"
    best = run_dir / BEST
    record_run(run_dir)
    if not best.exists() and not force:
        fetch_pretrained(run_dir)
    if best.exists() and not force:
        payload = load_checkpoint(best, model)
        try:
            history = History.from_dict(json.loads(sidecar_path(best).read_text())["history"])
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"checkpoint {best} has no readable history in {sidecar_path(best)}: {err}") from err
        monitor = fit_kwargs.get("monitor", "val_macro_auc")
        return FitResult(model, history, payload["epoch"], payload["metrics"][monitor], best)
    objective = objective_factory(model) if objective_factory is not None else None
    return fit(model, train, val, objective=objective, checkpoint_dir=run_dir, resume=not force, **fit_kwargs)
