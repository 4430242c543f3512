"""Models refuse bad constructor arguments (True, 2.5 as counts; dropout outside [0, 1]) with a
ModelError, and NaN / infinite input with a BadSignalError naming the batch item, lead and sample,
while tracing and ONNX export of the same models stay silent."""

from __future__ import annotations

import warnings

import pytest
import torch

from ecgkd_lite.errors import BadSignalError, ModelError, RecordError
from ecgkd_lite.models import build_model, list_models

torch.set_num_threads(1)

TEACHERS = {"resnet1d", "patch_transformer", "printout_cnn"}


def make(name: str, **kwargs):
    torch.manual_seed(0)
    n_classes = None if name == "unet1d" else 3
    leads = 12 if name in TEACHERS else 1
    kwargs.setdefault("in_leads", leads)
    return build_model(name, None, n_classes=n_classes, **kwargs).eval()


@pytest.mark.parametrize("bad", [True, 2.5, 2.0, "2", None])
@pytest.mark.parametrize("name", sorted(list_models()))
def test_in_leads_must_be_a_true_integer(name, bad):
    with pytest.raises(ModelError, match=rf"model '{name}': in_leads must be an integer >= 1; got {bad!r}"):
        make(name, in_leads=bad)


@pytest.mark.parametrize("bad", [True, 2.5, 0])
def test_n_classes_and_out_leads_must_be_true_integers(bad):
    with pytest.raises(ModelError, match=r"'cnn': n_classes must be an integer >= 1"):
        build_model("cnn", in_leads=1, n_classes=bad)
    with pytest.raises(ModelError, match=r"'unet1d': out_leads must be an integer >= 1"):
        build_model("unet1d", in_leads=1, out_leads=bad)


def test_numpy_integer_counts_are_accepted_and_stored_as_int():
    import numpy as np

    model = build_model("cnn", in_leads=np.int64(1), n_classes=np.int64(3))
    assert type(model.config["in_leads"]) is int and type(model.config["n_classes"]) is int


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, float("nan"), "0.1"])
def test_dropout_outside_unit_interval_is_a_model_error(bad):
    with pytest.raises(ModelError, match=r"'cnn_transformer': dropout must be >= 0 and <= 1 \(a finite number\)"):
        build_model("cnn_transformer", in_leads=1, n_classes=3, dropout=bad)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("name", sorted(list_models()))
def test_non_finite_input_is_a_bad_signal_error_naming_item_lead_and_sample(name, value):
    model = make(name)
    x = torch.randn(4, model.in_leads, 128)
    lead = model.in_leads - 1
    x[2, lead, 120] = value
    x[2, lead, 121] = value
    x[3, 0, 5] = value
    with pytest.raises(BadSignalError) as info:
        model(x)
    err = info.value
    assert isinstance(err, RecordError) and err.record == "input batch item 2"
    assert f"lead index {lead} has {value} at sample 120" in err.problem
    assert "2 non-finite sample(s) in this item, 2 of 4 batch item(s) affected" in err.problem
    assert name in err.problem


def test_finite_input_passes_and_gradients_still_flow():
    model = make("cnn")
    x = torch.randn(2, 1, 64, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


def _check_line() -> int:
    import inspect

    from ecgkd_lite.models import registry

    lines, start = inspect.getsourcelines(registry.ECGModel.check_input)
    return start + next(i for i, line in enumerate(lines) if "torch.isfinite(x).all()" in line)


@pytest.mark.parametrize("name", ["cnn", "cnn_transformer"])
def test_tracing_and_onnx_export_skip_the_check_without_new_warnings(name, tmp_path):
    """The shape checks already warn under tracing (the exporter silences that); the finiteness
    check adds no warning, no op to the traced graph, and no failure on a traced NaN input."""
    model = make(name)
    example = torch.randn(1, 1, 256)
    check_line = _check_line()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traced = torch.jit.trace(model, example, check_trace=False)
    assert not [w for w in caught if w.filename.endswith("registry.py") and w.lineno == check_line]
    assert "isfinite" not in str(traced.graph)
    assert torch.allclose(traced(example), model(example), atol=1e-5)
    nan = example.clone()
    nan[0, 0, 10] = float("nan")
    assert torch.isnan(traced(nan)).any()  # the traced graph has no check: callers check their input
    pytest.importorskip("onnx")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.onnx.export(model, (example,), str(tmp_path / "m.onnx"), dynamo=False, opset_version=17)
    assert not [w for w in caught if w.filename.endswith("registry.py") and w.lineno == check_line]
    assert (tmp_path / "m.onnx").stat().st_size > 0
