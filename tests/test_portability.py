"""The shipped runs match their data when it is rebuilt under other numeric back ends.

Runs ``scripts/check_portability.py`` for the combined configuration (torch without vector
kernels, numpy without AVX-512, OpenBLAS Haswell kernels, one torch thread) in a fresh process with
an empty cache: every shipped run must find its data by key, and the data must match the run's
stored digest up to float noise. About a minute on 2 cores (the quick data set and its restored
leads are rebuilt).
"""

from __future__ import annotations

import importlib.util
import json

from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.train.pretrained import PRETRAINED_DIR


def _script():
    spec = importlib.util.spec_from_file_location("check_portability", REPO_ROOT / "scripts" / "check_portability.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_shipped_run_finds_its_data_on_an_emulated_cpu():
    shipped = sorted(p.parent.name for p in PRETRAINED_DIR.glob("*/best.pt.json"))
    assert shipped, f"no shipped runs under {PRETRAINED_DIR}"
    report = _script().run_config("all", _script().CONFIGS["all"])
    assert "error" not in report, report.get("error")
    assert report["torch_capability"] == "DEFAULT" and report["threads"] == 1
    assert sorted(report["runs"]) == shipped
    bad = {run: v for run, v in report["runs"].items() if not v["ok"]}
    assert not bad, json.dumps(bad, indent=1)
