"""Argument checks shared by the neural-CA modules (errors name the bad value)."""

from __future__ import annotations


def positive_int(value, name: str) -> int:
    """``value`` if it is an integer >= 1 (not a bool), else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value
