"""Training history: one dict of numbers per epoch (``epoch``, ``train_<loss>``, ``val_*``, ``lr``, ``seconds``)."""

from __future__ import annotations

import math

import pandas as pd

from ..errors import ConfigError


class History(list):
    """A list of per-epoch dicts with helpers to tabulate, plot and serialise it."""

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch, indexed by ``epoch``."""
        frame = pd.DataFrame(list(self))
        return frame.set_index("epoch") if "epoch" in frame else frame

    def best(self, key: str) -> dict:
        """The epoch dict with the highest ``key``."""
        rows = [row for row in self if isinstance(row.get(key), (int, float)) and not math.isnan(row[key])]
        if not rows:
            raise ConfigError(f"history has no value for {key!r}; keys: {sorted(self.keys())}")
        return max(rows, key=lambda row: row[key])

    def keys(self) -> set[str]:
        return set().union(*self) if self else set()

    def plot(self, keys=None, ax=None):
        """Line plot of ``keys`` (default: every ``train_*`` and ``val_*`` entry) against the epoch;
        returns the figure."""
        import matplotlib.pyplot as plt

        frame = self.to_frame()
        if keys is None:
            keys = [k for k in frame.columns if k.startswith(("train_", "val_"))]
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise ConfigError(f"history has no {missing}; available: {list(frame.columns)}")
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        for key in keys:
            ax.plot(frame.index, frame[key], marker="o", label=key)
        ax.set_xlabel("epoch")
        ax.legend(frameon=False)
        return ax.figure

    def to_dict(self) -> dict:
        """``{"epochs": [...]}``, JSON-serialisable."""
        return {"epochs": [{k: _plain(v) for k, v in row.items()} for row in self]}

    @classmethod
    def from_dict(cls, payload: dict) -> "History":
        if not isinstance(payload, dict) or not isinstance(payload.get("epochs"), list):
            raise ConfigError("a history dict must look like {'epochs': [{...}, ...]}")
        return cls(dict(row) for row in payload["epochs"])


def _plain(value):
    """Python scalars for numpy / torch numbers."""
    return value.item() if hasattr(value, "item") else value
