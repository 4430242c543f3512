"""Progress bars: tqdm everywhere long work runs, switched off globally by ``ECGKD_PROGRESS=0``.

The suite runner and the test command set ``ECGKD_PROGRESS=0`` so executed notebooks store no
progress bars; an interactive session keeps them.
"""

from __future__ import annotations

import os
import warnings

with warnings.catch_warnings():  # "IProgress not found" (no ipywidgets): tqdm.auto falls back to text bars
    warnings.simplefilter("ignore")
    from tqdm.auto import tqdm


def progress_enabled() -> bool:
    """False when ``ECGKD_PROGRESS=0``."""
    return os.environ.get("ECGKD_PROGRESS", "1") != "0"


def progress(iterable=None, *, enabled: bool = True, **kwargs):
    """``tqdm(iterable, **kwargs)``, shown only when ``enabled`` and progress is globally on."""
    return tqdm(iterable, disable=not (enabled and progress_enabled()), **kwargs)
