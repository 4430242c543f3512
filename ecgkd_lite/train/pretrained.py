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


def record_run(run_dir: Path) -> None:
    """Append the run's folder name to ``$ECGKD_RUN_LOG`` (if set): what a notebook used."""
    log = os.environ.get("ECGKD_RUN_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(run_dir.name + "\n")


#: runs larger than this are not shipped (the repository keeps no file over 5 MiB); they retrain
MAX_SHIPPED_BYTES = 5 * 2**20


def export_pretrained(run_names: Iterable[str], cache_root: Path, dest: Path | None = None, *,
                      max_bytes: int = MAX_SHIPPED_BYTES) -> tuple[list[Path], list[str]]:
    """Copy ``best.pt`` (+ JSON) of each named run from ``cache_root`` to the shipped folder.

    Returns ``(written folders, skipped run names)``: a run whose ``best.pt`` exceeds ``max_bytes``
    is skipped (the notebook that uses it trains it instead).
    """
    dest = Path(dest or PRETRAINED_DIR)
    written, skipped = [], []
    for name in dict.fromkeys(n.strip() for n in run_names if n.strip()):
        source = Path(cache_root) / name / BEST
        if not source.exists() or not sidecar_path(source).exists():
            raise CheckpointError(f"run {name!r} has no {BEST} (+ JSON) under {cache_root}; execute it first")
        if source.stat().st_size > max_bytes:
            skipped.append(name)
            continue
        (dest / name).mkdir(parents=True, exist_ok=True)
        for path in (source, sidecar_path(source)):
            shutil.copy2(path, dest / name / path.name)
        written.append(dest / name)
    return written, skipped
