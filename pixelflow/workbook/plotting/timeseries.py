"""Figures for the time-series notebook (driven reservoirs against echo state networks).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from pixelflow.workbook.plotting.scales import log_if_wide
from pixelflow.workbook.plotting.style import SMALL_PT, TEXT_WIDTH_IN, series_colors

__all__ = ["driven_states_figure", "forecast_figure", "memory_capacity_figure", "search_figure", "tasks_figure"]


def tasks_figure(panels: Mapping[str, tuple[np.ndarray, np.ndarray]], steps: int = 200,
                 channels: Mapping[str, tuple[Sequence[str] | None, Sequence[str] | None]] | None = None) -> Figure:
    """The first ``steps`` steps of each task: input channels above, target channels below.

    ``panels`` maps a task name to ``(inputs (T, d), targets (T, k))`` of one sequence; ``channels`` maps a task
    name to the names of its input and of its target channels. Several channels are drawn one above the other,
    each named on the axis (at most five: the first five are shown).
    """
    fig = Figure(figsize=(TEXT_WIDTH_IN, 4.0), layout="constrained")
    axes = fig.subplots(2, len(panels), squeeze=False, sharex="col")
    for j, (name, (u, y)) in enumerate(panels.items()):
        t = np.arange(min(steps, len(u)))
        names = (channels or {}).get(name, (None, None))
        for row, (values, label) in enumerate(((u, "input"), (y, "target"))):
            ax = axes[row, j]
            values = values[: len(t)]
            shown = min(values.shape[1], 5)
            for c in range(shown):
                ax.plot(t, values[:, c] + (1.5 * c if shown > 1 else 0), lw=0.8)
            if shown > 1:  # stacked: each channel's baseline named instead of a value axis
                given = names[row]
                ax.set_yticks([1.5 * c for c in range(shown)],
                              [given[c] if given else f"channel {c + 1}" for c in range(shown)], fontsize=SMALL_PT)
            else:
                ax.tick_params(axis="y", labelsize=SMALL_PT)
            ax.tick_params(axis="x", labelsize=SMALL_PT)
            ax.set_ylabel(label if j == 0 else "")
            ax.grid(alpha=0.3)
        axes[0, j].set_title(textwrap.fill(name, 16, break_on_hyphens=False), fontsize=9)
        axes[1, j].set_xlabel("time step", fontsize=SMALL_PT)
    return fig


def driven_states_figure(states: np.ndarray, inputs: np.ndarray, times: Sequence[int], title: str = "") -> Figure:
    """Snapshots of one state channel ``states (T, H, W)`` at ``times``, under the input trace ``inputs (T,)``."""
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.4), layout="constrained")
    grid = fig.add_gridspec(2, len(times), height_ratios=(1.2, 1))
    limit = float(np.abs(states[list(times)]).max()) or 1.0
    snapshots = []
    for j, t in enumerate(times):
        ax = fig.add_subplot(grid[0, j])
        image = ax.imshow(states[t], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(f"t = {t}", fontsize=SMALL_PT)
        ax.set_xticks([])
        ax.set_yticks([])
        snapshots.append(ax)
    bar = fig.colorbar(image, ax=snapshots, shrink=0.8)
    bar.set_label("state", fontsize=SMALL_PT)
    bar.ax.tick_params(labelsize=SMALL_PT)
    ax = fig.add_subplot(grid[1, :])
    ax.plot(inputs, lw=0.8, color="0.3")
    ax.plot(list(times), inputs[list(times)], "o", color="C3", ms=4)
    ax.set_xlabel("time step")
    ax.set_ylabel("input u(t)")
    ax.tick_params(labelsize=SMALL_PT)
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


#: The largest NRMSE a search figure draws to scale; a larger one (a free run that diverged) is drawn at this value.
NRMSE_SHOWN_MAX = 1e3


def search_figure(scores: Mapping[str, Mapping[str, Sequence[float]]], ylabels: Mapping[str, str],
                  mark: str = "best") -> Figure:
    """One dot per value: one panel per task, one column of dots per reservoir.

    ``scores[task][reservoir]`` are values of the task's metric: the search
    trials' validation scores (``mark="best"`` rings the best of each
    reservoir) or the test scores of the weight seeds (``mark="mean"``
    draws their mean as a bar). Non-finite values (a diverged run) are
    counted below the panel's title.
    """
    if mark not in ("best", "mean"):
        raise ValueError(f"mark must be 'best' or 'mean', got mark={mark!r}")
    tasks = list(scores)
    # At most three panels a row: the figure is printed at the text's width.
    ncols = min(3, len(tasks))
    nrows = -(-len(tasks) // ncols)
    fig = Figure(figsize=(2.3 * ncols, 2.9 * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    for ax, task in zip(axes, tasks):
        kinds = list(scores[task])
        colours = series_colors(kinds)
        log = "NRMSE" in ylabels[task]
        dropped = above = 0
        for i, kind in enumerate(kinds):
            v = np.asarray(scores[task][kind], dtype=float)
            dropped += int((~np.isfinite(v)).sum())
            v = v[np.isfinite(v)]
            if not len(v):
                continue
            jitter = (np.arange(len(v)) % 7 - 3) * 0.05
            # A diverged free run's error reaches 1e20: on its own axis it would flatten every other dot, so
            # it is drawn as a triangle at NRMSE_SHOWN_MAX and counted.
            over = log & (v > NRMSE_SHOWN_MAX)
            above += int(over.sum())
            ax.plot((i + jitter)[~over], v[~over], "o", ms=3, alpha=0.6, color=colours[kind])
            ax.plot((i + jitter)[over], np.full(over.sum(), NRMSE_SHOWN_MAX), "^", ms=4, alpha=0.8,
                    color=colours[kind])
            shown = np.minimum(v, NRMSE_SHOWN_MAX) if log else v
            if mark == "mean":
                ax.plot([i - 0.25, i + 0.25], [shown.mean()] * 2, "-", lw=2, color=colours[kind])
            else:
                best = shown.max() if "success" in ylabels[task] or "capacity" in ylabels[task] else shown.min()
                ax.plot(i, best, "o", ms=9, mfc="none", color=colours[kind])
        ax.set_xticks(range(len(kinds)), kinds, rotation=45, ha="right", fontsize=8)
        if log:
            log_if_wide(ax, [y for line in ax.lines for y in line.get_ydata()])
        ax.set_ylabel(ylabels[task], fontsize=8)
        notes = ([f"{dropped} non-finite not shown"] if dropped else []) + (
            [f"{above} above {NRMSE_SHOWN_MAX:g} at ▲"] if above else [])
        title = textwrap.fill(task, 22, break_on_hyphens=False)
        ax.set_title(title + "".join(f"\n({note})" for note in notes), fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def forecast_figure(truth: np.ndarray, forecasts: Mapping[str, np.ndarray], window: int = 0,
                    title: str = "") -> Figure:
    """Free-running forecasts against the truth: one window's trajectories, and NRMSE against lead time.

    ``truth`` and each forecast have shape ``(windows, horizon, 1)``.
    """
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.6), layout="constrained")
    ax_traj, ax_err = fig.subplots(1, 2)
    lead = np.arange(1, truth.shape[1] + 1)
    ax_traj.plot(lead, truth[window, :, 0], color="k", lw=2, label="truth")
    scale = truth.std()
    colours = series_colors(forecasts)
    for name, pred in forecasts.items():
        ax_traj.plot(lead, pred[window, :, 0], color=colours[name], lw=1, label=name)
        err = np.sqrt(np.mean((pred[..., 0] - truth[..., 0]) ** 2, axis=0)) / scale
        ax_err.plot(lead, err, color=colours[name], label=name)
    ax_traj.set(xlabel="lead time (steps)", ylabel="x(t)")
    ax_err.set(xlabel="lead time (steps)", ylabel="RMSE / std of the series", yscale="log")
    ax_traj.set_title("one free run", fontsize=9)
    ax_err.set_title("error over all windows", fontsize=9)
    for ax in (ax_traj, ax_err):
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=SMALL_PT)
    # One legend for both panels (the free run's truth included), below them, where it covers no curve.
    fig.legend(*ax_traj.get_legend_handles_labels(), loc="outside lower center", ncol=min(4, len(forecasts) + 1),
               fontsize=SMALL_PT)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def memory_capacity_figure(curves: Mapping[str, np.ndarray]) -> Figure:
    """Linear memory capacity per delay (squared correlation r²(u(t−k), ŷ_k)) and its running sum."""
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.6), layout="constrained")
    ax_r2, ax_sum = fig.subplots(1, 2)
    colours = series_colors(curves)
    for name, r2 in curves.items():
        k = np.arange(1, len(r2) + 1)
        ax_r2.plot(k, r2, color=colours[name], label=f"{name} (capacity {np.nansum(r2):.1f})")
        ax_sum.plot(k, np.nancumsum(r2), color=colours[name], label=name)
    ax_r2.set(xlabel="delay k (steps)", ylabel="r² of u(t − k)", ylim=(-0.02, 1.02))
    ax_sum.set(xlabel="delay k (steps)", ylabel="capacity up to k")
    ax_r2.set_title("memory function", fontsize=9)
    ax_sum.set_title("cumulative memory capacity", fontsize=9)
    for ax in (ax_r2, ax_sum):
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=SMALL_PT)
    # Below both panels: inside the memory function it covered the short delays, where every curve falls.
    fig.legend(*ax_r2.get_legend_handles_labels(), loc="outside lower center", ncol=min(3, len(curves)),
               fontsize=SMALL_PT)
    return fig
