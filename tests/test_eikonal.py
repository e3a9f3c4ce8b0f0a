"""Arrival times: the fast-marching reference, the crossing detector, the wave estimate."""

import numpy as np
import pytest

from pixelflow.eikonal import (
    WaveArrivals,
    criterion_lag,
    error_summary,
    first_arrival,
    first_peak,
    mean_relative_error,
    reference_arrival_times,
    source_distance,
    wave_arrival_times,
)


def test_reference_is_distance_over_speed_in_a_constant_medium():
    src = (20.0, 13.5)
    t = reference_arrival_times(np.full((48, 40), 2.0), src)
    exact = source_distance((48, 40), src) / 2.0
    assert np.max(np.abs(t - exact)) < 0.15  # second-order fast marching, in time units
    assert mean_relative_error(t, exact, src, exclude_radius=1.0) < 0.005


def test_reference_respects_a_slow_half_plane():
    speed = np.ones((40, 40))
    speed[:, 20:] = 0.5
    t = reference_arrival_times(speed, (20, 5))
    assert t[20, 35] > t[20, 5] + 15 + 2 * 15 * 0.9  # crossing 15 slow cells takes ~30


def test_first_arrival_interpolates_between_samples():
    times = np.arange(5.0)
    signal = np.array([[0.0, 0.0], [0.2, 0.0], [0.6, 0.1], [1.0, 0.1], [0.5, 0.1]])
    got = first_arrival(signal, times, 0.4)
    assert got[0] == pytest.approx(1.5)  # 0.2 -> 0.6 crosses 0.4 halfway between t=1 and t=2
    assert np.isnan(got[1])
    assert first_arrival(signal, times, 0.0)[0] == 0.0


def test_first_arrival_validates_times():
    with pytest.raises(ValueError, match="strictly increasing"):
        first_arrival(np.zeros((3, 2)), np.array([0.0, 2.0, 1.0]), 0.5)


@pytest.mark.parametrize("n, source, speed", [
    (32, (15.5, 15.5), "constant"),
    (64, (31.5, 31.5), "constant"),
    (64, (16.0, 12.0), "constant"),   # off-centre: wrap-around ruined the pixelflow-rc estimate
    (64, (31.5, 31.5), "radial"),
])
def test_wave_reservoir_arrival_times_are_accurate(n, source, speed):
    field = np.ones((n, n))
    if speed == "radial":
        d = source_distance((n, n), source)
        field = 1.0 + 0.5 * d / d.max()
    ref = reference_arrival_times(field, source)
    est = wave_arrival_times(field, source)
    assert mean_relative_error(est, ref, source) < 0.02


@pytest.mark.parametrize("source", [(0, 0), (63, 63), (0, 40), (31.5, 0), (2, 2), (31.5, 31.5), (63, 10)])
def test_a_source_anywhere_on_the_grid_gives_straight_line_times(source):
    # Corners and edges used to start inside the damping layer: mean relative error 0.19 two cells from a corner.
    est = wave_arrival_times(np.ones((64, 64)), source)
    exact = source_distance((64, 64), source)
    summary = error_summary(est, exact, source)
    assert summary["mean"] < 0.006 and summary["p95"] < 0.015 and summary["max"] < 0.04


def test_a_non_square_grid_with_a_source_near_its_corner():
    source = (3, 90)
    est = wave_arrival_times(np.full((40, 96), 0.8), source)
    assert mean_relative_error(est, source_distance((40, 96), source) / 0.8, source) < 0.006


def test_the_lag_is_the_criterions_not_the_mediums():
    # A slow disc next to the source changes what the wave meets, not the lag of the criterion.
    plain = wave_arrival_times(np.ones((48, 48)), (24, 10))
    speed = np.ones((48, 48))
    speed[source_distance((48, 48), (24, 18)) < 4] = 0.3
    assert wave_arrival_times(speed, (24, 10)).lag == plain.lag == criterion_lag(1.5, round(plain.dt, 12), 0.5)
    # The lag is in the medium's time: twice the speed at the source, half the lag.
    fast = wave_arrival_times(np.full((48, 48), 2.0), (24, 10))
    assert fast.lag == pytest.approx(plain.lag / 2)


