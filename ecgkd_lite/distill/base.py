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

The contract a term declares (checked when the Distiller is built from a recipe, with an error
naming the missing piece):

* ``student_features`` / ``teacher_features``: the features it reads;
* ``provides`` / ``consumes``: values one term hands to a later one in the same step (the MHCA
  summary the relation term compares with); a consumer must come after its provider;
* ``needs_student``: the term runs the student itself (the consistency views): the distiller calls
  ``bind(student, student_leads)`` once;
* ``label_free`` / ``needs_teacher_grad``: which records it sees, whether the teacher keeps a graph.

``forward`` returns a scalar, a dict of named scalar parts (summed), or a ``TermOutput`` that adds
detached **diagnostics** (logged as ``metric:<term>/<name>``, never summed) and the values it
``provides``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Sequence

import torch
from torch import nn

from ..checks import check_non_negative, check_positive
from ..errors import ConfigError

TERMS: dict[str, type["KDTerm"]] = {}


def register_term(name: str):
    """Class decorator: ``@register_term("vanilla_kd")``."""

    def deco(cls: type["KDTerm"]) -> type["KDTerm"]:
        if name in TERMS and TERMS[name] is not cls:
            raise ConfigError(
                f"distillation term {name!r} is registered twice ({TERMS[name].__name__}, {cls.__name__})"
            )
        cls.name = name
        TERMS[name] = cls
        return cls

    return deco


def build_term(name: str, **kwargs) -> "KDTerm":
    """Instantiate a registered term; unknown names raise ConfigError listing the known ones."""
    if name not in TERMS:
        raise ConfigError(f"distillation method {name!r} is unknown; known: {sorted(TERMS)}")
    return TERMS[name](**kwargs)


@dataclass
class TermOutput:
    """A term's result: ``loss`` (a scalar, or named scalar parts that are summed), detached
    ``diagnostics`` (logged, never part of the loss) and the values the term ``provides`` to later
    terms of the recipe (keys must match its declared ``provides``)."""

    loss: torch.Tensor | dict[str, torch.Tensor]
    diagnostics: dict[str, torch.Tensor] = field(default_factory=dict)
    provides: dict[str, torch.Tensor] = field(default_factory=dict)


class KDTerm(nn.Module):
    """Base class of every distillation loss term.

    Class attributes:
        name: registry name (set by ``register_term``).
        student_features / teacher_features: semantic feature keys the term reads.
        label_free: True when the term needs no ground-truth labels (usable on unlabeled records).
        needs_teacher_grad: True when the term needs gradients through the teacher (e.g. Grad-CAM
            importance maps); the distiller then runs the teacher under ``enable_grad`` with its
            parameters still frozen.
        provides / consumes: names of values handed from one term to a later one in the same step
            (may be set per instance when they depend on a parameter).
        needs_student: True when the term runs the student itself; ``bind`` then receives it.
    """

    name: ClassVar[str] = "base"
    student_features: ClassVar[tuple[str, ...]] = ("logits",)
    teacher_features: ClassVar[tuple[str, ...]] = ("logits",)
    label_free: ClassVar[bool] = True
    needs_teacher_grad: ClassVar[bool] = False
    provides: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    needs_student: ClassVar[bool] = False

    def build(self, student_shapes: dict[str, torch.Size], teacher_shapes: dict[str, torch.Size]) -> None:
        """Create projection heads from per-sample shapes (no batch dim). Default: nothing."""

    def bind(self, student: nn.Module, student_leads: Sequence[int] | None) -> None:
        """Receive the student (terms with ``needs_student``); ``student_leads``: indices into
        ``batch["x"]`` (None: all of it)."""
        raise ConfigError(f"term {self.name!r} declares needs_student but does not implement bind()")

    def forward(
        self, s: dict[str, torch.Tensor], t: dict[str, torch.Tensor], batch: dict | None = None
    ) -> torch.Tensor | dict[str, torch.Tensor] | TermOutput:
        raise NotImplementedError


def check_recipe_contract(terms: Sequence[KDTerm]) -> None:
    """ConfigError unless every value a term ``consumes`` is ``provides``-d by an earlier term of
    the recipe (naming the term, the value, and which registered terms provide it)."""
    available: set[str] = set()
    for term in terms:
        for value in term.consumes:
            if value not in available:
                providers = sorted(n for n, cls in TERMS.items() if value in getattr(cls, "provides", ()))
                hint = f"; put {' or '.join(map(repr, providers))} before it" if providers else ""
                raise ConfigError(
                    f"term {term.name!r} consumes {value!r}, which no earlier term of the recipe provides{hint}"
                )
        available |= set(term.provides)


__all__ = [
    "TERMS",
    "KDTerm",
    "TermOutput",
    "register_term",
    "build_term",
    "check_recipe_contract",
    "check_positive",
    "check_non_negative",
]
