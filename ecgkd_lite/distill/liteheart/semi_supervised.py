"""LiteHeart semi-supervised terms: confident teacher pseudo-labels, weak/strong consistency, ECG augmentations.

Every augmentation is ``f(x, generator, ...) -> new tensor`` on a (B, L, T) batch; random draws
come from the given CPU ``torch.Generator`` (seeded by the caller) so a run is reproducible.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ...data.leads import lead_indices
from ...errors import ConfigError
from ..base import KDTerm, TermOutput, check_non_negative, check_positive, register_term


def _rand(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    """Uniform [0, 1) draws from ``generator`` (CPU), moved to ``like``'s device and dtype."""
    return torch.rand(shape, generator=generator).to(like.device, like.dtype)


def _fraction(name: str, value: float) -> float:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{name} must be in [0, 1); got {value!r}")
    return value


def gaussian_noise(x: torch.Tensor, generator: torch.Generator, std: float = 0.05) -> torch.Tensor:
    """``x + N(0, std^2)`` per sample (muscle / amplifier noise; ``std`` in the signal's units)."""
    check_non_negative("gaussian_noise std", std)
    return x + std * torch.randn(x.shape, generator=generator).to(x.device, x.dtype)


def baseline_wander(
    x: torch.Tensor,
    generator: torch.Generator,
    amplitude: float = 0.1,
    fs: float = 100.0,
    freq_range: tuple[float, float] = (0.05, 0.5),
) -> torch.Tensor:
    """Add a slow sinusoid per record (respiration): frequency in ``freq_range`` Hz, random phase,
    amplitude up to ``amplitude`` scaled per lead by U(0.5, 1)."""
    check_positive("baseline_wander fs", fs)
    low, high = freq_range
    if not 0 <= low <= high:
        raise ConfigError(f"baseline_wander freq_range must be (low, high) with 0 <= low <= high; got {freq_range!r}")
    b, n_leads, n = x.shape
    freq = low + (high - low) * _rand((b, 1, 1), generator, x)
    phase = 2 * math.pi * _rand((b, 1, 1), generator, x)
    gain = amplitude * (0.5 + 0.5 * _rand((b, n_leads, 1), generator, x))
    time = torch.arange(n, device=x.device, dtype=x.dtype) / fs
    return x + gain * torch.sin(2 * math.pi * freq * time + phase)


def burst_dropout(x: torch.Tensor, generator: torch.Generator, max_fraction: float = 0.1) -> torch.Tensor:
    """Zero one window per record (all leads; electrode contact loss), up to ``max_fraction`` of T long."""
    _fraction("burst_dropout max_fraction", max_fraction)
    b, _, n = x.shape
    length = (max_fraction * n * _rand((b, 1), generator, x)).long()
    start = ((n - length) * _rand((b, 1), generator, x)).long()
    steps = torch.arange(n, device=x.device)[None, :]
    keep = (steps < start) | (steps >= start + length)
    return x * keep[:, None, :].to(x.dtype)


def time_shift(x: torch.Tensor, generator: torch.Generator, max_fraction: float = 0.1) -> torch.Tensor:
    """Circularly shift each record by a random whole number of samples in +-``max_fraction`` * T."""
    _fraction("time_shift max_fraction", max_fraction)
    b, _, n = x.shape
    limit = int(max_fraction * n)
    shift = torch.randint(-limit, limit + 1, (b, 1), generator=generator).to(x.device)
    index = (torch.arange(n, device=x.device)[None, :] - shift) % n
    return torch.gather(x, 2, index[:, None, :].expand_as(x))


def amplitude_scale(x: torch.Tensor, generator: torch.Generator, low: float = 0.8, high: float = 1.2) -> torch.Tensor:
    """Multiply each record by a gain drawn from U(low, high) (electrode impedance, body habitus)."""
    if not 0 < low <= high:
        raise ConfigError(f"amplitude_scale needs 0 < low <= high; got low={low!r}, high={high!r}")
    return x * (low + (high - low) * _rand((x.shape[0], 1, 1), generator, x))


