"""Recompute the label numbers of the v2 synthetic generator from ptbxl-2k and print them.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/estimate_v2_prevalence.py [--root ../shared/data/ptbxl-2k]

Prints the observed prevalence of every synthetic class with a CinC counterpart
(``ecgkd_lite.data.synthetic_v2_tables.CINC_MAP``) and the tetrachoric correlations of the latent
dimensions (``LATENT``), in the form ``synthetic_v2_tables.py`` stores them; paste the output there.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtri
from scipy.stats import multivariate_normal

from ecgkd_lite.data import load_ptbxl_2k
from ecgkd_lite.data.synthetic_v2_tables import CINC_MAP, LATENT


def tetrachoric(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the bivariate normal whose thresholds reproduce the 2x2 table of ``a`` and
    ``b`` (0/1 arrays), with 0.5 added to every cell (Haldane)."""
    n11 = np.sum(a & b) + 0.5
    n10 = np.sum(a & ~b) + 0.5
    n01 = np.sum(~a & b) + 0.5
    n00 = np.sum(~a & ~b) + 0.5
    n = n11 + n10 + n01 + n00
    ta, tb = ndtri(1 - (n11 + n10) / n), ndtri(1 - (n11 + n01) / n)
    p11 = n11 / n

    def gap(rho: float) -> float:  # P(za > ta, zb > tb) - p11 = Phi2(-ta, -tb; rho) - p11
        return multivariate_normal.cdf([-ta, -tb], cov=[[1, rho], [rho, 1]]) - p11

    return float(brentq(gap, -0.999, 0.999))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default="../shared/data/ptbxl-2k")
    args = ap.parse_args()
    data = load_ptbxl_2k(args.root, min_positives=1)
    cols = {c: i for i, c in enumerate(data.classes)}
    y = data.labels > 0.5
    pos = {}
    for code, cinc in CINC_MAP.items():
        if cinc is None:
            continue
        present = [cols[c] for c in cinc if c in cols]
        pos[code] = y[:, present].any(1) if present else np.zeros(len(y), bool)
    n = len(y)
    print(f"# {n} labelled records")
    print("PTBXL2K_PREVALENCE: dict[str, float] = {")
    for code, v in pos.items():
        if v.sum():
            print(f'    "{code}": {v.mean():.4f},  # {int(v.sum())} positives')
    print("}")
    latent = {d: pos.get(d) for d in LATENT if d != "rate" and d in pos and pos[d].sum()}
    print("PTBXL2K_CORRELATION: dict[tuple[str, str], float] = {")
    names = list(latent)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            print(f'    ("{a}", "{b}"): {tetrachoric(latent[a], latent[b]):.3f},')
    for b in names:
        r = 0.5 * (tetrachoric(pos["STACH"], latent[b]) - tetrachoric(pos["SBRAD"], latent[b]))
        print(f'    ("rate", "{b}"): {r:.3f},')
    print("}")


if __name__ == "__main__":
    main()
