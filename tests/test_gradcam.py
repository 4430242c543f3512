"""grad_cam: closed-form golden maps, upsampling, zoo models, model left untouched, in-place safety, errors."""

import numpy as np
import pytest
import torch
from torch import nn

from ecgkd_lite.errors import ConfigError, ModelError
from ecgkd_lite.explain import grad_cam, normalise_maps
from ecgkd_lite.models import build_model

torch.set_num_threads(1)


class PooledLinear(nn.Module):
    """feature map -> time mean -> linear head: Grad-CAM has a closed form, L(t) = sum_k w_ck A_k(t) / T'."""

    in_leads = 1

    def __init__(self, conv: nn.Conv1d, head: list[list[float]], act: nn.Module | None = None):
        super().__init__()
        self.conv = conv
        self.act = act or nn.Identity()
        self.head = nn.Linear(len(head[0]), len(head), bias=False)
        with torch.no_grad():
            self.head.weight[:] = torch.tensor(head)
        self.feature_layers = {"temporal": "conv", "penultimate": "act"}

    def forward(self, x):
        return self.head(self.act(self.conv(x)).mean(-1))


def two_channel_model(act=None) -> PooledLinear:
    conv = nn.Conv1d(1, 2, 1, bias=False)  # A_0 = x, A_1 = -2x
    with torch.no_grad():
        conv.weight[:] = torch.tensor([[[1.0]], [[-2.0]]])
    return PooledLinear(conv, [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], act)


X8 = torch.tensor([[[0.0, 1.0, 2.0, 3.0, -1.0, 0.0, 4.0, 2.0]]])


def test_closed_form_maps_per_class():
    model = two_channel_model()
    # class 0: L = x / T -> ReLU -> / max
    np.testing.assert_allclose(grad_cam(model, X8, 0), [[0, 0.25, 0.5, 0.75, 0, 0, 1, 0.5]], atol=1e-6)
    # class 1: L = -2x / T, positive only where x < 0; class 2: L = (x - 2x) / T = -x / T, same after scaling
    np.testing.assert_allclose(grad_cam(model, X8, 1), [[0, 0, 0, 0, 1, 0, 0, 0]], atol=1e-6)
    np.testing.assert_allclose(grad_cam(model, X8, 2), [[0, 0, 0, 0, 1, 0, 0, 0]], atol=1e-6)
    # without ReLU: min-max of x / T
    np.testing.assert_allclose(grad_cam(model, X8, 0, relu=False), [[0.2, 0.4, 0.6, 0.8, 0, 0.2, 1, 0.6]], atol=1e-6)


def test_coarse_map_is_upsampled_linearly_to_the_input_length():
    conv = nn.Conv1d(1, 1, 2, stride=2, bias=False)  # A = pairwise means: [0, 2, 4, 0]
    with torch.no_grad():
        conv.weight[:] = 0.5
    model = PooledLinear(conv, [[1.0]])
    x = torch.tensor([[[0.0, 0.0, 2.0, 2.0, 4.0, 4.0, 0.0, 0.0]]])
    # [0, .5, 1, 0] at T'=4, linear (align_corners=False) to T=8: [0, .125, .375, .625, .875, .75, .25, 0], / .875
    expected = np.array([0, 0.125, 0.375, 0.625, 0.875, 0.75, 0.25, 0]) / 0.875
    np.testing.assert_allclose(grad_cam(model, x, 0), [expected], atol=1e-6)


