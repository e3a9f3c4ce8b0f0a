"""Ridge readouts of dask arrays: sufficient statistics per row chunk, summed by a tree of tasks.

:meth:`RidgeReadout.fit <pixelflow.readouts.RidgeReadout.fit>` on a dask
array of features comes here. Each row chunk, with its targets, becomes the
centred statistics that the in-memory fit accumulates
(:func:`pixelflow.linalg.ridge.accumulate`, the same code), pairs of them
are merged exactly (:meth:`pixelflow.linalg.ridge.RidgeStats.merge`, Chan,
Golub & LeVeque) up a binary tree of tasks, and only the merged
``n_features × n_features`` statistics reach the client, which solves once
(:func:`pixelflow.linalg.ridge.solve`, the same code again). The feature matrix is never
gathered anywhere.

Coefficients equal the in-memory fit's up to rounding: only the order of the
floating-point sums differs (the in-memory fit adds its 4096-row blocks one
after the other, the tree adds chunks pairwise and each chunk around its own
mean). Measured, relative to the largest coefficient: 1e-15 to 1e-13 on
reservoir features, up to 6e-11 on features with large offsets and unequal
scales, up to 6e-10 against the in-memory dual form with a tiny ``alpha``
(1e-3, standardised); the difference grows with the condition number of the
regularised Gram matrix. On 120,000 rows of notebook 11's Fashion-MNIST
features (3,136 standardised features, ``alpha=1``) it was 2.6e-9, and 1.5e-9
on 30,000 of them, where the in-memory fit itself moves by 1.1e-9 when its
rows are summed in another order: this is rounding, not a different
solution. The test suite allows 1e-9 on its small problems, notebook 11 1e-8. Features given as a
single chunk give the in-memory coefficients bit for bit, and the tree's
shape depends only on the chunks, never on which task finishes first, so a
refit on the same chunks (and the same BLAS) gives the same bits.

The dask fit always solves the primal normal equations, also when
``n_features > n_samples`` (where the in-memory fit switches to the
``n_samples × n_samples`` dual form): a dual form needs every pair of row
chunks at once, which is what out-of-core fitting avoids. It needs
``n_features²`` float64 memory on the client and per task, and returns the
same minimiser (ridge with ``alpha > 0`` has one), to the tolerance above.

Predictions (``predict``, ``decision_function``) are lazy dask arrays, the
in-memory method applied to each row chunk; ``score`` gathers only the
per-sample predictions and labels and returns the in-memory metric.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from sklearn.utils.validation import check_array

from pixelflow.inputs import is_dask_array
from pixelflow.linalg.ridge import RidgeStats, accumulate, class_labels, one_vs_all, regression_targets, resolve_task
from pixelflow.scaleout.arrays import map_rows, sample_rows, shared
from pixelflow.scaleout.optional import require

__all__ = ["chunked_stats", "gather", "map_readout"]

_FEATURES = "X must have shape (n_samples, n_features)"


def _chunk_stats(x, y, code):
    """Statistics of one row chunk (``code`` turns its ``y`` into the float64 target matrix)."""
    if not np.isfinite(x).all():
        raise ValueError("Input X contains NaN or infinity.")
    Y = code(y)
    if not np.isfinite(Y).all():
        raise ValueError("Input y contains NaN or infinity.")
    return accumulate(x, Y)


def _tree_sum(dask, parts):
    """Pairwise merges, level by level; the pairing depends only on the chunk order."""
    merge = dask.delayed(RidgeStats.merge, pure=True)
    while len(parts) > 1:
        merged = [merge(a, b) for a, b in zip(parts[0::2], parts[1::2])]
        parts = merged + parts[2 * len(merged):]
    return parts[0]


def _feature_rows(X, n_features=None, name="RidgeReadout"):
    """Checked features: 2-D, numeric, known row chunks, one chunk across the columns."""
    if X.dtype.kind == "c":
        raise ValueError("Complex data not supported")
    X = sample_rows(X, ndims=(2,), what=_FEATURES)
    if not np.isfinite(X.shape[0]):
        raise ValueError("X has unknown chunk sizes along samples; call X.compute_chunk_sizes() first")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting {n_features} features as input.")
    return X


def _row_slices(chunks):
    bounds = np.concatenate([[0], np.cumsum(chunks)]).astype(int)
    return [slice(a, b) for a, b in itertools.pairwise(bounds)]


def chunked_stats(X, y, task="auto", name="RidgeReadout"):
    """Ridge sufficient statistics of row-chunked features, computed by dask.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Features, chunked along samples (column chunks are merged).
    y : array-like or dask.array.Array of shape (n_samples,) or (n_samples, n_targets)
        Class labels or real targets, as for the in-memory fit.
    task : {"auto", "classification", "regression"}
    name : str
        The estimator's name, for error messages.

    Returns
    -------
    stats : RidgeStats
        Of all rows, for :func:`pixelflow.linalg.ridge.solve`.
    task : str
        The task fitted.
    classes : ndarray or None
        Sorted class labels (classification).
    single_target : bool
        Whether predictions are 1-D.

    Notes
    -----
    Class labels are one value per sample: a dask ``y`` is computed first for
    classification (the labels decide the target columns), and each chunk's
    task receives only its slice. Real targets stay lazy. Runs on dask's
    current scheduler (a ``distributed.Client``, when one is active).
    """
    dask = require("dask", f"{name}.fit on a dask array")
    X = _feature_rows(X, name=name)
    n_samples, n_features = (int(s) for s in X.shape)
    if n_samples == 0 or n_features == 0:
        raise ValueError(f"Found array with shape {X.shape}; at least one sample and one feature are required.")
    if is_dask_array(y):
        if y.ndim not in (1, 2):
            raise ValueError(f"y must have shape (n_samples,) or (n_samples, n_targets), got shape {y.shape}")
    else:
        y = check_array(y, ensure_2d=False, dtype=None, input_name="y")
        if y.ndim > 2:
            raise ValueError(f"y must have shape (n_samples,) or (n_samples, n_targets), got shape {y.shape}")
    if y.shape[0] != n_samples:
        raise ValueError(f"Found input variables with inconsistent numbers of samples: [{n_samples}, {y.shape[0]}]")

    task = resolve_task(task, y.dtype)
    rows = _row_slices(X.chunks[0])
    if task == "classification":
        labels = y.compute() if is_dask_array(y) else y
        # One class is accepted, as in memory (and by RidgeClassifier).
        classes, y_index = class_labels(labels, name, min_classes=1)
        code = functools.partial(one_vs_all, n_classes=classes.shape[0])
        targets = [y_index[r] for r in rows]
        single_target = classes.shape[0] <= 2
    else:
        if y.dtype.kind == "c":
            raise ValueError("Complex-valued targets are not supported.")
        classes, code, single_target = None, regression_targets, y.ndim == 1
        if is_dask_array(y):
            y = y.rechunk((X.chunks[0],) + tuple((s,) for s in y.shape[1:]))
            targets = list(y.to_delayed().ravel())
        else:
            targets = [y[r] for r in rows]
    stats_of = dask.delayed(_chunk_stats, pure=True)
    leaves = [stats_of(x, t, code) for x, t in zip(X.to_delayed().ravel(), targets)]
    (stats,) = dask.compute(_tree_sum(dask, leaves))
    return stats, task, classes, single_target


def _apply(block, readout, method):
    return getattr(readout, method)(block)


def map_readout(readout, X, method, *, width, dtype):
    """Lazy ``readout.<method>`` of a dask array of features, one task per row chunk.

    Parameters
    ----------
    readout : fitted estimator
        Shipped to each worker once.
    X : dask.array.Array of shape (n_samples, n_features)
    method : str
        ``"predict"`` or ``"decision_function"``.
    width : int or None
        Output columns (None: one value per sample).
    dtype : numpy dtype
        Output dtype.

    Returns
    -------
    dask.array.Array
        Row ``i`` equals the in-memory method's row ``i`` (the same code runs
        on each chunk; real-valued scores may differ in the last bits where
        BLAS blocks a product differently for a different number of rows).
    """
    require("dask.array", f"{type(readout).__name__}.{method} on a dask array")
    from dask.base import tokenize

    X = _feature_rows(X, readout.n_features_in_, type(readout).__name__)
    fitted = shared(readout, f"pixelflow-readout-{tokenize(readout)}")
    return map_rows(_apply, X, fitted, method, width=width, dtype=dtype, token=f"pixelflow-{method}")


def gather(*arrays):
    """Compute the dask arrays among ``arrays`` together (one graph); others pass through."""
    dask = require("dask", "scoring dask arrays")
    lazy = [i for i, a in enumerate(arrays) if is_dask_array(a)]
    out = list(arrays)
    for i, value in zip(lazy, dask.compute(*(arrays[i] for i in lazy))):
        out[i] = value
    return tuple(out)
