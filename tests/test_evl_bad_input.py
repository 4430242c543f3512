"""EVL-ECG bad input not covered by test_evl_terms: the teacher side of the token-dimension
check, a layer without a token axis for every term and through the Distiller, epsilon <= 0 / NaN
reaching the recipe, and a NaN transport plan from the teacher's tokens."""

from __future__ import annotations

import pytest
import torch

from ecgkd_lite.distill import Distiller, Recipe
from ecgkd_lite.distill.base import build_term
from ecgkd_lite.distill.evl import evl_recipe
from ecgkd_lite.errors import ConfigError, ModelError, TrainingError
from ecgkd_lite.models import build_model

torch.set_num_threads(1)

B, N_S, D_S, N_T, D_T = 2, 5, 6, 9, 8


def tokens(seed: int, n: int, d: int) -> torch.Tensor:
    return torch.randn(B, n, d, generator=torch.Generator().manual_seed(seed))


def built(name: str, **params):
    term = build_term(name, **params)
    term.build({"tokens": torch.Size([N_S, D_S])}, {"tokens": torch.Size([N_T, D_T])})
    return term


@pytest.mark.parametrize("name", ["mhca", "ot"])
def test_teacher_token_dim_that_does_not_match_the_projection(name):
    term = built(name, dim=8)
    with pytest.raises(
        ModelError, match=f"term '{name}': teacher feature 'tokens' has token dim 5 but the term was built for {D_T}"
    ):
        term({"tokens": tokens(1, N_S, D_S)}, {"tokens": tokens(2, N_T, 5)})


@pytest.mark.parametrize("name", ["mhca", "ot", "relation"])
@pytest.mark.parametrize("role", ["student", "teacher"])
def test_layer_without_a_token_axis(name, role):
    term = built(name, dim=8) if name != "relation" else build_term(name)
    s, t = {"tokens": tokens(1, N_S, D_S)}, {"tokens": tokens(2, N_T, D_T)}
    (s if role == "student" else t)["tokens"] = (s if role == "student" else t)["tokens"].mean(1)  # (B, D)
    with pytest.raises(
        ModelError,
        match=rf"term '{name}' needs {role} feature 'tokens' shaped \(B, N, D\); "
        rf"got \({B}, \d\)",
    ):
        term(s, t)


def test_distiller_with_a_teacher_layer_without_a_token_axis_names_the_term_and_feature():
    torch.manual_seed(0)
    teacher = build_model("resnet1d", "small", in_leads=12, n_classes=15)
    student = build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)
    distiller = Distiller(teacher, student, [(1.0, build_term("ot", dim=8, feature="penultimate"))])
    batch = {"x": torch.randn(2, 12, 250, generator=torch.Generator().manual_seed(3)), "y": torch.zeros(2, 15)}
    distiller.setup(batch)
    with pytest.raises(
        ModelError,
        match=r"term 'ot' needs student feature 'penultimate' shaped \(B, N, D\); "
        r"got \(2, 96\)",
    ):
        distiller(batch)


@pytest.mark.parametrize("epsilon", [0.0, -0.05, float("nan")])
def test_evl_recipe_epsilon_not_positive_fails_when_the_recipe_is_built(epsilon):
    config = evl_recipe(epsilon=epsilon)
    with pytest.raises(ConfigError, match=r"ot epsilon must be > 0 \(a finite number\); got (0\.0|-0\.05|nan)"):
        Recipe.from_config(config["terms"]).build()


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_transport_plan_from_the_teacher_tokens_says_how_to_fix_it(bad):
    teacher = tokens(2, N_T, D_T)
    teacher[1, 3, 0] = bad
    with pytest.raises(
        TrainingError,
        match=r"ot: the transport plan has NaN/inf entries \(epsilon=0\.05\); the "
        r"cost holds NaN/inf \(check the features\).*raise epsilon",
    ):
        built("ot", dim=8)({"tokens": tokens(1, N_S, D_S)}, {"tokens": teacher})
