"""Model registry and the common base class of every model.

A model class declares its ``sizes`` (size name -> hyperparameters) and ``default_size`` and is
registered by name with ``@register_model("resnet1d")``; ``build_model`` builds it by name and size.
Every model stores ``model.config`` (a JSON-serialisable dict) so a checkpoint can check that it
belongs to the model, and rebuilds it with ``model_from_config``.
"""

from __future__ import annotations

import copy
import inspect
from typing import Any, ClassVar

import torch
from torch import nn

from ..checks import check_fraction, check_int
from ..errors import BadSignalError, ModelError

MODELS: dict[str, type["ECGModel"]] = {}


class ECGModel(nn.Module):
    """Base class: size resolution, ``config``, and the input check done at the top of ``forward``.

    Subclasses set ``sizes``, ``default_size`` and ``min_samples`` (the shortest input length the
    architecture accepts) and call ``super().__init__(size, in_leads=..., n_classes=..., **kwargs)``
    with every remaining constructor argument in ``kwargs`` so that ``config`` describes the model
    completely.
    """

    name: ClassVar[str] = "unregistered"
    sizes: ClassVar[dict[str, dict[str, Any]]] = {}
    default_size: ClassVar[str] = ""
    min_samples: ClassVar[int] = 1

    def __init__(self, size: str | None, *, in_leads: int, n_classes: int | None, **kwargs: Any):
        super().__init__()
        self.size = self.resolve_size(size)
        self.in_leads = positive_int(self.name, "in_leads", in_leads)
        self.n_classes = None if n_classes is None else positive_int(self.name, "n_classes", n_classes)
        self.config: dict[str, Any] = {
            "name": self.name,
            "size": self.size,
            "in_leads": self.in_leads,
            "n_classes": self.n_classes,
            "kwargs": dict(kwargs),
        }
        if "dropout" in kwargs:
            check_fraction(f"model {self.name!r}: dropout", kwargs["dropout"], error=ModelError)

    @classmethod
    def resolve_size(cls, size: str | None) -> str:
        """``None`` -> the default size; an unknown size raises ModelError listing the known ones."""
        if size is None:
            return cls.default_size
        if size not in cls.sizes:
            raise ModelError(f"model {cls.name!r} has no size {size!r}; known sizes: {list(cls.sizes)}")
        return size

    @property
    def hparams(self) -> dict[str, Any]:
        """The hyperparameters of this model's size."""
        return self.sizes[self.size]

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ModelError unless ``x`` is (B, in_leads, T) with T >= ``min_samples``, and
        BadSignalError naming the batch item, lead and sample when ``x`` holds NaN or infinity (a
        model would return NaN probabilities for it). The finiteness check (one reduction; the
        details only on failure) is skipped while tracing, scripting or exporting to ONNX."""
        if x.dim() != 3:
            raise ModelError(f"model {self.name!r} expects input (B, leads, T); received shape {tuple(x.shape)}")
        if x.shape[1] != self.in_leads:
            raise ModelError(
                f"model {self.name!r} expects {self.in_leads} input leads; received {x.shape[1]} leads "
                f"(input shape {tuple(x.shape)})"
            )
        if x.shape[2] < self.min_samples:
            raise ModelError(
                f"model {self.name!r} needs at least {self.min_samples} samples per lead; received {x.shape[2]}"
            )
        if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export():
            return
        if not bool(torch.isfinite(x).all()):
            raise non_finite_input_error(self.name, x)


def non_finite_input_error(model: str, x: torch.Tensor) -> BadSignalError:
    """The BadSignalError for the first non-finite sample of ``x`` (B, leads, T): its batch item as
    the record, its lead index, sample index and value, and how many such samples the batch holds."""
    bad = ~torch.isfinite(x.detach())
    item, lead, sample = (int(i) for i in bad.nonzero()[0])
    value = float(x[item, lead, sample])
    in_item = int(bad[item].sum())
    items = int(bad.flatten(1).any(dim=1).sum())
    return BadSignalError(
        f"input batch item {item}",
        f"model {model!r}: lead index {lead} has {value} at sample {sample} "
        f"({in_item} non-finite sample(s) in this item, {items} of {x.shape[0]} batch item(s) affected); "
        "a model returns NaN probabilities for such input: impute or drop the record first",
    )


def positive_int(model: str, arg: str, value: Any) -> int:
    """``int(value)`` if it is an integer >= 1 (not a bool, not a float), else ModelError naming
    the model and the argument."""
    return check_int(f"model {model!r}: {arg}", value, low=1, error=ModelError)


def register_model(name: str):
    """Class decorator: ``@register_model("resnet1d")`` registers an ``ECGModel`` subclass by name."""

    def deco(cls: type[ECGModel]) -> type[ECGModel]:
        if name in MODELS and MODELS[name] is not cls:
            raise ModelError(f"model {name!r} is registered twice ({MODELS[name].__name__}, {cls.__name__})")
        if cls.default_size not in cls.sizes:
            raise ModelError(f"model {name!r}: default size {cls.default_size!r} is not one of {list(cls.sizes)}")
        cls.name = name
        MODELS[name] = cls
        return cls

    return deco


def list_models() -> dict[str, list[str]]:
    """``{model name: [size names]}`` of every registered model."""
    return {name: list(cls.sizes) for name, cls in sorted(MODELS.items())}


def build_model(
    name: str, size: str | None = None, *, in_leads: int, n_classes: int | None = None, **kwargs: Any
) -> ECGModel:
    """Build a registered model by name and size (``None``: its default size).

    Raises ModelError for an unknown name or size (listing the known ones) and for arguments the
    model does not take.
    """
    if name not in MODELS:
        raise ModelError(f"model {name!r} is unknown; known models: {list_models()}")
    cls = MODELS[name]
    try:
        inspect.signature(cls).bind(size, in_leads=in_leads, n_classes=n_classes, **kwargs)
    except TypeError as err:
        raise ModelError(f"model {name!r}: bad arguments {sorted(kwargs)}: {err}") from None
    return cls(size, in_leads=in_leads, n_classes=n_classes, **kwargs)


def model_from_config(config: dict[str, Any]) -> ECGModel:
    """Rebuild a model (fresh weights) from its ``model.config``."""
    missing = {"name", "size", "in_leads", "n_classes", "kwargs"} - set(config)
    if missing:
        raise ModelError(f"model config lacks the keys {sorted(missing)}: {config!r}")
    config = copy.deepcopy(config)
    return build_model(
        config["name"], config["size"], in_leads=config["in_leads"], n_classes=config["n_classes"], **config["kwargs"]
    )


class ECGClassifier(ECGModel):
    """A model mapping (B, in_leads, T) to multi-label logits (B, n_classes).

    ``feature_layers`` maps the semantic feature names read by the distillation code ("temporal",
    "tokens", "penultimate", "stage1", "stage2", "stage3", ...) to module names of
    ``named_modules()``; every one of those modules lies on the forward path.
    """

    feature_layers: dict[str, str]

    def __init__(self, size: str | None, *, in_leads: int, n_classes: int | None, **kwargs: Any):
        if n_classes is None:
            raise ModelError(f"model {self.name!r} is a classifier: n_classes must be a positive integer, not None")
        super().__init__(size, in_leads=in_leads, n_classes=n_classes, **kwargs)
