"""What becomes a feature: which steps are recorded, which maps of the state, and their pooling.

Average pooling of an odd function of the state (``tanh`` cells, wave
amplitudes) cancels positive against negative values inside a block; pooling
an even map such as ``square`` or ``abs``, or the channel products
(second-order pooling), keeps that information. Each map may have its own
pooling size, e.g. the state on a 7×7 grid of blocks and the channel products
over four quadrants.

A sample's feature row is, for every recorded step in order, one block per
feature map (in the order given); a map's block is laid out
``[channel or channel pair][row][col]``.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pixelflow.linalg.fixed_order import block_products

# Pointwise maps and the codes the fused kernels see; keep them in sync with
# pixelflow.backends.cpu.recording.apply_map.
MAP_CODES = {"state": 0, "square": 1, "abs": 2, "relu": 3}
# Maps that combine channels; they run on the numpy path of every backend.
CROSS_CHANNEL_MAPS = ("products",)
FEATURE_MAPS = tuple(MAP_CODES) + CROSS_CHANNEL_MAPS


def apply_map(x, name: str, xp):
    """The pointwise feature map ``name`` of ``x`` (a scalar or an array)."""
    if name == "state":
        return x
    if name == "square":
        return x * x
    if name == "abs":
        return xp.abs(x)
    if name == "relu":
        return xp.maximum(x, 0)
    raise ValueError(f"{name!r} is not a pointwise feature map; pointwise: {', '.join(MAP_CODES)}")


def avg_pool(x, p: int, xp):
    """Mean over non-overlapping ``p × p`` blocks of the last two axes.

    A fixed-order sum of strided views: per-sample, so batch-invariant.
    """
    if p == 1:
        return x
    total = None
    for i in range(p):
        for j in range(p):
            view = x[..., i::p, j::p]
            total = view if total is None else total + view
    return total * (1.0 / (p * p))


def pooled_products(x, p: int, xp):
    """Block means of ``x_i * x_j`` for every channel pair ``i <= j`` (second-order pooling).

    Summed in a fixed order, per sample (:func:`pixelflow.linalg.fixed_order.block_products`).

    Parameters
    ----------
    x : array, shape (N, C, H, W)

    Returns
    -------
    array, shape (N, C (C + 1) / 2, H / p, W / p)
        Pairs in ``numpy.triu_indices(C)`` order (row-major upper triangle,
        so the squares are included).
    """
    return block_products(x, p, xp)


def check_maps(maps, default_pool: int, height: int, width: int) -> tuple:
    """Validate ``ReservoirConfig.feature_maps``; entries are a name or ``(name, pool)``."""
    if isinstance(maps, str) or not isinstance(maps, Sequence) or not maps:
        raise TypeError(f"ReservoirConfig.feature_maps must be a non-empty sequence of names, got {maps!r}")
    seen = set()
    out = []
    for entry in maps:
        if isinstance(entry, str):
            name, pool = entry, default_pool
        elif (isinstance(entry, Sequence) and len(entry) == 2 and isinstance(entry[0], str)
              and isinstance(entry[1], numbers.Integral) and not isinstance(entry[1], bool)):
            name, pool = entry[0], int(entry[1])
            entry = (name, pool)
        else:
            raise TypeError(f"ReservoirConfig.feature_maps entries must be a name or (name, pool), got {entry!r}")
        if name not in FEATURE_MAPS:
            raise ValueError(f"ReservoirConfig.feature_maps: unknown map {name!r}; valid: {', '.join(FEATURE_MAPS)}")
        if pool < 1 or height % pool or width % pool:
            raise ValueError(f"ReservoirConfig.feature_maps: pool {pool} of map {name!r} must be >= 1 and divide "
                             f"height={height} and width={width}")
        if (name, pool) in seen:
            raise ValueError(f"ReservoirConfig.feature_maps has repeated maps: {list(maps)}")
        seen.add((name, pool))
        out.append(entry)
    return tuple(out)


@dataclass(frozen=True)
class Recording:
    """Recorded steps and feature maps of a reservoir (from its config).

    Attributes
    ----------
    steps : tuple of int
        Sorted step indices.
    maps : tuple of (str, int)
        ``(name, pool)`` per feature map, in feature order.
    """

    steps: tuple
    maps: tuple = (("state", 1),)

    @property
    def pointwise(self) -> bool:
        """Whether every map acts on each channel alone (what fused kernels implement)."""
        return all(name in MAP_CODES for name, _ in self.maps)

    @property
    def codes(self) -> np.ndarray:
        """Pointwise maps as integer codes, for the fused kernels."""
        return np.asarray([MAP_CODES[name] for name, _ in self.maps], dtype=np.int64)

    @property
    def pools(self) -> np.ndarray:
        return np.asarray([pool for _, pool in self.maps], dtype=np.int64)

    def blocks(self, channels: int, height: int, width: int) -> list[tuple[str, int, int, int]]:
        """``(name, planes, rows, cols)`` of each map's block within a recorded step."""
        out = []
        for name, pool in self.maps:
            planes = channels * (channels + 1) // 2 if name == "products" else channels
            out.append((name, planes, height // pool, width // pool))
        return out

    def offsets(self, channels: int, height: int, width: int) -> np.ndarray:
        """Start of each map's block within a step's features, then the step size (last entry)."""
        sizes = [p * r * c for _, p, r, c in self.blocks(channels, height, width)]
        return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def n_features(self, channels: int, height: int, width: int) -> int:
        return len(self.steps) * int(self.offsets(channels, height, width)[-1])

    def features(self, state, xp):
        """Features of one recorded batch state ``(N, C, H, W)`` -> ``(N, step size)``."""
        n = len(state)
        parts = []
        for name, pool in self.maps:
            if name == "products":
                parts.append(pooled_products(state, pool, xp).reshape(n, -1))
            else:
                parts.append(avg_pool(apply_map(state, name, xp), pool, xp).reshape(n, -1))
        return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=1)
