"""Profiles and paths.

The *quick* profile (default) runs on a laptop CPU in minutes on the embedded synthetic data; the
*full* profile is meant for real data and a GPU; the *ptbxl2k* profile is the cross-validated real
benchmark's budget (``bench/cv.py``) and *converged* the same rule on the quick synthetic data: every
model trains until validation stops improving. Choose with ``ECGKD_PROFILE=quick|full`` or pass
``profile=`` to the functions that take one. Cached models and parsed data sets live under
``ECGKD_CACHE`` (default: ``<repo>/.cache`` for a source checkout, else ``~/.cache/ecgkd_lite``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, asdict, replace
from pathlib import Path

from .errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Profile:
    name: str
    n_records: int  # synthetic records generated for the benchmark data set
    fs: int  # sampling rate models see (Hz)
    seconds: float  # record length (s)
    crop_seconds: float  # random training crop (PTB-XL benchmark convention)
    batch_size: int
    teacher_epochs: int  # epochs (the cap when ``patience`` is set)
    student_epochs: int
    seeds: int  # seeds in the benchmark
    lr: float = 3e-3  # AdamW learning rate (the one-cycle maximum)
    scheduler: str = "onecycle"  # train.config.SCHEDULERS
    patience: int | None = None  # early stopping: epochs without a better validation macro AUC

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> "Profile":
        return replace(self, **changes)


PROFILES: dict[str, Profile] = {
    "quick": Profile(
        "quick",
        n_records=6000,
        fs=100,
        seconds=10.0,
        crop_seconds=2.5,
        batch_size=128,
        teacher_epochs=8,
        student_epochs=6,
        seeds=3,
    ),
    "full": Profile(
        "full",
        n_records=40000,
        fs=100,
        seconds=10.0,
        crop_seconds=2.5,
        batch_size=128,
        teacher_epochs=60,
        student_epochs=50,
        seeds=4,
    ),
    # the converged synthetic benchmark (``bench/cv.py``, ``--profile converged``): the quick data,
    # the ptbxl2k rule (constant learning rate, early stopping after 10 epochs without a better
    # validation macro AUC), at most 100 epochs (a probe's lead-I baseline was still improving at 60), 5 seeds
    "converged": Profile(
        "converged",
        n_records=6000,
        fs=100,
        seconds=10.0,
        crop_seconds=2.5,
        batch_size=128,
        teacher_epochs=100,
        student_epochs=100,
        seeds=5,
        lr=3e-3,
        scheduler="constant",
        patience=10,
    ),
    # real records (ptbxl-2k at 100 Hz): constant learning rate, early stopping after 10 epochs
    # without a better validation macro AUC, at most 80 epochs; the same rule for every model
    "ptbxl2k": Profile(
        "ptbxl2k",
        n_records=0,
        fs=100,
        seconds=10.0,
        crop_seconds=2.5,
        batch_size=128,
        teacher_epochs=80,
        student_epochs=80,
        seeds=3,
        lr=3e-3,
        scheduler="constant",
        patience=10,
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """The profile called ``name``, else ``$ECGKD_PROFILE``, else ``quick``."""
    name = name or os.environ.get("ECGKD_PROFILE", "quick")
    if name not in PROFILES:
        raise ConfigError(f"profile={name!r} is unknown; choose one of {sorted(PROFILES)}")
    return PROFILES[name]


#: the synthetic generator behind each ``ECGKD_GENERATOR`` value: the data source name of ``experiment.prepare``
GENERATORS = {"v1": "synthetic", "v2": "synthetic_v2"}
#: data source -> its name in prose ("generator v1" / "generator v2")
GENERATOR_NAMES = {source: f"generator {g}" for g, source in GENERATORS.items()}
#: the generator the notebooks and the suite use: v2 (label noise, borderline records, graded
#: lead-I visibility, co-occurrence and a long tail; calibrated against ptbxl-2k)
DEFAULT_GENERATOR = "v2"


def notebook_source(generator: str | None = None) -> str:
    """The synthetic data source of the notebooks: ``generator``, else ``$ECGKD_GENERATOR``, else
    ``DEFAULT_GENERATOR`` (``v1`` selects the noise-free generator of the first release)."""
    generator = generator or os.environ.get("ECGKD_GENERATOR", DEFAULT_GENERATOR)
    if generator not in GENERATORS:
        raise ConfigError(f"generator={generator!r} is unknown (ECGKD_GENERATOR); choose one of {sorted(GENERATORS)}")
    return GENERATORS[generator]


def cache_dir(*parts: str) -> Path:
    """A folder under the cache root (created)."""
    root = os.environ.get("ECGKD_CACHE")
    if root:
        base = Path(root)
    elif (REPO_ROOT / "pyproject.toml").exists():
        base = REPO_ROOT / ".cache"
    else:
        base = Path.home() / ".cache" / "ecgkd_lite"
    path = base.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_data_dir() -> Path:
    """Where the real sample data sets live (``../shared/data`` beside the checkout)."""
    env = os.environ.get("ECGKD_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def reports_dir() -> Path:
    """Where figures and tables go (``$ECGKD_REPORTS`` or ``<repo>/reports``); created, with ``figures/``."""
    path = Path(os.environ.get("ECGKD_REPORTS", REPO_ROOT / "reports"))
    (path / "figures").mkdir(parents=True, exist_ok=True)
    return path
