"""Bad arguments (issue 12): where an integer is meant, ``True`` and ``2.5`` (or ``2.0``) are refused
with the caller's typed error naming the argument (``ecgkd_lite.checks``); ``select_leads`` of no
lead is refused; a synthetic set too large for memory is refused before any work."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from ecgkd_lite.errors import ConfigError, ModelError, SplitError

torch.set_num_threads(1)
BAD_INTS = [True, 2.5, 2.0, "3"]


@pytest.mark.parametrize("bad", BAD_INTS)
@pytest.mark.parametrize("arg", ["n_records", "seed", "chunk_size"])
def test_load_synthetic_integer_arguments(arg, bad):
    from ecgkd_lite.data import load_synthetic

    with pytest.raises(ConfigError, match=rf"^{arg} must be an integer"):
        load_synthetic(**({"n_records": 2, "fs": 100, "seconds": 1.0} | {arg: bad}))


@pytest.mark.parametrize("arg, bad", [("fs", True), ("fs", float("nan")), ("seconds", float("inf")), ("seconds", "1")])
def test_load_synthetic_number_arguments(arg, bad):
    from ecgkd_lite.data import load_synthetic

    with pytest.raises(ConfigError, match=rf"^{arg} must be > 0 \(a finite number\); got "):
        load_synthetic(**({"n_records": 2, "fs": 100, "seconds": 1.0} | {arg: bad}))


def test_load_synthetic_prevalence_must_be_a_fraction():
    from ecgkd_lite.data import load_synthetic

    for bad in (True, float("nan"), "0.1", 1.5):
        with pytest.raises(ConfigError, match=r"prevalence\['AMI'\] must be >= 0 and <= 1 \(a finite number\)"):
            load_synthetic(2, 100, 1.0, prevalence={"AMI": bad})


def test_huge_synthetic_request_is_refused_at_once_naming_memory_needed_and_available(monkeypatch):
    from ecgkd_lite.data import synthetic

    def no_work(*args, **kwargs):
        raise AssertionError("work started before the memory check")

    monkeypatch.setattr(synthetic, "record_params", no_work)
    start = time.perf_counter()
    with pytest.raises(ConfigError) as info:
        synthetic.load_synthetic(10**9)
    assert time.perf_counter() - start < 1.0
    msg = str(info.value)
    # 1e9 records x 12 leads x 5000 samples x 4 bytes = 2.4e14 bytes
    assert msg.startswith("n_records=1000000000 at fs=500 Hz x 10 s needs 223,517.4 GiB for the float32 signals")
    assert "GiB of memory is available" in msg and "ask for at most" in msg


def test_memory_limit_is_the_available_memory(monkeypatch):
    from ecgkd_lite.data import synthetic

    monkeypatch.setattr(synthetic, "available_memory", lambda: 10 * 12 * 100 * 4)  # room for 10 records of 100 samples
    with pytest.raises(ConfigError, match=r"n_records=11 .* ask for at most 10 records"):
        synthetic.load_synthetic(11, fs=100, seconds=1.0)
    assert len(synthetic.load_synthetic(10, fs=100, seconds=1.0)) == 10
    monkeypatch.setattr(synthetic, "available_memory", lambda: None)  # unknown: no refusal
    assert len(synthetic.load_synthetic(11, fs=100, seconds=1.0)) == 11


def test_available_memory_is_a_positive_byte_count():
    from ecgkd_lite.data.synthetic import available_memory

    have = available_memory()
    assert have is None or (isinstance(have, int) and have > 0)


@pytest.fixture(scope="module")
def small():
    from ecgkd_lite.data import load_synthetic

    return load_synthetic(40, fs=100, seconds=1.0, seed=0)


@pytest.mark.parametrize("bad", [True, 2.5])
def test_labeled_split_seed(small, bad):
    with pytest.raises(ConfigError, match=r"^seed must be an integer >= 0"):
        small.labeled_unlabeled_split(0.5, seed=bad)


@pytest.mark.parametrize("bad", [True, "0.5", float("nan")])
def test_labeled_split_ratio_stays_a_split_error(small, bad):
    with pytest.raises(SplitError, match=r"^labeled ratio must be > 0 and <= 1 \(a finite number\)"):
        small.labeled_unlabeled_split(bad)


@pytest.mark.parametrize("bad", BAD_INTS)
def test_bandpass_order(small, bad):
    from ecgkd_lite.data import bandpass

    with pytest.raises(ConfigError, match=r"band-pass order must be an integer >= 1"):
        bandpass(small, 0.5, 40.0, order=bad)


@pytest.mark.parametrize("bad", [True, 2.5])
def test_lead_effects_n_patients(bad):
    from ecgkd_lite.data.visibility import lead_effects

    with pytest.raises(ConfigError, match="n_patients must be an integer >= 1"):
        lead_effects(bad)


@pytest.mark.parametrize("bad", [True, 2.5])
def test_ptbxl2k_min_positives(tmp_path, bad):
    from ecgkd_lite.data.ptbxl2k import load_ptbxl_2k

    with pytest.raises(ConfigError, match="min_positives must be an integer >= 1"):
        load_ptbxl_2k(tmp_path, min_positives=bad)


@pytest.mark.parametrize("bad", [True, 2.5, 13])
def test_ludb_consensus_min_leads(bad):
    from ecgkd_lite.data.ludb import WaveMasks

    masks = WaveMasks.__new__(WaveMasks)
    object.__setattr__(masks, "masks", np.zeros((1, 12, 5, 10), bool))
    object.__setattr__(masks, "leads", tuple(f"L{i}" for i in range(12)))
    with pytest.raises(ConfigError, match=r"min_leads must be an integer >= 1 and <= 12"):
        masks.consensus(bad)


@pytest.mark.parametrize("kwargs", [{"k": True}, {"k": 2.5}, {"seed": True}, {"seed": 2.5}])
def test_folds_k_and_seed(kwargs):
    from ecgkd_lite.evaluate.folds import stratified_folds

    y = np.tile(np.eye(2), (10, 1))
    with pytest.raises(ConfigError, match=rf"{next(iter(kwargs))} must be an integer"):
        stratified_folds(y, **({"k": 2} | kwargs))


@pytest.mark.parametrize(
    "kwargs", [{"n_boot": True}, {"n_boot": 2.5}, {"seed": True}, {"seed": -1}, {"alpha": True}, {"alpha": "0.05"}]
)
def test_bootstrap_counts_and_alpha(kwargs):
    from ecgkd_lite.evaluate.bootstrap import bootstrap_ci

    y = np.tile(np.eye(2), (5, 1))
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        bootstrap_ci(y, y * 0.5 + 0.1, "map", **kwargs)


@pytest.mark.parametrize("bad", [True, 2.5])
def test_embedding_k_and_seed(bad):
    from ecgkd_lite.evaluate.embedding import embed_2d, knn_agreement

    x = np.random.default_rng(0).normal(size=(6, 3))
    with pytest.raises(ConfigError, match="k must be an integer"):
        knn_agreement(x, x, k=bad)
    with pytest.raises(ConfigError, match="seed must be an integer"):
        embed_2d(x, seed=bad)


@pytest.mark.parametrize("bad", [True, 2.5])
def test_gradcam_batch_size(bad):
    from ecgkd_lite.explain.gradcam import grad_cam
    from ecgkd_lite.models import build_model

    model = build_model("cnn", in_leads=1, n_classes=3)
    with pytest.raises(ConfigError, match="batch_size must be an integer >= 1"):
        grad_cam(model, torch.randn(1, 1, 64), 0, batch_size=bad)


@pytest.mark.parametrize("arg", ["window", "stride", "smoothing"])
@pytest.mark.parametrize("bad", [True, 2.5])
def test_streaming_settings(arg, bad):
    from ecgkd_lite.edge.streaming import sliding_window_outputs

    kwargs = {"window": 32, "stride": 16, "smoothing": 1} | {arg: bad}
    with pytest.raises(ConfigError, match=rf"^{arg} must be an integer >= 1"):
        sliding_window_outputs(lambda x: np.zeros((1, 2)), np.zeros(64, np.float32), **kwargs)


@pytest.mark.parametrize("shape", [(1, True, 64), (1, 1, 2.5), (1, 1, 0)])
def test_profile_input_shape_dimensions(shape):
    from ecgkd_lite.edge.profile import measure_latency
    from ecgkd_lite.models import build_model

    with pytest.raises(ConfigError, match=r"input_shape .*: dimension \d must be an integer >= 1"):
        measure_latency(build_model("cnn", in_leads=1, n_classes=3), shape, warmup=0, repeats=1)


@pytest.mark.parametrize("kwargs", [{"warmup": True}, {"repeats": 2.5}, {"threads": 0}])
def test_runner_latency_counts(kwargs):
    from ecgkd_lite.edge.export import runner_latency
    from ecgkd_lite.models import build_model

    with pytest.raises(ConfigError, match=rf"runner_latency: {next(iter(kwargs))} must be an integer"):
        runner_latency(
            build_model("cnn", in_leads=1, n_classes=3), (1, 1, 64), **({"warmup": 0, "repeats": 1} | kwargs)
        )


def test_model_counts_stay_model_errors():
    from ecgkd_lite.models import build_model

    for bad in (True, 2.5):
        with pytest.raises(ModelError, match="in_leads must be an integer >= 1"):
            build_model("resnet1d", in_leads=bad, n_classes=3)


@pytest.mark.parametrize("leads", [[], (), iter([])])
def test_select_no_leads_is_refused(small, leads):
    with pytest.raises(ConfigError, match=r"select_leads needs at least one lead; got .*available leads: \['I', "):
        small.select_leads(leads)
