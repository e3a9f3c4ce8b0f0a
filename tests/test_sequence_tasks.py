"""Tests for the generated sequence tasks (pixelflow.datasets: NARMA,
Mackey-Glass, bit memory, delay line; the SequenceTask container) and their
scores (pixelflow.timeseries).

Reference statistics quoted here were measured with these generators, not
taken from papers: NARMA-10 with u~U[0, 0.5] over 1,000 seeds of 4,200 steps
(200 dropped) has mean 0.388 (sd over seeds 0.006) and std 0.109 (sd 0.004);
Mackey-Glass tau=17 has its spectral peak and first autocorrelation maximum
at 50 time units.
"""

from __future__ import annotations

import dataclasses
import importlib

import numpy as np
import pytest

from pixelflow.datasets import (
    SequenceTask,
    bit_memory,
    bit_memory_task,
    delay_line,
    delay_task,
    mackey_glass,
    mackey_glass_task,
    narma,
    narma_task,
)
from pixelflow.timeseries import memory_capacity, nrmse, success_rate

# The package re-exports narma() under its module's name, so the module
# itself comes from the import system.
narma_module = importlib.import_module("pixelflow.datasets.narma")


def _local_maxima(x: np.ndarray) -> np.ndarray:
    inner = (x[1:-1] > x[:-2]) & (x[1:-1] >= x[2:])
    return np.flatnonzero(inner) + 1


# --------------------------------------------------------------------- NARMA


def _narma_reference(u: np.ndarray, order: int) -> np.ndarray:
    """The textbook recurrence, written out term by term, slowly."""
    n_steps = len(u)
    y = np.zeros(n_steps + 1)  # y[s] is y(s); y(0) = 0

    def y_at(s):
        return y[s] if s >= 0 else 0.0

    def u_at(s):
        return u[s] if s >= 0 else 0.0

    for t in range(n_steps):
        total = 0.0
        for i in range(order):
            total += y_at(t - i)
        y[t + 1] = 0.3 * y[t] + 0.05 * y[t] * total + 1.5 * u_at(t - order + 1) * u_at(t) + 0.1
    return y[1:]  # target at index t is y(t+1)


@pytest.mark.parametrize("order", [10, 3, 1])
def test_narma_matches_direct_recurrence(order):
    u, y, redraws = narma(300, order=order, seed=5)
    assert redraws == 0
    np.testing.assert_allclose(y, _narma_reference(u, order), rtol=1e-12, atol=0)


def test_narma_target_depends_on_current_input_not_future():
    u, _, _ = narma(50, seed=1)
    base = _narma_reference(u, 10)
    bumped = u.copy()
    bumped[20] += 0.1
    changed = _narma_reference(bumped, 10)
    # Target t = y(t+1) uses u(t): index 20 moves, index 19 does not.
    assert np.array_equal(base[:20], changed[:20])
    assert base[20] != changed[20]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_narma10_stays_bounded_with_known_statistics(seed):
    _, y, _ = narma(4200, seed=seed)
    y = y[200:]
    assert np.isfinite(y).all()
    # Every term of the recurrence is >= 0 for u >= 0, and delta adds 0.1.
    assert y.min() >= 0.1
    assert y.max() < 1.3
    assert 0.37 < y.mean() < 0.41
    assert 0.095 < y.std() < 0.125


def test_narma_redraws_a_diverged_draw_from_the_next_sub_stream():
    # Measured: seed 103's first draw of 4,200 steps runs away.
    u, y, redraws = narma(4200, seed=103)
    assert redraws == 1
    first, second = np.random.SeedSequence(103).spawn(2)
    diverged = np.random.default_rng(first).uniform(0.0, 0.5, 4200)
    assert narma_module._narma_output(diverged.tolist(), 10) is None
    expected = np.random.default_rng(second).uniform(0.0, 0.5, 4200)
    assert np.array_equal(u, expected)
    assert np.isfinite(y).all() and y.max() < 1.3

    task = narma_task(seed=103)
    assert task.params["redraws"] == 1
    assert task.split.endswith("after 200 washout (1 diverged draw replaced)")


