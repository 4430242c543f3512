"""EVL-ECG terms: mhca, ot, relation, evl_recipe (golden values, properties, gradients, errors)."""

from __future__ import annotations

import logging

import ot
import pytest
import torch
from torch import nn

from ecgkd_lite.distill.base import TermOutput, build_term, check_recipe_contract
from ecgkd_lite.distill.evl import evl_recipe
from ecgkd_lite.distill.evl.optimal_transport import sinkhorn_log, sinkhorn_pot, squared_distances
from ecgkd_lite.distill.recipe import Recipe
from ecgkd_lite.errors import ConfigError, ModelError, TrainingError

torch.set_num_threads(1)

B, N_S, D_S, N_T, D_T = 4, 6, 10, 15, 12


def tokens(seed: int, n: int, d: int, b: int = B) -> torch.Tensor:
    return torch.randn(b, n, d, generator=torch.Generator().manual_seed(seed))


def built(name: str, d_s: int = D_S, d_t: int = D_T, **params):
    """A term built with seeded projection weights."""
    torch.manual_seed(0)
    term = build_term(name, **params)
    term.build({"tokens": torch.Size([N_S, d_s])}, {"tokens": torch.Size([N_T, d_t])})
    return term


@pytest.fixture
def s():
    return {"tokens": tokens(1, N_S, D_S)}


@pytest.fixture
def t():
    return {"tokens": tokens(2, N_T, D_T)}


def val(loss) -> float:
    """The scalar loss of a term's output (a tensor or a ``TermOutput``)."""
    return float(scalar(loss).detach())


def scalar(out) -> torch.Tensor:
    """The summed loss of a term's output (a tensor, named parts, or a ``TermOutput`` of either)."""
    loss = out.loss if isinstance(out, TermOutput) else out
    return sum(loss.values()) if isinstance(loss, dict) else loss


