"""Efficiency profile of a model: parameters, FLOPs, batch-1 CPU latency.

FLOPs are counted by ``torch.utils.flop_counter.FlopCounterMode`` on one eval-mode forward pass and
are reported as **FLOPs = 2 x multiply-accumulates** (one multiply-accumulate counts as 2 FLOPs;
only matrix products, convolutions and attention are counted, not element-wise ops, normalisation
or activations). The CPU kernel of ``scaled_dot_product_attention`` has no formula in PyTorch's
registry; it is given the standard attention formula here (``4 * B * H * N_q * N_k * d_head``).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

from ..checks import check_int
from ..errors import ConfigError


def _cpu_attention_flops(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    """FLOPs of the CPU attention kernel: ``QK^T`` and ``PV``, ``2 * 2 * B * H * N_q * N_k * d_head`` in all."""
    return sdpa_flop_count(query_shape, key_shape, value_shape)


_CPU_ATTENTION_FLOPS = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flops}


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _check_shape(input_shape: Any) -> tuple[int, ...]:
    if isinstance(input_shape, (str, bytes)) or not isinstance(input_shape, Sequence) or len(input_shape) == 0:
        raise ConfigError(
            f"input_shape must be a non-empty sequence of positive integers, e.g. (1, 12, 1000); received {input_shape!r}"
        )
    return tuple(
        check_int(f"input_shape {tuple(input_shape)!r}: dimension {i}", d, low=1) for i, d in enumerate(input_shape)
    )


def _example_input(model: nn.Module, input_shape: tuple[int, ...]) -> torch.Tensor:
    param = next(model.parameters(), None)
    dtype = param.dtype if param is not None else torch.float32
    device = param.device if param is not None else "cpu"
    return torch.randn(input_shape, generator=torch.Generator().manual_seed(0)).to(device=device, dtype=dtype)


class _EvalMode:
    """Put a model in eval mode for a measurement and restore its previous mode afterwards."""

    def __init__(self, model: nn.Module):
        self.model, self.was_training = model, model.training

    def __enter__(self) -> nn.Module:
        return self.model.eval()

    def __exit__(self, *exc: Any) -> None:
        self.model.train(self.was_training)


def count_flops(model: nn.Module, input_shape: Sequence[int]) -> int:
    """FLOPs (2 x multiply-accumulates) of one eval-mode forward pass on an input of ``input_shape``.

    Raises ConfigError for a malformed shape; a shape the model rejects raises the model's own
    error (ModelError for a wrong lead count).
    """
    shape = _check_shape(input_shape)
    x = _example_input(model, shape)
    with (
        _EvalMode(model),
        torch.inference_mode(),
        FlopCounterMode(display=False, custom_mapping=_CPU_ATTENTION_FLOPS) as counter,
    ):
        model(x)
    return int(counter.get_total_flops())


def measure_latency(
    model: nn.Module, input_shape: Sequence[int], *, threads: int = 1, warmup: int = 10, repeats: int = 50
) -> dict[str, float]:
    """Wall-clock latency of eval-mode forward passes under ``torch.inference_mode`` with ``threads`` CPU threads.

    Returns ``{"median_ms", "p90_ms", "mean_ms", "min_ms", "max_ms", "threads", "repeats"}``. The
    previous ``torch.get_num_threads()`` is restored afterwards, also on error. The edge use case is
    batch 1: ``input_shape = (1, leads, T)``.
    """
    shape = _check_shape(input_shape)
    for arg, value, low in (("threads", threads, 1), ("warmup", warmup, 0), ("repeats", repeats, 1)):
        check_int(f"measure_latency: {arg}", value, low=low)
    x = _example_input(model, shape)
    previous_threads = torch.get_num_threads()
    times_ms = []
    try:
        torch.set_num_threads(threads)
        with _EvalMode(model), torch.inference_mode():
            for _ in range(warmup):
                model(x)
            for _ in range(repeats):
                start = time.perf_counter()
                model(x)
                times_ms.append((time.perf_counter() - start) * 1e3)
    finally:
        torch.set_num_threads(previous_threads)
    ordered = sorted(times_ms)
    return {
        "median_ms": statistics.median(ordered),
        "p90_ms": ordered[min(len(ordered) - 1, math.ceil(0.9 * len(ordered)) - 1)],
        "mean_ms": statistics.fmean(ordered),
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
        "threads": threads,
        "repeats": repeats,
    }


def profile_models(
    models: Mapping[str, nn.Module],
    input_shapes: Mapping[str, Sequence[int]] | Sequence[int],
    *,
    latency: bool = True,
    threads: int = 1,
    warmup: int = 10,
    repeats: int = 50,
) -> pd.DataFrame:
    """One row per model: ``model, input_shape, params, mflops`` (FLOPs / 1e6) and, with ``latency``,
    ``latency_median_ms, latency_p90_ms``.

    ``input_shapes`` is one shape for every model or a mapping ``{model name: shape}`` that must
    cover every model (ConfigError naming the missing ones otherwise).
    """
    if not isinstance(input_shapes, Mapping):
        input_shapes = {name: input_shapes for name in models}
    missing = [name for name in models if name not in input_shapes]
    if missing:
        raise ConfigError(f"profile_models: input_shapes has no shape for the models {missing}")
    rows = []
    for name, model in models.items():
        shape = _check_shape(input_shapes[name])
        row: dict[str, Any] = {
            "model": name,
            "input_shape": shape,
            "params": count_parameters(model),
            "mflops": count_flops(model, shape) / 1e6,
        }
        if latency:
            lat = measure_latency(model, shape, threads=threads, warmup=warmup, repeats=repeats)
            row["latency_median_ms"] = lat["median_ms"]
            row["latency_p90_ms"] = lat["p90_ms"]
        rows.append(row)
    return pd.DataFrame(rows)