def test_first_peak_times_a_weak_first_front_not_the_stronger_one_after_it():
    t = np.arange(60.0)
    weak = 0.1 * np.exp(-0.5 * ((t - 15) / 2) ** 2)
    strong = np.exp(-0.5 * ((t - 35) / 2) ** 2)
    trace = (weak + strong)[:, None]
    index, height = first_peak(trace)
    assert index[0] == 15 and height[0] == pytest.approx(0.1, rel=1e-3)
    # Below the floor, the weak front is not a front: the strong one is.
    assert first_peak(trace, floor=0.2)[0][0] == 35
    with pytest.raises(ValueError, match="floor must be a fraction"):
        first_peak(trace, floor=2.0)


def test_a_weak_front_ahead_of_a_focused_one_is_the_arrival():
    # A slow disc focuses the wave behind it: the focused peak comes after the first front and is larger.
    speed = np.ones((64, 64))
    speed[source_distance((64, 64), (32, 32)) <= 64 / 6] = 0.3
    ref = reference_arrival_times(speed, (10, 32))
    assert mean_relative_error(wave_arrival_times(speed, (10, 32)), ref, (10, 32)) < 0.02


def test_error_measures_leave_out_the_cells_filled_with_straight_line_times():
    est = wave_arrival_times(np.ones((32, 32)), (16, 16))
    assert isinstance(est, WaveArrivals) and est.filled_radius == 4.5
    d = source_distance((32, 32), (16, 16))
    # Cells closer than the filled radius are exact by construction, so they must not be counted.
    assert error_summary(est, d, (16, 16))["cells"] == int((d >= 4.5).sum())
    assert error_summary(est.times, d, (16, 16))["cells"] == int((d >= 1.0).sum())
    assert mean_relative_error(est, d, (16, 16)) > mean_relative_error(est.times, d, (16, 16))
    with pytest.raises(ValueError, match="no cell lies 100 or more from the source"):
        error_summary(est, d, (16, 16), exclude_radius=100)


def test_wave_arrival_rejects_bad_sources():
    with pytest.raises(ValueError, match="outside"):
        wave_arrival_times(np.ones((16, 16)), (20, 3))
    with pytest.raises(ValueError, match="> 0"):
        reference_arrival_times(np.zeros((16, 16)), (3, 3))


@pytest.mark.parametrize("dx", [float("nan"), float("inf"), 0.0, -1.0])
def test_reference_refuses_a_cell_size_that_is_not_finite_and_positive(dx):
    # A NaN dx used to come back as an all-NaN map.
    with pytest.raises(ValueError, match=r"dx must be a finite number > 0, got"):
        reference_arrival_times(np.ones((16, 16)), (3, 3), dx=dx)
    with pytest.raises(TypeError, match="dx must be"):
        reference_arrival_times(np.ones((16, 16)), (3, 3), dx="1")


@pytest.mark.parametrize("kwargs, message", [
    (dict(max_time=float("nan")), r"max_time must be a finite number > 0, got nan"),
    (dict(max_time=-1.0), r"max_time must be a finite number > 0, got -1"),
    (dict(max_time=float("inf")), r"max_time must be a finite number > 0, got inf"),
    (dict(pulse_width=0), r"pulse_width must be a finite number > 0, got 0"),
    (dict(pulse_width=float("nan")), r"pulse_width must be a finite number > 0, got nan"),
    (dict(cfl=float("nan")), r"cfl must be a finite number in \(0, 1\], got nan"),
    (dict(cfl=1.5), r"cfl must be a finite number in \(0, 1\], got 1.5"),
    (dict(fraction=1.0), r"fraction must be a number in \(0, 1\), got 1.0"),
    (dict(fraction=float("nan")), r"fraction must be a number in \(0, 1\), got nan"),
    (dict(boundary="reflecting"), r"boundary must be one of 'absorbing', 'periodic', got 'reflecting'"),
    (dict(backend="tpu"), r"unknown backend 'tpu'"),
])
def test_wave_arrival_names_the_argument_the_caller_passed(kwargs, message):
    # These used to fail inside the reservoir ("ReservoirConfig.steps must be >= 0",
    # "X contains NaN") or to return a map of NaN.
    with pytest.raises(ValueError, match=message):
        wave_arrival_times(np.ones((16, 16)), (3, 3), **kwargs)


