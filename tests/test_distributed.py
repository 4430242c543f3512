"""DDP on CPU: 2 gloo processes sharing each global batch reach the single-process weights."""

import os

import numpy as np
import pytest
import torch

from ecgkd_lite.errors import ConfigError
from ecgkd_lite.train import fit, launch
from ecgkd_lite.train.distributed import DistContext, broadcast_flag, init_from_env, shard
from train_toys import single_thread  # noqa: F401  (fixture)
from train_toys import tiny_net, toy_data, weights

# global batch 16 over 64 records: 4 equal steps per epoch, 8 records per process
RUN = dict(epochs=2, batch_size=16, lr=1e-2, progress=False, device="cpu")
#: float sums of 2 half-batch gradients vs 1 full batch differ in rounding only
ATOL = 1e-5


def _train(rank: int, checkpoint_dir: str | None) -> dict:
    torch.set_num_threads(1)
    train, val, _ = toy_data(n_per_fold=8).splits()
    model = tiny_net(seed=rank, norm=False)  # different init per rank: DDP must broadcast rank 0's
    result = fit(model, train, val, **RUN, checkpoint_dir=checkpoint_dir)
    ctx = init_from_env()
    return {
        "weights": {k: v.numpy() for k, v in weights(result.model).items()},
        "history": list(result.history),
        "files": sorted(os.listdir(checkpoint_dir)) if checkpoint_dir else [],
        "context": (ctx.rank, ctx.world_size, broadcast_flag(rank == 1, ctx), broadcast_flag(False, ctx)),
    }


def test_two_gloo_processes_match_one(tmp_path, single_thread):
    single = _train(0, None)  # WORLD_SIZE is unset here: a plain single-process run
    ranks = launch(_train, nprocs=2, args=(str(tmp_path),), start_method="fork")  # fork: < 10 s
    for result in ranks:
        for key, value in single["weights"].items():
            np.testing.assert_allclose(result["weights"][key], value, atol=ATOL, rtol=0, err_msg=key)
        for mine, theirs in zip(result["history"], single["history"]):
            assert mine["train_bce"] == pytest.approx(theirs["train_bce"], abs=ATOL)  # averaged over both shards
    assert ranks[0]["files"] == ["best.pt", "best.pt.json", "last.pt", "last.pt.json"]  # rank 0 writes them
    assert [r["context"] for r in ranks] == [(0, 2, True, False), (1, 2, True, False)]  # rank, world, any, any


def test_single_process_helpers(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = init_from_env()
    assert ctx == DistContext() and ctx.is_main and not ctx.enabled
    assert broadcast_flag(True, ctx) is True
    np.testing.assert_array_equal(shard(np.arange(7), DistContext(rank=1, world_size=2)), [1, 3, 5])
    np.testing.assert_array_equal(shard(np.arange(7), ctx), np.arange(7))
    with pytest.raises(ConfigError, match="nprocs must be a positive integer"):
        launch(_train, nprocs=0)
    with pytest.raises(ConfigError, match="backend must be 'gloo' or 'nccl'"):
        launch(_train, nprocs=1, backend="mpi")


def _context(rank: int) -> tuple:
    ctx = init_from_env()
    return ctx.rank, ctx.world_size, broadcast_flag(rank == 1, ctx)


@pytest.mark.slow
def test_spawned_processes_join_one_group():
    """The default start method (spawn: fresh interpreters, what torchrun-like launches do)."""
    assert launch(_context, nprocs=2) == [(0, 2, True), (1, 2, True)]
