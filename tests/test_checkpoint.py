"""Checkpoints (atomic, weights_only, JSON beside), corrupt/mismatched files, exact resume, model cache."""

import json

import pytest
import torch

from ecgkd_lite.errors import CheckpointError, ConfigError
from ecgkd_lite.train import TrainConfig, cached_fit, fit, load_checkpoint, save_checkpoint
from ecgkd_lite.train import cache as cache_module
from ecgkd_lite.train.checkpoint import rng_state, set_rng_state
from ecgkd_lite.train.engine import _Trainer
from train_toys import single_thread  # noqa: F401  (fixture)
from train_toys import assert_same_weights, tiny_net, toy_data, weights

pytestmark = pytest.mark.usefixtures("single_thread")
RUN = dict(epochs=4, batch_size=16, lr=1e-2, progress=False, device="cpu")


@pytest.fixture(scope="module")
def splits():
    return toy_data(n_per_fold=8).splits()  # 64 / 8 / 8 records


def _save(path, model, **kwargs):
    return save_checkpoint(
        path,
        model=model,
        epoch=3,
        config={"lr": 0.01},
        data_fingerprint="abc",
        metrics={"val_macro_auc": 0.9},
        **kwargs,
    )


def test_roundtrip_with_json_beside(tmp_path):
    model = tiny_net()
    optimizer = torch.optim.AdamW(model.parameters())
    path = _save(
        tmp_path / "m.pt",
        model,
        optimizer=optimizer,
        history=[{"epoch": 1, "val_map": 0.5}],
        extra_state={"rng": rng_state()},
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt", "m.pt.json"]  # no temp files left
    torch.load(path, weights_only=True)  # only safe types inside
    other = tiny_net(seed=1)
    payload = load_checkpoint(path, other)
    assert_same_weights(weights(other), weights(model))
    assert payload["epoch"] == 3 and payload["history"] == [{"epoch": 1, "val_map": 0.5}]
    sidecar = json.loads((tmp_path / "m.pt.json").read_text())
    assert sidecar["model_config"] == {"name": "tinynet", "size": "tiny", "in_leads": 12, "n_classes": 3}
    assert sidecar["config"] == {"lr": 0.01} and sidecar["data_fingerprint"] == "abc"
    assert sidecar["metrics"] == {"val_macro_auc": 0.9} and sidecar["epoch"] == 3 and "date" in sidecar


def test_rng_state_roundtrip():
    state = rng_state()
    a = (torch.rand(3), __import__("numpy").random.rand(), __import__("random").random())
    set_rng_state(state)
    b = (torch.rand(3), __import__("numpy").random.rand(), __import__("random").random())
    assert torch.equal(a[0], b[0]) and a[1:] == b[1:]


def test_corrupt_truncated_and_missing_files_are_named(tmp_path):
    path = _save(tmp_path / "m.pt", tiny_net())
    data = path.read_bytes()
    (tmp_path / "cut.pt").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    for name in ("cut.pt", "junk.pt"):
        with pytest.raises(CheckpointError, match=f"checkpoint .*{name} is corrupt or truncated"):
            load_checkpoint(tmp_path / name)
    with pytest.raises(CheckpointError, match="nope.pt does not exist"):
        load_checkpoint(tmp_path / "nope.pt")
    torch.save({"weights": torch.zeros(1)}, tmp_path / "alien.pt")
    with pytest.raises(CheckpointError, match="alien.pt is not an ecgkd_lite checkpoint"):
        load_checkpoint(tmp_path / "alien.pt")


def test_mismatched_model_names_both_sides(tmp_path):
    path = _save(tmp_path / "m.pt", tiny_net(n_classes=5))
    with pytest.raises(
        CheckpointError,
        match=r"m.pt is for tinynet/tiny with 5 classes and 12 leads; the model is "
        r"tinynet/tiny with 3 classes and 12 leads \(differs in \['n_classes'\]\)",
    ):
        load_checkpoint(path, tiny_net())
    with pytest.raises(CheckpointError, match=r"the model is student/tiny with 5 classes and 1 leads"):
        load_checkpoint(path, expect_config={"name": "student", "size": "tiny", "n_classes": 5, "in_leads": 1})
    with pytest.raises(CheckpointError, match=r"the model is Linear \(differs in \['name'\]\)"):
        load_checkpoint(path, torch.nn.Linear(2, 2))  # no config: the class name stands for it
    with pytest.raises(CheckpointError, match="does not fit the model tinynet/tiny with 5 classes"):
        load_checkpoint(path, tiny_net(n_classes=5, width=4))  # same config, other shapes


def kill_at_step(monkeypatch, at: int) -> None:
    """Make the engine's training step raise KeyboardInterrupt (a simulated kill) at call ``at``."""
    calls = []
    step = _Trainer._step

    def killing_step(self, *args):
        if len(calls) == at:
            raise KeyboardInterrupt("killed")
        calls.append(1)
        return step(self, *args)

    monkeypatch.setattr(_Trainer, "_step", killing_step)


def test_interrupted_run_resumes_to_the_same_weights(splits, tmp_path, monkeypatch):
    train, val, _ = splits
    full = fit(tiny_net(dropout=0.3), train, val, **RUN, checkpoint_dir=tmp_path / "full")

    steps_per_epoch = 4
    with monkeypatch.context() as patch:
        kill_at_step(patch, 2 * steps_per_epoch + 1)
        with pytest.raises(KeyboardInterrupt):  # killed in the middle of epoch 3
            fit(tiny_net(dropout=0.3), train, val, **RUN, checkpoint_dir=tmp_path / "cut")
    assert torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["epoch"] == 2
    resumed = fit(tiny_net(seed=7, dropout=0.3), train, val, **RUN, checkpoint_dir=tmp_path / "cut")

    assert_same_weights(weights(resumed.model), weights(full.model))
    strip = lambda h: [{k: v for k, v in row.items() if k != "seconds"} for row in h]  # noqa: E731
    assert strip(resumed.history) == strip(full.history)
    assert (resumed.best_epoch, resumed.best_metric) == (full.best_epoch, full.best_metric)
    assert resumed.checkpoint == tmp_path / "cut" / "best.pt"
    again = fit(tiny_net(seed=9, dropout=0.3), train, val, **RUN, checkpoint_dir=tmp_path / "cut")  # already done
    assert_same_weights(weights(again.model), weights(full.model))


def test_resume_refuses_another_config_or_data(splits, tmp_path):
    train, val, _ = splits
    fit(tiny_net(), train, val, **{**RUN, "epochs": 1}, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match=r"another training config \(differs in \['lr'\]\)"):
        fit(tiny_net(), train, val, **{**RUN, "epochs": 1, "lr": 0.1}, checkpoint_dir=tmp_path)
    with pytest.raises(CheckpointError, match="trained on other data"):
        fit(tiny_net(), val, val, **{**RUN, "epochs": 1, "batch_size": 4}, checkpoint_dir=tmp_path / "x")  # fresh
        fit(tiny_net(), train, train, **{**RUN, "epochs": 1, "batch_size": 4}, checkpoint_dir=tmp_path / "x")
    fresh = fit(tiny_net(), train, val, **{**RUN, "epochs": 1, "lr": 0.1}, checkpoint_dir=tmp_path, resume=False)
    assert len(fresh.history) == 1


def test_cached_fit_trains_once_then_loads(splits, tmp_path, monkeypatch):
    train, val, _ = splits
    kwargs = {**RUN, "epochs": 2}
    first = cached_fit(tiny_net, train, val, tag="teacher", config=TrainConfig(**kwargs), cache_root=tmp_path)
    (run_dir,) = tmp_path.iterdir()
    assert run_dir.name.startswith("teacher-") and (run_dir / "best.pt").exists()

    def no_training(*args, **kw):
        raise AssertionError("cached_fit trained again")

    monkeypatch.setattr(cache_module, "fit", no_training)
    second = cached_fit(
        tiny_net, train, val, tag="teacher", config=TrainConfig(**{**kwargs, "progress": True}), cache_root=tmp_path
    )
    assert_same_weights(weights(second.model), weights(first.model))
    assert second.history == first.history and second.best_epoch == first.best_epoch
    assert second.best_metric == first.best_metric
    with pytest.raises(AssertionError, match="trained again"):
        cached_fit(tiny_net, train, val, tag="teacher", config=TrainConfig(**kwargs), cache_root=tmp_path, force=True)
    with pytest.raises(AssertionError, match="trained again"):  # another key: another lr
        cached_fit(
            tiny_net, train, val, tag="teacher", config=TrainConfig(**{**kwargs, "lr": 0.02}), cache_root=tmp_path
        )


def test_cached_fit_uses_the_cache_dir_by_default(splits, tmp_path, monkeypatch):
    train, val, _ = splits
    monkeypatch.setenv("ECGKD_CACHE", str(tmp_path))
    result = cached_fit(tiny_net, train, val, tag="t", config=TrainConfig(**{**RUN, "epochs": 1}))
    assert result.checkpoint.parent.parent == tmp_path / "models"


@pytest.mark.parametrize(
    "tag, config, message",
    [
        ("a/b", TrainConfig(**RUN), "tag must be a non-empty name"),
        ("t", {**RUN}, "config must be a TrainConfig; got dict"),
    ],
)
def test_cached_fit_bad_arguments(splits, tmp_path, tag, config, message):
    train, val, _ = splits
    with pytest.raises(ConfigError, match=message):
        cached_fit(tiny_net, train, val, tag=tag, config=config, cache_root=tmp_path)


def test_cached_fit_with_an_objective_keys_on_it(splits, tmp_path):
    """A distilled student is cached too: the objective factory is called with the fresh model and
    the objective key enters the cache key (another key -> another run)."""
    from ecgkd_lite.train import SupervisedObjective

    train, val, _ = splits
    built = []

    def objective_factory(model):
        built.append(model)
        return SupervisedObjective(model, list(range(train.n_leads)))

    kwargs = {**RUN, "epochs": 1}
    first = cached_fit(
        tiny_net,
        train,
        val,
        tag="student",
        config=TrainConfig(**kwargs),
        cache_root=tmp_path,
        objective_factory=objective_factory,
        objective_key={"recipe": "a"},
    )
    assert built == [first.model]
    again = cached_fit(
        tiny_net,
        train,
        val,
        tag="student",
        config=TrainConfig(**kwargs),
        cache_root=tmp_path,
        objective_factory=objective_factory,
        objective_key={"recipe": "a"},
    )
    assert len(built) == 1  # loaded, the objective was not needed
    assert_same_weights(weights(again.model), weights(first.model))
    cached_fit(
        tiny_net,
        train,
        val,
        tag="student",
        config=TrainConfig(**kwargs),
        cache_root=tmp_path,
        objective_factory=objective_factory,
        objective_key={"recipe": "b"},
    )
    assert len(built) == 2 and len(list(tmp_path.iterdir())) == 2
    with pytest.raises(ConfigError, match="go together"):
        cached_fit(
            tiny_net,
            train,
            val,
            tag="student",
            config=TrainConfig(**kwargs),
            cache_root=tmp_path,
            objective_factory=objective_factory,
        )


def test_cached_fit_resumes_an_interrupted_run_instead_of_loading_its_best_so_far(splits, tmp_path, monkeypatch):
    """best.pt is written at every improvement, so a run killed mid-training has one; cached_fit must
    not take it for the finished run (nor one another process is still training) but resume it."""
    train, val, _ = splits
    config = TrainConfig(**RUN)
    full = cached_fit(tiny_net, train, val, tag="full", config=config, cache_root=tmp_path / "a")
    with monkeypatch.context() as patch:
        kill_at_step(patch, 2 * 4 + 1)  # in the middle of epoch 3 (4 steps per epoch)
        with pytest.raises(KeyboardInterrupt):
            cached_fit(tiny_net, train, val, tag="full", config=config, cache_root=tmp_path / "b")
    (run_dir,) = (tmp_path / "b").iterdir()
    assert (run_dir / "best.pt").exists() and not cache_module.run_finished(run_dir)
    resumed = cached_fit(tiny_net, train, val, tag="full", config=config, cache_root=tmp_path / "b")
    assert len(resumed.history) == len(full.history) == RUN["epochs"]
    assert_same_weights(weights(resumed.model), weights(full.model))
    assert cache_module.run_finished(run_dir)


def test_a_run_stopped_early_or_shipped_counts_as_finished(splits, tmp_path):
    train, val, _ = splits
    cached_fit(tiny_net, train, val, tag="t", config=TrainConfig(**RUN), cache_root=tmp_path)
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "last.pt.json").read_text())
    rows = summary["history"]["epochs"]
    # two epochs, the second worse than the first: finished with patience 1, not with patience 2
    summary["history"]["epochs"] = [{**rows[0], "val_macro_auc": 0.9}, {**rows[1], "val_macro_auc": 0.8}]
    for patience, finished in ((1, True), (2, False)):
        summary["config"]["patience"] = patience
        (run_dir / "last.pt.json").write_text(json.dumps(summary))
        assert cache_module.run_finished(run_dir) is finished
    (run_dir / "last.pt").unlink()  # a shipped run: best.pt (and its JSON) only
    assert cache_module.run_finished(run_dir)
