"""The distillation objective: a frozen teacher, a student and a weighted sum of KD terms.

``Distiller(batch)`` returns a dict of **named** scalar losses with ``"total"`` (what the training
engine back-propagates)::

    total = ce_weight * ce + sum_i w_i * term_i                 (default)
    total = (1 - alpha) * ce + alpha * sum_i w_i * term_i       (``alpha`` given: the EVL-ECG form)

``ce`` is the student's BCE-with-logits on the labeled records of the batch (0 when there are
none). Terms that need labels (``label_free = False``) see only the labeled records; label-free
terms see every record, which is what semi-supervised training relies on.

Call ``setup(probe_batch)`` before building the optimizer: it runs both models once and builds the
terms' projection heads, whose parameters ``trainable_parameters()`` then includes.
"""

from __future__ import annotations

import warnings
from typing import Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..data.leads import LEADS12, lead_indices
from ..errors import ConfigError
from .base import KDTerm, TermOutput, check_non_negative, check_recipe_contract
from .capture import check_features, forward_features, model_name
from .recipe import Recipe
from .teacher_cache import TeacherCache


#: the logged name of a term's diagnostic is ``metric:<term>/<name>`` (e.g. an MI lower bound)
METRIC_PREFIX = "metric:"


def resolve_leads(leads: Sequence[int | str] | int | str | None, data_leads: Sequence[str]) -> list[int] | None:
    """Lead indices into ``batch["x"]`` from indices or names (``None`` = all leads)."""
    if leads is None:
        return None
    if isinstance(leads, (int, str)):
        leads = [leads]
    leads = list(leads)
    if all(isinstance(lead, str) for lead in leads):
        return lead_indices(leads, data_leads)
    if not all(isinstance(lead, int) and 0 <= lead < len(data_leads) for lead in leads):
        raise ConfigError(f"leads must be names or indices in [0, {len(data_leads)}); got {leads}")
    return leads


def _subset(batch: dict, mask: torch.Tensor) -> dict:
    """The records of ``batch`` where ``mask`` is True (tensors with a batch axis are indexed)."""
    n = mask.shape[0]
    return {k: v[mask] if torch.is_tensor(v) and v.dim() > 0 and v.shape[0] == n else v for k, v in batch.items()}


