"""The distillation term: one loss, one class, registered by name.

A *term* compares named features of the student and the teacher::

    s = {"logits": (B, C), "temporal": (B, C_s, T_s), "tokens": (B, N_s, D_s),
         "penultimate": (B, D_s), "stage1": ..., "stage2": ..., ...}
    t = {... the same keys for the teacher ...}
    loss = term(s, t, batch)        # a scalar tensor, or a dict of named scalars (summed)

Features come from forward hooks (``ecgkd_lite.models.FeatureCapture``) keyed by the semantic
names in ``model.feature_layers``; ``"logits"`` is the model output. A term declares what it needs in
``student_features`` / ``teacher_features``; the distiller raises a clear error naming the missing
hook. Projection heads a term needs are created in ``build`` from the per-sample feature shapes
(batch dimension removed) and are trained with the student. A recipe is a weighted sum of terms
(``ecgkd_lite.distill.Distiller``).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError

TERMS: dict[str, type["KDTerm"]] = {}


def register_term(name: str):
    """Class decorator: ``@register_term("vanilla_kd")``."""

    def deco(cls: type["KDTerm"]) -> type["KDTerm"]:
        if name in TERMS and TERMS[name] is not cls:
            raise ConfigError(f"distillation term {name!r} is registered twice ({TERMS[name].__name__}, {cls.__name__})")
        cls.name = name
        TERMS[name] = cls
        return cls

    return deco


def build_term(name: str, **kwargs) -> "KDTerm":
    """Instantiate a registered term; unknown names raise ConfigError listing the known ones."""
    if name not in TERMS:
        raise ConfigError(f"distillation method {name!r} is unknown; known: {sorted(TERMS)}")
    return TERMS[name](**kwargs)


class KDTerm(nn.Module):
    """Base class of every distillation loss term.

    Class attributes:
        name: registry name (set by ``register_term``).
        student_features / teacher_features: semantic feature keys the term reads.
        label_free: True when the term needs no ground-truth labels (usable on unlabeled records).
        needs_teacher_grad: True when the term needs gradients through the teacher (e.g. Grad-CAM
            importance maps); the distiller then runs the teacher under ``enable_grad`` with its
            parameters still frozen.
    """

    name: ClassVar[str] = "base"
    student_features: ClassVar[tuple[str, ...]] = ("logits",)
    teacher_features: ClassVar[tuple[str, ...]] = ("logits",)
    label_free: ClassVar[bool] = True
    needs_teacher_grad: ClassVar[bool] = False

    def build(self, student_shapes: dict[str, torch.Size], teacher_shapes: dict[str, torch.Size]) -> None:
        """Create projection heads from per-sample shapes (no batch dim). Default: nothing."""

    def forward(self, s: dict[str, torch.Tensor], t: dict[str, torch.Tensor],
                batch: dict | None = None) -> torch.Tensor | dict[str, torch.Tensor]:
        raise NotImplementedError


def check_positive(name: str, value: float) -> float:
    """Raise ConfigError unless ``value > 0`` (temperatures, epsilons...)."""
    if not (isinstance(value, (int, float)) and value > 0):
        raise ConfigError(f"{name} must be > 0; got {value!r}")
    return float(value)


def check_non_negative(name: str, value: float) -> float:
    """Raise ConfigError unless ``value >= 0`` (loss weights)."""
    if not (isinstance(value, (int, float)) and value >= 0):
        raise ConfigError(f"{name} must be >= 0; got {value!r}")
    return float(value)
