"""Mean teacher (Tarvainen & Valpola 2017) on lead I: the semi-supervised reference with no 12-lead teacher."""

from __future__ import annotations

import copy
from typing import Sequence

import torch
from torch import nn

from ...data.leads import LEADS12
from ...errors import ConfigError
from ..base import KDTerm, TermOutput, register_term
from ..distiller import resolve_leads
from ..liteheart.semi_supervised import weak_view


def needs_teacher(terms) -> bool:
    """Whether any of ``terms`` (``[(weight, KDTerm)]``) reads the 12-lead teacher (a term's
    ``needs_teacher``, True unless it says otherwise)."""
    return any(getattr(term, "needs_teacher", True) for _, term in terms)


class NoTeacher(nn.Module):
    """Stands in for the 12-lead teacher in a Distiller whose terms use none (``needs_teacher``
    False): no parameters, zero logits of the right width, so no 12-lead model is trained, loaded
    or run."""

    name = "no_teacher"

    def __init__(self, n_classes: int):
        super().__init__()
        self.n_classes = int(n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(x.shape[0], self.n_classes)


@register_term("mean_teacher")
class MeanTeacher(KDTerm):
    """An EMA copy of the student is the teacher; consistency on the unlabeled records.

    After every optimiser step (applied at the start of the next training forward, while the
    student is in train mode) ``ema <- decay * ema + (1 - decay) * student`` for the parameters;
    buffers (BatchNorm statistics) are copied. With U the unlabeled records of the batch,
    ``p_s = sigmoid(student(x))`` (the Distiller's forward on the crop) and
    ``p_e = sigmoid(ema(weak_view(x)))`` (no gradient; the EMA model in eval mode)::

        L = 1/|U| sum_{i in U} sum_c (p_s,ic - p_e,ic)^2

    (the mean teacher's squared-error consistency; zero without unlabeled records). Defaults:
    ``decay`` 0.99 (runs here are a few hundred steps: 0.999 would barely move), ``unlabeled_only``
    True, ``seed`` 0 of the weak-view generator. The EMA model and the generator are part of the
    term's ``state_dict`` (so of every checkpoint: a resumed run is exact). ``needs_teacher`` is
    False: the Distiller gets a ``NoTeacher`` and the 12-lead teacher takes no part.
    """

    teacher_features = ()
    needs_student = True
    needs_teacher = False

    def __init__(self, decay: float = 0.99, unlabeled_only: bool = True, seed: int = 0):
        super().__init__()
        if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 <= decay < 1:
            raise ConfigError(f"mean_teacher decay must lie in [0, 1); got {decay!r}")
        self.decay = float(decay)
        self.unlabeled_only = bool(unlabeled_only)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.ema: nn.Module | None = None
        self._student: tuple[nn.Module, list[int] | None] | None = None

    def bind(self, student: nn.Module, student_leads: Sequence[str] | Sequence[int] | str | None = None) -> None:
        """Hold the student (outside the module tree) and make the EMA copy (inside it, frozen)."""
        self._student = (student, resolve_leads(student_leads, LEADS12))
        self.ema = copy.deepcopy(student).requires_grad_(False).eval()

    def get_extra_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)

    @torch.no_grad()
    def update(self) -> None:
        """One EMA step towards the student's current weights."""
        student, _ = self._student
        for e, p in zip(self.ema.parameters(), student.parameters()):
            e.mul_(self.decay).add_(p.detach(), alpha=1 - self.decay)
        for e, b in zip(self.ema.buffers(), student.buffers()):
            e.copy_(b)

    def forward(self, s, t, batch=None):
        if self._student is None or self.ema is None:
            raise ConfigError("term 'mean_teacher' has no student: call term.bind(student, student_leads) first")
        if batch is None or "x" not in batch or (self.unlabeled_only and "labeled" not in batch):
            raise ConfigError("term 'mean_teacher' needs batch['x'] (and batch['labeled'] when unlabeled_only)")
        student, leads = self._student
        if student.training:
            self.update()
        x = batch["x"] if leads is None else batch["x"][:, leads]
        keep = torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
        if self.unlabeled_only:
            keep = ~torch.as_tensor(batch["labeled"], dtype=torch.bool, device=x.device)
        zero = s["logits"].sum() * 0.0
        if not bool(keep.any()):
            return TermOutput({"mse": zero}, diagnostics={"ema_gap": zero.detach()})
        self.ema.eval()
        with torch.no_grad():
            p_ema = torch.sigmoid(self.ema(weak_view(x[keep], self.generator)).float())
        p_s = torch.sigmoid(s["logits"][keep].float())
        loss = ((p_s - p_ema) ** 2).sum(1).mean()
        return TermOutput({"mse": loss}, diagnostics={"ema_gap": (p_s - p_ema).abs().mean().detach()})