def test_narma_gives_up_when_every_draw_diverges():
    with pytest.raises(ValueError, match="diverged in all 3 draws"):
        narma(500, seed=0, high=1.0, max_redraws=2)


def test_narma_task_layout():
    task = narma_task(n_train=300, n_validation=100, n_test=200, washout=50, seed=7)
    assert isinstance(task, SequenceTask)
    assert task.name == "NARMA-10"
    assert task.inputs.shape == task.targets.shape == (1, 650, 1)
    assert (task.train, task.validation, task.test) == (
        slice(50, 350),
        slice(350, 450),
        slice(450, 650),
    )
    assert task.washout == 50 and task.metric == "nrmse"
    u, y, _ = narma(650, seed=7)
    assert np.array_equal(task.inputs[0, :, 0], u)
    assert np.array_equal(task.targets[0, :, 0], y)
    assert task.params["seed"] == 7 and task.params["redraws"] == 0
    assert narma_task().split == (
        "NARMA-10, u~U[0,0.5], seed 0: 2,000 train / 1,000 validation / "
        "1,000 test steps after 200 washout"
    )


# -------------------------------------------------------------- Mackey-Glass


def test_mackey_glass_tau17_stays_in_its_band():
    x = mackey_glass(3000)
    assert np.isfinite(x).all()
    assert 0.2 < x.min() < 0.5
    assert 1.2 < x.max() < 1.4


def test_mackey_glass_tau17_quasi_period_is_50():
    x = mackey_glass(4000, sample_every=1.0)
    y = x - x.mean()
    power = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(y.size, d=1.0)
    peak = np.argmax(power[1:]) + 1
    assert 45 < 1 / freqs[peak] < 55
    acf = np.correlate(y, y, "full")[y.size - 1 :]
    assert 45 <= _local_maxima(acf)[0] <= 55


def test_mackey_glass_converges_as_dt_is_halved():
    # Short span: over long ones chaos amplifies any integration error.
    runs = [
        mackey_glass(300, dt=dt, discard=0.0, perturbation=0.0) for dt in (0.1, 0.05, 0.025)
    ]
    coarse, medium, fine = runs
    assert np.abs(coarse - medium).max() < 1e-3
    # Second-order scheme: against the finest run, halving dt cuts the error
    # by about 5 (4 for the step, corrected for the reference's own error).
    ratio = np.abs(coarse - fine).max() / np.abs(medium - fine).max()
    assert ratio > 4


def test_mackey_glass_small_tau_fixed_point_and_limit_cycle():
    # tau=2: the fixed point x = 1 (beta / (1 + 1**n) = gamma) is stable.
    x = mackey_glass(200, tau=2.0, discard=1000.0)
    np.testing.assert_allclose(x, 1.0, atol=1e-9)
    # tau=5: past the Hopf bifurcation, a limit cycle of period ~17.1.
    x = mackey_glass(1000, tau=5.0, sample_every=0.1, discard=3000.0)
    peaks = _local_maxima(x)
    assert len(peaks) >= 5
    assert np.ptp(x[peaks]) < 1e-4
    np.testing.assert_allclose(np.diff(peaks) * 0.1, 17.1, atol=0.15)
    assert 0.1 < np.ptp(x) < 0.2


def test_mackey_glass_prefix_and_transform():
    long = mackey_glass(300, seed=3)
    assert np.array_equal(mackey_glass(100, seed=3), long[:100])
    np.testing.assert_allclose(mackey_glass(300, seed=3, transform="tanh"), np.tanh(long - 1.0))


def test_mackey_glass_sample_every_picks_grid_points():
    fine = mackey_glass(101, sample_every=0.5, discard=100.0)
    coarse = mackey_glass(51, sample_every=1.0, discard=100.0)
    assert np.array_equal(fine[::2], coarse)


