"""Shared check of the readers' dataset cache (used by test_ptbxl.py and test_challenge.py)."""

from __future__ import annotations

import numpy as np
import pytest


def _no_parse(*args, **kwargs):
    raise AssertionError("record parsed although cached")


def load_twice_without_parsing(load, module, root, monkeypatch):
    """``load(root)`` fills the cache; with ``module.read_record`` made to raise, a second
    ``load(root)`` must still succeed and return equal arrays, while ``cache=False`` must parse.
    Returns ``(first, second)``; ``module.read_record`` stays patched for further checks."""
    first = load(root)
    monkeypatch.setattr(module, "read_record", _no_parse)
    second = load(root)
    np.testing.assert_array_equal(first.signals, second.signals)
    np.testing.assert_array_equal(first.labels, second.labels)
    np.testing.assert_array_equal(first.folds, second.folds)
    assert second.classes == first.classes and second.preprocessing == first.preprocessing
    with pytest.raises(AssertionError, match="parsed although cached"):
        load(root, cache=False)
    return first, second
