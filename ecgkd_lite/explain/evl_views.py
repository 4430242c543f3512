"""Look inside a trained EVL-ECG student: its trained MHCA attention, OT plans and aligned teacher summary.

A distilled student's checkpoint keeps the objective's learnable state (the MHCA projections and
query/key maps, the OT projection heads) in ``extra_state["objective_state"]`` under keys
``terms.<term>.<param>``. The engine writes that state into ``last.pt`` (``best.pt`` keeps the
student weights of the best epoch only), so the student and its alignment heads are rebuilt from the
*same* file: a student from one epoch with heads from another would show maps neither ever used.

>>> distiller, epoch = trained_distiller(fit, teacher.model, "evl_ecg")     # doctest: +SKIP
>>> views = evl_views(distiller, x)                                          # doctest: +SKIP
>>> views.attention.shape        # (B, heads, N_s, N_t)                        doctest: +SKIP
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

from ..data.leads import LEADS12
from ..distill import Distiller, build_recipe
from ..distill.capture import forward_features
from ..errors import CheckpointError, ModelError
from ..train.checkpoint import load_checkpoint
from ..train.engine import BEST, LAST

TERM_PREFIX = "terms."
TEACHER_PREFIX = "teacher."


@dataclass
class EVLViews:
    """What the EVL-ECG terms see and produce on one batch (all detached, on the CPU).

    ``attention`` (B, heads, N_s, N_t) and ``aligned`` (B, N_s, d) come from the ``mhca`` term,
    ``plan`` (B, N_s, N_t) from ``ot``; each is None when the recipe has no such term. ``losses``
    holds each term's value on the batch.
    """

    student_tokens: torch.Tensor
    teacher_tokens: torch.Tensor
    attention: torch.Tensor | None = None
    aligned: torch.Tensor | None = None
    plan: torch.Tensor | None = None
    losses: dict[str, float] = field(default_factory=dict)


def objective_checkpoint(checkpoint: str | Path) -> tuple[Path, dict]:
    """The checkpoint file of a run that holds the objective state, and its payload.

    ``checkpoint`` is a run's ``best.pt`` (``FitResult.checkpoint``), its ``last.pt`` or the run
    folder. ``best.pt`` is used when it carries ``extra_state["objective_state"]``, else ``last.pt``
    beside it. CheckpointError when neither holds the state.
    """
    path = Path(checkpoint)
    candidates = [path / BEST, path / LAST] if path.is_dir() else [path, path.with_name(LAST)]
    for candidate in dict.fromkeys(candidates):
        if not candidate.is_file():
            continue
        payload = load_checkpoint(candidate)
        extra = payload.get("extra_state") or {}
        if extra.get("objective_state"):
            return candidate, payload
    raise CheckpointError(
        f"checkpoint {path} holds no objective state (extra_state['objective_state']) in "
        f"{[c.name for c in dict.fromkeys(candidates)]}: it was not trained with a Distiller "
        "by the training engine, or its last.pt was deleted; retrain it with force=True"
    )


def _split_state(state: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}


def check_same_teacher(teacher: nn.Module, saved: dict, path: Path) -> None:
    """CheckpointError unless ``teacher``'s weights equal the teacher weights saved in the objective state."""
    if not saved:
        return
    current = teacher.state_dict()
    differ = sorted(
        k
        for k, v in saved.items()
        if k not in current or current[k].shape != v.shape or not torch.equal(current[k].cpu(), v.cpu())
    )
    if differ:
        raise CheckpointError(
            f"checkpoint {path} was distilled from another teacher ({len(differ)} teacher "
            f"tensors differ, e.g. {differ[0]!r}); pass the teacher the student was trained with"
        )


