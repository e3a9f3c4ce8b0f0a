"""pixelflow-rc compatible synthetic tasks: raw ``(X, y)`` arrays.

New code should use :mod:`pixelflow.datasets`, whose ``two_moons`` and
``checkerboard`` return seeded train/test :class:`~pixelflow.datasets.Dataset`
splits.
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_count, check_seed
from pixelflow.datasets.synthetic import make_two_moons

__all__ = ["checkerboard", "two_moons"]

POINTS_PER_CELL = 100


def two_moons(n: int = 200, noise: float = 0.1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half-moons, as in pixelflow-rc.

    Parameters
    ----------
    n : int, default 200
        Number of points.
    noise : float, default 0.1
        Standard deviation of the Gaussian noise on the coordinates.
    seed : int, default 0
        Random seed; same seed, same points (scikit-learn's ``make_moons``).

    Returns
    -------
    X : ndarray of float32, shape (n, 2)
    y : ndarray of int64, shape (n,)
        0 for the upper moon, 1 for the lower one.
    """
    return make_two_moons(n=n, noise=noise, seed=seed)


def checkerboard(n_per_side: int = 4, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Points on an ``n_per_side`` x ``n_per_side`` checkerboard, 100 per cell.

    Parameters
    ----------
    n_per_side : int, default 4
        Cells per side; the board is ``[0, n_per_side)^2``.
    seed : int, default 0
        Random seed; same seed, same points.

    Returns
    -------
    X : ndarray of float32, shape (100 * n_per_side**2, 2)
        Exactly 100 uniform points inside every cell, cell by cell (row by
        row); ``X[:, 0]`` is the column coordinate and ``X[:, 1]`` the row
        coordinate.
    y : ndarray of int64, shape (100 * n_per_side**2,)
        The cell's parity, ``(floor(X[:, 0]) + floor(X[:, 1])) % 2``.
    """
    n_per_side = check_count(n_per_side, "n_per_side")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    rows, cols = np.divmod(np.arange(n_per_side * n_per_side), n_per_side)
    corner = np.repeat(np.stack([cols, rows], axis=1), POINTS_PER_CELL, axis=0).astype(np.float32)
    X = (corner + rng.uniform(size=corner.shape)).astype(np.float32)
    # Rounding to float32 can put a point on its cell's upper edge, i.e. in
    # the next cell; keep every point inside its own cell.
    np.minimum(X, np.nextafter(corner + np.float32(1), corner), out=X)
    y = np.repeat((rows + cols) % 2, POINTS_PER_CELL).astype(np.int64)
    return X, y
