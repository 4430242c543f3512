"""fit / predict / objective / history: learning, determinism, best-weight restore, early stopping,
custom objectives, NaN handling and argument errors."""

import json

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ecgkd_lite.errors import ConfigError, ModelError, TrainingError
from ecgkd_lite.evaluate import macro_auc
from ecgkd_lite.train import (
    History,
    Objective,
    ObjectiveProtocol,
    SupervisedObjective,
    TrainConfig,
    fit,
    masked_bce_with_logits,
    predict,
)
from ecgkd_lite.train.engine import epoch_batches, set_train_mode, trainable_parameters
from train_toys import single_thread  # noqa: F401  (fixture)
from train_toys import TinyNet, assert_same_weights, tiny_net, toy_data, weights

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("single_thread")
FAST = dict(epochs=3, batch_size=16, lr=1e-2, progress=False, device="cpu")


@pytest.fixture(scope="module")
def splits():
    return toy_data(n_per_fold=12).splits()  # 96 / 12 / 12 records


@pytest.fixture(scope="module")
def trained(splits):
    train, val, _ = splits
    return fit(tiny_net(dropout=0.2), train, val, **{**FAST, "epochs": 4})


def test_fit_learns_and_logs_history(trained, splits):
    history = trained.history
    assert [row["epoch"] for row in history] == [1, 2, 3, 4]
    assert set(history[0]) == {"epoch", "train_bce", "train_total", "val_macro_auc", "val_map", "lr", "seconds"}
    assert history[-1]["train_bce"] < history[0]["train_bce"]
    assert trained.best_metric > 0.8  # the toy classes are easy
    assert trained.checkpoint is None
    assert not trained.model.training  # handed back ready for inference


def test_best_weights_are_restored(trained, splits):
    _, val, _ = splits
    best = trained.history[trained.best_epoch - 1]
    assert best["val_macro_auc"] == trained.best_metric == max(r["val_macro_auc"] for r in trained.history)
    p = predict(trained.model, val, window_seconds=2.5, stride_seconds=1.25)
    assert macro_auc(val.labels, p) == pytest.approx(trained.best_metric)


def test_fit_is_deterministic_on_cpu(splits):
    train, val, _ = splits
    a = fit(tiny_net(dropout=0.3), train, val, **FAST)
    b = fit(tiny_net(dropout=0.3), train, val, **FAST)
    assert_same_weights(weights(a.model), weights(b.model))
    c = fit(tiny_net(dropout=0.3), train, val, **FAST, seed=1)
    assert not torch.equal(weights(a.model)["head.weight"], weights(c.model)["head.weight"])


def test_early_stopping_with_patience(splits):
    train, val, _ = splits
    result = fit(tiny_net(), train, val, **{**FAST, "epochs": 6, "lr": 1e-12}, scheduler="constant", patience=2)
    assert len(result.history) == 3 and result.best_epoch == 1  # no improvement in epochs 2 and 3


def test_single_lead_student_and_lead_errors(splits):
    train, val, _ = splits
    result = fit(tiny_net(in_leads=1), train, val, input_leads="I", **{**FAST, "epochs": 1})
    assert predict(result.model, val, input_leads=["I"]).shape == (12, 3)
    with pytest.raises(ModelError, match=r"model tinynet takes 12 input leads but train gives 1 \['I'\]"):
        fit(tiny_net(), train, val, input_leads="I", **FAST)
    with pytest.raises(ModelError, match="predicts 5 classes but the data has 3"):
        predict(tiny_net(n_classes=5), val)
    with pytest.raises(ConfigError, match="lead 'X1' is not a standard lead"):
        fit(tiny_net(), train, val, input_leads="X1", **FAST)


class HeadObjective(Objective):
    """BCE of the student plus an MSE from an extra trainable head to a frozen 'teacher' (with BN)."""

    def __init__(self, student: nn.Module):
        super().__init__()
        self.student = student
        self.teacher = TinyNet(12, 3, name="teacher").eval()
        self.teacher.requires_grad_(False)
        self.head = nn.Linear(3, 3)

    def forward(self, batch):
        z = self.student(batch["x"][:, :1])
        with torch.no_grad():
            t = self.teacher(batch["x"])
        bce = masked_bce_with_logits(z, batch["y"], batch["labeled"])
        kd = F.mse_loss(self.head(z), t)
        return {"bce": bce, "kd": kd, "total": bce + kd}


