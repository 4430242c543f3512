"""benchmarks/realism_synthetic.py, the z-unit tables against ptbxl-2k (issue 15, item 3) on a small
synthetic sample: schema and sanity (skipped when ../shared/data/ptbxl-2k is absent); the synthetic
preprocessing is the package's ``like_ptbxl_2k`` (no data needed); the delineation at 250 Hz on a
clean synthetic record. The full-size run is in results/realism_synthetic.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ecgkd_lite.bench.readme import _script
from ecgkd_lite.config import shared_data_dir
from ecgkd_lite.data.leads import LEADS12
from ecgkd_lite.data.synthetic import load_synthetic
from ecgkd_lite.data.zscore import like_ptbxl_2k
from ecgkd_lite.errors import MissingFileError
from ecgkd_lite.experiment import BANDPASS

ROOT = shared_data_dir() / "ptbxl-2k"


@pytest.fixture(scope="module")
def bench():
    return _script("realism_synthetic")  # benchmarks/realism_synthetic.py as a module (cached)


def test_like_ptbxl_2k_is_zscored_per_record_and_lead_at_250_hz():
    z = like_ptbxl_2k(load_synthetic(6, fs=500, seconds=10, seed=1), BANDPASS)
    assert z.unit == "z" and float(z.fs) == 250.0 and z.signals.shape == (6, 12, 2500)
    np.testing.assert_allclose(z.signals.mean(-1), 0, atol=1e-4)
    np.testing.assert_allclose(z.signals.std(-1), 1, atol=1e-3)


def test_morphology_z_of_a_synthetic_norm_record_is_plausible(bench):
    data = like_ptbxl_2k(load_synthetic(40, fs=250, seconds=10, seed=2, noise=False), BANDPASS)
    x = data.signals[data.labels[:, data.classes.index("NORM")] == 1][0].astype(np.float64)
    m = bench.morphology_z(x)
    assert m is not None
    assert np.all(m["qrs_p2p_z"] > 1) and np.all((m["r_fraction"] >= 0) & (m["r_fraction"] <= 1))
    assert m["r_fraction"][LEADS12.index("aVR")] < 0.5 < m["r_fraction"][LEADS12.index("II")]
    assert 50 <= m["qrs_ms"] <= 130 and 300 <= m["qt_ms"] <= 500 and 40 <= m["heart_rate"] <= 110


def test_corr_difference_is_zero_on_itself_and_names_the_differing_pair(bench):
    a = np.eye(12) + 0.3 * (1 - np.eye(12))
    b = a.copy()
    b[1, 7] = b[7, 1] = -0.5
    assert bench.corr_difference(a, a)[0] == 0
    d, pair = bench.corr_difference(a, b)
    assert d == pytest.approx(2 * 0.8 / 132) and pair == [LEADS12[1], LEADS12[7], 0.3, -0.5]


def test_missing_ptbxl_2k_names_the_path(bench, tmp_path):
    with pytest.raises(MissingFileError, match="no-ptbxl-2k"):
        bench.real_z(tmp_path / "no-ptbxl-2k")


def test_extended_tables_schema_and_sanity(bench):
    if not (ROOT / "ptbxl_2k.npz").exists():
        pytest.skip(f"ptbxl-2k is not at {ROOT} (the real z-unit comparison's data; see ../shared/data/README.md)")
    out = bench.extended(300, seed=3, root=ROOT)
    json.dumps(out)  # serialisable
    morph, inter = out["morphology_z"], out["interlead_by_class"]
    assert set(morph["synthetic"]) == {"v1", "v2"}
    for side in (morph["real"], *morph["synthetic"].values()):
        assert side["records"] > 10
        for k in bench.Z_STATS:
            assert list(side[k]) == list(LEADS12)
            for med, lo, hi in side[k].values():
                assert lo <= med <= hi
        assert 40 <= side["heart_rate"][0] <= 100 and 50 <= side["qrs_ms"][0] <= 130
    # real NORM: R dominant in II and V6, S dominant in aVR and V1 (a normal axis and R progression)
    r = morph["real"]["r_fraction"]
    assert r["II"][0] > 0.7 and r["V6"][0] > 0.7 and r["aVR"][0] < 0.3 and r["V1"][0] < 0.3
    assert morph["real"]["records"] > 500  # NSR-only records of the training part
    assert {"NORM", "AFIB", "CRBBB", "CLBBB", "LAFB", "NST_"} <= set(inter)
    for c, row in inter.items():
        assert set(row["records"]) == {"real", "v1", "v2"} and row["records"]["real"] > 0
        for v in ("v1", "v2"):
            d = row["mean_abs_diff"][v]
            assert d is None or 0 <= d <= 2
    # the real records' two halves agree better than synthetic and real NORM do (big real sample)
    assert inter["NORM"]["real_halves"] < min(inter["NORM"]["mean_abs_diff"].values())
    md = out["markdown_extended"]
    assert "| NORM | NSR only |" in md and "R / (R + S)" in md and md.count("\n| T / QRS peak-to-peak |") == 12
