"""Figures for the learned-rules notebooks (neural CA).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["images_grid_figure", "loss_curves_figure", "score_by_step_figure", "spectra_figure"]


def _smooth(values: Sequence[float], window: int) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if window <= 1 or len(v) < window:
        return v
    kernel = np.ones(window) / window
    return np.convolve(v, kernel, mode="valid")


def loss_curves_figure(histories: Mapping[str, Sequence[float]], ylabel: str = "training loss",
                       smooth: int = 20, log: bool = True) -> Figure:
    """Training loss per iteration (moving average over ``smooth`` iterations), one line per run."""
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.subplots()
    for name, hist in histories.items():
        y = _smooth(hist, smooth)
        ax.plot(np.arange(len(y)) + (len(hist) - len(y)) / 2 + 1, y, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel(ylabel + (f" ({smooth}-iteration mean)" if smooth > 1 else ""))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def score_by_step_figure(curves: Mapping[str, Sequence[float]], ylabel: str, marks: Mapping[str, float] = (),
                         log: bool = True) -> Figure:
    """A score against the rollout step, one line per curve, with vertical marks (e.g. training horizon, damage)."""
    fig = Figure(figsize=(5.5, 3.2))
    ax = fig.subplots()
    for name, y in curves.items():
        ax.plot(np.arange(len(y)), y, label=name)
    for i, (label, step) in enumerate(dict(marks).items()):
        ax.axvline(step, color="0.4", ls=("--", ":", "-.")[i % 3], lw=1, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def images_grid_figure(rows: Mapping[str, Sequence[np.ndarray]], titles: Sequence[str] | None = None,
                       size: float = 1.5, cmap: str = "gray", vmin: float = 0.0, vmax: float = 1.0) -> Figure:
    """A grid of images: one labelled row per entry of ``rows``, columns titled by ``titles``."""
    names = list(rows)
    cols = max(len(v) for v in rows.values())
    fig = Figure(figsize=(size * cols + 1.2, size * len(names) + 0.3))
    axes = fig.subplots(len(names), cols, squeeze=False)
    for r, name in enumerate(names):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(rows[name]):
                ax.imshow(np.asarray(rows[name][c]), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            else:
                ax.axis("off")
            if c == 0:
                ax.set_ylabel(textwrap.fill(name, 14), fontsize=7)
            if r == 0 and titles is not None and c < len(titles):
                ax.set_title(str(titles[c]), fontsize=8)
    fig.tight_layout()
    return fig


def spectra_figure(spectra: Mapping[str, tuple[np.ndarray, np.ndarray]], nyquist: float | None = None) -> Figure:
    """Radially averaged power spectra on the training-grid frequency axis (log-log)."""
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    for name, (f, p) in spectra.items():
        keep = f > 0
        ax.loglog(f[keep], p[keep], label=name, lw=1.2, ls="--" if "target" in name else "-")
    if nyquist is not None:
        ax.axvline(nyquist, color="0.4", lw=1, ls=":", label="training-grid Nyquist")
    ax.set_xlabel("frequency (cycles per training-grid cell)")
    ax.set_ylabel("normalised power")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
