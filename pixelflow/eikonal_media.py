"""Speed fields to test a first-arrival solver on, with their exact answer where one is known.

Each builder returns a :class:`Medium`: the speed field, a source and, where
the answer has a closed form, the exact first-arrival times ``exact``:

* :func:`constant_medium` — straight lines: ``distance / speed``, for a
  source anywhere, on an edge or in a corner included;
* :func:`two_layer_medium` — a slow layer over a fast one: the direct wave,
  the head wave along the interface (Mohorovičić's refraction) and the
  refracted wave below it, whichever arrives first;
* :func:`disc_medium` — a slow disc (a lens: waves focus behind it);
* :func:`wall_medium` — an obstacle with an opening: a wall slow enough that
  no first arrival crosses it, so fronts reach the far side only through the
  gap, by diffraction;
* :func:`smooth_medium` — a random smooth field.

:func:`draw_medium` draws one medium of a named family (:data:`FAMILIES`)
from a random generator: the families a user of an Eikonal solver tries.

Speeds are in cells per unit time, one value per cell centre; in the two-layer
medium the interface lies half-way between the last slow row and the first
fast one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from pixelflow.checks import check_int, check_real

__all__ = ["FAMILIES", "Medium", "constant_medium", "disc_medium", "draw_medium", "smooth_medium", "two_layer_medium",
           "wall_medium"]


@dataclass(frozen=True)
class Medium:
    """A speed field, a source and, where known, the exact first-arrival times.

    Attributes
    ----------
    name : str
    speed : ndarray (H, W)
    source : (row, col)
    exact : ndarray (H, W) or None
    horizon : float or None
        A simulated time that covers every first arrival a solver is asked
        for, where the default of :func:`pixelflow.eikonal.wave_arrival_times`
        (set by the slowest cell) would be far longer: outside an obstacle,
        fronts arrive long before anything crosses it.
    obstacle : ndarray of bool (H, W) or None
        The cells of an obstacle (a wall's own cells). Inside an obstacle a
        wave and a ray disagree on what "arrival" means, so an error measure
        of the cells a path can use leaves them out (:attr:`free`).
    """

    name: str
    speed: np.ndarray
    source: tuple[float, float]
    exact: np.ndarray | None = None
    horizon: float | None = None
    obstacle: np.ndarray | None = None

    @property
    def free(self) -> np.ndarray:
        """The cells outside any obstacle (every cell where there is none)."""
        return np.ones(self.speed.shape, dtype=bool) if self.obstacle is None else ~self.obstacle


def _grid(shape) -> tuple[np.ndarray, np.ndarray]:
    h, w = (check_int(n, "shape", low=2) for n in shape)
    return np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")


def _inside(shape, source) -> tuple[float, float]:
    row, col = (float(x) for x in source)
    if not (0 <= row <= shape[0] - 1 and 0 <= col <= shape[1] - 1):
        raise ValueError(f"source {tuple(source)} lies outside the {shape[0]}x{shape[1]} grid")
    return row, col


def constant_medium(shape, source, speed: float = 1.0) -> Medium:
    """Uniform ``speed``: the first arrival is the straight-line distance over the speed.

    >>> m = constant_medium((4, 5), (0, 0), speed=2.0)
    >>> float(m.exact[3, 4])
    2.5
    """
    speed = check_real(speed, "speed", low=0.0, low_open=True)
    rows, cols = _grid(shape)
    source = _inside(rows.shape, source)
    exact = np.hypot(rows - source[0], cols - source[1]) / speed
    return Medium(f"constant, source at {source}", np.full(rows.shape, speed), source, exact)


def _ternary_min(f, low, high, iterations: int = 200):
    """Minimum over ``[low, high]`` (arrays) of a function convex in its argument, elementwise."""
    for _ in range(iterations):
        a = low + (high - low) / 3
        b = high - (high - low) / 3
        left = f(a) < f(b)
        high = np.where(left, b, high)
        low = np.where(left, low, a)
    return f(0.5 * (low + high))


def two_layer_medium(shape, source, interface: int, slow: float = 0.5, fast: float = 1.0) -> Medium:
    """Rows above ``interface`` at speed ``slow``, the rest at ``fast``; the source in the slow layer.

    The exact first arrival in the slow layer is the earlier of the direct
    wave and, beyond the critical distance ``(h_s + h_r) tan(theta)`` (with
    ``sin(theta) = slow / fast`` and ``h_s``, ``h_r`` the source's and the
    receiver's heights above the interface), the head wave
    ``x / fast + (h_s + h_r) cos(theta) / slow``. In the fast layer it is the
    refracted wave, the fastest path that crosses the interface once (found
    per cell: its time is convex in the crossing point).

    >>> m = two_layer_medium((20, 40), (5, 5), interface=10, slow=0.5, fast=1.0)
    >>> bool(m.exact[5, 39] < 34 / 0.5)  # the head wave beats the direct wave far along the layer
    True
    """
    slow = check_real(slow, "slow", low=0.0, low_open=True)
    fast = check_real(fast, "fast", low=0.0, low_open=True)
    if not slow < fast:
        raise ValueError(f"the lower layer must be faster: slow={slow!r}, fast={fast!r}")
    rows, cols = _grid(shape)
    h = rows.shape[0]
    interface = check_int(interface, "interface", low=1)
    if interface >= h:
        raise ValueError(f"interface must be a row in 1..{h - 1} of the {h}-row grid, got {interface}")
    source = _inside(rows.shape, source)
    depth = interface - 0.5  # the interface lies between rows interface-1 and interface
    if source[0] >= depth:
        raise ValueError(f"the source {source} must lie in the slow layer, above row {depth}")
    speed = np.where(rows < depth, slow, fast)
    direct = np.hypot(rows - source[0], cols - source[1]) / slow
    theta = math.asin(slow / fast)
    h_s, h_r, x = depth - source[0], depth - rows, np.abs(cols - source[1])
    head = x / fast + (h_s + h_r) * math.cos(theta) / slow
    above = np.where(x >= (h_s + h_r) * math.tan(theta), np.minimum(direct, head), direct)
    # Below: the crossing point lies between the source's and the cell's columns.
    low, high = np.minimum(source[1], cols), np.maximum(source[1], cols)

    def refracted(at):
        return np.hypot(at - source[1], h_s) / slow + np.hypot(cols - at, rows - depth) / fast

    below = _ternary_min(refracted, low, high)
    exact = np.where(rows < depth, above, below)
    return Medium(f"two layers ({slow:g} over {fast:g}), source at {source}", speed, source, exact)


def disc_medium(shape, source, centre, radius: float, speed: float = 1.0, disc_speed: float = 0.3) -> Medium:
    """Uniform ``speed`` with a disc of ``disc_speed`` (no closed form: compare with fast marching)."""
    speed = check_real(speed, "speed", low=0.0, low_open=True)
    disc_speed = check_real(disc_speed, "disc_speed", low=0.0, low_open=True)
    radius = check_real(radius, "radius", low=0.0, low_open=True)
    rows, cols = _grid(shape)
    source = _inside(rows.shape, source)
    field = np.full(rows.shape, speed)
    field[np.hypot(rows - centre[0], cols - centre[1]) <= radius] = disc_speed
    return Medium(f"slow disc ({disc_speed:g} in {speed:g}), source at {source}", field, source)


def wall_medium(shape, source, row: int, gap: tuple[int, int], thickness: int = 2, speed: float = 1.0,
                wall_speed: float = 0.01) -> Medium:
    """Uniform ``speed`` crossed by a horizontal wall (rows ``row .. row + thickness - 1``) open at columns ``gap``.

    The wall is an obstacle: at the default ``wall_speed`` crossing it takes
    longer than any detour through the gap on grids of a few hundred cells,
    which the caller can check (:func:`pixelflow.eikonal.reference_arrival_times`
    with and without the wall's cells slowed further gives the same times).
    """
    speed = check_real(speed, "speed", low=0.0, low_open=True)
    wall_speed = check_real(wall_speed, "wall_speed", low=0.0, low_open=True)
    rows, cols = _grid(shape)
    source = _inside(rows.shape, source)
    thickness = check_int(thickness, "thickness", low=1)
    start, stop = (check_int(g, "gap", low=0) for g in gap)
    if not start < stop <= rows.shape[1]:
        raise ValueError(f"gap must be columns (start, stop) with 0 <= start < stop <= {rows.shape[1]}, got {gap}")
    wall = (rows >= row) & (rows < row + thickness) & ~((cols >= start) & (cols < stop))
    if wall[int(round(source[0])), int(round(source[1]))]:
        raise ValueError(f"the source {source} lies in the wall")
    field = np.where(wall, wall_speed, speed)
    # A detour through the gap is shorter than three diagonals of the grid.
    horizon = 3 * math.hypot(*rows.shape) / speed
    return Medium(f"wall with a gap at columns {start}..{stop - 1}, source at {source}", field, source, horizon=horizon,
                  obstacle=wall)


def smooth_medium(shape, source, seed: int = 0, low: float = 0.5, high: float = 1.5,
                  correlation: float = 8.0) -> Medium:
    """A random smooth field in ``[low, high]``: white noise smoothed by a Gaussian of ``correlation`` cells."""
    from scipy.ndimage import gaussian_filter

    low = check_real(low, "low", low=0.0, low_open=True)
    high = check_real(high, "high", low=low, low_open=True)
    rows, _ = _grid(shape)
    source = _inside(rows.shape, source)
    g = gaussian_filter(np.random.default_rng(seed).standard_normal(rows.shape), correlation)
    g = (g - g.min()) / (g.max() - g.min())
    return Medium(f"smooth random (seed {seed}), source at {source}", low + (high - low) * g, source)


#: The families :func:`draw_medium` draws from, in the order the workbook reports them.
FAMILIES = ("edge or corner source", "two layers", "slow disc", "wall with a gap", "smooth random", "non-square grid")


def draw_medium(family: str, rng: np.random.Generator, n: int = 64) -> Medium:
    """One medium of ``family`` on an ``n`` x ``n`` grid (48 x 96 for the non-square one), drawn from ``rng``.

    * edge or corner source — constant speed, the source on the boundary, in
      a corner half of the time;
    * two layers — speed 0.5 over 1.0, the interface at row 28–40 of 64 (in
      proportion on other grids), the source anywhere in the slow layer;
    * slow disc — radius 6–10 cells, speed 0.2–0.4 in 1, the source at least
      5 cells outside it;
    * wall with a gap — 2–3 cells thick, speed 0.01, an opening of 4–10
      cells, the source on either side;
    * smooth random — speed in [0.5, 1.5], correlation 6–12 cells;
    * non-square grid — 48 x 96 cells of constant speed.

    >>> m = draw_medium("wall with a gap", np.random.default_rng(0))
    >>> m.speed.shape, int(m.obstacle.sum()) > 0
    ((64, 64), True)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    n = check_int(n, "n", low=48)
    if family == "edge or corner source":
        if rng.random() < 0.5:
            source = tuple(float(x) for x in rng.integers(0, 2, 2) * (n - 1))
        else:
            along, side = rng.uniform(0, n - 1), rng.integers(4)
            source = [(0.0, along), (n - 1.0, along), (along, 0.0), (along, n - 1.0)][side]
        return constant_medium((n, n), source)
    if family == "two layers":
        interface = int(rng.integers(round(n * 28 / 64), round(n * 40 / 64) + 1))
        return two_layer_medium((n, n), (rng.uniform(0, interface - 1), rng.uniform(0, n - 1)), interface, 0.5, 1.0)
    if family == "slow disc":
        centre, radius = rng.uniform(20, n - 20, 2), rng.uniform(6, 10)
        while True:
            source = rng.uniform(0, n - 1, 2)
            if np.hypot(*(source - centre)) > radius + 5:
                return disc_medium((n, n), tuple(source), tuple(centre), radius, disc_speed=rng.uniform(0.2, 0.4))
    if family == "wall with a gap":
        row, thickness, width = int(rng.integers(24, n - 23)), int(rng.integers(2, 4)), int(rng.integers(4, 11))
        start = int(rng.integers(0, n - width + 1))
        above = rng.random() < 0.5
        source = (rng.uniform(0, row - 1) if above else rng.uniform(row + thickness, n - 1), rng.uniform(0, n - 1))
        return wall_medium((n, n), source, row, (start, start + width), thickness)
    if family == "smooth random":
        return smooth_medium((n, n), tuple(rng.uniform(0, n - 1, 2)), seed=int(rng.integers(2**31)),
                             correlation=rng.uniform(6, 12))
    if family == "non-square grid":
        return constant_medium((48, 96), (rng.uniform(0, 47), rng.uniform(0, 95)))
    raise ValueError(f"family must be one of {', '.join(map(repr, FAMILIES))}, got {family!r}")
