"""Arrival times: the fast-marching reference, the crossing detector, the wave estimate."""

import numpy as np
import pytest

from pixelflow.eikonal import (
    first_arrival,
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
    assert mean_relative_error(t, exact, src) < 0.005


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
    assert mean_relative_error(est.times, ref, source) < 0.02


def test_wave_arrival_rejects_bad_sources():
    with pytest.raises(ValueError, match="outside"):
        wave_arrival_times(np.ones((16, 16)), (20, 3))
    with pytest.raises(ValueError, match="> 0"):
        reference_arrival_times(np.zeros((16, 16)), (3, 3))
