"""benchmarks/calibration_deep.py: the deep-family calibration table read from two benchmark files."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.errors import ConfigError, MissingFileError
from ecgkd_lite.evaluate.folds import Fold

spec = importlib.util.spec_from_file_location("calibration_deep", REPO_ROOT / "benchmarks" / "calibration_deep.py")
calibration_deep = importlib.util.module_from_spec(spec)
spec.loader.exec_module(calibration_deep)


def _bench(teacher: dict, baseline: dict, n_pool: int = 1000, k: int = 5) -> dict:
    return {
        "n_pool": n_pool,
        "setting": {"k": k, "val_fraction": 0.15, "profile": {"n_records": 6000}},
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


def test_real_fold_sizes_follow_the_pool_k_and_validation_fraction():
    # 1,615 pool records, 5 folds: 1,292 per fold less its test fifth, 15 % of that for validation
    assert calibration_deep.real_fold_sizes(_bench({}, {}, n_pool=1615)) == (1098, 194)
    assert "about 1,098 per real fold" in calibration_deep.markdown([], _bench({}, {}, n_pool=1615), _bench({}, {}))


def test_matched_subset_draws_from_train_and_val_only():
    fold = Fold(0, np.arange(0, 100), np.arange(100, 130), np.arange(130, 200))
    sub = calibration_deep.matched_subset(fold, 40, 10)
    assert len(sub.train) == 40 and len(sub.val) == 10 and np.array_equal(sub.test, fold.test)
    assert set(sub.train) <= set(fold.train) and set(sub.val) <= set(fold.val)
    assert np.all(np.diff(sub.train) > 0)  # sorted, no repeats
    again = calibration_deep.matched_subset(fold, 40, 10)
    assert np.array_equal(sub.train, again.train) and np.array_equal(sub.val, again.val)  # fixed draw
    with pytest.raises(ConfigError, match="n_val=31 is outside 1..30"):
        calibration_deep.matched_subset(fold, 40, 31)


def _part(seed, teacher, baseline):
    return {
        "seed": seed,
        "n_train": 1098,
        "n_val": 194,
        "n_test": 5000,
        "teacher": {"per_class_auc": teacher},
        "baseline": {"per_class_auc": baseline},
    }


def test_pooled_means_the_seeds_and_drops_a_class_missing_in_one():
    parts = [
        _part(0, {"LAFB": 0.90, "1AVB": 0.80}, {"LAFB": 0.70, "1AVB": None}),
        _part(1, {"LAFB": 0.94, "1AVB": 0.84}, {"LAFB": 0.74, "1AVB": 0.70}),
    ]
    out = calibration_deep.pooled(parts)
    assert out["methods"]["teacher"]["per_class_auc"] == {"LAFB": 0.92, "1AVB": 0.82}
    assert out["methods"]["baseline"]["per_class_auc"] == {"LAFB": 0.72}  # 1AVB has no AUC in seed 0
    assert out["methods"]["teacher"]["seeds"] == [0, 1]


def test_matched_markdown_golden():
    real = _bench({"LAnFB": 0.98, "SB": 0.91}, {"LAnFB": 0.70, "SB": 0.93})
    full = calibration_deep.compare(real, _bench({"LAFB": 0.96, "SBRAD": 0.99}, {"LAFB": 0.90, "SBRAD": 0.99}))
    parts = [_part(0, {"LAFB": 0.95, "SBRAD": 0.93}, {"LAFB": 0.70, "SBRAD": 0.95})]
    matched = calibration_deep.compare(real, calibration_deep.pooled(parts))
    text = calibration_deep.matched_markdown(matched, full, parts, real)
    assert "trained on 1,098 v2 records with 194 for validation" in text
    assert "| SBRAD | 0.910 | 0.990 | 0.930 | yes | -0.020 | +0.000 | -0.020 | yes |" in text
    assert "| LAFB | 0.980 | 0.960 | 0.950 | yes | +0.280 | +0.060 | +0.250 | yes |" in text
    assert "Both targets met at the matched size: 2 of 2 classes (SBRAD, LAFB)" in text
    assert "closer to the real one at the real size for 1 of 2 classes (SBRAD)" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--matched", "--seeds", "0,x"], "--seeds='0,x' is not a comma-separated list of integers"),
        (["--matched", "--seeds", "0,1", "--only", "2"], "--only='2' names seeds outside --seeds='0,1'"),
        (["--matched", "--seeds", "-1"], "seeds are >= 0"),
    ],
)
def test_matched_arguments_are_checked(argv, message):
    with pytest.raises(ConfigError, match=message):
        calibration_deep.main(argv)


def test_the_committed_matched_json_matches_its_parts():
    path = REPO_ROOT / "results" / calibration_deep.MATCHED
    if not path.exists():
        pytest.skip(f"{path.name} not yet run (python benchmarks/calibration_deep.py --matched)")
    out = json.loads(path.read_text())
    real = json.loads((REPO_ROOT / "results" / out["sources"]["real"]).read_text())
    parts = [
        json.loads((REPO_ROOT / "results" / out["sources"]["parts"] / f"seed{s}.json").read_text())
        for s in out["seeds"]
    ]
    assert out["per_class"] == calibration_deep.compare(real, calibration_deep.pooled(parts))
    assert (out["n_train"], out["n_val"]) == calibration_deep.real_fold_sizes(real)
