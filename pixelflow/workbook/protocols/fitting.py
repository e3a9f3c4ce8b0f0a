"""Features and readout fits, the same way for every protocol: one feature pass per config, one ridge path
per alpha grid."""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from pixelflow.checks import check_int
from pixelflow.config import ReservoirConfig
from pixelflow.linalg import ridge
from pixelflow.readouts import RidgeReadout, ridge_classifier_from_statistics
from pixelflow.stack import StackConfig
from pixelflow.workbook import feature_cache
from pixelflow.workbook.protocols import kept_statistics
from pixelflow.workbook.protocols.data import AUGMENTATIONS

__all__ = ["accuracy", "check_threads", "curve_key", "features", "fit", "fit_and_score", "fit_in_two_parts",
           "limit_blas", "ridge_path", "training_features"]


def features(config: ReservoirConfig | StackConfig | None, X, backend: str = "cpu") -> np.ndarray:
    """Feature matrix of ``X``: reservoir features, or flattened float32 pixels for ``None``.

    Reservoir features come through :mod:`pixelflow.workbook.feature_cache`
    (equal bit for bit to a fresh computation). For raw pixels no copy is made
    when ``X`` is already a C-contiguous float32 array.
    """
    if config is None:
        X = np.asarray(X)
        return np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float32)
    return feature_cache.features(config, X, backend)


def training_features(config, X, y, augment: tuple, backend: str, rows=None, computed=None):
    """Features and labels of the training rows, followed by those of each augmented copy.

    ``rows`` (indices into ``X``, default all) selects the training rows. The
    features are computed for all of ``X`` and the rows taken afterwards — a
    row's features do not depend on its batch — so the final fit on all of
    ``X`` finds the search's features in the feature cache. ``computed``:
    ``features(config, X)`` when the caller already has it.
    """
    take = (lambda F: F) if rows is None else (lambda F: F[rows])
    parts = [take(features(config, X, backend) if computed is None else computed)]
    parts += [take(features(config, np.ascontiguousarray(AUGMENTATIONS[name](X)), backend)) for name in augment]
    y = y if rows is None else y[rows]
    if len(parts) == 1:
        return parts[0], y
    return np.concatenate(parts), np.tile(y, len(parts))


def accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_pred) == np.asarray(y_true)))


def check_threads(blas_threads) -> None:
    if blas_threads is not None:
        check_int(blas_threads, "blas_threads", low=1)


def limit_blas(blas_threads: int | None):
    """Limit BLAS / OpenMP threads for readout fitting (None: leave as they are)."""
    check_threads(blas_threads)
    if blas_threads is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(blas_threads))


def fit(readout, F, y):
    """Clone and fit; returns (estimator, seconds, converged)."""
    est = clone(readout)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(F, y)
    seconds = time.perf_counter() - t0
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:  # re-emit everything that is not about convergence
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return est, seconds, converged


def fit_in_two_parts(readout, F, y, first_rows, kept: kept_statistics.Kept | None = None):
    """Ridge ``readout`` fitted on all rows of ``F``, its statistics accumulated over ``first_rows`` and then the rest.

    The coefficients are those of ``readout.fit(F, y)`` up to the order of the
    float64 sums; the order is always the same, so the result does not
    depend on whether ``kept`` — statistics of ``first_rows`` kept by the
    search (:mod:`pixelflow.workbook.protocols.kept_statistics`) — is given:
    with it, only the rest's statistics are computed. ``kept`` is used only
    when it holds exactly ``first_rows`` and the same class labels. Returns
    ``(estimator, seconds, converged)`` as :func:`fit`, or None when
    ``first_rows`` are not distinct rows of ``F``.
    """
    t0 = time.perf_counter()
    n = len(F)
    first_rows = np.asarray(first_rows, dtype=np.int64)
    if first_rows.ndim != 1 or not len(first_rows) or first_rows.min() < 0 or first_rows.max() >= n:
        return None
    rest = np.setdiff1d(np.arange(n), first_rows)
    if len(rest) + len(first_rows) != n:  # repeated rows
        return None
    classes, y_index = ridge.class_labels(y, "RidgeReadout")
    n_classes = len(classes)
    if (kept is None or not np.array_equal(kept.rows, first_rows) or not np.array_equal(kept.classes, classes)
            or kept.stats.xx.shape[0] != F.shape[1]):
        stats = ridge.accumulate(F[first_rows], ridge.one_vs_all(y_index[first_rows], n_classes))
    else:
        stats = kept.stats
    if len(rest):
        stats = stats.merge(ridge.accumulate(F[rest], ridge.one_vs_all(y_index[rest], n_classes)))
    est = ridge_classifier_from_statistics(stats, classes, **readout.get_params())
    return est, time.perf_counter() - t0, True


