"""Scaling out with ``torchrun`` + DistributedDataParallel (gloo on CPU, nccl on GPU).

Under ``torchrun --nproc_per_node=K script.py`` the environment carries ``WORLD_SIZE``/``RANK``/
``LOCAL_RANK``; ``fit`` then initialises the process group (``init_from_env``), wraps the objective in
DDP and gives each process its share of every global batch (``shard``). Only rank 0 shows progress
and writes checkpoints. ``launch(fn, nprocs)`` starts K local processes the same way (tests).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ..errors import ConfigError


@dataclass(frozen=True)
class DistContext:
    """Where this process stands: ``rank`` of ``world_size``; ``local_rank`` picks its GPU."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device: torch.device | None = None) -> DistContext:
    """Join the process group that ``WORLD_SIZE``/``RANK`` describe (no-op for one process).

    The backend is nccl on CUDA, gloo otherwise; an already initialised group is reused.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    on_cuda = device is not None and torch.device(device).type == "cuda"
    if on_cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if on_cuda else "gloo", init_method="env://", rank=rank, world_size=world)
    return DistContext(rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank)


def shard(items: np.ndarray, ctx: DistContext) -> np.ndarray:
    """This process's share of one global batch: every ``world_size``-th item from ``rank``."""
    return items[ctx.rank :: ctx.world_size]


def broadcast_flag(flag: bool, ctx: DistContext) -> bool:
    """True on every process if it is True on any (keeps early stopping / errors in lockstep)."""
    if not ctx.enabled:
        return flag
    t = torch.tensor([int(flag)])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, fn, nprocs: int, port: int, backend: str, args: tuple, results) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(nprocs), LOCAL_RANK=str(rank)
    )
    dist.init_process_group(backend, init_method="env://", rank=rank, world_size=nprocs)
    try:
        results.put((rank, fn(rank, *args)))
    finally:
        dist.destroy_process_group()


def launch(fn, nprocs: int, backend: str = "gloo", args: tuple = (), start_method: str = "spawn") -> list:
    """Run ``fn(rank, *args)`` in ``nprocs`` processes joined in one process group on a free loopback
    port (``torch.multiprocessing.start_processes``); returns the results ordered by rank (they
    must be picklable, e.g. numpy arrays). With ``start_method="spawn"`` (safe everywhere) ``fn``
    must be importable by name; ``"fork"`` (Linux, CPU only) skips re-importing torch in every
    process and starts in a fraction of the time."""
    if not (isinstance(nprocs, int) and nprocs >= 1):
        raise ConfigError(f"nprocs must be a positive integer; got {nprocs!r}")
    if backend not in ("gloo", "nccl"):
        raise ConfigError(f"backend must be 'gloo' or 'nccl'; got {backend!r}")
    if start_method not in ("spawn", "fork", "forkserver"):
        raise ConfigError(f"start_method must be 'spawn', 'fork' or 'forkserver'; got {start_method!r}")
    results = mp.get_context(start_method).SimpleQueue()
    context = mp.start_processes(
        _worker,
        args=(fn, nprocs, free_port(), backend, args, results),
        nprocs=nprocs,
        join=False,
        start_method=start_method,
    )
    collected: dict = {}
    finished = False
    while not finished:  # drain while waiting: a large result blocks its sender until it is read
        finished = context.join(timeout=0.05)  # re-raises a worker's exception
        while not results.empty():
            rank, value = results.get()
            collected[rank] = value
    return [collected[r] for r in range(nprocs)]
