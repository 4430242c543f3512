"""Classic KD baselines: golden values, properties, error paths and optimisation behaviour."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.testing import assert_close

from ecgkd_lite.distill import METHODS, TERMS, Distiller, build_recipe, build_term, methods_of
from ecgkd_lite.distill.baselines.adapters import align_time, symmetric_info_nce
from ecgkd_lite.distill.baselines.vanilla_kd import binary_kl_from_logits
from ecgkd_lite.errors import ConfigError
from kd_toy_models import toy_batch, toy_pair

torch.set_num_threads(1)


def features(seed: int = 0) -> tuple[dict, dict, dict]:
    """Fixed student/teacher features of 6 records with different widths and time lengths."""
    g = torch.Generator().manual_seed(seed)
    s = {
        "logits": 2 * torch.randn(6, 5, generator=g),
        "stage1": torch.randn(6, 3, 10, generator=g),
        "temporal": torch.randn(6, 4, 10, generator=g),
        "penultimate": torch.randn(6, 5, generator=g),
    }
    t = {
        "logits": 2 * torch.randn(6, 5, generator=g),
        "stage1": torch.randn(6, 5, 20, generator=g),
        "temporal": torch.randn(6, 8, 20, generator=g),
        "penultimate": torch.randn(6, 7, generator=g),
    }
    y = torch.tensor(
        [[1, 0, 0, 0, 0], [0, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 1, 0], [1, 0, 0, 0, 1]],
        dtype=torch.float32,
    )
    return s, t, {"y": y}


def build(name: str, s: dict, t: dict, **kwargs):
    """A term built from the feature shapes with seeded head initialisation."""
    torch.manual_seed(0)
    term = build_term(name, **kwargs)
    term.build({k: v.shape[1:] for k, v in s.items()}, {k: v.shape[1:] for k, v in t.items()})
    return term


# Computed once with torch 2.13 CPU on features(0) and pasted here.
GOLDEN_KWARGS = {"attention_transfer": {"features": ("stage1", "temporal")}}
GOLDEN = {
    "vanilla_kd": 0.893937349319458,
    "fitnets": 1.3328031301498413,
    "attention_transfer": 0.45017629861831665,
    "rkd": {"distance": 1.8216298818588257, "angle": 5.413163661956787},
    "crd": 2.090460777282715,
    "dkd": {"tckd": 0.4781665503978729, "nckd": 0.831541895866394},
}


def test_every_baseline_is_registered():
    assert {"vanilla_kd", "fitnets", "attention_transfer", "rkd", "crd", "dkd"} <= set(TERMS)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_value(name):
    s, t, batch = features()
    out = build(name, s, t, **GOLDEN_KWARGS.get(name, {}))(s, t, batch)
    expected = GOLDEN[name]
    if isinstance(expected, dict):
        assert set(out) == set(expected)
        for part, value in expected.items():
            assert_close(out[part], torch.tensor(value), rtol=1e-5, atol=1e-6)
    else:
        assert out.shape == ()
        assert_close(out, torch.tensor(expected), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_terms_are_deterministic_and_differentiable(name):
    s, t, batch = features()
    s = {k: v.clone().requires_grad_(True) for k, v in s.items()}
    term = build(name, s, t, **GOLDEN_KWARGS.get(name, {}))
    first, second = term(s, t, batch), term(s, t, batch)
    first_total = sum(first.values()) if isinstance(first, dict) else first
    second_total = sum(second.values()) if isinstance(second, dict) else second
    assert torch.equal(first_total, second_total)
    first_total.backward()
    used = [f for f in term.student_features if s[f].grad is not None]
    assert used and all(torch.isfinite(s[f].grad).all() and s[f].grad.abs().sum() > 0 for f in used)


# ---------------------------------------------------------------------------- vanilla KD
def test_vanilla_kd_is_bce_minus_teacher_entropy_times_t_squared():
    s, t, _ = features()
    temp = 3.0
    p, q = torch.sigmoid(s["logits"] / temp), torch.sigmoid(t["logits"] / temp)
    bce = F.binary_cross_entropy(p, q, reduction="none")
    entropy = -(q * q.log() + (1 - q) * (1 - q).log())
    expected = temp**2 * (bce - entropy).mean()
    assert_close(build_term("vanilla_kd", temperature=temp)(s, t), expected, rtol=1e-5, atol=1e-6)


def test_vanilla_kd_is_zero_iff_student_matches_teacher():
    s, t, _ = features()
    term = build_term("vanilla_kd")
    assert_close(term(t, t), torch.tensor(0.0), atol=1e-7, rtol=0)
    assert term(s, t) > 0.01


def test_vanilla_kd_temperature_scaling_is_t_squared():
    # L_T(T z_s, T z_t) = T^2 L_1(z_s, z_t): the T^2 factor restores the gradient scale.
    s, t, _ = features()
    temp = 4.0
    scaled = build_term("vanilla_kd", temperature=temp)({"logits": temp * s["logits"]}, {"logits": temp * t["logits"]})
    assert_close(scaled, temp**2 * build_term("vanilla_kd", temperature=1.0)(s, t), rtol=1e-5, atol=1e-6)


def test_vanilla_kd_gradient_is_t_times_probability_gap():
    s, t, _ = features()
    temp = 2.0
    z = s["logits"].clone().requires_grad_(True)
    build_term("vanilla_kd", temperature=temp)({"logits": z}, t).backward()
    gap = torch.sigmoid(z.detach() / temp) - torch.sigmoid(t["logits"] / temp)
    assert_close(z.grad, temp * gap / z.numel(), rtol=1e-5, atol=1e-7)


def test_binary_kl_is_stable_for_extreme_logits():
    out = binary_kl_from_logits(torch.tensor([80.0, -80.0, 0.0]), torch.tensor([-80.0, 80.0, 0.0]))
    assert torch.isfinite(out).all() and out[0] > 70 and out[2] == 0


@pytest.mark.parametrize(
    "name,kwargs",
    [
        ("vanilla_kd", {"temperature": 0.0}),
        ("vanilla_kd", {"temperature": -1}),
        ("dkd", {"temperature": 0}),
        ("crd", {"temperature": -0.1}),
    ],
)
def test_non_positive_temperature_is_rejected(name, kwargs):
    with pytest.raises(ConfigError, match=f"{name} temperature must be > 0"):
        build_term(name, **kwargs)


# ---------------------------------------------------------------------------- FitNets
def test_fitnets_regressor_maps_student_to_teacher_channels():
    s, t, _ = features()
    term = build("fitnets", s, t)
    assert (term.regressor.in_channels, term.regressor.out_channels, term.regressor.kernel_size) == (4, 8, (1,))


def test_fitnets_is_zero_when_the_regressed_hint_equals_the_teacher_map():
    s, _, _ = features()
    term = build("fitnets", s, s)
    with torch.no_grad():
        term.regressor.weight.copy_(torch.eye(4).unsqueeze(-1))
        term.regressor.bias.zero_()
    assert term(s, s) == 0


def test_align_time_keeps_constants_and_interpolates_linearly():
    const = torch.full((2, 3, 5), 1.5)
    assert_close(align_time(const, 11), torch.full((2, 3, 11), 1.5))
    ramp = torch.arange(4.0).reshape(1, 4)  # 0 1 2 3 -> 8 samples, half-pixel centres
    assert_close(align_time(ramp, 8), torch.tensor([[0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3.0]]))
    assert align_time(ramp, 4) is ramp


def test_feature_of_wrong_rank_names_term_and_feature():
    s, t, _ = features()
    with pytest.raises(ConfigError, match=r"'fitnets' needs student feature 'penultimate' shaped \(C, T\)"):
        build("fitnets", s, t, feature="penultimate")
    with pytest.raises(ConfigError, match=r"'rkd' needs student feature 'temporal' shaped \(D,\)"):
        build("rkd", s, t, feature="temporal")


# ---------------------------------------------------------------------------- attention transfer
def test_attention_transfer_is_scale_invariant_and_zero_for_matching_maps():
    s, t, _ = features()
    term = build("attention_transfer", s, t, features=("stage1", "temporal"))
    scaled = {k: 3.0 * v for k, v in t.items()}
    assert_close(term(scaled, t), torch.tensor(0.0), atol=1e-6, rtol=0)


def test_attention_transfer_is_bounded_by_four():
    s, t, _ = features()
    spiky_s = {"temporal": torch.zeros(2, 1, 8)}
    spiky_s["temporal"][:, :, 0] = 1.0
    spiky_t = {"temporal": torch.zeros(2, 1, 8)}
    spiky_t["temporal"][:, :, 7] = 1.0
    # Disjoint one-hot attention maps: ||a_s - a_t||^2 = 2, the value for orthogonal unit vectors.
    assert_close(build_term("attention_transfer", features=("temporal",))(spiky_s, spiky_t), torch.tensor(2.0))
    assert 0 < build("attention_transfer", s, t, features=("temporal",))(s, t) <= 4


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"features": ()}, "at least one feature"),
        ({"features": ("temporal", "temporal")}, "twice"),
        ({"p": 0}, "attention_transfer p must be > 0"),
    ],
)
def test_attention_transfer_rejects_bad_config(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        build_term("attention_transfer", **kwargs)


# ---------------------------------------------------------------------------- RKD
def test_rkd_is_invariant_to_scale_rotation_and_translation():
    _, t, _ = features()
    q, _ = torch.linalg.qr(torch.randn(7, 7, generator=torch.Generator().manual_seed(1)))
    moved = {"penultimate": 3.0 * t["penultimate"] @ q + 5.0}
    out = build_term("rkd")(moved, t)
    assert_close(out["distance"], torch.tensor(0.0), atol=1e-5, rtol=0)
    assert_close(out["angle"], torch.tensor(0.0), atol=1e-5, rtol=0)


def test_rkd_weights_scale_their_components_and_small_batches_give_zero():
    s, t, _ = features()
    base, doubled = build_term("rkd")(s, t), build_term("rkd", distance_weight=50.0, angle_weight=0.0)(s, t)
    assert_close(doubled["distance"], 2 * base["distance"])
    assert doubled["angle"] == 0
    # Two records: one distance, normalised to 1 on both sides, and no triplet.
    pair = build_term("rkd")({"penultimate": s["penultimate"][:2]}, {"penultimate": t["penultimate"][:2]})
    assert pair["angle"] == 0 and pair["distance"] == 0
    one = build_term("rkd")({"penultimate": s["penultimate"][:1]}, {"penultimate": t["penultimate"][:1]})
    assert one["distance"] == 0 and one["angle"] == 0


def test_rkd_angle_is_the_mean_over_distinct_triples_with_its_gradient():
    """The masked sum equals the plain definition: every triple (i, j, k) of distinct records, the
    cosine at x_j of the triangle, Huber loss, mean; on a batch of 20 and through the gradient."""
    g = torch.Generator().manual_seed(3)
    x_s = torch.randn(20, 6, generator=g, dtype=torch.float64, requires_grad=True)
    x_t = torch.randn(20, 9, generator=g, dtype=torch.float64)

    def cos_at(x, i, j, k):
        return F.cosine_similarity(x[i] - x[j], x[k] - x[j], dim=0)

    triples = [(i, j, k) for i in range(20) for j in range(20) for k in range(20) if len({i, j, k}) == 3]
    s_cos = torch.stack([cos_at(x_s, *ijk) for ijk in triples])
    t_cos = torch.stack([cos_at(x_t, *ijk) for ijk in triples])
    expected = 50.0 * F.smooth_l1_loss(s_cos, t_cos)
    got = build_term("rkd")({"penultimate": x_s}, {"penultimate": x_t})["angle"]
    assert_close(got, expected, rtol=1e-10, atol=0)
    (g_expected,) = torch.autograd.grad(expected, x_s)
    (g_got,) = torch.autograd.grad(build_term("rkd")({"penultimate": x_s}, {"penultimate": x_t})["angle"], x_s)
    assert_close(g_got, g_expected, rtol=1e-8, atol=1e-12)


def test_rkd_rejects_negative_weights():
    with pytest.raises(ConfigError, match="rkd angle_weight must be >= 0"):
        build_term("rkd", angle_weight=-1.0)


# ---------------------------------------------------------------------------- CRD
def test_info_nce_is_symmetric_and_minimal_for_aligned_pairs():
    a = torch.randn(6, 5, generator=torch.Generator().manual_seed(2))
    b = torch.randn(6, 5, generator=torch.Generator().manual_seed(3))
    assert_close(symmetric_info_nce(a, b, 0.1), symmetric_info_nce(b, a, 0.1))
    assert symmetric_info_nce(a, a, 0.1) < symmetric_info_nce(a, a[torch.tensor([1, 2, 3, 4, 5, 0])], 0.1)
    orthonormal = torch.eye(4)
    expected = math.log(1 + 3 * math.exp(-1 / 0.07))
    assert_close(symmetric_info_nce(orthonormal, orthonormal, 0.07), torch.tensor(expected), rtol=0, atol=1e-7)


def test_crd_heads_project_both_models_to_the_shared_dimension():
    s, t, _ = features()
    term = build("crd", s, t, dim=16)
    assert (term.student_head.in_features, term.teacher_head.in_features) == (5, 7)
    assert term.student_head.out_features == term.teacher_head.out_features == 16
    assert build("crd", s, t)({"penultimate": s["penultimate"][:1]}, {"penultimate": t["penultimate"][:1]}) == 0


# ---------------------------------------------------------------------------- DKD
# The per-class binary DKD: golden values from plain math, the alpha == beta reduction and the
# gradients are in tests/test_dkd_binary.py.
def test_dkd_is_zero_at_equality_and_needs_labels():
    s, _, batch = features()
    out = build_term("dkd")(s, s, batch)
    assert_close(out["tckd"] + out["nckd"], torch.tensor(0.0), atol=1e-6, rtol=0)
    assert TERMS["dkd"].label_free is False
    assert all(TERMS[n].label_free for n in ("vanilla_kd", "fitnets", "attention_transfer", "rkd", "crd"))


# ---------------------------------------------------------------------------- optimisation
# the single-term classic baselines (the reference terms act on unlabeled records only: see
# tests/test_semi_scenarios.py)
@pytest.mark.parametrize("method", sorted(m for m in methods_of("classic") if m in TERMS))
def test_a_few_steps_reduce_the_term(method):
    torch.manual_seed(0)
    teacher, student = toy_pair()
    batch = toy_batch(n=8)
    distiller = Distiller(teacher, student, build_recipe(method), ce_weight=0.0).setup(batch)
    optimiser = torch.optim.Adam(distiller.trainable_parameters(), lr=1e-2)
    before = distiller(batch)[method].item()
    for _ in range(15):
        optimiser.zero_grad()
        distiller(batch)["total"].backward()
        optimiser.step()
    assert distiller(batch)[method].item() < 0.9 * before


def test_vanilla_kd_steps_move_student_probabilities_towards_the_teacher():
    teacher, student = toy_pair()
    batch = toy_batch(n=8)
    distiller = Distiller(teacher, student, build_recipe("vanilla_kd"), ce_weight=0.0).setup(batch)
    optimiser = torch.optim.Adam(distiller.trainable_parameters(), lr=1e-2)

    def gap() -> float:
        with torch.no_grad():
            distiller.eval()
            z_s, z_t = student(batch["x"][:, :1]), teacher(batch["x"])
            distiller.train()
        return (torch.sigmoid(z_s / 4) - torch.sigmoid(z_t / 4)).abs().mean().item()

    before = gap()
    for _ in range(20):
        optimiser.zero_grad()
        distiller(batch)["total"].backward()
        optimiser.step()
    assert gap() < 0.7 * before
