"""Intervals and paired tests for classifiers' accuracies on one test set.

What a results table needs beyond a bare accuracy: a confidence interval for
each accuracy (:func:`wilson_interval`, :func:`accuracy_interval`), a paired
test and a paired interval for the difference between two classifiers scored
on the same test items (:func:`mcnemar`, :func:`bootstrap_difference`), the
spread of a score over independent seeds (:func:`seed_spread`) and a
correction for a family of tests (:func:`holm`).

Two classifiers scored on the same items are paired: an item one gets right is
likely easy for the other too, so their accuracies are correlated and
comparing two independent intervals overstates the uncertainty of the
difference. The paired functions look only at items where the two disagree
(:func:`mcnemar`) or resample whole items (:func:`bootstrap_difference`).

>>> y = [0, 1, 1, 0, 1, 0, 1, 1, 0, 1]
>>> a = [0, 1, 1, 0, 1, 0, 1, 0, 0, 1]
>>> b = [0, 1, 0, 0, 1, 1, 0, 0, 0, 1]
>>> accuracy_interval(y, a)["accuracy"], mcnemar(y, a, b)["b_only"]
(0.9, 0)
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import binom, norm
from scipy.stats import t as student_t

from pixelflow.checks import check_count, check_int, check_real, check_seed

__all__ = ["accuracy_interval", "bootstrap_difference", "holm", "mcnemar", "seed_spread", "wilson_interval"]

# Resample indices drawn at once by bootstrap_difference (int64: 32 MiB). The
# draws are the same whatever the chunking, so this bounds memory only.
BOOTSTRAP_CHUNK_INDICES = 1 << 22

_STRINGS = frozenset("US")
_NUMBERS = frozenset("biuf")


def _check_confidence(confidence: object) -> float:
    confidence = check_real(confidence, "confidence")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be a fraction in (0, 1), e.g. 0.95 for 95 %, got {confidence!r}")
    return confidence


def _labels(values: object, name: str) -> np.ndarray:
    """``values`` as a non-empty 1-D array of labels, one per test item."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, one label per test item, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: there must be at least one test item")
    return array


def _paired(y_true: object, **predictions: object) -> tuple[np.ndarray, ...]:
    """Each prediction's correctness (bool arrays) against ``y_true``, after checking shapes and label kinds."""
    truth = _labels(y_true, "y_true")
    correct = []
    for name, values in predictions.items():
        pred = _labels(values, name)
        if pred.shape[0] != truth.shape[0]:
            raise ValueError(f"y_true and {name} must have the same length, got {truth.shape[0]} and {pred.shape[0]}")
        kinds = {truth.dtype.kind, pred.dtype.kind}
        # A string label never equals a number (nor bytes a str): every item would count as wrong.
        if (kinds & _STRINGS and kinds & _NUMBERS) or kinds == _STRINGS:
            raise TypeError(f"y_true and {name} hold labels of different kinds ({truth.dtype} and {pred.dtype}), "
                            "which never compare equal; convert one to the other's type")
        correct.append(np.asarray(truth == pred, dtype=bool))
    return tuple(correct)


def _reals(values: object, name: str) -> np.ndarray:
    """``values`` as a non-empty 1-D float64 array of finite numbers."""
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got an array of dtype {array.dtype}")
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got an array of shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"{name} is empty: there must be at least one value")
    array = array.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(f"{name} must be finite, got {float(array[bad[0]])!r} at index {int(bad[0])}")
    return array