class Distiller(nn.Module):
    """KD objective for ``fit``: ``objective(batch) -> {"ce", <term>, <term>/<part>, "total"}``.

    Args:
        teacher: the trained teacher; frozen here (``requires_grad_(False)``) and always in eval mode.
        student: the model being trained.
        terms: ``[(weight, KDTerm), ...]`` or a ``Recipe`` (built fresh here).
        student_leads / teacher_leads: indices into ``batch["x"]`` or lead names resolved against
            ``data_leads`` (default the 12 standard leads); ``teacher_leads=None`` means all.
        ce_weight: weight of the student's BCE (default form).
        alpha: when given, ``total = (1 - alpha) ce + alpha * KD`` and ``ce_weight`` is unused.
        teacher_cache: a ``TeacherCache`` of teacher outputs keyed by ``(batch["index"],
            batch["start"])``; misses run the teacher live.
    """

    def __init__(
        self,
        teacher: nn.Module,
        student: nn.Module,
        terms: Sequence[tuple[float, KDTerm]] | Recipe,
        *,
        student_leads: Sequence[int | str] | int | str = (0,),
        teacher_leads: Sequence[int | str] | int | str | None = None,
        data_leads: Sequence[str] = LEADS12,
        ce_weight: float = 1.0,
        alpha: float | None = None,
        teacher_cache: TeacherCache | None = None,
    ):
        super().__init__()
        self.teacher = teacher.requires_grad_(False).eval()
        self.student = student
        if isinstance(terms, Recipe) and alpha is None:
            alpha = terms.alpha
        pairs = terms.build() if isinstance(terms, Recipe) else list(terms)
        names = [getattr(term, "name", "?") for _, term in pairs]
        for weight, term in pairs:
            if not isinstance(term, KDTerm):
                raise ConfigError(f"terms must be KDTerm instances; got {type(term).__name__}")
            check_non_negative(f"weight of term {term.name!r}", weight)
        if len(set(names)) != len(names):
            raise ConfigError(f"terms name a method twice: {names}")
        self.terms = nn.ModuleDict({term.name: term for _, term in pairs})
        self.weights = {term.name: float(weight) for weight, term in pairs}
        self.student_leads = resolve_leads(student_leads, data_leads)
        self.teacher_leads = resolve_leads(teacher_leads, data_leads)
        self.ce_weight = check_non_negative("ce_weight", ce_weight)
        if alpha is not None and not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
            raise ConfigError(f"alpha must lie in [0, 1]; got {alpha!r}")
        self.alpha = None if alpha is None else float(alpha)
        self.teacher_needs_grad = any(term.needs_teacher_grad for term in self.terms.values())
        self.teacher_cache = teacher_cache
        self._check_cache()
        self.student_features = sorted({f for term in self.terms.values() for f in term.student_features})
        self.teacher_features = sorted({f for term in self.terms.values() for f in term.teacher_features})
        for name, term in self.terms.items():
            check_features(student, term.student_features, term=name, role="student")
            check_features(teacher, term.teacher_features, term=name, role="teacher")
        check_recipe_contract(list(self.terms.values()))
        for term in self.terms.values():  # terms that run the student themselves (e.g. consistency)
            if term.needs_student:
                term.bind(student, self.student_leads)
        self.is_setup = False
        #: the objective contract (``ecgkd_lite.train.objective``): the classifier's validation metrics
        self.monitors = None

    def validation_metrics(self, model: nn.Module, val) -> None:
        """None: ``fit`` validates the student as a classifier (macro AUC, MAP)."""
        return None

    def _check_cache(self) -> None:
        cache = self.teacher_cache
        if cache is None:
            return
        grad_terms = [n for n, t in self.terms.items() if t.needs_teacher_grad]
        if grad_terms:
            raise ConfigError(
                f"teacher_cache cannot serve terms {grad_terms}: they need gradients through the "
                "teacher; drop the cache or those terms"
            )
        needed = {f for term in self.terms.values() for f in term.teacher_features}
        missing = sorted(needed - set(cache.features))
        if missing:
            raise ConfigError(f"teacher_cache lacks teacher features {missing} (it holds {list(cache.features)})")
        if cache.leads != self.teacher_leads:
            raise ConfigError(
                f"teacher_cache was filled with leads {cache.leads} but teacher_leads is {self.teacher_leads}"
            )

    # ------------------------------------------------------------------ modes and parameters
    def train(self, mode: bool = True) -> "Distiller":
        """Switch the student and the terms; the teacher stays in eval mode."""
        super().train(mode)
        self.teacher.eval()
        return self

    def student_parameters(self) -> Iterator[nn.Parameter]:
        return (p for p in self.student.parameters() if p.requires_grad)

    def trainable_parameters(self) -> list[nn.Parameter]:
        """Student parameters plus the terms' projection heads (call after ``setup``)."""
        if not self.is_setup:
            warnings.warn(
                "Distiller.trainable_parameters() before setup(): term projection heads are not built "
                "yet and will be missing from the optimizer",
                stacklevel=2,
            )
        return list(self.student_parameters()) + [p for p in self.terms.parameters() if p.requires_grad]

    # ------------------------------------------------------------------ setup
    @torch.no_grad()
    def setup(self, probe_batch: dict) -> "Distiller":
        """Run both models once on ``probe_batch`` and build every term from the feature shapes."""
        was_training = self.student.training
        self.student.eval()
        try:
            s = forward_features(
                self.student, self._student_input(probe_batch["x"]), self.student_features, detach=True
            )
            t = forward_features(
                self.teacher, self._teacher_input(probe_batch["x"]), self.teacher_features, detach=True
            )
        finally:
            self.student.train(was_training)
        n_s, n_t = s["logits"].shape[-1], t["logits"].shape[-1]
        if n_s != n_t:
            raise ConfigError(
                f"student {model_name(self.student)} predicts {n_s} classes but teacher "
                f"{model_name(self.teacher)} predicts {n_t}"
            )
        device = s["logits"].device
        student_shapes = {k: v.shape[1:] for k, v in s.items()}
        teacher_shapes = {k: v.shape[1:] for k, v in t.items()}
        for term in self.terms.values():
            term.build(student_shapes, teacher_shapes)
            term.to(device)
        self.is_setup = True
        return self

    # ------------------------------------------------------------------ forward
    def _student_input(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, self.student_leads]

    def _teacher_input(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.teacher_leads is None else x[:, self.teacher_leads]

    def teacher_outputs(self, batch: dict) -> dict[str, torch.Tensor]:
        """Teacher logits and features for ``batch``: from the cache where it holds the crop, else live."""
        x = batch["x"]
        if self.teacher_cache is None:
            return self._run_teacher(x)
        hit, cached = self.teacher_cache.lookup(batch["index"], batch["start"])
        hit = hit.to(x.device)
        if bool(hit.all()):
            return {f: cached[f].to(x.device) for f in self.teacher_features + ["logits"]}
        live = self._run_teacher(x[~hit])
        if not bool(hit.any()):
            return live
        merged = {}
        for f, value in live.items():
            out = value.new_empty((x.shape[0],) + value.shape[1:])
            out[~hit] = value
            out[hit] = cached[f].to(x.device, value.dtype)
            merged[f] = out
        return merged

    def _run_teacher(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        x = self._teacher_input(x)
        if not self.teacher_needs_grad:
            with torch.no_grad():
                return forward_features(self.teacher, x, self.teacher_features, detach=True)
        # Frozen parameters: the input carries the graph so terms can take d(logits)/d(features).
        with torch.enable_grad():
            return forward_features(self.teacher, x.detach().requires_grad_(True), self.teacher_features)

    @staticmethod
    def _record(name: str, term: KDTerm, value, losses: dict, shared: dict, zero: torch.Tensor) -> torch.Tensor:
        """The term's scalar loss from what it returned (a scalar, named parts, or a ``TermOutput``):
        parts are logged as ``<term>/<part>`` and summed, diagnostics logged detached as
        ``metric:<term>/<name>``, provided values put in ``shared`` for later terms."""
        if isinstance(value, TermOutput):
            if set(value.provides) != set(term.provides):
                raise ConfigError(
                    f"term {name!r} declares provides={tuple(term.provides)} but returned {sorted(value.provides)}"
                )
            shared.update(value.provides)
            for diag, diag_value in value.diagnostics.items():
                losses[f"{METRIC_PREFIX}{name}/{diag}"] = diag_value.detach()
            value = value.loss
        elif term.provides:
            raise ConfigError(f"term {name!r} declares provides={tuple(term.provides)} but returned no TermOutput")
        if isinstance(value, dict):
            for part, part_value in value.items():
                losses[f"{name}/{part}"] = part_value
            value = torch.stack(list(value.values())).sum() if value else zero
        return value

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        if not self.is_setup:
            warnings.warn(
                "Distiller.setup(batch) was not called before training: building the terms now; "
                "their heads are trained only if the optimizer is created afterwards",
                stacklevel=2,
            )
            self.setup(batch)
        s = forward_features(self.student, self._student_input(batch["x"]), self.student_features)
        t = self.teacher_outputs(batch)
        t_detached = {k: v.detach() for k, v in t.items()}
        labeled = batch.get("labeled")
        labeled = (
            torch.ones(batch["x"].shape[0], dtype=torch.bool, device=batch["x"].device)
            if labeled is None
            else torch.as_tensor(labeled, dtype=torch.bool, device=batch["x"].device)
        )
        zero = s["logits"].sum() * 0.0  # keeps "total" attached to the graph when every part is 0
        losses = {"ce": zero}
        if labeled.any():
            y = batch["y"].to(s["logits"].device, s["logits"].dtype)
            losses["ce"] = F.binary_cross_entropy_with_logits(s["logits"][labeled], y[labeled])
        kd = zero
        shared: dict[str, torch.Tensor] = {}  # values one term provides to a later one (check_recipe_contract)
        for name, term in self.terms.items():
            t_term = {**(t if term.needs_teacher_grad else t_detached), **shared}
            if term.label_free:
                value = term(s, t_term, batch)
            elif labeled.any():
                value = term(_subset(s, labeled), _subset(t_term, labeled), _subset(batch, labeled))
            else:  # a term that needs labels, on a batch without any
                losses[name] = zero
                continue
            value = self._record(name, term, value, losses, shared, zero)
            losses[name] = value
            kd = kd + self.weights[name] * value
        if self.alpha is None:
            losses["total"] = self.ce_weight * losses["ce"] + kd
        else:
            losses["total"] = (1 - self.alpha) * losses["ce"] + self.alpha * kd
        return losses
