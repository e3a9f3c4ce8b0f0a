"""Intervals and paired tests for comparing classifiers on one test set (pixelflow.significance)."""

import doctest
import math
import tracemalloc
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

import pixelflow.significance as significance
from pixelflow.significance import (
    accuracy_interval,
    bootstrap_difference,
    holm,
    mcnemar,
    seed_spread,
    wilson_interval,
)


def z_of(confidence):
    """The two-sided normal quantile, from the standard library (not the code under test's scipy call)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_by_quadratic(k, n, confidence):
    """The Wilson interval as the roots in p of (k/n - p)^2 = z^2 p (1 - p) / n."""
    z2 = z_of(confidence) ** 2
    phat = k / n
    roots = np.roots([1 + z2 / n, -(2 * phat + z2 / n), phat**2])
    low, high = sorted(float(np.real(r)) for r in roots)
    return low, high


def paired_case(a_only, b_only, both_right, both_wrong, n_classes=3, seed=0):
    """Labels for a multiclass test set with the given concordance counts, items shuffled.

    Where both classifiers are wrong they predict *different* wrong labels, so a test
    that counted disagreements instead of right/wrong would be caught.
    """
    y = np.zeros(a_only + b_only + both_right + both_wrong, dtype=np.int64)
    a = np.concatenate([np.zeros(a_only), np.ones(b_only), np.zeros(both_right), np.ones(both_wrong)])
    b = np.concatenate([np.ones(a_only), np.zeros(b_only), np.zeros(both_right), np.full(both_wrong, 2)])
    order = np.random.default_rng(seed).permutation(y.size)
    return y[order], a[order].astype(np.int64) % n_classes, b[order].astype(np.int64) % n_classes


# ---------------------------------------------------------------- Wilson


def test_wilson_at_zero_successes_is_the_closed_form():
    z2 = z_of(0.95) ** 2
    low, high = wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(z2 / (10 + z2), abs=1e-12)
    assert round(high, 4) == 0.2775


def test_wilson_at_all_successes_mirrors_zero():
    z2 = z_of(0.95) ** 2
    low, high = wilson_interval(10, 10)
    assert high == 1.0
    assert low == pytest.approx(10 / (10 + z2), abs=1e-12)
    assert low == pytest.approx(1 - wilson_interval(0, 10)[1], abs=1e-12)


def test_wilson_at_one_half_is_symmetric_with_the_hand_values():
    z = z_of(0.95)
    half = z / (1 + z * z / 10) * math.sqrt(0.25 / 10 + z * z / 400)
    low, high = wilson_interval(5, 10)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half), abs=1e-12)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)


def test_wilson_matches_the_newcombe_1998_example():
    """81 of 263: 0.2553 to 0.3662 (Newcombe 1998, Table I, the score method)."""
    low, high = wilson_interval(81, 263)
    assert (round(low, 4), round(high, 4)) == (0.2553, 0.3662)


@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize("k,n", [(1, 10), (3, 7), (81, 263), (999, 1000), (1, 1), (0, 1)])
def test_wilson_is_the_root_pair_of_the_score_test(k, n, confidence):
    low, high = wilson_interval(k, n, confidence)
    assert (low, high) == pytest.approx(wilson_by_quadratic(k, n, confidence), abs=1e-10)
    z = z_of(confidence)
    for bound in (low, high):
        if 0.0 < bound < 1.0:  # the score statistic equals z exactly at an interior bound
            assert abs(k / n - bound) / math.sqrt(bound * (1 - bound) / n) == pytest.approx(z, rel=1e-9)


@pytest.mark.parametrize("n", [1, 2, 7, 50])
@pytest.mark.parametrize("confidence", [0.01, 0.8, 0.95, 0.999])
def test_wilson_contains_the_proportion_and_stays_in_the_unit_interval(n, confidence):
    for k in range(n + 1):
        low, high = wilson_interval(k, n, confidence)
        assert 0.0 <= low <= k / n <= high <= 1.0
        assert low < high
        assert isinstance(low, float) and isinstance(high, float)


def test_wilson_widens_with_confidence_and_narrows_with_more_items():
    w90, w95, w99 = (np.diff(wilson_interval(30, 100, c))[0] for c in (0.90, 0.95, 0.99))
    assert w90 < w95 < w99
    assert np.diff(wilson_interval(300, 1000))[0] < w95


def test_wilson_takes_numpy_integer_counts():
    assert wilson_interval(np.int64(81), np.int32(263)) == wilson_interval(81, 263)


# ---------------------------------------------------------------- accuracy_interval


def test_accuracy_interval_counts_and_uses_wilson():
    y = ["cat", "dog", "bird", "dog", "cat"]
    p = np.array(["cat", "dog", "dog", "dog", "bird"])
    r = accuracy_interval(y, p, confidence=0.9)
    assert set(r) == {"accuracy", "correct", "total", "low", "high"}
    assert (r["accuracy"], r["correct"], r["total"]) == (0.6, 3, 5)
    assert (r["low"], r["high"]) == wilson_interval(3, 5, 0.9)
    assert type(r["correct"]) is int and type(r["accuracy"]) is float


def test_accuracy_interval_takes_lists_and_arrays_alike():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 10, 500)
    p = np.where(rng.random(500) < 0.8, y, rng.integers(0, 10, 500))
    assert accuracy_interval(y, p) == accuracy_interval(y.tolist(), p.tolist())
    assert accuracy_interval(y, p)["correct"] == int(np.sum(y == p))


def test_string_labels_against_number_labels_are_refused():
    with pytest.raises(TypeError, match=r"y_pred.*<U1 and int64|y_pred.*different kinds"):
        accuracy_interval(["1", "2", "3"], [1, 2, 3])
    with pytest.raises(TypeError, match="different kinds"):
        accuracy_interval([1, 2, 3], ["1", "2", "3"])
    with pytest.raises(TypeError, match="different kinds"):
        accuracy_interval([b"a", b"b"], ["a", "b"])


def test_integer_and_float_labels_compare_by_value():
    assert accuracy_interval([0, 1, 2], [0.0, 1.0, 3.0])["correct"] == 2


# ---------------------------------------------------------------- McNemar


@pytest.mark.parametrize("a_only,b_only", [(0, 1), (1, 0), (3, 3), (8, 2), (2, 8), (0, 12), (17, 5), (60, 40),
                                           (250, 200)])
def test_mcnemar_is_the_exact_binomial_test(a_only, b_only):
    y, a, b = paired_case(a_only, b_only, both_right=30, both_wrong=11)
    r = mcnemar(y, a, b)
    assert (r["a_only"], r["b_only"], r["n"]) == (a_only, b_only, y.size)
    expected = stats.binomtest(a_only, a_only + b_only, 0.5, alternative="two-sided").pvalue
    assert r["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    # The same from the definition, with integers only.
    m, k = a_only + b_only, min(a_only, b_only)
    by_hand = min(1.0, 2 * sum(math.comb(m, i) for i in range(k + 1)) / 2**m)
    assert r["p_value"] == pytest.approx(by_hand, rel=1e-9, abs=1e-300)
    assert r["method"] == "exact"


def test_mcnemar_hand_worked_example():
    """8 against 2 discordant items: p = 2 * (1 + 10 + 45) / 1024."""
    y, a, b = paired_case(8, 2, both_right=5, both_wrong=5)
    assert mcnemar(y, a, b)["p_value"] == pytest.approx(2 * 56 / 1024, rel=1e-12)


def test_mcnemar_is_symmetric_in_the_two_classifiers():
    y, a, b = paired_case(13, 4, both_right=40, both_wrong=9)
    ab, ba = mcnemar(y, a, b), mcnemar(y, b, a)
    assert ab["p_value"] == ba["p_value"]
    assert (ab["a_only"], ab["b_only"]) == (ba["b_only"], ba["a_only"])
    assert ab["difference"] == -ba["difference"]
    assert (ab["accuracy_a"], ab["accuracy_b"]) == (ba["accuracy_b"], ba["accuracy_a"])


def test_mcnemar_difference_has_the_sign_of_a_minus_b():
    y, a, b = paired_case(13, 4, both_right=40, both_wrong=9)
    r = mcnemar(y, a, b)
    assert r["accuracy_a"] == np.mean(a == y) and r["accuracy_b"] == np.mean(b == y)
    assert r["difference"] == pytest.approx(r["accuracy_a"] - r["accuracy_b"], abs=1e-15)
    assert r["difference"] == (13 - 4) / 66 > 0


def test_mcnemar_without_disagreement_has_p_one():
    y = np.array([0, 1, 2, 0, 1])
    r = mcnemar(y, y.copy(), y.copy())
    assert (r["a_only"], r["b_only"], r["p_value"], r["difference"]) == (0, 0, 1.0, 0.0)
    # Both wrong everywhere, on different wrong labels: still no evidence either way.
    r = mcnemar([0, 0, 0], [1, 1, 1], [2, 2, 2])
    assert (r["a_only"], r["b_only"], r["p_value"]) == (0, 0, 1.0)


def test_mcnemar_equal_discordant_counts_give_p_one():
    y, a, b = paired_case(7, 7, both_right=3, both_wrong=3)
    assert mcnemar(y, a, b)["p_value"] == 1.0


def test_mcnemar_is_small_for_a_lopsided_disagreement():
    y, a, b = paired_case(40, 5, both_right=100, both_wrong=10)
    assert mcnemar(y, a, b)["p_value"] < 1e-6


# ---------------------------------------------------------------- bootstrap


def correlated_pair(n, seed, acc_a=0.8, acc_b=0.75):
    """Labels of two classifiers that share most of their errors, with a small real difference."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    hard = rng.random(n)
    right_a = hard < acc_a
    right_b = np.where(rng.random(n) < 0.7, hard < acc_b, rng.random(n) < acc_b)
    wrong = (y + 1 + rng.integers(0, 4, n)) % 5
    return y, np.where(right_a, y, wrong), np.where(right_b, y, wrong)


