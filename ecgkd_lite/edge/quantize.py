"""int8 post-training quantisation (two routes) and its accuracy cost with a paired bootstrap interval.

**Route 1, ONNX Runtime static quantisation** (``quantize_onnx_int8``), stated choices:

* pre-processing with ``onnxruntime.quantization.quant_pre_process`` (ONNX shape inference and ORT
  graph optimisation, e.g. constant folding); ORT's *symbolic* shape inference is skipped
  (``skip_symbolic_shape=True``): it cannot resolve the dynamic-length attention reshapes and fails;
* ``quantize_static`` in **QDQ** format (QuantizeLinear/DequantizeLinear pairs around the quantised
  ops; ORT fuses them into int8 kernels at load time), **per-channel** int8 weights (``QInt8``,
  symmetric), uint8 activations (``QUInt8``, asymmetric: the u8 x s8 product is the native VNNI
  instruction on x86; ``reduce_range`` is off), MinMax calibration. ORT wraps in Q/DQ pairs what
  its QDQ registry covers (for the students: Conv, MatMul and Gemm with int8 weights; Add, Mul,
  Transpose, LayerNormalization, Softmax, pooling with int8 inputs and outputs); the shape
  arithmetic and GELU's Erf stay float32;
* calibration over windows of **training records only** (:class:`WindowCalibrationReader` refuses
  records from the validation or test folds), drawn on the evaluation's window grid;
* the quantised graph's tensor and node names are then shortened (``t<n>`` / ``n<n>``) and doc
  strings dropped: the exporter's long names are ~20 % of a tiny int8 model's file. The graph
  itself is unchanged (checked: identical outputs before and after).

**Route 2, PyTorch dynamic quantisation** (:func:`quantize_dynamic_linear`):
``torch.ao.quantization.quantize_dynamic`` of the ``nn.Linear`` layers (int8 weights, activations
quantised on the fly per batch); convolutions stay float32. Deployed via TorchScript.

**Accuracy cost** (:func:`paired_delta_ci`): the change ``metric(int8) - metric(fp32)`` on test with a
**paired** percentile bootstrap: each resample draws the same records for both models (so record
difficulty cancels); it lives in ``evaluate.paired`` with the pooled multi-seed version.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checks import check_int
from ..data.container import TRAIN_FOLDS, ECGData
from ..errors import ConfigError, SplitError
from ..evaluate.paired import paired_delta_ci
from ..train.checkpoint import sidecar_path
from .export import INPUT_NAME, _file_info, load_contract, quiet, write_contract

QUANT_SETTINGS = {
    "format": "QDQ",
    "weights": "int8 (QInt8), symmetric, per channel",
    "activations": "uint8 (QUInt8), asymmetric, per tensor",
    "calibration": "MinMax",
    "reduce_range": False,
    "pre_process": "quant_pre_process(skip_symbolic_shape=True)",
}


class WindowCalibrationReader:
    """ONNX Runtime calibration data (a ``CalibrationDataReader``: that ABC accepts any class with
    ``get_next``, so onnxruntime is imported only when quantising): ``n_windows`` windows of ``window`` samples drawn (seeded,
    without replacement) from the ``(record, start)`` grid of ``data``'s records (the evaluation's
    ``window_starts`` grid), ``input_leads`` only, fed ``batch_size`` windows at a time.

    SplitError when ``data`` holds a record outside the training folds (calibrating on validation or
    test records would leak them into the deployed model).
    """

    def __init__(
        self,
        data: ECGData,
        *,
        input_leads: Sequence[str],
        window: int,
        stride: int,
        n_windows: int = 512,
        batch_size: int = 32,
        seed: int = 0,
        input_name: str = INPUT_NAME,
    ):
        from ..data.leads import lead_indices
        from ..train.datasets import window_starts

        outside = sorted(set(np.unique(data.folds).tolist()) - set(TRAIN_FOLDS))
        if outside:
            raise SplitError(
                f"calibration data must come from the training folds {list(TRAIN_FOLDS)} only; "
                f"it holds records of folds {outside}"
            )
        for arg, value in (
            ("n_windows", n_windows),
            ("batch_size", batch_size),
            ("window", window),
            ("stride", stride),
        ):
            check_int(arg, value, low=1)
        seed = check_int("seed", seed, low=0)
        idx = lead_indices(list(input_leads), data.leads)
        starts = window_starts(data.n_samples, window, stride)
        length = min(window, data.n_samples)
        grid = len(data) * len(starts)
        pick = np.sort(np.random.default_rng(seed).choice(grid, size=min(n_windows, grid), replace=False))
        windows = np.stack(
            [
                data.signals[i // len(starts), idx, starts[i % len(starts)] : starts[i % len(starts)] + length]
                for i in pick
            ]
        ).astype(np.float32)
        self.windows, self.batch_size, self.input_name = windows, int(batch_size), input_name
        self.rewind()

    def rewind(self) -> None:
        self._next = 0

    def get_next(self) -> dict | None:
        if self._next >= len(self.windows):
            return None
        batch = self.windows[self._next : self._next + self.batch_size]
        self._next += self.batch_size
        return {self.input_name: np.ascontiguousarray(batch)}

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        batch = self.get_next()
        if batch is None:
            raise StopIteration
        return batch

    def __len__(self) -> int:
        return len(self.windows)


def shorten_names(model) -> None:
    """Rename every tensor except the graph's inputs and outputs to ``t<n>`` and every node to
    ``n<n>``, and drop doc strings, in place (the graph's computation is untouched)."""
    graph = model.graph
    keep = {v.name for v in graph.input} | {v.name for v in graph.output}
    names: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        return names.setdefault(name, f"t{len(names)}")

    for init in graph.initializer:
        init.name = short(init.name)
    for i, node in enumerate(graph.node):
        node.name = f"n{i}"
        node.doc_string = ""
        node.input[:] = [short(n) for n in node.input]
        node.output[:] = [short(n) for n in node.output]
    for info in graph.value_info:
        info.name = short(info.name)
    model.doc_string = ""
    graph.doc_string = ""


def quantize_onnx_int8(
    fp32_path: str | os.PathLike,
    out_path: str | os.PathLike,
    reader: WindowCalibrationReader,
    *,
    per_channel: bool = True,
    compact: bool = True,
) -> Path:
    """Static int8 quantisation of an exported fp32 ONNX file (settings in the module docstring);
    writes ``out_path`` and, when the fp32 file has a contract, an int8 contract beside it (the fp32
    contract plus a ``quantization`` section; thresholds are the fp32 model's until re-tuned with
    :func:`retune_thresholds`)."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quant_pre_process,
        quantize_static,
    )

    given = Path(out_path)
    fp32_path, out_path = Path(fp32_path).resolve(), given.resolve()  # absolute: the work runs in a temp dir
    if not fp32_path.is_file():
        raise ConfigError(f"fp32 model {fp32_path} does not exist")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    reader.rewind()
    with tempfile.TemporaryDirectory() as tmp, quiet():
        pre = Path(tmp) / "pre.onnx"
        cwd = os.getcwd()
        os.chdir(tmp)  # ORT's shape inference can drop debug files in the working directory
        try:
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
            quantize_static(
                str(pre),
                str(out_path),
                reader,
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                reduce_range=False,
                calibrate_method=CalibrationMethod.MinMax,
            )
        finally:
            os.chdir(cwd)
    if compact:
        model = onnx.load(str(out_path))
        shorten_names(model)
        onnx.checker.check_model(model)
        onnx.save(model, str(out_path))
    if sidecar_path(fp32_path).is_file():
        contract = load_contract(fp32_path)
        contract["model"] = {
            **contract["model"],
            **_file_info(out_path),
            "parity_check": None,
            "quantization": {
                "route": "onnxruntime quantize_static",
                **QUANT_SETTINGS,
                "per_channel": per_channel,
                "calibration_windows": len(reader),
                "calibration_data": "training folds only",
                "names_shortened": compact,
                "from": fp32_path.name,
            },
        }
        write_contract(out_path, contract)
    return given


def quantize_dynamic_linear(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) whose ``nn.Linear`` layers are int8 dynamically quantised
    (``torch.ao.quantization.quantize_dynamic``, qint8 weights); ``config`` is kept."""
    from ..train.checkpoint import model_config, unwrap

    source = unwrap(model)
    with quiet():
        quantized = torch.ao.quantization.quantize_dynamic(copy.deepcopy(source).eval(), {nn.Linear}, dtype=torch.qint8)
    quantized.config = model_config(source)
    return quantized


def retune_thresholds(path: str | os.PathLike, thresholds: Sequence[float] | np.ndarray, source: str) -> dict:
    """Replace the thresholds in the contract of ``path`` (e.g. re-tuned on validation for the int8
    model) and rewrite it; returns the contract."""
    contract = load_contract(path)
    n = len(contract["output"]["classes"])
    t = np.asarray(thresholds, dtype=np.float64).ravel()
    if t.shape != (n,) or not np.isfinite(t).all():
        raise ConfigError(f"thresholds must be {n} finite numbers; got shape {t.shape}")
    contract["output"]["thresholds"] = t.tolist()
    contract["output"]["thresholds_source"] = source
    write_contract(Path(path), contract)
    return contract


def compare_models(
    prep,
    reference: nn.Module,
    candidate: nn.Module,
    *,
    input_leads: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Test macro AUC / F1 of two models on ``prep`` (``experiment.evaluate_model``: thresholds tuned
    on validation, each model its own), and the paired bootstrap intervals of the changes
    (candidate - reference). ``compare_routes`` for several candidates."""
    return compare_routes(prep, reference, {"candidate": candidate}, input_leads=input_leads, n_boot=n_boot, seed=seed)[
        "candidate"
    ]


def compare_routes(
    prep,
    reference: nn.Module,
    candidates: Mapping[str, nn.Module],
    *,
    input_leads: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``compare_models`` of each named candidate against one reference, which is evaluated once;
    every comparison uses the same resamples (``seed``)."""
    from ..experiment import evaluate_model

    if not candidates:
        raise ConfigError("candidates must name at least one model")
    ref = evaluate_model(reference, prep, input_leads=input_leads, return_probs=True)
    y = prep.test.labels
    reports = {}
    for name, candidate in candidates.items():
        new = evaluate_model(candidate, prep, input_leads=input_leads, return_probs=True)
        out: dict[str, Any] = {
            "n_test": len(y),
            "n_boot": n_boot,
            "seed": seed,
            "thresholds_reference": ref["thresholds"],
            "thresholds_candidate": new["thresholds"],
            "probs_reference": ref["probs"],
            "probs_candidate": new["probs"],
        }
        for metric in ("macro_auc", "macro_f1"):
            ci = paired_delta_ci(
                y,
                ref["probs"],
                new["probs"],
                metric,
                thresholds_ref=ref["thresholds"],
                thresholds_new=new["thresholds"],
                n_boot=n_boot,
                seed=seed,
            )
            out[metric] = {
                "reference": ref[metric],
                "candidate": new[metric],
                "delta": ci.estimate,
                "delta_ci95": [ci.low, ci.high],
                "n_skipped": ci.n_skipped,
            }
        reports[name] = out
    return reports