def test_all_zero_map_stays_zero_and_normalisation_rules():
    maps = np.array([[0.0, -1, 2, 4], [0, 0, 0, 0], [-3, -1, -2, -1]])
    np.testing.assert_allclose(normalise_maps(maps, relu=True), [[0, 0, 0.5, 1], [0, 0, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(normalise_maps(maps, relu=False), [[0.2, 0, 0.6, 1], [0, 0, 0, 0], [0, 1, 0.5, 1]])
    # class 1 on an all-positive record: no positive evidence anywhere -> all zero, not NaN
    assert (grad_cam(two_channel_model(), X8.abs(), 1) == 0).all()


@pytest.mark.parametrize("name,size,leads", [("cnn_transformer", "tiny", 1), ("resnet1d", "small", 12)])
def test_zoo_models_give_normalised_deterministic_batch_invariant_maps(name, size, leads):
    torch.manual_seed(0)
    model = build_model(name, size, in_leads=leads, n_classes=15)
    x = torch.randn(5, leads, 250)
    maps = grad_cam(model, x, 3)
    assert maps.shape == (5, 250) and maps.dtype == np.float64
    assert maps.min() >= 0 and np.allclose(maps.max(axis=1), 1.0)
    np.testing.assert_array_equal(maps, grad_cam(model, x, 3))
    np.testing.assert_allclose(grad_cam(model, x, 3, batch_size=2), maps, atol=1e-5)


def test_per_record_targets_match_single_class_calls():
    torch.manual_seed(0)
    model = build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)
    x = torch.randn(3, 1, 250)
    targets = np.array([0, 7, 14])
    mixed = grad_cam(model, x.numpy(), targets)
    for i, c in enumerate(targets):
        np.testing.assert_allclose(mixed[i], grad_cam(model, x[i : i + 1], int(c))[0], atol=1e-5)


def test_model_is_left_untouched():
    torch.manual_seed(0)
    model = build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)
    model.train()
    model.stem.eval()  # a frozen part keeps its own mode
    model.head[1].weight.requires_grad_(False)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grad_cam(model, torch.randn(2, 1, 250), 1)
    assert model.training and model.stage1.training and not model.stem.training and not model.stem[0][1].training
    assert all(p.grad is None for p in model.parameters())
    assert not model.head[1].weight.requires_grad and model.head[1].bias.requires_grad
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BN running stats untouched too
    model.eval()
    grad_cam(model, torch.randn(2, 1, 250), 1)
    assert not model.training


def test_inplace_activation_after_the_layer_gives_the_same_maps():
    inplace, plain = two_channel_model(nn.ReLU(inplace=True)), two_channel_model(nn.ReLU())
    x = torch.tensor([[[0.0, 1.0, -2.0, 3.0, -1.0, 0.5, 4.0, 2.0]]])
    for c in range(3):  # class 2 would differ if the hooked map were overwritten by the ReLU
        for relu in (True, False):
            np.testing.assert_allclose(grad_cam(inplace, x, c, relu=relu), grad_cam(plain, x, c, relu=relu), atol=1e-7)
    assert inplace.act.inplace  # not switched off behind the caller's back
    # the map is the one of the post-ReLU head: class 0 sees relu(x) / T
    np.testing.assert_allclose(grad_cam(inplace, x, 0), [[0, 0.25, 0, 0.75, 0, 0.125, 1, 0.5]], atol=1e-6)


@pytest.fixture(scope="module")
def student():
    torch.manual_seed(0)
    return build_model("cnn_transformer", "tiny", in_leads=1, n_classes=15)


def test_layer_without_time_axis_is_refused(student):
    with pytest.raises(ModelError, match=r"'penultimate'.*\(1, 96\).*no time axis"):
        grad_cam(student, torch.randn(2, 1, 250), 0, layer="penultimate")
    with pytest.raises(ModelError, match=r"'tokens'.*\(1, 16, 96\).*channel-last"):
        grad_cam(student, torch.randn(2, 1, 250), 0, layer="tokens")


def test_unknown_layer_lists_the_available_names(student):
    with pytest.raises(ModelError, match=r"no feature layer \['nope'\].*'temporal'"):
        grad_cam(student, torch.randn(2, 1, 250), 0, layer="nope")


@pytest.mark.parametrize(
    "target,message",
    [
        (15, r"target 15 is outside \[0, 15\)"),
        (-1, r"target -1 is outside"),
        (np.array([0, 20]), r"target 20 is outside"),
        (1.5, "integer class index"),
        (True, "integer class index"),
        (np.array([0, 1, 2]), r"one int per record \(2\)"),
    ],
)
def test_bad_targets_raise_config_error(student, target, message):
    with pytest.raises(ConfigError, match=message):
        grad_cam(student, torch.randn(2, 1, 250), target)


def test_bad_inputs_raise_typed_errors(student):
    with pytest.raises(ModelError, match="expects 1 input leads; x has 12"):
        grad_cam(student, torch.randn(2, 12, 250), 0)
    with pytest.raises(ConfigError, match=r"x must be records \(N, leads, T\)"):
        grad_cam(student, torch.randn(1, 250), 0)
    bad = torch.randn(2, 1, 250)
    bad[1, 0, 5] = float("nan")
    with pytest.raises(ConfigError, match="x contains NaN"):
        grad_cam(student, bad, 0)
    with pytest.raises(ConfigError, match="batch_size"):
        grad_cam(student, torch.randn(2, 1, 250), 0, batch_size=0)