def test_bootstrap_is_deterministic_for_a_seed():
    y, a, b = correlated_pair(300, seed=1)
    first = bootstrap_difference(y, a, b, n_boot=500, seed=7)
    assert bootstrap_difference(y, a, b, n_boot=500, seed=7) == first
    assert bootstrap_difference(y.tolist(), a.tolist(), b.tolist(), n_boot=500, seed=7) == first
    assert bootstrap_difference(y, a, b, n_boot=500, seed=8) != first
    assert set(first) == {"difference", "low", "high", "n_boot", "seed"}
    assert (first["n_boot"], first["seed"]) == (500, 7)


def test_bootstrap_difference_is_the_plain_accuracy_difference_and_inside_the_interval():
    y, a, b = correlated_pair(300, seed=2)
    r = bootstrap_difference(y, a, b, n_boot=1000)
    assert r["difference"] == (int(np.sum(a == y)) - int(np.sum(b == y))) / y.size
    assert r["difference"] == pytest.approx(np.mean(a == y) - np.mean(b == y), abs=1e-15)
    assert r["difference"] == mcnemar(y, a, b)["difference"]
    assert r["low"] <= r["difference"] <= r["high"]
    assert -1.0 <= r["low"] < r["high"] <= 1.0


def test_bootstrap_of_identical_predictions_is_zero():
    y, a, _ = correlated_pair(200, seed=3)
    r = bootstrap_difference(y, a, a.copy(), n_boot=200)
    assert (r["difference"], r["low"], r["high"]) == (0.0, 0.0, 0.0)


def test_bootstrap_difference_ignores_the_order_of_items():
    y, a, b = correlated_pair(400, seed=4)
    order = np.random.default_rng(0).permutation(y.size)
    r, shuffled = (bootstrap_difference(y, a, b, n_boot=2000, seed=5),
                   bootstrap_difference(y[order], a[order], b[order], n_boot=2000, seed=5))
    assert shuffled["difference"] == r["difference"]
    # The resamples differ, the interval only by Monte Carlo noise.
    assert shuffled["low"] == pytest.approx(r["low"], abs=0.01)
    assert shuffled["high"] == pytest.approx(r["high"], abs=0.01)


def test_bootstrap_width_is_close_to_the_normal_approximation():
    y, a, b = correlated_pair(5000, seed=6)
    d = (a == y).astype(float) - (b == y).astype(float)
    normal_width = 2 * z_of(0.95) * d.std(ddof=1) / math.sqrt(d.size)
    r = bootstrap_difference(y, a, b, n_boot=4000, seed=0)
    assert r["high"] - r["low"] == pytest.approx(normal_width, rel=0.1)
    # The paired interval is much narrower than two independent intervals suggest.
    unpaired = 2 * z_of(0.95) * math.sqrt(np.var(a == y) / d.size + np.var(b == y) / d.size)
    assert r["high"] - r["low"] < 0.8 * unpaired


