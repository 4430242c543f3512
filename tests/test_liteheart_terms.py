"""LiteHeart terms: teacher importance maps, region_aware, cross_layer_mi, pseudo_label, consistency,
ECG augmentations and liteheart_recipe (golden values, properties, gradients, errors)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ecgkd_lite.distill.base import build_term
from ecgkd_lite.distill.liteheart import (
    amplitude_scale,
    baseline_wander,
    burst_dropout,
    gaussian_noise,
    liteheart_recipe,
    strong_view,
    teacher_importance,
    time_shift,
    weak_view,
)
from ecgkd_lite.distill.recipe import Recipe
from ecgkd_lite.errors import ConfigError, ModelError

torch.set_num_threads(1)

B, C, T = 6, 5, 64


class TinyNet(nn.Module):
    """A small CNN following the feature contract: stage2/stage3/temporal (B, C, T'), penultimate (B, D)."""

    feature_layers = {"stage2": "stage2", "stage3": "stage3", "temporal": "stage3", "penultimate": "pool"}

    def __init__(self, leads: int, width: int, n_classes: int = C):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Conv1d(leads, width, 5, stride=2, padding=2), nn.ReLU())
        self.stage2 = nn.Sequential(nn.Conv1d(width, width, 5, stride=2, padding=2), nn.ReLU())
        self.stage3 = nn.Sequential(nn.Conv1d(width, 2 * width, 3, padding=1), nn.ReLU())
        self.pool = nn.Flatten()
        self.head = nn.Linear(2 * width, n_classes)

    def features(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        s2 = self.stage2(self.stage1(x))
        s3 = self.stage3(s2)
        pooled = self.pool(s3.mean(2, keepdim=True))
        return {"stage2": s2, "stage3": s3, "temporal": s3, "penultimate": pooled, "logits": self.head(pooled)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)["logits"]


def seeded(seed: int, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def val(loss: torch.Tensor) -> float:
    return float(loss.detach())


def shapes(features: dict[str, torch.Tensor]) -> dict[str, torch.Size]:
    return {k: v.shape[1:] for k, v in features.items()}


@pytest.fixture
def nets():
    torch.manual_seed(0)
    teacher = TinyNet(12, 8).eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    student = TinyNet(1, 4)
    return teacher, student


@pytest.fixture
def x():
    return seeded(1, B, 12, T)


@pytest.fixture
def labels():
    y = torch.zeros(B, C)
    y[[0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 0]] = 1.0
    y[0, 3] = 1.0
    return y


# ---------------------------------------------------------------- importance


def test_importance_golden_values_and_range(nets, x, labels):
    teacher, _ = nets
    w = teacher_importance(teacher, x, labels)
    assert w.shape == (B, T // 4) and not w.requires_grad
    assert w.min() >= 0.1 - 1e-7 and torch.allclose(w.amax(1), torch.ones(B))
    torch.testing.assert_close(w.sum(1), torch.tensor(IMPORTANCE_GOLDEN_SUMS), atol=1e-4, rtol=0)
    assert all(p.grad is None for p in teacher.parameters())


def test_importance_matches_closed_form_grad_cam_for_a_linear_head(nets, x):
    teacher, _ = nets
    # logits = W mean_t(A) + b  =>  w_k^c = W_ck / T_f,  cam_c = ReLU(sum_k W_ck A_kt / T_f)
    a = teacher.features(x)["temporal"]
    target = 2
    cam = torch.relu((teacher.head.weight[target][None, :, None] * a).sum(1) / a.shape[2])
    expected = 0.1 + 0.9 * cam / cam.amax(1, keepdim=True)
    integer = teacher_importance(teacher, x, torch.full((B,), target))
    torch.testing.assert_close(integer, expected)
    multi_hot = torch.zeros(B, C)
    multi_hot[:, target] = 1.0
    torch.testing.assert_close(teacher_importance(teacher, x, multi_hot), integer)


def test_importance_unlabeled_rows_use_teacher_predictions(nets, x, labels):
    teacher, _ = nets
    from_predictions = teacher_importance(teacher, x)
    labeled = torch.tensor([True, False, True, False, True, False])
    mixed = teacher_importance(teacher, x, labels, labeled=labeled)
    torch.testing.assert_close(mixed[~labeled], from_predictions[~labeled])
    torch.testing.assert_close(mixed[labeled], teacher_importance(teacher, x, labels)[labeled])


def test_importance_gate_keeps_floor_outside_regions(nets, x, labels):
    teacher, _ = nets
    gate = torch.zeros(B, T)
    gate[:, 16:40] = 1.0  # input samples 16..39 -> feature steps 4..9
    gate[5] = 0.0  # an empty gate -> uniform floor weights
    w = teacher_importance(teacher, x, labels, gate=gate)
    assert torch.allclose(w[:5, :4], torch.full((5, 4), 0.1)) and torch.allclose(w[:5, 10:], torch.full((5, 6), 0.1))
    assert torch.allclose(w[:5, 4:10].amax(1), torch.ones(5))
    assert torch.allclose(w[5], torch.full((T // 4,), 0.1))


def test_importance_errors(nets, x, labels):
    teacher, _ = nets
    with pytest.raises(ModelError, match=r"no feature layer 'tokens'; feature_layers: \['penultimate', 'stage2'"):
        teacher_importance(teacher, x, labels, layer="tokens")
    with pytest.raises(ModelError, match="'penultimate' has no time axis"):
        teacher_importance(teacher, x, labels, layer="penultimate")
    with pytest.raises(ConfigError, match=r"targets must be \(6,\) integer classes or \(6, 5\)"):
        teacher_importance(teacher, x, labels[:, :3])
    with pytest.raises(ConfigError, match=r"values in \[0, 5\)"):
        teacher_importance(teacher, x, torch.full((B,), 7))
    with pytest.raises(ConfigError, match="floor must be in"):
        teacher_importance(teacher, x, labels, floor=1.5)
    with pytest.raises(ConfigError, match="gate must be a"):
        teacher_importance(teacher, x, labels, gate=torch.ones(T))


# ---------------------------------------------------------------- region_aware


def region_inputs():
    s = {"temporal": seeded(2, B, 4, 32)}
    t = {
        "temporal": seeded(3, B, 8, 16),
        "importance": 0.1 + 0.9 * torch.rand(B, 16, generator=torch.Generator().manual_seed(4)),
    }
    return s, t


def built_region(**params):
    torch.manual_seed(0)
    term = build_term("region_aware", **params)
    s, t = region_inputs()
    term.build(shapes(s), shapes({"temporal": t["temporal"]}))
    return term, s, t


def test_region_aware_golden_and_weighted_formula():
    term, s, t = built_region()
    loss = term(s, t)
    assert val(loss) == pytest.approx(REGION_GOLDEN, abs=1e-6)
    projected = nn.functional.interpolate(term.regressor(s["temporal"]), size=16, mode="linear")
    per_step = (projected - t["temporal"]).pow(2).mean(1)
    w = t["importance"]
    assert val(loss) == pytest.approx(val(((w * per_step).sum(1) / w.sum(1)).mean()), rel=1e-6)
    uniform, _, _ = built_region(uniform=True)
    assert val(uniform(s, {"temporal": t["temporal"]})) == pytest.approx(val(per_step.mean()), rel=1e-6)
    assert term.needs_teacher_grad and not uniform.needs_teacher_grad and term.label_free


def test_region_aware_saliency_component():
    term, s, t = built_region(saliency_weight=0.5)
    out = term(s, t)
    assert set(out) == {"feature", "saliency"}
    assert val(out["saliency"]) == pytest.approx(REGION_SALIENCY_GOLDEN, abs=1e-6)


def test_region_aware_training_moves_the_student_toward_the_teacher():
    term, s, t = built_region()
    student = nn.Parameter(s["temporal"].clone())
    opt = torch.optim.Adam([student, *term.parameters()], lr=0.05)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = term({"temporal": student}, t)
        loss.backward()
        opt.step()
        losses.append(val(loss))
    assert losses[-1] < 0.5 * losses[0]


def test_region_aware_end_to_end_with_teacher_importance(nets, x, labels):
    teacher, student = nets
    s, t = student.features(x[:, :1]), teacher.features(x)
    term = build_term("region_aware")
    term.build(shapes(s), shapes(t))
    t["importance"] = teacher_importance(teacher, x, labels)
    loss = term(s, t)
    loss.backward()
    assert torch.isfinite(loss) and student.stage3[0].weight.grad.abs().sum() > 0


def test_region_aware_errors():
    term, s, t = built_region()
    with pytest.raises(ModelError, match="needs t\\['importance'\\].*teacher_importance"):
        term(s, {"temporal": t["temporal"]})
    with pytest.raises(ModelError, match=r"has shape \(6, 15\); the teacher temporal map needs \(6, 16\)"):
        term(s, {"temporal": t["temporal"], "importance": t["importance"][:, :15]})
    with pytest.raises(ModelError, match="not built"):
        build_term("region_aware")(s, t)
    with pytest.raises(ConfigError, match=r"student feature 'temporal' shaped \(C, T\)"):
        build_term("region_aware").build({"temporal": torch.Size([4])}, shapes({"temporal": t["temporal"]}))
    with pytest.raises(ConfigError, match="saliency_weight must be >= 0"):
        build_term("region_aware", saliency_weight=-1.0)


# ---------------------------------------------------------------- cross_layer_mi


def mi_inputs():
    s = {"stage2": seeded(5, B, 4, 16), "stage3": seeded(6, B, 8, 16), "tokens": seeded(7, B, 3, 10)}
    t = {"stage2": seeded(8, B, 8, 16), "stage3": seeded(9, B, 16, 16)}
    return s, t


def built_mi(**params):
    torch.manual_seed(0)
    term = build_term("cross_layer_mi", **params)
    s, t = mi_inputs()
    term.build(shapes(s), shapes(t))
    return term, s, t


def test_cross_layer_mi_golden_and_bounds():
    term, s, t = built_mi(dim=16)
    out = term(s, t)
    assert set(out.loss) == {"infonce"}
    assert set(out.diagnostics) == {"mi_bound/s2-t2", "mi_bound/s2-t3", "mi_bound/s3-t2", "mi_bound/s3-t3"}
    assert val(out.loss["infonce"]) == pytest.approx(MI_GOLDEN, abs=1e-5)
    bounds = list(out.diagnostics.values())
    assert all(not b.requires_grad for b in bounds)
    assert val(out.loss["infonce"]) == pytest.approx(math.log(B) - float(torch.stack(bounds).mean()), abs=1e-5)


def test_cross_layer_mi_same_depth_and_token_layers():
    term, s, t = built_mi(dim=16, pairs="same_depth")
    assert set(term(s, t).diagnostics) == {"mi_bound/s2-t2", "mi_bound/s3-t3"}
    term, s, t = built_mi(dim=16, student_layers=("tokens",), teacher_layers=("stage3",))
    assert term.student_heads[0][0].in_features == 10  # (N, D) tokens are pooled over N
    assert set(term(s, t).diagnostics) == {"mi_bound/stokens-t3"}


def test_cross_layer_mi_training_raises_the_mi_bound():
    term, s, t = built_mi(dim=16)
    student = {k: nn.Parameter(v.clone()) for k, v in s.items()}
    opt = torch.optim.Adam([*student.values(), *term.parameters()], lr=0.02)
    bounds = []
    for _ in range(30):
        opt.zero_grad()
        out = term(student, t)
        out.loss["infonce"].backward()
        opt.step()
        bounds.append(float(out.diagnostics["mi_bound/s3-t3"]))
    assert bounds[-1] > bounds[0] + 0.5


def test_cross_layer_mi_errors():
    with pytest.raises(
        ModelError, match=r"student layer\(s\) \['stage9'\] unknown; available: \['stage2', 'stage3', 'tokens'\]"
    ):
        built_mi(student_layers=("stage2", "stage9"))
    term, s, t = built_mi()
    with pytest.raises(ModelError, match=r"teacher layer\(s\) \['stage3'\] unknown"):
        term(s, {"stage2": t["stage2"]})
    with pytest.raises(ConfigError, match="needs >= 2 records per batch"):
        term({k: v[:1] for k, v in s.items()}, {k: v[:1] for k, v in t.items()})
    with pytest.raises(ConfigError, match="same_depth' needs as many student as teacher layers"):
        build_term("cross_layer_mi", student_layers=("stage3",), pairs="same_depth")
    with pytest.raises(ConfigError, match="pairs must be one of"):
        build_term("cross_layer_mi", pairs="diagonal")
    with pytest.raises(ConfigError, match="tau must be > 0"):
        build_term("cross_layer_mi", tau=0.0)
    with pytest.raises(ConfigError, match="student_layers must name at least one"):
        build_term("cross_layer_mi", student_layers=())
    with pytest.raises(ModelError, match="not built"):
        build_term("cross_layer_mi")(s, t)


# ---------------------------------------------------------------- augmentations


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_augmentations_are_seeded_and_do_what_they_say():
    x = seeded(10, 3, 2, 200)
    torch.testing.assert_close(strong_view(x, gen()), strong_view(x, gen()))
    assert not torch.equal(strong_view(x, gen(0)), strong_view(x, gen(1)))
    assert weak_view(x, gen()).shape == x.shape
    noise = gaussian_noise(x, gen(), std=0.5) - x
    assert noise.std().item() == pytest.approx(0.5, rel=0.1)
    shifted = time_shift(x, gen(), max_fraction=0.1)
    for i in range(3):
        shift = next(k for k in range(-20, 21) if torch.equal(torch.roll(x[i], k, dims=1), shifted[i]))
        assert abs(shift) <= 20
    scaled = amplitude_scale(x, gen(), 0.8, 1.2) / x
    assert torch.allclose(scaled, scaled[:, :1, :1].expand_as(scaled)) and scaled.min() >= 0.8 and scaled.max() <= 1.2
    dropped = burst_dropout(x, gen(), max_fraction=0.2)
    for i in range(3):
        zero = torch.nonzero(dropped[i, 0] == 0).flatten()
        assert len(zero) <= 40 and (len(zero) == 0 or zero[-1] - zero[0] + 1 == len(zero))
        torch.testing.assert_close(dropped[i][:, dropped[i, 0] != 0], x[i][:, dropped[i, 0] != 0])
    wander = baseline_wander(x, gen(), amplitude=0.3, fs=100.0, freq_range=(0.1, 0.5)) - x
    assert wander.abs().max() <= 0.3 + 1e-6
    assert (wander[:, :, 1:] - wander[:, :, :-1]).abs().max() < 2 * math.pi * 0.5 * 0.3 / 100.0 + 1e-6


def test_augmentation_errors():
    x = seeded(10, 2, 1, 50)
    with pytest.raises(ConfigError, match="time_shift max_fraction"):
        time_shift(x, gen(), max_fraction=1.5)
    with pytest.raises(ConfigError, match="burst_dropout max_fraction"):
        burst_dropout(x, gen(), max_fraction=-0.1)
    with pytest.raises(ConfigError, match="amplitude_scale needs 0 < low <= high"):
        amplitude_scale(x, gen(), low=1.2, high=0.8)
    with pytest.raises(ConfigError, match="freq_range"):
        baseline_wander(x, gen(), freq_range=(0.5, 0.1))
    with pytest.raises(ConfigError, match="gaussian_noise std must be >= 0"):
        gaussian_noise(x, gen(), std=-1.0)


# ---------------------------------------------------------------- pseudo_label / consistency


def test_pseudo_label_golden_and_mask():
    s_logits = seeded(11, B, C)
    t_logits = 3.0 * seeded(12, B, C)
    out = build_term("pseudo_label")({"logits": s_logits}, {"logits": t_logits})
    assert val(out.loss["bce"]) == pytest.approx(PSEUDO_GOLDEN, abs=1e-6)
    p = torch.sigmoid(t_logits)
    mask = ((p > 0.9) | (p < 0.1)).float()
    bce = nn.functional.binary_cross_entropy_with_logits(s_logits, (p > 0.5).float(), reduction="none")
    assert val(out.loss["bce"]) == pytest.approx(float((mask * bce).sum() / bce.numel()), rel=1e-6)
    assert float(out.diagnostics["confident_fraction"]) == pytest.approx(float(mask.mean()))
    labeled = torch.tensor([True, True, True, False, False, False])
    only = build_term("pseudo_label", unlabeled_only=True)(
        {"logits": s_logits}, {"logits": t_logits}, {"labeled": labeled}
    )
    assert val(only.loss["bce"]) == pytest.approx(float((mask * bce)[3:].sum() / bce.numel()), rel=1e-6)


def test_pseudo_label_errors():
    with pytest.raises(ConfigError, match="pseudo_label thresholds need"):
        build_term("pseudo_label", tau_hi=0.4)
    with pytest.raises(ConfigError, match="needs batch\\['labeled'\\]"):
        build_term("pseudo_label", unlabeled_only=True)(
            {"logits": torch.zeros(2, C)}, {"logits": torch.zeros(2, C)}, {}
        )


def test_consistency_golden_gradient_and_binding(nets, x):
    _, student = nets
    with torch.no_grad():  # classes 0, 1 confident (p ~ 0.95 / 0.05), 3, 4 not (p ~ 0.88 / 0.12)
        student.head.bias.copy_(torch.tensor([3.0, -3.0, 0.0, 2.0, -2.0]))
    term = build_term("consistency", seed=3)
    term.bind(student, ["I"])
    assert list(term.parameters()) == []  # the student stays outside the term's module tree
    out = term({"logits": student(x[:, :1])}, {}, {"x": 3.0 * x})
    assert val(out.loss["bce"]) == pytest.approx(CONSISTENCY_GOLDEN, abs=1e-6)
    out.loss["bce"].backward()
    assert student.head.weight.grad.abs().sum() > 0
    again = build_term("consistency", seed=3)
    again.bind(student, [0])
    assert val(again({}, {}, {"x": 3.0 * x}).loss["bce"]) == pytest.approx(CONSISTENCY_GOLDEN, abs=1e-6)


def test_consistency_errors(nets, x):
    _, student = nets
    term = build_term("consistency")
    with pytest.raises(ConfigError, match="call term.bind\\(student, student_leads\\)"):
        term({}, {}, {"x": x})
    term.bind(student, "I")
    with pytest.raises(ConfigError, match="needs batch\\['x'\\]"):
        term({}, {}, {})
    with pytest.raises(ConfigError, match="lead 'V9' is not a standard lead"):
        term.bind(student, ["V9"])
    with pytest.raises(ConfigError, match="consistency thresholds need"):
        build_term("consistency", tau_lo=0.6)


# ---------------------------------------------------------------- recipe and the Distiller


def test_liteheart_recipe_builds_every_term():
    for semi in ("pseudo_label", "consistency"):
        config = liteheart_recipe(semi=semi)
        entries = Recipe.from_config(config).build()
        assert [term.name for _, term in entries] == ["region_aware", "cross_layer_mi", "vanilla_kd", semi]
        assert [w for w, _ in entries] == [0.25, 0.1, 1.0, 1.0]
    with pytest.raises(ConfigError, match="semi must be one of"):
        liteheart_recipe(semi="mixmatch")
    with pytest.raises(ConfigError, match="l_mi"):
        liteheart_recipe(l_mi=-0.1)


def test_liteheart_recipe_through_the_distiller_with_the_project_models():
    from ecgkd_lite.distill.distiller import Distiller
    from ecgkd_lite.models import build_model

    torch.manual_seed(0)
    teacher = build_model("patch_transformer", in_leads=12, n_classes=15)
    student = build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)
    distiller = Distiller(teacher, student, Recipe.from_config(liteheart_recipe()))
    y = (seeded(21, 4, 15) > 0.5).float()
    batch = {"x": seeded(20, 4, 12, 250), "y": y, "labeled": torch.tensor([True, True, False, False])}
    distiller.setup(batch)
    layouts = distiller.terms["cross_layer_mi"].token_layout
    assert layouts == {
        ("student", "stage2"): False,
        ("student", "stage3"): True,
        ("teacher", "stage2"): True,
        ("teacher", "stage3"): True,
    }
    losses = distiller(batch)
    losses["total"].backward()
    grads = [p.grad for p in student.parameters() if p.grad is not None]
    assert torch.isfinite(losses["total"]) and grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)
    # the map the term computed from the Distiller's graph-carrying teacher features
    expected = teacher_importance(teacher, batch["x"], y, labeled=batch["labeled"])
    torch.testing.assert_close(distiller.terms["region_aware"].last_importance, expected)


IMPORTANCE_GOLDEN_SUMS = [11.11433, 2.55027, 10.52625, 13.51605, 5.49452, 5.72249]
REGION_GOLDEN = 1.1712605
REGION_SALIENCY_GOLDEN = 0.1295734
MI_GOLDEN = 2.1058531
PSEUDO_GOLDEN = 0.2905625
CONSISTENCY_GOLDEN = 0.0404891
