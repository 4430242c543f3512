"""``TrainConfig``: every setting of one training run, validated once, in one place.

``fit(model, train, val, config)`` trains with it; ``fit(model, train, val, epochs=10, lr=1e-3)``
builds one from keywords. ``key_dict()`` is the JSON form that enters cache keys and is saved with
every checkpoint (``progress`` and ``device`` are left out: they do not change the weights).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..checks import check_choice, check_int, check_number, check_positive
from ..errors import ConfigError

SCHEDULERS = ("onecycle", "cosine", "constant")
#: fields that do not change the trained weights (left out of keys and checkpoints)
RUNTIME_FIELDS = ("progress", "device")


@dataclass(frozen=True)
class TrainConfig:
    """One run's training settings (see ``fit`` for what each does).

    ``input_leads``: lead names the model reads (None: all of the data's leads); ``crop_seconds``
    and ``crop_stride_seconds`` (default half a crop): the training crop grid, also the validation
    windows; ``scheduler``: ``onecycle`` (max lr = ``lr``), ``cosine`` or ``constant``, stepped per
    batch; ``monitor``: the validation metric kept at its best; ``patience``: epochs without
    improvement before stopping early (None: train every epoch); ``max_grad_norm``: clip gradients
    (None: no clipping)."""

    epochs: int
    batch_size: int = 128
    lr: float = 3e-3
    weight_decay: float = 1e-2
    crop_seconds: float = 2.5
    crop_stride_seconds: float | None = None
    scheduler: str = "onecycle"
    monitor: str = "val_macro_auc"
    patience: int | None = None
    seed: int = 0
    max_grad_norm: float | None = None
    input_leads: tuple[str, ...] | None = None
    progress: bool = True
    device: str | None = None

    def __post_init__(self):
        put = object.__setattr__  # frozen: normalise in place once
        put(self, "epochs", check_int("epochs", self.epochs, low=1))
        put(self, "batch_size", check_int("batch_size", self.batch_size, low=1))
        put(self, "lr", check_positive("lr", self.lr))
        put(self, "weight_decay", check_number("weight_decay", self.weight_decay, low=0))
        put(self, "crop_seconds", check_positive("crop_seconds", self.crop_seconds))
        if self.crop_stride_seconds is not None:
            put(self, "crop_stride_seconds", check_positive("crop_stride_seconds", self.crop_stride_seconds))
        check_choice("scheduler", self.scheduler, SCHEDULERS)
        if not (isinstance(self.monitor, str) and self.monitor):
            raise ConfigError(f"monitor must be a metric name; got {self.monitor!r}")
        if self.patience is not None:
            put(self, "patience", check_int("patience", self.patience, low=1))
        put(self, "seed", check_int("seed", self.seed, low=0))
        if self.max_grad_norm is not None:
            put(self, "max_grad_norm", check_positive("max_grad_norm", self.max_grad_norm))
        if self.input_leads is not None:
            leads = (self.input_leads,) if isinstance(self.input_leads, str) else tuple(self.input_leads)
            if not leads or not all(isinstance(lead, str) and lead for lead in leads):
                raise ConfigError(f"input_leads must be lead names (or None for all leads); got {self.input_leads!r}")
            put(self, "input_leads", leads)
        if not isinstance(self.progress, bool):
            raise ConfigError(f"progress must be True or False; got {self.progress!r}")
        if self.device is not None:
            put(self, "device", str(self.device))

    @classmethod
    def from_options(cls, config: "TrainConfig | None" = None, **options: Any) -> "TrainConfig":
        """``config`` with ``options`` replaced, or a new config from ``options``; ConfigError for
        an unknown option (naming the known ones) or a missing ``epochs``."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"unknown training options {unknown}; known: {sorted(known)}")
        if config is None:
            if "epochs" not in options:
                raise ConfigError("epochs is required (pass a TrainConfig or epochs=)")
            return cls(**options)
        if not isinstance(config, cls):
            raise ConfigError(f"config must be a TrainConfig; got {type(config).__name__}")
        return dataclasses.replace(config, **options) if options else config

    def replace(self, **changes: Any) -> "TrainConfig":
        """A copy with ``changes`` (validated)."""
        return TrainConfig.from_options(self, **changes)

    def key_dict(self) -> dict[str, Any]:
        """The JSON form without the runtime fields (what cache keys and checkpoints record)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in RUNTIME_FIELDS}
        out["input_leads"] = None if self.input_leads is None else list(self.input_leads)
        return out
