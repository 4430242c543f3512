"""EVL-ECG optimal-transport feature matching between token sets of different sizes."""

from __future__ import annotations

import logging
import math

import torch
from torch import nn

from ...errors import ConfigError, ModelError, TrainingError
from ..base import KDTerm, check_positive, register_term
from .guards import fixed_projection
from .tokens import require_tokens

log = logging.getLogger(__name__)

SOLVERS = ("batched", "pot")


def log_sweep(
    cost: torch.Tensor, f: torch.Tensor, g: torch.Tensor, epsilon: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """One exact log-domain Sinkhorn iteration with uniform marginals ``a = 1/n``, ``b = 1/m``::

    f_i = eps log a_i - eps LSE_j((g_j - C_ij) / eps),   g_j = eps log b_j - eps LSE_i((f_i - C_ij) / eps)
    """
    n, m = cost.shape[1:]
    f = epsilon * (-math.log(n) - torch.logsumexp((g[:, None, :] - cost) / epsilon, dim=2))
    g = epsilon * (-math.log(m) - torch.logsumexp((f[:, :, None] - cost) / epsilon, dim=1))
    return f, g


def sinkhorn_log(
    cost: torch.Tensor, epsilon: float, max_iter: int, tol: float, check_every: int = 10
) -> tuple[torch.Tensor, float, int]:
    """Batched log-stabilised Sinkhorn with uniform marginals (Cuturi 2013; Schmitzer 2019, "Stabilized
    sparse scaling algorithms for entropy regularized transport problems"; Peyre & Cuturi 2019, sec. 4.4).

    The plan is kept in the log domain through dual potentials ``f``, ``g``::

        P_ij = exp((f_i + g_j - C_ij) / eps)

    After one exact log-domain iteration (``log_sweep``), blocks of ``check_every`` scaling
    iterations run on the stabilised kernel ``K~ = P`` (``u = a / K~ v``, ``v = b / K~^T u``: batched
    matrix-vector products, no ``exp`` per iteration) and are then absorbed into the potentials
    (``f += eps log u``, ``g += eps log v``), so nothing under- or overflows; a block whose scalings
    leave the float range is redone with exact log-domain iterations. The error, checked after each
    block, is the largest (over the batch) L1 violation of the row marginals ``sum_i |P 1 - a|_i``
    (the column marginals are exact after each ``v`` update). Returns ``(plan (B, n, m), error,
    iterations)``. No gradient is tracked (the caller detaches the plan).
    """
    with torch.no_grad():
        b, n, m = cost.shape
        f, g = log_sweep(cost, cost.new_zeros(b, n), cost.new_zeros(b, m), epsilon)
        it = 1
        while True:
            plan = ((f[:, :, None] + g[:, None, :] - cost) / epsilon).exp()
            error = float((plan.sum(2) - 1.0 / n).abs().sum(1).max())
            if error < tol or it >= max_iter:
                return plan, error, it
            steps = min(check_every, max_iter - it)
            u, v = cost.new_ones(b, n), cost.new_ones(b, m)
            for _ in range(steps):  # multiply-and-sum beats bmm for these matrix-vector products
                u = (1.0 / n) / (plan * v[:, None, :]).sum(2)
                v = (1.0 / m) / (plan * u[:, :, None]).sum(1)
            it += steps
            if bool(torch.isfinite(u).all() and torch.isfinite(v).all() and (u > 0).all() and (v > 0).all()):
                f, g = f + epsilon * u.log(), g + epsilon * v.log()
            else:
                for _ in range(steps):
                    f, g = log_sweep(cost, f, g, epsilon)


def sinkhorn_symmetric(
    cost: torch.Tensor, epsilon: float, max_iter: int, tol: float, check_every: int = 10
) -> tuple[torch.Tensor, float, int]:
    """Log-domain Sinkhorn for ``OT(a, a)`` with a symmetric cost (B, n, n) (Feydy et al. 2019, eq. 25).

    The averaged fixed-point update ``f <- (f + eps log a - eps LSE_j((f_j - C_ij) / eps)) / 2``
    converges in a few iterations where the plain alternation oscillates; ``P = exp((f_i + f_j -
    C_ij) / eps)``. Same returns and error as ``sinkhorn_log``.
    """
    with torch.no_grad():
        b, n, _ = cost.shape
        log_a = -math.log(n)
        f = cost.new_zeros(b, n)
        error, it = math.inf, 0
        for it in range(1, max_iter + 1):
            f = 0.5 * (f + epsilon * (log_a - torch.logsumexp((f[:, None, :] - cost) / epsilon, dim=2)))
            if it % check_every == 0 or it == max_iter:
                row_mass = torch.logsumexp((f[:, :, None] + f[:, None, :] - cost) / epsilon, dim=2).exp()
                error = float((row_mass - 1.0 / n).abs().sum(1).max())
                if error < tol:
                    break
        plan = ((f[:, :, None] + f[:, None, :] - cost) / epsilon).exp()
    return plan, error, it


def sinkhorn_pot(cost: torch.Tensor, epsilon: float, max_iter: int, tol: float) -> tuple[torch.Tensor, float, int]:
    """The same problem solved sample by sample with POT's log-domain Sinkhorn (torch backend).

    ``ot.sinkhorn(a, b, C, reg=eps, method="sinkhorn_log", numItermax, stopThr, log=True)``; the error
    is POT's own (norm of the column-marginal violation, last entry of ``log["err"]``), max over the batch.
    """
    import ot

    plans, errors, iters = [], [], []
    with torch.no_grad():
        for c in cost:
            a = c.new_full((c.shape[0],), 1.0 / c.shape[0])
            b = c.new_full((c.shape[1],), 1.0 / c.shape[1])
            plan, info = ot.sinkhorn(
                a, b, c, reg=epsilon, method="sinkhorn_log", numItermax=max_iter, stopThr=tol, log=True
            )
            plans.append(plan)
            errors.append(float(info["err"][-1]) if info["err"] else math.inf)
            iters.append(int(info["niter"]))
    return torch.stack(plans), max(errors), max(iters)


def squared_distances(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``C_ij = ||x_i - y_j||^2 = |x_i|^2 + |y_j|^2 - 2 x_i.y_j`` for ``x`` (B, n, d), ``y`` (B, m, d)
    -> (B, n, m), clamped at 0 (a matrix product: no (B, n, m, d) intermediate)."""
    cross = x @ y.transpose(1, 2)
    return (x.pow(2).sum(-1)[:, :, None] + y.pow(2).sum(-1)[:, None, :] - 2 * cross).clamp_min(0)


def entropy_term(plan: torch.Tensor) -> torch.Tensor:
    """``KL(P || a b^T)`` per sample for uniform ``a``, ``b`` (B,), from a detached plan."""
    n, m = plan.shape[1:]
    return (torch.xlogy(plan, plan) + plan * math.log(n * m)).sum((1, 2))


@register_term("ot")
class OTFeatureMatching(KDTerm):
    """Entropic OT between student and teacher token sets (EVL-ECG, arXiv 2605.29977; Cuturi 2013).

    Student tokens (B, N_s, D_s) are projected by a learned linear map ``W_s`` (with bias) and
    teacher tokens (B, N_t, D_t) by a FIXED map ``P_t`` to a shared ``dim`` (64); per record, with
    uniform marginals ``a = 1/N_s``, ``b = 1/N_t``::

        C_ij = ||W_s s_i - P_t stopgrad(t_j)||^2 / mean_ij(...)   squared L2, divided by its mean
        P*   = argmin_{P in U(a, b)} <P, C> - eps H(P)      log-domain Sinkhorn, float64
        L    = mean_b <stopgrad(P*), C>

    ``P_t`` is a frozen buffer (``teacher_proj``, saved in the state dict): the identity when
    ``D_t == dim``, else a random orthogonal matrix from a fixed seed (``fixed_projection``: an
    isometry when ``D_t < dim``, a random orthonormal projection otherwise). A learned teacher-side
    map would let both sides agree on keeping only what aligns trivially (down to a single
    direction); with ``P_t`` fixed the student must reproduce the teacher's token cloud as a whole.
    Detaching the plan is exact: by the envelope theorem the gradient of the entropic OT value
    w.r.t. ``C`` is ``P*``. The mean normaliser is NOT detached, so shrinking the projections cannot
    lower the loss (``<P*, C> / mean(C) <= 1``: the independent coupling costs exactly the mean).
    The solver runs in float64 (in float32 Sinkhorn stalls above usual thresholds) and the plan is
    cast back. A run that stops at ``max_iter`` above ``tol`` logs one warning with the error reached.

    ``debiased=True`` gives the Sinkhorn divergence (Feydy et al. 2019)
    ``S = OT_eps(s, t) - (OT_eps(s, s) + OT_eps(t, t)) / 2`` with the full entropic values
    ``OT_eps = <P*, C> + eps KL(P* || a b^T)`` (all three costs divided by the same mean of the
    student-teacher cost; the two self-transport terms use the symmetric Sinkhorn update), which
    is ~0 for identical token sets.

    Hyperparameters: ``dim`` 64, ``epsilon`` 0.05 (relative to the mean cost), ``max_iter`` 300,
    ``tol`` 1e-4 (L1 row-marginal error), ``solver`` "batched" (ours, vectorised over B) or "pot"
    (POT, one record at a time; a test checks they agree), ``feature`` "tokens".
    Side outputs of the last forward: ``last_plan`` (B, N_s, N_t), detached; ``last_error`` and
    ``last_iterations`` of its student-teacher Sinkhorn solve.
    """

    def __init__(
        self,
        dim: int = 64,
        epsilon: float = 0.05,
        max_iter: int = 300,
        tol: float = 1e-4,
        debiased: bool = False,
        solver: str = "batched",
        feature: str = "tokens",
    ):
        super().__init__()
        self.dim = int(check_positive("ot dim", dim))
        self.epsilon = check_positive("ot epsilon", epsilon)
        self.max_iter = int(check_positive("ot max_iter", max_iter))
        self.tol = check_positive("ot tol", tol)
        if solver not in SOLVERS:
            raise ConfigError(f"ot solver must be one of {SOLVERS}; got {solver!r}")
        self.solver = solver
        self.debiased = bool(debiased)
        self.feature = feature
        self.student_features = (feature,)
        self.teacher_features = (feature,)
        self.student_proj: nn.Linear | None = None
        self.last_plan: torch.Tensor | None = None
        self.last_error: float = math.nan
        self.last_iterations: int = 0
        self._warned = False

    def build(self, student_shapes, teacher_shapes):
        self.student_proj = nn.Linear(student_shapes[self.feature][-1], self.dim)
        self.register_buffer("teacher_proj", fixed_projection(self.dim, teacher_shapes[self.feature][-1]))

    def solve(self, cost: torch.Tensor, symmetric: bool = False) -> torch.Tensor:
        """The detached optimal plan of each cost matrix (float64 solve, cast back to ``cost.dtype``);
        ``symmetric`` marks a self-transport problem ``OT(a, a)`` (symmetric solver)."""
        solver = sinkhorn_symmetric if symmetric else sinkhorn_log if self.solver == "batched" else sinkhorn_pot
        plan, error, iters = solver(cost.detach().double(), self.epsilon, self.max_iter, self.tol)
        if not symmetric:
            self.last_error, self.last_iterations = error, iters
        if not torch.isfinite(plan).all():
            raise TrainingError(
                f"ot: the transport plan has NaN/inf entries (epsilon={self.epsilon}); the cost "
                f"holds NaN/inf (check the features) or is too large for epsilon: raise "
                f"epsilon or keep the cost normalised by its mean"
            )
        if error > self.tol and not self._warned:
            self._warned = True
            log.warning(
                "ot: Sinkhorn did not converge: marginal error %.3g > tol %.3g after %d iterations "
                "(epsilon=%g); raise max_iter or epsilon",
                error,
                self.tol,
                iters,
                self.epsilon,
            )
        return plan.to(cost.dtype)

    def transport_value(
        self, cost: torch.Tensor, entropic: bool, symmetric: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(<P*, C> [+ eps KL(P*)] per record (B,), P*)``."""
        plan = self.solve(cost, symmetric)
        value = (plan * cost).sum((1, 2))
        if entropic:
            value = value + self.epsilon * entropy_term(plan)
        return value, plan

    def forward(self, s, t, batch=None):
        if self.student_proj is None:
            raise ModelError("term 'ot' is not built; call build(student_shapes, teacher_shapes) first")
        xs = self.student_proj(
            require_tokens(self.name, "student", self.feature, s[self.feature], self.student_proj.in_features)
        )
        xt = (
            require_tokens(self.name, "teacher", self.feature, t[self.feature], self.teacher_proj.shape[1]).detach()
            @ self.teacher_proj.t()
        )
        cost = squared_distances(xs, xt)
        scale = cost.mean((1, 2), keepdim=True).clamp_min(torch.finfo(cost.dtype).tiny)
        value, plan = self.transport_value(cost / scale, entropic=self.debiased)
        self.last_plan = plan.detach()
        if self.debiased:
            value_ss, _ = self.transport_value(squared_distances(xs, xs) / scale, entropic=True, symmetric=True)
            value_tt, _ = self.transport_value(squared_distances(xt, xt) / scale, entropic=True, symmetric=True)
            value = value - 0.5 * (value_ss + value_tt)
        return value.mean()