def test_mackey_glass_task_alignment_and_raw_series():
    task = mackey_glass_task(
        horizon=3, n_train=100, n_validation=50, n_test=50, washout=20, seed=2
    )
    assert task.inputs.shape == task.targets.shape == (1, 220, 1)
    x, target = task.inputs[0, :, 0], task.targets[0, :, 0]
    assert np.array_equal(target[:-3], x[3:])
    params = {k: v for k, v in task.params.items() if k != "horizon"}
    series = mackey_glass(223, **params)
    assert np.array_equal(series, np.concatenate([x, target[-3:]]))
    assert task.test == slice(170, 220)
    assert task.params["transform"] == "none" and task.params["tau"] == 17.0
    tanh_task = mackey_glass_task(n_train=10, n_validation=10, n_test=10, transform="tanh")
    assert "tanh(x-1)" in tanh_task.split


# ------------------------------------------------------------------ bit memory


def test_bit_memory_structure():
    inputs, targets = bit_memory(bits=5, distractor=200)
    assert inputs.shape == (32, 210, 4) and targets.shape == (32, 210, 3)
    assert inputs.dtype == targets.dtype == np.float64
    # Every step one-hot, in and out.
    assert np.array_equal(inputs.sum(axis=2), np.ones((32, 210)))
    assert np.array_equal(targets.sum(axis=2), np.ones((32, 210)))
    assert set(np.unique(inputs)) == {0.0, 1.0} == set(np.unique(targets))
    # 32 distinct patterns, bit channel and complement.
    patterns = inputs[:, :5, 0]
    assert len({p.tobytes() for p in patterns}) == 32
    assert np.array_equal(inputs[:, :5, 1], 1 - patterns)
    # Jaeger's timing, 1-based: distractor t = 6..204, cue t = 205 (T0 + 5),
    # distractor again t = 206..210.
    assert np.array_equal(np.flatnonzero(inputs[0, :, 3]), [204])
    assert np.array_equal(np.flatnonzero(inputs[0, :, 2]), np.r_[5:204, 205:210])
    # Output: waiting through the cue, then the pattern in the last 5 steps.
    assert np.array_equal(np.flatnonzero(targets[0, :, 2]), np.arange(205))
    assert np.array_equal(targets[:, -5:, 0], patterns)
    assert np.array_equal(targets[:, -5:, 1], inputs[:, :5, 1])


def test_bit_memory_small_case_written_out():
    inputs, targets = bit_memory(bits=2, distractor=2)
    # Sequence 2 is the pattern "10": steps 0-1 pattern, 2 distractor,
    # 3 cue, 4-5 recall.
    a = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 0, 1, 0]]
    y = [[0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1], [1, 0, 0], [0, 1, 0]]
    assert np.array_equal(inputs[2], a)
    assert np.array_equal(targets[2], y)
    assert inputs.shape == (4, 6, 4)


def test_bit_memory_task_layout():
    task = bit_memory_task(bits=5, distractor=10)
    assert task.inputs.shape == (32, 20, 4)
    assert task.metric == "success" and task.washout == 0
    assert task.train == task.validation == task.test == slice(0, 20)
    assert task.params == {"bits": 5, "distractor": 10, "recall_start": 15}
    assert "train = validation = test" in task.split
    assert task.split.startswith("5-bit memory, distractor 10: all 32 patterns")


# ------------------------------------------------------------------ delay line


def test_delay_targets_are_shifted_inputs():
    task = delay_task(max_delay=7, n_train=50, n_validation=20, n_test=30, washout=10, seed=4)
    u = task.inputs[0, :, 0]
    assert task.targets.shape == (1, 110, 7)
    for k in range(1, 8):
        assert np.array_equal(task.targets[0, k:, k - 1], u[:-k])
        assert not task.targets[0, :k, k - 1].any()
    assert task.metric == "memory_capacity"
    assert task.train == slice(10, 60)


