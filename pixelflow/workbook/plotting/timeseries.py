"""Figures for the time-series notebook (driven reservoirs against echo state networks).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from pixelflow.workbook.plotting.style import series_colors

__all__ = ["driven_states_figure", "forecast_figure", "memory_capacity_figure", "search_figure", "tasks_figure"]


def tasks_figure(panels: Mapping[str, tuple[np.ndarray, np.ndarray]], steps: int = 200) -> Figure:
    """The first ``steps`` steps of each task: input channels above, target channels below.

    ``panels`` maps a task name to ``(inputs (T, d), targets (T, k))`` of one sequence.
    """
    fig = Figure(figsize=(2.9 * len(panels), 3.6))
    axes = fig.subplots(2, len(panels), squeeze=False, sharex="col")
    for j, (name, (u, y)) in enumerate(panels.items()):
        t = np.arange(min(steps, len(u)))
        for row, (values, label) in enumerate(((u, "input"), (y, "target"))):
            ax = axes[row, j]
            values = values[: len(t)]
            for c in range(min(values.shape[1], 5)):
                ax.plot(t, values[:, c] + (1.2 * c if values.shape[1] > 1 and row == 0 else 0), lw=0.8)
            ax.set_ylabel(label if j == 0 else "")
            ax.grid(alpha=0.3)
        axes[0, j].set_title(name, fontsize=9)
        axes[1, j].set_xlabel("time step")
    fig.tight_layout()
    return fig


def driven_states_figure(states: np.ndarray, inputs: np.ndarray, times: Sequence[int], title: str = "") -> Figure:
    """Snapshots of one state channel ``states (T, H, W)`` at ``times``, under the input trace ``inputs (T,)``."""
    fig = Figure(figsize=(1.6 * len(times), 3.2))
    grid = fig.add_gridspec(2, len(times), height_ratios=(1.2, 1))
    limit = float(np.abs(states[list(times)]).max()) or 1.0
    for j, t in enumerate(times):
        ax = fig.add_subplot(grid[0, j])
        ax.imshow(states[t], cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_title(f"t = {t}", fontsize=8)
        ax.set_axis_off()
    ax = fig.add_subplot(grid[1, :])
    ax.plot(inputs, lw=0.8, color="0.3")
    ax.plot(list(times), inputs[list(times)], "o", color="C3", ms=4)
    ax.set_xlabel("time step")
    ax.set_ylabel("input u(t)")
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


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
        dropped = 0
        for i, kind in enumerate(kinds):
            v = np.asarray(scores[task][kind], dtype=float)
            dropped += int((~np.isfinite(v)).sum())
            v = v[np.isfinite(v)]
            if not len(v):
                continue
            jitter = (np.arange(len(v)) % 7 - 3) * 0.05
            ax.plot(i + jitter, v, "o", ms=3, alpha=0.6, color=colours[kind])
            if mark == "mean":
                ax.plot([i - 0.25, i + 0.25], [v.mean()] * 2, "-", lw=2, color=colours[kind])
            else:
                best = v.max() if "success" in ylabels[task] or "capacity" in ylabels[task] else v.min()
                ax.plot(i, best, "o", ms=9, mfc="none", color=colours[kind])
        ax.set_xticks(range(len(kinds)), kinds, rotation=45, ha="right", fontsize=8)
        if "NRMSE" in ylabels[task]:
            ax.set_yscale("log")
        ax.set_ylabel(ylabels[task], fontsize=8)
        ax.set_title(textwrap.fill(task, 22) + (f"\n({dropped} non-finite not shown)" if dropped else ""), fontsize=9)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def forecast_figure(truth: np.ndarray, forecasts: Mapping[str, np.ndarray], window: int = 0,
                    title: str = "") -> Figure:
    """Free-running forecasts against the truth: one window's trajectories, and NRMSE against lead time.

    ``truth`` and each forecast have shape ``(windows, horizon, 1)``.
    """
    fig = Figure(figsize=(10, 3.4))
    ax_traj, ax_err = fig.subplots(1, 2)
    lead = np.arange(1, truth.shape[1] + 1)
    ax_traj.plot(lead, truth[window, :, 0], color="k", lw=2, label="truth")
    scale = truth.std()
    colours = series_colors(forecasts)
    for name, pred in forecasts.items():
        ax_traj.plot(lead, pred[window, :, 0], color=colours[name], lw=1, label=name)
        err = np.sqrt(np.mean((pred[..., 0] - truth[..., 0]) ** 2, axis=0)) / scale
        ax_err.plot(lead, err, color=colours[name], label=name)
    ax_traj.set(xlabel="lead time (steps)", ylabel="x(t)", title="one free run")
    ax_err.set(xlabel="lead time (steps)", ylabel="RMSE / std of the series", title="error over all windows",
               yscale="log")
    for ax in (ax_traj, ax_err):
        ax.grid(alpha=0.3)
    ax_err.legend(fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def memory_capacity_figure(curves: Mapping[str, np.ndarray]) -> Figure:
    """Linear memory capacity per delay (squared correlation r²(u(t−k), ŷ_k)) and its running sum."""
    fig = Figure(figsize=(10, 3.4))
    ax_r2, ax_sum = fig.subplots(1, 2)
    colours = series_colors(curves)
    for name, r2 in curves.items():
        k = np.arange(1, len(r2) + 1)
        ax_r2.plot(k, r2, color=colours[name], label=f"{name} (capacity {np.nansum(r2):.1f})")
        ax_sum.plot(k, np.nancumsum(r2), color=colours[name], label=name)
    ax_r2.set(xlabel="delay k (steps)", ylabel="r² of u(t − k)", ylim=(-0.02, 1.02), title="memory function")
    ax_sum.set(xlabel="delay k (steps)", ylabel="capacity up to k", title="cumulative memory capacity")
    for ax in (ax_r2, ax_sum):
        ax.grid(alpha=0.3)
    ax_r2.legend(fontsize=8)
    fig.tight_layout()
    return fig
