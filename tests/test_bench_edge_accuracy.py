"""benchmarks/bench_edge.py: the records the int8 accuracy change is scored on (accuracy_prep)."""

from __future__ import annotations

import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

from ecgkd_lite.bench import cv
from ecgkd_lite.config import REPO_ROOT
from ecgkd_lite.errors import ConfigError, SplitError

spec = importlib.util.spec_from_file_location("bench_edge", REPO_ROOT / "benchmarks" / "bench_edge.py")
bench_edge = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench_edge)


def _split(ids):
    return SimpleNamespace(record_ids=np.asarray(ids, dtype=str))


def _prep(train, val, test, source="synthetic_v2"):
    return SimpleNamespace(source=source, train=_split(train), val=_split(val), test=_split(test))


QUICK = _prep(["a", "b", "c"], ["d"], ["e"])


def test_quick_scores_on_the_prep_itself():
    assert bench_edge.accuracy_prep(QUICK, "quick") is QUICK


def test_converged_swaps_in_the_new_test_records(monkeypatch):
    converged = _prep(["a", "b", "c"], ["d"], ["x", "y", "z"])
    asked = []
    monkeypatch.setattr(cv, "converged_prep", lambda source: asked.append(source) or converged)
    assert bench_edge.accuracy_prep(QUICK, "converged") is converged
    assert asked == ["synthetic_v2"]  # the same generator as the students' data


@pytest.mark.parametrize(
    ("converged", "message"),
    [
        (_prep(["a", "b", "q"], ["d"], ["x"]), "converged split's train records are not the quick data's"),
        (_prep(["a", "b", "c"], ["q"], ["x"]), "converged split's val records are not the quick data's"),
        (_prep(["a", "b", "c"], ["d"], ["x", "b"]), "shares records with the students' training records"),
    ],
)
def test_a_converged_split_that_could_leak_is_refused(monkeypatch, converged, message):
    monkeypatch.setattr(cv, "converged_prep", lambda source: converged)
    with pytest.raises(SplitError, match=message):
        bench_edge.accuracy_prep(QUICK, "converged")


def test_bad_choices_are_named():
    with pytest.raises(ConfigError, match="--accuracy-test='holdout' is unknown"):
        bench_edge.accuracy_prep(QUICK, "holdout")
    with pytest.raises(ConfigError, match="data 'ptbxl' has no converged split"):
        bench_edge.accuracy_prep(_prep(["a"], ["b"], ["c"], source="ptbxl"), "converged")
