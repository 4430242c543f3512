"""Resumable, checksummed downloads of data set trees (urllib only; used by ``data_scripts/``).

* :func:`download_file`: one URL to one file. Bytes go to ``<dest>.part``; with ``resume`` a partial
  file is continued with an HTTP ``Range: bytes=<size>-`` request (a server that answers 200 instead
  of 206 is read again from the start). A file is renamed into place (atomically, ``os.replace``)
  only when complete: its size must equal the response's length and the expected ``size`` where
  known (a shorter body raises :class:`DownloadError` and keeps the partial file for a resume; a
  longer one removes it), and its SHA-256 the expected one (mismatch: the partial file is removed
  and :class:`ChecksumError` names the file). A 416 answer to a resume means "complete" only when
  the partial file has the remote size (``Content-Range: bytes */N`` or ``size``); otherwise the
  file is fetched again from the start. A connection lost mid-body is a DownloadError (resumable).
  ``http(s)://`` and ``file://`` URLs work.
* :func:`read_sha256sums` / :func:`verify_tree`: the ``sha256sum`` format PhysioNet publishes as
  ``SHA256SUMS.txt`` (``<hex>  <relative path>`` per line). A line whose path is absolute or climbs
  out of the tree (``..``) raises :class:`UnsafePathError` naming the line.
* :func:`download_tree`: many files below one base URL; files already present with the right
  checksum are skipped, and a plan (files, total size) is printed first. Before anything is
  fetched every path is checked to resolve inside ``dest`` (symbolic links included).
* :func:`download_release`: a PhysioNet release: its ``SHA256SUMS.txt`` is the manifest (file list
  and checksums); the files a filter selects are fetched with :func:`download_tree`. A manifest
  with an unsafe path is refused before anything (the manifest included) is written.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from ..errors import ECGKDError, MissingFileError, RecordError
from ..progress import progress as progress_bar
from ..utils import atomic_write_bytes, sha256_file

CHUNK = 1 << 16
_SUM_LINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


class DownloadError(ECGKDError, OSError):
    """A URL cannot be fetched (network error, HTTP error, short read)."""


class ChecksumError(RecordError):
    """A file's SHA-256 differs from the expected one (``record`` is the file)."""


class UnsafePathError(RecordError):
    """A manifest path is absolute or resolves outside the destination (``record``: the manifest
    and line, or the path)."""


def unsafe_path_problem(name: str) -> str | None:
    """Why the relative path ``name`` could leave the folder it is joined to (None if it cannot):
    absolute (``/x``, ``\\x``, ``C:x``), a ``..`` component, or a NUL byte."""
    if "\0" in name:
        return "contains a NUL byte"
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name):
        return "is absolute"
    if ".." in re.split(r"[/\\]", name):
        return "has a '..' component"
    return None


def check_inside(dest: str | Path, files: Iterable[str]) -> None:
    """UnsafePathError naming the first of ``files`` that resolves outside ``dest`` (a ``..`` or an
    absolute path, or a symbolic link below ``dest`` that points elsewhere)."""
    root = Path(dest).resolve()
    for f in files:
        problem = unsafe_path_problem(f)
        target = None if problem else (root / f).resolve()
        if target is not None and target != root and root not in target.parents:
            problem = f"resolves to {target}"
        if problem is not None:
            raise UnsafePathError(f, f"{problem}: outside the destination {root}; nothing was downloaded")


# ---------------------------------------------------------------------------------------- checksums
def read_sha256sums(path: str | Path) -> dict[str, str]:
    """``{relative path: sha256 hex}`` from a ``sha256sum``-format file; RecordError on a bad line."""
    path = Path(path)
    if not path.exists():
        raise MissingFileError(str(path), "checksum list does not exist")
    return parse_sha256sums(path.read_text(), str(path))


def parse_sha256sums(text: str, source: str) -> dict[str, str]:
    """Parse ``sha256sum`` output (``<hex>  <path>`` or ``<hex> *<path>`` per line) read from ``source``."""
    sums = {}
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        m = _SUM_LINE.match(line.strip())
        if not m:
            raise RecordError(source, f"line {no} is not '<sha256>  <file>': {line[:80]!r}")
        name = m.group(2).removeprefix("./")
        problem = unsafe_path_problem(name)
        if problem is not None:
            raise UnsafePathError(
                f"{source} line {no}",
                f"path {name!r} {problem}: it would be written outside the "
                "destination folder; refused before downloading anything",
            )
        sums[name] = m.group(1).lower()
    return sums


