"""Data as the protocols hand it to a method: a stratified validation split, training-set augmentations, checks."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

import numpy as np
from sklearn.model_selection import train_test_split

from pixelflow.checks import check_int

__all__ = ["AUGMENTATIONS", "check_augment", "check_split", "check_xy", "validation_split"]


def check_split(fraction, seed, names=("fraction", "seed")) -> None:
    """Raise ``ValueError`` unless ``fraction`` is a number in (0, 1) and ``seed`` a non-negative integer."""
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not (
        math.isfinite(fraction) and 0 < fraction < 1
    ):
        raise ValueError(f"{names[0]} must be a number in (0, 1), got {fraction!r}")
    check_int(seed, names[1], low=0)


def validation_split(y, fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split of training labels into fit and validation rows.

    Parameters
    ----------
    y : array-like of shape (n,)
        Training labels (only the labels are needed).
    fraction : float, default 0.2
        Share of rows held out for validation, strictly between 0 and 1.
    seed : int, default 0

    Returns
    -------
    (fit_idx, val_idx) : tuple of int64 arrays
        Disjoint, sorted, together ``arange(n)``; every class keeps (up to
        rounding) its share on both sides. The same inputs give the same split.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D, got shape {y.shape}")
    check_split(fraction, seed)
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ValueError("y needs at least 2 classes for a stratified validation split")
    if counts.min() < 2:
        raise ValueError(f"every class needs at least 2 samples to appear on both sides, smallest has {counts.min()}")
    fit_idx, val_idx = train_test_split(
        np.arange(y.size), test_size=float(fraction), stratify=y, random_state=int(seed)
    )
    return np.sort(fit_idx).astype(np.int64), np.sort(val_idx).astype(np.int64)


def _hflip(X):
    if X.ndim < 3:
        raise ValueError(f"augment 'hflip' needs images (N, H, W[, C]), got samples of shape {X.shape[1:]}")
    return X[:, :, ::-1]


# Training-set augmentations: a batch of images -> a transformed copy with the same labels.
AUGMENTATIONS: dict[str, Callable] = {"hflip": _hflip}


def check_augment(augment) -> tuple[str, ...]:
    if augment is None:
        return ()
    names = (augment,) if isinstance(augment, str) else tuple(augment)
    for name in names:
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {name!r}; valid: {', '.join(AUGMENTATIONS)}")
    return names


def check_xy(X, y, what: str):
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X_{what} and y_{what} must have the same number of samples; got {X.shape} and {y.shape}")
    return X, y
