"""Shipped pretrained runs: used only for the identical run, copied into the cache, switchable off."""

import json

import pytest
import torch

from ecgkd_lite.errors import CheckpointError
from ecgkd_lite.train import cached_fit
from ecgkd_lite.train import TrainConfig
from ecgkd_lite.train.pretrained import export_pretrained, fetch_pretrained, read_run_log
from train_toys import tiny_net, toy_data


def tiny_data():
    return toy_data().split("train"), toy_data().split("val")


def _fit(root, train, val, seed=0):
    return cached_fit(
        tiny_net,
        train,
        val,
        tag="toy",
        cache_root=root,
        config=TrainConfig(epochs=1, batch_size=16, crop_seconds=2.0, seed=seed, progress=False),
    )


def test_shipped_run_is_loaded_instead_of_training(tmp_path, monkeypatch):
    train, val = tiny_data()
    first = _fit(tmp_path / "a", train, val)
    runs_log = tmp_path / "runs.txt"
    monkeypatch.setenv("ECGKD_RUN_LOG", str(runs_log))
    _fit(tmp_path / "a", train, val)  # loaded from cache; its run is recorded
    assert read_run_log(runs_log) == [(first.checkpoint.parent.name, "cached")]
    names = [first.checkpoint.parent.name]
    shipped = tmp_path / "shipped"
    assert export_pretrained(names, tmp_path / "a", tmp_path / "tiny_limit", max_bytes=10) == ([], names)
    assert not (tmp_path / "tiny_limit" / names[0]).exists()  # too large even in float16: nothing shipped
    written, skipped = export_pretrained(names, tmp_path / "a", shipped)
    assert written == [shipped / names[0]] and skipped == []
    monkeypatch.setattr("ecgkd_lite.train.pretrained.PRETRAINED_DIR", shipped)

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the run is shipped")

    monkeypatch.setattr("ecgkd_lite.train.cache.fit", no_training)
    second = _fit(tmp_path / "b", train, val)
    assert second.checkpoint.parent.parent == tmp_path / "b"
    assert read_run_log(runs_log)[-1] == (names[0], "shipped")
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    # another seed is another run: not shipped, so it must train
    with pytest.raises(AssertionError, match="trained although"):
        _fit(tmp_path / "b", train, val, seed=1)
    # switched off: trains even the shipped run
    monkeypatch.setenv("ECGKD_PRETRAINED", "0")
    with pytest.raises(AssertionError, match="trained although"):
        _fit(tmp_path / "c", train, val)


def test_half_shipped_run_and_unknown_export_raise(tmp_path, monkeypatch):
    run = tmp_path / "shipped" / "toy-abc"
    run.mkdir(parents=True)
    (run / "best.pt").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="best.pt.json"):
        fetch_pretrained(tmp_path / "cache" / "toy-abc", root=tmp_path / "shipped")
    with pytest.raises(CheckpointError, match="'nope'"):
        export_pretrained(["nope"], tmp_path / "cache", tmp_path / "out")


def test_run_over_the_cap_is_shipped_in_half_precision(tmp_path, monkeypatch):
    train, val = tiny_data()
    first = _fit(tmp_path / "a", train, val)
    name = first.checkpoint.parent.name
    size = first.checkpoint.stat().st_size
    written, skipped = export_pretrained([name], tmp_path / "a", tmp_path / "shipped", max_bytes=size - 1)
    assert written == [tmp_path / "shipped" / name] and skipped == []
    shipped = tmp_path / "shipped" / name / "best.pt"
    assert shipped.stat().st_size < size
    assert json.loads((shipped.parent / "best.pt.json").read_text())["shipped_precision"] == "float16"
    monkeypatch.setattr("ecgkd_lite.train.pretrained.PRETRAINED_DIR", tmp_path / "shipped")
    loaded = _fit(tmp_path / "b", train, val)
    for a, b in zip(first.model.state_dict().values(), loaded.model.state_dict().values()):
        assert b.dtype == a.dtype
        assert torch.equal(b, a.half().to(a.dtype)) if a.is_floating_point() else torch.equal(a, b)
    # too large even in half precision: skipped, nothing left behind
    assert export_pretrained([name], tmp_path / "a", tmp_path / "none", max_bytes=10) == ([], [name])
    assert not (tmp_path / "none" / name).exists()
