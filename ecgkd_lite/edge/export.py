"""Export a trained model to ONNX or TorchScript, with a JSON preprocessing contract beside it.

Stated choices:

* **ONNX**: ``torch.onnx.export`` with the TorchScript-based exporter (``dynamo=False``; the
  dynamo exporter needs ``onnxscript``, which the locked environment does not ship), opset
  :data:`OPSET` (17, the first with a native ``LayerNormalization``). Input ``"ecg"`` float32
  ``(batch, leads, samples)`` with **dynamic batch and length axes**; output ``"logits"``
  ``(batch, classes)`` (a restoration net: ``"leads"`` ``(batch, 12, samples)``). Probabilities are
  ``sigmoid(logits)``; the graph does not apply it, as the PyTorch model does not.
* **TorchScript**: ``torch.jit.trace`` (the models' input checks use Python f-strings, which
  ``torch.jit.script`` does not compile), saved with ``torch.jit.save``.
* Both are traced on one example of an **odd** length (the window length, plus one if it is
  even), so that length-dependent branches (the U-Net's padding to a multiple of 8) are recorded in
  their general form; every export is then checked against the PyTorch model on random inputs of
  two batch sizes and two lengths (:data:`PARITY_TOLERANCE`), and refused when it differs.
* The **contract** (``<file>.json`` beside the exported ``<file>``, the checkpoint sidecar
  convention) holds everything a device needs to reproduce the pipeline without this package:
  sampling rate, input leads, the band-pass (with its SOS coefficients), the scaler, window and
  stride, how windows are placed and aggregated, class names and validation-tuned thresholds.

The scaler (fitted on the training folds) and the thresholds (tuned on validation) are not in a run
folder; :func:`export_run` takes them as arguments and ``ecgkd export`` computes them with
``experiment.prepare`` and ``experiment.evaluate_model``.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import json
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checks import check_int, check_positive
from ..errors import CheckpointError, ConfigError, ModelError
from ..train.checkpoint import load_checkpoint, model_config, sidecar_path, unwrap

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
OPSET = 17
EXPORTER = "torch.onnx.export, TorchScript-based exporter (dynamo=False)"
INPUT_NAME = "ecg"
PARITY_TOLERANCE = 1e-4
#: a dynamically quantised module and its TorchScript trace: float differences of ~1e-7 between the
#: two graphs can move an activation across an int8 rounding boundary, i.e. one quantisation step
INT8_TRACE_TOLERANCE = 0.05
CONTRACT_VERSION = 1
BEST = "best.pt"

BANDPASS_APPLICATION = (
    "Training applied the filter ZERO-PHASE (scipy.signal.sosfiltfilt: forward then backward, default odd "
    "padding) to each whole 10 s record before cropping windows: non-causal, it uses samples after the "
    "current one."
)
BANDPASS_DEVICE = (
    "A device cannot filter a stream backwards. Recommended: buffer each complete window, apply "
    "sosfiltfilt with these SOS coefficients to the window alone, then scale it: this adds no latency, "
    "since a window is classified only once it is complete, and differs from training only near the "
    "window's edges. A causal filter (sosfilt over the stream) adds phase delay the model never saw. "
    "Measure the accuracy of whichever you choose (notebook 14 does) before deploying it."
)


# ------------------------------------------------------------------------------------------ runs
@dataclass
class RunInfo:
    """What a run folder says about its model: ``path`` (the folder), ``model_config``, the fit
    ``config`` (``input_leads``, ``crop_samples``, ``crop_seconds``, ...), ``data_fingerprint``,
    ``metrics``."""

    path: Path
    model_config: dict
    config: dict
    data_fingerprint: str
    metrics: dict

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def input_leads(self) -> list[str]:
        leads = self.config.get("input_leads")
        if not leads:
            raise ConfigError(f"run {self.name}: its config does not name the input leads")
        return [leads] if isinstance(leads, str) else list(leads)

    @property
    def window_samples(self) -> int:
        if not self.config.get("crop_samples"):
            raise ConfigError(f"run {self.name}: its config has no crop_samples (the window length)")
        return int(self.config["crop_samples"])

    @property
    def fs(self) -> float:
        """Sampling rate: ``crop_samples / crop_seconds`` (the engine's ``round(seconds * fs)``)."""
        seconds = self.config.get("crop_seconds")
        if not seconds:
            raise ConfigError(f"run {self.name}: its config has no crop_seconds; pass fs=")
        return round(self.window_samples / float(seconds), 6)


def load_run(run: str | os.PathLike) -> tuple[nn.Module, RunInfo]:
    """The model of a run folder (``best.pt`` + ``best.pt.json``), rebuilt with ``build_model`` from
    its stored config, weights loaded, in eval mode; and its :class:`RunInfo`.

    CheckpointError naming the run when the folder does not exist or holds no model.
    """
    from ..models import model_from_config

    path = Path(run)
    if not path.is_dir():
        raise CheckpointError(f"run {path}: no such run folder")
    best = path / BEST
    if not best.is_file():
        found = sorted(p.name for p in path.iterdir())[:8]
        raise CheckpointError(f"run {path} holds no model: {BEST} is missing (the folder has {found})")
    payload = load_checkpoint(best)
    try:
        model = model_from_config(payload["model_config"])
    except ModelError as err:
        raise CheckpointError(f"run {path}: its model config cannot be rebuilt: {err}") from err
    load_checkpoint(best, model)
    model.eval()
    model.run_key = path.name
    sidecar = sidecar_path(best)
    summary = json.loads(sidecar.read_text()) if sidecar.is_file() else payload
    info = RunInfo(
        path,
        dict(payload["model_config"]),
        dict(summary.get("config") or {}),
        str(summary.get("data_fingerprint", "")),
        dict(summary.get("metrics") or {}),
    )
    return model, info


def check_run_data(info: RunInfo, train, val) -> None:
    """ConfigError unless the run was trained on ``train`` / ``val`` (the engine's data fingerprint):
    a scaler or thresholds computed on other data would not describe the model."""
    from ..utils import fingerprint

    expected = fingerprint(train.fingerprint(), val.fingerprint())
    if info.data_fingerprint and info.data_fingerprint != expected:
        raise ConfigError(
            f"run {info.name} was trained on other data (fingerprint {info.data_fingerprint}, "
            f"the prepared data's is {expected}): choose the source/profile it was trained on"
        )


# ------------------------------------------------------------------------------------------ contract
def _bandpass_section(fs: float, bandpass: Mapping[str, Any]) -> dict:
    from scipy import signal as sps

    low, high, order = float(bandpass["low"]), float(bandpass["high"]), int(bandpass["order"])
    sos = sps.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    return {
        "type": "butterworth",
        "low_hz": low,
        "high_hz": high,
        "order": order,
        "sos": sos.tolist(),
        "sos_layout": "scipy second-order sections [b0, b1, b2, a0, a1, a2]",
        "training_application": BANDPASS_APPLICATION,
        "device_recommendation": BANDPASS_DEVICE,
    }


def _scaler_rows(scaler: Any, leads: Sequence[str], scaler_leads: Sequence[str] | None, what: str) -> dict:
    """``{"mean": [...], "std": [...]}`` of ``leads`` from a StandardScaler or a mapping."""
    from ..data.leads import LEADS12, lead_indices

    if scaler is None:
        raise ConfigError(
            f"{what} is required: the per-lead standard scaler fitted on the training folds "
            "(experiment.prepare(...).scaler)"
        )
    mean = getattr(scaler, "mean", None) if not isinstance(scaler, Mapping) else scaler.get("mean")
    std = getattr(scaler, "std", None) if not isinstance(scaler, Mapping) else scaler.get("std")
    if mean is None or std is None:
        raise ConfigError(f"{what} is not fitted (no mean/std)")
    mean, std = np.asarray(mean, dtype=np.float64).ravel(), np.asarray(std, dtype=np.float64).ravel()
    if mean.shape != std.shape:
        raise ConfigError(f"{what}: mean {mean.shape} and std {std.shape} differ in shape")
    if scaler_leads is None:
        scaler_leads = LEADS12 if len(mean) == len(LEADS12) else leads
    scaler_leads = list(scaler_leads)
    if len(scaler_leads) != len(mean):
        raise ConfigError(f"{what} has {len(mean)} rows but scaler_leads names {len(scaler_leads)} leads")
    if len(mean) == 1 and len(leads) > 1:  # one global pair
        idx = [0] * len(leads)
    else:
        idx = lead_indices(list(leads), scaler_leads)
    if not (np.isfinite(mean[idx]).all() and (std[idx] > 0).all()):
        raise ConfigError(f"{what}: mean must be finite and std positive for the leads {list(leads)}")
    return {"mean": mean[idx].tolist(), "std": std[idx].tolist()}


def build_contract(
    model: nn.Module,
    *,
    fs: float,
    input_leads: Sequence[str],
    scaler: Any,
    window_samples: int,
    stride_samples: int | None = None,
    classes: Sequence[str] | None = None,
    thresholds: Sequence[float] | np.ndarray | None = None,
    scaler_leads: Sequence[str] | None = None,
    bandpass: Mapping[str, Any] | None = None,
    smoothing_windows: int = 3,
    run: str | None = None,
    thresholds_source: str | None = None,
    output_leads: Sequence[str] | None = None,
) -> dict:
    """The preprocessing contract of ``model`` (a JSON-ready dict).

    ``stride_samples`` defaults to the evaluation's half window (``round(window_seconds / 2 * fs)``).
    A classifier needs ``classes`` and ``thresholds`` (one per class); a restoration net (no
    ``n_classes``) gets ``output_leads`` and the scaler rows of those leads, to undo the scaling.

    ModelError naming the run when the model takes another lead count than ``input_leads``;
    ConfigError naming the argument for a missing or malformed scaler, classes or thresholds.
    """
    from ..data.leads import LEADS12
    from ..experiment import BANDPASS
    from ..train.engine import seconds_to_samples

    config = model_config(model)
    name = run or getattr(unwrap(model), "run_key", None) or config.get("name", type(unwrap(model)).__name__)
    input_leads = [input_leads] if isinstance(input_leads, str) else list(input_leads)
    if config.get("in_leads", len(input_leads)) != len(input_leads):
        raise ModelError(
            f"run {name}: the model takes {config['in_leads']} input lead(s) but the contract "
            f"names {len(input_leads)} {input_leads}"
        )
    check_positive("fs (sampling rate in Hz)", fs)
    window_samples = check_int("window_samples", window_samples, low=1)
    window_seconds = window_samples / fs
    stride = seconds_to_samples(window_seconds / 2, fs, "stride") if stride_samples is None else stride_samples
    stride = check_int("stride_samples", stride, low=1)
    smoothing_windows = check_int("smoothing_windows", smoothing_windows, low=1)
    contract: dict[str, Any] = {
        "contract_version": CONTRACT_VERSION,
        "run": name,
        "model_config": config,
        "sampling_rate_hz": float(fs),
        "input_leads": input_leads,
        "input_units": "mV",
        "bandpass": _bandpass_section(float(fs), bandpass or BANDPASS),
        "scaler": {
            **_scaler_rows(scaler, input_leads, scaler_leads, "scaler"),
            "formula": "x_scaled = (x_filtered - mean) / std, per lead, after the band-pass",
            "fitted_on": "training folds 1-8 only",
        },
        "window": {
            "samples": int(window_samples),
            "seconds": window_seconds,
            "stride_samples": int(stride),
            "stride_seconds": int(stride) / fs,
            "placement": (
                "starts 0, stride, 2*stride, ... while start + window <= n; plus one window ending at "
                "the last sample (start n - window) when that grid leaves the end uncovered; a "
                "recording shorter than the window is one window: the whole recording "
                "(ecgkd_lite.train.datasets.window_starts)"
            ),
            "last_partial_window": (
                "a stream emits grid windows as soon as they are complete; the window "
                "flush with the end is emitted only when the stream is finished "
                "(StreamingClassifier.finish), as offline evaluation does"
            ),
        },
        "output": {},
    }
    if config.get("n_classes") is None:
        leads = list(output_leads or LEADS12)
        contract["output"] = {
            "kind": "leads",
            "name": "leads",
            "leads": leads,
            "scaler": _scaler_rows(scaler, leads, scaler_leads, "scaler"),
            "meaning": "restored leads in the scaled space; x_mV = x * std + mean per lead",
        }
        return contract
    n_classes = int(config["n_classes"])
    if classes is None or len(classes) != n_classes:
        raise ConfigError(
            f"classes must name the model's {n_classes} classes; got {None if classes is None else len(classes)}"
        )
    if thresholds is None:
        raise ConfigError(
            "thresholds are required: per-class F1 thresholds tuned on validation "
            "(experiment.evaluate_model(model, prep)['thresholds'])"
        )
    t = np.asarray(thresholds, dtype=np.float64).ravel()
    if t.shape != (n_classes,) or not np.isfinite(t).all():
        raise ConfigError(f"thresholds must be {n_classes} finite numbers (one per class); got shape {t.shape}")
    contract["output"] = {
        "kind": "logits",
        "name": "logits",
        "classes": list(classes),
        "probability": "sigmoid(logits), per class (multi-label)",
        "record_score": "mean over a recording's windows of the window probabilities (as in training evaluation)",
        "thresholds": t.tolist(),
        "thresholds_rule": "class detected iff probability >= threshold",
        "thresholds_source": thresholds_source
        or ("per-class F1-optimal thresholds tuned on the validation fold (ecgkd_lite.metrics.tune_thresholds)"),
        "smoothing": {
            "kind": "mean of the last k window probabilities (fewer at the start of a stream)",
            "k": smoothing_windows,
        },
    }
    return contract


def load_contract(path: str | os.PathLike) -> dict:
    """The contract beside an exported file (``<file>.json``), or the contract file itself."""
    path = Path(path)
    target = path if path.suffix == ".json" else sidecar_path(path)
    if not target.is_file():
        raise ConfigError(f"no contract at {target} (an exported model's contract is <file>.json beside it)")
    return json.loads(target.read_text())


# ------------------------------------------------------------------------------------------ runners
@contextlib.contextmanager
def quiet():
    """Silence Python warnings, logging and the C/C++ libraries' own stdout/stderr (the ONNX
    exporter's and ORT quantiser's prints) for the block (file-descriptor level)."""
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    previous = logging.root.manager.disable
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        logging.disable(logging.CRITICAL)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def onnx_session(path: str | os.PathLike, *, threads: int = 1):
    """An ONNX Runtime session on the CPUExecutionProvider with ``threads`` intra-op threads (one
    inter-op thread, sequential execution); ORT's own log below errors is off."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def as_runner(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """A function float32 ``(B, leads, T)`` -> outputs (numpy) from a torch module (eager or
    TorchScript), an ONNX Runtime session, or the path of an exported ``.onnx`` / ``.pt`` file."""
    if isinstance(model, (str, os.PathLike)):
        path = Path(model)
        if not path.is_file():
            raise ConfigError(f"model file {path} does not exist")
        if path.suffix == ".onnx":
            model = onnx_session(path)
        elif path.suffix == ".pt":
            model = torch.jit.load(str(path), map_location="cpu").eval()
        else:
            raise ConfigError(f"model file {path}: unsupported suffix {path.suffix!r}; use .onnx or .pt")
    if isinstance(model, nn.Module):
        module = model.eval()

        def run_torch(x: np.ndarray) -> np.ndarray:
            with torch.inference_mode():
                return module(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

        return run_torch
    if hasattr(model, "run") and hasattr(model, "get_inputs"):
        session, name = model, model.get_inputs()[0].name

        def run_onnx(x: np.ndarray) -> np.ndarray:
            return session.run(None, {name: np.ascontiguousarray(x, dtype=np.float32)})[0]

        return run_onnx
    raise ConfigError(
        f"model must be a torch module, an ONNX Runtime session or a .onnx/.pt path; got {type(model).__name__}"
    )


class ExportedModule(nn.Module):
    """An exported model (ONNX Runtime session or TorchScript file) behind the ``nn.Module`` interface
    that ``train.predict`` and ``experiment.evaluate_model`` expect: ``config`` from the contract, a
    placeholder parameter (for the device lookup), forward through the runner. Inference only."""

    def __init__(self, model: Any, config: Mapping[str, Any]):
        super().__init__()
        self.runner = as_runner(model)
        self.config = dict(config)
        self._device_anchor = nn.Parameter(torch.empty(0), requires_grad=False)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ExportedModule:
        """The exported file at ``path`` with the model config of its contract."""
        return cls(path, load_contract(path)["model_config"])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(np.asarray(self.runner(x.detach().cpu().numpy()), dtype=np.float32))


def max_abs_diff(reference: nn.Module, candidate: Any, x: np.ndarray | torch.Tensor) -> float:
    """``max |reference(x) - candidate(x)|`` (the models' raw outputs: logits for a classifier)."""
    x = np.ascontiguousarray(x.numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float32)
    expected = as_runner(reference)(x)
    return float(np.abs(np.asarray(as_runner(candidate)(x), dtype=np.float64) - expected).max())


def runner_latency(
    model: Any, input_shape: Sequence[int], *, warmup: int = 20, repeats: int = 200, threads: int = 1
) -> dict[str, float]:
    """Wall-clock latency of single calls of an exported model (ONNX Runtime session or file,
    TorchScript file) or a torch module on one fixed standard-normal input of ``input_shape``:
    ``{"median_ms", "p90_ms", "min_ms", "repeats"}`` after ``warmup`` calls. A path is opened with
    ``threads`` threads; torch runs with ``threads`` intra-op threads (restored afterwards). The
    numpy <-> torch conversion of a torch runner is inside the timing (zero-copy, ~microseconds)."""
    import time

    from ..utils import torch_threads
    from .profile import _check_shape

    input_shape = _check_shape(input_shape)
    for arg, value, low in (("threads", threads, 1), ("warmup", warmup, 0), ("repeats", repeats, 1)):
        check_int(f"runner_latency: {arg}", value, low=low)
    if isinstance(model, (str, os.PathLike)) and Path(model).suffix == ".onnx":
        model = onnx_session(model, threads=threads)
    runner = as_runner(model)
    x = np.random.default_rng(0).standard_normal(tuple(input_shape)).astype(np.float32)
    times = np.empty(repeats)
    with torch_threads(threads):
        for _ in range(warmup):
            runner(x)
        for i in range(repeats):
            start = time.perf_counter()
            runner(x)
            times[i] = (time.perf_counter() - start) * 1e3
    return {
        "median_ms": float(np.median(times)),
        "p90_ms": float(np.percentile(times, 90)),
        "min_ms": float(times.min()),
        "repeats": repeats,
    }


def parity_inputs(n_leads: int, window: int, *, seed: int = 0) -> list[np.ndarray]:
    """Random standard-normal checks: batch 1 at the window length, batch 3 at an odd longer length."""
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((1, n_leads, window)).astype(np.float32),
        rng.standard_normal((3, n_leads, window + 37)).astype(np.float32),
    ]


# ------------------------------------------------------------------------------------------ export
@dataclass
class ExportResult:
    """An exported file, its contract (and where it was written), size and the parity of the check."""

    path: Path
    contract_path: Path
    contract: dict
    size_bytes: int
    parity: float

    def __repr__(self) -> str:
        return f"ExportResult({self.path.name}, {self.size_bytes / 1024:.1f} KiB, max |logit diff| {self.parity:.2e})"


def _file_info(path: Path) -> dict:
    data = path.read_bytes()
    return {"file": path.name, "size_bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def write_contract(path: Path, contract: dict) -> Path:
    """Write ``contract`` to ``<path>.json`` (atomic)."""
    from ..utils import atomic_write_json

    return atomic_write_json(sidecar_path(path), contract)


def _trace_input(n_leads: int, window: int) -> torch.Tensor:
    length = window if window % 2 else window + 1  # odd: length-dependent branches traced in general form
    return torch.randn(1, n_leads, length, generator=torch.Generator().manual_seed(0))


def _export_file(
    model: nn.Module, path: Path, fmt: str, n_leads: int, window: int, output_name: str, opset: int
) -> None:
    example = _trace_input(n_leads, window)
    with quiet(), torch.inference_mode(False), torch.no_grad():
        if fmt == "onnx":
            axes = {
                INPUT_NAME: {0: "batch", 2: "samples"},
                output_name: {0: "batch", 2: "samples"} if output_name == "leads" else {0: "batch"},
            }
            torch.onnx.export(
                model,
                (example,),
                str(path),
                dynamo=False,
                opset_version=opset,
                input_names=[INPUT_NAME],
                output_names=[output_name],
                dynamic_axes=axes,
                do_constant_folding=True,
            )
        else:
            traced = torch.jit.trace(model, example, check_trace=False)
            torch.jit.save(traced, str(path))


def export_model(
    model: nn.Module,
    out_dir: str | os.PathLike,
    *,
    contract: dict,
    format: str = "onnx",
    name: str = "model",
    opset: int = OPSET,
    tolerance: float = PARITY_TOLERANCE,
) -> ExportResult:
    """Export ``model`` (eval mode) to ``out_dir/<name>.onnx`` or ``.pt`` and its contract to
    ``<file>.json``; check the file against the model on :func:`parity_inputs` (ModelError when the
    max absolute output difference exceeds ``tolerance``).

    ConfigError for an unsupported ``format``; ModelError when the contract names another lead count.
    """
    if format not in FORMATS:
        raise ConfigError(f"format {format!r} is not supported; choose one of {list(FORMATS)}")
    if not isinstance(name, str) or not name or "/" in name or os.sep in name:
        raise ConfigError(f"name must be a plain file stem like 'student'; got {name!r}")
    module = unwrap(model)
    config = model_config(module)
    leads = contract.get("input_leads", [])
    if config.get("in_leads", len(leads)) != len(leads):
        raise ModelError(
            f"run {contract.get('run', config.get('name'))}: the model takes {config['in_leads']} "
            f"input lead(s) but the contract names {len(leads)} {leads}"
        )
    window = int(contract["window"]["samples"])
    output_name = contract.get("output", {}).get("name", "logits")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}{SUFFIXES[format]}"
    was_training = module.training
    module.eval()
    try:
        _export_file(module, path, format, len(leads), window, output_name, opset)
        parity = max(max_abs_diff(module, path, x) for x in parity_inputs(len(leads), window))
    finally:
        module.train(was_training)
    if not parity <= tolerance:
        raise ModelError(
            f"run {contract.get('run')}: the exported {format} file differs from the model by "
            f"{parity:.3g} (> {tolerance:g}) on random inputs"
        )
    contract = copy.deepcopy(contract)
    contract["model"] = {
        **_file_info(path),
        "format": format,
        "input_name": INPUT_NAME,
        "output_name": output_name,
        "input_shape": ["batch", len(leads), "samples"],
        "dtype": "float32",
        "dynamic_axes": "batch and samples",
        **(
            {"opset": opset, "exporter": EXPORTER}
            if format == "onnx"
            else {"exporter": "torch.jit.trace + torch.jit.save", "torch": torch.__version__}
        ),
        "parity_check": {
            "max_abs_diff": parity,
            "tolerance": tolerance,
            "inputs": "standard normal, shapes (1, L, window) and (3, L, window + 37), seed 0",
        },
        "quantization": None,
    }
    contract_path = write_contract(path, contract)
    return ExportResult(path, contract_path, contract, path.stat().st_size, parity)


def _load_for_export(
    run: str | os.PathLike, restoration: str | os.PathLike | None
) -> tuple[nn.Module, RunInfo, RunInfo]:
    """``(model, the run's info, the info of the run whose input the model takes)``: with
    ``restoration``, ``RestoredInputModel(net, model)`` and the restoration run's info."""
    model, info = load_run(run)
    if restoration is None:
        return model, info, info
    from ..train.restoration import RestoredInputModel

    net, net_info = load_run(restoration)
    if net_info.window_samples != info.window_samples:
        raise ConfigError(
            f"run {net_info.name} was trained on {net_info.window_samples}-sample crops, "
            f"run {info.name} on {info.window_samples}"
        )
    pipeline = RestoredInputModel(net, model).eval()
    pipeline.run_key = f"{net_info.name}+{info.name}"
    return pipeline, info, net_info


def export_run(
    run: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    format: str = "onnx",
    scaler: Any,
    thresholds: Sequence[float] | np.ndarray | None = None,
    classes: Sequence[str] | None = None,
    restoration: str | os.PathLike | None = None,
    scaler_leads: Sequence[str] | None = None,
    name: str | None = None,
    opset: int = OPSET,
    smoothing_windows: int = 3,
) -> ExportResult:
    """Export the model of a run folder (with ``restoration``, the restoration net of that run
    folder and the run's 12-lead model as one graph: ``RestoredInputModel``).

    The run supplies the model, input leads, window and sampling rate; the scaler (fitted on the
    training folds), class names and validation thresholds are arguments.
    """
    if format not in FORMATS:
        raise ConfigError(f"format {format!r} is not supported; choose one of {list(FORMATS)}")
    model, _, source = _load_for_export(run, restoration)
    contract = build_contract(
        model,
        fs=source.fs,
        input_leads=source.input_leads,
        scaler=scaler,
        window_samples=source.window_samples,
        classes=classes,
        thresholds=thresholds,
        scaler_leads=scaler_leads,
        smoothing_windows=smoothing_windows,
        run=model.run_key,
    )
    return export_model(
        model, out_dir, contract=contract, format=format, name=name or _default_name(model), opset=opset
    )


def deploy_run(
    run: str | os.PathLike,
    out_dir: str | os.PathLike,
    prep,
    *,
    format: str = "onnx",
    int8: bool = False,
    restoration: str | os.PathLike | None = None,
    check_data: bool = True,
    n_boot: int = 1000,
    calibration_windows: int = 512,
) -> dict[str, Any]:
    """What ``ecgkd export`` does: export a run with the scaler of ``prep`` (``experiment.prepare``)
    and the thresholds ``experiment.evaluate_model`` tunes on its validation fold; with ``int8``,
    also an int8 model (ONNX: static quantisation calibrated on ``prep.train``; TorchScript: dynamic
    quantisation of the Linear layers) whose thresholds are re-tuned on validation, and the paired
    bootstrap change of test macro AUC / F1. Returns ``{"fp32": ExportResult, "int8": ExportResult
    | None, "evaluation": {...} | None}``.

    ConfigError when the run was trained on other data than ``prep`` (unless ``check_data=False``).
    """
    from ..experiment import evaluate_model
    from .quantize import (
        WindowCalibrationReader,
        compare_models,
        quantize_dynamic_linear,
        quantize_onnx_int8,
        retune_thresholds,
    )

    if format not in FORMATS:
        raise ConfigError(f"format {format!r} is not supported; choose one of {list(FORMATS)}")
    model, _, source = _load_for_export(run, restoration)
    if check_data:
        check_run_data(source, prep.train, prep.val)
    classifier = model_config(model).get("n_classes") is not None
    thresholds = evaluate_model(model, prep, input_leads=source.input_leads)["thresholds"] if classifier else None
    contract = build_contract(
        model,
        fs=prep.fs,
        input_leads=source.input_leads,
        scaler=prep.scaler,
        scaler_leads=prep.train.leads,
        window_samples=source.window_samples,
        classes=prep.classes if classifier else None,
        thresholds=thresholds,
        run=model.run_key,
    )
    name = _default_name(model)
    fp32 = export_model(model, out_dir, contract=contract, format=format, name=name)
    result: dict[str, Any] = {"fp32": fp32, "int8": None, "evaluation": None}
    if not int8:
        return result
    if format == "onnx":
        reader = WindowCalibrationReader(
            prep.train,
            input_leads=source.input_leads,
            window=source.window_samples,
            stride=contract["window"]["stride_samples"],
            n_windows=calibration_windows,
        )
        path = quantize_onnx_int8(fp32.path, fp32.path.with_name(f"{name}.int8.onnx"), reader)
        quantized = ExportedModule.load(path)
        parity = float("nan")
    else:
        quantized = quantize_dynamic_linear(model)
        q_contract = copy.deepcopy(contract)
        exported = export_model(
            quantized,
            out_dir,
            contract=q_contract,
            format="torchscript",
            name=f"{name}.int8",
            tolerance=INT8_TRACE_TOLERANCE,
        )
        path, parity = exported.path, exported.parity
        q_contract = load_contract(path)
        q_contract["model"]["quantization"] = {
            "route": "torch.ao.quantization.quantize_dynamic",
            "layers": "nn.Linear",
            "weights": "qint8",
            "activations": "float32, quantised on the fly per batch",
            "from": fp32.path.name,
        }
        write_contract(path, q_contract)
    if classifier:
        report = compare_models(prep, model, quantized, input_leads=source.input_leads, n_boot=n_boot)
        retune_thresholds(
            path,
            report["thresholds_candidate"],
            "per-class F1-optimal thresholds tuned on the validation fold with THIS int8 model "
            "(ecgkd_lite.metrics.tune_thresholds)",
        )
        result["evaluation"] = {k: report[k] for k in ("n_test", "n_boot", "macro_auc", "macro_f1")}
        q_contract = load_contract(path)
        q_contract["evaluation_vs_fp32"] = {
            "split": "test",
            "source": prep.source,
            **result["evaluation"],
            "delta": "int8 - fp32, paired percentile bootstrap 95 % interval",
        }
        write_contract(path, q_contract)
    result["int8"] = ExportResult(path, sidecar_path(path), load_contract(path), path.stat().st_size, parity)
    return result


def _default_name(model: nn.Module) -> str:
    config = model_config(model)
    if config.get("name", "").startswith("restored+"):
        return "restoration_student"
    return (
        "student"
        if config.get("n_classes") is not None and config.get("in_leads") == 1
        else str(config.get("name", "model"))
    )
