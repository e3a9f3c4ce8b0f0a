"""Figures for the inpainting notebook: how each learned model's validation error fell during training.

Every function returns a :class:`matplotlib.figure.Figure` built without pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from pixelflow.workbook.plotting.style import TEXT_WIDTH_IN

__all__ = ["validation_curves_figure"]

_LINESTYLES = ("-", "--", ":", "-.")


def validation_curves_figure(curves: Mapping[tuple[str, int], Sequence[tuple[int, float]]],
                             ylabel: str = "validation error", caps: Mapping[str, int] | None = None) -> Figure:
    """Validation error against the training iteration: one colour per model, one line style per seed.

    Parameters
    ----------
    curves : mapping of (model, seed) to [(iteration, error), ...]
        The validations of each training run, in order.
    ylabel : str
    caps : mapping of model to int, optional
        Each model's iteration cap, drawn as a dotted vertical line of its colour.

    Examples
    --------
    >>> fig = validation_curves_figure({("a", 0): [(100, 0.5), (200, 0.4)], ("a", 1): [(100, 0.6), (200, 0.3)]},
    ...                                caps={"a": 200})
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['a, seed 0', 'a, seed 1']
    """
    if not curves:
        raise ValueError("validation_curves_figure needs at least one run")
    fig = Figure(figsize=(TEXT_WIDTH_IN, 3.4), layout="constrained")
    ax = fig.subplots()
    models = list(dict.fromkeys(model for model, _ in curves))
    colours = {model: f"C{i}" for i, model in enumerate(models)}
    seeds = {}
    for (model, seed), points in curves.items():
        if not points:
            raise ValueError(f"the run {model!r}, seed {seed} has no validation points")
        its, errors = zip(*points)
        runs = seeds.setdefault(model, [])
        style = _LINESTYLES[len(runs) % len(_LINESTYLES)]
        runs.append(seed)
        ax.plot(its, errors, style, color=colours[model], marker=".", label=f"{model}, seed {seed}")
    for model, cap in (caps or {}).items():
        if model in colours:
            ax.axvline(cap, color=colours[model], linestyle=":", linewidth=1, alpha=0.6,
                       label=f"{model}, iteration cap")
    ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel("training iteration")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    # Beside the axes, with handles long enough to show each seed's dashes: inside, it covered the first
    # validations.
    fig.legend(*ax.get_legend_handles_labels(), loc="outside right upper", fontsize=7, handlelength=3.5)
    return fig
