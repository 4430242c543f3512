"""FeatureCapture: hooks return exactly what the model computes, are removed on exit, and reject unknown names."""

from __future__ import annotations

import pytest
import torch

from ecgkd_lite.errors import ModelError
from ecgkd_lite.models import FeatureCapture, build_model
from ecgkd_lite.models.blocks import sinusoidal_positions

torch.set_num_threads(1)

ALL_FEATURES = ["temporal", "tokens", "penultimate", "stage1", "stage2", "stage3", "logits"]


def make(name: str, size: str | None = None, leads: int = 1):
    torch.manual_seed(0)
    return build_model(name, size, in_leads=leads, n_classes=15).eval()


def run_each(layers, h):
    """Outputs of every layer of a Sequential, run one by one."""
    outputs = []
    for layer in layers:
        h = layer(h)
        outputs.append(h)
    return outputs


def reference_resnet(m, x):
    """resnet1d run stage by stage by hand."""
    stages = run_each(m.stages, m.stem(x))
    h = stages[-1]
    tokens = h.transpose(1, 2)
    pooled = tokens.mean(1)
    return {
        "stage1": stages[0],
        "stage2": stages[1],
        "stage3": stages[2],
        "stage4": stages[3],
        "temporal": h,
        "tokens": tokens,
        "penultimate": pooled,
        "logits": m.head(pooled),
    }


def reference_patch_transformer(m, x):
    """patch_transformer run block by block by hand."""
    blocks = run_each(m.blocks, m.patch_embed(x))
    tokens = m.norm(blocks[-1])
    temporal = tokens.reshape(x.shape[0], x.shape[1], -1, tokens.shape[-1]).mean(1).transpose(1, 2)
    pooled = temporal.mean(2)
    return {
        "stage1": blocks[0],
        "stage2": blocks[1],
        "stage3": blocks[2],
        "temporal": temporal,
        "tokens": tokens,
        "penultimate": pooled,
        "logits": m.head(pooled),
    }


def reference_cnn_transformer(m, x):
    """cnn_transformer run layer by layer by hand."""
    s1 = m.stage1(m.stem(x))
    s2 = m.stage2(s1)
    h = s2.transpose(1, 2) + sinusoidal_positions(s2.shape[2], s2.shape[1])
    b1 = m.blocks[0](h)
    tokens = m.norm(m.blocks[1:](b1))
    pooled = tokens.mean(1)
    return {
        "stage1": s1,
        "stage2": s2,
        "stage3": b1,
        "temporal": tokens.transpose(1, 2),
        "tokens": tokens,
        "penultimate": pooled,
        "logits": m.head(pooled),
    }


REFERENCES = {
    ("resnet1d", 12): reference_resnet,
    ("patch_transformer", 12): reference_patch_transformer,
    ("cnn_transformer", 1): reference_cnn_transformer,
}


@pytest.mark.parametrize("name,leads", sorted(REFERENCES))
def test_captured_features_equal_a_hand_run_forward(name, leads):
    model = make(name, "small", leads)
    x = torch.randn(3, leads, 250)
    with torch.no_grad(), FeatureCapture(model, ALL_FEATURES) as cap:
        logits = model(x)
        expected = REFERENCES[name, leads](model, x)
    assert set(cap.features) == set(ALL_FEATURES)
    torch.testing.assert_close(cap.features["logits"], logits, rtol=0, atol=0)
    for key in ALL_FEATURES:
        torch.testing.assert_close(cap.features[key], expected[key], rtol=1e-5, atol=1e-5, msg=f"{name}: {key}")


def test_plain_cnn_features_feed_the_head():
    model = make("cnn")
    with torch.no_grad(), FeatureCapture(model, ["temporal", "tokens", "penultimate", "stage4", "logits"]) as cap:
        logits = model(torch.randn(2, 1, 250))
    f = cap.features
    assert f["stage4"] is f["temporal"]  # one module, one hook, one tensor
    torch.testing.assert_close(f["tokens"], f["temporal"].transpose(1, 2))
    torch.testing.assert_close(f["penultimate"], f["temporal"].mean(2))
    torch.testing.assert_close(model.head(f["penultimate"]), logits)


def test_raw_module_names_are_accepted():
    model = make("resnet1d", leads=12)
    x = torch.randn(1, 12, 250)
    with torch.no_grad(), FeatureCapture(model, "stem.0") as cap:
        model(x)
        expected = model.stem[0](x)
    torch.testing.assert_close(cap.features["stem.0"], expected)


def test_features_keep_the_graph_unless_detached():
    model = make("cnn_transformer", "tiny")
    x = torch.randn(2, 1, 250)
    with FeatureCapture(model, ["temporal", "logits"]) as cap:
        logits = model(x)
    temporal = cap.features["temporal"]
    assert temporal.requires_grad
    (grad,) = torch.autograd.grad(logits[:, 0].sum(), temporal)  # the Grad-CAM use
    assert grad.shape == temporal.shape and grad.abs().sum() > 0
    with FeatureCapture(model, ["temporal"], detach=True) as cap:
        model(x)
    assert not cap.features["temporal"].requires_grad
    torch.testing.assert_close(cap.features["temporal"], temporal.detach())


def test_features_are_refilled_on_each_forward_and_hooks_removed_on_exit():
    model = make("cnn_transformer", "tiny")
    x1, x2 = torch.randn(1, 1, 250), torch.randn(1, 1, 250)
    with torch.no_grad(), FeatureCapture(model, ["penultimate"]) as cap:
        model(x1)
        first = cap.features["penultimate"]
        model(x2)
        second = cap.features["penultimate"]
    assert not torch.equal(first, second)
    assert all(not m._forward_hooks for m in model.modules())
    with torch.no_grad():
        model(x1)
    assert cap.features["penultimate"] is second


def test_register_and_remove_without_a_with_block():
    model = make("cnn")
    cap = FeatureCapture(model, ["penultimate"]).register().register()  # idempotent
    assert len(model.pool._forward_hooks) == 1
    cap.remove()
    assert len(model.pool._forward_hooks) == 0


def test_hooks_are_removed_when_the_forward_raises():
    model = make("cnn")
    with pytest.raises(ModelError), FeatureCapture(model, ["temporal"]):
        model(torch.randn(1, 2, 250))
    assert all(not m._forward_hooks for m in model.modules())


def test_restoration_net_output_as_logits_and_module_names():
    torch.manual_seed(0)
    model = build_model("unet1d", "tiny", in_leads=1).eval()
    x = torch.randn(1, 1, 64)
    with torch.no_grad(), FeatureCapture(model, ["logits", "inc"]) as cap:
        out = model(x)
        expected_inc = model.inc(x)
    assert cap.features["logits"] is out
    torch.testing.assert_close(cap.features["inc"], expected_inc)


def test_unknown_name_lists_semantic_and_module_names():
    model = make("cnn")
    with pytest.raises(ModelError) as err:
        FeatureCapture(model, ["temporal", "attention_map"])
    msg = str(err.value)
    assert "'cnn'" in msg and "attention_map" in msg
    assert "semantic names: ['logits', 'penultimate', 'stage1'" in msg and "'stem.0'" in msg and "'stages.3.1.2'" in msg
