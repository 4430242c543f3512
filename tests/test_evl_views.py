"""ecgkd_lite.explain.evl_views: rebuilding a trained EVL-ECG Distiller from its checkpoint."""

from __future__ import annotations

import copy

import pytest
import torch

from ecgkd_lite.distill import Distiller, build_recipe
from ecgkd_lite.distill.evl import evl_recipe
from ecgkd_lite.errors import CheckpointError, ModelError
from ecgkd_lite.explain.evl_views import evl_views, objective_checkpoint, token_centres, token_grid, trained_distiller
from ecgkd_lite.models import build_model
from ecgkd_lite.train.checkpoint import save_checkpoint
from ecgkd_lite.train.engine import FitResult, _state_not_in
from ecgkd_lite.train.history import History

torch.set_num_threads(1)
SAMPLES = 250


def x_batch(b: int = 3) -> torch.Tensor:
    return torch.randn(b, 12, SAMPLES, generator=torch.Generator().manual_seed(7))


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    teacher = build_model("patch_transformer", in_leads=12, n_classes=15).eval()
    student = build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15).eval()
    return teacher, student


def save_run(folder, teacher, student, recipe="evl_ecg", objective_in_best=False):
    """A run folder like the engine's: best.pt (student only) and last.pt (student + objective state),
    with term weights and last-epoch student weights that differ from a fresh build."""
    folder.mkdir(parents=True, exist_ok=True)
    last_student = copy.deepcopy(student)
    torch.manual_seed(1)
    distiller = Distiller(teacher, last_student, build_recipe(recipe))
    distiller.setup({"x": x_batch(1)})
    with torch.no_grad():
        for p in [*distiller.terms.parameters(), *last_student.parameters()]:
            p.add_(0.01 * torch.randn_like(p))
    common = dict(history=History(), config={"crop_samples": SAMPLES}, data_fingerprint="fp", metrics={})
    state = {"objective_state": _state_not_in(distiller, last_student)}
    save_checkpoint(
        folder / "best.pt", model=student, epoch=2, extra_state=state if objective_in_best else None, **common
    )
    save_checkpoint(folder / "last.pt", model=last_student, epoch=5, extra_state=state, **common)
    return distiller, FitResult(copy.deepcopy(student), History(), 2, 0.5, folder / "best.pt")


def test_trained_distiller_restores_terms_and_student_from_the_same_file(models, tmp_path):
    teacher, student = models
    saved, fit = save_run(tmp_path / "run", teacher, student)
    before = copy.deepcopy(fit.model.state_dict())
    distiller, epoch = trained_distiller(fit, teacher, "evl_ecg")
    assert epoch == 5  # last.pt: best.pt has no objective state
    for (k, v), (k2, v2) in zip(distiller.terms.state_dict().items(), saved.terms.state_dict().items()):
        assert k == k2 and torch.equal(v, v2)
    for k, v in distiller.student.state_dict().items():
        assert torch.equal(v, saved.student.state_dict()[k])
    assert all(torch.equal(v, fit.model.state_dict()[k]) for k, v in before.items())  # fit.model untouched
    assert not distiller.training


def test_objective_checkpoint_prefers_best_when_it_has_the_state(models, tmp_path):
    teacher, student = models
    save_run(tmp_path / "run", teacher, student, objective_in_best=True)
    path, payload = objective_checkpoint(tmp_path / "run")
    assert path.name == "best.pt" and payload["epoch"] == 2


def test_evl_views_shapes_normalisation_and_losses(models, tmp_path):
    teacher, student = models
    saved, fit = save_run(tmp_path / "run", teacher, student)
    distiller, _ = trained_distiller(fit, teacher)
    x = x_batch()
    views = evl_views(distiller, x)
    assert views.student_tokens.shape == (3, 16, 96) and views.teacher_tokens.shape == (3, 120, 128)
    assert views.attention.shape == (3, 4, 16, 120) and views.aligned.shape == (3, 16, 64)
    assert views.plan.shape == (3, 16, 120)
    torch.testing.assert_close(views.attention.sum(-1), torch.ones(3, 4, 16))
    torch.testing.assert_close(views.plan.sum(1), torch.full((3, 120), 1 / 120), atol=1e-6, rtol=0)
    saved.eval()
    with torch.no_grad():
        expected = saved({"x": x, "y": torch.zeros(3, 15)})
    assert views.losses == pytest.approx({k: float(expected[k]) for k in ("mhca", "relation", "ot")}, abs=1e-5)


def test_evl_views_without_mhca_has_no_attention(models, tmp_path):
    teacher, student = models
    _, fit = save_run(tmp_path / "run", teacher, student, recipe="evl_ecg-no_mhca")
    views = evl_views(trained_distiller(fit, teacher, "evl_ecg-no_mhca")[0], x_batch(2))
    assert views.attention is None and views.aligned is None and views.plan.shape == (2, 16, 120)


def test_trained_distiller_errors(models, tmp_path):
    teacher, student = models
    _, fit = save_run(tmp_path / "run", teacher, student)
    other = build_model("patch_transformer", in_leads=12, n_classes=15)
    with pytest.raises(CheckpointError, match="distilled from another teacher"):
        trained_distiller(fit, other)
    small = {"alpha": 0.5, "terms": evl_recipe(dim=32)["terms"]}
    with pytest.raises(CheckpointError, match="do not fit the recipe"):
        trained_distiller(fit, teacher, small)
    (tmp_path / "run" / "last.pt").unlink()
    with pytest.raises(CheckpointError, match=r"holds no objective state .*\['best.pt', 'last.pt'\]"):
        trained_distiller(fit, teacher)


def test_token_grid_and_centres(models):
    teacher, student = models
    assert token_grid(teacher, 120) == (12, 10)
    assert token_grid(student, 16) == (1, 16)
    with pytest.raises(ModelError, match="12 leads but 100 tokens"):
        token_grid(teacher, 100)
    torch.testing.assert_close(
        token_centres(4, 250, 100.0), torch.tensor([0.3125, 0.9375, 1.5625, 2.1875], dtype=torch.float64)
    )
