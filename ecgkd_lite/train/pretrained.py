"""Pretrained weights shipped with the repository, for the notebooks (UvA-notebook style).

A notebook asks for a model through ``cached_fit``: it is loaded from the local cache if there,
otherwise from ``<repo>/pretrained/<run>/best.pt`` if the repository ships that exact run (the run
folder's name is ``<tag>-<cache key>``, and the key covers the model config, every fit argument, the
data fingerprints and the objective, so a shipped file is used only for the identical run),
otherwise trained. Every shipped file was produced by this code (``ecgkd pretrained export``,
from runs that ``ECGKD_RUN_LOG`` recorded while the notebooks executed). ``ECGKD_PRETRAINED=0``
turns the shortcut off, so a reviewer can retrain everything from scratch.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable

from ..config import REPO_ROOT
from ..errors import CheckpointError
from .checkpoint import sidecar_path
from .engine import BEST

#: where shipped runs live
PRETRAINED_DIR = REPO_ROOT / "pretrained"


def pretrained_enabled() -> bool:
    """False when ``ECGKD_PRETRAINED`` is ``0``/``false``/``no``."""
    return os.environ.get("ECGKD_PRETRAINED", "1").strip().lower() not in ("0", "false", "no")


def fetch_pretrained(run_dir: Path, root: Path | None = None) -> bool:
    """Copy ``best.pt`` and its JSON for run ``run_dir.name`` from the shipped folder into ``run_dir``.

    Returns True if it did; False when disabled or not shipped. A shipped run without its JSON
    raises CheckpointError (a half-shipped run must not pass silently).
    """
    if not pretrained_enabled():
        return False
    source = Path(root or PRETRAINED_DIR) / run_dir.name / BEST
    if not source.exists():
        return False
    if not sidecar_path(source).exists():
        raise CheckpointError(f"shipped run {source.parent} has {BEST} but not {sidecar_path(source).name}")
    run_dir.mkdir(parents=True, exist_ok=True)
    for path in (source, sidecar_path(source)):
        shutil.copy2(path, run_dir / path.name)
    return True


#: how a run was obtained, as ``record_run`` writes it
RUN_STATUSES = ("cached", "shipped", "trained")


def record_run(run_dir: Path, status: str) -> None:
    """Append ``<run folder name> <status>`` to ``$ECGKD_RUN_LOG`` (if set): what a notebook used
    and how: ``cached`` (found in the local cache), ``shipped`` (copied from ``pretrained/``) or
    ``trained``."""
    if status not in RUN_STATUSES:
        raise ValueError(f"status must be one of {RUN_STATUSES}; got {status!r}")
    log = os.environ.get("ECGKD_RUN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"{run_dir.name} {status}\n")


def read_run_log(path: str | os.PathLike) -> list[tuple[str, str]]:
    """``[(run name, status), ...]`` from a run log (a line without a status reads as ``"?"``)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if parts:
            out.append((parts[0], parts[1] if len(parts) > 1 else "?"))
    return out


#: runs larger than this are not shipped (the repository keeps no file over 5 MiB); they retrain
MAX_SHIPPED_BYTES = 5 * 2**20


def export_pretrained(
    run_names: Iterable[str], cache_root: Path, dest: Path | None = None, *, max_bytes: int = MAX_SHIPPED_BYTES
) -> tuple[list[Path], list[str]]:
    """Copy ``best.pt`` (+ JSON) of each named run from ``cache_root`` to the shipped folder.

    A run whose ``best.pt`` exceeds ``max_bytes`` is shipped with its floating-point tensors in
    half precision (``half_precision_copy``; its JSON says ``"shipped_precision": "float16"``),
    so loading it gives weights rounded to float16: execute the notebooks once more from the
    shipped runs (an empty cache) so their stored outputs come from what a user loads. Returns
    ``(written folders, skipped run names)``: skipped are runs too large even in half precision.
    """
    dest = Path(dest or PRETRAINED_DIR)
    written, skipped = [], []
    for name in dict.fromkeys(n.strip() for n in run_names if n.strip()):
        source = Path(cache_root) / name / BEST
        if not source.exists() or not sidecar_path(source).exists():
            raise CheckpointError(f"run {name!r} has no {BEST} (+ JSON) under {cache_root}; execute it first")
        (dest / name).mkdir(parents=True, exist_ok=True)
        if source.stat().st_size <= max_bytes:
            for path in (source, sidecar_path(source)):
                shutil.copy2(path, dest / name / path.name)
        elif not half_precision_copy(source, dest / name / BEST, max_bytes=max_bytes):
            shutil.rmtree(dest / name)
            skipped.append(name)
            continue
        written.append(dest / name)
    return written, skipped


def half_precision_copy(source: Path, target: Path, *, max_bytes: int) -> bool:
    """Write ``source`` (a ``best.pt``) to ``target`` with every float32/float64 tensor stored as
    float16, and its JSON with ``"shipped_precision": "float16"``; False (nothing written) if even
    that exceeds ``max_bytes``. Loading casts the weights back to the model's dtype."""
    import io
    import json

    import torch

    from ..utils import atomic_write_bytes, atomic_write_json

    payload = torch.load(source, map_location="cpu", weights_only=True)

    def half(obj):
        if isinstance(obj, torch.Tensor):
            return obj.half() if obj.dtype in (torch.float32, torch.float64) else obj
        if isinstance(obj, dict):
            return {k: half(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(half(v) for v in obj)
        return obj

    payload["model_state"] = half(payload["model_state"])
    payload["extra_state"] = half(payload.get("extra_state"))
    buf = io.BytesIO()
    torch.save(payload, buf)
    if buf.tell() > max_bytes:
        return False
    atomic_write_bytes(target, buf.getvalue())
    summary = json.loads(sidecar_path(source).read_text())
    summary["shipped_precision"] = "float16"
    atomic_write_json(sidecar_path(target), summary)
    return True
