"""Golden cases of the shared argument checks (``ecgkd_lite.checks``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecgkd_lite.checks import (
    check_choice,
    check_fraction,
    check_int,
    check_non_negative,
    check_number,
    check_positive,
)
from ecgkd_lite.errors import ConfigError, ModelError, SplitError


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3), np.uint8(3)])
def test_check_int_accepts_python_and_numpy_integers(value):
    out = check_int("n", value)
    assert out == 3 and type(out) is int


@pytest.mark.parametrize(
    "value", [True, False, np.bool_(True), 2.5, 2.0, np.float64(2.0), "3", None, math.nan, math.inf, -math.inf, [3]]
)
def test_check_int_rejects_non_integers(value):
    with pytest.raises(ConfigError, match=r"^n_records must be an integer; got "):
        check_int("n_records", value)


def test_check_int_bounds_are_inclusive():
    assert check_int("k", 2, low=2, high=5) == 2
    assert check_int("k", 5, low=2, high=5) == 5
    with pytest.raises(ConfigError, match=r"k must be an integer >= 2 and <= 5; got 1"):
        check_int("k", 1, low=2, high=5)
    with pytest.raises(ConfigError, match=r"got 6"):
        check_int("k", 6, low=2, high=5)
    with pytest.raises(ConfigError, match=r"seed must be an integer >= 0; got -1"):
        check_int("seed", -1, low=0)


@pytest.mark.parametrize("value", [0.5, 3, np.float32(0.5), np.int64(3)])
def test_check_number_accepts_real_numbers(value):
    out = check_number("x", value)
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [True, "3", None, math.nan, np.nan, math.inf, -math.inf, 1 + 2j])
def test_check_number_rejects_non_numbers_nan_and_inf(value):
    with pytest.raises(ConfigError, match=r"^lr must be a finite number; got "):
        check_number("lr", value)


def test_check_number_infinity_only_when_asked_and_nan_never():
    assert check_number("x", math.inf, finite=False) == math.inf
    with pytest.raises(ConfigError, match=r"x must be a number; got nan"):
        check_number("x", math.nan, finite=False)


def test_check_number_bounds_open_and_closed():
    assert check_number("x", 0, low=0) == 0.0
    with pytest.raises(ConfigError, match=r"^x must be > 0 \(a finite number\); got 0$"):
        check_number("x", 0, low=0, low_open=True)
    with pytest.raises(ConfigError, match=r"^x must be >= 1 and <= 2 \(a finite number\); got 2.5$"):
        check_number("x", 2.5, low=1, high=2)


def test_positive_non_negative_and_fraction():
    assert check_positive("temperature", 0.1) == 0.1
    for bad in (0, -1.0, True, math.nan):
        with pytest.raises(ConfigError, match="temperature"):
            check_positive("temperature", bad)
    assert check_non_negative("weight_decay", 0) == 0.0
    with pytest.raises(ConfigError, match=r"^weight_decay must be >= 0 \(a finite number\); got -0.1$"):
        check_non_negative("weight_decay", -0.1)
    assert check_fraction("ratio", 0) == 0.0 and check_fraction("ratio", 1) == 1.0
    with pytest.raises(ConfigError, match=r"^ratio must be > 0 and <= 1 \(a finite number\); got 0$"):
        check_fraction("ratio", 0, open_low=True)
    with pytest.raises(ConfigError, match="ratio"):
        check_fraction("ratio", 1.01)


def test_check_choice_lists_the_choices():
    assert check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ConfigError, match=r"mode 'c' is unknown; choose one of \['a', 'b'\]"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(ConfigError, match="mode"):  # unhashable value asked of a set
        check_choice("mode", ["a"], {"a", "b"})


@pytest.mark.parametrize(
    "call",
    [
        lambda e: check_int("width", True, error=e),
        lambda e: check_number("x", math.nan, error=e),
        lambda e: check_positive("x", 0, error=e),
        lambda e: check_non_negative("x", -1, error=e),
        lambda e: check_fraction("x", 2, error=e),
        lambda e: check_choice("x", "z", ("a",), error=e),
    ],
)
@pytest.mark.parametrize("error", [ModelError, SplitError])
def test_custom_error_type(call, error):
    with pytest.raises(error) as info:
        call(error)
    assert type(info.value) is error
