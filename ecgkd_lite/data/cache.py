"""On-disk cache of parsed data sets, shared by the real-data readers.

A parsed ``ECGData`` is stored with ``ECGData.save`` under ``cache_dir("datasets")`` as
``<reader>-<key>.npz``. The key is a fingerprint of the reader name, the resolved root, the reader's
parameters and the ``(relative path, size, mtime_ns)`` of every source file, so editing, replacing or
adding a file, or changing a parameter, misses the cache. An unreadable cache file is rebuilt.

The parsed set's identity (``ECGData.key``) is another matter: it must be the same on every
machine, so it is ``source_key``: the reader's name and code version, its parameters and the
SHA-256 of every source file (by path relative to the root), never paths, dates or float bytes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable, Iterable

from ..config import cache_dir
from ..utils import fingerprint, sha256_file
from ..versions import key_versions
from .container import ECGData

log = logging.getLogger(__name__)


def file_listing(root: Path, files: Iterable[Path]) -> list[tuple[str, int, int]]:
    """``[(path relative to root, size, mtime_ns), ...]`` sorted by path (missing files skipped)."""
    out = []
    for f in files:
        try:
            st = f.stat()
        except FileNotFoundError:
            continue
        out.append((f.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return sorted(out)


def cache_path(reader: str, root: Path, params: dict, files: Iterable[Path]) -> Path:
    """Where the data set read by ``reader`` from ``root`` with ``params`` is cached."""
    root = Path(root).resolve()
    key = fingerprint(reader, str(root), params, file_listing(root, (Path(f).resolve() for f in files)))
    return cache_dir("datasets") / f"{reader}-{key}.npz"


def source_key(reader: str, root: Path, params: dict, files: Iterable[Path]) -> str:
    """The identity of a data set parsed by ``reader``: reader name and code version, parameters,
    and ``(relative path, SHA-256)`` of every source file."""
    root = Path(root).resolve()
    sums = sorted((Path(f).resolve().relative_to(root).as_posix(), sha256_file(f)) for f in files if Path(f).exists())
    return fingerprint(reader, key_versions("readers"), params, sums)


def cached(
    reader: str, root: Path, params: dict, files: Iterable[Path], build: Callable[[], ECGData], *, enabled: bool = True
) -> ECGData:
    """``build()`` once, then read the saved copy while nothing in the key changes.

    ``enabled=False`` always calls ``build()`` and writes nothing.
    """
    if not enabled:
        data = build()
        data.key = source_key(reader, root, params, files)
        return data
    files = list(files)
    path = cache_path(reader, root, params, files)
    if path.exists():
        try:
            data = ECGData.load(path)
        except Exception as exc:  # a broken cache file is never fatal: parse again
            log.warning("cache file %s is unreadable (%s); parsing %s again", path, exc, root)
        else:
            log.info("%s: read %d records from cache %s", reader, len(data), path)
            return data
    data = build()
    data.key = source_key(reader, root, params, files)
    data.save(path)
    log.info("%s: cached %d records at %s", reader, len(data), path)
    return data
