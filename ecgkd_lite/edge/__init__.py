"""ecgkd_lite.edge: models on a device.

* ``profile``: efficiency profile (parameters, FLOPs, latency);
* ``export``: ONNX / TorchScript export with a JSON preprocessing contract, parity checks;
* ``quantize``: int8 post-training quantisation (ONNX Runtime static, PyTorch dynamic) and its
  accuracy cost with a paired bootstrap interval;
* ``streaming``: chunk-by-chunk classification identical to offline sliding-window evaluation.
"""

from .export import (
    FORMATS,
    OPSET,
    ExportedModule,
    ExportResult,
    as_runner,
    build_contract,
    export_model,
    export_run,
    load_contract,
    load_run,
    max_abs_diff,
    onnx_session,
    runner_latency,
)
from .profile import count_flops, count_parameters, measure_latency, profile_models
from .quantize import (
    WindowCalibrationReader,
    compare_models,
    compare_routes,
    paired_delta_ci,
    quantize_dynamic_linear,
    quantize_onnx_int8,
)
from .streaming import (
    StreamingClassifier,
    WindowOutput,
    detection_intervals,
    sliding_window_outputs,
)

__all__ = [
    "FORMATS",
    "OPSET",
    "ExportResult",
    "ExportedModule",
    "StreamingClassifier",
    "WindowCalibrationReader",
    "WindowOutput",
    "as_runner",
    "build_contract",
    "compare_models",
    "compare_routes",
    "count_flops",
    "count_parameters",
    "detection_intervals",
    "export_model",
    "export_run",
    "load_contract",
    "load_run",
    "max_abs_diff",
    "measure_latency",
    "onnx_session",
    "paired_delta_ci",
    "profile_models",
    "quantize_dynamic_linear",
    "quantize_onnx_int8",
    "runner_latency",
    "sliding_window_outputs",
]
