"""Where each synthetic condition shows: a counterfactual per-lead effect size.

For ``n_patients`` patients with no finding, render each condition switched on (noise off) and
compare with the same patient without it, lead by lead:

    effect[c, l] = median over patients of  RMS(x_on[l] - x_off[l]) / RMS(x_off[l])

A condition that lead I sees has a large ``effect[c, "I"]``; one hidden from lead I has a small
lead-I effect next to large effects in other leads. Rhythm conditions (AFIB, SBRAD, STACH, PVC)
move beats in time, so every lead changes: they are plain in any lead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..checks import check_int
from .conditions import CLASS_NAMES
from .leads import LEADS12


def lead_effects(n_patients: int = 32, fs: float = 100, seconds: float = 10.0, seed: int = 0) -> pd.DataFrame:
    """``(conditions x 12 leads)`` DataFrame of the relative per-lead change (see module doc)."""
    from .synthetic import record_params, render

    n_patients = check_int("n_patients", n_patients, low=1)
    base = record_params(n_patients, seed)
    base[list(CLASS_NAMES)] = 0
    base["NORM"] = 1
    off, _, _ = render(base, fs, seconds, noise=False)
    rms_off = np.sqrt((off.astype(np.float64) ** 2).mean(axis=2))
    rows = {}
    for code in CLASS_NAMES:
        if code == "NORM":
            continue
        p = base.copy()
        p[code] = 1
        p["NORM"] = 0
        on, _, _ = render(p, fs, seconds, noise=False)
        rms_diff = np.sqrt(((on.astype(np.float64) - off) ** 2).mean(axis=2))
        rows[code] = np.median(rms_diff / np.maximum(rms_off, 1e-9), axis=0)
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(LEADS12))