def test_bootstrap_interval_widens_with_confidence():
    y, a, b = correlated_pair(500, seed=8)
    narrow = bootstrap_difference(y, a, b, n_boot=2000, confidence=0.5)
    wide = bootstrap_difference(y, a, b, n_boot=2000, confidence=0.99)
    assert wide["low"] < narrow["low"] <= narrow["high"] < wide["high"]


def test_bootstrap_does_not_depend_on_the_chunking(monkeypatch):
    y, a, b = correlated_pair(101, seed=9)
    whole = bootstrap_difference(y, a, b, n_boot=300, seed=3)
    monkeypatch.setattr(significance, "BOOTSTRAP_CHUNK_INDICES", 7 * 101 + 50)  # 7 resamples a chunk, uneven end
    assert bootstrap_difference(y, a, b, n_boot=300, seed=3) == whole
    monkeypatch.setattr(significance, "BOOTSTRAP_CHUNK_INDICES", 1)  # one resample a chunk
    assert bootstrap_difference(y, a, b, n_boot=300, seed=3) == whole


def test_bootstrap_memory_stays_bounded_for_a_large_test_set():
    """10,000 items and 2,000 resamples: all the indices at once would take 160 MB."""
    y, a, b = correlated_pair(10_000, seed=10)
    tracemalloc.start()
    try:
        r = bootstrap_difference(y, a, b, n_boot=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak {peak / 2**20:.0f} MiB"
    assert r["low"] <= r["difference"] <= r["high"]


def test_bootstrap_with_one_resample_and_one_item():
    r = bootstrap_difference([1], [1], [0], n_boot=1)
    assert (r["difference"], r["low"], r["high"]) == (1.0, 1.0, 1.0)


# ---------------------------------------------------------------- seed spread


def test_seed_spread_against_numpy_and_scipy():
    values = [0.912, 0.905, 0.921, 0.899, 0.917]
    r = seed_spread(values, confidence=0.9)
    assert set(r) == {"mean", "std", "n", "low", "high"}
    assert r["n"] == 5
    assert r["mean"] == pytest.approx(np.mean(values), abs=1e-15)
    assert r["std"] == pytest.approx(np.std(values, ddof=1), rel=1e-12)
    low, high = stats.t.interval(0.9, df=4, loc=np.mean(values), scale=stats.sem(values))
    assert (r["low"], r["high"]) == pytest.approx((low, high), rel=1e-12)
    assert all(type(r[k]) is float for k in ("mean", "std", "low", "high"))


def test_seed_spread_of_one_value_has_no_spread_and_no_nan():
    assert seed_spread([0.8]) == {"mean": 0.8, "std": 0.0, "n": 1, "low": 0.8, "high": 0.8}
    assert seed_spread(np.array([3]))["mean"] == 3.0


def test_seed_spread_of_two_values_uses_twelve_point_seven():
    """t(0.975, 1) = 12.706: two seeds give a very wide interval, as they should."""
    r = seed_spread([0.0, 1.0])
    assert r["std"] == pytest.approx(math.sqrt(0.5))
    assert r["high"] - r["mean"] == pytest.approx(12.7062 * math.sqrt(0.5) / math.sqrt(2), rel=1e-4)


def test_seed_spread_of_equal_values_is_a_point():
    r = seed_spread([0.5, 0.5, 0.5, 0.5])
    assert (r["std"], r["low"], r["high"]) == (0.0, 0.5, 0.5)


# ---------------------------------------------------------------- Holm


def holm_by_definition(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def test_holm_hand_worked_example():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06], abs=1e-15)


