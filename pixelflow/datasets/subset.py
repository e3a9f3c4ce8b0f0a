"""Seeded, class-stratified subsets of a data set."""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_count, check_seed


def stratified_subset(y: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Pick ``n`` indices whose class mix matches that of ``y``.

    Each class receives ``floor(n * count / len(y))`` samples, and the samples
    left over go to the classes with the largest fractional parts (ties to the
    lower class label), so every class count is within one sample of its exact
    proportional share. Within a class the samples are drawn uniformly without
    replacement.

    Parameters
    ----------
    y : numpy.ndarray
        1-D array of integer class labels.
    n : int
        Number of indices to return, ``1 <= n <= len(y)``.
    seed : int, default 0
        Seed for :func:`numpy.random.default_rng`; same seed, same subset.

    Returns
    -------
    numpy.ndarray
        Sorted int64 indices into ``y``, length ``n``, without repeats.

    Raises
    ------
    ValueError
        If ``y`` is not 1-D integer labels or ``n`` exceeds ``len(y)``.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    n = check_count(n, "n")
    seed = check_seed(seed)
    if n > y.size:
        raise ValueError(
            f"n={n} exceeds the {y.size} samples available; "
            f"choose n between 1 and {y.size}"
        )
    if n == y.size:
        return np.arange(y.size, dtype=np.int64)

    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    exact = n * counts / y.size
    alloc = np.floor(exact).astype(np.int64)
    leftover = n - int(alloc.sum())
    # Stable sort keeps the tie-break deterministic (lower label first).
    order = np.argsort(-(exact - alloc), kind="stable")
    alloc[order[:leftover]] += 1

    rng = np.random.default_rng(seed)
    picked = [
        rng.choice(np.flatnonzero(inverse == k), size=int(alloc[k]), replace=False)
        for k in range(classes.size)
    ]
    return np.sort(np.concatenate(picked)).astype(np.int64)


def subset_split(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    n_train: int | None,
    n_test: int | None,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Cut a train/test split down to stratified subsets.

    The same ``seed`` is used for both sides, so each can be reproduced by a
    direct call to :func:`stratified_subset`.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : numpy.ndarray
        The full available split; samples along the first axis.
    n_train, n_test : int or None
        Requested sizes; None keeps that side whole.
    seed : int
        Seed passed to :func:`stratified_subset`.

    Returns
    -------
    X_train, y_train, X_test, y_test : numpy.ndarray
        The (possibly) reduced split, samples in their original order.
    note : str
        ``""`` if nothing was cut, else a suffix for the split description,
        e.g. ``" (stratified subset: 1,000 train / 500 test, seed 0)"``.

    Raises
    ------
    ValueError
        If a requested size exceeds what is available.
    """
    if n_train is None and n_test is None:
        return X_train, y_train, X_test, y_test, ""
    sides = []
    for side, X, y, n in (("train", X_train, y_train, n_train), ("test", X_test, y_test, n_test)):
        if n is not None:
            if n > y.size:
                raise ValueError(
                    f"n_{side}={n} exceeds the {y.size} {side} samples available; "
                    f"pass n_{side} <= {y.size}, or None for all"
                )
            keep = stratified_subset(y, n, seed)
            X, y = X[keep], y[keep]
        sides.append((X, y))
    (X_train, y_train), (X_test, y_test) = sides
    note = f" (stratified subset: {y_train.size:,} train / {y_test.size:,} test, seed {seed})"
    return X_train, y_train, X_test, y_test, note
