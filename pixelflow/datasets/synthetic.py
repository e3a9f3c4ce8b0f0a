"""Small synthetic 2-D classification problems: two moons and a checkerboard.

The ``make_*`` functions return raw coordinates; the Dataset loaders
:func:`two_moons` and :func:`checkerboard` map them by a fixed affine map into
the unit square (the same map for every draw, so train and test and different
seeds share one coordinate frame) and draw train and test from independent
seeds derived from ``seed``.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.datasets import make_moons

from pixelflow.checks import check_count, check_seed

from .dataset import Dataset

# Noiseless moons span x in [-1, 2] and y in [-0.5, 1]; this maps that box
# onto [0, 1]^2. Gaussian noise can put points slightly outside the square.
MOONS_OFFSET = np.array([1.0, 0.5], dtype=np.float32)
MOONS_SCALE = np.array([1.0 / 3.0, 1.0 / 1.5], dtype=np.float32)


def _check_noise(noise: object) -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise TypeError(f"noise must be a non-negative number, got {noise!r}")
    if not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    return float(noise)


def _train_test_seeds(seed: int) -> tuple[int, int]:
    # Independent streams for train and test, so the test points are not a
    # continuation (or copy) of the training draw.
    children = np.random.SeedSequence(seed).spawn(2)
    return tuple(int(c.generate_state(1)[0]) for c in children)


def make_two_moons(
    n: int = 200, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Parameters
    ----------
    n : int, default 200
        Number of points (the outer moon gets ``n // 2``).
    noise : float, default 0.1
        Standard deviation of Gaussian noise added to the coordinates.
    seed : int, default 0
        Random seed; same seed, same points.

    Returns
    -------
    X : numpy.ndarray
        float32, shape (n, 2), raw coordinates (noiseless: x in [-1, 2],
        y in [-0.5, 1]).
    y : numpy.ndarray
        int64, shape (n,): 0 for the upper (outer) moon, 1 for the lower.
    """
    n = check_count(n, "n")
    noise = _check_noise(noise)
    seed = check_seed(seed)
    X, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return X.astype(np.float32), y.astype(np.int64)


def make_checkerboard(
    n: int = 1600, n_per_side: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on an ``n_per_side`` x ``n_per_side`` checkerboard.

    Parameters
    ----------
    n : int, default 1600
        Number of points.
    n_per_side : int, default 4
        Cells per side; the board is ``[0, n_per_side)^2``.
    seed : int, default 0
        Random seed; same seed, same points.

    Returns
    -------
    X : numpy.ndarray
        float32, shape (n, 2), uniform in ``[0, n_per_side)^2``.
    y : numpy.ndarray
        int64, shape (n,): ``(floor(x) + floor(y)) % 2`` of the returned
        coordinates.
    """
    n = check_count(n, "n")
    n_per_side = check_count(n_per_side, "n_per_side")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.0, n_per_side, size=(n, 2)).astype(np.float32)
    # Rounding to float32 can land a value just below the edge exactly on it;
    # keep it inside the board so its cell (and label) stays well defined.
    np.minimum(X, np.nextafter(np.float32(n_per_side), np.float32(0)), out=X)
    y = (np.floor(X).astype(np.int64).sum(axis=1) % 2).astype(np.int64)
    return X, y


def two_moons(
    n_train: int = 500, n_test: int = 500, noise: float = 0.2, seed: int = 0
) -> Dataset:
    """Two-moons train/test split mapped into the unit square.

    The map is fixed, ``x' = (x + 1) / 3`` and ``y' = (y + 0.5) / 1.5``,
    which sends the noiseless moons' bounding box ``[-1, 2] x [-0.5, 1]``
    onto ``[0, 1]^2``. With ``noise > 0`` some points fall slightly outside
    the unit square; they are not clipped.

    Parameters
    ----------
    n_train, n_test : int, default 500
        Number of train and test points.
    noise : float, default 0.2
        Standard deviation of the Gaussian noise, in raw (unmapped) units.
    seed : int, default 0
        Master seed; train and test use independent seeds derived from it.

    Returns
    -------
    Dataset
        ``X`` float32 (N, 2), ``y`` int64 in {0, 1}.
    """
    n_train = check_count(n_train, "n_train")
    n_test = check_count(n_test, "n_test")
    noise = _check_noise(noise)
    seed = check_seed(seed)
    train_seed, test_seed = _train_test_seeds(seed)
    X_train, y_train = make_two_moons(n_train, noise, train_seed)
    X_test, y_test = make_two_moons(n_test, noise, test_seed)
    meta = {
        "name": "two moons",
        "split": f"two moons {n_train:,} train / {n_test:,} test (noise {noise:g}, seed {seed})",
        "n_train": n_train,
        "n_test": n_test,
        "n_classes": 2,
        "class_names": ["upper moon", "lower moon"],
        "noise": noise,
        "seed": seed,
        "transform": "x' = (x + 1) / 3, y' = (y + 0.5) / 1.5 (fixed; noise may exceed [0, 1])",
    }
    return Dataset(
        (X_train + MOONS_OFFSET) * MOONS_SCALE,
        y_train,
        (X_test + MOONS_OFFSET) * MOONS_SCALE,
        y_test,
        meta,
    )


def checkerboard(
    n_train: int = 2000, n_test: int = 2000, n_per_side: int = 4, seed: int = 0
) -> Dataset:
    """Checkerboard train/test split in the unit square.

    Points come from :func:`make_checkerboard` and are divided by
    ``n_per_side`` (a fixed map), so they lie in ``[0, 1)^2`` with cells of
    side ``1 / n_per_side``. Labels are the parity of the raw cell indices.

    Parameters
    ----------
    n_train, n_test : int, default 2000
        Number of train and test points.
    n_per_side : int, default 4
        Cells per side of the board.
    seed : int, default 0
        Master seed; train and test use independent seeds derived from it.

    Returns
    -------
    Dataset
        ``X`` float32 (N, 2) in ``[0, 1)^2``, ``y`` int64 in {0, 1}.
    """
    n_train = check_count(n_train, "n_train")
    n_test = check_count(n_test, "n_test")
    n_per_side = check_count(n_per_side, "n_per_side")
    seed = check_seed(seed)
    train_seed, test_seed = _train_test_seeds(seed)
    X_train, y_train = make_checkerboard(n_train, n_per_side, train_seed)
    X_test, y_test = make_checkerboard(n_test, n_per_side, test_seed)
    # Divide rather than multiply by 1/n: a correctly rounded quotient of a
    # value below n stays below 1, keeping the board half-open.
    side = np.float32(n_per_side)
    meta = {
        "name": "checkerboard",
        "split": (
            f"checkerboard {n_per_side}x{n_per_side}: {n_train:,} train / "
            f"{n_test:,} test (seed {seed})"
        ),
        "n_train": n_train,
        "n_test": n_test,
        "n_classes": 2,
        "class_names": ["even cell", "odd cell"],
        "n_per_side": n_per_side,
        "seed": seed,
        "transform": f"x' = x / {n_per_side} (fixed)",
    }
    return Dataset(X_train / side, y_train, X_test / side, y_test, meta)
