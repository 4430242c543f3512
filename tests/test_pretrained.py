"""Shipped pretrained runs: used only for the identical run, copied into the cache, switchable off."""

import pytest
import torch

from ecgkd_lite.errors import CheckpointError
from ecgkd_lite.train import cached_fit
from ecgkd_lite.train.pretrained import export_pretrained, fetch_pretrained
from train_toys import tiny_net, toy_data


def tiny_data():
    return toy_data().split("train"), toy_data().split("val")


def _fit(root, train, val, seed=0):
    return cached_fit(tiny_net, train, val, tag="toy", cache_root=root,
                      fit_kwargs={"epochs": 1, "batch_size": 16, "crop_seconds": 2.0, "seed": seed,
                                  "progress": False})


def test_shipped_run_is_loaded_instead_of_training(tmp_path, monkeypatch):
    train, val = tiny_data()
    first = _fit(tmp_path / "a", train, val)
    runs_log = tmp_path / "runs.txt"
    monkeypatch.setenv("ECGKD_RUN_LOG", str(runs_log))
    _fit(tmp_path / "a", train, val)  # loaded from cache; its run is recorded
    names = runs_log.read_text().split()
    assert names == [first.checkpoint.parent.name]
    shipped = tmp_path / "shipped"
    assert export_pretrained(names, tmp_path / "a", tmp_path / "tiny_limit", max_bytes=10) == ([], names)
    assert not (tmp_path / "tiny_limit").exists()  # too large for the limit: nothing shipped
    written, skipped = export_pretrained(names, tmp_path / "a", shipped)
    assert written == [shipped / names[0]] and skipped == []
    monkeypatch.setattr("ecgkd_lite.train.pretrained.PRETRAINED_DIR", shipped)
    def no_training(*args, **kwargs):
        raise AssertionError("trained although the run is shipped")

    monkeypatch.setattr("ecgkd_lite.train.cache.fit", no_training)
    second = _fit(tmp_path / "b", train, val)
    assert second.checkpoint.parent.parent == tmp_path / "b"
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