def weak_view(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """FixMatch's weak view, for ECG: a small shift (+-5 %) and light noise (std 0.01)."""
    return gaussian_noise(time_shift(x, generator, 0.05), generator, 0.01)


def strong_view(x: torch.Tensor, generator: torch.Generator, fs: float = 100.0) -> torch.Tensor:
    """The strong view: shift +-10 %, gain U(0.8, 1.2), baseline wander 0.1, noise 0.05, one burst <= 10 %."""
    x = amplitude_scale(time_shift(x, generator, 0.1), generator)
    x = gaussian_noise(baseline_wander(x, generator, 0.1, fs), generator, 0.05)
    return burst_dropout(x, generator, 0.1)


def confident_targets(probs: torch.Tensor, tau_hi: float, tau_lo: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(hard labels 1[p > 0.5], mask of confident entries p > tau_hi or p < tau_lo)``, both (B, C) float."""
    return (probs > 0.5).float(), ((probs > tau_hi) | (probs < tau_lo)).float()


def masked_bce(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``sum(mask * BCE) / (B * C)``: masked entries count as zero (FixMatch normalises by the batch)."""
    return (mask * F.binary_cross_entropy_with_logits(logits, targets, reduction="none")).sum() / logits.numel()


def check_thresholds(term: str, tau_hi: float, tau_lo: float) -> tuple[float, float]:
    """ConfigError unless ``0 <= tau_lo < 0.5 < tau_hi <= 1``."""
    if not (0.0 <= tau_lo < 0.5 < tau_hi <= 1.0):
        raise ConfigError(
            f"{term} thresholds need 0 <= tau_lo < 0.5 < tau_hi <= 1; got tau_lo={tau_lo!r}, tau_hi={tau_hi!r}"
        )
    return float(tau_hi), float(tau_lo)


@register_term("pseudo_label")
class PseudoLabelKD(KDTerm):
    """Confidence-thresholded teacher pseudo-labels (Lee 2013; thresholds as in FixMatch, Sohn et al. 2020).

    With ``p = sigmoid(teacher logits)`` (B, C), per class entry::

        y_hat = 1[p > 0.5],   m = 1[p > tau_hi or p < tau_lo] (* 1[record unlabeled] if unlabeled_only)
        L     = sum(m * BCE(student logits, y_hat)) / (B * C)

    Defaults: ``tau_hi`` 0.9, ``tau_lo`` 0.1, ``unlabeled_only`` False (every record, labeled or
    not, as in the brief). Label-free. Also returns the detached diagnostic
    ``confident_fraction`` (mean of ``m``).
    """

    def __init__(self, tau_hi: float = 0.9, tau_lo: float = 0.1, unlabeled_only: bool = False):
        super().__init__()
        self.tau_hi, self.tau_lo = check_thresholds("pseudo_label", tau_hi, tau_lo)
        self.unlabeled_only = bool(unlabeled_only)

    def forward(self, s, t, batch=None):
        targets, mask = confident_targets(torch.sigmoid(t["logits"].detach()), self.tau_hi, self.tau_lo)
        if self.unlabeled_only:
            if batch is None or "labeled" not in batch:
                raise ConfigError("pseudo_label(unlabeled_only=True) needs batch['labeled'] (B,) bool")
            mask = mask * (~batch["labeled"].bool()).to(mask)[:, None]
        return TermOutput(
            {"bce": masked_bce(s["logits"], targets, mask)}, diagnostics={"confident_fraction": mask.mean().detach()}
        )


@register_term("consistency")
class WeakStrongConsistency(KDTerm):
    """Weak/strong consistency of the student (FixMatch, Sohn et al. 2020), for multi-label sigmoids.

    With ``p_w = sigmoid(student(weak_view(x)))`` (no gradient) and ``z = student(strong_view(x))``::

        y_hat = 1[p_w > 0.5],   m = 1[p_w > tau_hi or p_w < tau_lo]
        L     = sum(m * BCE(z, y_hat)) / (B * C)

    The adaptation to multi-label: FixMatch's max-softmax confidence becomes a per-class two-sided
    threshold. The views need two extra student forwards, which the term runs itself
    (``needs_student``): the distiller calls ``term.bind(student, student_leads)`` once; the term
    slices ``batch["x"]`` (B, 12, T) to the student's leads. The student is held outside the module
    tree, so its parameters are not registered twice. Defaults: ``tau_hi`` 0.9, ``tau_lo`` 0.1,
    ``fs`` 100 Hz (for baseline wander), ``seed`` 0 for the augmentation generator, whose state is
    part of the term's ``state_dict`` (``get_extra_state``), so a resumed run draws the same views.
    Label-free. Also returns the diagnostic ``confident_fraction``.
    """

    needs_student = True

    def __init__(self, tau_hi: float = 0.9, tau_lo: float = 0.1, fs: float = 100.0, seed: int = 0):
        super().__init__()
        self.tau_hi, self.tau_lo = check_thresholds("consistency", tau_hi, tau_lo)
        self.fs = check_positive("consistency fs", fs)
        self.generator = torch.Generator().manual_seed(int(seed))
        self._student: tuple[nn.Module, list[int] | None] | None = None

    def bind(self, student: nn.Module, student_leads: Sequence[str] | Sequence[int] | str | None = None) -> None:
        """Give the term the student to run on the augmented views; ``student_leads`` (names or
        indices into the 12 standard leads; None = use ``batch["x"]`` as it is)."""
        if student_leads is None:
            leads = None
        elif isinstance(student_leads, str) or any(isinstance(lead, str) for lead in student_leads):
            leads = lead_indices(student_leads)
        else:
            leads = [int(lead) for lead in student_leads]
        self._student = (student, leads)

    def get_extra_state(self) -> torch.Tensor:
        """The augmentation generator's state (saved in checkpoints with the objective)."""
        return self.generator.get_state()

    def set_extra_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state)

    def forward(self, s, t, batch=None):
        if self._student is None:
            raise ConfigError("term 'consistency' has no student: call term.bind(student, student_leads) first")
        if batch is None or "x" not in batch:
            raise ConfigError("term 'consistency' needs batch['x'] (B, 12, T) to build the weak and strong views")
        student, leads = self._student
        x = batch["x"] if leads is None else batch["x"][:, leads]
        with torch.no_grad():
            probs = torch.sigmoid(student(weak_view(x, self.generator)))
        targets, mask = confident_targets(probs, self.tau_hi, self.tau_lo)
        strong_logits = student(strong_view(x, self.generator, self.fs))
        return TermOutput(
            {"bce": masked_bce(strong_logits, targets, mask)}, diagnostics={"confident_fraction": mask.mean().detach()}
        )
