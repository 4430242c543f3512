"""DKD as a per-class binary decomposition: golden values from plain math, the alpha == beta
reduction to per-class binary KD, the closed-form gradient and gradcheck."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from ecgkd_lite.distill import TERMS, build_term
from ecgkd_lite.distill.baselines.dkd import side_divergences

torch.set_num_threads(1)

# a 2-record, 3-class batch: logits of the student and the teacher, labels
Z_S = [[1.0, -2.0, 0.5], [-1.5, 3.0, 0.0]]
Z_T = [[2.5, -1.0, -0.5], [-3.0, 1.0, 2.0]]
Y = [[1, 0, 0], [0, 1, 1]]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def by_hand(alpha: float, beta: float, temp: float) -> tuple[float, float]:
    """(tckd, nckd) written out from the stated formulas, class by class."""
    tckd = nckd = 0.0
    for zs_row, zt_row, y_row in zip(Z_S, Z_T, Y):
        for zs, zt, y in zip(zs_row, zt_row, y_row):
            q, p = sigmoid(zt / temp), sigmoid(zs / temp)
            mt, ms = (q, p) if y == 1 else (1 - q, 1 - p)  # mass on the label's side
            tckd += mt * math.log(mt / ms) - mt + ms
            nckd += (1 - mt) * math.log((1 - mt) / (1 - ms)) - (1 - mt) + (1 - ms)
    n = 6
    return temp**2 * alpha * tckd / n, temp**2 * beta * nckd / n


def inputs(dtype=torch.float32):
    s = {"logits": torch.tensor(Z_S, dtype=dtype)}
    t = {"logits": torch.tensor(Z_T, dtype=dtype)}
    return s, t, {"y": torch.tensor(Y, dtype=dtype)}


@pytest.mark.parametrize("alpha,beta,temp", [(1.0, 2.0, 4.0), (0.5, 8.0, 2.0), (1.0, 1.0, 1.0)])
def test_golden_values_against_plain_math(alpha, beta, temp):
    s, t, batch = inputs()
    out = build_term("dkd", alpha=alpha, beta=beta, temperature=temp)(s, t, batch)
    tckd, nckd = by_hand(alpha, beta, temp)
    assert set(out) == {"tckd", "nckd"}
    assert out["tckd"].item() == pytest.approx(tckd, rel=1e-5, abs=1e-7)
    assert out["nckd"].item() == pytest.approx(nckd, rel=1e-5, abs=1e-7)


def test_defaults_golden_numbers():
    """The default term (alpha 1, beta 2, T 4) on the batch, numbers pasted from ``by_hand``."""
    s, t, batch = inputs()
    term = build_term("dkd")
    assert (term.alpha, term.beta, term.temperature) == (1.0, 2.0, 4.0)
    out = term(s, t, batch)
    tckd, nckd = by_hand(1.0, 2.0, 4.0)
    assert tckd == pytest.approx(0.1183194, abs=1e-6) and nckd == pytest.approx(0.3392550, abs=1e-6)
    assert out["tckd"].item() == pytest.approx(tckd, rel=1e-5)
    assert out["nckd"].item() == pytest.approx(nckd, rel=1e-5)


def test_parts_are_non_negative_and_sum_to_the_binary_kl():
    g = torch.Generator().manual_seed(0)
    z_s, z_t = (
        3 * torch.randn(50, 7, generator=g, dtype=torch.float64),
        3 * torch.randn(50, 7, generator=g, dtype=torch.float64),
    )
    positive = torch.rand(50, 7, generator=g) > 0.5
    target, non_target = side_divergences(z_s, z_t, positive)
    assert (target >= 0).all() and (non_target >= 0).all()
    q, p = torch.sigmoid(z_t).numpy(), torch.sigmoid(z_s).numpy()
    kl = q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))
    np.testing.assert_allclose((target + non_target).numpy(), kl, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weight,temp", [(1.0, 4.0), (0.3, 2.0)])
def test_alpha_equal_beta_is_per_class_binary_kd(weight, temp):
    g = torch.Generator().manual_seed(1)
    s, t = {"logits": 2 * torch.randn(8, 5, generator=g)}, {"logits": 2 * torch.randn(8, 5, generator=g)}
    kd = build_term("vanilla_kd", temperature=temp)(s, t)
    for labels in (torch.zeros(8, 5), torch.ones(8, 5), (torch.rand(8, 5, generator=g) > 0.5).float()):
        out = build_term("dkd", alpha=weight, beta=weight, temperature=temp)(s, t, {"y": labels})
        assert_close(out["tckd"] + out["nckd"], weight * kd, rtol=1e-5, atol=1e-7)


def test_gradient_matches_the_closed_form():
    """dL/dz_s = T / (B C) * (p - q) * (alpha (1 - m_s) + beta m_s), m_s the student's label-side mass."""
    alpha, beta, temp = 0.7, 3.0, 2.5
    s, t, batch = inputs(torch.float64)
    z = s["logits"].clone().requires_grad_(True)
    out = build_term("dkd", alpha=alpha, beta=beta, temperature=temp)({"logits": z}, t, batch)
    (out["tckd"] + out["nckd"]).backward()
    p, q = torch.sigmoid(s["logits"] / temp), torch.sigmoid(t["logits"] / temp)
    m_s = torch.where(batch["y"] > 0.5, p, 1 - p)
    expected = temp / 6 * (p - q) * (alpha * (1 - m_s) + beta * m_s)
    assert_close(z.grad, expected, rtol=1e-10, atol=1e-12)


