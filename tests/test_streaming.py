"""Streaming inference: identical to offline sliding-window evaluation for every chunking (torch
module and ONNX Runtime), the record score of ``train.predict``, the end window, bad chunks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ecgkd_lite.data import ECGData
from ecgkd_lite.data.conditions import CLASS_NAMES
from ecgkd_lite.edge import (
    StreamingClassifier,
    WindowOutput,
    build_contract,
    detection_intervals,
    export_model,
    sliding_window_outputs,
)
from ecgkd_lite.errors import BadSignalError, ConfigError, LeadMismatchError
from ecgkd_lite.models import build_model
from ecgkd_lite.train import predict

torch.set_num_threads(1)
WINDOW, STRIDE = 250, 125
THRESHOLDS = np.linspace(0.3, 0.7, 15)


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15).eval()


@pytest.fixture(scope="module")
def onnx_path(model, tmp_path_factory):
    contract = build_contract(
        model,
        fs=100.0,
        input_leads=["I"],
        scaler={"mean": [0.0], "std": [1.0]},
        window_samples=WINDOW,
        classes=CLASS_NAMES,
        thresholds=THRESHOLDS,
        smoothing_windows=4,
    )
    return export_model(model, tmp_path_factory.mktemp("stream"), contract=contract, name="student").path


def signal(n, seed=0):
    return np.random.default_rng(seed).standard_normal(n).astype(np.float32)


def chunks_of(x, sizes):
    """Cut ``x`` into chunks of the given sizes (cycled), the last one whatever is left."""
    out, pos, k = [], 0, 0
    while pos < len(x):
        size = sizes[k % len(sizes)]
        out.append(x[pos : pos + size])
        pos, k = pos + size, k + 1
    return out


def stream(runner, x, sizes, **kwargs):
    clf = StreamingClassifier(
        runner,
        window=kwargs.pop("window", WINDOW),
        stride=kwargs.pop("stride", STRIDE),
        thresholds=THRESHOLDS,
        **kwargs,
    )
    emitted = []
    for chunk in chunks_of(x, sizes):
        emitted += clf.push(chunk)
    emitted += clf.finish()
    assert len(emitted) == len(clf.outputs) and all(a is b for a, b in zip(emitted, clf.outputs))
    return clf, emitted


def assert_identical(got: list[WindowOutput], expected: list[WindowOutput]):
    assert [(o.index, o.start, o.end, o.final) for o in got] == [(o.index, o.start, o.end, o.final) for o in expected]
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a.probs, b.probs)
        np.testing.assert_array_equal(a.smoothed, b.smoothed)
        np.testing.assert_array_equal(a.detected, b.detected)


CHUNKINGS = [[1], [7], [250], [125], [999], [10_000], [3, 250, 1, 600, 42]]


@pytest.mark.parametrize("sizes", CHUNKINGS, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("n", [1037, 1000])  # end uncovered by the grid (a final window) / covered exactly
def test_stream_equals_offline_windows_for_any_chunking(model, sizes, n):
    x = signal(n, seed=n)
    offline = sliding_window_outputs(model, x, window=WINDOW, stride=STRIDE, thresholds=THRESHOLDS, smoothing=3)
    _, got = stream(model, x, sizes, smoothing=3)
    assert_identical(got, offline)
    assert [o.final for o in offline].count(True) == (1 if n == 1037 else 0)
    assert offline[-1].end == n


def test_stream_over_onnx_runtime_equals_offline_and_reads_the_contract(onnx_path):
    x = signal(1500, seed=2)
    clf = StreamingClassifier.from_export(onnx_path)
    assert (clf.window, clf.stride, clf.smoothing, clf.fs, clf.n_leads) == (WINDOW, STRIDE, 4, 100.0, 1)
    np.testing.assert_array_equal(clf.thresholds, THRESHOLDS)
    offline = sliding_window_outputs(onnx_path, x, window=WINDOW, stride=STRIDE, thresholds=THRESHOLDS, smoothing=4)
    for sizes in ([1], [33], [2000]):
        clf.reset()
        got = [o for chunk in chunks_of(x, sizes) for o in clf.push(chunk)] + clf.finish()
        assert_identical(got, offline)


def test_record_score_equals_train_predict(model):
    x = signal(1000, seed=3)
    leads12 = np.zeros((1, 12, 1000), dtype=np.float32)
    leads12[0, 0] = x
    data = ECGData(
        signals=leads12, labels=np.zeros((1, 15)), classes=CLASS_NAMES, fs=100.0, folds=[10], record_ids=["long"]
    )
    clf, _ = stream(model, x, [77])
    expected = predict(model, data, input_leads=["I"], window_seconds=2.5, stride_seconds=1.25)[0]
    np.testing.assert_allclose(clf.record_probabilities(), expected, atol=1e-6)


def test_smoothing_is_the_mean_of_the_last_k_windows_and_detections_use_the_thresholds(model):
    _, got = stream(model, signal(2000, seed=4), [300], smoothing=3)
    probs = np.array([o.probs for o in got])
    for i, o in enumerate(got):
        np.testing.assert_allclose(o.smoothed, probs[max(0, i - 2) : i + 1].mean(0), rtol=0, atol=1e-15)
        np.testing.assert_array_equal(o.detected, o.smoothed >= THRESHOLDS)


def test_stream_shorter_than_a_window_is_one_window_on_finish(model):
    x = signal(180, seed=5)
    clf = StreamingClassifier(model, window=WINDOW, stride=STRIDE)
    assert clf.push(x) == []
    (last,) = clf.finish()
    assert (last.start, last.end, last.final) == (0, 180, True)
    assert_identical([last], sliding_window_outputs(model, x, window=WINDOW, stride=STRIDE))
    assert clf.finish() == [] and StreamingClassifier(model, window=WINDOW, stride=STRIDE).finish() == []


def test_stride_longer_than_the_window_skips_samples_like_offline(model):
    x = signal(700, seed=6)
    _, got = stream(model, x, [9], window=100, stride=160)
    assert [o.start for o in got] == [0, 160, 320, 480, 600]
    assert_identical(got, sliding_window_outputs(model, x, window=100, stride=160, thresholds=THRESHOLDS))


def test_per_window_transform_is_applied_in_both(model):
    x = signal(800, seed=7)

    def transform(w):
        return (w - w.mean()) * 0.5

    _, got = stream(model, x, [64], transform=transform)
    assert_identical(
        got, sliding_window_outputs(model, x, window=WINDOW, stride=STRIDE, thresholds=THRESHOLDS, transform=transform)
    )


def test_detection_intervals_join_consecutive_windows():
    def out(i, detected):
        return WindowOutput(i, i * 10, i * 10 + 20, False, np.zeros(2), np.zeros(2), np.array(detected))

    outputs = [out(0, [True, False]), out(1, [True, False]), out(2, [False, True]), out(3, [True, True])]
    table = detection_intervals(outputs, classes=["A", "B"], fs=10.0)
    assert table[["class", "first_window", "last_window", "start", "end"]].values.tolist() == [
        ["A", 0, 1, 0, 30],
        ["A", 3, 3, 30, 50],
        ["B", 2, 3, 20, 50],
    ]
    assert table["end_s"].tolist() == [3.0, 5.0, 5.0]
    assert len(detection_intervals([], classes=["A"])) == 0


# ------------------------------------------------------------------------------------------ bad input
def test_chunk_of_the_wrong_dtype_is_refused(model):
    clf = StreamingClassifier(model, window=WINDOW, stride=STRIDE, name="patient-7")
    with pytest.raises(ConfigError, match="stream patient-7: chunk 0 must hold floating-point samples.*int16"):
        clf.push(np.ones(50, dtype=np.int16))
    with pytest.raises(ConfigError, match="bool"):
        clf.push(np.ones(50, dtype=bool))
    assert clf.n_samples == 0


def test_chunk_with_nan_is_refused_and_not_consumed(model):
    x = signal(600, seed=8)
    clf = StreamingClassifier(model, window=WINDOW, stride=STRIDE, thresholds=THRESHOLDS, name="patient-8")
    clf.push(x[:100])
    bad = x[100:200].copy()
    bad[17] = np.nan
    with pytest.raises(BadSignalError, match="patient-8: chunk 1 holds 1 NaN/inf sample.*stream sample 117") as err:
        clf.push(bad)
    assert err.value.record == "patient-8" and clf.n_samples == 100
    clf.push(x[100:])
    clf.finish()
    assert_identical(clf.outputs, sliding_window_outputs(model, x, window=WINDOW, stride=STRIDE, thresholds=THRESHOLDS))


def test_wrong_lead_count_shape_and_finished_stream_are_refused(model):
    clf = StreamingClassifier(model, window=WINDOW, stride=STRIDE, name="s")
    with pytest.raises(LeadMismatchError, match="s: chunk 0 has 12 lead"):
        clf.push(np.zeros((12, 10), dtype=np.float32))
    with pytest.raises(ConfigError, match="must be"):
        clf.push(np.zeros((1, 2, 3), dtype=np.float32))
    clf.finish()
    with pytest.raises(ConfigError, match="finished; call reset"):
        clf.push(np.zeros(3, dtype=np.float32))
    with pytest.raises(ConfigError, match="window must be an integer >= 1; got 0"):
        StreamingClassifier(model, window=0, stride=STRIDE)
    with pytest.raises(ConfigError, match="classified no window"):
        StreamingClassifier(model, window=WINDOW, stride=STRIDE).record_probabilities()


def test_stream_needs_a_classifier_export(tmp_path):
    torch.manual_seed(0)
    net = build_model("unet1d", "tiny", in_leads=1).eval()
    contract = build_contract(
        net, fs=100.0, input_leads=["I"], scaler={"mean": [0.0] * 12, "std": [1.0] * 12}, window_samples=WINDOW
    )
    path = export_model(net, tmp_path, contract=contract, name="unet").path
    with pytest.raises(ConfigError, match="needs a classifier"):
        StreamingClassifier.from_export(path)
