"""Checkpoints: atomic ``torch.save`` files loadable with ``weights_only=True``, plus a JSON beside them.

``<path>`` holds tensors and plain containers only (model / optimizer / scheduler state, epoch,
history, RNG states as tensors and lists); ``<path>.json`` repeats the human-readable part: model
config, training config, data fingerprint, metrics, epoch, history and the date.
"""

from __future__ import annotations

import io
import random
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CheckpointError
from ..utils import atomic_write_bytes, atomic_write_json

FORMAT_VERSION = 1
#: model-config keys that must agree between a checkpoint and the model it is loaded into
IDENTITY_KEYS = ("name", "size", "n_classes", "in_leads")


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside DistributedDataParallel / torch.compile wrappers."""
    while True:
        inner = getattr(model, "module", None) or getattr(model, "_orig_mod", None)
        if not isinstance(inner, nn.Module):
            return model
        model = inner


def model_config(model: nn.Module) -> dict:
    """``model.config`` (name, size, in_leads, n_classes, ...), else the class name."""
    model = unwrap(model)
    config = getattr(model, "config", None)
    if isinstance(config, dict):
        return dict(config)
    return {"name": getattr(model, "name", type(model).__name__)}


def sidecar_path(path: str | Path) -> Path:
    """``<path>.json``."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def rng_state() -> dict:
    """Python, numpy and torch (CPU and CUDA) RNG states, as tensors and lists only."""
    np_state = np.random.get_state()
    py_state = random.getstate()
    state = {
        "python": [py_state[0], list(py_state[1]), py_state[2]],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached_gaussian": float(np_state[4]),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Restore what ``rng_state`` saved."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    np_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached_gaussian"],
        )
    )
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(
    path: str | Path,
    *,
    model: nn.Module,
    optimizer=None,
    scheduler=None,
    epoch: int,
    history=None,
    config: dict,
    data_fingerprint: str,
    metrics: dict,
    extra_state: dict | None = None,
    data_digest: dict | None = None,
) -> Path:
    """Write a checkpoint atomically (``torch.save`` to bytes, then temp file + rename) and its JSON.

    ``data_fingerprint`` is the data's recipe key; ``data_digest`` (``{"train": ECGData.digest(),
    "val": ...}``) the cheap consistency check a later load compares with tolerance."""
    history_list = [] if history is None else [dict(row) for row in history]
    payload = {
        "format": FORMAT_VERSION,
        "model_config": model_config(model),
        "model_state": unwrap(model).state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "epoch": int(epoch),
        "history": history_list,
        "config": dict(config),
        "data_fingerprint": str(data_fingerprint),
        "data_digest": data_digest,
        "metrics": dict(metrics),
        "extra_state": extra_state,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    path = atomic_write_bytes(path, buf.getvalue())
    summary = {
        k: payload[k]
        for k in ("format", "model_config", "config", "data_fingerprint", "data_digest", "metrics", "epoch", "date")
    }
    summary["history"] = {"epochs": history_list}
    atomic_write_json(sidecar_path(path), summary)
    return path


def describe(config: dict) -> str:
    """``"resnet1d/small with 5 classes and 12 leads"``."""
    text = str(config.get("name", "?"))
    if config.get("size") is not None:
        text += f"/{config['size']}"
    parts = [f"{config[k]} {label}" for k, label in (("n_classes", "classes"), ("in_leads", "leads")) if k in config]
    return text + (" with " + " and ".join(parts) if parts else "")


def check_compatible(path: str | Path, saved: dict, expected: dict) -> None:
    """CheckpointError naming both sides when an identity key of the configs disagrees."""
    differ = [k for k in IDENTITY_KEYS if k in saved and k in expected and saved[k] != expected[k]]
    if differ:
        raise CheckpointError(
            f"checkpoint {path} is for {describe(saved)}; the model is {describe(expected)} (differs in {differ})"
        )


def load_checkpoint(
    path: str | Path, model: nn.Module | None = None, *, expect_config: dict | None = None, map_location="cpu"
) -> dict:
    """Read a checkpoint with ``weights_only=True``; load its weights into ``model`` if given.

    A missing, corrupt or truncated file, or one for another model (name, size, class count or
    lead count differ from ``model.config`` / ``expect_config``), raises CheckpointError naming it.
    Returns the payload dict (``model_state``, ``optimizer``, ``scheduler``, ``epoch``, ``history``,
    ``config``, ``data_fingerprint``, ``metrics``, ``extra_state``, ``model_config``, ``date``).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises several types for damaged zips / pickles
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({type(err).__name__}: {err})") from err
    if not isinstance(payload, dict) or "model_state" not in payload:
        raise CheckpointError(f"checkpoint {path} is not an ecgkd_lite checkpoint (no model_state)")
    saved = payload.get("model_config", {})
    if expect_config is not None:
        check_compatible(path, saved, expect_config)
    if model is not None:
        check_compatible(path, saved, model_config(model))
        try:
            unwrap(model).load_state_dict(payload["model_state"])
        except RuntimeError as err:
            raise CheckpointError(
                f"checkpoint {path} does not fit the model {describe(model_config(model))}: {err}"
            ) from err
    return payload
