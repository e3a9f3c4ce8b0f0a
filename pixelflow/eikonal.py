"""First-arrival times: the scikit-fmm reference and the wave-reservoir estimate.

The Eikonal equation ``|grad T| = 1 / c`` gives the first-arrival time T of
a front leaving a point source through a medium of speed c. The reference is
scikit-fmm's second-order fast marching. The reservoir estimate runs the
``wave`` rule from a smooth pulse at the source and reads, for every cell,
the moment its amplitude first reaches half of its **first** peak (linearly
interpolated between steps), minus the lag of that criterion:

* **Any source position.** With absorbing edges the medium is extended
  beyond the grid by repeating its edge cells, and the damping layer lies in
  that margin: a source on an edge or in a corner starts in undamped medium.
  Repeating the edge speeds opens no shortcut: projecting a path that leaves
  the grid back onto it shortens it through cells of the same speeds.
* **No calibration on the medium.** The lag of the criterion is a property
  of the pulse and the time step alone: it is measured once in free space at
  unit speed (:func:`criterion_lag`; constant in the distance travelled) and
  divided by the speed at the source, whatever surrounds the source.
* **Weak first fronts.** A head wave, or the wave diffracted around an
  obstacle, can arrive first and weaker than what follows (a focused or a
  reflected wave). Half of a cell's *overall* peak would then time the later
  wave; half of its first peak times the first.

Within ``3 * pulse_width`` of the source, where the initial pulse itself
lies, no arrival can be read: those cells get the straight-line time, and an
error measure must leave them out (:attr:`WaveArrivals.filled_radius`).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass

import numpy as np
import skfmm
from tqdm.auto import tqdm

from pixelflow.backends import get_backend
from pixelflow.checks import check_real
from pixelflow.config import ReservoirConfig
from pixelflow.driven import PROGRESS_CELL_UPDATES
from pixelflow.memory import ensure_fits
from pixelflow.reservoir import Reservoir
from pixelflow.rules.wave import CFL_LIMIT

# Inside this radius (cells) the reference is the straight-line time at the
# source speed; fast marching starts from that circle, which removes most of
# its error from the curvature of a point source (measured: mean relative
# error 0.26 % at radius 3 vs 0.68 % at radius 1 on a 64x64 constant field).
REFERENCE_RADIUS = 3.0


# Bytes per grid cell that each entry point holds at its peak beyond the speed
# field itself (measured: ~53 for the fast-marching reference, distance maps
# and pulse for the wave estimate), with some margin.
_GRID_BYTES_PER_CELL = 64
# Bytes per simulated cell of a wave reading: two float64 states of two
# channels (32), three amplitude frames (24) and the per-cell results of the
# passes (peak, index, height, threshold, arrival: 40), with some margin.
_READING_BYTES_PER_CELL = 128
# A wave reading longer than this many time steps is refused: even a 2x2 grid
# would take hours, so such a horizon is a mistake in max_time or speed.
MAX_STEPS = 10**8
_BOUNDARIES = ("absorbing", "periodic")
# Width (cells) of the damping layer in the margin around an absorbing grid.
SPONGE = 16
# A cell's first peak must reach this fraction of its overall peak to count:
# far below any physical first front, far above the pulse's Gaussian tail and
# rounding (measured: the same arrivals at 1e-3 and 1e-2).
PEAK_FLOOR = 1e-3


def _check_speed_and_source(speed, source, what: str) -> tuple[np.ndarray, tuple[float, float]]:
    """The speed field as float64 and the source as floats, or an error naming the argument.

    ``what`` names the computation in the message when the grid alone would
    not fit in memory (checked before any per-cell work, since ``speed`` may be
    a broadcast view of a field far larger than the memory it occupies).
    """
    arr = np.asarray(speed)
    if arr.dtype.kind == "O":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError("speed must be a 2-D array of real numbers, got an object array "
                            "that does not convert to float") from None
    elif arr.dtype.kind not in "iuf":
        raise TypeError(f"speed must be a 2-D array of real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise ValueError(f"speed must be a 2-D field of at least 2x2 cells, got shape {arr.shape}")
    h, w = arr.shape
    ensure_fits(h * w * _GRID_BYTES_PER_CELL, f"{what} on a {h}x{w} speed field", "use a smaller speed field")
    speed = np.asarray(arr, dtype=np.float64)
    bad = ~np.isfinite(speed)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"speed must be finite and > 0 everywhere; {int(bad.sum())} cell(s) are not finite, "
                         f"the first at ({r}, {c}) is {speed[r, c]}")
    if np.any(speed <= 0):
        r, c = np.unravel_index(np.argmin(speed), speed.shape)
        raise ValueError(f"speed must be finite and > 0 everywhere; its minimum is {speed[r, c]} at ({r}, {c})")
    try:
        r, c = (float(v) for v in source)
    except (TypeError, ValueError):
        raise TypeError(f"source must be a (row, col) pair of numbers, got {source!r}") from None
    if not (math.isfinite(r) and math.isfinite(c)):
        raise ValueError(f"source must be a (row, col) pair of finite numbers, got {source!r}")
    if not (0 <= r <= h - 1 and 0 <= c <= w - 1):
        raise ValueError(f"source {source!r} lies outside the {h}x{w} grid (rows 0..{h - 1}, columns 0..{w - 1})")
    return speed, (r, c)


def source_distance(shape: tuple[int, int], source: tuple[float, float]) -> np.ndarray:
    """Euclidean distance (cells) of every cell centre from ``source``."""
    yy, xx = np.meshgrid(np.arange(shape[0]) - source[0], np.arange(shape[1]) - source[1], indexing="ij")
    return np.hypot(yy, xx)


def reference_arrival_times(speed, source, dx: float = 1.0) -> np.ndarray:
    """First-arrival times from scikit-fmm (second-order fast marching).

    Parameters
    ----------
    speed : array, shape (H, W)
        Positive propagation speed, in cells (of size ``dx``) per unit time.
    source : (row, col)
        Source position in cell coordinates (may be fractional).
    dx : float
        Cell size, finite and > 0.

    Returns
    -------
    ndarray of float64, shape (H, W)

    Raises
    ------
    TypeError
        ``speed`` is not an array of real numbers, ``source`` not a pair of
        numbers or ``dx`` not a real number.
    ValueError
        ``speed`` is not a finite, positive 2-D field of at least 2x2 cells,
        ``source`` lies outside the grid, ``dx`` is not finite and > 0, or the
        field is too large for the memory available.
    """
    dx = check_real(dx, "dx", low=0.0, low_open=True)
    speed, src = _check_speed_and_source(speed, source, "the fast-marching reference")
    dist = source_distance(speed.shape, src)
    c0 = speed[int(round(src[0])), int(round(src[1]))]
    radius = min(REFERENCE_RADIUS, 0.5 * max(dist.max(), 1.0))
    t = skfmm.travel_time(dist - radius, speed, dx=dx, order=2) + radius * dx / c0
    inside = dist <= radius
    t[inside] = dist[inside] * dx / c0
    return np.asarray(t, dtype=np.float64)


def _first_crossings(replay, times, threshold, until=None) -> np.ndarray:
    """One pass over the frames of ``replay()``: when each trace first reaches ``threshold``.

    The single home of the crossing arithmetic (:func:`first_arrival` and the
    wave reading both call it). ``until`` (an index per trace) makes every
    later sample count as 0, so a trace is read only up to that index; the
    pass stops as soon as every trace has crossed or passed its ``until``.
    """
    arrival = None
    previous = None
    for t, frame in enumerate(replay()):
        frame = np.asarray(frame, dtype=np.float64)
        if arrival is None:
            arrival = np.full(frame.shape, np.nan)
            crossed = np.zeros(frame.shape, dtype=bool)
            threshold = np.broadcast_to(threshold, frame.shape)
            last = None if until is None else int(np.max(until))
        if until is not None:
            frame = np.where(t <= until, frame, 0.0)
        hit = ~crossed & (frame >= threshold)
        if t == 0:
            arrival[hit] = times[0]
        elif hit.any():
            s0, s1, thr = previous[hit], frame[hit], threshold[hit]
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(s1 > s0, (thr - s0) / (s1 - s0), 1.0)
            arrival[hit] = times[t - 1] + np.clip(frac, 0.0, 1.0) * (times[t] - times[t - 1])
        crossed |= hit
        if crossed.all() or (last is not None and t >= last):
            break
        previous = frame
    return arrival


def _first_peaks(replay, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """Two passes over the frames of ``replay()``: each trace's first peak (see :func:`first_peak`).

    The first pass finds each trace's overall peak (and where it first
    occurs), the second its first local maximum of at least ``floor`` times
    that peak; it stops once every trace has one.
    """
    peak = None
    for t, frame in enumerate(replay()):
        if peak is None:
            peak = np.array(frame, dtype=np.float64)
            index = np.zeros(peak.shape, dtype=np.int64)
            continue
        higher = frame > peak
        index[higher] = t
        peak[higher] = frame[higher]
    if peak is None or t < 1:
        raise ValueError(f"a trace needs at least 2 samples, got {0 if peak is None else t + 1}")
    height = peak.copy()
    level = floor * peak
    found = np.zeros(peak.shape, dtype=bool)
    before = previous = None
    for t, frame in enumerate(replay()):
        frame = np.asarray(frame, dtype=np.float64)
        if t >= 1:
            # Is the previous sample a local maximum? The first one needs only to exceed its successor.
            local = previous > frame if t == 1 else (previous > before) & (previous >= frame)
            hit = local & ~found & (previous >= level) & (previous > 0)
            index[hit], height[hit] = t - 1, previous[hit]
            found |= hit
            if found.all():
                return index, height
        before, previous = previous, frame
    # The last sample is a peak if it rose into it.
    hit = (previous > before) & ~found & (previous >= level) & (previous > 0)
    index[hit], height[hit] = t, previous[hit]
    return index, height


def first_arrival(signal: np.ndarray, times: np.ndarray, threshold) -> np.ndarray:
    """Time at which each trace first reaches ``threshold``, between samples.

    Parameters
    ----------
    signal : array, shape (T, ...)
        Traces sampled at ``times``.
    times : array, shape (T,)
        Increasing sample times.
    threshold : float or array broadcastable to ``signal.shape[1:]``

    Returns
    -------
    ndarray
        Linear interpolation between the last sample below and the first
        sample at or above the threshold; ``times[0]`` where the first sample
        already reaches it; NaN where it is never reached.

    >>> first_arrival(np.array([[0.0], [0.2], [0.6], [1.0]]), np.array([0.0, 1.0, 2.0, 3.0]), 0.4)
    array([1.5])
    """
    signal = np.asarray(signal, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if signal.shape[0] != times.shape[0]:
        raise ValueError(f"signal has {signal.shape[0]} samples but times has {times.shape[0]}")
    if np.any(np.diff(times) <= 0):
        raise ValueError("times must be strictly increasing")
    return _first_crossings(lambda: iter(signal), times, threshold)


def first_peak(signal: np.ndarray, floor: float = PEAK_FLOOR) -> tuple[np.ndarray, np.ndarray]:
    """Index and height of each trace's first local maximum of at least ``floor`` times the trace's maximum.

    Parameters
    ----------
    signal : array, shape (T, ...)
        Non-negative traces (e.g. absolute amplitudes).
    floor : float in [0, 1]

    Returns
    -------
    (index, height) : ndarrays of shape ``signal.shape[1:]``
        A trace that only rises peaks at its last sample; an all-zero trace
        at index 0 with height 0.

    >>> trace = np.array([0.0, 0.2, 0.1, 0.3, 1.0, 0.4])
    >>> first_peak(trace[:, None], floor=0.1)
    (array([1]), array([0.2]))
    >>> first_peak(trace[:, None], floor=0.5)
    (array([4]), array([1.]))
    """
    signal = np.asarray(signal, dtype=np.float64)
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"floor must be a fraction in [0, 1], got {floor!r}")
    if signal.shape[0] < 2:
        raise ValueError(f"signal needs at least 2 samples, got {signal.shape[0]}")
    return _first_peaks(lambda: iter(signal), floor)


def _peak_crossings(replay, fraction: float, dt: float, steps: int) -> np.ndarray:
    """Time each trace of ``replay()`` first reaches ``fraction`` of its first peak, at or before that peak.

    Three passes over the frames, never all of them at once: a reading needs
    memory for a few frames whatever its length.
    """
    index, height = _first_peaks(replay, PEAK_FLOOR)
    return _first_crossings(replay, np.arange(steps + 1) * dt, fraction * height, until=index)


@functools.lru_cache(maxsize=32)
def criterion_lag(pulse_width: float, courant: float, fraction: float) -> float:
    """How much earlier than ``distance / speed`` the arrival criterion fires, in cells at unit speed.

    Measured once per setting in free space: a unit-speed medium, the pulse
    of standard deviation ``pulse_width`` at the centre of a grid wide enough
    that the damping layer stays far from it, time step ``courant`` (``dt *
    c``), and the crossing of ``fraction`` of each cell's first peak, minus
    its distance, over the cells between 3 and 6 pulse widths from the source
    (the median). Divided by a medium's speed at its source it is the lag in
    that medium's time. It does not depend on the distance travelled
    (measured at fraction 0.5: the same to 0.01 from 5 to 45 cells), which
    is why the estimate uses half of the peak.
    """
    reach = 6.0 * pulse_width
    half = int(math.ceil(reach + 3 * pulse_width)) + SPONGE + 4
    n = 2 * half + 1
    steps = int(math.ceil((reach + 4 * pulse_width) / courant))
    dist = source_distance((n, n), (half, half))
    run = _WaveRun(np.ones((n, n)), dist, pulse_width, courant, steps, "absorbing", "numpy")
    crossing = _peak_crossings(run.frames, fraction, courant, steps)
    ring = (dist >= 3 * pulse_width) & (dist <= reach)
    return float(np.median(crossing[ring] - dist[ring]))


class _WaveRun:
    """The wave rule run from a Gaussian pulse, replayable: :meth:`frames` yields |amplitude| step by step.

    ``dist`` is each cell's distance from the pulse's centre; ``crop`` keeps
    only that part of each frame. Every replay computes the same states bit
    for bit (the rule is deterministic), so a reading may pass over the run
    several times instead of storing it.
    """

    def __init__(self, speed, dist, pulse_width, dt, steps, boundary, backend, crop=(slice(None), slice(None)),
                 progress=False, passes=1):
        h, w = speed.shape
        self.pulse = 0.5 * np.exp(-0.5 * (dist / pulse_width) ** 2)
        config = ReservoirConfig(
            width=w,
            height=h,
            channels=2,
            steps=steps,
            rule="wave",
            rule_params={"c": speed, "dt": dt, "damping": 1.0, "boundary": boundary, "clip": 0.0,
                         "sponge": SPONGE if boundary == "absorbing" else 0},
            input_encoding="tile",
            dtype="float64",
        )
        self.engine = Reservoir(config, backend=backend, progress=False).engine
        self.steps, self.crop, self.progress = steps, crop, progress
        self.passes, self.done = passes, 0

    def frames(self):
        engine = self.engine
        self.done += 1
        bar = tqdm(total=self.steps + 1, desc=f"wave arrivals, pass {self.done} of up to {self.passes}",
                   unit="step", disable=not self.progress, leave=False)
        with bar, engine.first_use(), engine.blas_limit():
            engine.prepare(self.pulse.shape)
            x = engine.backend.asarray(self.pulse[None], dtype=engine.dtype)
            for _, state in engine.evolve(x):
                bar.update()
                yield np.abs(engine.backend.to_numpy(state)[0, 0][self.crop])


@dataclass(frozen=True)
class WaveArrivals:
    """Result of :func:`wave_arrival_times`.

    Attributes
    ----------
    times : ndarray (H, W)
        Estimated first-arrival times (NaN where the wave never arrived).
    dt : float
        Time step used.
    steps : int
    lag : float
        Delay of the arrival criterion subtracted from ``times`` (negative:
        the criterion fires before the pulse's centre arrives), in time units.
    filled_radius : float
        Cells closer than this to the source hold the straight-line time,
        not a reading of the wave; error measures leave them out.
    margin : int
        Cells of repeated edge medium simulated around the grid on every side.
    """

    times: np.ndarray
    dt: float
    steps: int
    lag: float
    filled_radius: float
    margin: int


def _check_run_fits(steps: float, h: int, w: int, what: str, advice: str) -> None:
    """Refuse, before building it, a wave reading of ``steps`` time steps that is too long or cannot fit.

    A reading passes over the run a few times instead of storing it, so its
    memory does not grow with ``steps``; its time does. ``steps`` is a float
    so that a horizon beyond any integer count (an overflow to infinity) is
    refused with the same message.
    """
    if not steps <= MAX_STEPS:  # also catches inf and NaN
        raise ValueError(f"{what} is {steps:.3g} time steps, more than the {MAX_STEPS:.0e} a reading may take; "
                         f"{advice}")
    ensure_fits(h * w * _READING_BYTES_PER_CELL, f"{what}: reading the run", advice)


def wave_arrival_times(
    speed,
    source,
    *,
    cfl: float = 0.5,
    fraction: float = 0.5,
    pulse_width: float = 1.5,
    boundary: str = "absorbing",
    max_time: float | None = None,
    backend: str = "numpy",
    progress: bool | None = None,
) -> WaveArrivals:
    """First-arrival times read off a wave-reservoir run.

    Parameters
    ----------
    speed : array (H, W)
        Positive speed field (cells per unit time).
    source : (row, col)
        Centre of the initial Gaussian pulse.
    cfl : float in (0, 1]
        Time step as a fraction of the stability limit ``1 / (sqrt(2) max c)``.
    fraction : float in (0, 1)
        A cell has arrived when its |amplitude| reaches this fraction of its
        first peak (:func:`first_peak`).
    pulse_width : float
        Standard deviation of the initial pulse, in cells; finite and > 0.
    boundary : {"absorbing", "periodic"}
        Absorbing: the grid is an open piece of a larger medium (simulated
        with a margin of repeated edge cells that holds the damping layer);
        periodic: the medium is a torus.
    max_time : float, optional
        Simulated time, finite and > 0; default: 1.5 × the longest straight
        path at the slowest speed.
    backend : str
    progress : bool, optional
        Show a progress bar over each pass of the reading; by default for
        runs of at least a billion cell updates.

    Returns
    -------
    WaveArrivals

    Raises
    ------
    TypeError
        An argument of the wrong type (``speed`` not an array of real
        numbers, ``source`` not a pair of numbers, a non-number ``cfl``,
        ``fraction``, ``pulse_width`` or ``max_time``, a non-string backend).
    ValueError
        A value outside the range given above, an unknown ``boundary`` or
        ``backend``, a run of more than :data:`MAX_STEPS` time steps (until
        ``max_time``, at the step the fastest speed allows) or one whose grid
        would not fit in the memory available; the message names
        ``max_time``, or ``speed`` when the default horizon is too long.

    Notes
    -----
    The run is never stored: the reading passes over it three times (each
    cell's overall peak, its first peak, the crossing), recomputing the same
    states each time, so memory stays a few grids whatever the horizon
    (512x512 cells and ~3,000 steps would otherwise hold ~15 GB).
    """
    # Every argument is checked before anything the size of the run is built.
    cfl = check_real(cfl, "cfl", low=0.0, high=1.0, low_open=True)
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"fraction must be a number in (0, 1), got {fraction!r}")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be a number in (0, 1), got {fraction!r}")
    pulse_width = check_real(pulse_width, "pulse_width", low=0.0, low_open=True)
    if not isinstance(boundary, str) or boundary not in _BOUNDARIES:
        raise ValueError(f"boundary must be one of {', '.join(map(repr, _BOUNDARIES))}, got {boundary!r}")
    if max_time is not None:
        max_time = check_real(max_time, "max_time", low=0.0, low_open=True)
    backend = get_backend(backend)
    speed, src = _check_speed_and_source(speed, source, "the wave-reservoir estimate")
    h, w = speed.shape
    dt = cfl * CFL_LIMIT / float(speed.max())
    if max_time is None:
        max_time = 1.5 * math.hypot(h, w) / float(speed.min())
        horizon = (f"the default max_time={max_time:.3g} (1.5 x the grid diagonal at the slowest speed "
                   f"{float(speed.min()):.3g}) in steps of dt={dt:.3g} (set by the fastest speed "
                   f"{float(speed.max()):.3g})")
        advice = "pass a shorter max_time, or a speed field with less contrast between its slowest and fastest cells"
    else:
        horizon = f"max_time={max_time:.6g} in steps of dt={dt:.3g} (set by the fastest speed {float(speed.max()):.3g})"
        advice = "pass a shorter max_time or a slower speed field"
    margin = SPONGE + int(math.ceil(3 * pulse_width)) + 4 if boundary == "absorbing" else 0
    _check_run_fits(max_time / dt, h + 2 * margin, w + 2 * margin,
                    f"{horizon} on the {h}x{w} grid (simulated with a {margin}-cell margin)", advice)
    steps = int(math.ceil(max_time / dt))
    dist = source_distance(speed.shape, src)
    medium = np.pad(speed, margin, mode="edge")
    around = source_distance(medium.shape, (src[0] + margin, src[1] + margin))
    if progress is None:
        progress = medium.size * steps >= PROGRESS_CELL_UPDATES
    run = _WaveRun(medium, around, pulse_width, dt, steps, boundary, backend, passes=3, progress=bool(progress),
                   crop=(slice(margin, margin + h), slice(margin, margin + w)))
    crossing = _peak_crossings(run.frames, fraction, dt, steps)
    c0 = float(speed[int(round(src[0])), int(round(src[1]))])
    # The criterion's lag at the time step the source cell sees (dt * c0), in this medium's time.
    lag = criterion_lag(float(pulse_width), round(dt * c0, 12), float(fraction)) / c0
    times = crossing - lag
    filled = 3.0 * pulse_width
    near = dist < filled
    times[near] = dist[near] / c0
    return WaveArrivals(times=times, dt=dt, steps=steps, lag=lag, filled_radius=filled, margin=margin)


def relative_errors(times, reference, source, exclude_radius: float | None = None) -> np.ndarray:
    """``|times - reference| / reference`` of the cells at least ``exclude_radius`` from the source, flattened.

    ``times`` is an array or a :class:`WaveArrivals`; for the latter the
    default ``exclude_radius`` is its ``filled_radius`` (the cells it did not
    read off the wave), for an array 1 cell. A cell the wave never reached
    (NaN) counts as an error of 1.
    """
    if isinstance(times, WaveArrivals):
        exclude_radius = times.filled_radius if exclude_radius is None else exclude_radius
        times = times.times
    exclude_radius = 1.0 if exclude_radius is None else check_real(exclude_radius, "exclude_radius", low=0.0)
    times = np.asarray(times, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if times.shape != reference.shape:
        raise ValueError(f"times {times.shape} and reference {reference.shape} differ in shape")
    mask = source_distance(times.shape, tuple(source)) >= exclude_radius
    if not mask.any():
        raise ValueError(f"no cell lies {exclude_radius:g} or more from the source {tuple(source)} on the "
                         f"{times.shape[0]}x{times.shape[1]} grid")
    rel = np.abs(times[mask] - reference[mask]) / reference[mask]
    return np.where(np.isnan(rel), 1.0, rel)


def mean_relative_error(times, reference, source, exclude_radius: float | None = None) -> float:
    """Mean of :func:`relative_errors` (the same arguments)."""
    return float(np.mean(relative_errors(times, reference, source, exclude_radius)))


def error_summary(times, reference, source, exclude_radius: float | None = None) -> dict:
    """The distribution of :func:`relative_errors`: ``mean``, ``median``, ``p95``, ``max`` and ``cells`` counted.

    >>> ref = np.ones((8, 8)); est = ref * 1.1
    >>> {k: round(v, 3) for k, v in error_summary(est, ref, (0, 0), exclude_radius=0).items()}
    {'mean': 0.1, 'median': 0.1, 'p95': 0.1, 'max': 0.1, 'cells': 64}
    """
    rel = relative_errors(times, reference, source, exclude_radius)
    return {"mean": float(rel.mean()), "median": float(np.median(rel)), "p95": float(np.percentile(rel, 95)),
            "max": float(rel.max()), "cells": int(rel.size)}
