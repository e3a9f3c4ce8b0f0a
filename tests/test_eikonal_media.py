"""Media with known first arrivals, and the wave estimate on each family against fast marching.

The estimator's design was chosen on other sources and geometries (a 64x64 grid: sources at the centre,
two cells from a corner, on an edge; a disc at (32, 32) with the source at (10, 32); a wall at row 32 with
the source at (10, 32)); the cases here were measured only after it was fixed.
"""

import math

import numpy as np
import pytest

from pixelflow.eikonal import error_summary, reference_arrival_times, source_distance, wave_arrival_times
from pixelflow.eikonal_media import (
    FAMILIES,
    constant_medium,
    disc_medium,
    draw_medium,
    smooth_medium,
    two_layer_medium,
    wall_medium,
)

GOAL = 0.02  # mean relative error, outside the straight-line core


def test_constant_medium_is_distance_over_speed():
    m = constant_medium((10, 12), (9, 0), speed=4.0)
    np.testing.assert_allclose(m.exact, source_distance((10, 12), (9, 0)) / 4.0)
    assert m.speed.shape == (10, 12) and np.all(m.speed == 4.0)


def test_two_layer_exact_times_follow_the_textbook_formulas():
    slow, fast, interface = 0.5, 1.0, 20
    m = two_layer_medium((40, 200), (10, 5), interface, slow, fast)
    depth = interface - 0.5
    theta = math.asin(slow / fast)
    # Along the source's row: direct wave up to the crossover distance, head wave beyond it.
    x = np.arange(200) - 5.0
    head = np.abs(x) / fast + 2 * (depth - 10) * math.cos(theta) / slow
    np.testing.assert_allclose(m.exact[10], np.minimum(np.abs(x) / slow, np.where(
        np.abs(x) >= 2 * (depth - 10) * math.tan(theta), head, np.inf)), rtol=1e-12)
    assert head[150] < abs(x[150]) / slow  # far enough, the head wave arrives first
    # Straight below the source the refracted ray is vertical.
    assert m.exact[35, 5] == pytest.approx((depth - 10) / slow + (35 - depth) / fast, rel=1e-9)
    # The times are continuous across the interface (one cell apart: at most a cell at the fast speed).
    assert np.max(np.abs(m.exact[interface] - m.exact[interface - 1])) <= 1 / slow + 1e-9


def test_two_layer_exact_times_agree_with_fast_marching():
    m = two_layer_medium((64, 80), (12, 60), 36, 0.6, 1.2)
    ref = reference_arrival_times(m.speed, m.source)
    assert error_summary(ref, m.exact, m.source, exclude_radius=4.5)["mean"] < 0.005


def test_the_wall_is_an_obstacle_no_first_arrival_crosses():
    m = wall_medium((64, 64), (50, 12), 28, (40, 48))
    ref = reference_arrival_times(m.speed, m.source)
    assert np.max(ref[m.speed == 1]) < m.horizon / 2  # the horizon covers every arrival outside the wall
    assert np.array_equal(m.free, m.speed == 1) and m.obstacle.sum() == 2 * (64 - 8)
    blocked = m.speed.copy()
    blocked[m.obstacle] = 1e-6
    free = m.free
    np.testing.assert_allclose(ref[free], reference_arrival_times(blocked, m.source)[free], rtol=1e-12)


@pytest.mark.parametrize("build, message", [
    (lambda: constant_medium((8, 8), (8, 0)), r"source \(8, 0\) lies outside the 8x8 grid"),
    (lambda: two_layer_medium((8, 8), (1, 1), 8), "interface must be a row in 1..7"),
    (lambda: two_layer_medium((8, 8), (6, 1), 4), "must lie in the slow layer"),
    (lambda: two_layer_medium((8, 8), (1, 1), 4, slow=1.0, fast=0.5), "the lower layer must be faster"),
    (lambda: wall_medium((8, 8), (4, 1), 4, (2, 5)), "lies in the wall"),
    (lambda: wall_medium((8, 8), (1, 1), 4, (5, 2)), r"gap must be columns \(start, stop\)"),
    (lambda: disc_medium((8, 8), (1, 1), (4, 4), 0.0), "radius must be"),
])
def test_the_builders_name_what_is_wrong(build, message):
    with pytest.raises(ValueError, match=message):
        build()


def _mean_error(m, free_only=False):
    ref = reference_arrival_times(m.speed, m.source)
    est = wave_arrival_times(m.speed, m.source, max_time=m.horizon)
    times = np.where(m.free, est.times, ref) if free_only else est.times
    return error_summary(times if free_only else est, ref, m.source, exclude_radius=est.filled_radius)["mean"]


@pytest.mark.parametrize("medium", [
    two_layer_medium((64, 80), (12, 60), 36, 0.6, 1.2),  # source 23.5 cells above the interface
    disc_medium((64, 64), (50, 20), (30, 36), 9),
    disc_medium((48, 72), (24, 5), (24, 36), 8, disc_speed=0.2),
    smooth_medium((64, 64), (3, 60), seed=7),
    smooth_medium((80, 48), (70, 10), seed=8, low=0.4, high=1.6),
], ids=lambda m: m.name)
def test_the_wave_estimate_meets_the_goal_on_each_family(medium):
    assert _mean_error(medium) < GOAL


@pytest.mark.parametrize("medium", [
    wall_medium((64, 64), (50, 12), 28, (40, 48)),
    wall_medium((72, 56), (5, 28), 30, (2, 9), thickness=3),
], ids=lambda m: m.name)
def test_behind_an_obstacle_the_diffracted_front_is_timed(medium):
    # Over the cells a path can use; inside the wall the wave and the ray picture disagree (next test).
    assert _mean_error(medium, free_only=True) < GOAL


@pytest.mark.xfail(strict=True, reason="inside a wall of speed 0.01 the wave's arrival is not the ray's "
                                       "(measured mean 0.026 over all cells, 0.010 over the free ones)")
def test_inside_the_wall_too():
    assert _mean_error(wall_medium((64, 64), (50, 12), 28, (40, 48))) < GOAL


@pytest.mark.xfail(strict=True, reason="a source 2.5 cells above a faster layer: the head wave leaves the "
                                       "direct wave less than a pulse width behind near the critical distance "
                                       "(measured mean 0.021, 95th percentile 0.10)")
def test_head_waves_from_a_source_just_above_the_interface():
    assert _mean_error(two_layer_medium((64, 64), (33, 50), 36)) < GOAL


def test_every_family_draws_valid_media_reproducibly():
    for family in FAMILIES:
        a, b = (draw_medium(family, np.random.default_rng(3)) for _ in range(2))
        assert a.name == b.name and np.array_equal(a.speed, b.speed)
        assert np.all(a.speed > 0) and 0 <= a.source[0] <= a.speed.shape[0] - 1
        # Only the wall has an obstacle; the source is never inside it.
        assert (a.obstacle is not None) == (family == "wall with a gap")
        r, c = (int(round(x)) for x in a.source)
        assert a.free[r, c]
    sources = [draw_medium("edge or corner source", np.random.default_rng(k)).source for k in range(20)]
    assert all(min(r, c) == 0 or max(r, c) == 63 for r, c in sources)
    layers = draw_medium("two layers", np.random.default_rng(0))
    assert layers.speed[int(layers.source[0]), int(layers.source[1])] == 0.5
    with pytest.raises(ValueError, match="family must be one of 'edge or corner source'.*got 'wall'"):
        draw_medium("wall", np.random.default_rng(0))
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, got int"):
        draw_medium("slow disc", 0)