def fit(term, s, t, steps: int = 40, lr: float = 0.05) -> tuple[float, float]:
    """Optimise the student tokens and the term's heads; (first loss, last loss)."""
    student = nn.Parameter(s["tokens"].clone())
    opt = torch.optim.Adam([student, *term.parameters()], lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = scalar(term({"tokens": student}, dict(t)))
        loss.backward()
        opt.step()
        losses.append(val(loss))
    return losses[0], losses[-1]


# ---------------------------------------------------------------- mhca


def test_mhca_golden_value_and_side_outputs(s, t):
    term = built("mhca", dim=8, heads=2)
    out = term(s, t)
    assert val(out) == pytest.approx(MHCA_GOLDEN, abs=1e-5)
    assert term.last_attention.shape == (B, 2, N_S, N_T)
    torch.testing.assert_close(term.last_attention.sum(-1), torch.ones(B, 2, N_S))
    aligned = out.provides["aligned"]
    assert set(out.provides) == set(term.provides) == {"aligned"}
    assert aligned.shape == (B, N_S, 8) and not aligned.requires_grad
    assert "aligned" not in t  # handed on explicitly, not written into the teacher's features


def test_mhca_matches_nn_multihead_attention_with_identity_value_path():
    term = built("mhca", dim=8, heads=2)
    q, kv = tokens(3, N_S, 8), tokens(4, N_T, 8)
    summary, weights = term.attention(q, kv)
    mha = nn.MultiheadAttention(8, 2, bias=False, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([term.attention.query.weight, term.attention.key.weight, torch.eye(8)]))
        mha.out_proj.weight.copy_(torch.eye(8))
    ref, ref_weights = mha(q, kv, kv, average_attn_weights=False)
    torch.testing.assert_close(summary, ref)
    torch.testing.assert_close(weights, ref_weights)


def test_mhca_trivial_zero_projection_does_not_give_zero_loss(s, t):
    term = built("mhca")
    with torch.no_grad():
        for p in term.parameters():
            p.zero_()
    assert val(term(s, t)) > 0.9  # LN(0) = 0 against a unit-variance LN(summary): ~1
    assert [n for n, _ in term.named_buffers()] == ["teacher_value"]  # the teacher value path is frozen


def test_mhca_training_reduces_loss_and_never_touches_the_teacher(s, t):
    term = built("mhca", dim=16, heads=2)
    teacher = t["tokens"].requires_grad_(True)
    first, last = fit(term, s, {"tokens": teacher})
    assert last < 0.5 * first
    assert teacher.grad is None


def test_mhca_errors(s, t):
    with pytest.raises(ConfigError, match="divisible by heads"):
        build_term("mhca", dim=10, heads=4)
    with pytest.raises(ModelError, match="not built"):
        build_term("mhca")(s, t)
    with pytest.raises(ModelError, match="token dim 10 but the term was built for 7"):
        built("mhca", d_s=7)(s, t)
    with pytest.raises(ModelError, match=r"teacher feature 'tokens' shaped \(B, N, D\)"):
        built("mhca")(s, {"tokens": torch.randn(B, D_T)})


# ---------------------------------------------------------------- ot


def test_ot_golden_value_and_plan_marginals(s, t):
    term = built("ot", dim=8)
    assert val(term(s, t)) == pytest.approx(OT_GOLDEN, abs=1e-5)
    plan = term.last_plan
    assert plan.shape == (B, N_S, N_T)
    torch.testing.assert_close(plan.sum(2), torch.full((B, N_S), 1 / N_S), atol=1e-4, rtol=0)
    torch.testing.assert_close(plan.sum(1), torch.full((B, N_T), 1 / N_T), atol=1e-6, rtol=0)


def test_batched_sinkhorn_agrees_with_pot():
    cost = squared_distances(tokens(5, 5, 3, b=3), tokens(6, 9, 3, b=3)).double()
    ours, err, _ = sinkhorn_log(cost, 0.1, 2000, 1e-10)
    pot, pot_err, _ = sinkhorn_pot(cost, 0.1, 2000, 1e-10)
    assert err < 1e-10 and pot_err < 1e-10
    torch.testing.assert_close(ours, pot, atol=1e-9, rtol=0)
    term_pot = built("ot", dim=8, solver="pot")
    term_ours = built("ot", dim=8)
    s, t = {"tokens": tokens(1, N_S, D_S)}, {"tokens": tokens(2, N_T, D_T)}
    assert val(term_pot(s, t)) == pytest.approx(val(term_ours(s, t)), abs=1e-5)


def test_entropic_cost_approaches_exact_emd_as_epsilon_shrinks():
    cost = squared_distances(tokens(7, 5, 2, b=1), tokens(8, 7, 2, b=1)).double()
    cost = cost / cost.mean()
    exact = float(
        ot.emd2(torch.full((5,), 0.2, dtype=torch.float64), torch.full((7,), 1 / 7, dtype=torch.float64), cost[0])
    )
    gaps = []
    for eps in (0.5, 0.1, 0.01):
        plan, _, _ = sinkhorn_log(cost, eps, 20000, 1e-9)
        gaps.append(float((plan * cost).sum()) - exact)
    assert gaps[0] > gaps[1] > gaps[2] >= -1e-9
    assert gaps[2] < 1e-2 * exact


def test_debiased_ot_is_zero_for_identical_sets_and_grows_with_a_shift():
    term = built("ot", d_s=D_T, dim=8, debiased=True)
    with torch.no_grad():  # the student map equal to the fixed teacher map
        term.student_proj.weight.copy_(term.teacher_proj)
        term.student_proj.bias.zero_()
    teacher = tokens(2, N_T, D_T)
    same = val(term({"tokens": teacher}, {"tokens": teacher}))
    shifted = val(term({"tokens": teacher + 1.0}, {"tokens": teacher}))
    assert abs(same) < 1e-6
    assert shifted > 0.05


def test_ot_gradient_reaches_the_student_projection_and_training_reduces_it(s, t):
    term = built("ot", dim=8)
    scalar(term(s, t)).backward()
    grad = term.student_proj.weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    first, last = fit(built("ot", dim=8), s, t)
    assert last < 0.7 * first


def test_ot_warns_once_when_sinkhorn_does_not_converge(s, t, caplog):
    term = built("ot", dim=8, max_iter=1, tol=1e-12)
    with caplog.at_level(logging.WARNING):
        term(s, t)
        term(s, t)
    warnings = [r for r in caplog.records if "did not converge" in r.getMessage()]
    assert len(warnings) == 1 and "marginal error" in warnings[0].getMessage()


def test_ot_errors(s, t):
    for eps in (0.0, -1.0):
        with pytest.raises(ConfigError, match="ot epsilon must be > 0"):
            build_term("ot", epsilon=eps)
    with pytest.raises(ConfigError, match="ot solver"):
        build_term("ot", solver="exact")
    with pytest.raises(ModelError, match="token dim 10 but the term was built for 9"):
        built("ot", d_s=9)(s, t)
    bad = {"tokens": s["tokens"].clone()}
    bad["tokens"][0, 0, 0] = float("nan")
    with pytest.raises(TrainingError, match="raise epsilon"):
        built("ot")(bad, t)


# ---------------------------------------------------------------- relation


def test_relation_golden_value(s, t):
    assert val(build_term("relation")(s, t)) == pytest.approx(RELATION_GOLDEN, abs=1e-6)


def test_relation_is_zero_for_same_geometry_and_scale_invariant(s):
    term = build_term("relation")
    rotation = torch.linalg.qr(torch.randn(D_S, D_S, generator=torch.Generator().manual_seed(9)))[0]
    assert val(term(s, {"tokens": 3.0 * s["tokens"] @ rotation})) < 1e-10
    other = {"tokens": tokens(4, N_S, D_S)}
    assert val(term(s, other)) == pytest.approx(val(term({"tokens": 5.0 * s["tokens"]}, other)), rel=1e-5)


def test_relation_no_longer_reads_the_mhca_summary():
    """The MHCA summary depends on the student's queries: relation compares with the teacher's own tokens."""
    assert build_term("relation").consumes == ()
    with pytest.raises(ConfigError, match="teacher_alignment='mhca' was removed"):
        build_term("relation", teacher_alignment="mhca")


def test_a_recipe_with_a_consumer_before_mhca_is_refused_when_built():
    consumer = build_term("relation")
    consumer.consumes = ("aligned",)  # a stand-in consumer of the summary MHCA provides
    with pytest.raises(
        ConfigError,
        match="term 'relation' consumes 'aligned', which no earlier term of the recipe provides; put 'mhca' before it",
    ):
        check_recipe_contract([consumer, build_term("mhca")])
    check_recipe_contract([build_term("mhca"), consumer])


def test_relation_training_moves_student_geometry_to_the_teacher(s, t):
    first, last = fit(build_term("relation"), s, t)
    assert last < 0.3 * first


def test_relation_errors():
    with pytest.raises(ConfigError, match="teacher_alignment"):
        build_term("relation", teacher_alignment="nearest")


# ---------------------------------------------------------------- recipe


def test_evl_recipe_builds_the_three_terms_in_order():
    config = evl_recipe(alpha=0.3, l_m=1.0, l_r=0.5, l_ot=2.0)
    assert config["alpha"] == 0.3
    assert list(config["terms"]) == ["mhca", "relation", "ot"]
    weights_terms = Recipe.from_config(config["terms"]).build()
    assert [w for w, _ in weights_terms] == [1.0, 0.5, 2.0]
    assert [term.name for _, term in weights_terms] == ["mhca", "relation", "ot"]
    assert weights_terms[1][1].teacher_alignment == "interpolate"


def test_evl_recipe_through_the_distiller_with_the_project_models():
    from ecgkd_lite.distill.distiller import Distiller
    from ecgkd_lite.models import build_model

    torch.manual_seed(0)
    teacher = build_model("patch_transformer", in_leads=12, n_classes=15)
    student = build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)
    config = evl_recipe()
    distiller = Distiller(teacher, student, Recipe.from_config(config["terms"]), alpha=config["alpha"])
    batch = {"x": tokens(20, 12, 250), "y": (tokens(21, 1, 15)[:, 0] > 0.5).float()}
    distiller.setup(batch)
    losses = distiller(batch)
    losses["total"].backward()
    assert all(torch.isfinite(losses[k]) for k in ("mhca", "relation", "ot", "total"))
    assert distiller.terms["ot"].last_plan.shape == (4, 16, 120)  # 16 student tokens, 12 leads x 10 patches
    assert distiller.terms["mhca"].last_attention.shape == (4, 4, 16, 120)
    assert student.norm.weight.grad.abs().sum() > 0


def test_evl_recipe_errors():
    with pytest.raises(ConfigError, match="alpha must be in"):
        evl_recipe(alpha=1.5)
    with pytest.raises(ConfigError, match="l_ot"):
        evl_recipe(l_ot=-1.0)


MHCA_GOLDEN = 2.2784867
OT_GOLDEN = 0.7304288
RELATION_GOLDEN = 0.1051499