def verify_tree(
    root: str | Path, sums: Mapping[str, str], files: Iterable[str] | None = None, *, progress: bool = False
) -> int:
    """Check ``files`` (relative paths; default: every file in ``sums``) below ``root``.

    Raises MissingFileError (file absent), RecordError (file not listed in ``sums``) or
    ChecksumError (digest differs), each naming the file. Returns the number of files checked.
    """
    root = Path(root)
    names = list(sums) if files is None else [Path(f).as_posix() for f in files]
    for name in progress_bar(names, desc="sha256", unit="file", enabled=progress):
        if name not in sums:
            raise RecordError(name, "is not listed in the checksum file (SHA256SUMS.txt)")
        if not (root / name).exists():
            raise MissingFileError(name, f"listed in the checksum file but missing below {root}")
        got = sha256_file(root / name)
        if got != sums[name]:
            raise ChecksumError(name, f"sha256 is {got}, the checksum file says {sums[name]}")
    return len(names)


# ---------------------------------------------------------------------------------------- one file
def download_file(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    size: int | None = None,
    resume: bool = True,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Fetch ``url`` to ``dest`` (resuming ``<dest>.part``), check the length (the response's and
    ``size`` where known) and ``sha256``, rename into place."""
    dest = Path(dest)
    if dest.exists() and sha256 is not None and sha256_file(dest) == sha256.lower():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if resume and part.exists() else 0
    _fetch_into(url, part, offset, size=size, progress=progress, timeout=timeout, label=dest.name)
    if sha256 is not None:
        got = sha256_file(part)
        if got != sha256.lower():
            part.unlink()
            raise ChecksumError(
                str(dest), f"downloaded from {url}: sha256 is {got}, expected {sha256.lower()} (partial file removed)"
            )
    os.replace(part, dest)
    return dest


def _fetch_into(
    url: str, part: Path, offset: int, *, size: int | None, progress: bool, timeout: float, label: str
) -> None:
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    resp = _open(url, headers, timeout, done_codes=(416,) if offset else ())
    if isinstance(resp, urllib.error.HTTPError):
        # 416 (range not satisfiable): the partial file is at least as long as the remote file. It is
        # complete only if it has the remote size; where that is unknown, fetch the file again.
        m = re.match(r"bytes \*/(\d+)", resp.headers.get("Content-Range", ""))
        resp.close()
        remote = int(m.group(1)) if m else size
        if remote is not None and remote == offset and size in (None, offset):
            return
        offset, resp = 0, _open(url, {}, timeout)
    with resp:
        if offset and not _resumes_at(resp, offset):
            offset = 0  # the server ignored the Range header: read everything again
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        try:
            with (
                open(part, "ab" if offset else "wb") as fh,
                progress_bar(
                    total=total, initial=offset, unit="B", unit_scale=True, desc=label, enabled=progress
                ) as bar,
            ):
                for block in iter(lambda: resp.read(CHUNK), b""):
                    fh.write(block)
                    bar.update(len(block))
        except (http.client.HTTPException, OSError) as exc:  # connection lost mid-body
            raise DownloadError(
                f"{url}: the transfer broke off after {part.stat().st_size} bytes "
                f"({type(exc).__name__}: {exc}); run again to resume"
            ) from None
    have = part.stat().st_size
    for expected, what in ((total, "the response's length"), (size, "the expected size")):
        if expected is not None and have != expected:
            if have > expected:
                part.unlink()
            raise DownloadError(
                f"{url}: got {have} bytes, {what} is {expected}; "
                + ("run again to resume" if have < expected else "partial file removed")
            )


def _resumes_at(resp, offset: int) -> bool:
    """True if ``resp`` is a 206 whose Content-Range starts at ``offset``."""
    if getattr(resp, "status", None) != 206:
        return False
    m = re.match(r"bytes (\d+)-", resp.headers.get("Content-Range", ""))
    return bool(m) and int(m.group(1)) == offset


def remote_size(url: str, timeout: float = 30.0) -> int | None:
    """Content-Length of ``url`` from a HEAD request (size on disk for ``file://``); None if unknown."""
    if url.startswith("file://"):
        path = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
        return path.stat().st_size if path.exists() else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout) as resp:
            length = resp.headers.get("Content-Length")
    except (urllib.error.URLError, OSError):
        return None
    return int(length) if length is not None else None


# ---------------------------------------------------------------------------------------- many files
def join_url(base_url: str, relpath: str) -> str:
    return base_url.rstrip("/") + "/" + urllib.parse.quote(Path(relpath).as_posix())


@dataclass
class Plan:
    """What :func:`download_tree` will do."""

    to_fetch: list[str]
    present: list[str]
    sizes: dict[str, int] = field(default_factory=dict)  # known sizes of files to fetch

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes.values())

    @property
    def unknown_sizes(self) -> int:
        return sum(1 for f in self.to_fetch if f not in self.sizes)

    def describe(self) -> str:
        text = (
            f"plan: {len(self.to_fetch)} files to download, {len(self.present)} already present "
            f"(checksum ok), {self.total_bytes / 1e6:.1f} MB"
        )
        return text + (f" + {self.unknown_sizes} files of unknown size" if self.unknown_sizes else "")