def test_custom_objective_trains_heads_and_keeps_teacher_frozen(splits):
    train, val, _ = splits
    torch.manual_seed(0)
    objective = HeadObjective(TinyNet(1, 3))
    teacher_before, head_before = weights(objective.teacher), weights(objective.head)
    assert (
        len(trainable_parameters(objective.student, objective)) == 2 + 2 + 2 + 2
    )  # conv, BN, linear of the student; the head
    result = fit(objective.student, train, val, objective=objective, input_leads="I", **{**FAST, "epochs": 2})
    assert {"train_bce", "train_kd", "train_total"} <= set(result.history[0])
    assert result.history[0]["train_total"] == pytest.approx(
        result.history[0]["train_bce"] + result.history[0]["train_kd"]
    )
    assert_same_weights(weights(objective.teacher), teacher_before)  # incl. BN running statistics
    assert not torch.equal(objective.head.weight, head_before["weight"])
    set_train_mode(objective)
    assert objective.training and objective.student.training and not objective.teacher.training


def test_best_checkpoint_keeps_the_objectives_learnable_parts(splits, tmp_path):
    """best.pt carries the heads of its own epoch (so attention maps / plans of a trained student can
    be rebuilt), without duplicating the student's weights."""
    from ecgkd_lite.train.checkpoint import load_checkpoint

    train, val, _ = splits
    torch.manual_seed(0)
    objective = HeadObjective(TinyNet(1, 3))
    fit(
        objective.student,
        train,
        val,
        objective=objective,
        input_leads="I",
        checkpoint_dir=tmp_path,
        **{**FAST, "epochs": 1},
    )
    state = load_checkpoint(tmp_path / "best.pt")["extra_state"]["objective_state"]
    assert {"head.weight", "head.bias"} <= set(state) and not any(k.startswith("student.") for k in state)
    assert torch.equal(state["head.weight"], objective.head.weight.detach())


class LazyHeadObjective(SupervisedObjective):
    """Builds its head from the logits shape in ``setup`` (the Distiller protocol)."""

    def __init__(self, model):
        super().__init__(model)
        self.is_setup, self.probe_size = False, None

    def setup(self, batch):
        self.head = nn.Linear(self.model(batch["x"]).shape[1], 1)
        self.head_init = self.head.weight.detach().clone()
        self.is_setup, self.probe_size = True, len(batch["x"])

    def forward(self, batch):
        out = super().forward(batch)
        extra = self.head(self.model(batch["x"])).pow(2).mean()
        return {**out, "extra": extra, "total": out["total"] + extra}


def test_objective_setup_runs_before_the_optimizer(splits):
    train, val, _ = splits
    objective = LazyHeadObjective(tiny_net())
    fit(objective.model, train, val, objective=objective, **{**FAST, "epochs": 1})
    assert objective.probe_size == 16  # the first batch of epoch 0
    assert not torch.equal(objective.head.weight, objective.head_init)  # the head was in the optimizer


def test_masked_bce_golden():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0], [-3.0, 1.0]], requires_grad=True)
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    loss = masked_bce_with_logits(logits, y, torch.tensor([True, False, True]))
    # hand value: mean of softplus(-2), softplus(-1), softplus(3), softplus(-1) over the labeled rows 0 and 2
    assert loss.item() == pytest.approx(0.9505096748)
    loss.backward()
    assert logits.grad[1].abs().sum() == 0 and logits.grad[0].abs().sum() > 0
    none = masked_bce_with_logits(logits, y, torch.zeros(3, dtype=torch.bool))
    assert none.item() == 0.0 and none.requires_grad


