"""The scikit-learn 8x8 digits, as a stratified train/test split."""

from __future__ import annotations

import math
import numbers

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from pixelflow.checks import check_seed

from .dataset import Dataset


def digits(*, test_size: float = 0.25, seed: int = 0) -> Dataset:
    """Load scikit-learn's bundled 8x8 hand-written digits (1,797 images).

    Needs no download: the data ships with scikit-learn.

    Parameters
    ----------
    test_size : float, default 0.25
        Fraction of the images held out for testing, strictly between 0 and 1.
    seed : int, default 0
        Seed for the stratified split.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1] with shape (N, 8, 8) (raw values 0..16
        divided by 16); ``y`` int64 in 0..9. Within each side the images keep
        their original order.
    """
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise TypeError(f"test_size must be a float in (0, 1), got {test_size!r}")
    if not (math.isfinite(test_size) and 0 < test_size < 1):
        raise ValueError(f"test_size must be a float in (0, 1), got {test_size!r}")
    seed = check_seed(seed)

    bunch = load_digits()
    X = bunch.images.astype(np.float32) / np.float32(16)
    y = bunch.target.astype(np.int64)
    idx_train, idx_test = train_test_split(
        np.arange(y.size), test_size=float(test_size), stratify=y, random_state=seed
    )
    # Sorted so the split is a selection, not a shuffle, like the other loaders.
    idx_train, idx_test = np.sort(idx_train), np.sort(idx_test)
    meta = {
        "name": "digits",
        "split": (
            f"scikit-learn digits {idx_train.size:,} train / {idx_test.size:,} test "
            f"(stratified split, test_size {float(test_size):g}, seed {seed})"
        ),
        "n_train": int(idx_train.size),
        "n_test": int(idx_test.size),
        "image_shape": (8, 8),
        "n_classes": 10,
        "class_names": [str(d) for d in range(10)],
        "test_size": float(test_size),
        "seed": seed,
        "source": "sklearn.datasets.load_digits",
    }
    return Dataset(X[idx_train], y[idx_train], X[idx_test], y[idx_test], meta)
