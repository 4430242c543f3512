"""The 12 standard leads and lead-name lookup."""

from __future__ import annotations

from typing import Iterable, Sequence

from ..errors import ConfigError

LEADS12: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
_CANON = {name.upper(): name for name in LEADS12}


def canonical_lead(name: str) -> str:
    """``'avr'`` -> ``'aVR'``; raises ConfigError naming the lead and the valid names."""
    key = str(name).strip().upper()
    if key not in _CANON:
        raise ConfigError(f"lead {name!r} is not a standard lead; choose from {list(LEADS12)}")
    return _CANON[key]


def lead_indices(names: str | Iterable[str], available: Sequence[str] = LEADS12) -> list[int]:
    """Indices of ``names`` (one name or several) within ``available``."""
    if isinstance(names, str):
        names = [names]
    names = [canonical_lead(n) for n in names]
    avail = [canonical_lead(a) for a in available]
    out = []
    for n in names:
        if n not in avail:
            raise ConfigError(f"lead {n!r} is not in this data set; available leads: {avail}")
        out.append(avail.index(n))
    if len(set(out)) != len(out):
        raise ConfigError(f"leads {names} name a lead twice")
    return out
