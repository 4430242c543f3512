"""EVL-ECG collapse-safe terms: the fixed OT teacher projection, the teacher-only relation target
and the MHCA token-variance guard (golden values, gradient paths, closed-form gradients)."""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest
import torch
from torch import nn

from ecgkd_lite.distill.base import TermOutput, build_term
from ecgkd_lite.distill.evl import evl_recipe
from ecgkd_lite.distill.evl.guards import fixed_projection, variance_hinge
from ecgkd_lite.distill.recipe import Recipe

torch.set_num_threads(1)

B, N_S, D_S, N_T, D_T = 3, 5, 6, 7, 10


def tokens(seed: int, n: int, d: int, b: int = B, dtype=torch.float32) -> torch.Tensor:
    return torch.randn(b, n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def built(name: str, d_s: int = D_S, d_t: int = D_T, **params):
    torch.manual_seed(0)
    term = build_term(name, **params)
    term.build({"tokens": torch.Size([N_S, d_s])}, {"tokens": torch.Size([N_T, d_t])})
    return term


def total(out) -> torch.Tensor:
    loss = out.loss if isinstance(out, TermOutput) else out
    return sum(loss.values()) if isinstance(loss, dict) else loss


# ---------------------------------------------------------------- fixed projection


@pytest.mark.parametrize("out_dim,in_dim", [(8, 10), (10, 4), (6, 6)])
def test_fixed_projection_is_orthogonal_seeded_and_leaves_the_global_rng_alone(out_dim, in_dim):
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    p = fixed_projection(out_dim, in_dim)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert p.shape == (out_dim, in_dim) and p.dtype == torch.float32
    gram = p @ p.t() if out_dim <= in_dim else p.t() @ p
    torch.testing.assert_close(gram, torch.eye(min(out_dim, in_dim)), atol=1e-6, rtol=0)
    torch.manual_seed(7)
    assert torch.equal(fixed_projection(out_dim, in_dim), p)  # the same whatever the global RNG
    if out_dim == in_dim:
        assert torch.equal(p, torch.eye(out_dim))
    else:
        assert not torch.equal(fixed_projection(out_dim, in_dim, seed=1), p)


# ---------------------------------------------------------------- OT


def test_ot_teacher_projection_is_a_saved_frozen_buffer():
    term = built("ot", dim=8)
    assert "teacher_proj" in dict(term.named_buffers()) and "teacher_proj" in term.state_dict()
    assert all("teacher" not in name for name, _ in term.named_parameters())
    assert torch.equal(term.teacher_proj, fixed_projection(8, D_T))
    assert torch.equal(built("ot", dim=D_T).teacher_proj, torch.eye(D_T))  # widths match: no projection
    clone = built("ot", dim=8)
    clone.load_state_dict(term.state_dict())


def test_no_gradient_reaches_the_teacher_side_of_ot():
    term = built("ot", dim=8)
    s = {"tokens": tokens(1, N_S, D_S).requires_grad_(True)}
    t = {"tokens": tokens(2, N_T, D_T).requires_grad_(True)}
    frozen = term.teacher_proj.clone()
    opt = torch.optim.Adam([s["tokens"], *term.parameters()], lr=0.05)
    for _ in range(5):
        opt.zero_grad()
        term(s, t).backward()
        opt.step()
    assert t["tokens"].grad is None and not term.teacher_proj.requires_grad
    assert torch.equal(term.teacher_proj, frozen)
    assert term.student_proj.weight.grad.abs().sum() > 0 and s["tokens"].grad.abs().sum() > 0


def test_ot_golden_value_against_pot_with_the_fixed_projection():
    """<P*, C / mean C>, averaged over the records, from numpy and POT's own log-domain Sinkhorn."""
    term = built("ot", dim=8, tol=1e-9, max_iter=5000)
    s, t = tokens(1, N_S, D_S), tokens(2, N_T, D_T)
    value = float(term({"tokens": s}, {"tokens": t}).detach())
    w, bias = term.student_proj.weight.detach().double().numpy(), term.student_proj.bias.detach().double().numpy()
    proj = fixed_projection(8, D_T).double().numpy()
    expected = []
    for b in range(B):
        xs = s[b].double().numpy() @ w.T + bias
        xt = t[b].double().numpy() @ proj.T
        cost = ((xs[:, None, :] - xt[None, :, :]) ** 2).sum(-1)
        cost = cost / cost.mean()
        plan = ot.sinkhorn(
            np.full(N_S, 1 / N_S),
            np.full(N_T, 1 / N_T),
            cost,
            0.05,
            method="sinkhorn_log",
            numItermax=5000,
            stopThr=1e-12,
        )
        expected.append((plan * cost).sum())
    assert value == pytest.approx(float(np.mean(expected)), abs=1e-5)


# ---------------------------------------------------------------- relation


def by_hand_relation(student: np.ndarray, teacher: np.ndarray) -> float:
    """The relation loss of equal-length token sets, written out with numpy (no resampling)."""
    losses = []
    for s_rec, t_rec in zip(student, teacher):
        parts = []
        for fn in ("distance", "cosine"):
            mats = []
            for x in (s_rec, t_rec):
                if fn == "distance":
                    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
                    n = len(x)
                    mats.append(d / (d.sum() / (n * (n - 1))))
                else:
                    u = x / np.linalg.norm(x, axis=1, keepdims=True)
                    mats.append(u @ u.T)
            parts.append(((mats[0] - mats[1]) ** 2).mean())
        losses.append(parts)
    distance, angle = np.mean(losses, axis=0)
    return 0.5 * (distance + angle)


def test_relation_golden_value_by_hand():
    s, t = tokens(3, N_S, D_S, dtype=torch.float64), tokens(4, N_S, D_T, dtype=torch.float64)
    value = float(build_term("relation")({"tokens": s}, {"tokens": t}))
    assert value == pytest.approx(by_hand_relation(s.numpy(), t.numpy()), rel=1e-10)


def test_relation_target_is_the_teachers_own_and_carries_no_gradient():
    term = build_term("relation")
    s = {"tokens": tokens(1, N_S, D_S).requires_grad_(True)}
    t = {"tokens": tokens(2, N_T, D_T).requires_grad_(True)}
    distances, cosines = term.target(t, N_S)
    assert not distances.requires_grad and not cosines.requires_grad
    other = term.target(t, N_S)  # the same whatever the student is
    term({"tokens": 3 * s["tokens"] + 1}, t)
    assert torch.equal(other[0], distances) and torch.equal(other[1], cosines)
    term(s, t).backward()
    assert t["tokens"].grad is None
    assert s["tokens"].grad is not None and s["tokens"].grad.abs().sum() > 0


def test_a_collapsed_student_is_not_a_minimum_of_relation():
    """Tokens collapsed to one vector per record cost the teacher's whole geometry, not 0."""
    term = build_term("relation")
    t = {"tokens": tokens(2, N_T, D_T)}
    collapsed = tokens(5, 1, D_S).expand(B, N_S, D_S).contiguous()
    unrelated = tokens(6, N_S, D_S)  # some spread, not the teacher's geometry
    assert float(term({"tokens": collapsed}, t)) > float(term({"tokens": unrelated}, t)) > 0
    assert float(term({"tokens": collapsed}, t)) > 0.1


# ---------------------------------------------------------------- variance guard


def test_variance_hinge_is_zero_when_every_std_reaches_gamma():
    x = 2.0 * tokens(7, 20, 4)
    std = x.var(1, unbiased=False).add(1e-4).sqrt()
    penalty, got = variance_hinge(x, gamma=float(std.min()) - 1e-6)
    assert float(penalty) == 0.0
    torch.testing.assert_close(got, std)


def test_variance_hinge_golden_value():
    x = torch.tensor([[[0.0, 1.0], [0.2, 1.0], [0.4, 1.0]], [[1.0, -2.0], [1.0, 2.0], [1.0, 0.0]]], dtype=torch.float64)
    gamma, eps = 0.5, 1e-4
    stds = [
        math.sqrt(np.var([0.0, 0.2, 0.4]) + eps),  # record 0, dim 0
        math.sqrt(0.0 + eps),  # record 0, dim 1: constant
        math.sqrt(0.0 + eps),  # record 1, dim 0: constant
        math.sqrt(np.var([-2.0, 2.0, 0.0]) + eps),  # record 1, dim 1: spread > gamma
    ]
    expected = sum(max(0.0, gamma - s) for s in stds) / 4
    penalty, _ = variance_hinge(x, gamma, eps)
    assert float(penalty) == pytest.approx(expected, rel=1e-12)


def test_variance_hinge_on_collapsed_tokens_value_and_gradient():
    gamma, eps = 0.1, 1e-4
    constant = tokens(8, 1, 4, dtype=torch.float64).expand(B, 6, 4).clone().requires_grad_(True)
    penalty, _ = variance_hinge(constant, gamma, eps)
    assert float(penalty.detach()) == pytest.approx(gamma - math.sqrt(eps), abs=1e-7)
    penalty.backward()
    # finite, and ~0 (rounding of the mean only): exact collapse is a stationary point of the hinge
    assert torch.isfinite(constant.grad).all() and float(constant.grad.abs().max()) < 1e-12
    # nearly collapsed: the gradient is the closed form and a descent step spreads the tokens
    x = (tokens(8, 1, 4, dtype=torch.float64) + 1e-3 * tokens(9, 6, 4, dtype=torch.float64)).requires_grad_(True)
    penalty, std = variance_hinge(x, gamma, eps)
    penalty.backward()
    centred = x.detach() - x.detach().mean(1, keepdim=True)
    active = (std.detach() < gamma).to(x.dtype)[:, None, :]
    expected = -active * centred / (6 * std.detach()[:, None, :]) / (B * 4)
    torch.testing.assert_close(x.grad, expected, rtol=1e-10, atol=1e-14)
    stepped = x.detach() - 1e-3 * x.grad
    assert (stepped.var(1) > x.detach().var(1)).all()
    assert torch.autograd.gradcheck(lambda z: variance_hinge(z, gamma, eps)[0], (x.detach().requires_grad_(True),))


# ---------------------------------------------------------------- MHCA with the guard


def test_mhca_reports_the_variance_part_and_the_token_std():
    term = built("mhca", dim=8, heads=2)
    assert (term.variance_gamma, term.variance_weight) == (0.1, 1.0)
    out = term({"tokens": tokens(1, N_S, D_S)}, {"tokens": tokens(2, N_T, D_T)})
    assert set(out.loss) == {"align", "variance"} and set(out.diagnostics) == {"token_std"}
    assert float(out.loss["variance"].detach()) == 0.0 and float(out.diagnostics["token_std"]) > 0.1
    assert not out.diagnostics["token_std"].requires_grad


def test_mhca_guard_catches_the_collapse_the_alignment_misses():
    """A student projection that is the same for every token (W_s = 0, a bias): the alignment can
    reach ~0, the guard cannot; its gradient reaches the student projection."""
    term = built("mhca", dim=8, heads=2, variance_weight=2.0)
    s, t = {"tokens": tokens(1, N_S, D_S, b=1)}, {"tokens": tokens(2, N_T, D_T, b=1)}
    with torch.no_grad():
        term.student_proj.weight.zero_()
        term.attention.query.weight.zero_()  # uniform attention: the summary is the mean teacher value
        term.student_proj.bias.copy_((t["tokens"] @ term.teacher_value.t()).mean((0, 1)))
    out = term(s, t)
    assert float(out.loss["align"].detach()) < 1e-10  # the collapsed projection aligns perfectly
    assert float(out.diagnostics["token_std"]) == pytest.approx(0.01, abs=1e-6)  # sqrt(eps): collapsed
    assert float(out.loss["variance"].detach()) == pytest.approx(2.0 * (0.1 - 0.01), abs=1e-6)
    near = {"tokens": s["tokens"]}
    with torch.no_grad():
        term.student_proj.weight.normal_(0.0, 1e-3, generator=torch.Generator().manual_seed(0))
    term(near, t).loss["variance"].backward()
    assert term.student_proj.weight.grad.abs().sum() > 0


def test_mhca_guard_off_with_weight_zero_and_rejects_negative():
    term = built("mhca", dim=8, heads=2, variance_weight=0.0)
    assert (
        float(term({"tokens": tokens(1, N_S, D_S)}, {"tokens": tokens(2, N_T, D_T)}).loss["variance"].detach()) == 0.0
    )
    from ecgkd_lite.errors import ConfigError

    with pytest.raises(ConfigError, match="mhca variance_gamma"):
        build_term("mhca", variance_gamma=-1.0)


def test_training_mhca_keeps_its_teacher_value_path_fixed():
    term = built("mhca", dim=8, heads=2)
    frozen = term.teacher_value.clone()
    student = nn.Parameter(tokens(1, N_S, D_S))
    opt = torch.optim.Adam([student, *term.parameters()], lr=0.05)
    for _ in range(5):
        opt.zero_grad()
        total(term({"tokens": student}, {"tokens": tokens(2, N_T, D_T)})).backward()
        opt.step()
    assert torch.equal(term.teacher_value, frozen)


# ---------------------------------------------------------------- recipe


def test_evl_recipe_and_ablations_build_with_the_teacher_only_relation():
    from ecgkd_lite.distill import build_recipe

    assert evl_recipe()["terms"]["relation"]["teacher_alignment"] == "interpolate"
    for name in ("evl_ecg", "evl_ecg-no_mhca", "evl_ecg-no_relation", "evl_ecg-no_ot"):
        build_recipe(name)
    terms = dict((term.name, term) for _, term in Recipe.from_config(evl_recipe()["terms"]).build())
    assert terms["relation"].consumes == ()
