"""Figures for the classification notebooks.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot (so nothing is shown or kept open behind the caller's back); in a
notebook, display it with ``display(fig)`` or by ending a cell with it, and
save it with :func:`pixelflow.workbook.outputs.save_figure`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from pixelflow.workbook.plotting.style import RULE_COLORS, SMALL_PT, TEXT_WIDTH_IN

__all__ = [
    "ablation_figure",
    "accuracy_vs_rule_figure",
    "accuracy_vs_steps_figure",
    "confusion_figure",
    "confusion_matrix",
    "search_results_figure",
]

_EXTRA_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22")


def _set_title(ax, title: str | None, width: int = 72) -> None:
    """A title wrapped onto several lines when long (split descriptions are)."""
    if title:
        ax.set_title(textwrap.fill(str(title), width), fontsize=9)


def _color(key: str, seen: dict) -> str:
    if key in RULE_COLORS:
        return RULE_COLORS[key]
    if key not in seen:
        seen[key] = _EXTRA_COLORS[len(seen) % len(_EXTRA_COLORS)]
    return seen[key]


def confusion_matrix(y_true, y_pred, n_classes: int | None = None) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as ``j`` (labels 0..n-1)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred must have the same shape, got {y_true.shape} and {y_pred.shape}")
    if y_true.size and min(y_true.min(), y_pred.min()) < 0:
        raise ValueError("labels must be non-negative integers")
    n = n_classes or int(max(y_true.max(initial=-1), y_pred.max(initial=-1)) + 1)
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    return cm


def confusion_figure(
    y_true,
    y_pred,
    class_names: Sequence[str] | None = None,
    *,
    normalize: bool = True,
    title: str | None = None,
    size: float = 5.0,
) -> Figure:
    """Confusion matrix as a heat map.

    Parameters
    ----------
    normalize : bool, default True
        Show each row as percentages of its true class (the diagonal is the
        per-class recall); otherwise raw counts.
    """
    n = len(class_names) if class_names is not None else None
    cm = confusion_matrix(y_true, y_pred, n)
    n = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(n)]
    values = 100.0 * cm / np.maximum(cm.sum(axis=1, keepdims=True), 1) if normalize else cm
    fig = Figure(figsize=(size, size), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(values, cmap="Blues", vmin=0, vmax=100 if normalize else None)
    ax.set_xticks(range(n), names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = values.max() if values.size else 0
    for i in range(n):
        for j in range(n):
            v = values[i, j]
            if v == 0 or (normalize and v < 0.5):  # nothing to read in a cell that rounds to 0 %
                continue
            text = f"{v:.0f}" if normalize else f"{int(v)}"
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if v > 0.6 * top else "black")
    cbar = fig.colorbar(im, ax=ax, shrink=0.8)
    cbar.set_label("% of true class" if normalize else "count")
    acc = 100.0 * np.trace(cm) / max(cm.sum(), 1)
    fig.suptitle(textwrap.fill(title if title is not None else f"accuracy {acc:.2f} %", int(11 * size)), fontsize=9)
    return fig


def accuracy_vs_steps_figure(
    curves: Sequence[Mapping],
    *,
    series: str = "name",
    accuracy: str = "val_accuracy",
    baselines: Mapping[str, float] | None = None,
    ylabel: str = "validation accuracy (%)",
    title: str | None = None,
) -> Figure:
    """Accuracy against the number of CA steps, one line per ``series`` value.

    Parameters
    ----------
    curves : rows with ``steps``, ``accuracy`` (fraction) and the ``series``
        key, e.g. the concatenated outputs of
        :func:`pixelflow.workbook.protocols.steps_curve`.
    baselines : optional ``{label: accuracy fraction}`` drawn as dashed
        horizontal lines (e.g. raw pixels).
    """
    fig = Figure(figsize=(6.0, 3.8), layout="constrained")
    ax = fig.add_subplot()
    seen: dict = {}
    groups: dict = {}
    for r in curves:
        groups.setdefault(r[series], []).append(r)
    for label, rs in groups.items():
        rs = sorted(rs, key=lambda r: r["steps"])
        color = _color(rs[0].get("rule", label), seen) if len({r.get("rule") for r in rs}) == 1 else None
        ax.plot([r["steps"] for r in rs], [100.0 * r[accuracy] for r in rs], marker="o", label=str(label), color=color)
    for i, (label, value) in enumerate((baselines or {}).items()):
        ax.axhline(100.0 * value, linestyle="--", linewidth=1, color=("0.4", "0.6", "0.2")[i % 3], label=label)
    ax.set_xlabel("CA steps t (features: state after t steps)")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    _set_title(ax, title)
    return fig


def accuracy_vs_rule_figure(
    results: Sequence[Mapping],
    *,
    label: str = "label",
    group: str | None = None,
    ylabel: str = "test accuracy (%)",
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
) -> Figure:
    """Accuracy per method as a dot with ± std error bars (dots, not bars: the axis need not start at zero).

    Parameters
    ----------
    results : rows with ``mean`` (fraction), optional ``std`` (fraction),
        ``rule`` (for the colour) and the ``label`` key; e.g.
        :func:`pixelflow.workbook.protocols.evaluate` outputs with a label added.
    group : optional key splitting the dots into groups side by side (e.g.
        ``"input"`` = gray / RGB), told apart by their marker; dots of one label share a position.
    """
    results = list(results)
    labels = list(dict.fromkeys(r[label] for r in results))
    groups = list(dict.fromkeys(r[group] for r in results)) if group else [None]
    width = 0.8 / len(groups)
    fig = Figure(figsize=(max(5.0, 0.9 * len(labels) * max(1, len(groups) * 0.7) + 1.5), 3.8), layout="constrained")
    ax = fig.add_subplot()
    seen: dict = {}
    markers = ("o", "s", "^", "D")
    for gi, g in enumerate(groups):
        for r in results:
            if group and r[group] != g:
                continue
            x = labels.index(r[label]) + (gi - (len(groups) - 1) / 2) * width
            mean = 100.0 * r["mean"]
            std = 100.0 * r.get("std", 0.0) if r.get("std") else None
            ax.errorbar(x, mean, yerr=std, fmt=markers[gi % 4], color=_color(r.get("rule", r[label]), seen),
                        markeredgecolor="black", markeredgewidth=0.5, markersize=7, capsize=3)
            ax.annotate(f"{mean:.1f}", (x, mean + (std or 0.0)), ha="center", va="bottom", fontsize=7,
                        xytext=(0, 3), textcoords="offset points")
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_xlim(-0.6, len(labels) - 0.4)
    ax.set_ylabel(ylabel)
    if group:
        from matplotlib.lines import Line2D

        ax.legend(handles=[Line2D([], [], marker=markers[i % 4], linestyle="", color="grey", markeredgecolor="black",
                                  label=str(g)) for i, g in enumerate(groups)], fontsize=8, loc="lower right")
    lo = min(100.0 * (r["mean"] - (r.get("std") or 0.0)) for r in results)
    ax.set_ylim(*(ylim or (max(0.0, 5 * np.floor((lo - 2) / 5)), 100.0)))
    ax.grid(True, axis="y", alpha=0.3)
    _set_title(ax, title)
    return fig


def search_results_figure(rows: Sequence[Mapping], *, top: int | None = 30, title: str | None = None) -> Figure:
    """Validation accuracy of every searched candidate, best first.

    Parameters
    ----------
    rows : :func:`pixelflow.workbook.protocols.search` output
    top : show only the best ``top`` candidates (None: all)
    """
    rows = sorted(rows, key=lambda r: (-r["val_accuracy"], r["index"]))
    if top is not None:
        rows = rows[:top]
    fig = Figure(figsize=(7.0, 0.25 * len(rows) + 1.2), layout="constrained")
    ax = fig.add_subplot()
    seen: dict = {}
    y = np.arange(len(rows))[::-1]
    ax.barh(y, [100.0 * r["val_accuracy"] for r in rows], color=[_color(r["rule"], seen) for r in rows])
    ax.set_yticks(y, [r["label"] for r in rows], fontsize=7)
    lo = min(100.0 * r["val_accuracy"] for r in rows)
    ax.set_xlim(max(0.0, 10 * np.floor((lo - 5) / 10)), 100.0)
    ax.set_xlabel("validation accuracy (%)")
    ax.grid(True, axis="x", alpha=0.3)
    _set_title(ax, title)
    return fig


def ablation_figure(rows: Sequence[Mapping], panels: Mapping[str, Sequence[tuple[str, str]]], *,
                    title: str | None = None) -> Figure:
    """Validation accuracy of named feature maps, one panel per design lever.

    Parameters
    ----------
    rows : search rows (:func:`pixelflow.workbook.protocols.search`)
        Each feature map's best row over its readout hyperparameters is shown.
    panels : mapping of panel title to ``[(tick label, feature-map name), ...]``
        E.g. ``{"channels": [("8", "nca² 14 c8"), ("16", "nca² 14 c16")]}``.
    """
    best_val: dict[str, float] = {}
    n_features: dict[str, int] = {}
    for r in rows:
        if r["val_accuracy"] > best_val.get(r["name"], -1.0):
            best_val[r["name"]] = r["val_accuracy"]
            n_features[r["name"]] = r["n_features"]
    missing = [name for items in panels.values() for _, name in items if name not in best_val]
    if missing:
        raise ValueError(f"ablation_figure: no search rows for {missing}")
    # One row per lever, the designs as labelled rows and accuracy across: the labels and each dot's note
    # (accuracy, feature count) read on one line each at the text width, however many designs a lever has.
    sizes = [len(items) for items in panels.values()]
    fig = Figure(figsize=(TEXT_WIDTH_IN, 0.55 + 0.26 * sum(sizes) + 0.32 * len(panels)), layout="constrained")
    axes = fig.subplots(len(panels), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": sizes})[:, 0]
    shown = [100 * best_val[name] for items in panels.values() for _, name in items]
    low, high = min(shown), max(shown)
    pad = 0.05 * (high - low) or 0.5
    axes[0].set_xlim(low - pad, min(100.0, high + pad))
    for ax, (panel, items) in zip(axes, panels.items()):
        acc = [100 * best_val[name] for _, name in items]
        y = np.arange(len(items))
        # Dots: the axis starts near the lowest accuracy, where a bar's length would mislead.
        ax.plot(acc, y, "o", color=RULE_COLORS["random_nca"], markeredgecolor="black", markeredgewidth=0.5,
                markersize=6)
        # Each design's accuracy and feature count in a column right of the frame, clear of every dot.
        for yi, a, (_, name) in zip(y, acc, items):
            ax.annotate(f"{a:.2f} %, {n_features[name]:,} features", (1.0, yi), xycoords=("axes fraction", "data"),
                        ha="left", va="center", fontsize=SMALL_PT, xytext=(6, 0), textcoords="offset points")
        ax.set_yticks(y, [" ".join(label.split()) for label, _ in items], fontsize=SMALL_PT)
        ax.set_ylim(len(items) - 0.5, -0.5)  # the first design on top
        ax.set_title(panel, fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=SMALL_PT)
    axes[-1].set_xlabel("validation accuracy (%)")
    if title:
        fig.suptitle(textwrap.fill(str(title), 100), fontsize=9)
    return fig
