"""One home for argument checks: the same rules and the same wording everywhere."""

import doctest
import math
import re

import numpy as np
import pytest

import pixelflow.checks
from pixelflow.checks import check_count, check_int, check_real, check_seed, check_steps


def test_integers_are_returned_as_python_ints_and_bools_refused():
    assert check_int(np.int64(3), "n", low=0) == 3 and type(check_int(np.int64(3), "n")) is int
    for bad in (True, 2.0, "2", None, np.float32(1)):
        with pytest.raises(TypeError, match=re.escape(f"n must be an integer, got {bad!r}")):
            check_int(bad, "n")


@pytest.mark.parametrize("value, low, high, allowed", [
    (-1, 0, None, ">= 0"), (11, None, 10, "<= 10"), (0, 1, 5, r"in \[1, 5\]"), (6, 1, 5, r"in \[1, 5\]"),
])
def test_integer_bounds_are_inclusive_and_named(value, low, high, allowed):
    with pytest.raises(ValueError, match=rf"k must be an integer {allowed}, got {value}"):
        check_int(value, "k", low=low, high=high)
    for ok in (low, high):
        if ok is not None:
            assert check_int(ok, "k", low=low, high=high) == ok


def test_counts_seeds_and_steps():
    assert check_count(None, "n", allow_none=True) is None and check_count(5, "n") == 5
    with pytest.raises(ValueError, match="n must be a positive int, got 0"):
        check_count(0, "n")
    with pytest.raises(TypeError, match="n must be a positive int or None"):
        check_count(1.5, "n", allow_none=True)
    assert check_seed(0) == 0 and check_steps(0, "lag") == 0
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        check_seed(-1)
    with pytest.raises(TypeError):
        check_seed(None)
    with pytest.raises(ValueError, match="lag"):
        check_steps(-1, "lag")


def test_reals_are_finite_and_bounded_with_open_ends():
    assert check_real(1, "x") == 1.0 and isinstance(check_real(1, "x"), float)
    with pytest.raises(ValueError, match=r"x must be a finite number in \(0, 1\], got 0.0"):
        check_real(0.0, "x", low=0.0, high=1.0, low_open=True)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="x must be a finite number"):
            check_real(bad, "x")
    with pytest.raises(TypeError, match="x must be a finite number, got True"):
        check_real(True, "x")


def test_docstring_examples_run():
    result = doctest.testmod(pixelflow.checks)
    assert result.attempted >= 2 and result.failed == 0


def test_a_list_of_items_of_one_kind():
    from pixelflow.checks import check_items

    assert check_items(iter([1, 2]), int, "f", "number") == [1, 2]
    with pytest.raises(ValueError, match="^f needs at least one number$"):
        check_items([], int, "f", "number")
    with pytest.raises(TypeError, match="^f expects int objects, got str$"):
        check_items([1, "2"], int, "f", "number")
