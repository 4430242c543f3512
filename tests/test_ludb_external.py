"""Fast tests of ecgkd_lite.evaluate.external (LUDB external validation helpers)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecgkd_lite.data.container import ECGData
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.errors import ConfigError
from ecgkd_lite.evaluate.external import (
    annotated_span,
    localisation_wave,
    on_class_axis,
    ptbxl2k_like,
    shared_classes,
    span_scores,
)


def _ludb_like(n=2, fs=500.0, unit="mV", seconds=10):
    t = np.arange(int(seconds * fs)) / fs
    rng = np.random.default_rng(0)
    sig = np.stack(
        [
            [
                0.8 * np.sin(2 * np.pi * 10 * t)
                + 0.5 * np.sin(2 * np.pi * 60 * t)
                + 2.0
                + 0.01 * rng.standard_normal(t.size)
                for _ in LEADS12
            ]
            for _ in range(n)
        ]
    ).astype(np.float32)
    regions = pd.DataFrame(
        [("1", "IAVB", 101, 201), ("2", "LAD", 10, 20)], columns=["record_id", "class", "start", "end"]
    )
    return ECGData(
        signals=sig,
        labels=np.array([[1, 0], [0, 1]], np.float32)[:n],
        classes=("IAVB", "LAD"),
        fs=fs,
        folds=np.full(n, 10),
        record_ids=[str(i + 1) for i in range(n)],
        leads=LEADS12,
        unit=unit,
        regions=regions,
    )


def test_ptbxl2k_like_rate_unit_and_zscore():
    out = ptbxl2k_like(_ludb_like())
    assert out.fs == 250.0 and out.unit == "z" and out.signals.shape == (2, 12, 2500)
    x = out.signals.astype(np.float64)
    assert np.abs(x.mean(-1)).max() < 5e-3 and np.abs(x.std(-1) - 1).max() < 5e-3
    assert np.allclose(x, np.round(x, 3), atol=1e-6)  # rounded to 1e-3 like the int16 release
    assert out.preprocessing[-1]["step"] == "ptbxl2k_like" and out.preprocessing[-1]["bandpass"]["order"] == 4


def test_ptbxl2k_like_band_pass_keeps_10hz_removes_60hz():
    # two passes of a 4th-order Butterworth: |H(60 Hz)|^2 = 1 / (1 + 1.5^8) ~ 0.03 (input 60 Hz amplitude 0.5 vs 0.8)
    x = ptbxl2k_like(_ludb_like(n=1)).signals[0, 0, 250:-250].astype(np.float64)
    spec = np.abs(np.fft.rfft(x))
    f = np.fft.rfftfreq(x.size, 1 / 250)
    assert spec[np.argmin(np.abs(f - 60))] < 0.05 * spec[np.argmin(np.abs(f - 10))]


def test_ptbxl2k_like_moves_regions_and_refuses_other_inputs():
    out = ptbxl2k_like(_ludb_like())
    assert out.regions[["start", "end"]].to_numpy().tolist() == [[50, 100], [5, 10]]
    with pytest.raises(ConfigError, match="500 Hz"):
        ptbxl2k_like(_ludb_like(fs=250.0))
    with pytest.raises(ConfigError, match="mV"):
        ptbxl2k_like(_ludb_like(unit="z"))


def test_shared_classes_keeps_model_order_and_says_why():
    y = np.array([[1, 0, 1], [1, 0, 0], [1, 1, 0], [0, 0, 0]])
    kept, left = shared_classes(["LAD", "TAb", "AF", "IAVB"], ["AF", "IAVB", "AFL"], y, min_positives=2)
    assert kept == ["AF"]
    assert "not in the external" in left["TAb"] and "1 external positive(s) < 2" == left["IAVB"]
    assert "not a class of the model" in left["AFL"] and "LAD" in left


def test_localisation_wave_choices():
    assert localisation_wave("IAVB") == "PR"
    assert {localisation_wave(c) for c in ("CRBBB", "CLBBB", "IRBBB", "LAD", "RAD", "LAnFB", "NSIVCB")} == {"QRS"}
    for rhythm in ("AF", "AFL", "NSR", "SB", "STach", "SA", "PAC", "TAb"):
        assert localisation_wave(rhythm) is None


def test_on_class_axis_zero_fills_missing_classes():
    out = on_class_axis(_ludb_like(), ["TAb", "LAD", "IAVB"])
    assert out.classes == ("TAb", "LAD", "IAVB") and out.labels.tolist() == [[0, 0, 1], [0, 1, 0]]


def test_annotated_span_first_to_last_sample_of_any_lead():
    ann = np.zeros((2, 3, 10), bool)
    ann[0, 0, 2:4] = True
    ann[0, 2, 6:8] = True
    span = annotated_span(ann)
    assert span[0].tolist() == [False, False] + [True] * 6 + [False, False] and not span[1].any()


def test_span_scores_ignore_the_map_outside_the_span():
    span = np.zeros((2, 10), bool)
    span[:, 2:8] = True
    masks = np.zeros((2, 10), bool)
    masks[:, 4:6] = True
    maps = np.zeros((2, 10))
    maps[0, 0] = 1.0  # peak outside the span: ignored
    maps[0, 4] = 0.5
    s = span_scores(maps, masks, span)
    assert s["n_scored"] == 2 and s["pointing_game"] == 0.5 and s["energy_inside"] == 0.5
    assert s["chance"] == pytest.approx(2 / 6) and s["zero_maps"] == 1
    with pytest.raises(ConfigError):
        span_scores(maps[:, :5], masks, span)
