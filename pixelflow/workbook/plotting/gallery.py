"""Rule-evolution gallery: one row per rule, one column per time step.

>>> trajectories = evolve(gallery_configs(builtin_rules()), digit)   # doctest: +SKIP
>>> fig = plot_rule_gallery(trajectories, times=(0, 1, 2, 4, 8, 16))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from pixelflow.config import ReservoirConfig
from pixelflow.reservoir import Reservoir
from pixelflow.rules import available_rules, get_rule

BUILTIN_MODULE_PREFIX = "pixelflow.rules."


def builtin_rules() -> list[str]:
    """Registered rules whose step function ships with pixelflow (user rules left out)."""
    return [name for name in available_rules() if get_rule(name).step.__module__.startswith(BUILTIN_MODULE_PREFIX)]


def gallery_configs(
    rules, size: int = 64, steps: int = 32, seed: int = 0, channels: Mapping[str, int] | None = None
) -> dict[str, ReservoirConfig]:
    """One config per rule at its default parameters: ``size`` × ``size`` grid, tile encoding.

    ``channels`` overrides the channel count per rule; the default is the
    rule's minimum (2 for the paired rules, 1 otherwise).
    """
    channels = channels or {}
    return {
        rule: ReservoirConfig(size, size, channels.get(rule, get_rule(rule).min_channels), steps, rule, seed=seed)
        for rule in rules
    }


def evolve(configs: Mapping[str, ReservoirConfig], image, backend: str = "cpu") -> dict[str, np.ndarray]:
    """The trajectory of one input under each config: ``{label: (steps + 1, C, H, W)}``."""
    sample = np.asarray(image)[None]
    return {label: Reservoir(cfg, backend=backend, progress=False).states(sample)[0] for label, cfg in configs.items()}


def _limits(frames: np.ndarray) -> tuple[str, float, float]:
    """Colour map and limits: diverging and symmetric for signed fields, sequential otherwise."""
    lo, hi = float(np.nanmin(frames)), float(np.nanmax(frames))
    if lo < 0 < hi:
        m = max(-lo, hi)
        return "RdBu_r", -m, m
    return "magma", lo, hi if hi > lo else lo + 1.0


def plot_rule_gallery(
    trajectories: Mapping[str, np.ndarray],
    times: Sequence[int] | None = None,
    channel: int | Mapping[str, int] = 0,
    cell_size: float = 1.15,
) -> Figure:
    """Rows = rules, columns = time steps; one channel of each trajectory, one colour scale per row.

    Parameters
    ----------
    trajectories : mapping of label -> array (T + 1, C, H, W)
        E.g. from :func:`evolve` (``Reservoir.states`` of one sample).
    times : sequence of int, optional
        Steps to show (default: every step); each must exist in every row.
    channel : int or mapping of label -> int
        Channel shown, for all rows or per row (e.g. V of Gray-Scott = 1).
    """
    if not trajectories:
        raise ValueError("plot_rule_gallery needs at least one trajectory")
    n_steps = min(len(t) for t in trajectories.values())
    times = list(range(n_steps)) if times is None else [int(t) for t in times]
    if not times or min(times) < 0 or max(times) >= n_steps:
        raise ValueError(f"times must lie in [0, {n_steps - 1}] (the shortest trajectory), got {times}")
    fig = Figure(figsize=(cell_size * len(times) + 0.8, cell_size * len(trajectories)), layout="constrained")
    axes = fig.subplots(len(trajectories), len(times), squeeze=False)
    for row, (label, traj) in zip(axes, trajectories.items()):
        ch = channel.get(label, 0) if isinstance(channel, Mapping) else channel
        frames = np.asarray(traj)[times, ch]
        cmap, vmin, vmax = _limits(frames)
        for ax, t, frame in zip(row, times, frames):
            ax.imshow(frame, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_ylabel(f"{label}\nchannel {ch}", fontsize=8)
    for ax, t in zip(axes[0], times):
        ax.set_title(f"t = {t}", fontsize=8)
    return fig
