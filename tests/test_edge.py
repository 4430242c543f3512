"""Efficiency profiler: parameter counts, golden FLOPs, latency statistics and thread restore, error paths."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from ecgkd_lite.edge import count_flops, count_parameters, measure_latency, profile_models
from ecgkd_lite.errors import ConfigError, ModelError
from ecgkd_lite.models import build_model
from ecgkd_lite.models.blocks import MultiHeadSelfAttention

torch.set_num_threads(1)


def student():
    torch.manual_seed(0)
    return build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)


def test_count_parameters_equals_numel_sum_and_can_skip_frozen():
    model = student()
    assert count_parameters(model) == sum(p.numel() for p in model.parameters()) == 265_031
    model.head.requires_grad_(False)
    assert count_parameters(model, trainable_only=True) == 265_031 - (96 * 15 + 15)


# FLOPs = 2 x multiply-accumulates; biases, norms and activations are not counted.
@pytest.mark.parametrize(
    "module,shape,flops",
    [
        (nn.Linear(10, 5), (3, 10), 2 * 3 * 10 * 5),  # 300
        (nn.Conv1d(4, 6, 3, padding=1), (2, 4, 50), 2 * 2 * 6 * 4 * 3 * 50),  # 14,400
        (nn.Conv1d(4, 6, 3, stride=2), (2, 4, 51), 2 * 2 * 6 * 4 * 3 * 25),  # 7,200 (25 output steps)
        # qkv 2*2*10*16*48 + proj 2*2*10*16*16 + attention 2 * (2*2*4*10*10*4) = 53,760
        (MultiHeadSelfAttention(16, heads=4), (2, 10, 16), 30_720 + 10_240 + 12_800),
    ],
)
def test_count_flops_golden(module, shape, flops):
    assert count_flops(module, shape) == flops


def test_count_flops_of_a_student_is_pinned_and_linear_in_length():
    model = student()
    assert count_flops(model, (1, 1, 250)) == 9_514_832
    assert count_flops(model, (2, 1, 250)) == 2 * 9_514_832
    assert count_flops(model, (1, 1, 1000)) > 3.5 * 9_514_832


def test_count_flops_restores_training_mode():
    model = student().train()
    count_flops(model, (1, 1, 250))
    assert model.training
    model.eval()
    count_flops(model, (1, 1, 250))
    assert not model.training


@pytest.mark.parametrize("shape", [(), (1, 0, 250), (1, -1, 250), (1, 1.5, 250), "1x1x250", None, (1, True, 250)])
def test_bad_shapes_raise_config_error_naming_the_shape(shape):
    with pytest.raises(ConfigError, match="input_shape"):
        count_flops(student(), shape)
    with pytest.raises(ConfigError, match="input_shape"):
        measure_latency(student(), shape)


def test_a_shape_the_model_rejects_raises_its_model_error():
    with pytest.raises(ModelError, match="cnn_transformer.*expects 1 input leads.*received 12"):
        count_flops(student(), (1, 12, 250))


def test_measure_latency_returns_positive_finite_stats_and_restores_threads():
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model = student().train()
        stats = measure_latency(model, (1, 1, 250), threads=1, warmup=1, repeats=5)
        assert torch.get_num_threads() == 2
        assert model.training
    finally:
        torch.set_num_threads(previous)
    assert {"median_ms", "p90_ms", "mean_ms", "min_ms", "max_ms"} <= set(stats)
    assert all(math.isfinite(stats[k]) and stats[k] > 0 for k in ("median_ms", "p90_ms", "mean_ms", "min_ms"))
    assert stats["min_ms"] <= stats["median_ms"] <= stats["p90_ms"] <= stats["max_ms"]
    assert stats["threads"] == 1 and stats["repeats"] == 5


def test_measure_latency_restores_threads_on_error():
    previous = torch.get_num_threads()
    with pytest.raises(ModelError):
        measure_latency(student(), (1, 3, 250), threads=previous + 1, warmup=0, repeats=1)
    assert torch.get_num_threads() == previous


@pytest.mark.parametrize("arg,value", [("threads", 0), ("warmup", -1), ("repeats", 0), ("repeats", 2.5)])
def test_measure_latency_rejects_bad_counts(arg, value):
    kwargs = {"threads": 1, "warmup": 0, "repeats": 1, arg: value}
    with pytest.raises(ConfigError, match=f"{arg} must be an integer"):
        measure_latency(student(), (1, 1, 250), **kwargs)


def test_profile_models_one_row_per_model():
    torch.manual_seed(0)
    models = {"student": student(), "linear": nn.Linear(10, 5)}
    df = profile_models(models, {"student": (1, 1, 250), "linear": (1, 10)}, warmup=0, repeats=2)
    assert isinstance(df, pd.DataFrame)
    assert list(df.columns) == ["model", "input_shape", "params", "mflops", "latency_median_ms", "latency_p90_ms"]
    assert df["model"].tolist() == ["student", "linear"]
    assert df["params"].tolist() == [265_031, 55]
    assert df["mflops"].tolist() == pytest.approx([9.514832, 1e-4])
    assert (df["latency_median_ms"] > 0).all()


def test_profile_models_broadcasts_one_shape_and_can_skip_latency():
    df = profile_models({"a": nn.Linear(4, 2), "b": nn.Linear(4, 3)}, (2, 4), latency=False)
    assert list(df.columns) == ["model", "input_shape", "params", "mflops"]
    assert df["mflops"].tolist() == pytest.approx([2 * 2 * 4 * 2 / 1e6, 2 * 2 * 4 * 3 / 1e6])


def test_profile_models_missing_shape_names_the_model():
    with pytest.raises(ConfigError, match=r"no shape for the models \['b'\]"):
        profile_models({"a": nn.Linear(4, 2), "b": nn.Linear(4, 3)}, {"a": (1, 4)})
