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

#: fit arguments that do not change the trained weights (left out of the key)
NOT_IN_KEY = ("progress", "device")
#: fit arguments that cached_fit sets itself
OWNED = ("checkpoint_dir", "resume")


def cache_key(model: nn.Module, train: ECGData, val: ECGData, *, tag: str, fit_kwargs: dict) -> str:
    """fingerprint(model config, fit kwargs (minus progress/device), train and val fingerprints, tag)."""
    kwargs = {k: v for k, v in fit_kwargs.items() if k not in NOT_IN_KEY}
    try:
        json.dumps(kwargs, default=_jsonable)
    except TypeError as err:
        raise ConfigError(f"fit_kwargs must be JSON-like to form a cache key ({err}); an objective cannot be cached "
                          "by cached_fit") from err
    return fingerprint(model_config(model), json.loads(json.dumps(kwargs, default=_jsonable)), train.fingerprint(),
                       val.fingerprint(), tag)


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def cached_fit(model_factory: Callable[[], nn.Module], train: ECGData, val: ECGData, *, tag: str, fit_kwargs: dict,
               cache_root=None, force: bool = False) -> FitResult:
    """``fit(model_factory(), train, val, **fit_kwargs)`` unless an identical run is in the cache.

    The model is built after ``seed_everything(fit_kwargs.get("seed", 0))`` so its initial weights
    follow the seed. The run lives in ``<cache_root or cache_dir("models")>/<tag>-<key>/``; if its
    ``best.pt`` exists (and not ``force``) it is loaded (``weights_only``) with its history from
    ``best.pt.json``; otherwise the model is trained there (resuming a killed run).
    """
    if not isinstance(tag, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", tag):
        raise ConfigError(f"tag must be a non-empty name of letters, digits, '_', '.', '-'; got {tag!r}")
    owned = sorted(set(fit_kwargs) & set(OWNED))
    if owned:
        raise ConfigError(f"fit_kwargs must not set {owned}; cached_fit manages checkpoints itself")
    seed_everything(fit_kwargs.get("seed", 0))
    model = model_factory()
    run_dir = Path(cache_root or cache_dir("models")) / f"{tag}-{cache_key(model, train, val, tag=tag, fit_kwargs=fit_kwargs)}"
    best = run_dir / BEST
    if best.exists() and not force:
        payload = load_checkpoint(best, model)
        try:
            history = History.from_dict(json.loads(sidecar_path(best).read_text())["history"])
        except (OSError, ValueError, KeyError) as err:
            raise CheckpointError(f"checkpoint {best} has no readable history in {sidecar_path(best)}: {err}") from err
        monitor = fit_kwargs.get("monitor", "val_macro_auc")
        return FitResult(model, history, payload["epoch"], payload["metrics"][monitor], best)
    return fit(model, train, val, checkpoint_dir=run_dir, resume=not force, **fit_kwargs)