def test_delay_line_input_range():
    u, _ = delay_line(2000, 3, seed=0, low=0.0, high=1.0)
    assert 0.0 <= u.min() and u.max() < 1.0 and u.min() < 0.01 and u.max() > 0.99
    u, _ = delay_line(2000, 3, seed=0)
    assert -1.0 <= u.min() < -0.99 and 0.99 < u.max() < 1.0


def test_delay_task_needs_washout_covering_the_delays():
    with pytest.raises(ValueError, match="washout=5 must be >= max_delay=8"):
        delay_task(max_delay=8, washout=5)


# --------------------------------------------------------------- determinism


GENERATORS = {
    "narma": lambda seed: narma(400, seed=seed)[:2],
    "mackey_glass": lambda seed: (mackey_glass(200, seed=seed, discard=200.0),),
    "delay_line": lambda seed: delay_line(400, 5, seed=seed),
    "narma_task": lambda seed: (narma_task(100, 50, 50, 20, seed=seed).targets,),
    "mackey_glass_task": lambda seed: (
        mackey_glass_task(1, 100, 50, 50, 20, seed=seed, discard=200.0).inputs,
    ),
    "delay_task": lambda seed: (delay_task(5, 100, 50, 50, 20, seed=seed).targets,),
}


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_same_arrays_different_seed_different(name):
    make = GENERATORS[name]
    first, again, other = make(0), make(0), make(1)
    for a, b, c in zip(first, again, other):
        assert np.array_equal(a, b)
        assert not np.array_equal(a, c)


def test_bit_memory_is_deterministic():
    a, b = bit_memory_task(3, 4), bit_memory_task(3, 4)
    assert np.array_equal(a.inputs, b.inputs) and np.array_equal(a.targets, b.targets)


# --------------------------------------------------------------- SequenceTask


def _task(**changes):
    fields = {
        "name": "toy",
        "inputs": np.zeros((1, 10, 1)),
        "targets": np.zeros((1, 10, 2)),
        "metric": "nrmse",
        "washout": 2,
        "train": slice(2, 6),
        "validation": slice(6, 8),
        "test": slice(8, 10),
        "params": {},
        "split": "toy",
    }
    return SequenceTask(**{**fields, **changes})


def test_sequence_module_example_holds():
    import doctest

    import pixelflow.datasets.sequence

    result = doctest.testmod(pixelflow.datasets.sequence)
    assert result.attempted > 0 and result.failed == 0


def test_sequence_task_accepts_a_valid_task_and_is_frozen():
    task = _task()
    assert "toy" in repr(task) and "(1, 10, 1)" in repr(task)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.washout = 0


@pytest.mark.parametrize(
    "changes, error, match",
    [
        ({"metric": "accuracy"}, ValueError, "metric must be one of"),
        ({"targets": np.zeros((1, 9, 2))}, ValueError, "must agree on"),
        ({"targets": np.zeros((2, 10, 2))}, ValueError, "must agree on"),
        ({"inputs": np.zeros((10, 1))}, ValueError, "shape"),
        ({"inputs": np.zeros((1, 10, 1), np.float32)}, TypeError, "float64"),
        ({"inputs": [[[0.0]]]}, TypeError, "float64"),
        ({"targets": np.full((1, 10, 2), np.nan)}, ValueError, "non-finite"),
        ({"washout": -1}, ValueError, "non-negative"),
        ({"washout": 10}, ValueError, "washout=10"),
        ({"train": slice(1, 6)}, ValueError, "washout"),
        ({"test": slice(8, 11)}, ValueError, "<= T"),
        ({"test": slice(8, 8)}, ValueError, "start < stop"),
        ({"test": slice(8, None)}, ValueError, "int bounds"),
        ({"test": slice(2, 10, 2)}, ValueError, "step"),
        ({"test": np.arange(8, 10)}, TypeError, "slice"),
        ({"params": None}, TypeError, "params"),
        ({"split": 3}, TypeError, "split"),
    ],
)
def test_sequence_task_rejects(changes, error, match):
    with pytest.raises(error, match=match):
        _task(**changes)


# -------------------------------------------------------------------- metrics


