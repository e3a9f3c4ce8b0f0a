"""Argument checks, in one place: integers, counts, seeds, real numbers.

Every public entry point validates its arguments once, with these, so that
errors read alike across the package: the argument's name, the bad value and
what is allowed (``bool`` is refused wherever a number is expected: ``n=True``
is always a mistake). A value of the wrong type raises ``TypeError``, a value
out of range ``ValueError``.

>>> check_int(3, "steps", low=0)
3
>>> check_real(0.5, "fraction", low=0.0, high=1.0, low_open=True)
0.5
"""

from __future__ import annotations

import math
import numbers

__all__ = ["check_count", "check_int", "check_items", "check_real", "check_seed", "check_steps"]


def check_int(value: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer, optionally bounded (inclusive).

    Parameters
    ----------
    value : object
    name : str
        Argument name used in the error message.
    low, high : int or None
        Inclusive bounds; None for none.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools are refused too).
    ValueError
        If it lies outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        if high is None:
            bound = f">= {low}"
        elif low is None:
            bound = f"<= {high}"
        else:
            bound = f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bound}, got {value!r}")
    return int(value)


def _at_least(value: object, name: str, low: int, allowed: str, allowed_types: str | None = None) -> int:
    """``value`` as an int if it is an integer >= ``low``; errors say it must be ``allowed``."""
    # bool is an Integral, but n_train=True is always a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {allowed_types or allowed}, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)


def check_count(value: object, name: str, *, allow_none: bool = False) -> int | None:
    """Validate a sample count: a positive integer (or None when allowed).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Argument name used in the error message.
    allow_none : bool, default False
        Whether ``None`` (meaning "all") is accepted.

    Returns
    -------
    int or None
        ``value`` as a Python int, or None.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools are rejected too).
    ValueError
        If ``value`` is not positive.
    """
    if value is None and allow_none:
        return None
    return _at_least(value, name, 1, "a positive int", "a positive int or None" if allow_none else None)


def check_seed(seed: object, name: str = "seed") -> int:
    """Validate a seed: a non-negative integer (None is refused so that every
    subset and synthetic draw is reproducible).

    Parameters
    ----------
    seed : object
        The value to check.
    name : str, default "seed"
        Argument name used in the error message.

    Returns
    -------
    int
    """
    return _at_least(seed, name, 0, "a non-negative int")


def check_steps(value: object, name: str) -> int:
    """Validate a number of time steps that may be zero (a washout, a lag).

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Argument name used in the error message.

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools are rejected too).
    ValueError
        If ``value`` is negative.
    """
    return _at_least(value, name, 0, "a non-negative int")


def check_real(
    value: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Validate a finite real number, optionally bounded.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        Argument name used in the error message.
    low, high : float or None, default None
        Inclusive bounds (``low`` exclusive when ``low_open``); None for none.
    low_open : bool, default False
        Whether ``value == low`` is refused (for "must be > 0").

    Returns
    -------
    float

    Raises
    ------
    TypeError
        If ``value`` is not a real number (bools are rejected too).
    ValueError
        If ``value`` is not finite or lies outside the bounds.
    """
    if low is None:
        allowed = "a finite number"
    elif high is None:
        allowed = f"a finite number {'>' if low_open else '>='} {low:g}"
    else:
        allowed = f"a finite number in {'(' if low_open else '['}{low:g}, {high:g}]"
    # bool is a Real, but tau=True is always a mistake.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    value = float(value)
    if (
        not math.isfinite(value)
        or (low is not None and (value <= low if low_open else value < low))
        or (high is not None and value > high)
    ):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return value


def check_items(items, kind: type, caller: str, noun: str) -> list:
    """``items`` as a non-empty list of ``kind`` instances.

    Parameters
    ----------
    items : iterable
    kind : type
    caller, noun : str
        For the messages: "``caller`` needs at least one ``noun``",
        "``caller`` expects ``kind`` objects, got ...".

    Raises
    ------
    ValueError
        If ``items`` is empty.
    TypeError
        Naming the type of the first item that is not a ``kind``.
    """
    items = list(items)
    if not items:
        raise ValueError(f"{caller} needs at least one {noun}")
    for item in items:
        if not isinstance(item, kind):
            raise TypeError(f"{caller} expects {kind.__name__} objects, got {type(item).__name__}")
    return items
