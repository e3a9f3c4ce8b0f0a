"""Figures for the scale-out notebook: what each dask worker did, and when.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["TASK_LABELS", "task_prefix", "task_stream_figure"]

#: Readable names of the task prefixes (``dask.utils.key_split``) of pixelflow's graphs; others are shown as they are.
TASK_LABELS = {
    "array": "image chunk",
    "pixelflow-reservoir": "reservoir sent to a worker",
    "pixelflow-reservoirstack": "reservoir sent to a worker",
    "pixelflow-transform": "reservoir features of a chunk",
    "chunk_stats": "ridge statistics of a chunk",
    "merge_stats": "merge of two statistics",
    "pixelflow-readout": "readout sent to a worker",
    "pixelflow-predict": "predict a chunk",
    "finalize-hlgfinalizecompute": "concatenate results",
    "ascontiguousarray-getitem-concatenate": "rows gathered into a chunk",
}

# Work that is not a task's own computation, drawn over the task bars.
_OTHER_ACTIONS = {"transfer": ("transfer between workers", "#d62728"),
                  "disk-write": ("spill to / read from disk", "#ff7f0e"),
                  "disk-read": ("spill to / read from disk", "#ff7f0e")}


def task_prefix(key) -> str:
    """The name dask groups a task key by (``("pixelflow-transform-3f2a…", 4)`` → ``"pixelflow-transform"``)."""
    try:
        from dask.utils import key_split
    except ImportError:  # task streams come from dask, but keep the figure importable without it
        return str(key[0] if isinstance(key, tuple) else key)
    return key_split(key)


def _rows(records):
    """(worker, thread) pairs in address order, and their row labels."""
    pairs = sorted({(r["worker"], r.get("thread")) for r in records}, key=lambda p: (str(p[0]), str(p[1])))
    workers = sorted({w for w, _ in pairs}, key=str)
    threads = {w: sorted({t for ww, t in pairs if ww == w}, key=str) for w in workers}
    labels = []
    for w, t in pairs:
        label = f"worker {workers.index(w) + 1}"
        if len(threads[w]) > 1:
            label += f" · thread {threads[w].index(t) + 1}"
        labels.append(label)
    return pairs, labels


def task_stream_figure(streams: Mapping[str, Sequence[dict]], labels: Mapping[str, str] | None = None,
                       width: float = 9.0) -> Figure:
    """One panel per task stream: a row per worker thread, a bar per task, coloured by task prefix.

    Parameters
    ----------
    streams : mapping of title -> task stream
        Records as ``distributed.Client.get_task_stream()`` (or the
        ``get_task_stream`` context manager's ``.data``) returns them: dicts
        with ``worker``, ``thread``, ``key`` and ``startstops`` (``action``,
        ``start``, ``stop``).
    labels : mapping of task prefix -> legend text, optional
        Default :data:`TASK_LABELS`.
    width : float
        Figure width in inches.

    Returns
    -------
    Figure
        Time in seconds from each panel's first task; transfers between
        workers and spilling to disk are drawn over the rows as thin bars.
        The legend leaves out tasks too short to see (under 0.2 % of the
        longest panel's time in all). An empty stream gives a panel that
        says so.
    """
    if not streams:
        raise ValueError("task_stream_figure needs at least one task stream")
    labels = dict(TASK_LABELS if labels is None else labels)
    prefixes: dict[str, int] = {}
    for records in streams.values():
        for r in records:
            prefixes.setdefault(task_prefix(r["key"]), len(prefixes))
    palette = [c for i, c in enumerate(f"C{k}" for k in range(10)) if i not in (1, 3)]  # orange, red: see below
    by_label: dict[str, str] = {}
    for p in prefixes:  # prefixes with the same label share a colour
        by_label.setdefault(labels.get(p, p), palette[len(by_label) % len(palette)])
    colour = {p: by_label[labels.get(p, p)] for p in prefixes}

    heights = [max(1, len(_rows(records)[0])) * 0.45 + 0.9 for records in streams.values()]
    fig = Figure(figsize=(width, sum(heights) + 0.6), layout="constrained")
    axes = fig.subplots(len(streams), 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    busy: dict[str, float] = {}  # compute seconds per prefix, over all panels
    span = 0.0
    seen_actions = set()
    for ax, (title, records) in zip(axes, streams.items()):
        ax.set_title(title, fontsize=9, loc="left")
        if not records:
            ax.text(0.5, 0.5, "no tasks", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            continue
        pairs, row_labels = _rows(records)
        row = {p: i for i, p in enumerate(pairs)}
        t0 = min(s["start"] for r in records for s in r["startstops"])
        t1 = max(s["stop"] for r in records for s in r["startstops"])
        span = max(span, t1 - t0)
        for r in records:
            y = row[(r["worker"], r.get("thread"))]
            prefix = task_prefix(r["key"])
            for s in r["startstops"]:
                start, length = s["start"] - t0, s["stop"] - s["start"]
                if s["action"] == "compute":
                    ax.broken_barh([(start, length)], (y - 0.35, 0.7), facecolors=colour[prefix],
                                   edgecolors="white", linewidth=0.3)
                    busy[prefix] = busy.get(prefix, 0.0) + length
                elif s["action"] in _OTHER_ACTIONS:
                    ax.broken_barh([(start, length)], (y - 0.45, 0.15), facecolors=_OTHER_ACTIONS[s["action"]][1])
                    seen_actions.add(s["action"])
        ax.set_yticks(np.arange(len(pairs)), row_labels)
        ax.set_ylim(len(pairs) - 0.5, -0.5)
        ax.set_xlim(0, max(t1 - t0, 1e-3) * 1.01)
        ax.grid(axis="x", alpha=0.3)
    axes[-1].set_xlabel("seconds since the first task")
    shown = {}
    for p in prefixes:  # the legend names what is visible: at least 0.2 % of the longest panel's time
        if busy.get(p, 0.0) >= 0.002 * span:
            shown.setdefault(labels.get(p, p), colour[p])
    handles = [_patch(c, text) for text, c in shown.items()]
    handles += [_patch(c, text) for text, c in dict(_OTHER_ACTIONS[a] for a in _OTHER_ACTIONS
                                                     if a in seen_actions).items()]
    if handles:
        # Below the axes, in space of its own: placed over the figure's bottom edge it covered the tick labels.
        fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), fontsize=8,
                   frameon=False)
    return fig


def _patch(colour, label):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, label=label)
