"""Streaming inference: a preprocessed ECG arrives chunk by chunk, windows are classified as they fill.

:class:`StreamingClassifier` keeps a ring buffer of one window and runs the model (an ONNX Runtime
session, a TorchScript file or a torch module) on every complete window at the training stride.
Window placement is exactly that of offline evaluation (``train.datasets.window_starts``, used by
``train.predict``):

* grid windows start at ``0, stride, 2 stride, ...`` and are emitted as soon as their last sample
  has arrived, whatever the chunking (chunks of 1 sample, or longer than several windows);
* **the last partial window**: when the grid leaves the end of the recording uncovered, offline
  evaluation adds one window flush with the end (start ``n - window``). A stream does not know
  where it ends, so that window is emitted only by :meth:`StreamingClassifier.finish`; likewise a
  stream shorter than one window gives, on ``finish``, one window holding the whole stream;
* each window is run alone (batch 1), so its probabilities do not depend on the chunking.

Per window it emits the window probabilities ``sigmoid(logits)``, **smoothed** probabilities (the
mean of the probabilities of the last ``k`` windows, this one included; fewer at the start) and
**detections**: ``smoothed >= threshold`` per class, with the validation-tuned thresholds of the
export contract. The mean of all window probabilities after ``finish`` is the record score of
``train.predict``.

Preprocessing (band-pass and scaling) is the caller's, as in the contract; a per-window
``transform`` can apply the device's version of it inside the stream.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..checks import check_int
from ..errors import BadSignalError, ConfigError, LeadMismatchError
from ..metrics import DEFAULT_THRESHOLD
from .export import as_runner, load_contract


@dataclass
class WindowOutput:
    """One classified window: its position in the stream (samples, end exclusive), whether it is the
    end-flush window of :meth:`StreamingClassifier.finish`, window / smoothed probabilities and the
    detections (bool per class)."""

    index: int
    start: int
    end: int
    final: bool
    probs: np.ndarray
    smoothed: np.ndarray
    detected: np.ndarray


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logits, dtype=np.float64)))


def _window_probs(runner: Callable, window: np.ndarray, transform: Callable | None) -> np.ndarray:
    x = window if transform is None else np.asarray(transform(window), dtype=np.float32)
    out = np.asarray(runner(np.ascontiguousarray(x[None], dtype=np.float32)))
    if out.ndim != 2 or out.shape[0] != 1:
        raise ConfigError(f"the model must return logits (1, classes) for one window; it returned {out.shape}")
    return _sigmoid(out[0])


def _smooth(history: np.ndarray, k: int) -> np.ndarray:
    """Mean over the last ``k`` rows of ``history`` (all rows when fewer)."""
    return np.mean(history[max(0, len(history) - k) :], axis=0)


def _check_settings(window: Any, stride: Any, smoothing: Any, n_leads: Any) -> None:
    for arg, value in (("window", window), ("stride", stride), ("smoothing", smoothing), ("n_leads", n_leads)):
        check_int(arg, value, low=1)


def _thresholds(thresholds: Any) -> np.ndarray | float:
    if thresholds is None:
        return DEFAULT_THRESHOLD
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim > 1 or not np.isfinite(t).all():
        raise ConfigError(f"thresholds must be a number or one finite number per class; got shape {t.shape}")
    return t


class StreamingClassifier:
    """Chunk-by-chunk classification of a preprocessed recording (see the module docstring).

    Args:
        model: an ONNX Runtime session, a torch module (eager or TorchScript) or a ``.onnx``/``.pt`` path.
        window, stride: window length and hop in samples (the contract's).
        n_leads: leads per sample (1 for the students).
        thresholds: per-class detection thresholds (default 0.5).
        classes: class names (for :meth:`detections`).
        smoothing: ``k``, the number of most recent windows averaged.
        transform: optional function ``(leads, window) -> (leads, window)`` applied to each window
            before the model (e.g. the device's per-window filter and scaling).
        name: the stream's name in error messages.
    """

    def __init__(
        self,
        model: Any,
        *,
        window: int,
        stride: int,
        n_leads: int = 1,
        thresholds: Any = None,
        classes: Sequence[str] | None = None,
        smoothing: int = 3,
        fs: float | None = None,
        transform: Callable[[np.ndarray], np.ndarray] | None = None,
        name: str = "stream",
    ):
        _check_settings(window, stride, smoothing, n_leads)
        self.runner = as_runner(model)
        self.window, self.stride, self.n_leads, self.smoothing = int(window), int(stride), int(n_leads), int(smoothing)
        self.thresholds = _thresholds(thresholds)
        self.classes = None if classes is None else list(classes)
        self.fs, self.transform, self.name = fs, transform, name
        self.reset()

    @classmethod
    def from_export(cls, path: str | os.PathLike, **overrides: Any) -> StreamingClassifier:
        """A stream over an exported model, with window, stride, leads, thresholds, classes, smoothing
        and sampling rate from its contract (``overrides`` win)."""
        contract = load_contract(path)
        output = contract.get("output", {})
        if output.get("kind") != "logits":
            raise ConfigError(f"{path}: a stream needs a classifier; this export outputs {output.get('kind')!r}")
        settings = {
            "window": contract["window"]["samples"],
            "stride": contract["window"]["stride_samples"],
            "n_leads": len(contract["input_leads"]),
            "thresholds": output["thresholds"],
            "classes": output["classes"],
            "smoothing": output["smoothing"]["k"],
            "fs": contract["sampling_rate_hz"],
            "name": Path(path).name,
        }
        return cls(path, **{**settings, **overrides})

    def reset(self) -> None:
        """Forget everything: an empty ring buffer, no windows, open for ``push``."""
        self._ring = np.zeros((self.n_leads, self.window), dtype=np.float32)
        self._pos = 0  # next write position in the ring
        self._total = 0  # samples received
        self._next_start = 0  # start of the next grid window
        self._chunks = 0
        self._probs: list[np.ndarray] = []
        self.outputs: list[WindowOutput] = []
        self.finished = False

    @property
    def n_samples(self) -> int:
        """Samples received so far."""
        return self._total

    # -------------------------------------------------------------------------------- input
    def _check_chunk(self, chunk: Any) -> np.ndarray:
        if self.finished:
            raise ConfigError(f"stream {self.name} is finished; call reset() to start a new one")
        x = np.asarray(chunk)
        if x.dtype.kind != "f":
            raise ConfigError(
                f"stream {self.name}: chunk {self._chunks} must hold floating-point samples "
                f"(preprocessed and scaled, float32 or float64); got dtype {x.dtype}"
            )
        if x.ndim == 1 and self.n_leads == 1:
            x = x[None]
        if x.ndim != 2:
            raise ConfigError(
                f"stream {self.name}: chunk {self._chunks} must be (samples,) or (leads, samples); got shape {x.shape}"
            )
        if x.shape[0] != self.n_leads:
            raise LeadMismatchError(
                self.name, f"chunk {self._chunks} has {x.shape[0]} lead(s); the model takes {self.n_leads}"
            )
        bad = ~np.isfinite(x)
        if bad.any():
            first = int(np.flatnonzero(bad.any(axis=0))[0])
            raise BadSignalError(
                self.name,
                f"chunk {self._chunks} holds {int(bad.sum())} NaN/inf sample(s), the "
                f"first at stream sample {self._total + first}; nothing was consumed",
            )
        return np.asarray(x, dtype=np.float32)

    def _write(self, block: np.ndarray) -> None:
        m, cap = block.shape[1], self.window
        if m >= cap:
            self._ring[:] = block[:, m - cap :]
            self._pos = 0
        else:
            first = min(m, cap - self._pos)
            self._ring[:, self._pos : self._pos + first] = block[:, :first]
            self._ring[:, : m - first] = block[:, first:]
            self._pos = (self._pos + m) % cap
        self._total += m

    def _latest(self, length: int) -> np.ndarray:
        """The last ``length`` (<= window) samples received, in order."""
        ordered = (
            np.concatenate([self._ring[:, self._pos :], self._ring[:, : self._pos]], axis=1)
            if self._total >= self.window
            else self._ring[:, : self._total]
        )
        return np.ascontiguousarray(ordered[:, ordered.shape[1] - length :])

    def _emit(self, start: int, length: int, final: bool) -> WindowOutput:
        probs = _window_probs(self.runner, self._latest(length), self.transform)
        self._probs.append(probs)
        smoothed = _smooth(np.asarray(self._probs), self.smoothing)
        out = WindowOutput(
            len(self.outputs), start, start + length, final, probs, smoothed, smoothed >= self.thresholds
        )
        self.outputs.append(out)
        return out

    # -------------------------------------------------------------------------------- API
    def push(self, chunk: Any) -> list[WindowOutput]:
        """Add samples ((samples,) for one lead, or (leads, samples)); returns the windows completed by
        them. ConfigError for a non-float chunk, LeadMismatchError for a wrong lead count,
        BadSignalError for NaN/inf samples (the chunk is then not consumed at all)."""
        x = self._check_chunk(chunk)
        self._chunks += 1
        emitted, pos, n = [], 0, x.shape[1]
        while pos < n:
            take = min(self._next_start + self.window - self._total, n - pos)
            self._write(x[:, pos : pos + take])
            pos += take
            if self._total == self._next_start + self.window:
                emitted.append(self._emit(self._next_start, self.window, final=False))
                self._next_start += self.stride
        return emitted

    def finish(self) -> list[WindowOutput]:
        """End the stream: emit the window flush with the end when the grid left the end uncovered
        (or the whole stream as one window when it is shorter than a window), as offline evaluation
        does. Returns it ([] when there is none). Further pushes raise ConfigError until ``reset``."""
        if self.finished:
            return []
        self.finished = True
        if self._total == 0:
            return []
        if self._total < self.window:
            return [self._emit(0, self._total, final=True)]
        last_grid = self._next_start - self.stride
        if last_grid != self._total - self.window:
            return [self._emit(self._total - self.window, self.window, final=True)]
        return []

    def record_probabilities(self) -> np.ndarray:
        """Mean of the window probabilities so far (after ``finish``: ``train.predict``'s record score)."""
        if not self._probs:
            raise ConfigError(f"stream {self.name} has classified no window yet")
        return np.mean(np.asarray(self._probs), axis=0)

    def detections(self) -> pd.DataFrame:
        """Detection episodes so far: one row per class and run of consecutive detected windows."""
        return detection_intervals(self.outputs, classes=self.classes, fs=self.fs)


def sliding_window_outputs(
    model: Any,
    signal: np.ndarray,
    *,
    window: int,
    stride: int,
    thresholds: Any = None,
    smoothing: int = 3,
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[WindowOutput]:
    """The offline reference: every window of ``train.datasets.window_starts`` over the whole
    ``signal`` ((leads, samples) or (samples,)), each run alone, with the same smoothing and
    detections as :class:`StreamingClassifier`."""
    from ..train.datasets import window_starts

    _check_settings(window, stride, smoothing, 1)
    x = np.asarray(signal, dtype=np.float32)
    x = x[None] if x.ndim == 1 else x
    if x.ndim != 2 or x.shape[1] == 0:
        raise ConfigError(f"signal must be (samples,) or (leads, samples) with samples > 0; got shape {x.shape}")
    runner, t = as_runner(model), _thresholds(thresholds)
    n = x.shape[1]
    length = min(window, n)
    starts = window_starts(n, length, stride)
    probs = np.asarray([_window_probs(runner, np.ascontiguousarray(x[:, s : s + length]), transform) for s in starts])
    outputs = []
    for i, s in enumerate(starts):
        smoothed = _smooth(probs[: i + 1], smoothing)
        outputs.append(
            WindowOutput(i, int(s), int(s) + length, bool(s % stride or n < window), probs[i], smoothed, smoothed >= t)
        )
    return outputs


def detection_intervals(
    outputs: Sequence[WindowOutput], *, classes: Sequence[str] | None = None, fs: float | None = None
) -> pd.DataFrame:
    """Runs of consecutive windows in which a class is detected: ``class, first_window, last_window,
    start, end`` (samples, from the first window's start to the last window's end; in seconds too
    when ``fs`` is given)."""
    rows = []
    if outputs:
        detected = np.asarray([o.detected for o in outputs], dtype=bool)
        names = list(classes) if classes is not None else list(range(detected.shape[1]))
        for c in range(detected.shape[1]):
            padded = np.r_[False, detected[:, c], False].astype(np.int8)
            for lo, hi in zip(np.flatnonzero(np.diff(padded) == 1), np.flatnonzero(np.diff(padded) == -1)):
                rows.append(
                    {
                        "class": names[c],
                        "first_window": int(lo),
                        "last_window": int(hi - 1),
                        "start": outputs[lo].start,
                        "end": outputs[hi - 1].end,
                    }
                )
    table = pd.DataFrame(rows, columns=["class", "first_window", "last_window", "start", "end"])
    if fs:
        table["start_s"], table["end_s"] = table["start"] / fs, table["end"] / fs
    return table
