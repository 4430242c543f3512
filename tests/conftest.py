"""Shared fixtures. Real samples are read from ../shared/data and skipped with a reason where absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecgkd_lite.config import shared_data_dir


def _shared(sub: str) -> Path:
    path = shared_data_dir() / sub
    if not path.exists():
        pytest.skip(
            f"real sample data not found at {path} (set ECGKD_SHARED_DATA or place ../shared/data beside the repo)"
        )
    return path


@pytest.fixture(scope="session")
def ptbxl_root() -> Path:
    """``../shared/data/ptbxl-mini`` (PTB-XL records 1-400), or skip."""
    return _shared("ptbxl-mini")


@pytest.fixture(scope="session")
def challenge_root() -> Path:
    """``../shared/data/cinc2020-sample`` (28 Challenge 2020 records), or skip."""
    return _shared("cinc2020-sample")


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """The test session writes caches to a temp folder, never to the repo's .cache (session scope, so
    module-scoped fixtures that train models are isolated too)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("ECGKD_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    patch.setenv("ECGKD_PROGRESS", "0")
    yield
    patch.undo()
