"""benchmarks/calibration_deep.py: the deep-family calibration table read from two benchmark files."""

from __future__ import annotations

import importlib.util
import json

import pytest

from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.errors import MissingFileError

spec = importlib.util.spec_from_file_location("calibration_deep", REPO_ROOT / "benchmarks" / "calibration_deep.py")
calibration_deep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(calibration_deep)


def _bench(teacher: dict, baseline: dict, n_pool: int = 1000, k: int = 5) -> dict:
    return {
        "n_pool": n_pool,
        "setting": {"k": k},
        "methods": {
            "teacher": {"per_class_auc": teacher, "seeds": [0, 1, 2]},
            "baseline": {"per_class_auc": baseline, "seeds": [0, 1, 2]},
        },
    }


def test_golden_rows_stand_ins_and_tolerance():
    real = _bench(
        {"LAnFB": 0.98, "IAVB": 0.90, "LPR": 0.88, "SB": 0.91}, {"LAnFB": 0.70, "IAVB": 0.87, "LPR": 0.9, "SB": 0.93}
    )
    syn = _bench({"LAFB": 0.96, "1AVB": 0.97, "SBRAD": 0.95}, {"LAFB": 0.90, "1AVB": 0.93, "SBRAD": 0.96}, k=1)
    rows = {r["class"]: r for r in calibration_deep.compare(real, syn)}
    assert set(rows) == {"LAFB", "1AVB", "SBRAD"}  # NORM / AMI have no counterpart; absent classes skipped
    lafb = rows["LAFB"]
    assert lafb["real_gap"] == pytest.approx(0.28) and lafb["synthetic_gap"] == pytest.approx(0.06)
    assert lafb["teacher_within"] and not lafb["gap_within"]
    assert rows["1AVB"]["real_class"] == "IAVB"  # the first CinC class stands in for IAVB + LPR
    assert not rows["1AVB"]["teacher_within"]  # 0.97 vs 0.90
    assert rows["SBRAD"]["gap_within"] and rows["SBRAD"]["teacher_within"]  # -0.01 vs -0.02; 0.95 vs 0.91
    text = calibration_deep.markdown(list(rows.values()), real, syn)
    assert "| LAFB | LAnFB | 0.980 | 0.960 | yes | +0.280 | +0.060 | no |" in text
    assert "IAVB (for IAVB+LPR)" in text and "Both targets met: 1 of 3 classes (SBRAD)" in text


def test_the_committed_json_matches_its_sources():
    out = json.loads((REPO_ROOT / "results" / "calibration_synthetic_deep.json").read_text())
    real = json.loads((REPO_ROOT / "results" / out["sources"]["real"]).read_text())
    syn = json.loads((REPO_ROOT / "results" / out["sources"]["synthetic"]).read_text())
    assert out["per_class"] == calibration_deep.compare(real, syn)
    assert out["markdown"] == calibration_deep.markdown(out["per_class"], real, syn)


def test_a_missing_source_is_named(tmp_path):
    with pytest.raises(MissingFileError, match="bench_quality_ptbxl2k.json: does not exist"):
        calibration_deep.main(["--results", str(tmp_path)])