def test_holm_against_its_definition_on_random_families():
    rng = np.random.default_rng(11)
    for m in (1, 2, 5, 20):
        p = rng.random(m) ** 3
        got = holm(p)
        assert got == pytest.approx(holm_by_definition(p.tolist()), abs=1e-15)
        assert all(type(x) is float for x in got)
        # Monotone in the raw p-values, never below them, capped at 1.
        order = np.argsort(p, kind="stable")
        assert np.all(np.diff(np.asarray(got)[order]) >= 0)
        assert np.all(np.asarray(got) >= p) and max(got) <= 1.0


def test_holm_caps_at_one_keeps_order_and_ties():
    assert holm([0.5, 0.9]) == [1.0, 1.0]
    assert holm([0.02]) == [0.02]
    assert holm([0.01, 0.01, 0.5]) == pytest.approx([0.03, 0.03, 0.5])
    assert holm((0.0, 1.0)) == [0.0, 1.0]


# ---------------------------------------------------------------- what a user mistypes


def test_mismatched_lengths_name_both():
    with pytest.raises(ValueError, match="y_true and y_pred must have the same length, got 3 and 2"):
        accuracy_interval([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="y_true and pred_b must have the same length, got 3 and 4"):
        mcnemar([0, 1, 1], [0, 1, 1], [0, 1, 1, 0])
    with pytest.raises(ValueError, match="y_true and pred_a must have the same length, got 2 and 3"):
        bootstrap_difference([0, 1], [0, 1, 1], [0, 1])


def test_two_dimensional_labels_are_refused_with_their_shape():
    one_hot = np.eye(3)
    with pytest.raises(ValueError, match=r"y_pred must be 1-D.*shape \(3, 3\)"):
        accuracy_interval([0, 1, 2], one_hot)
    with pytest.raises(ValueError, match=r"y_true must be 1-D.*shape \(3, 1\)"):
        mcnemar([[0], [1], [2]], [0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match=r"y_true must be 1-D.*shape \(\)"):
        accuracy_interval(1, [1])
    with pytest.raises(ValueError, match=r"values must be 1-D.*shape \(2, 2\)"):
        seed_spread([[0.9, 0.8], [0.7, 0.6]])


def test_empty_inputs_are_refused():
    with pytest.raises(ValueError, match="y_true is empty"):
        accuracy_interval([], [])
    with pytest.raises(ValueError, match="y_true is empty"):
        bootstrap_difference([], [], [])
    with pytest.raises(ValueError, match="values is empty"):
        seed_spread([])
    with pytest.raises(ValueError, match="p_values is empty"):
        holm([])


@pytest.mark.parametrize("confidence", [95, 0.0, 1.0, -0.5, math.nan])
def test_confidence_outside_the_open_unit_interval_is_refused(confidence):
    y, a, b = [0, 1], [0, 1], [1, 1]
    for call in (lambda: wilson_interval(1, 2, confidence), lambda: accuracy_interval(y, a, confidence),
                 lambda: bootstrap_difference(y, a, b, confidence=confidence),
                 lambda: seed_spread([0.1, 0.2], confidence)):
        with pytest.raises(ValueError, match="confidence must be"):
            call()


def test_confidence_that_is_not_a_number_is_a_type_error():
    with pytest.raises(TypeError, match="confidence must be a finite number, got '0.95'"):
        wilson_interval(1, 2, "0.95")
    with pytest.raises(TypeError, match="confidence"):
        accuracy_interval([0], [0], True)


def test_the_message_for_a_percentage_says_what_is_allowed():
    with pytest.raises(ValueError, match=r"confidence must be a fraction in \(0, 1\), e.g. 0.95 for 95 %, got 95"):
        wilson_interval(5, 10, confidence=95)


def test_bad_counts():
    with pytest.raises(ValueError, match=r"correct must be between 0 and total \(10\), got 11"):
        wilson_interval(11, 10)
    with pytest.raises(ValueError, match=r"correct must be between 0 and total \(10\), got -1"):
        wilson_interval(-1, 10)
    with pytest.raises(ValueError, match="total must be an integer >= 1, got 0"):
        wilson_interval(0, 0)
    with pytest.raises(TypeError, match="correct must be an integer, got True"):
        wilson_interval(True, 10)
    with pytest.raises(TypeError, match="total must be an integer, got True"):
        wilson_interval(1, True)
    with pytest.raises(TypeError, match="correct must be an integer, got 5.0"):
        wilson_interval(5.0, 10)
    with pytest.raises(TypeError, match="total must be an integer, got '10'"):
        wilson_interval(5, "10")


def test_bad_bootstrap_settings():
    y, a, b = [0, 1], [0, 1], [1, 1]
    with pytest.raises(ValueError, match="n_boot must be a positive int, got 0"):
        bootstrap_difference(y, a, b, n_boot=0)
    with pytest.raises(TypeError, match="n_boot must be a positive int, got True"):
        bootstrap_difference(y, a, b, n_boot=True)
    with pytest.raises(TypeError, match="n_boot must be a positive int, got 1000.0"):
        bootstrap_difference(y, a, b, n_boot=1e3)
    with pytest.raises(ValueError, match="seed must be a non-negative int, got -1"):
        bootstrap_difference(y, a, b, seed=-1)
    with pytest.raises(TypeError, match="seed must be a non-negative int, got None"):
        bootstrap_difference(y, a, b, seed=None)


def test_bad_p_values():
    with pytest.raises(ValueError, match=r"p_values must lie in \[0, 1\], got 1.5 at index 1"):
        holm([0.01, 1.5])
    with pytest.raises(ValueError, match=r"p_values must lie in \[0, 1\], got -0.1 at index 0"):
        holm([-0.1])
    with pytest.raises(ValueError, match="p_values must be finite, got nan at index 2"):
        holm([0.1, 0.2, math.nan])
    with pytest.raises(TypeError, match="p_values must hold real numbers, got an array of dtype <U4"):
        holm(["0.01", "0.02"])
    with pytest.raises(TypeError, match="p_values must hold real numbers, got an array of dtype bool"):
        holm([True, False])


def test_bad_seed_values():
    with pytest.raises(ValueError, match="values must be finite, got nan at index 1"):
        seed_spread([0.9, math.nan, 0.8])
    with pytest.raises(TypeError, match="values must hold real numbers, got an array of dtype object"):
        seed_spread([0.9, None])
    with pytest.raises(TypeError, match="values must hold real numbers"):
        seed_spread(["0.9", "0.8"])


def test_the_examples_run():
    result = doctest.testmod(significance, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 20 and result.failed == 0