def test_nrmse_of_mean_and_perfect_predictors():
    y = np.random.default_rng(0).normal(size=(500, 3)) * [1.0, 5.0, 0.1]
    assert nrmse(y, y) == 0.0
    assert nrmse(y, np.broadcast_to(y.mean(axis=0), y.shape)) == pytest.approx(1.0)
    assert nrmse(y[:, 0], np.full(500, y[:, 0].mean())) == pytest.approx(1.0)
    # Per-output values are averaged: one perfect output, one mean predictor.
    half = np.column_stack([y[:, 0], np.full(500, y[:, 1].mean())])
    assert nrmse(y[:, :2], half) == pytest.approx(0.5)
    # Leading axes are samples: (N, T, k) scores like (N*T, k).
    assert nrmse(y.reshape(5, 100, 3), (2 * y).reshape(5, 100, 3)) == pytest.approx(
        nrmse(y, 2 * y)
    )


def test_nrmse_scale_is_the_target_std():
    y = np.sin(np.linspace(0, 20, 1000))
    assert nrmse(y, y + 0.1) == pytest.approx(0.1 / y.std())
    assert nrmse(y, y + np.inf) == np.inf


def test_memory_capacity_of_a_perfect_delay_line():
    task = delay_task(max_delay=12, n_train=100, n_validation=100, n_test=1000, washout=20)
    target = task.targets[0, task.test]
    r2, capacity = memory_capacity(target, target)
    np.testing.assert_allclose(r2, 1.0)
    assert capacity == pytest.approx(12)
    # Squared correlation ignores sign, scale and offset.
    _, flipped = memory_capacity(target, 3 - 2 * target)
    assert flipped == pytest.approx(12)
    r2, capacity = memory_capacity(target, np.zeros_like(target))
    assert capacity == 0.0
    noise = np.random.default_rng(1).normal(size=target.shape)
    r2, _ = memory_capacity(target, noise)
    assert r2.max() < 0.02


def test_memory_capacity_known_partial_correlation():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 20000))
    # corr(a, a + b) = 1 / sqrt(2), so r^2 = 1/2.
    r2, capacity = memory_capacity(a, a + b)
    assert r2.shape == (1,)
    assert capacity == pytest.approx(0.5, abs=0.02)


def test_success_rate_perfect_flipped_and_single_errors():
    task = bit_memory_task(bits=5, distractor=20)
    y = task.targets
    rate, errors = success_rate(y, y, task.test)
    assert rate == 1.0 and errors.shape == (30,) and not errors.any()

    flipped = y.copy()
    flipped[:, -5:, :2] = y[:, -5:, 1::-1]
    rate, errors = success_rate(y, flipped, task.test)
    assert rate == 0.0
    assert np.array_equal(errors, np.r_[np.zeros(25), np.full(5, 32)])

    one_wrong = y.copy()
    one_wrong[7, 3] = [0.0, 0.9, 0.2]  # says "bit complement" while waiting
    rate, errors = success_rate(y, one_wrong, task.test)
    assert rate == 31 / 32
    assert errors.sum() == 1 and errors[3] == 1
    # The recall period alone does not see that mistake.
    rate, errors = success_rate(y, one_wrong, slice(task.params["recall_start"], None))
    assert rate == 1.0 and errors.shape == (5,)


def test_success_rate_decisions():
    y = bit_memory_task(bits=3, distractor=5).targets
    weak = 0.4 * y  # right winner everywhere, but nothing above 0.5
    assert success_rate(y, weak)[0] == 1.0
    assert success_rate(y, weak, decision="threshold")[0] == 0.0
    assert success_rate(y, y, decision="threshold")[0] == 1.0
    broken = y.copy()
    broken[0, 0, 0] = np.nan
    rate, errors = success_rate(y, broken)
    assert rate == 7 / 8 and errors[0] == 1
    mask = np.zeros(y.shape[1], bool)
    mask[-3:] = True
    assert success_rate(y, y, mask)[1].shape == (3,)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"decision": "vote"}, "decision must be one of"),
        ({"scored": slice(5, 5)}, "selects none"),
        ({"scored": np.ones(4, bool)}, "bool scored mask"),
        ({"scored": np.array([0, 99])}, "scored must be"),
    ],
)
def test_success_rate_rejects_bad_arguments(kwargs, match):
    y = bit_memory_task(bits=2, distractor=3).targets
    with pytest.raises(ValueError, match=match):
        success_rate(y, y, **kwargs)


