"""Speed figures: backends side by side, and throughput against batch and grid size.

Both take the rows of :mod:`pixelflow.workbook.speed` (``load_benchmarks``,
``throughput_sweep``) and return a matplotlib Figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator, NullLocator

from pixelflow.workbook.speed import PEER, with_ratios


def _label(row: dict) -> str:
    return f"{row['implementation']} ({row['backend']})"


def plot_backends(rows: Sequence[dict], reference: str = PEER, title: str | None = None) -> Figure:
    """Horizontal bars of samples/s, one per implementation × backend, labelled with the ratio to ``reference``."""
    rows = sorted(with_ratios(rows, reference), key=lambda r: r["samples_per_s"])
    fig = Figure(figsize=(6.0, 0.9 + 0.45 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    y = range(len(rows))
    colours = ["tab:grey" if r["implementation"] == reference else "tab:blue" for r in rows]
    ax.barh(list(y), [r["samples_per_s"] for r in rows], color=colours)
    ax.set_yticks(list(y), [_label(r) for r in rows])
    for i, r in enumerate(rows):
        note = f" {r['samples_per_s']:,.0f}/s" + (f"  ×{r['ratio']:.1f}" if r["ratio"] is not None else "")
        ax.text(r["samples_per_s"], i, note, va="center", fontsize=8)
    ax.set_xlabel("samples / s")
    ax.set_xlim(0, 1.35 * max(r["samples_per_s"] for r in rows))
    # Few ticks, in thousands: six-digit tick labels at the default spacing run into each other.
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / 1000:,.0f}k" if v else "0"))
    if title is None and rows:
        r = rows[0]
        grid = f"{r['grid']}×{r.get('width', r['grid'])}×{r['channels']}"
        title = f"{r['rule']}, {grid}, {r['steps']} steps — {r['device']}"
    ax.set_title(title, fontsize=9)
    return fig


def plot_scaling(rows: Sequence[dict], title: str | None = None) -> Figure:
    """Two panels: samples/s against batch size (a line per grid: the median of the timed repeats, shaded from
    the slowest to the fastest where the rows hold their times), and cell updates/s against grid size (a line
    per batch; flat means the cost grows exactly with the grid's area)."""
    rows = list(rows)
    if not rows:
        raise ValueError("plot_scaling needs at least one row")
    several = len({(r["implementation"], r["backend"]) for r in rows}) > 1
    tag = (lambda r: f"{_label(r)}, ") if several else (lambda r: "")
    by_grid, by_batch = defaultdict(list), defaultdict(list)
    for r in rows:
        by_grid[(tag(r), r["grid"])].append(r)
        by_batch[(tag(r), r["batch"])].append(r)
    fig = Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_b, ax_g = fig.subplots(1, 2)
    for (prefix, grid), line in sorted(by_grid.items()):
        line.sort(key=lambda r: r["batch"])
        batches, median = [r["batch"] for r in line], [r["samples_per_s"] for r in line]
        drawn = ax_b.plot(batches, median, "o-", label=f"{prefix}{grid}×{grid}")
        if all(r.get("times_s") for r in line):  # the spread of the timed repeats: slowest to fastest
            slow = [r["batch"] / max(r["times_s"]) for r in line]
            fast = [r["batch"] / min(r["times_s"]) for r in line]
            ax_b.fill_between(batches, slow, fast, color=drawn[0].get_color(), alpha=0.2, linewidth=0)
    # Batch sizes in one sequential colour map, small to large: the grids on the left take the colour cycle, and
    # the same colours must not mean a batch here and a grid there.
    shades = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, max(1, len(by_batch))))
    for shade, ((prefix, batch), line) in zip(shades, sorted(by_batch.items())):
        line.sort(key=lambda r: r["grid"])
        ax_g.plot([r["grid"] for r in line], [r["cell_updates_per_s"] for r in line], "s-", color=shade,
                  label=f"{prefix}batch {batch}")
    ax_b.set_xlabel("batch size (samples per transform call)")
    ax_g.set_xlabel("grid size H = W (cells)")
    ax_b.set_ylabel("samples / s")
    ax_g.set_ylabel("cell updates / s")
    for ax, key in ((ax_b, "batch"), (ax_g, "grid")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ticks = sorted({r[key] for r in rows})
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.grid(True, which="both", alpha=0.3)
    if ax_b.collections:  # name the bands
        handles, labels = ax_b.get_legend_handles_labels()
        handles.append(Patch(color="0.5", alpha=0.3, linewidth=0))
        labels.append("slowest to fastest repeat")
        ax_b.legend(handles, labels, fontsize=7)
    else:
        ax_b.legend(fontsize=7)
    ax_g.legend(fontsize=7)
    if title is None:
        r = rows[0]
        title = f"{r['rule']}, {r['channels']} channels, {r['steps']} steps — {r['device']}"
    fig.suptitle(title, fontsize=9)
    return fig
