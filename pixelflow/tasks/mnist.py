"""pixelflow-rc compatible MNIST loader: flat ``(X_train, y_train, X_test, y_test)`` arrays.

pixelflow-rc's ``load`` always returns the official 60,000 / 10,000 split.
This one reads whatever MNIST files :func:`pixelflow.datasets.mnist` finds
(``$PIXELFLOW_DATA``, the user cache, or a download) and never passes off a
smaller copy as the 60k split: when the training file holds fewer than the
official 60,000 images (for example the first 14,000), or ``subset`` asks for
more than there are, it says which split it returned with a
:class:`MNISTSplitWarning`. New code should call
:func:`pixelflow.datasets.mnist`, whose ``Dataset.split`` records the split.
"""

from __future__ import annotations

import warnings

import numpy as np

from pixelflow.checks import check_count, check_seed
from pixelflow.datasets import mnist as _mnist
from pixelflow.datasets import stratified_subset

__all__ = ["MNISTSplitWarning", "load"]

OFFICIAL_N_TRAIN = 60_000


class MNISTSplitWarning(UserWarning):
    """:func:`load` returned a different training split than pixelflow-rc's 60k images."""


def load(
    subset: int | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """MNIST as flat arrays, with pixelflow-rc's signature and return convention.

    Parameters
    ----------
    subset : int, optional
        Keep a seeded, class-stratified subset of this many training images
        (the test set is always whole). A value at least as large as the
        training set keeps all of it; a larger one than is there warns.
    seed : int, default 0
        Seed of the subset.

    Returns
    -------
    X_train, y_train, X_test, y_test : ndarray
        ``X`` float32 in [0, 1] of shape ``(N, 784)`` (rows of the 28x28
        images), ``y`` int64 labels 0..9 of shape ``(N,)``. Subset rows keep
        the files' order.

    Warns
    -----
    MNISTSplitWarning
        When the training images returned are not drawn from the official
        60,000 (the files found hold only a prefix of them), or ``subset``
        exceeds the training images available. The message states the split
        used, e.g. ``"MNIST 14k-train prefix / 10k test"``.

    Raises
    ------
    TypeError
        ``subset`` is not an int or None, or ``seed`` not an int.
    ValueError
        ``subset`` is not positive or ``seed`` is negative; a data file is
        corrupt.
    FileNotFoundError
        No MNIST files are found and they cannot be downloaded.
    """
    subset = check_count(subset, "subset", allow_none=True)
    seed = check_seed(seed)
    ds = _mnist(seed=seed)
    X_train, y_train = ds.X_train, ds.y_train
    n_available = len(y_train)
    split = ds.split
    if subset is not None and subset < n_available:
        keep = stratified_subset(y_train, subset, seed)
        X_train, y_train = X_train[keep], y_train[keep]
        split += f" (stratified subset: {subset:,} train / {len(ds.y_test):,} test, seed {seed})"

    problems = []
    if n_available < OFFICIAL_N_TRAIN:
        problems.append(
            f"the training files in {ds.meta['source_dir']} hold only the first {n_available:,} "
            f"of the {OFFICIAL_N_TRAIN:,} official training images"
        )
    if subset is not None and subset > n_available:
        problems.append(f"subset={subset} exceeds the {n_available:,} training images available, so all are used")
    if problems:
        warnings.warn(
            f"pixelflow.tasks.mnist.load returns {split}, not the 60k/10k MNIST split: {'; '.join(problems)}",
            MNISTSplitWarning,
            stacklevel=2,
        )
    return (
        X_train.reshape(len(X_train), -1),
        y_train,
        ds.X_test.reshape(len(ds.X_test), -1),
        ds.y_test,
    )
