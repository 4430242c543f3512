"""SNOMED-CT diagnosis codes of the PhysioNet/CinC Challenge 2020/2021.

The table ``tables/snomed_ct.csv`` (code, abbreviation, name, scored, equivalent_to) is built by
``data_scripts/build_snomed_table.py`` from the Challenge's ``labels_scored.csv`` and
``labels_unscored.csv``. Codes the Challenge scores as the same diagnosis map to one canonical code
(``equivalent_to``): 713427006 -> 59118001 (RBBB), 63593006 -> 284470004 (PAC),
17338001 -> 427172004 (PVC), 733534002 -> 164909002 (LBBB).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from ..errors import ConfigError

TABLE_PATH = Path(__file__).with_name("tables") / "snomed_ct.csv"


class SnomedTable:
    """Lookup of SNOMED-CT codes: canonical code, abbreviation, name."""

    def __init__(self, frame: pd.DataFrame):
        frame = frame.astype({"code": str, "abbreviation": str, "name": str}).fillna({"equivalent_to": ""})
        self.frame = frame.set_index("code", drop=False)
        self._canonical = {c: (e or c) for c, e in zip(frame["code"], frame["equivalent_to"].astype(str))}
        self._by_abbreviation = {a.lower(): self._canonical[c] for c, a in zip(frame["code"], frame["abbreviation"])}

    @classmethod
    def load(cls, path: str | Path = TABLE_PATH) -> "SnomedTable":
        return cls(pd.read_csv(path, dtype={"code": str, "equivalent_to": str}, keep_default_na=False))

    def __contains__(self, code: object) -> bool:
        return str(code).strip() in self._canonical

    def __len__(self) -> int:
        return len(self._canonical)

    def canonical(self, code: str) -> str:
        """The code ``code`` is scored as (itself unless it has an equivalent); KeyError if unknown."""
        return self._canonical[str(code).strip()]

    def abbreviation(self, code: str) -> str:
        return str(self.frame.at[str(code).strip(), "abbreviation"])

    def name(self, code: str) -> str:
        return str(self.frame.at[str(code).strip(), "name"])

    def resolve(self, label: str) -> str:
        """Canonical code for an abbreviation (case-insensitive) or a code; ConfigError if unknown."""
        key = str(label).strip()
        if key in self._canonical:
            return self._canonical[key]
        if key.lower() in self._by_abbreviation:
            return self._by_abbreviation[key.lower()]
        raise ConfigError(f"class {label!r} is neither a SNOMED-CT code nor an abbreviation in {TABLE_PATH.name}")


@lru_cache(maxsize=1)
def snomed_table() -> SnomedTable:
    """The package's table (loaded once)."""
    return SnomedTable.load()
