"""Record crops as training batches.

Crop choice (stated): training crops start on a GRID ``0, s, 2s, ...`` (``s = crop_stride``, default
half the crop) plus, when the grid does not reach the end, the last start ``T - crop``, so a crop
always lies inside the record. The start of each record's crop is drawn uniformly from that grid,
fresh every epoch. Because starts are on a grid, a teacher's outputs can be cached per
``(record index, start)``; because the draw is a pure function of ``(seed, epoch)``, training is
reproducible, resumable and identical when the records are sharded over processes.

Evaluation (``train=False``) enumerates every ``(record, grid start)`` window, in record order.
A record shorter than the crop gives one window: the whole record.

Every item holds ALL leads of the data; a model's input leads are picked later (in the objective).
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from ..data.container import ECGData
from ..data.windows import window_starts
from ..errors import ConfigError


def epoch_rng(seed: int, epoch: int, stream: int) -> np.random.Generator:
    """The generator of one random stream (0: data order, 1: crop starts) of one epoch."""
    return np.random.default_rng([int(seed), int(epoch), int(stream)])


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The shuffled order of ``n`` records in ``epoch`` (the same on every process)."""
    return epoch_rng(seed, epoch, 0).permutation(n)


class ECGDataset(Dataset):
    """Crops of the records of ``data`` as dicts::

        {"x": float32 (L, crop) all leads, "y": float32 (C,), "index": int (record position),
         "start": int (crop start sample), "labeled": bool}

    Args:
        data: the records.
        crop_samples: crop length in samples; ``None`` (or longer than the record) = whole record.
        train: random grid crop per record (one item per record), else every grid window.
        crop_stride: grid step in samples (default ``crop_samples // 2``).
        labeled: boolean ``(N,)`` mask of the records whose labels may be used (default all).
        seed: seed of the crop draw; call ``set_epoch`` before each epoch.
    """

    def __init__(
        self,
        data: ECGData,
        crop_samples: int | None,
        *,
        train: bool,
        crop_stride: int | None = None,
        labeled: np.ndarray | None = None,
        seed: int = 0,
    ):
        self.data = data
        n_samples = data.n_samples
        if crop_samples is not None and (not isinstance(crop_samples, (int, np.integer)) or crop_samples <= 0):
            raise ConfigError(f"crop_samples must be a positive integer or None; got {crop_samples!r}")
        self.crop = n_samples if crop_samples is None else min(int(crop_samples), n_samples)
        stride = max(1, self.crop // 2) if crop_stride is None else crop_stride
        if not isinstance(stride, (int, np.integer)) or stride <= 0:
            raise ConfigError(f"crop_stride must be a positive integer or None; got {crop_stride!r}")
        self.stride = int(stride)
        self.starts = window_starts(n_samples, self.crop, self.stride)
        if labeled is None:
            labeled = np.ones(len(data), dtype=bool)
        labeled = np.asarray(labeled)
        if labeled.dtype != bool or labeled.shape != (len(data),):
            raise ConfigError(
                f"labeled must be a boolean mask of shape ({len(data)},); got {labeled.dtype} {labeled.shape}"
            )
        self.labeled = labeled
        self.train = bool(train)
        self.seed = int(seed)
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Draw this epoch's crop start of every record (training only)."""
        self.epoch = int(epoch)
        if self.train:
            pick = epoch_rng(self.seed, self.epoch, 1).integers(0, len(self.starts), size=len(self.data))
            self._epoch_starts = self.starts[pick]

    def __len__(self) -> int:
        return len(self.data) if self.train else len(self.data) * len(self.starts)

    def _locate(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Record positions and crop starts of dataset items."""
        if self.train:
            return items, self._epoch_starts[items]
        n_windows = len(self.starts)
        return items // n_windows, self.starts[items % n_windows]

    def batch(self, items) -> dict[str, torch.Tensor]:
        """Several items at once, stacked (the fast path ``fit`` uses instead of a DataLoader)."""
        items = np.asarray(items, dtype=np.int64)
        if items.size and (items.min() < 0 or items.max() >= len(self)):
            raise IndexError(f"item indices must lie in [0, {len(self)}); got {items.min()}..{items.max()}")
        index, start = self._locate(items)
        offsets = start[:, None] + np.arange(self.crop)[None, :]  # (B, crop)
        x = np.take_along_axis(self.data.signals[index], offsets[:, None, :], axis=2)
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            "y": torch.from_numpy(self.data.labels[index]),
            "index": torch.from_numpy(index),
            "start": torch.from_numpy(start.astype(np.int64)),
            "labeled": torch.from_numpy(self.labeled[index]),
        }

    def __getitem__(self, item: int) -> dict:
        if not -len(self) <= item < len(self):
            raise IndexError(f"item {item} out of range for {len(self)} items")
        one = self.batch([item % len(self)])
        return {
            "x": one["x"][0],
            "y": one["y"][0],
            "index": int(one["index"][0]),
            "start": int(one["start"][0]),
            "labeled": bool(one["labeled"][0]),
        }
