"""The ECG-image teacher: ``render_printout`` (layout, gain, continuity, errors) and ``printout_cnn``
(shapes, features, training, EVL-ECG as its teacher, cache keys of its runs)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ecgkd_lite import versions
from ecgkd_lite.distill import Distiller, build_recipe
from ecgkd_lite.errors import BadSignalError, ModelError
from ecgkd_lite.models import FeatureCapture, build_model
from ecgkd_lite.models.printout import render_printout, trace_spans
from ecgkd_lite.train import TrainConfig
from ecgkd_lite.train.cache import cache_key
from ecgkd_lite.train.checkpoint import model_config
from ecgkd_lite.utils import fingerprint
from kd_toy_models import toy_batch
from train_toys import toy_data

torch.set_num_threads(1)

ROWS, PANEL, MID = 32, 64, 16  # the defaults: 32 px panels, 64 px columns, mid row 16
GAIN = 5  # px per z-unit: (MID - 1) / 3
V1, II = 6, 1  # lead indices in LEADS12 order


def image(x: torch.Tensor) -> torch.Tensor:
    """The single-channel image (H, W) of a one-record batch."""
    return render_printout(x)[0, 0]


def zeros(t: int = 250) -> torch.Tensor:
    return torch.zeros(1, 12, t)


def panel(img: torch.Tensor, row: int, col: int | None = None) -> torch.Tensor:
    """Panel (row, col) of an image; ``col=None``: the full-width panel row (the strip for row 3)."""
    rows = img[row * ROWS : (row + 1) * ROWS]
    return rows if col is None else rows[:, col * PANEL : (col + 1) * PANEL]


def lit_rows(column: torch.Tensor) -> list[int]:
    """Rows of a pixel column with full ink."""
    return [int(r) for r in (column == 1).nonzero().flatten()]


def make(name: str = "printout_cnn", size: str | None = None, seed: int = 0, **kwargs):
    torch.manual_seed(seed)
    leads = 1 if name == "cnn_transformer" else 12
    return build_model(name, size, in_leads=leads, n_classes=15, **kwargs)


def records(b: int = 2, t: int = 250, seed: int = 0) -> torch.Tensor:
    return torch.randn(b, 12, t, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- render_printout


@pytest.mark.parametrize("t", [250, 1000, 251, 4])
def test_image_shape_is_fixed_by_the_resolution_not_the_input_length(t):
    img = render_printout(records(3, t))
    assert img.shape == (3, 1, 4 * ROWS, 4 * PANEL) == (3, 1, 128, 256)
    assert img.dtype == torch.float32 and float(img.min()) >= 0 and float(img.max()) <= 1
    assert render_printout(records(2, t), rows_px=20, panel_px=40).shape == (2, 1, 80, 160)


def test_flat_zero_input_draws_the_mid_row_of_every_panel():
    img = image(zeros())
    expected = torch.zeros(128, 256)
    expected[[MID, ROWS + MID, 2 * ROWS + MID, 3 * ROWS + MID]] = 1.0
    torch.testing.assert_close(img, expected, rtol=0, atol=0)


def test_fixed_gain_and_clipping_golden():
    for value, row in [(1.0, MID - GAIN), (-1.0, MID + GAIN), (3.0, 1), (-3.0, 31), (7.0, 1), (-9.0, 31)]:
        img = image(torch.full((1, 12, 250), value))
        for r in range(4):
            assert lit_rows(panel(img, r)[:, 100]) == [row], (value, r)
        assert float(img[0::ROWS].abs().sum()) == 0.0  # row 0 of each panel: the blank separator
    half = image(torch.full((1, 12, 250), 0.1))  # 0.5 px above the mid row: half ink on two rows
    torch.testing.assert_close(panel(half, 0)[MID - 2 : MID + 2, 10], torch.tensor([0.0, 0.5, 0.5, 0.0]))


def test_each_panel_shows_its_lead_at_the_clinical_position():
    """Lead l at constant value 1 + 0.1 l: panel (row l % 3, column l // 3) has its line at row
    16 - 5 (1 + 0.1 l) in every pixel column (the ink-weighted mean row); the strip has lead II's."""
    x = (1.0 + 0.1 * torch.arange(12.0))[None, :, None].expand(1, 12, 250).contiguous()
    img = image(x)
    y = torch.arange(ROWS, dtype=torch.float32)[:, None]

    def line_row(ink: torch.Tensor) -> torch.Tensor:
        return (y * ink).sum(0) / ink.sum(0)

    for lead in range(12):
        ink = panel(img, lead % 3, lead // 3)
        torch.testing.assert_close(line_row(ink), torch.full((PANEL,), MID - GAIN * (1.0 + 0.1 * lead)))
    torch.testing.assert_close(line_row(panel(img, 3)), torch.full((4 * PANEL,), MID - GAIN * 1.1))
    lo, hi = trace_spans(x, 256)
    torch.testing.assert_close(lo, x[..., :1].expand(1, 12, 256))
    torch.testing.assert_close(hi, lo)


def test_a_spike_in_v1_inks_only_v1s_panel():
    x = zeros()
    x[0, V1, 150] = 2.0  # sample 150 lies in the third quarter [125, 187.5): column 2, V1 on row 0
    diff = (image(x) - image(zeros())) != 0
    rows, cols = diff.nonzero().unbind(1)
    assert diff.any()
    assert rows.min() >= 0 and rows.max() < ROWS and cols.min() >= 2 * PANEL and cols.max() < 3 * PANEL
    x_px = (2 * 150 + 1) * 256 // (2 * 250) - 2 * PANEL  # the column holding sample 150 (154 - 128)
    v1 = panel(image(x), 0, 2)
    assert lit_rows(v1[:, x_px])[0] == MID - 2 * GAIN  # the peak, +2 units
    union = sorted({r for col in v1[:, x_px - 1 : x_px + 2].T for r in lit_rows(col)})
    assert union == list(range(MID - 2 * GAIN, MID + 1))  # up from the baseline and back down
    x[0, V1, 150], x[0, V1, 60] = 0.0, 2.0  # a V1 spike in the first quarter is on no panel
    torch.testing.assert_close(image(x), image(zeros()), rtol=0, atol=0)


def test_a_spike_in_lead_ii_shows_in_its_panel_and_in_the_rhythm_strip_at_the_same_x():
    x = zeros()
    x[0, II, 30] = 2.0
    diff = (image(x) - image(zeros())) != 0
    in_panel = diff[ROWS : 2 * ROWS].nonzero()
    in_strip = diff[3 * ROWS :].nonzero()
    assert len(in_panel) and torch.equal(in_panel, in_strip)  # same rows within the panel, same x
    assert in_panel[:, 1].max() < PANEL  # II's panel is column 0
    assert not diff[:ROWS].any() and not diff[2 * ROWS : 3 * ROWS].any()
    assert 31 in in_panel[:, 1].tolist()  # sample 30 (time 30.5) at x = 30.5 * 256 / 250 = 31.2
    # a lead II spike in the third quarter is only in the strip (column 2 shows V1-V3)
    x = zeros()
    x[0, II, 140] = 2.0
    diff = (image(x) - image(zeros())) != 0
    assert diff[3 * ROWS :].any() and not diff[: 3 * ROWS].any()
    assert (diff[3 * ROWS :].nonzero()[:, 1] // PANEL).unique().tolist() == [2]


@pytest.mark.parametrize("t", [250, 256, 1000])
def test_a_steep_edge_is_a_continuous_vertical_run(t):
    """Lead I jumps from -2 to +2 between two samples: the columns around the jump ink every row
    from +2 (row 6) to -2 (row 26), and each column's ink is one unbroken run."""
    x = zeros(t)
    k = t // 10
    x[0, 0, :k], x[0, 0, k:] = -2.0, 2.0
    ink = panel(image(x), 0, 0)
    edge = (2 * k) * 256 // (2 * t)  # the column holding time k, between samples k - 1 and k
    window = ink[:, max(edge - 2, 0) : edge + 3]
    for col in window.T:
        rows = lit_rows(col)
        assert rows == list(range(rows[0], rows[-1] + 1))
    union = sorted({r for col in window.T for r in lit_rows(col)})
    assert union == list(range(MID - 2 * GAIN, MID + 2 * GAIN + 1))


def test_one_pixel_holding_many_samples_inks_their_whole_range():
    x = zeros(1000)  # ~3.9 samples per pixel column
    x[0, 0, 399] = 2.0
    x[0, 0, 400] = -2.0
    col = (2 * 399 + 1) * 256 // 2000  # 102, times [398.4, 402.3): samples 398-401
    assert (2 * 400 + 1) * 256 // 2000 == col
    rows = lit_rows(image(x)[:, col])  # lead I is not on column 1 (aVR..aVF: flat)
    assert rows == [MID, ROWS + MID, 2 * ROWS + MID, 3 * ROWS + MID]
    x[0, 3] = x[0, 0]  # aVR (column 1, row 0) carries the doublet
    assert lit_rows(panel(image(x), 0)[:, col]) == list(range(MID - 2 * GAIN, MID + 2 * GAIN + 1))


def test_rendering_is_deterministic_and_vectorised_over_records():
    x = records(4, 250, seed=3)
    a, b = render_printout(x), render_printout(x.clone())
    assert torch.equal(a, b)
    assert torch.equal(render_printout(x[2:3])[0], a[2])


def test_render_refuses_a_wrong_lead_count_and_non_finite_samples():
    with pytest.raises(ModelError, match=r"render_printout: x must be \(B, 12 leads, T >= 1\).*\(1, 11, 250\)"):
        render_printout(torch.zeros(1, 11, 250))
    with pytest.raises(ModelError, match=r"render_printout: x must be .*\(12, 250\)"):
        render_printout(torch.zeros(12, 250))
    x = zeros()
    x[0, 4, 7] = float("nan")
    with pytest.raises(BadSignalError, match="render_printout.*lead index 4 has nan at sample 7"):
        render_printout(x)
    with pytest.raises(ModelError, match="rows_px must be an integer >= 4"):
        render_printout(zeros(), rows_px=2)
    with pytest.raises(ModelError, match="clip must be"):
        render_printout(zeros(), clip=0.0)


# ---------------------------------------------------------------- the model


@pytest.mark.parametrize("t", [250, 1000])
def test_forward_logits_and_features(t):
    model = make().eval()
    x = records(2, t)
    names = ["image", "tokens", "temporal", "penultimate", "stage1", "stage2", "stage3"]
    with torch.no_grad(), FeatureCapture(model, names) as cap:
        logits = model(x)
    f = cap.features
    assert logits.shape == (2, 15) and torch.isfinite(logits).all()
    assert f["image"].shape == (2, 1, 128, 256) and torch.equal(f["image"], render_printout(x))
    assert f["tokens"].shape == (2, 128, 144)
    assert f["temporal"].shape == (2, 144, 16)
    assert f["penultimate"].shape == (2, 144)
    assert all(f[f"stage{i}"].shape == (2, 128, 144) for i in (1, 2, 3))
    # temporal = the row-major 8 x 16 token grid averaged over its rows; penultimate = its mean
    torch.testing.assert_close(f["temporal"], f["tokens"].reshape(2, 8, 16, 144).mean(1).transpose(1, 2))
    torch.testing.assert_close(f["penultimate"], f["tokens"].mean(1))
    assert model.grid == (8, 16)


def test_token_count_and_width_differ_from_the_tiny_student():
    teacher, student = make().eval(), make("cnn_transformer", "tiny").eval()
    with torch.no_grad(), FeatureCapture(teacher, ["tokens"]) as t, FeatureCapture(student, ["tokens"]) as s:
        teacher(records(1))
        student(records(1)[:, :1])
    (_, n_t, d_t), (_, n_s, d_s) = t.features["tokens"].shape, s.features["tokens"].shape
    assert (n_s, d_s) == (16, 96) and (n_t, d_t) == (128, 144)
    assert n_t != n_s and d_t != d_s


def test_gradients_reach_the_cnn_and_a_few_steps_reduce_the_bce():
    model = make(dropout=0.0).train()
    x = records(8, 250, seed=1)
    y = (torch.rand(8, 15, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    F.binary_cross_entropy_with_logits(model(x), y).backward()
    for name, p in model.cnn.named_parameters():
        assert p.grad is not None and float(p.grad.abs().sum()) > 0, name
    assert float(model.to_tokens.positions.grad.abs().sum()) > 0
    model.zero_grad()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(12):
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.7 * losses[0], losses


def test_evl_ecg_distils_the_image_tokens_into_the_signal_student():
    teacher, student = make(), make("cnn_transformer", "tiny")
    batch = toy_batch(n=4, n_samples=250, n_classes=15, seed=5)
    torch.manual_seed(0)
    distiller = Distiller(teacher, student, build_recipe("evl_ecg"))
    out = distiller.setup(batch)(batch)
    assert {"ce", "mhca", "ot", "relation", "total"} <= set(out)
    assert torch.isfinite(out["total"]) and out["total"].requires_grad
    out["total"].backward()
    grads = [p.grad for p in student.parameters()]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(float(g.abs().sum()) for g in grads) > 0
    assert all(p.grad is None for p in teacher.parameters())


def test_model_refuses_a_wrong_lead_count_a_short_input_and_nan():
    model = make().eval()
    with pytest.raises(ModelError, match="'printout_cnn' expects 12 input leads; received 3 leads"):
        model(torch.zeros(1, 3, 250))
    with pytest.raises(ModelError, match="'printout_cnn' needs at least 4 samples per lead; received 3"):
        model(torch.zeros(1, 12, 3))
    x = records(2)
    x[1, 9, 100] = float("nan")
    with pytest.raises(BadSignalError, match="'printout_cnn': lead index 9 has nan at sample 100") as err:
        model(x)
    assert err.value.record == "input batch item 1"
    with pytest.raises(ModelError, match="'printout_cnn' renders the 12-lead printout: in_leads must be 12; got 1"):
        build_model("printout_cnn", in_leads=1, n_classes=15)


def test_same_input_same_image_and_same_logits():
    model = make().eval()
    x = records(3, 1000, seed=9)
    with torch.no_grad():
        assert torch.equal(model(x), model(x.clone()))
        assert torch.equal(make().eval()(x), model(x))  # same seed, same weights


# ---------------------------------------------------------------- run keys

FIT = TrainConfig(epochs=1, batch_size=16, crop_seconds=2.0, seed=0, progress=False)


def test_run_keys_carry_the_printout_component_and_no_other_architecture_key_changes(monkeypatch):
    train, val = toy_data().split("train"), toy_data().split("val")
    resnet = build_model("resnet1d", "small", in_leads=12, n_classes=3)
    printout = build_model("printout_cnn", in_leads=12, n_classes=3)
    tag = "teacher-resnet1d-small"
    # the key of a default teacher run is the one it had before the printout model existed
    before = fingerprint(
        model_config(resnet),
        FIT.key_dict(),
        None,
        train.fingerprint(),
        val.fingerprint(),
        tag,
        {"engine": versions.version("engine"), "models": versions.version("models")},
    )
    resnet_key = cache_key(resnet, train, val, tag=tag, config=FIT)
    assert resnet_key == before
    assert versions.model_components("resnet1d") == () and versions.model_components("cnn_transformer") == ()
    assert versions.model_components("printout_cnn") == ("model:printout_cnn",)
    printout_key = cache_key(printout, train, val, tag="teacher-printout_cnn-small", config=FIT)
    monkeypatch.setitem(
        versions.COMPONENTS,
        "model:printout_cnn",
        (versions.version("model:printout_cnn") + 1, versions.COMPONENTS["model:printout_cnn"][1]),
    )
    assert cache_key(resnet, train, val, tag=tag, config=FIT) == resnet_key
    assert cache_key(printout, train, val, tag="teacher-printout_cnn-small", config=FIT) != printout_key