def plan_tree(
    base_url: str,
    files: Iterable[str],
    dest: str | Path,
    *,
    sums: Mapping[str, str] | None = None,
    sizes: Mapping[str, int] | None = None,
    head_limit: int = 200,
) -> Plan:
    """Split ``files`` into present (right checksum, or present at all where no checksum is known) and
    to fetch; sizes come from ``sizes`` (a manifest), else HEAD requests for at most ``head_limit`` files."""
    dest, sums, sizes = Path(dest), sums or {}, dict(sizes or {})
    present, to_fetch = [], []
    for f in files:
        path = dest / f
        ok = path.exists() and (f not in sums or sha256_file(path) == sums[f])
        (present if ok else to_fetch).append(f)
    for f in to_fetch[:head_limit]:
        if f not in sizes:
            size = remote_size(join_url(base_url, f))
            if size is not None:
                sizes[f] = size
    return Plan(to_fetch, present, {f: sizes[f] for f in to_fetch if f in sizes})


def download_tree(
    base_url: str,
    files: Iterable[str],
    dest: str | Path,
    *,
    sums: Mapping[str, str] | None = None,
    sizes: Mapping[str, int] | None = None,
    dry_run: bool = False,
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Plan:
    """Download ``files`` (paths relative to ``base_url``) into ``dest``; print the plan first.

    ``dry_run`` prints the plan and downloads nothing. UnsafePathError (nothing fetched) if a path
    resolves outside ``dest``. Returns the plan.
    """
    sums, files = sums or {}, list(files)
    check_inside(dest, files)
    plan = plan_tree(base_url, files, dest, sums=sums, sizes=sizes)
    echo(plan.describe())
    if dry_run:
        return plan
    for f in progress_bar(plan.to_fetch, desc="files", unit="file", enabled=progress and len(plan.to_fetch) >= 2):
        download_file(join_url(base_url, f), Path(dest) / f, sha256=sums.get(f), size=plan.sizes.get(f), progress=False)
    return plan


def _open(url: str, headers: Mapping[str, str] | None = None, timeout: float = 60.0, done_codes=()):
    """``urlopen`` with errors as DownloadError naming the URL; the HTTPError itself (a response
    with headers) for an HTTP status in ``done_codes``."""
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=dict(headers or {})), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code in done_codes:
            return exc
        raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"{url}: {getattr(exc, 'reason', exc)}") from None


def fetch_text(url: str, timeout: float = 60.0) -> str:
    """The body of ``url`` as text (small files such as a checksum list)."""
    with _open(url, timeout=timeout) as resp:
        return resp.read().decode("utf-8")


def download_release(
    base_url: str,
    dest: str | Path,
    select: Callable[[str], bool],
    *,
    dry_run: bool = False,
    sums_name: str = "SHA256SUMS.txt",
    progress: bool = True,
    echo: Callable[[str], None] = print,
) -> Plan:
    """Fetch the files of a PhysioNet release that ``select(relative path)`` keeps.

    The release's ``SHA256SUMS.txt`` is read first (saved into ``dest`` unless ``dry_run``); every
    selected file is checked against it. ``dry_run`` prints the plan and writes nothing. A manifest
    that names a path outside ``dest`` raises UnsafePathError (naming the line) before anything is
    written or fetched.
    """
    dest = Path(dest)
    url = join_url(base_url, sums_name)
    text = fetch_text(url)
    sums = parse_sha256sums(text, url)
    check_inside(dest, [sums_name, *sums])
    if not dry_run:
        atomic_write_bytes(dest / sums_name, text.encode())
    files = sorted(f for f in sums if select(f))
    echo(f"{base_url}: {len(files)} of {len(sums)} files in {sums_name} selected")
    return download_tree(base_url, files, dest, sums=sums, dry_run=dry_run, progress=progress, echo=echo)


def release_parser(doc: str, base_url: str) -> argparse.ArgumentParser:
    """The options every download script shares: ``--dest``, ``--base-url``, ``--dry-run``."""
    ap = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    ap.add_argument("--dest", required=True, help="folder to download into (the release root)")
    ap.add_argument("--base-url", default=base_url, help="release URL (http(s):// or file://)")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and size; download nothing")
    return ap
