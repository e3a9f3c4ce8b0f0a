"""Figures for the learned-rules notebooks (neural CA).

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from pixelflow.workbook.plotting.style import SMALL_PT, TEXT_WIDTH_IN

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
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.2), layout="constrained")
    ax = fig.subplots()
    for name, hist in histories.items():
        y = _smooth(hist, smooth)
        ax.plot(np.arange(len(y)) + (len(hist) - len(y)) / 2 + 1, y, label=name)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("iteration")
    # Wrapped to the axis' height: on one line a long loss name ran past both ends of the axis.
    ax.set_ylabel(textwrap.fill(ylabel + (f" ({smooth}-iteration mean)" if smooth > 1 else ""), 34))
    ax.grid(alpha=0.3)
    ax.tick_params(labelsize=SMALL_PT)
    # Beside the axes: inside them, the legend of several runs covered the curves' first iterations.
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=SMALL_PT)
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

    Each image is ``size`` inches square, or smaller when the columns would not fit the paper's text width
    (narrowed after the fact, the images would leave empty bands between the rows and the titles would run into
    each other); titles wrap to their column's width.
    A ``None`` in a row leaves that cell empty (no such image, e.g. a method not run at that resolution).
    """
    names = list(rows)
    cols = max(len(v) for v in rows.values())
    label_width = 0.9  # the row labels' column, inches
    size = min(size, (TEXT_WIDTH_IN - label_width) / cols)
    # About 0.55 em per character: the most characters of small type that fit one column.
    per_line = max(6, int(size * 72 / (0.55 * SMALL_PT)))
    wrapped = [textwrap.fill(str(t), per_line) for t in titles] if titles is not None else []
    title_lines = max((t.count("\n") + 1 for t in wrapped), default=0)
    fig = Figure(figsize=(size * cols + label_width, size * len(names) + 0.16 * title_lines + 0.1),
                 layout="constrained")
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)
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
                ax.set_ylabel(textwrap.fill(name, 14), fontsize=SMALL_PT)
            if r == 0 and c < len(wrapped):
                ax.set_title(wrapped[c], fontsize=SMALL_PT)
    return fig


# The power axis shows this many decades below the largest power: lower, a spectrum is only the rounding of an
# image whose mean was removed (its lowest bins reach 1e-30), which would squash the decades that differ.
SPECTRUM_DECADES = 6


def spectra_figure(spectra: Mapping[str, tuple[np.ndarray, np.ndarray]], nyquist: float | None = None,
                   colors: Mapping[str, str] | None = None) -> Figure:
    """Radially averaged power spectra on the training-grid frequency axis (log-log), the top
    :data:`SPECTRUM_DECADES` decades of power shown.

    ``colors`` maps a spectrum's name to its colour, so that figures of several textures draw a method alike;
    by default the spectra take the colour cycle in order.
    """
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.4), layout="constrained")
    ax = fig.subplots()
    top, low, high = 0.0, np.inf, 0.0
    for i, (name, (f, p)) in enumerate(spectra.items()):
        keep = f > 0
        colour = (colors or {}).get(name, f"C{i % 10}")
        ax.loglog(f[keep], p[keep], label=name, lw=1.2, color=colour,
                  ls="--" if "target" in name or "truth" in name else "-")
        if keep.any():
            top = max(top, float(np.nanmax(p[keep])))
            low, high = min(low, float(f[keep].min())), max(high, float(f[keep].max()))
    if top > 0:
        ax.set_ylim(top * 10.0 ** -SPECTRUM_DECADES, top * 2)
    if high > 0:
        ax.set_xlim(low / 1.15, high * 1.15)  # the frequencies measured, no empty decade beside them
    if nyquist is not None:
        ax.axvline(nyquist, color="0.4", lw=1, ls=":", label="training-grid Nyquist")
    ax.set_xlabel("frequency (cycles per training-grid cell)")
    ax.set_ylabel("normalised power")
    ax.grid(alpha=0.3, which="both")
    ax.tick_params(labelsize=SMALL_PT)
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=7)
    return fig


def training_curves_figure(results: Mapping[str, dict], fixed: dict, title: str) -> Figure:
    """End-to-end training of learned reservoirs: loss and validation accuracy per epoch, fixed reservoir as a line.

    ``results`` maps a name to a fixed-vs-learned ``evaluate`` result with
    ``history`` (learned runs only are drawn); ``fixed`` is the fixed one.
    """
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.9), layout="constrained")
    ax_loss, ax_val = fig.subplots(1, 2)
    learned = [(name, r) for name, r in results.items() if r.get("train") is not None]
    for (name, r), colour in zip(learned, ("C1", "C2", "C3", "C4")):
        for k, history in enumerate(r["history"]):
            epochs = [h["epoch"] for h in history]
            label = name if k == 0 else None
            ax_loss.plot(epochs, [h["train_loss"] for h in history], "o-", color=colour)
            ax_val.plot(epochs, [100 * h["val_accuracy"] for h in history], "o-", color=colour,
                        label=label and f"{name}: its own head")
            ax_val.plot(epochs[-1], 100 * r["val_accuracy"][k], "*", ms=12, color=colour,
                        label=label and f"{name}: ridge on its features")
    ax_val.axhline(100 * np.mean(fixed["val_accuracy"]), ls="--", color="C0", label="fixed reservoir: ridge")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (cross-entropy)")
    ax_loss.set_title("training loss (validation images held out)", fontsize=9)
    ax_val.set_xlabel("epoch")
    ax_val.set_ylabel("validation accuracy (%)")
    ax_val.set_title("validation accuracy", fontsize=9)
    fig.suptitle(title, fontsize=9)
    for ax in (ax_loss, ax_val):
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(labelsize=SMALL_PT)
    # One legend for both panels, below them: inside a panel it covered the first epochs' curves.
    fig.legend(*ax_val.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=SMALL_PT)
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
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.6), layout="constrained")
    ax_t, ax_m = fig.subplots(1, 2)
    all_sides = sorted({s for points in costs.values() for s in points})
    for i, (name, points) in enumerate(costs.items()):
        sides = sorted(points)
        ax_t.loglog(sides, [points[s][0] for s in sides], "o-", color=f"C{i}", label=name)
        mem = [(s, points[s][1]) for s in sides if points[s][1]]
        if mem:
            ax_m.loglog([s for s, _ in mem], [m / 2**20 for _, m in mem], "o-", color=f"C{i}")
    ax_t.set_ylabel(f"wall time for the {unit} (s)")
    ax_m.set_ylabel("peak memory added (MiB)")
    ax_t.set_title("time", fontsize=9)
    ax_m.set_title("memory", fontsize=9)
    for ax in (ax_t, ax_m):
        ax.set_xlabel("image side (pixels)")
        # The sides measured, written out: a log axis' own labels (2×10², 3×10², ...) ran into each other.
        ax.set_xticks(all_sides, [str(s) for s in all_sides])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(labelsize=SMALL_PT)
        ax.grid(alpha=0.3, which="both")
    # One legend for both panels, below them, where it covers no line.
    fig.legend(*ax_t.get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=SMALL_PT)
    return fig