def trained_distiller(
    fit,
    teacher: nn.Module,
    method: str | dict = "evl_ecg",
    *,
    student_leads: Sequence[str] = ("I",),
    data_leads: Sequence[str] = LEADS12,
    checkpoint: str | Path | None = None,
) -> tuple[Distiller, int]:
    """The Distiller a student was trained with, its terms' learned weights restored.

    ``fit`` is the student's ``FitResult`` (its model is copied, never modified); ``teacher`` the
    teacher model it was distilled from (checked against the teacher weights the checkpoint
    saved); ``method`` the recipe name or config it was trained with. The student weights and the
    term weights are both read from the file holding the objective state (``objective_checkpoint``),
    so they belong to the same epoch. Returns ``(distiller in eval mode, that epoch)``.

    CheckpointError when the checkpoint has no objective state, another teacher, or term weights
    that do not fit the recipe's terms (e.g. another ``dim``).
    """
    path, payload = objective_checkpoint(checkpoint if checkpoint is not None else fit.checkpoint)
    student = copy.deepcopy(fit.model)
    load_checkpoint(path, student)
    state = payload["extra_state"]["objective_state"]
    check_same_teacher(teacher, _split_state(state, TEACHER_PREFIX), path)
    distiller = Distiller(
        teacher, student, build_recipe(method), student_leads=list(student_leads), data_leads=data_leads
    )
    samples = int(payload["config"].get("crop_samples") or 250)
    distiller.setup({"x": torch.zeros(1, len(data_leads), samples)})
    try:
        distiller.terms.load_state_dict(_split_state(state, TERM_PREFIX))
    except RuntimeError as err:
        raise CheckpointError(
            f"checkpoint {path}: its term weights do not fit the recipe {method!r} "
            f"(was it trained with another recipe?): {err}"
        ) from err
    return distiller.eval(), int(payload["epoch"])


@torch.no_grad()
def evl_views(distiller: Distiller, x: torch.Tensor, feature: str = "tokens") -> EVLViews:
    """Run the student, the teacher and the terms (in recipe order, as the Distiller does) on ``x``.

    ``x`` (B, L, T) holds the data's leads; the student and teacher inputs are taken from it with
    the Distiller's lead selections. ModelError unless both models give ``feature`` as (B, N, D).
    """
    x = torch.as_tensor(x, dtype=torch.float32)
    s_leads = distiller.student_leads
    t_leads = distiller.teacher_leads
    s = forward_features(
        distiller.student, x if s_leads is None else x[:, s_leads], distiller.student_features, detach=True
    )
    t = forward_features(
        distiller.teacher, x if t_leads is None else x[:, t_leads], distiller.teacher_features, detach=True
    )
    for role, feats in (("student", s), ("teacher", t)):
        if feature not in feats or feats[feature].dim() != 3:
            shape = tuple(feats[feature].shape) if feature in feats else "absent"
            raise ModelError(f"evl_views needs the {role} feature {feature!r} shaped (B, N, D); got {shape}")
    views = EVLViews(student_tokens=s[feature], teacher_tokens=t[feature])
    shared: dict[str, torch.Tensor] = {}  # what each term provides to the later ones, as in the Distiller
    for name, term in distiller.terms.items():
        value = term(s, {**t, **shared})
        views.losses[name] = float(distiller._record(name, term, value, {}, shared, torch.zeros(())))
    if "mhca" in distiller.terms:
        views.attention = distiller.terms["mhca"].last_attention
        views.aligned = shared.get("aligned")
    if "ot" in distiller.terms:
        views.plan = distiller.terms["ot"].last_plan
    return views


def token_grid(model: nn.Module, n_tokens: int) -> tuple[int, int]:
    """``(leads, times)`` of a model's token sequence: lead-major patch tokens of the patch
    Transformer give ``(in_leads, n_tokens / in_leads)``; the time tokens of a CNN or
    CNN+Transformer give ``(1, n_tokens)`` (their channels mix every input lead)."""
    config = getattr(model, "config", {}) or {}
    if config.get("name") == "patch_transformer":
        leads = int(config["in_leads"])
        if n_tokens % leads:
            raise ModelError(f"patch_transformer has {leads} leads but {n_tokens} tokens (not lead-major)")
        return leads, n_tokens // leads
    return 1, n_tokens


def token_centres(n_tokens: int, n_samples: int, fs: float) -> torch.Tensor:
    """Centre time (s) of each of ``n_tokens`` tokens tiling an ``n_samples`` crop evenly (strided
    convolutions and patches both tile the crop): ``(i + 0.5) * n_samples / (n_tokens * fs)``."""
    return (torch.arange(n_tokens, dtype=torch.float64) + 0.5) * n_samples / (n_tokens * fs)


__all__ = [
    "EVLViews",
    "check_same_teacher",
    "evl_views",
    "objective_checkpoint",
    "token_centres",
    "token_grid",
    "trained_distiller",
]
