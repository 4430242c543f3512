"""Teacher outputs cached per crop, so the frozen teacher runs once per distinct crop.

Entries are keyed by ``(record index, crop start)`` (the batch fields ``"index"`` and
``"start"``) and hold the teacher's logits and requested features for that crop, stored as
**float16 on the CPU** (half the memory of float32; a logit or BN-scaled feature rounds to about
3 significant digits, well inside what a KD loss can tell apart). Reads are cast back to float32.

The crop grid of ``precompute`` is ``start = 0, stride, 2 * stride, ...`` while
``start + crop_samples <= T``; a data loader that draws crops from the same grid hits the cache
every time, any other crop is a miss and the distiller runs the teacher for it.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..data.windows import window_starts
from ..errors import CheckpointError, ConfigError
from ..progress import progress
from ..utils import atomic_write_bytes
from .capture import forward_features

STORE_DTYPE = torch.float16
FORMAT_VERSION = 1


def crop_starts(n_samples: int, crop_samples: int, crop_stride: int) -> np.ndarray:
    """Start samples of the crop grid over a record of ``n_samples`` samples: exactly the grid the
    training engine draws its crops from (``ecgkd_lite.data.windows.window_starts``)."""
    if crop_samples <= 0 or crop_stride <= 0:
        raise ConfigError(f"crop_samples and crop_stride must be > 0; got {crop_samples}, {crop_stride}")
    if crop_samples > n_samples:
        raise ConfigError(f"crop_samples={crop_samples} exceeds the record length {n_samples}")
    return window_starts(n_samples, crop_samples, crop_stride)


class TeacherCache:
    """Cached teacher outputs for ``features`` (always including ``"logits"``)."""

    def __init__(
        self, features: Iterable[str] = ("logits",), leads: Sequence[int] | None = None, meta: dict | None = None
    ):
        self.features = tuple(sorted(set(features) | {"logits"}))
        self.leads = None if leads is None else [int(i) for i in leads]
        self.meta = dict(meta or {})
        self._rows: dict[tuple[int, int], int] = {}
        self._data: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, key: tuple[int, int]) -> bool:
        return (int(key[0]), int(key[1])) in self._rows

    def __repr__(self) -> str:
        return f"TeacherCache({len(self)} crops, features={list(self.features)}, {self.nbytes() / 2**20:.1f} MiB)"

    def nbytes(self) -> int:
        """Memory held by the cached tensors."""
        return sum(t.numel() * t.element_size() for t in self._data.values())

    # ------------------------------------------------------------------ filling
    def add(self, indices: Sequence[int], starts: Sequence[int], outputs: dict[str, torch.Tensor]) -> None:
        """Store one batch of teacher outputs (``outputs[f]`` is (B, ...)) for the given crops."""
        self.extend([(indices, starts, outputs)])

    def extend(self, batches: Iterable[tuple[Sequence[int], Sequence[int], dict[str, torch.Tensor]]]) -> None:
        """Store several batches at once (one concatenation per feature)."""
        chunks: dict[str, list[torch.Tensor]] = {f: [] for f in self.features}
        keys: list[tuple[int, int]] = []
        for indices, starts, outputs in batches:
            missing = [f for f in self.features if f not in outputs]
            if missing:
                raise ConfigError(f"teacher outputs lack cached features {missing}; got {sorted(outputs)}")
            keys.extend(zip((int(i) for i in indices), (int(s) for s in starts)))
            for f in self.features:
                chunks[f].append(outputs[f].detach().to("cpu", STORE_DTYPE))
        if not keys:
            return
        offset = len(self._rows)
        for row, key in enumerate(keys):
            if key in self._rows:
                raise ConfigError(f"teacher cache already holds crop (index, start) = {key}")
            self._rows[key] = offset + row
        for f in self.features:
            new = torch.cat(chunks[f])
            self._data[f] = new if f not in self._data else torch.cat([self._data[f], new])

    @torch.no_grad()
    def precompute(
        self,
        teacher: nn.Module,
        data,
        crop_samples: int,
        crop_stride: int,
        batch_size: int = 256,
        device: str | torch.device | None = None,
    ) -> "TeacherCache":
        """Run ``teacher`` (in eval mode) over every grid crop of every record of ``data``
        (an ``ECGData``; record index = position in ``data``) and store the outputs."""
        device = torch.device(device) if device is not None else next(teacher.parameters()).device
        starts = crop_starts(data.n_samples, crop_samples, crop_stride)
        grid = np.stack(np.meshgrid(np.arange(len(data)), starts, indexing="ij"), -1).reshape(-1, 2)
        leads = slice(None) if self.leads is None else self.leads
        was_training = teacher.training
        teacher.eval()
        batches = []
        try:
            for lo in progress(range(0, len(grid), batch_size), desc="teacher cache", unit="batch"):
                rows = grid[lo : lo + batch_size]
                x = np.stack([data.signals[i, leads, s : s + crop_samples] for i, s in rows])
                outputs = forward_features(teacher, torch.from_numpy(x).to(device), self.features, detach=True)
                batches.append((rows[:, 0], rows[:, 1], outputs))
        finally:
            teacher.train(was_training)
        self.extend(batches)
        self.meta.update(
            crop_samples=int(crop_samples), crop_stride=int(crop_stride), data_fingerprint=data.fingerprint()
        )
        return self

    # ------------------------------------------------------------------ reading
    def lookup(self, indices: torch.Tensor, starts: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(hit, outputs)``: ``hit`` (B,) bool marks cached crops; ``outputs[f]`` holds the
        float32 cached rows of the hits only, in batch order."""
        keys = zip(torch.as_tensor(indices).tolist(), torch.as_tensor(starts).tolist())
        rows = [self._rows.get((int(i), int(s)), -1) for i, s in keys]
        hit = torch.tensor([r >= 0 for r in rows], dtype=torch.bool)
        take = torch.tensor([r for r in rows if r >= 0], dtype=torch.long)
        return hit, {f: self._data[f][take].float() if len(take) else None for f in self.features}

    # ------------------------------------------------------------------ disk
    def save(self, path: str | Path) -> Path:
        """Write the cache atomically (``torch.save``; tensors and plain types only)."""
        keys = torch.tensor(list(self._rows), dtype=torch.long).reshape(-1, 2)
        order = torch.tensor(list(self._rows.values()), dtype=torch.long)
        payload = {
            "version": FORMAT_VERSION,
            "features": list(self.features),
            "leads": self.leads,
            "meta": self.meta,
            "keys": keys,
            "rows": order,
            "data": self._data,
        }
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        return atomic_write_bytes(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> "TeacherCache":
        """Read a cache written by ``save`` (``weights_only=True``); CheckpointError when unreadable."""
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable teacher cache ({exc})") from exc
        if not isinstance(payload, dict) or payload.get("version") != FORMAT_VERSION:
            raise CheckpointError(f"{path}: not a teacher cache of format version {FORMAT_VERSION}")
        cache = cls(payload["features"], payload["leads"], payload["meta"])
        cache._data = dict(payload["data"])
        cache._rows = {
            (int(i), int(s)): int(r) for (i, s), r in zip(payload["keys"].tolist(), payload["rows"].tolist())
        }
        return cache