def test_supervised_objective_selects_leads():
    net = tiny_net(in_leads=2)
    batch = {"x": torch.randn(4, 12, 50), "y": torch.ones(4, 3), "labeled": torch.ones(4, dtype=torch.bool)}
    out = SupervisedObjective(net, [0, 5])(batch)
    expected = F.binary_cross_entropy_with_logits(net(batch["x"][:, [0, 5]]), batch["y"])
    assert out["total"] is out["bce"] and out["bce"].item() == pytest.approx(expected.item())


def test_labeled_mask_reaches_the_loss(splits):
    train, val, _ = splits
    labeled = np.zeros(len(train), dtype=bool)
    labeled[:10] = True
    result = fit(tiny_net(), train, val, labeled=labeled, **{**FAST, "epochs": 1})
    assert np.isfinite(result.history[0]["train_bce"])
    with pytest.raises(ConfigError, match="labeled marks no training record"):
        fit(tiny_net(), train, val, labeled=np.zeros(len(train), dtype=bool), **FAST)


class NaNAfter(Objective):
    """Supervised objective whose 'bce' turns NaN at call ``at`` (counting from 0)."""

    def __init__(self, model, at):
        super().__init__()
        self.inner, self.at, self.calls = SupervisedObjective(model), at, 0

    def forward(self, batch):
        out = self.inner(batch)
        self.calls += 1
        if self.calls > self.at:
            out = {"bce": out["bce"] * float("nan"), "total": out["total"] * float("nan")}
        return out


def test_nan_loss_names_epoch_step_term_and_checkpoint(splits, tmp_path):
    train, val, _ = splits
    model = tiny_net()
    steps = len(epoch_batches(len(train), 16, 0, 0, 2))  # 6 per epoch
    with pytest.raises(
        TrainingError, match=r"epoch 2, step 3: bce=nan, total=nan; the last good checkpoint \(1 epochs\)"
    ):
        fit(model, train, val, objective=NaNAfter(model, steps + 2), checkpoint_dir=tmp_path, **FAST)
    assert (tmp_path / "last.pt").exists()
    with pytest.raises(TrainingError, match="epoch 1, step 1: .*no checkpoint_dir was given"):
        fit(model, train, val, objective=NaNAfter(model, 0), **FAST)


def test_objective_must_return_total(splits):
    train, val, _ = splits
    model = tiny_net()

    class NoTotal(SupervisedObjective):
        def forward(self, batch):
            return {"bce": super().forward(batch)["bce"]}

    with pytest.raises(ConfigError, match=r"including 'total'; got dict with keys \['bce'\]"):
        fit(model, train, val, objective=NoTotal(model), **FAST)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs must be an integer >= 1; got 0"),
        ({"epochs": True}, "epochs must be an integer >= 1; got True"),
        ({"epochs": 2.5}, "epochs must be an integer >= 1; got 2.5"),
        ({"batch_size": 0}, "batch_size must be an integer >= 1"),
        ({"lr": -1.0}, r"lr must be > 0 \(a finite number\)"),
        ({"crop_seconds": 0.0}, r"crop_seconds must be > 0"),
        ({"crop_seconds": 0.001}, "crop_seconds must be a positive duration"),
        ({"scheduler": "step"}, "scheduler 'step' is unknown"),
        ({"monitor": "val_loss"}, "monitor 'val_loss' is unknown"),
        ({"patience": 0}, "patience must be an integer >= 1"),
        ({"max_grad_norm": 0.0}, "max_grad_norm must be > 0"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"warmup": 3}, r"unknown training options \['warmup'\]"),
    ],
)
def test_bad_fit_arguments_are_named(splits, kwargs, message):
    train, val, _ = splits
    with pytest.raises(ConfigError, match=message):
        fit(tiny_net(), train, val, **{**FAST, **kwargs})


def test_fit_takes_a_train_config_and_keyword_overrides(splits):
    train, val, _ = splits
    config = TrainConfig(**{**FAST, "epochs": 1})
    a = fit(tiny_net(), train, val, config)
    b = fit(tiny_net(), train, val, **{**FAST, "epochs": 1})
    assert a.history[0]["val_macro_auc"] == b.history[0]["val_macro_auc"]
    assert len(fit(tiny_net(), train, val, config, epochs=2).history) == 2
    with pytest.raises(ConfigError, match="epochs is required"):
        fit(tiny_net(), train, val)


