"""Argument checks shared by every layer: one helper per kind of value, each raising the caller's
typed error (``ConfigError`` by default) that names the argument and what it received.

``True`` is not an integer and ``2.5`` (or ``2.0``) is not an integer here, although Python's
``isinstance(True, int)`` says otherwise; NaN and infinity are refused as numbers unless asked for.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Collection

from .errors import ConfigError, ECGKDError


def _range_text(low, high, low_open: bool) -> str:
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low}")
    if high is not None:
        parts.append(f"<= {high}")
    return " and ".join(parts)


def check_int(
    name: str, value: Any, *, low: int | None = None, high: int | None = None, error: type[ECGKDError] = ConfigError
) -> int:
    """``int(value)`` when ``value`` is an integer (Python or NumPy, not a bool, not a float) in
    ``[low, high]``; else ``error`` naming ``name``."""
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and low is not None and value < low:
        ok = False
    if ok and high is not None and value > high:
        ok = False
    if not ok:
        bounds = _range_text(low, high, False)
        raise error(f"{name} must be an integer{' ' + bounds if bounds else ''}; got {value!r}")
    return int(value)


def check_number(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    finite: bool = True,
    error: type[ECGKDError] = ConfigError,
) -> float:
    """``float(value)`` when ``value`` is a real number (not a bool, not a string) in the range
    (``low_open``: strictly above ``low``); NaN always refused, infinity unless ``finite=False``."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        v = float(value)
        ok = not math.isnan(v) and (not finite or math.isfinite(v))
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v <= high
    if not ok:
        bounds = _range_text(low, high, low_open)
        kind = "a finite number" if finite else "a number"
        raise error(f"{name} must be {bounds + f' ({kind})' if bounds else kind}; got {value!r}")
    return float(value)


def check_positive(name: str, value: Any, *, error: type[ECGKDError] = ConfigError) -> float:
    """A finite number > 0 (temperatures, learning rates, epsilons)."""
    return check_number(name, value, low=0, low_open=True, error=error)


def check_non_negative(name: str, value: Any, *, error: type[ECGKDError] = ConfigError) -> float:
    """A finite number >= 0 (loss weights, weight decay)."""
    return check_number(name, value, low=0, error=error)


def check_fraction(name: str, value: Any, *, open_low: bool = False, error: type[ECGKDError] = ConfigError) -> float:
    """A number in [0, 1] (``open_low``: in (0, 1])."""
    return check_number(name, value, low=0, high=1, low_open=open_low, error=error)


def check_choice(name: str, value: Any, choices: Collection, *, error: type[ECGKDError] = ConfigError):
    """``value`` when it is one of ``choices``; else ``error`` listing them."""
    try:
        ok = value in choices
    except TypeError:  # an unhashable value asked of a set
        ok = False
    if not ok:
        raise error(f"{name} {value!r} is unknown; choose one of {list(choices)}")
    return value
