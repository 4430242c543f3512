"""The standard first cell of every notebook.

>>> from ecgkd_lite.notebook import setup_notebook
>>> ctx = setup_notebook(seed=0)          # doctest: +SKIP

It seeds python/numpy/torch, asks for deterministic kernels, fixes the torch thread count (so
numbers do not depend on how many cores the machine has; ``OMP_NUM_THREADS`` lowers it), sets plotting defaults, silences
third-party warnings that would clutter stored outputs, and reports the profile (``quick`` unless
``ECGKD_PROFILE=full``) and the synthetic data source ``ctx.source`` (generator v2 unless
``ECGKD_GENERATOR=v1``). Progress bars are on in an interactive session and off when
``ECGKD_PROGRESS=0`` (the suite runner and the test command set it) so stored outputs stay clean.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from .config import Profile, get_profile, notebook_source, reports_dir  # noqa: F401 (reports_dir: re-exported)
from .progress import progress_enabled
from .utils import seed_everything


@dataclass(frozen=True)
class NotebookContext:
    seed: int
    profile: Profile
    reports_dir: Path
    threads: int
    source: str = "synthetic_v2"

    def __repr__(self) -> str:
        return (
            f"NotebookContext(seed={self.seed}, profile={self.profile.name!r}, source={self.source!r}, "
            f"threads={self.threads})"
        )


def setup_notebook(
    seed: int = 0, profile: str | None = None, threads: int = 2, generator: str | None = None
) -> NotebookContext:
    """Seed everything, deterministic flags, plotting defaults, quiet warnings. Returns the context."""
    import matplotlib
    import torch

    source = notebook_source(generator)  # a bad ECGKD_GENERATOR fails before anything else
    seed_everything(seed, deterministic=True)
    limit = os.environ.get("OMP_NUM_THREADS", "")
    if limit.isdigit() and int(limit) >= 1:  # a machine-wide limit wins (shared machines)
        threads = min(threads, int(limit))
    torch.set_num_threads(threads)
    if not progress_enabled():
        os.environ["TQDM_DISABLE"] = "1"
    for category in (FutureWarning, DeprecationWarning, UserWarning, RuntimeWarning):
        warnings.filterwarnings("ignore", category=category)
    from tqdm import TqdmWarning  # "IProgress not found" when ipywidgets is absent

    warnings.filterwarnings("ignore", category=TqdmWarning)
    try:
        from numba import NumbaWarning  # umap compiles with numba

        warnings.filterwarnings("ignore", category=NumbaWarning)
    except ImportError:  # pragma: no cover
        pass
    logging.getLogger().setLevel(logging.WARNING)
    for noisy in ("matplotlib", "numba", "PIL"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    try:
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            ip.run_line_magic("matplotlib", "inline")
            ip.run_line_magic("config", "InlineBackend.figure_formats = ['png']")
    except ImportError:  # pragma: no cover
        pass
    matplotlib.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "figure.figsize": (9, 4),
            "axes.grid": True,
            "axes.axisbelow": True,  # the grid under bars and heatmap cells, never across them
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
        }
    )
    return NotebookContext(
        seed=seed, profile=get_profile(profile), reports_dir=reports_dir(), threads=threads, source=source
    )
