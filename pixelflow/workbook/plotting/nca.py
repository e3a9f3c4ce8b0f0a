"""Figures for the learned-rules notebooks (neural CA).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["accuracy_vs_cost_figure", "images_grid_figure", "loss_curves_figure", "score_by_step_figure",
           "spectra_figure", "training_curves_figure"]


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
    """A grid of images: one labelled row per entry of ``rows``, columns titled by ``titles``.

    A ``None`` in a row leaves that cell empty (no such image, e.g. a method not run at that resolution).
    """
    names = list(rows)
    cols = max(len(v) for v in rows.values())
    fig = Figure(figsize=(size * cols + 1.2, size * len(names) + 0.3))
    axes = fig.subplots(len(names), cols, squeeze=False)
    for r, name in enumerate(names):
        for c in range(cols):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c < len(rows[name]) and rows[name][c] is not None:
                ax.imshow(np.asarray(rows[name][c]), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            else:
                # Hide the frame but keep the axes, so a first column's row label still shows.
                for spine in ax.spines.values():
                    spine.set_visible(False)
            if c == 0:
                ax.set_ylabel(textwrap.fill(name, 14), fontsize=7)
            if r == 0 and titles is not None and c < len(titles):
                ax.set_title(str(titles[c]), fontsize=8)
    fig.tight_layout()
    return fig


# The power axis shows this many decades below the largest power: lower, a spectrum is only the rounding of an
# image whose mean was removed (its lowest bins reach 1e-30), which would squash the decades that differ.
SPECTRUM_DECADES = 6


def spectra_figure(spectra: Mapping[str, tuple[np.ndarray, np.ndarray]], nyquist: float | None = None) -> Figure:
    """Radially averaged power spectra on the training-grid frequency axis (log-log), the top
    :data:`SPECTRUM_DECADES` decades of power shown."""
    fig = Figure(figsize=(5.5, 3.4))
    ax = fig.subplots()
    top = 0.0
    for name, (f, p) in spectra.items():
        keep = f > 0
        ax.loglog(f[keep], p[keep], label=name, lw=1.2, ls="--" if "target" in name or "truth" in name else "-")
        top = max(top, float(np.nanmax(p[keep])) if keep.any() else 0.0)
    if top > 0:
        ax.set_ylim(top * 10.0 ** -SPECTRUM_DECADES, top * 2)
    if nyquist is not None:
        ax.axvline(nyquist, color="0.4", lw=1, ls=":", label="training-grid Nyquist")
    ax.set_xlabel("frequency (cycles per training-grid cell)")
    ax.set_ylabel("normalised power")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def training_curves_figure(results: Mapping[str, dict], fixed: dict, title: str) -> Figure:
    """End-to-end training of learned reservoirs: loss and validation accuracy per epoch, fixed reservoir as a line.

    ``results`` maps a name to a fixed-vs-learned ``evaluate`` result with
    ``history`` (learned runs only are drawn); ``fixed`` is the fixed one.
    """
    fig = Figure(figsize=(10, 3.8))
    ax_loss, ax_val = fig.subplots(1, 2)
    learned = [(name, r) for name, r in results.items() if r.get("train") is not None]
    for (name, r), colour in zip(learned, ("C1", "C2", "C3", "C4")):
        for k, history in enumerate(r["history"]):
            epochs = [h["epoch"] for h in history]
            label = name if k == 0 else None
            ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", color=colour, label=label)
            ax_val.plot(epochs, [100 * h["val_accuracy"] for h in history], "o-", color=colour,
                        label=label and f"{name}, head")
            ax_val.plot(epochs[-1], 100 * r["val_accuracy"][k], "*", ms=12, color=colour,
                        label=label and f"{name}, ridge")
    ax_val.axhline(100 * np.mean(fixed["val_accuracy"]), ls="--", color="C0", label="fixed, ridge")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)",
                title="end-to-end training (validation images held out)")
    ax_val.set(xlabel="epoch", ylabel="validation accuracy (%)", title="validation images")
    fig.suptitle(title, fontsize=10)
    for ax in (ax_loss, ax_val):
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_loss.legend(fontsize=8)
    ax_val.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def accuracy_vs_cost_figure(results: Mapping[str, dict], title: str) -> Figure:
    """Test accuracy against wall time per seed: each seed as a dot, mean ± std as a square."""
    fig = Figure(figsize=(5.5, 3.8))
    ax = fig.subplots()
    for (name, r), colour in zip(results.items(), ("C0", "C1", "C2", "C3")):
        ax.plot(r["cost_s"], 100 * np.asarray(r["test_accuracy"]), "o", color=colour, alpha=0.4)
        spread = np.std(r["cost_s"], ddof=1) if len(r["cost_s"]) > 1 else 0.0
        ax.errorbar(np.mean(r["cost_s"]), 100 * r["mean"], yerr=100 * r["std"], xerr=spread, fmt="s",
                    ms=8, color=colour, capsize=3,
                    label=f"{name}, {r['epochs']} epochs" if r["epochs"] else f"{name}, untrained")
    ax.set_xlim(left=0)
    ax.set(xlabel="wall time per seed, images → test predictions (s, CPU)", ylabel="test accuracy (%), ridge readout")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def render_cost_figure(costs: Mapping[str, Mapping[int, tuple[float, float | None]]], unit: str = "images") -> Figure:
    """Wall time and peak memory against the image's side, one line per way of making the image (log-log).

    ``costs[name][side] = (seconds, peak_bytes)``; a missing peak (None), or
    one of 0 (the work fitted in memory the process already held), is left
    out of the logarithmic memory panel.
    """
    fig = Figure(figsize=(9, 3.2))
    ax_t, ax_m = fig.subplots(1, 2)
    for i, (name, points) in enumerate(costs.items()):
        sides = sorted(points)
        ax_t.loglog(sides, [points[s][0] for s in sides], "o-", color=f"C{i}", label=name)
        mem = [(s, points[s][1]) for s in sides if points[s][1]]
        if mem:
            ax_m.loglog([s for s, _ in mem], [m / 2**20 for _, m in mem], "o-", color=f"C{i}", label=name)
    ax_t.set(xlabel="image side (pixels)", ylabel=f"wall time for the {unit} (s)", title="time")
    ax_m.set(xlabel="image side (pixels)", ylabel="peak memory added (MiB)", title="memory")
    for ax in (ax_t, ax_m):
        ax.grid(alpha=0.3, which="both")
    ax_t.legend(fontsize=7)
    fig.tight_layout()
    return fig
