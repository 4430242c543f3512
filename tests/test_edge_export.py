"""Edge export: ONNX / TorchScript parity, the preprocessing contract, int8 quantisation (ORT static,
PyTorch dynamic), the paired bootstrap of the accuracy change, the ``ecgkd export`` command, bad input.

Models are random-weight tiny ones (parity does not need training)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch
from scipy import signal as sps
from torch import nn

from ecgkd_lite.cli import main
from ecgkd_lite.data import ECGData, StandardScaler
from ecgkd_lite.data.conditions import CLASS_NAMES
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.edge import (
    ExportedModule,
    as_runner,
    build_contract,
    compare_models,
    compare_routes,
    export_model,
    export_run,
    load_contract,
    load_run,
    max_abs_diff,
    paired_delta_ci,
    quantize_dynamic_linear,
    quantize_onnx_int8,
    runner_latency,
)
from ecgkd_lite.edge.export import INT8_TRACE_TOLERANCE
from ecgkd_lite.edge.quantize import WindowCalibrationReader
from ecgkd_lite.errors import CheckpointError, ConfigError, ModelError, SplitError
from ecgkd_lite.evaluate.bootstrap import bootstrap_ci
from ecgkd_lite.metrics import per_class_auc
from ecgkd_lite.models import build_model
from ecgkd_lite.train import predict, save_checkpoint
from ecgkd_lite.train.restoration import RestoredInputModel

torch.set_num_threads(1)
TOL = 1e-4  # the fp32 parity target (max absolute logit difference)
RUN_CONFIG = {"input_leads": ["I"], "crop_samples": 250, "crop_seconds": 2.5}


def student(in_leads=1, seed=0):
    torch.manual_seed(seed)
    return build_model("cnn_transformer", "tiny", in_leads=in_leads, n_classes=15).eval()


def unet(seed=0):
    torch.manual_seed(seed)
    return build_model("unet1d", "tiny", in_leads=1).eval()


def records(n=16, samples=400, folds=None, seed=0):
    rng = np.random.default_rng(seed)
    folds = np.arange(n) % 8 + 1 if folds is None else folds
    return ECGData(
        signals=rng.standard_normal((n, 12, samples)).astype(np.float32),
        labels=(rng.random((n, 15)) < 0.3).astype(np.float32),
        classes=CLASS_NAMES,
        fs=100.0,
        folds=folds,
        record_ids=[f"r{i}" for i in range(n)],
    )


def scaler():
    """A 12-lead scaler whose rows differ, so picking lead I is visible."""
    s = StandardScaler(per_lead=True)
    s.mean = np.arange(12, dtype=np.float32).reshape(-1, 1) / 100
    s.std = np.arange(1, 13, dtype=np.float32).reshape(-1, 1)
    return s


def contract_for(model, **kwargs):
    args = {
        "fs": 100.0,
        "input_leads": ["I"],
        "scaler": scaler(),
        "window_samples": 250,
        "classes": CLASS_NAMES,
        "thresholds": np.linspace(0.1, 0.8, 15),
    }
    args.update(kwargs)
    if getattr(model, "config", {}).get("n_classes") is None:
        args.update(classes=None, thresholds=None)
    return build_contract(model, **args)


def make_run(tmp_path, model, name, config=RUN_CONFIG, fingerprint=""):
    save_checkpoint(
        tmp_path / name / "best.pt", model=model, epoch=1, config=dict(config), data_fingerprint=fingerprint, metrics={}
    )
    return tmp_path / name


@pytest.fixture(scope="module")
def onnx_student(tmp_path_factory):
    model = student()
    return model, export_model(model, tmp_path_factory.mktemp("onnx"), contract=contract_for(model), name="student")


# ------------------------------------------------------------------------------------------ parity
@pytest.mark.parametrize("shape", [(1, 1, 250), (4, 1, 250), (2, 1, 1000), (1, 1, 100), (1, 1, 16)])
def test_onnx_matches_pytorch_within_1e4_for_any_batch_and_length(onnx_student, shape):
    model, result = onnx_student
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    assert max_abs_diff(model, result.path, x) <= TOL


def test_onnx_file_states_opset_and_dynamic_axes(onnx_student):
    _, result = onnx_student
    graph = onnx.load(str(result.path))
    assert {op.domain: op.version for op in graph.opset_import}[""] == 17
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 1, "samples"]
    assert result.contract["model"]["opset"] == 17 and "dynamo=False" in result.contract["model"]["exporter"]
    assert result.parity <= TOL and result.contract["model"]["parity_check"]["max_abs_diff"] == result.parity


def test_torchscript_matches_pytorch(tmp_path):
    model = student(seed=1)
    result = export_model(model, tmp_path, contract=contract_for(model), format="torchscript", name="s")
    assert result.path.name == "s.pt" and result.contract_path.name == "s.pt.json"
    for shape in ((1, 1, 250), (3, 1, 600)):
        x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
        assert max_abs_diff(model, result.path, x) <= TOL


def test_restoration_net_and_restored_pipeline_export_with_dynamic_length(tmp_path):
    net, model12 = unet(), student(in_leads=12)
    net_result = export_model(net, tmp_path, contract=contract_for(net), name="unet")
    assert (
        net_result.contract["output"]["kind"] == "leads" and len(net_result.contract["output"]["scaler"]["std"]) == 12
    )
    runs = (
        make_run(tmp_path, net, "restoration"),
        make_run(tmp_path, model12, "student12", {**RUN_CONFIG, "input_leads": list(LEADS12)}),
    )
    pipe = export_run(
        runs[1], tmp_path, restoration=runs[0], scaler=scaler(), classes=CLASS_NAMES, thresholds=np.full(15, 0.5)
    )
    assert pipe.path.name == "restoration_student.onnx" and pipe.contract["input_leads"] == ["I"]
    reference = RestoredInputModel(net, model12).eval()
    for length in (250, 256, 301):  # not only multiples of the U-Net's stride 8
        x = np.random.default_rng(length).standard_normal((2, 1, length)).astype(np.float32)
        assert as_runner(net_result.path)(x).shape == (2, 12, length)
        assert max_abs_diff(net, net_result.path, x) <= TOL
        assert max_abs_diff(reference, pipe.path, x) <= TOL


def test_runner_latency_times_files_and_modules_and_restores_threads(onnx_student):
    model, result = onnx_student
    before = torch.get_num_threads()
    for runner in (result.path, model):
        stats = runner_latency(runner, (1, 1, 250), warmup=1, repeats=5)
        assert stats["repeats"] == 5 and 0 < stats["min_ms"] <= stats["median_ms"] <= stats["p90_ms"]
    assert torch.get_num_threads() == before


# ------------------------------------------------------------------------------------------ contract
def test_contract_holds_the_pipeline(onnx_student):
    _, result = onnx_student
    c = load_contract(result.path)
    assert c == json.loads(result.contract_path.read_text()) and result.contract_path.name == "student.onnx.json"
    assert c["sampling_rate_hz"] == 100 and c["input_leads"] == ["I"]
    assert c["window"]["samples"] == 250 and c["window"]["stride_samples"] == 125
    assert c["scaler"]["mean"] == [0.0] and c["scaler"]["std"] == [1.0]  # lead I's row of the 12-lead scaler
    band = c["bandpass"]
    expected = sps.butter(3, [0.5, 40.0], btype="bandpass", fs=100, output="sos")
    np.testing.assert_allclose(np.array(band["sos"]), expected)
    assert "sosfiltfilt" in band["training_application"] and "non-causal" in band["training_application"]
    assert band["device_recommendation"]
    out = c["output"]
    assert out["classes"] == list(CLASS_NAMES) and np.allclose(out["thresholds"], np.linspace(0.1, 0.8, 15))
    assert out["smoothing"]["k"] == 3 and c["model"]["file"] == "student.onnx"
    assert c["model"]["size_bytes"] == result.size_bytes == result.path.stat().st_size


def test_exported_module_runs_through_predict(onnx_student):
    model, result = onnx_student
    data = records(n=5, samples=1000)
    expected = predict(model, data, input_leads=["I"])
    got = predict(ExportedModule.load(result.path), data, input_leads=["I"])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_load_run_rebuilds_the_model_and_reads_its_config(tmp_path):
    model = student(seed=3)
    loaded, info = load_run(make_run(tmp_path, model, "run-a"))
    x = torch.randn(2, 1, 250)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    assert (info.name, info.input_leads, info.window_samples, info.fs) == ("run-a", ["I"], 250, 100.0)
    assert not loaded.training


# ------------------------------------------------------------------------------------------ int8
def test_onnx_int8_static_quantisation_is_small_close_and_documented(onnx_student, tmp_path):
    model, result = onnx_student
    reader = WindowCalibrationReader(records(), input_leads=["I"], window=250, stride=125, n_windows=32)
    path = quantize_onnx_int8(result.path, tmp_path / "student.int8.onnx", reader)
    size = path.stat().st_size
    assert size <= 350_000 and size < 0.35 * result.size_bytes  # the target for the tiny student
    x = np.random.default_rng(4).standard_normal((8, 1, 250)).astype(np.float32)
    fp32, int8 = as_runner(model)(x), as_runner(path)(x)
    assert np.corrcoef(fp32.ravel(), int8.ravel())[0, 1] > 0.99
    c = load_contract(path)
    q = c["model"]["quantization"]
    assert q["format"] == "QDQ" and q["per_channel"] and q["calibration_windows"] == 32
    assert c["model"]["file"] == "student.int8.onnx" and c["model"]["size_bytes"] == size
    graph = onnx.load(str(path)).graph
    assert any(n.op_type == "DequantizeLinear" for n in graph.node)
    assert all(len(n.name) <= 6 for n in graph.node)  # names shortened


def test_calibration_refuses_records_outside_the_training_folds():
    with pytest.raises(SplitError, match="training folds"):
        WindowCalibrationReader(records(n=4, folds=[1, 2, 9, 10]), input_leads=["I"], window=250, stride=125)
    reader = WindowCalibrationReader(records(n=4), input_leads=["I"], window=250, stride=125, n_windows=5, batch_size=2)
    batches = list(reader)
    assert [b["ecg"].shape for b in batches] == [(2, 1, 250), (2, 1, 250), (1, 1, 250)]


def test_pytorch_dynamic_quantisation_of_linear_layers(tmp_path):
    model = student(seed=5)
    q = quantize_dynamic_linear(model)
    assert not any(type(m) is nn.Linear for m in q.modules())
    assert q.config == model.config and any(type(m) is nn.Linear for m in model.modules())  # source untouched
    x = torch.randn(4, 1, 250)
    with torch.no_grad():
        assert torch.allclose(q(x), model(x), atol=0.05)
    # the trace of a quantised module agrees with it up to one int8 step (float noise can cross a rounding edge)
    result = export_model(
        q, tmp_path, contract=contract_for(q), format="torchscript", name="s.int8", tolerance=INT8_TRACE_TOLERANCE
    )
    assert result.parity <= INT8_TRACE_TOLERANCE


# ------------------------------------------------------------------------------------------ paired bootstrap
def test_paired_delta_of_identical_models_is_exactly_zero():
    data = records(n=40)
    p = np.random.default_rng(6).random((40, 15))
    for metric in ("macro_auc", "macro_f1"):
        ci = paired_delta_ci(data.labels, p, p, metric, n_boot=50)
        assert (ci.estimate, ci.low, ci.high) == (0.0, 0.0, 0.0)


def test_paired_delta_resamples_the_same_records_for_both_models():
    rng = np.random.default_rng(7)
    y = (rng.random((60, 3)) < 0.4).astype(float)
    p_ref = y + rng.standard_normal((60, 3))  # informative scores
    p_new = p_ref + 0.1 * rng.standard_normal((60, 3))  # a slightly perturbed copy (as int8 vs fp32)
    ci = paired_delta_ci(y, p_ref, p_new, "macro_auc", n_boot=200, seed=3)
    # by hand: one row draw per resample, applied to both models
    draws = np.random.default_rng(3)
    deltas = []
    for _ in range(200):
        rows = draws.integers(0, 60, size=60)
        deltas.append(per_class_auc(y[rows], p_new[rows]).mean() - per_class_auc(y[rows], p_ref[rows]).mean())
    np.testing.assert_allclose([ci.low, ci.high], np.quantile(deltas, [0.025, 0.975]))
    unpaired = bootstrap_ci(y, p_new, "macro_auc", n_boot=200, seed=3)
    assert ci.high - ci.low < 0.5 * (unpaired.high - unpaired.low)  # pairing cancels the record-sampling noise
    with pytest.raises(ConfigError, match="metric"):
        paired_delta_ci(y, p_ref, p_new, "accuracy")


def test_compare_routes_evaluates_the_reference_once_and_equals_compare_models(monkeypatch):
    from ecgkd_lite import experiment

    prep = experiment.prepare(n_records=200)
    ref, other = student(seed=1), student(seed=2)
    calls = []
    evaluate = experiment.evaluate_model
    monkeypatch.setattr(experiment, "evaluate_model", lambda m, *a, **k: calls.append(m) or evaluate(m, *a, **k))
    both = compare_routes(prep, ref, {"same": ref, "other": other}, input_leads=["I"], n_boot=30)
    assert calls == [ref, ref, other]  # the reference once, then each candidate
    assert list(both) == ["same", "other"]
    same = both["same"]["macro_auc"]
    assert (same["delta"], *same["delta_ci95"]) == (0.0, 0.0, 0.0)
    alone = compare_models(prep, ref, other, input_leads=["I"], n_boot=30)
    for metric in ("macro_auc", "macro_f1"):
        assert both["other"][metric] == alone[metric]
    with pytest.raises(ConfigError, match="candidates"):
        compare_routes(prep, ref, {}, input_leads=["I"])


# ------------------------------------------------------------------------------------------ bad input
def test_run_folder_without_a_model_is_refused_by_name(tmp_path):
    (tmp_path / "empty-run").mkdir()
    with pytest.raises(CheckpointError, match="empty-run holds no model: best.pt is missing"):
        load_run(tmp_path / "empty-run")
    with pytest.raises(CheckpointError, match="no-such-run: no such run folder"):
        export_run(tmp_path / "no-such-run", tmp_path, scaler=scaler())


def test_unsupported_format_is_refused_by_name(tmp_path):
    model = student()
    with pytest.raises(ConfigError, match="format 'tflite' is not supported"):
        export_model(model, tmp_path, contract=contract_for(model), format="tflite")
    with pytest.raises(ConfigError, match="format 'coreml'"):
        export_run(make_run(tmp_path, model, "run-b"), tmp_path, format="coreml", scaler=scaler())
    assert not list(tmp_path.glob("*.onnx"))


def test_lead_count_differing_from_the_contract_is_refused_naming_the_run(tmp_path):
    model12 = student(in_leads=12)
    with pytest.raises(
        ModelError, match=r"run teacher-run: the model takes 12 input lead\(s\) but the contract names 1"
    ):
        build_contract(
            model12,
            fs=100.0,
            input_leads=["I"],
            scaler=scaler(),
            window_samples=250,
            classes=CLASS_NAMES,
            thresholds=np.full(15, 0.5),
            run="teacher-run",
        )
    contract = contract_for(student())
    with pytest.raises(ModelError, match="takes 12 input lead"):
        export_model(model12, tmp_path, contract=contract)
    run = make_run(tmp_path, model12, "wrong-leads-run")  # its config says lead I only
    with pytest.raises(ModelError, match="wrong-leads-run"):
        export_run(run, tmp_path, scaler=scaler(), classes=CLASS_NAMES, thresholds=np.full(15, 0.5))


def test_missing_scaler_classes_or_thresholds_are_named():
    model = student()
    with pytest.raises(ConfigError, match="scaler is required"):
        contract_for(model, scaler=None)
    with pytest.raises(ConfigError, match="thresholds are required"):
        contract_for(model, thresholds=None)
    with pytest.raises(ConfigError, match="thresholds must be 15"):
        contract_for(model, thresholds=[0.5] * 3)
    with pytest.raises(ConfigError, match="classes must name"):
        contract_for(model, classes=CLASS_NAMES[:4])


# ------------------------------------------------------------------------------------------ command
def test_cli_export_computes_scaler_and_thresholds_and_quantises(tmp_path, capsys):
    from ecgkd_lite import experiment
    from ecgkd_lite.utils import fingerprint

    prep = experiment.prepare(n_records=200)
    run = make_run(
        tmp_path, student(seed=8), "cli-run", fingerprint=fingerprint(prep.train.fingerprint(), prep.val.fingerprint())
    )
    out = tmp_path / "deploy"
    assert (
        main(
            [
                "export",
                str(run),
                "--format",
                "onnx",
                "--int8",
                "--out",
                str(out),
                "--n-records",
                "200",
                "--n-boot",
                "20",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "student.onnx" in printed and "student.int8.onnx" in printed and "test macro_auc" in printed
    fp32, int8 = load_contract(out / "student.onnx"), load_contract(out / "student.int8.onnx")
    np.testing.assert_allclose(fp32["scaler"]["mean"], prep.scaler.mean[:1, 0], rtol=1e-6)
    assert len(fp32["output"]["thresholds"]) == 15 and "THIS int8 model" in int8["output"]["thresholds_source"]
    assert int8["evaluation_vs_fp32"]["macro_auc"]["delta_ci95"][0] <= int8["evaluation_vs_fp32"]["macro_auc"]["delta"]


def test_cli_export_bad_input_exits_2_naming_the_problem(tmp_path, capsys):
    (tmp_path / "no-model").mkdir()
    assert main(["export", str(tmp_path / "no-model"), "--format", "onnx", "--out", str(tmp_path)]) == 2
    assert "CheckpointError" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "no-model"), "--format", "tflite", "--out", str(tmp_path)]) == 2
    assert "--format 'tflite' is not supported" in capsys.readouterr().err
    run = make_run(tmp_path, student(), "other-data-run", fingerprint="0123456789abcdef0123")
    assert main(["export", str(run), "--format", "onnx", "--out", str(tmp_path), "--n-records", "200"]) == 2
    assert "other-data-run was trained on other data" in capsys.readouterr().err


def test_cli_export_restoration_plus_student_as_one_torchscript_graph_with_int8(tmp_path, capsys):
    from ecgkd_lite import experiment
    from ecgkd_lite.utils import fingerprint

    prep = experiment.prepare(n_records=200)
    net_run = make_run(
        tmp_path, unet(), "restoration-run", fingerprint=fingerprint(prep.train.fingerprint(), prep.val.fingerprint())
    )
    student_run = make_run(
        tmp_path,
        student(in_leads=12),
        "student12-run",
        {**RUN_CONFIG, "input_leads": list(LEADS12)},
        fingerprint="trained-on-restored-data",
    )  # not checked: the pipeline's input is lead I
    out = tmp_path / "pipe"
    assert (
        main(
            [
                "export",
                str(student_run),
                "--restoration",
                str(net_run),
                "--format",
                "torchscript",
                "--int8",
                "--out",
                str(out),
                "--n-records",
                "200",
                "--n-boot",
                "20",
            ]
        )
        == 0
    )
    fp32 = load_contract(out / "restoration_student.pt")
    assert fp32["input_leads"] == ["I"] and fp32["run"] == "restoration-run+student12-run"
    assert load_contract(out / "restoration_student.int8.pt")["model"]["quantization"]["layers"] == "nn.Linear"
    assert "restoration_student.int8.pt" in capsys.readouterr().out