def test_gradcheck_float64():
    s, t, batch = inputs(torch.float64)
    term = build_term("dkd", alpha=0.4, beta=2.5, temperature=3.0)
    z_s = s["logits"].clone().requires_grad_(True)
    z_t = t["logits"].clone().requires_grad_(True)

    def loss(zs, zt):
        out = term({"logits": zs}, {"logits": zt}, batch)
        return out["tckd"], out["nckd"]

    assert torch.autograd.gradcheck(loss, (z_s, z_t), eps=1e-6, atol=1e-8)


def test_zero_at_equality_finite_at_extremes_and_needs_labels():
    s, _, batch = inputs()
    out = build_term("dkd")(s, s, batch)
    assert_close(out["tckd"] + out["nckd"], torch.tensor(0.0), atol=1e-7, rtol=0)
    extreme = build_term("dkd", temperature=1.0)(
        {"logits": torch.tensor([[80.0, -80.0, 0.0]])},
        {"logits": torch.tensor([[-80.0, 80.0, 0.0]])},
        {"y": torch.tensor([[1.0, 0.0, 1.0]])},
    )
    assert all(torch.isfinite(v) for v in extreme.values())
    assert extreme["tckd"] + extreme["nckd"] > 40  # ~ (80 + 80) / 3
    assert TERMS["dkd"].label_free is False


def test_non_target_side_is_where_a_label_side_student_learns():
    """A student already on the label's side: its remaining gradient comes from the non-target part."""
    temp = 1.0
    s = {"logits": torch.tensor([[6.0, -6.0]], requires_grad=True)}
    t = {"logits": torch.tensor([[2.0, -2.0]])}
    batch = {"y": torch.tensor([[1.0, 0.0]])}
    only_target = build_term("dkd", alpha=1.0, beta=0.0, temperature=temp)(s, t, batch)
    only_non_target = build_term("dkd", alpha=0.0, beta=1.0, temperature=temp)(s, t, batch)
    g_target = torch.autograd.grad(only_target["tckd"], s["logits"])[0]
    g_non_target = torch.autograd.grad(only_non_target["nckd"], s["logits"])[0]
    assert (g_non_target.abs() > 100 * g_target.abs()).all()
