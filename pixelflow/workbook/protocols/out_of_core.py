"""The protocol's refit-and-test step out of core, and how close it comes to the in-memory one.

:func:`evaluate_out_of_core` does for one seed what
:func:`pixelflow.workbook.protocols.evaluate` does in memory -- features of every
training image, the candidate's readout refitted on all of them, the test
images predicted once -- with the images cut into row chunks, the features
computed chunk by chunk and the ridge readout fitted from sufficient
statistics summed by a tree of tasks, on dask's current scheduler (a cluster
inside :func:`pixelflow.scaleout.cluster.on`). No process holds a feature
matrix; only the readout's ``n_features²`` statistics and the predictions
reach the client. :func:`agreement` compares the two results, and
:func:`comparison_table` sets several such comparisons side by side.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from pixelflow.readouts import RidgeReadout
from pixelflow.scaleout.arrays import by_rows
from pixelflow.scaleout.optional import require
from pixelflow.stack import make_reservoir
from pixelflow.workbook.protocols.candidates import Candidate
from pixelflow.workbook.protocols.data import AUGMENTATIONS, check_augment
from pixelflow.workbook.protocols.fitting import accuracy, check_threads, limit_blas

__all__ = ["agreement", "comparison_table", "evaluate_out_of_core"]


def evaluate_out_of_core(candidate: Candidate, X_train, y_train, X_test, y_test, *, rows: int, seed: int = 0,
                         backend: str = "cpu", blas_threads: int | None = 1,
                         augment: str | Sequence[str] | None = None) -> dict[str, Any]:
    """Refit on all training images and predict the test images, features and fit out of core.

    Parameters
    ----------
    candidate : Candidate
        A reservoir (or stack) and a :class:`~pixelflow.readouts.RidgeReadout`;
        its reservoir seed is replaced by ``seed``, as
        :func:`pixelflow.workbook.protocols.evaluate` does for each seed.
    X_train, y_train, X_test, y_test : array-like
        Images and labels; the images may be dask arrays (rechunked to
        ``rows`` samples per chunk) or anything :func:`by_rows` reads.
    rows : int
        Images per chunk: one feature task and one statistics task per chunk.
    seed : int
    backend : str
        Reservoir backend, wherever the chunks run.
    blas_threads : int or None
        BLAS threads of the solve on the client (the protocol's default: one).
    augment : str or sequence of str, optional
        Training-set augmentations (:data:`pixelflow.workbook.protocols.AUGMENTATIONS`,
        e.g. ``"hflip"``), as in :func:`pixelflow.workbook.protocols.evaluate`: the
        readout also sees each transformed copy of the training images, with
        the same labels, in the same row order.

    Returns
    -------
    dict
        ``name``, ``n_features``, ``n_train`` (images before augmentation),
        ``n_fit`` (rows the readout was fitted on), ``augment``, ``n_test``,
        ``rows``, ``chunks`` (train, test), ``test_accuracy``, ``y_pred``,
        ``fitted_readout``, ``fit_s`` (training features, statistics and the
        solve), ``predict_s`` (test features and predictions), ``config``.
    """
    if not isinstance(candidate, Candidate):
        raise TypeError(f"evaluate_out_of_core expects a Candidate, got {type(candidate).__name__}")
    if candidate.config is None:
        raise ValueError("evaluate_out_of_core needs a reservoir candidate, not raw pixels")
    if not isinstance(candidate.readout, RidgeReadout):
        raise TypeError(f"only a RidgeReadout is fitted out of core, got {type(candidate.readout).__name__}")
    check_threads(blas_threads)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    for what, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        if y.ndim != 1 or len(X) != len(y):
            raise ValueError(f"X_{what} and y_{what} must have the same number of samples; "
                             f"got {len(X)} images and labels of shape {y.shape}")
    augment = check_augment(augment)
    chosen = candidate.with_seed(seed)
    reservoir = make_reservoir(chosen.config, backend=backend, progress=False)
    X_train, X_test = by_rows(X_train, rows), by_rows(X_test, rows)
    y_fit = y_train
    if augment:
        # The in-memory order: the training rows, then each transformed copy (contiguous, as in memory).
        da = require("dask.array", "evaluate_out_of_core with augment")
        copies = [AUGMENTATIONS[name](X_train).map_blocks(np.ascontiguousarray) for name in augment]
        X_train = da.concatenate([X_train, *copies])
        y_fit = np.tile(y_train, 1 + len(augment))
    with limit_blas(blas_threads):
        t0 = time.perf_counter()
        readout = clone(chosen.readout).fit(reservoir.transform(X_train), y_fit)
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        y_pred = readout.predict(reservoir.transform(X_test)).compute()
        predict_s = time.perf_counter() - t0
    return {"name": candidate.name, "n_features": int(reservoir.feature_dim), "n_train": int(len(y_train)),
            "n_fit": int(len(y_fit)), "augment": "+".join(augment) or None, "n_test": int(len(y_test)),
            "rows": int(rows), "chunks": [len(X_train.chunks[0]), len(X_test.chunks[0])],
            "test_accuracy": accuracy(y_test, y_pred), "y_pred": np.asarray(y_pred), "fitted_readout": readout,
            "fit_s": fit_s, "predict_s": predict_s, "config": chosen.config.to_dict()}


def agreement(reference: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """How far two evaluations of the same candidate on the same data differ.

    Parameters
    ----------
    reference : dict
        :func:`pixelflow.workbook.protocols.evaluate` with ``keep_readout=True`` (its
        first seed), or :func:`evaluate_out_of_core`.
    other : dict
        Likewise, e.g. the out-of-core evaluation.

    Returns
    -------
    dict
        ``accuracy_equal``, ``predictions_identical``, ``n_predictions_differ``,
        ``max_coef_difference`` (absolute), ``relative_coef_difference``
        (divided by the reference's largest absolute coefficient) and
        ``max_intercept_difference``.
    """
    acc = [r["test_accuracy"][0] if isinstance(r["test_accuracy"], list) else r["test_accuracy"]
           for r in (reference, other)]
    a, b = reference["fitted_readout"], other["fitted_readout"]
    if a.coef_.shape != b.coef_.shape:
        raise ValueError(f"the readouts differ in shape: {a.coef_.shape} and {b.coef_.shape}")
    gap = float(np.max(np.abs(a.coef_ - b.coef_)))
    differ = int(np.sum(np.asarray(reference["y_pred"]) != np.asarray(other["y_pred"])))
    return {"accuracy_equal": acc[0] == acc[1], "predictions_identical": differ == 0, "n_predictions_differ": differ,
            "max_coef_difference": gap, "relative_coef_difference": gap / float(np.max(np.abs(a.coef_))),
            "max_intercept_difference": float(np.max(np.abs(np.asarray(a.intercept_) - np.asarray(b.intercept_))))}


_QUANTITIES = (
    "Data", "Reservoir", "Features D", "Samples (train / test)", "Feature matrix (MB)", "D² statistics per task (MB)",
    "Row chunks (train / test) × images", "Workers × threads", "Memory limit per worker (MB)",
    "Peak worker memory (MB)", "Spilled to disk, all workers (MB)", "Test acc. in memory (%)",
    "Test acc. on the cluster (%)", "Test predictions that differ", "max |Δcoef| / max |coef|",
    "Wall time in memory (s)", "Wall time on the cluster (s)",
)


def comparison_table(parts: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """In-memory vs out-of-core runs side by side: one column per run, one row per quantity.

    Parameters
    ----------
    parts : mapping of column title -> dict
        Each with ``split`` (the data set's), ``reservoir`` (a short name),
        ``feature_bytes`` (the full feature matrix), ``statistics_bytes``
        (one task's, :func:`~pixelflow.scaleout.ridge.stats_nbytes`),
        ``threads`` (``client.nthreads()``), ``workers``
        (:func:`~pixelflow.scaleout.cluster.memory_report`), ``reference``
        (:func:`pixelflow.workbook.protocols.evaluate` with ``keep_readout``) and
        ``out_of_core`` (:func:`evaluate_out_of_core`).

    Returns
    -------
    dict
        ``columns`` and ``rows`` for :meth:`~pixelflow.workbook.results.ResultsRecord.add_table`
        and :func:`~pixelflow.workbook.protocols.text_table`; the cells are formatted
        text (each column mixes quantities).
    """
    from pixelflow.workbook.tables import column

    if not parts:
        raise ValueError("comparison_table needs at least one part")
    MB = 1e6
    cells = []
    for p in parts.values():
        ref, ooc, workers, threads = p["reference"], p["out_of_core"], p["workers"], p["threads"]
        check = agreement(ref, ooc)
        limits = sorted({w["memory_limit"] for w in workers}, key=lambda x: x or 0)
        cells.append([
            p["split"], p["reservoir"], f"{ooc['n_features']:,}",
            f"{ooc['n_train']:,}" + (f" (+ {ooc['augment']}: {ooc['n_fit']:,})" if ooc.get("augment") else "")
            + f" / {ooc['n_test']:,}",
            f"{p['feature_bytes'] / MB:,.0f}", f"{p['statistics_bytes'] / MB:,.0f}",
            f"{ooc['chunks'][0]} / {ooc['chunks'][1]} × ≤ {ooc['rows']:,}",
            f"{len(threads)} × {max(threads.values())}",
            ", ".join("none" if x is None else f"{x / MB:,.0f}" for x in limits),
            "-" if any(w["peak_rss"] is None for w in workers)
            else f"{max(w['peak_rss'] for w in workers) / MB:,.0f}",
            f"{sum(w['spilled_bytes'] for w in workers) / MB:,.0f}",
            f"{100 * ref['test_accuracy'][0]:.2f}", f"{100 * ooc['test_accuracy']:.2f}",
            f"{check['n_predictions_differ']}", f"{check['relative_coef_difference']:.1e}",
            f"{sum(ref['transform_s']) + ref['fit_s'][0] + ref['predict_s'][0]:,.0f}",
            f"{ooc['fit_s'] + ooc['predict_s']:,.0f}",
        ])
    columns = [column("Quantity")] + [column(title, align="r") for title in parts]
    return {"columns": columns, "rows": [[q, *values] for q, *values in zip(_QUANTITIES, *cells)]}