def test_metrics_reject_bad_shapes_and_targets():
    y = np.random.default_rng(0).normal(size=(50, 2))
    with pytest.raises(ValueError, match="must match"):
        nrmse(y, y[:, :1])
    with pytest.raises(ValueError, match="must match"):
        memory_capacity(y, y[:-1])
    with pytest.raises(ValueError, match="constant"):
        nrmse(np.ones(50), np.zeros(50))
    with pytest.raises(ValueError, match="constant"):
        memory_capacity(np.column_stack([y[:, 0], np.ones(50)]), y)
    with pytest.raises(ValueError, match="non-finite"):
        nrmse(np.full(5, np.nan), np.zeros(5))
    with pytest.raises(ValueError, match="no empty axis"):
        nrmse(np.zeros((0, 2)), np.zeros((0, 2)))
    with pytest.raises(TypeError, match="array of numbers"):
        nrmse(["a", "b"], [1.0, 2.0])
    targets = bit_memory_task(bits=2, distractor=3).targets
    with pytest.raises(ValueError, match=r"\(N, T, k\)"):
        success_rate(targets[0], targets[0])
    with pytest.raises(ValueError, match="one largest channel"):
        success_rate(np.zeros_like(targets), targets)


# ------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: narma(-5), ValueError, "length must be a positive int"),
        (lambda: narma(0), ValueError, "length must be a positive int"),
        (lambda: narma(10.5), TypeError, "length must be a positive int"),
        (lambda: narma(10, order=0), ValueError, "order"),
        (lambda: narma(10, seed=-1), ValueError, "seed"),
        (lambda: narma(10, low=0.5, high=0.5), ValueError, "high must exceed low=0.5"),
        (lambda: narma(10, high=float("nan")), ValueError, "high must be a finite number"),
        (lambda: narma_task(n_train=0), ValueError, "n_train"),
        (lambda: narma_task(washout=-1), ValueError, "washout"),
        (lambda: mackey_glass(10, tau=0), ValueError, "tau must be a finite number > 0"),
        (lambda: mackey_glass(10, tau=-17), ValueError, "tau"),
        (lambda: mackey_glass(10, tau="17"), TypeError, "tau"),
        (lambda: mackey_glass(10, tau=True), TypeError, "tau"),
        (lambda: mackey_glass(10, tau=17.05), ValueError, "whole multiple of dt"),
        (lambda: mackey_glass(10, dt=0), ValueError, "dt"),
        (lambda: mackey_glass(10, sample_every=0.25), ValueError, "sample_every"),
        (lambda: mackey_glass(10, discard=-1.0), ValueError, "discard"),
        (lambda: mackey_glass(10, transform="log"), ValueError, "transform must be one of"),
        (lambda: mackey_glass(-1), ValueError, "length"),
        (lambda: mackey_glass_task(horizon=0), ValueError, "horizon"),
        (lambda: bit_memory(bits=0), ValueError, "bits must be a positive int"),
        (lambda: bit_memory(bits=-2), ValueError, "bits"),
        (lambda: bit_memory(bits=2.0), TypeError, "bits"),
        (lambda: bit_memory(distractor=0), ValueError, "distractor"),
        (lambda: bit_memory_task(bits=0), ValueError, "bits"),
        (lambda: delay_line(10, 0), ValueError, "max_delay"),
        (lambda: delay_line(10, 2, low=1.0, high=-1.0), ValueError, "high must exceed"),
        (lambda: delay_task(max_delay=-3), ValueError, "max_delay"),
    ],
)
def test_bad_arguments_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()