def wilson_interval(correct: int, total: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion, such as an accuracy.

    The set of proportions ``p`` that a two-sided score test at level
    ``1 - confidence`` does not reject for ``correct`` successes out of
    ``total``. Unlike the normal-approximation interval it stays within
    [0, 1] and does not collapse to a point at 0 or ``total`` successes.

    Parameters
    ----------
    correct : int
        Number of successes, 0 to ``total``.
    total : int
        Number of trials, at least 1.
    confidence : float, default 0.95
        Coverage, a fraction in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)``, fractions with ``0 <= low <= correct / total <= high <= 1``.

    Raises
    ------
    TypeError
        If a count is not an integer (bools are refused) or ``confidence`` is not a number.
    ValueError
        If ``total < 1``, ``correct`` is outside [0, ``total``] or ``confidence`` is outside (0, 1).

    References
    ----------
    E. B. Wilson, "Probable inference, the law of succession, and statistical
    inference", JASA 22 (1927). R. G. Newcombe, "Two-sided confidence intervals
    for the single proportion", Statistics in Medicine 17 (1998).

    Examples
    --------
    >>> [round(x, 4) for x in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    >>> low, high = wilson_interval(0, 10)
    >>> low, round(high, 4)
    (0.0, 0.2775)
    """
    total = check_int(total, "total", low=1)
    correct = check_int(correct, "correct")
    if not 0 <= correct <= total:
        raise ValueError(f"correct must be between 0 and total ({total}), got {correct}")
    confidence = _check_confidence(confidence)
    z = float(norm.ppf(0.5 + confidence / 2))
    z2 = z * z
    root = z * math.sqrt(z2 + 4.0 * correct * (total - correct) / total)
    denominator = 2.0 * (total + z2)
    low = 0.0 if correct == 0 else max(0.0, (2.0 * correct + z2 - root) / denominator)
    high = 1.0 if correct == total else min(1.0, (2.0 * correct + z2 + root) / denominator)
    return low, high


def accuracy_interval(y_true, y_pred, confidence: float = 0.95) -> dict:
    """Accuracy on a test set with its Wilson score interval.

    Parameters
    ----------
    y_true, y_pred : array_like
        1-D, one label per test item, of equal length; any label type
        (integers, strings, ...) that compares with ``==``.
    confidence : float, default 0.95
        Coverage of the interval, a fraction in (0, 1).

    Returns
    -------
    dict
        ``accuracy`` (fraction), ``correct`` and ``total`` (counts), ``low``
        and ``high`` (the interval, fractions; see :func:`wilson_interval`).

    Raises
    ------
    ValueError
        If an input is empty or not 1-D, the lengths differ, or ``confidence`` is outside (0, 1).
    TypeError
        If one input holds strings and the other numbers (they would never match).

    Examples
    --------
    >>> r = accuracy_interval(["cat", "dog", "dog", "cat"], ["cat", "dog", "cat", "cat"])
    >>> r["accuracy"], r["correct"], r["total"]
    (0.75, 3, 4)
    >>> r["low"] < 0.75 < r["high"]
    True
    """
    confidence = _check_confidence(confidence)
    (right,) = _paired(y_true, y_pred=y_pred)
    correct, total = int(right.sum()), int(right.size)
    low, high = wilson_interval(correct, total, confidence)
    return {"accuracy": correct / total, "correct": correct, "total": total, "low": low, "high": high}


def mcnemar(y_true, pred_a, pred_b) -> dict:
    """Exact McNemar test of two classifiers scored on the same test items.

    Only the items where exactly one classifier is right carry information
    about which is better. Under the null hypothesis of equal accuracy each
    such item is equally likely to favour either, so ``a_only`` is
    Binomial(``a_only + b_only``, 1/2); the two-sided p-value is
    ``min(1, 2 P[X <= min(a_only, b_only)])``, and 1 when they never disagree.

    Parameters
    ----------
    y_true, pred_a, pred_b : array_like
        1-D, one label per test item, of equal length.

    Returns
    -------
    dict
        ``n`` (items), ``a_only`` (items a gets right and b wrong),
        ``b_only`` (b right, a wrong), ``accuracy_a``, ``accuracy_b``,
        ``difference`` (``accuracy_a - accuracy_b``, a fraction),
        ``p_value`` and ``method`` (``"exact"``).

    Raises
    ------
    ValueError
        If an input is empty or not 1-D, or the lengths differ.
    TypeError
        If the truth and a prediction hold labels of different kinds (strings and numbers).

    References
    ----------
    Q. McNemar, "Note on the sampling error of the difference between
    correlated proportions or percentages", Psychometrika 12 (1947).
    T. G. Dietterich, "Approximate statistical tests for comparing supervised
    classification learning algorithms", Neural Computation 10 (1998).

    Examples
    --------
    >>> y = [0] * 20
    >>> a = [0] * 18 + [1, 1]
    >>> b = [1] * 8 + [0] * 12
    >>> r = mcnemar(y, a, b)
    >>> r["a_only"], r["b_only"], r["difference"]
    (8, 2, 0.3)
    >>> round(r["p_value"], 4)
    0.1094
    """
    right_a, right_b = _paired(y_true, pred_a=pred_a, pred_b=pred_b)
    n = int(right_a.size)
    a_only = int(np.count_nonzero(right_a & ~right_b))
    b_only = int(np.count_nonzero(right_b & ~right_a))
    correct_a, correct_b = int(right_a.sum()), int(right_b.sum())
    discordant = a_only + b_only
    p_value = 1.0 if discordant == 0 else min(1.0, 2.0 * float(binom.cdf(min(a_only, b_only), discordant, 0.5)))
    return {
        "n": n,
        "a_only": a_only,
        "b_only": b_only,
        "accuracy_a": correct_a / n,
        "accuracy_b": correct_b / n,
        "difference": (correct_a - correct_b) / n,
        "p_value": p_value,
        "method": "exact",
    }


def bootstrap_difference(y_true, pred_a, pred_b, n_boot: int = 10_000, confidence: float = 0.95,
                         seed: int = 0) -> dict:
    """Paired bootstrap interval for the accuracy difference of two classifiers.

    Resamples test items with replacement, the same items for both
    classifiers, and takes the percentile interval of the resampled
    differences ``accuracy_a - accuracy_b``. Each resample is the mean of the
    per-item difference of correctness (-1, 0 or 1) over the drawn items.

    Parameters
    ----------
    y_true, pred_a, pred_b : array_like
        1-D, one label per test item, of equal length.
    n_boot : int, default 10_000
        Number of resamples, at least 1.
    confidence : float, default 0.95
        Coverage of the interval, a fraction in (0, 1).
    seed : int, default 0
        Seed of the resampling (``numpy.random.default_rng``); a non-negative int.
        The same seed gives the same interval, whatever the memory available.

    Returns
    -------
    dict
        ``difference`` (on the whole test set, a fraction), ``low`` and
        ``high`` (the percentile interval), ``n_boot`` and ``seed``.

    Raises
    ------
    ValueError
        If an input is empty or not 1-D, the lengths differ, ``n_boot < 1``,
        ``seed < 0`` or ``confidence`` is outside (0, 1).
    TypeError
        If ``n_boot`` or ``seed`` is not an integer, or the labels' kinds differ (strings and numbers).

    Notes
    -----
    Resample indices are drawn a chunk at a time (at most
    ``BOOTSTRAP_CHUNK_INDICES`` indices), so memory stays bounded for large
    test sets; the draws do not depend on the chunking.

    References
    ----------
    B. Efron and R. J. Tibshirani, "An Introduction to the Bootstrap" (1993).

    Examples
    --------
    >>> y = [0] * 20
    >>> a = [0] * 18 + [1, 1]
    >>> b = [1] * 8 + [0] * 12
    >>> r = bootstrap_difference(y, a, b, n_boot=2000, seed=1)
    >>> r["difference"], r["n_boot"], r["seed"]
    (0.3, 2000, 1)
    >>> r["low"] <= r["difference"] <= r["high"]
    True
    """
    n_boot = check_count(n_boot, "n_boot")
    confidence = _check_confidence(confidence)
    seed = check_seed(seed)
    right_a, right_b = _paired(y_true, pred_a=pred_a, pred_b=pred_b)
    per_item = right_a.astype(np.int8) - right_b.astype(np.int8)
    n = int(per_item.size)
    sums = np.empty(n_boot, dtype=np.int64)
    rng = np.random.default_rng(seed)
    rows = max(1, BOOTSTRAP_CHUNK_INDICES // n)
    for start in range(0, n_boot, rows):
        stop = min(n_boot, start + rows)
        index = rng.integers(0, n, size=(stop - start, n))
        sums[start:stop] = per_item[index].sum(axis=1, dtype=np.int64)
    alpha = 1.0 - confidence
    low, high = np.quantile(sums / n, [alpha / 2, 1.0 - alpha / 2])
    return {
        "difference": int(per_item.sum(dtype=np.int64)) / n,
        "low": float(low),
        "high": float(high),
        "n_boot": n_boot,
        "seed": seed,
    }


def seed_spread(values, confidence: float = 0.95) -> dict:
    """Mean of a score over independent seeds, its spread and a Student-t interval of the mean.

    Parameters
    ----------
    values : array_like
        1-D, one finite score per seed (e.g. the test accuracy of each run).
    confidence : float, default 0.95
        Coverage of the interval, a fraction in (0, 1).

    Returns
    -------
    dict
        ``mean``, ``std`` (sample standard deviation, ``ddof=1``), ``n``
        (number of values), ``low`` and ``high`` (``mean -/+ t * std /
        sqrt(n)`` with ``t`` the Student-t quantile on ``n - 1`` degrees of
        freedom).

    Raises
    ------
    TypeError
        If ``values`` does not hold real numbers (bools are refused).
    ValueError
        If ``values`` is empty, not 1-D, or holds a NaN or an infinity, or
        ``confidence`` is outside (0, 1).

    Notes
    -----
    One value has no spread estimate: for ``n = 1`` this returns ``std = 0.0``
    and the interval ``(mean, mean)`` rather than NaN, which is not a
    statement that the score is certain. Report ``n`` with the interval.

    Examples
    --------
    >>> r = seed_spread([0.5, 0.75, 1.0])
    >>> r["mean"], r["std"], r["n"]
    (0.75, 0.25, 3)
    >>> round(r["low"], 4), round(r["high"], 4)
    (0.129, 1.371)
    >>> seed_spread([0.9])
    {'mean': 0.9, 'std': 0.0, 'n': 1, 'low': 0.9, 'high': 0.9}
    """
    confidence = _check_confidence(confidence)
    array = _reals(values, "values")
    n = int(array.size)
    mean = float(array.mean())
    if n == 1:
        return {"mean": mean, "std": 0.0, "n": 1, "low": mean, "high": mean}
    std = float(array.std(ddof=1))
    half = float(student_t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "n": n, "low": mean - half, "high": mean + half}


def holm(p_values) -> list[float]:
    """Holm-Bonferroni adjusted p-values for a family of tests.

    The ``i``-th smallest of ``m`` p-values is multiplied by ``m - i + 1``
    (``i`` from 1), the running maximum is taken so that the adjusted values
    keep the order of the raw ones, and the result is capped at 1. Rejecting
    every test whose adjusted p-value is at most ``alpha`` controls the
    family-wise error rate at ``alpha``.

    Parameters
    ----------
    p_values : array_like
        1-D, at least one p-value, each in [0, 1].

    Returns
    -------
    list of float
        Adjusted p-values, in the order given.

    Raises
    ------
    TypeError
        If the values are not real numbers.
    ValueError
        If there are none, they are not 1-D, or one lies outside [0, 1].

    References
    ----------
    S. Holm, "A simple sequentially rejective multiple test procedure",
    Scandinavian Journal of Statistics 6 (1979).

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03])
    [0.03, 0.06, 0.06]
    """
    p = _reals(p_values, "p_values")
    outside = np.flatnonzero((p < 0.0) | (p > 1.0))
    if outside.size:
        raise ValueError(f"p_values must lie in [0, 1], got {float(p[outside[0]])!r} at index {int(outside[0])}")
    m = p.size
    order = np.argsort(p, kind="stable")
    adjusted = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adjusted
    return [float(x) for x in out]