def path_key(readout, y, n_samples: int, n_features: int):
    """Group key for ridge readouts that may share one pass over the features, else None."""
    if type(readout) is not RidgeReadout or readout.task not in ("auto", "classification"):
        return None
    if y.dtype.kind not in "iub":
        return None  # regression targets: fit separately
    return (bool(readout.standardize), bool(readout.fit_intercept))


def ridge_path(members, F_fit, y_fit, F_val, on_path: Callable | None = None):
    """Ridge classifiers differing only in ``alpha``: one pass over the features, one solve each.

    :class:`pixelflow.linalg.ridge.RidgePath` builds what
    :meth:`RidgeReadout.fit` builds once; each ``alpha`` then only needs its
    own solve, and the coefficients are those of a separate fit. Returns
    ``[(y_pred, seconds), ...]`` with the shared pass split evenly.
    ``on_path(path, classes)`` is called with the path once it is built.
    """
    t0 = time.perf_counter()
    classes, y_index = ridge.class_labels(y_fit, "RidgeReadout")
    first = members[0]
    path = ridge.RidgePath(F_fit, ridge.one_vs_all(y_index, len(classes)), fit_intercept=first.fit_intercept,
                           standardize=first.standardize)
    if on_path is not None:
        on_path(path, classes)
    shared = (time.perf_counter() - t0) / len(members)
    out = []
    for r in members:
        t1 = time.perf_counter()
        coef, intercept = path.solve(r.alpha)
        seconds = shared + time.perf_counter() - t1
        out.append((ridge.labels_from_scores(ridge.decision(F_val, coef, intercept), classes), seconds))
    return out


def curve_key(readout):
    """Group key for estimators with an ``epoch_curve`` that differ only in ``epochs``, else None.

    Their validation accuracy after ``E`` epochs of one run equals that of a
    fresh fit for ``E`` epochs (the contract of
    :meth:`pixelflow.baselines.ConvNetClassifier.epoch_curve`).
    """
    if not callable(getattr(readout, "epoch_curve", None)):
        return None
    params = {k: v for k, v in readout.get_params(deep=False).items() if k != "epochs"}
    return ("epochs", type(readout).__name__, repr(sorted(params.items())))


def fit_and_score(readouts, F_fit, y_fit, F_val, y_val, on_done: Callable[[int], None] | None = None,
                  on_path: Callable | None = None):
    """Validation accuracy of every readout on one feature matrix.

    Returns ``[(accuracy, fit seconds, converged), ...]`` in input order.
    ``on_path`` as in :func:`ridge_path`, for each path built.
    """
    results: list = [None] * len(readouts)
    groups: dict = {}
    for i, r in enumerate(readouts):
        key = path_key(r, y_fit, *F_fit.shape)
        if key is None:
            key = curve_key(r)
        groups.setdefault(key if key is not None else ("single", i), []).append(i)
    for key, idx in groups.items():
        if key[0] == "epochs":
            # Estimators trained epoch by epoch that differ only in their epoch count: one run scores them all.
            first = readouts[idx[0]]
            t0 = time.perf_counter()
            curve = first.epoch_curve(F_fit, y_fit, F_val, y_val, max(readouts[i].epochs for i in idx))
            seconds = (time.perf_counter() - t0) / len(idx)
            for i in idx:
                results[i] = (curve[readouts[i].epochs - 1], seconds, True)
                if on_done:
                    on_done(i)
            continue
        if key[0] != "single" and len(idx) > 1:
            paths = ridge_path([readouts[i] for i in idx], F_fit, y_fit, F_val, on_path)
            for i, (pred, seconds) in zip(idx, paths):
                results[i] = (accuracy(y_val, pred), seconds, True)
                if on_done:
                    on_done(i)
            continue
        for i in idx:
            est, seconds, converged = fit(readouts[i], F_fit, y_fit)
            results[i] = (accuracy(y_val, est.predict(F_val)), seconds, converged)
            if on_done:
                on_done(i)
    return results