@pytest.mark.parametrize("name", ["cfl", "fraction", "pulse_width", "max_time"])
def test_wave_arrival_refuses_arguments_that_are_not_numbers(name):
    with pytest.raises(TypeError, match=f"{name} must be .*got 'x'"):
        wave_arrival_times(np.ones((16, 16)), (3, 3), **{name: "x"})


def test_speed_field_errors_name_the_bad_cell():
    speed = np.ones((16, 16))
    speed[2, 3] = np.nan
    with pytest.raises(ValueError, match=r"1 cell\(s\) are not finite, the first at \(2, 3\) is nan"):
        reference_arrival_times(speed, (8, 8))
    speed[2, 3] = -0.5
    with pytest.raises(ValueError, match=r"> 0 everywhere; its minimum is -0.5 at \(2, 3\)"):
        wave_arrival_times(speed, (8, 8))
    with pytest.raises(TypeError, match="speed must be a 2-D array of real numbers"):
        reference_arrival_times(np.full((4, 4), "fast"), (1, 1))
    with pytest.raises(ValueError, match=r"source must be a \(row, col\) pair of finite numbers"):
        reference_arrival_times(np.ones((16, 16)), (np.nan, 3))


def test_an_impossible_time_horizon_is_refused_before_building_the_run(monkeypatch):
    import pixelflow.eikonal

    def no_run(*args, **kwargs):
        raise AssertionError("the reservoir was built for a run that is refused")

    monkeypatch.setattr(pixelflow.eikonal, "Reservoir", no_run)
    monkeypatch.setattr(pixelflow.eikonal, "ReservoirConfig", no_run)
    # ~3e13 time steps: once a bare MemoryError, now a run that would never end.
    with pytest.raises(ValueError, match=r"max_time=1e\+13 .* time steps, more than the 1e\+08 a reading may take; "
                                         r"pass a shorter max_time"):
        wave_arrival_times(np.ones((16, 16)), (3, 3), max_time=1e13)
    with pytest.raises(ValueError, match=r"max_time=1e\+300 .*is 2.83e\+300 time steps"):
        wave_arrival_times(np.ones((16, 16)), (3, 3), max_time=1e300)
    # An extreme speed contrast makes the default horizon impossible: the message says why.
    speed = np.ones((16, 16))
    speed[0, 0] = 1e-300
    with pytest.raises(ValueError, match=r"the default max_time=.* slowest speed 1e-300.*less contrast"):
        wave_arrival_times(speed, (8, 8))


def test_the_reading_needs_a_few_grids_of_memory_however_long_the_run(monkeypatch):
    import pixelflow.memory

    # 32x32 cells (82x82 with the margin), ~190 steps: storing the run took ~30 MB, reading it a few MB.
    monkeypatch.setattr(pixelflow.memory, "available_bytes", lambda: 4_000_000)
    assert wave_arrival_times(np.ones((32, 32)), (16, 16)).steps > 100
    monkeypatch.setattr(pixelflow.memory, "available_bytes", lambda: 200_000)
    with pytest.raises(ValueError, match=r"the default max_time=.* on the 32x32 grid .*reading the run needs .* but "
                                         r"only"):
        wave_arrival_times(np.ones((32, 32)), (16, 16))


