"""pixelflow-rc compatible synthetic tasks: raw ``(X, y)`` arrays."""

from __future__ import annotations

from pixelflow.datasets.synthetic import make_checkerboard, make_two_moons


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0):
    """``(X, y)`` for two interleaving half-moons, as in pixelflow-rc.

    Returns float32 coordinates of shape ``(n, 2)`` and int64 labels.
    """
    return make_two_moons(n=n, noise=noise, seed=seed)


def checkerboard(n_per_side: int = 4, seed: int = 0):
    """``(X, y)``: 100 uniform points per cell of an ``n_per_side``² board, label = cell parity."""
    return make_checkerboard(n=100 * n_per_side * n_per_side, n_per_side=n_per_side, seed=seed)
