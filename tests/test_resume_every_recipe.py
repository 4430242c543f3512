"""Exact resume for every recipe: a distilled run killed mid-epoch and resumed from ``last.pt``
ends with the weights and history of the uninterrupted run, for every method of the method table
and for the consistency variant of LiteHeart (whose augmentation generator must be checkpointed)."""

from __future__ import annotations

import pytest
import torch

from ecgkd_lite.distill import METHODS, Distiller, build_recipe
from ecgkd_lite.distill.liteheart import liteheart_recipe
from ecgkd_lite.train import fit
from ecgkd_lite.train.engine import _Trainer
from kd_toy_models import ToyNet
from train_toys import toy_data

RECIPES = {
    **{m: METHODS[m] for m in METHODS if m != "baseline"},
    # thresholds near 0.5 so the untrained toy student is confident somewhere and the views matter
    "liteheart-consistency": liteheart_recipe(semi="consistency", tau_hi=0.52, tau_lo=0.48),
}
RUN = dict(epochs=2, batch_size=8, lr=1e-2, crop_seconds=1.0, input_leads=["I"], progress=False, device="cpu")
STEPS_PER_EPOCH = 4  # 32 training records in batches of 8


@pytest.fixture(scope="module")
def splits():
    data = toy_data(n_per_fold=4, n_samples=200)
    return data.split("train"), data.split("val")


def run(recipe, train, val, checkpoint_dir, student_seed: int = 0):
    torch.manual_seed(0)
    teacher = ToyNet(12, 3, width=8, stride=2, name="toy_teacher")
    torch.manual_seed(student_seed)
    student = ToyNet(1, 3, width=4, stride=4, name="toy_student")
    config = build_recipe(recipe)
    objective = Distiller(teacher, student, config, student_leads=["I"], data_leads=train.leads)
    return fit(student, train, val, objective=objective, checkpoint_dir=checkpoint_dir, **RUN)


def weights(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_killed_and_resumed_run_equals_the_uninterrupted_one(name, splits, tmp_path, monkeypatch):
    train, val = splits
    recipe = RECIPES[name]
    full = run(recipe, train, val, tmp_path / "full")
    step, calls = _Trainer._step, []

    def killing_step(self, *args):
        if len(calls) == STEPS_PER_EPOCH + 1:  # the second step of epoch 2
            raise KeyboardInterrupt("killed")
        calls.append(1)
        return step(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(_Trainer, "_step", killing_step)
        with pytest.raises(KeyboardInterrupt):
            run(recipe, train, val, tmp_path / "cut")
    resumed = run(recipe, train, val, tmp_path / "cut", student_seed=7)  # other initial weights: all come from last.pt
    full_w, resumed_w = weights(full.model), weights(resumed.model)
    assert full_w.keys() == resumed_w.keys()
    for key in full_w:
        torch.testing.assert_close(resumed_w[key], full_w[key], rtol=0, atol=0, msg=f"{name}: {key}")
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)


def test_the_consistency_generator_is_part_of_the_objective_state():
    term = build_recipe({"consistency": {}}).build()[0][1]
    before = term.state_dict()["_extra_state"].clone()
    term.generator.manual_seed(123)
    assert not torch.equal(term.state_dict()["_extra_state"], before)
    term.load_state_dict({"_extra_state": before})
    assert torch.equal(term.generator.get_state(), before)
