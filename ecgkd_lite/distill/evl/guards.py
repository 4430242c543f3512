"""Collapse guards of the EVL-ECG terms: fixed teacher-side projections (MHCA values, OT) and the
token-variance guard (MHCA). Part of the code versions of the terms that use them."""

from __future__ import annotations

import torch
import torch.nn.functional as F


#: seed of the fixed teacher-side projections (a fixed seed: the same projection in every run)
PROJECTION_SEED = 0


def fixed_projection(out_dim: int, in_dim: int, seed: int = PROJECTION_SEED) -> torch.Tensor:
    """A frozen ``(out_dim, in_dim)`` map for teacher tokens: the identity when the widths match,
    else a random orthogonal matrix (orthonormal rows or columns, whichever is fewer) drawn from its
    own ``torch.Generator`` seeded with ``seed`` (the global RNG is untouched). QR of a float64
    Gaussian matrix with the signs of ``diag(R)`` fixed, so it is the same on every platform."""
    if out_dim == in_dim:
        return torch.eye(out_dim)
    gaussian = torch.randn(
        max(out_dim, in_dim), min(out_dim, in_dim), generator=torch.Generator().manual_seed(seed), dtype=torch.float64
    )
    q, r = torch.linalg.qr(gaussian)
    q = q * torch.where(torch.diagonal(r) < 0, -1.0, 1.0)
    return (q if out_dim > in_dim else q.t()).float().contiguous()


def variance_hinge(tokens: torch.Tensor, gamma: float, eps: float = 1e-4) -> tuple[torch.Tensor, torch.Tensor]:
    """VICReg-style variance guard (Bardes, Ponce & LeCun 2022) over the tokens of each record.

    For tokens ``X`` (B, N, D), per record ``b`` and dimension ``k``::

        std_bk = sqrt( Var_n(X_bnk) + eps )        population variance over the N tokens
        V      = mean_{b,k} max(0, gamma - std_bk)

    ``V = 0`` when ``std_bk >= gamma`` for every record and dimension; tokens collapsed to one
    vector give ``V = gamma - sqrt(eps)`` (for ``gamma > sqrt(eps)``). Returns ``(V, std)``
    with ``std`` (B, D).
    """
    std = (tokens.var(dim=1, unbiased=False) + eps).sqrt()
    return F.relu(gamma - std).mean(), std
