"""benchmarks/calibration_synthetic.py on a small sample: the real ptbxl-2k training part (skipped when
../shared/data/ptbxl-2k is absent) against 400 v2 synthetic records, 3 folds; checks the output schema,
that the real test split is never read, and a loose tolerance (the full-size run is in
results/calibration_synthetic.json)."""

from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from ecgkd_lite.config import REPO_ROOT, shared_data_dir
from ecgkd_lite.errors import MissingFileError

ROOT = shared_data_dir() / "ptbxl-2k"


def _script():
    spec = importlib.util.spec_from_file_location(
        "calibration_synthetic", REPO_ROOT / "benchmarks" / "calibration_synthetic.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_missing_data_folder_names_the_path(tmp_path):
    missing = tmp_path / "no-ptbxl-2k"
    with pytest.raises(MissingFileError, match="no-ptbxl-2k"):
        _script().main(["--root", str(missing), "--n-records", "50", "--json", "", "--quiet"])


def test_small_calibration_run_schema_and_loose_tolerance(tmp_path):
    if not (ROOT / "ptbxl_2k.npz").exists():
        pytest.skip(f"ptbxl-2k is not at {ROOT} (the real calibration data; see ../shared/data/README.md)")
    out_path = tmp_path / "cal.json"
    mod = _script()
    argv = [
        "--n-records",
        "400",
        "--k",
        "3",
        "--n-boot",
        "50",
        "--check-seeds",
        "1",
        "--json",
        str(out_path),
        "--quiet",
    ]
    out = mod.main(argv)
    assert json.loads(out_path.read_text()) == out  # strict JSON (no NaN) and what main returned
    assert out["family"].startswith("FeatureLogistic")
    assert out["real"]["records"] == 1615  # the labelled train + val records; the 190 test records are never read
    assert out["synthetic"]["records"] == 400 and out["synthetic"]["replicates"] == [400]
    classes = [r["class"] for r in out["per_class"]]
    assert classes == ["SBRAD", "STACH", "AFIB", "1AVB", "CRBBB", "CLBBB", "LAFB", "NST_", "LNGQT", "LVOLT"]
    assert out["mapping"]["AFIB"] == ["AF", "AFL"] and out["not_calibrated"]["PVC"] == "no positive in ptbxl-2k"
    keys = {
        "real_gap",
        "synthetic_gap",
        "real_teacher_auc",
        "synthetic_teacher_auc",
        "real_lead_I_auc",
        "synthetic_lead_I_auc",
        "real_positives",
        "synthetic_positives",
        "gap_within",
        "teacher_within",
        "meets_both",
    }
    for r in out["per_class"]:
        assert keys <= set(r), r["class"]
        assert r["meets_both"] == (r["gap_within"] and r["teacher_within"])
        assert ("miss_reason" in r) == (not r["meets_both"])
        if r["real_gap"] is not None and r["real_teacher_auc"] is not None:
            assert r["real_gap"] == pytest.approx(r["real_teacher_auc"] - r["real_lead_I_auc"], abs=2e-4)
    assert set(out["seed_check"]) == {"1"} and set(out["seed_check"]["1"]) == set(classes)
    for r in out["per_class"]:
        again = out["seed_check"]["1"][r["class"]]
        assert r["meets_both_every_seed"] == (r["meets_both"] and again["teacher_within"] and again["gap_within"])
    assert "| class |" in out["markdown"] and all(c in out["markdown"] for c in classes)
    rows = {r["class"]: r for r in out["per_class"]}
    # loose tolerance on a small sample: the common, well-seen classes land near the real teacher AUC
    for c in ("AFIB", "CLBBB", "NST_"):
        assert abs(rows[c]["synthetic_teacher_auc"] - rows[c]["real_teacher_auc"]) < 0.2, c
        assert abs(rows[c]["synthetic_gap"] - rows[c]["real_gap"]) < 0.2, c
    real = out["real_measurement"]
    assert all(np.isfinite(real[c]["teacher_auc"]) for c in ("AFIB", "LAFB", "CLBBB"))
