"""Typed errors. Every error names the record or argument and the problem.

Hierarchy::

    ECGKDError
    ├── ConfigError (ValueError)        bad parameter / unknown name
    ├── DataError (ValueError)
    │   ├── SplitError                  empty split, bad label ratio, leakage
    │   └── RecordError                 one record is bad (carries ``record`` and ``problem``)
    │       ├── MissingFileError (FileNotFoundError)
    │       ├── SignalSizeError         signal file size differs from what the header implies
    │       │   └── TruncatedSignalError
    │       ├── HeaderParseError
    │       ├── BadSignalError          NaN / inf / flat lead
    │       ├── LeadMismatchError       wrong lead count or order
    │       ├── SamplingRateError
    │       └── UnknownLabelError
    ├── ModelError (ValueError)         wrong input leads, unknown model/size, missing layer
    ├── CheckpointError                 corrupt file, model/class-count mismatch
    └── TrainingError (RuntimeError)    NaN loss, etc.
"""

from __future__ import annotations


class ECGKDError(Exception):
    """Base class of every error raised by ecgkd_lite."""


class ConfigError(ECGKDError, ValueError):
    """A parameter is out of range or a name is unknown."""


class DataError(ECGKDError, ValueError):
    """A data set as a whole is unusable."""


class SplitError(DataError):
    """A split is empty, a ratio is out of range, or splits overlap."""


class RecordError(DataError):
    """One record is bad. ``str(err)`` is ``"<record>: <problem>"``."""

    def __init__(self, record: str, problem: str):
        self.record = str(record)
        self.problem = problem
        super().__init__(f"{self.record}: {problem}")


class MissingFileError(RecordError, FileNotFoundError):
    """A file a record needs does not exist."""


class SignalSizeError(RecordError):
    """The signal file holds another number of samples than the header implies (e.g. a 500 Hz file
    in place of the 100 Hz one)."""


class TruncatedSignalError(SignalSizeError):
    """The signal file holds fewer samples than the header promises."""


class HeaderParseError(RecordError):
    """A header (``.hea``) cannot be parsed."""


class BadSignalError(RecordError):
    """NaN/inf samples or a flat (constant) lead."""


class LeadMismatchError(RecordError):
    """Wrong lead count or lead order."""


class SamplingRateError(RecordError):
    """The sampling rate differs from the one asked for."""


class UnknownLabelError(RecordError):
    """A label code that the mapping table does not know."""


class ModelError(ECGKDError, ValueError):
    """Unknown model/size, wrong input leads, missing layer."""


class CheckpointError(ECGKDError):
    """A checkpoint is corrupt or belongs to another model / class count."""


class TrainingError(ECGKDError, RuntimeError):
    """Training cannot go on (e.g. NaN loss)."""