def _first_peak_by_hand(trace, floor):
    """The first local maximum of at least ``floor`` x the maximum, one sample at a time (a test reference)."""
    top = max(trace)
    for k, v in enumerate(trace):
        left = trace[k - 1] if k > 0 else -np.inf
        right = trace[k + 1] if k + 1 < len(trace) else -np.inf
        rises = v > left if k > 0 else True
        holds = v >= right if k + 1 < len(trace) else True
        if k == 0:
            rises, holds = True, v > right
        if k == len(trace) - 1:
            rises, holds = v > left, True
        if rises and holds and v >= floor * top and v > 0:
            return k, v
    k = int(np.argmax(trace))
    return k, trace[k]


def _crossing_by_hand(trace, times, threshold):
    for k, v in enumerate(trace):
        if v >= threshold:
            if k == 0:
                return times[0]
            s0 = trace[k - 1]
            frac = (threshold - s0) / (v - s0) if v > s0 else 1.0
            return times[k - 1] + min(max(frac, 0.0), 1.0) * (times[k] - times[k - 1])
    return np.nan


@pytest.mark.parametrize("seed", range(4))
def test_the_one_pass_readings_match_a_sample_by_sample_reference(seed):
    # Plateaus, zeros and weak early bumps: the cases where a vectorised reading goes wrong.
    rng = np.random.default_rng(seed)
    traces = np.round(rng.random((40, 30)) * rng.random(30) * 4, 1) / 4
    traces[:, 0] = 0.0
    traces[:5, 1] = 0.5
    times = np.cumsum(rng.random(40) + 0.1)
    index, height = first_peak(traces, floor=0.3)
    arrival = first_arrival(traces, times, 0.5 * height)
    for j in range(traces.shape[1]):
        k, v = _first_peak_by_hand(list(traces[:, j]), 0.3)
        assert (index[j], height[j]) == (k, v)
        expected = _crossing_by_hand(list(traces[:, j]), times, 0.5 * v)
        assert arrival[j] == expected or (np.isnan(arrival[j]) and np.isnan(expected))


def test_the_arrivals_are_read_from_every_state_of_the_run():
    # The reading replays the run instead of storing it; the full trajectory, stored, gives the same times.
    from pixelflow import Reservoir, ReservoirConfig
    from pixelflow.eikonal import SPONGE

    speed = np.ones((24, 20))
    speed[12:, :] = 0.6
    est = wave_arrival_times(speed, (5, 7), max_time=40.0)
    m = est.margin
    medium = np.pad(speed, m, mode="edge")
    pulse = 0.5 * np.exp(-0.5 * (source_distance(medium.shape, (5 + m, 7 + m)) / 1.5) ** 2)
    config = ReservoirConfig(width=medium.shape[1], height=medium.shape[0], channels=2, steps=est.steps,
                             rule="wave", input_encoding="tile", dtype="float64", record="all",
                             rule_params={"c": medium, "dt": est.dt, "damping": 1.0, "boundary": "absorbing",
                                          "clip": 0.0, "sponge": SPONGE})
    amplitude = np.abs(Reservoir(config, backend="numpy").states(pulse[None])[0, :, 0, m:m + 24, m:m + 20])
    times = np.arange(est.steps + 1) * est.dt
    index, height = first_peak(amplitude)
    cut = np.where(np.arange(est.steps + 1)[:, None, None] <= index, amplitude, 0.0)
    stored = first_arrival(cut, times, 0.5 * height) - est.lag
    far = source_distance(speed.shape, (5, 7)) >= est.filled_radius
    np.testing.assert_array_equal(est.times[far], stored[far])


def test_a_huge_speed_field_is_refused_before_allocating():
    # A broadcast view occupies 8 bytes; the fast-marching maps would need tens of thousands of GiB.
    huge = np.broadcast_to(1.0, (10**6, 10**6))
    with pytest.raises(ValueError, match=r"fast-marching reference on a 1000000x1000000 speed field needs .* GiB"):
        reference_arrival_times(huge, (3, 3))
    with pytest.raises(ValueError, match=r"wave-reservoir estimate on a 1000000x1000000 speed field needs .* GiB"):
        wave_arrival_times(huge, (3, 3))
