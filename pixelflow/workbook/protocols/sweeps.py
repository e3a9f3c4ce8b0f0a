"""Parameter sweeps over reservoir configurations, one task per configuration.

:func:`grid` expands a base :class:`~pixelflow.config.ReservoirConfig` into
every combination of some of its fields (rules × seeds × steps, say), and
:func:`sweep` scores each configuration the way :mod:`pixelflow.workbook.protocols`
does: a ridge readout per ``alpha`` is fitted on the training rows outside a
seeded, stratified validation split and scored on the validation rows; the
``alpha`` with the best validation accuracy (ties: the smaller index) is
refitted on the whole training set and scored once on the test set. Test data
never takes part in a choice.

With a ``distributed.Client`` the data are scattered once to every worker and
each configuration is one task with a key derived from its inputs; without
one (``client=None``) the same function runs in this process, one
configuration after the other. Both give the same rows (apart from
``seconds``), in the order of ``configs``, whatever order the tasks finish in.

>>> import numpy as np
>>> from pixelflow import ReservoirConfig
>>> base = ReservoirConfig(8, 8, 2, 2, "wave")
>>> [(c.rule, c.seed, c.steps) for c in grid(base, seed=[0, 1], steps=[1, 2])]
[('wave', 0, 1), ('wave', 0, 2), ('wave', 1, 1), ('wave', 1, 2)]
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from pixelflow.checks import check_items
from pixelflow.config import ReservoirConfig
from pixelflow.readouts import RidgeReadout
from pixelflow.scaleout.arrays import process_lock
from pixelflow.scaleout.optional import require
from pixelflow.workbook.protocols.candidates import ridge_grid
from pixelflow.workbook.protocols.data import check_xy, validation_split
from pixelflow.workbook.protocols.fitting import accuracy, features, fit_and_score

__all__ = ["ALPHAS", "grid", "sweep"]

#: Ridge strengths tried for every configuration unless told otherwise.
ALPHAS = (0.1, 1.0, 10.0, 100.0, 1000.0)

_FIELDS = tuple(f.name for f in dataclasses.fields(ReservoirConfig))


def grid(base: ReservoirConfig, **axes: Sequence) -> list[ReservoirConfig]:
    """Every combination of the given field values, the first axis outermost.

    Parameters
    ----------
    base : ReservoirConfig
        Supplies every field that is not an axis.
    **axes : sequence
        ``field=[values]`` for fields of :class:`ReservoirConfig`, e.g.
        ``rule=["wave", "life_like"], seed=range(3), steps=[4, 8]``.
        A config whose rule differs from ``base.rule`` starts from empty
        ``rule_params`` (the base's belong to its rule) unless
        ``rule_params`` is an axis too.

    Returns
    -------
    list of ReservoirConfig
        ``len = product of the axis lengths``, in ``itertools.product``
        order.
    """
    if not isinstance(base, ReservoirConfig):
        raise TypeError(f"base must be a ReservoirConfig, got {type(base).__name__}")
    for name, values in axes.items():
        if name not in _FIELDS:
            raise ValueError(f"{name!r} is not a ReservoirConfig field; valid: {', '.join(_FIELDS)}")
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, range)):
            raise TypeError(f"grid axis {name} must be a list of values, got {name}={values!r}")
        if len(values) == 0:
            raise ValueError(f"grid axis {name} is empty")
    configs = []
    for combo in itertools.product(*axes.values()):
        changes = dict(zip(axes, combo))
        if changes.get("rule", base.rule) != base.rule and "rule_params" not in changes:
            changes["rule_params"] = {}
        configs.append(dataclasses.replace(base, **changes))
    return configs


@dataclass(frozen=True, eq=False)
class _Data:
    """What every configuration reads: train and test sets and the validation split (scattered once)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    fit_idx: np.ndarray
    val_idx: np.ndarray


def _run_one(config: ReservoirConfig, data: _Data, *, alphas, standardize: bool, backend: str) -> dict:
    """One configuration: features, validation accuracy per alpha, test accuracy of the best."""
    # One configuration at a time per process, and one BLAS thread for the
    # readouts, so the numbers do not depend on what else the process runs.
    with process_lock, threadpool_limits(limits=1, user_api="blas"):
        t0 = time.perf_counter()
        F_train = features(config, data.X_train, backend)
        F_test = features(config, data.X_test, backend)
        y_fit, y_val = data.y_train[data.fit_idx], data.y_train[data.val_idx]
        scored = fit_and_score(ridge_grid(alphas, standardize), F_train[data.fit_idx], y_fit,
                                F_train[data.val_idx], y_val)
        val = [acc for acc, _, _ in scored]
        best = int(np.argmax(val))
        readout = RidgeReadout(alpha=float(alphas[best]), standardize=standardize).fit(F_train, data.y_train)
        test = accuracy(data.y_test, readout.predict(F_test))
        seconds = time.perf_counter() - t0
    return {"rule": config.rule, "seed": config.seed, "steps": config.steps, "n_features": int(F_train.shape[1]),
            "alpha": float(alphas[best]), "val_accuracy": val[best], "test_accuracy": test,
            "seconds": seconds, "config": config.to_dict()}


def _check_alphas(alphas) -> tuple[float, ...]:
    alphas = tuple(alphas)
    if not alphas:
        raise ValueError("alphas must not be empty")
    for a in alphas:
        if isinstance(a, bool) or not isinstance(a, numbers.Real) or not (math.isfinite(a) and a > 0):
            raise ValueError(f"every alpha must be a positive finite number, got {a!r}")
    return tuple(float(a) for a in alphas)


def sweep(
    client,
    configs: Sequence[ReservoirConfig],
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    alphas: Sequence[float] = ALPHAS,
    standardize: bool = True,
    val_fraction: float = 0.2,
    split_seed: int = 0,
    backend: str = "cpu",
    progress: bool = True,
) -> list[dict]:
    """Score every configuration: best ridge ``alpha`` on validation, then test accuracy.

    Parameters
    ----------
    client : distributed.Client or None
        Where the configurations run, one task each; ``None`` runs them here,
        one after the other.
    configs : sequence of ReservoirConfig
        E.g. from :func:`grid`.
    X_train, y_train, X_test, y_test : array-like
        Images (or vectors) and class labels, in memory; scattered once to
        every worker (``broadcast=True``), so the loss of a worker loses no data.
    alphas : sequence of float
        Ridge strengths tried per configuration (one pass over the features
        serves them all).
    standardize : bool
        Standardise features before the ridge penalty.
    val_fraction, split_seed
        The validation split (:func:`pixelflow.workbook.protocols.validation_split`),
        the same for every configuration.
    backend : str
        Reservoir backend on the workers.
    progress : bool
        A tqdm bar over finished configurations.

    Returns
    -------
    list of dict, one per configuration, in the order of ``configs``
        ``index``, ``rule``, ``seed``, ``steps``, ``n_features``, ``alpha``
        (the chosen one), ``val_accuracy``, ``test_accuracy`` (fractions),
        ``seconds`` (features, fits and scoring of this configuration, where
        it ran) and ``config`` (its ``to_dict()``).

    Notes
    -----
    Task keys are a hash of the configuration, the options and the data, so
    resubmitting a sweep reuses results the cluster still holds, and equal
    configurations run once. A task whose worker dies is rerun elsewhere by
    the scheduler. Each worker process runs one configuration at a time; use
    worker processes (``threads_per_worker=1``) for parallelism.
    """
    configs = check_items(configs, ReservoirConfig, "sweep", "configuration")
    if not isinstance(standardize, (bool, np.bool_)):
        raise TypeError(f"standardize must be a bool, got standardize={standardize!r}")
    options = {"alphas": _check_alphas(alphas), "standardize": bool(standardize), "backend": str(backend)}
    X_train, y_train = check_xy(X_train, y_train, "train")
    X_test, y_test = check_xy(X_test, y_test, "test")
    data = _Data(X_train, y_train, X_test, y_test, *validation_split(y_train, val_fraction, split_seed))
    bar = tqdm(total=len(configs), desc="sweep", unit="config", file=sys.stderr, disable=not progress)
    with bar:
        if client is None:
            rows = []
            for c in configs:
                rows.append(_run_one(c, data, **options))
                bar.update()
        else:
            rows = _on_cluster(client, configs, data, options, bar)
    return [{"index": i, **row} for i, row in enumerate(rows)]


def _on_cluster(client, configs, data, options, bar) -> list[dict]:
    """Submit one task per configuration; collect as they finish, return in submission order."""
    distributed = require("distributed", "sweep with a client")
    from dask.base import tokenize

    shared = client.scatter(data, broadcast=True)
    futures = [
        client.submit(_run_one, c, shared, key=f"pixelflow-sweep-{c.rule}-{tokenize(c, options, shared.key)}",
                      **options)
        for c in configs
    ]
    done = {}
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            done[future.key] = future.result()
            bar.update()
    finally:
        if len(done) < len({f.key for f in futures}):
            client.cancel(futures)
    return [done[f.key] for f in futures]