def test_an_objective_without_the_contract_is_named(splits):
    train, val, _ = splits
    model = tiny_net()

    class Bare(nn.Module):
        def forward(self, batch):
            return SupervisedObjective(model)(batch)

    with pytest.raises(
        ConfigError,
        match=r"objective Bare lacks \['is_setup', 'setup', 'monitors', "
        r"'validation_metrics'\] of the objective contract",
    ):
        fit(model, train, val, objective=Bare(), **FAST)
    assert isinstance(SupervisedObjective(model), ObjectiveProtocol) and not isinstance(Bare(), ObjectiveProtocol)


def test_gradient_clipping_and_cosine_schedule_run(splits):
    train, val, _ = splits
    result = fit(tiny_net(), train, val, **{**FAST, "epochs": 2}, scheduler="cosine", max_grad_norm=0.1)
    assert result.history[-1]["lr"] == pytest.approx(0.0, abs=1e-12)  # cosine anneals to 0 at the last step


class MeanModel(nn.Module):
    """logit_c = scale_c * mean of the window (so window averages are easy to compute by hand)."""

    config = {"name": "mean", "in_leads": 1, "n_classes": 3}

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([1.0, 2.0, 0.0]))

    def forward(self, x):
        return x.mean(dim=(1, 2))[:, None] * self.scale


def test_predict_averages_window_probabilities():
    data = toy_data(n_per_fold=1, n_leads=1, n_samples=10, fs=2.0)  # 5 s records, windows of 2 s = 4 samples
    data.signals[:] = np.arange(10, dtype=np.float32)
    model = MeanModel()
    p = predict(model, data, window_seconds=2.0, stride_seconds=1.5)  # starts 0, 3, 6 (end-aligned: 6)
    means = np.array([1.5, 4.5, 7.5])  # window means for starts 0, 3, 6
    expected = [(1 / (1 + np.exp(-means))).mean(), (1 / (1 + np.exp(-2 * means))).mean(), 0.5]
    np.testing.assert_allclose(p[0], expected, rtol=1e-6)
    np.testing.assert_allclose(
        predict(model, data, window_seconds=2.0, stride_seconds=1.5, return_logits=True)[0], [4.5, 9.0, 0.0], rtol=1e-6
    )
    np.testing.assert_allclose(predict(model, data, window_seconds=60.0, return_logits=True)[0], [4.5, 9.0, 0.0])
    np.testing.assert_allclose(predict(model, data, window_seconds=2.0, stride_seconds=1.5, batch_size=1), p)


def test_predict_restores_training_mode_and_checks_arguments(splits):
    _, val, _ = splits
    model = tiny_net().train()
    predict(model, val)
    assert model.training
    with pytest.raises(ConfigError, match="stride_seconds must be a positive duration"):
        predict(model, val, stride_seconds=0.0)
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        predict(model, val, batch_size=0)


def test_epoch_batches_drop_a_lone_last_record():
    sizes = [len(b) for b in epoch_batches(33, 16, 0, 0, min_batch=2)]
    assert sizes == [16, 16]  # a batch of one cannot train BatchNorm
    assert [len(b) for b in epoch_batches(34, 16, 0, 0, min_batch=2)] == [16, 16, 2]


def test_history_frame_json_and_plot(trained):
    history = trained.history
    frame = history.to_frame()
    assert list(frame.index) == [1, 2, 3, 4] and "val_map" in frame
    restored = History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert restored == history and isinstance(restored, History)
    fig = history.plot(["train_bce", "val_macro_auc"])
    assert [line.get_label() for line in fig.axes[0].lines] == ["train_bce", "val_macro_auc"]
    assert history.best("val_macro_auc")["epoch"] == trained.best_epoch
    with pytest.raises(ConfigError, match=r"history has no \['val_loss'\]"):
        history.plot(["val_loss"])
    with pytest.raises(ConfigError, match="history dict must look like"):
        History.from_dict([1, 2])
