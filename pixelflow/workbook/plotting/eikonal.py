"""Arrival-time figures: reference vs reservoir maps, relative error, and profiles.

A *case* is a mapping with ``name``, ``reference`` (H, W), ``times`` (H, W,
the reservoir's estimate, NaN where the wave never arrived) and ``source``
(row, col), as built in ``notebooks/04_eikonal.ipynb`` from
:func:`pixelflow.eikonal.reference_arrival_times` and
:func:`pixelflow.eikonal.wave_arrival_times`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from pixelflow.eikonal import mean_relative_error, source_distance
from pixelflow.workbook.plotting.style import MAX_HEIGHT_IN, SMALL_PT, TEXT_WIDTH_IN

ERROR_FLOOR = 1e-4  # relative errors below this share the darkest colour


def relative_error(times, reference) -> np.ndarray:
    """``|times - reference| / reference`` per cell (NaN where either is NaN or the reference is 0)."""
    times = np.asarray(times, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(times - reference) / reference
    return np.where(reference > 0, rel, np.nan)


def error_breakdown(times, reference, source, pinned: float = 4.5, ring: float = 12.0, edge: int = 8) -> dict:
    """Mean relative error by region, to show where the error comes from.

    Regions (distances in cells from the source; NaN estimates count as 1,
    as in :func:`pixelflow.eikonal.mean_relative_error`):

    - ``ring``: ``pinned <= d <= ring``, just outside the core that
      ``wave_arrival_times`` fills with the straight-line time (its
      ``filled_radius``: ``3 * 1.5`` for the default pulse);
    - ``far``: ``d > ring``, at least ``edge`` cells from the boundary;
    - ``edge``: ``d > ring`` within ``edge`` cells of the boundary.

    Returns
    -------
    dict with ``ring``, ``far``, ``edge`` (NaN for an empty region) and
    ``never_arrived`` (cells where the estimate is NaN).
    """
    rel = relative_error(times, reference)
    rel = np.where(np.isnan(np.asarray(times, dtype=np.float64)), 1.0, rel)
    h, w = rel.shape
    d = source_distance(rel.shape, tuple(source))
    iy, ix = np.arange(h), np.arange(w)
    to_edge = np.minimum.outer(np.minimum(iy, h - 1 - iy), np.minimum(ix, w - 1 - ix))
    outer = d > ring
    masks = {"ring": (d >= pinned) & ~outer, "far": outer & (to_edge >= edge), "edge": outer & (to_edge < edge)}
    out = {k: float(np.nanmean(rel[m])) if m.any() else float("nan") for k, m in masks.items()}
    out["never_arrived"] = int(np.isnan(np.asarray(times, dtype=np.float64)).sum())
    return out


def _mark(ax, source):
    ax.plot(source[1], source[0], "+", color="white", ms=7, mew=1.5)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_error_maps(cases: Sequence[Mapping], error_max: float = 0.1) -> Figure:
    """One row per case: reference times, reservoir times (shared colour scale), relative error (log scale)."""
    if not cases:
        raise ValueError("plot_error_maps needs at least one case")
    # Rows share the printable height: a figure taller than the page would print shrunk, its type with it.
    fig = Figure(figsize=(TEXT_WIDTH_IN, min(2.3 * len(cases), MAX_HEIGHT_IN)), layout="constrained")
    axes = fig.subplots(len(cases), 3, squeeze=False)
    norm = LogNorm(ERROR_FLOOR, error_max)
    for row, case in zip(axes, cases):
        ref, est = np.asarray(case["reference"]), np.asarray(case["times"])
        vmax = float(np.nanmax(ref))
        for ax, img, title in ((row[0], ref, "fast marching"), (row[1], est, "wave reservoir")):
            im = ax.imshow(img, cmap="viridis", vmin=0, vmax=vmax)
            ax.set_title(title, fontsize=SMALL_PT)
            _mark(ax, case["source"])
        bar = fig.colorbar(im, ax=row[:2], shrink=0.85)
        bar.set_label("arrival time", fontsize=SMALL_PT)
        bar.ax.tick_params(labelsize=SMALL_PT)
        rel = np.clip(relative_error(est, ref), ERROR_FLOOR, None)
        err = row[2].imshow(rel, cmap="magma", norm=norm)
        mean = mean_relative_error(est, ref, case["source"], exclude_radius=case.get("filled_radius"))
        row[2].set_title(f"relative error, mean {mean:.3f}", fontsize=SMALL_PT)
        _mark(row[2], case["source"])
        bar = fig.colorbar(err, ax=row[2], shrink=0.85, extend="both")
        bar.set_label(r"$|T - T_{\mathrm{ref}}|\,/\,T_{\mathrm{ref}}$", fontsize=SMALL_PT)
        bar.ax.tick_params(labelsize=SMALL_PT)
        row[0].set_ylabel(textwrap.fill(case["name"], 18), fontsize=SMALL_PT)
    return fig


def plot_profiles(cases: Sequence[Mapping]) -> Figure:
    """Arrival time along the grid row through each source: reference vs reservoir, one panel per case."""
    if not cases:
        raise ValueError("plot_profiles needs at least one case")
    fig = Figure(figsize=(3.0 * len(cases), 2.8), layout="constrained")
    axes = fig.subplots(1, len(cases), squeeze=False)[0]
    for ax, case in zip(axes, cases):
        r = int(round(case["source"][0]))
        ref, est = np.asarray(case["reference"])[r], np.asarray(case["times"])[r]
        x = np.arange(len(ref))
        ax.plot(x, ref, "-", color="black", lw=1.5, label="reference")
        ax.plot(x, est, "o", color="tab:orange", ms=2.5, label="reservoir")
        ax.axvline(case["source"][1], color="grey", lw=0.8, ls=":")
        ax.set_title(case["name"], fontsize=8)
        ax.set_xlabel(f"column (row {r})")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("arrival time")
    axes[0].legend(fontsize=7)
    return fig


def plot_solve_times(sizes: Sequence[int], seconds: Mapping[str, Sequence[float]]) -> Figure:
    """Time per solve against the number of cells, on log axes: one line per solver.

    ``sizes`` are the grid sides n (grids of n x n cells); ``seconds[name]``
    the time of one solve of each grid. A dotted line of slope 1.5 (n^3 for n^2
    cells: a front must cross the grid in ~n steps of ~n^2 cells) is drawn
    through the first point of the first solver, to read the growth against.
    """
    sizes = np.asarray(sizes, dtype=np.float64)
    if sizes.ndim != 1 or len(sizes) < 2 or not seconds:
        raise ValueError("plot_solve_times needs at least two grid sizes and one solver")
    cells = sizes**2
    fig = Figure(figsize=(4.2, 3.2), layout="constrained")
    ax = fig.subplots()
    for (name, values), marker in zip(seconds.items(), "os^dv"):
        values = np.asarray(values, dtype=np.float64)
        if values.shape != sizes.shape:
            raise ValueError(f"seconds[{name!r}] has {values.size} times for {sizes.size} grid sizes")
        ax.loglog(cells, values, marker=marker, label=name)
    first = np.asarray(next(iter(seconds.values())), dtype=np.float64)[0]
    ax.loglog(cells, first * (cells / cells[0]) ** 1.5, ":", color="grey", label="∝ cells$^{1.5}$")
    ax.set_xticks(cells, [f"{int(n)}²" for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("grid (cells)")
    ax.set_ylabel("seconds per solve")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig
