"""The classification protocol the notebooks follow, in one tested place.

1. :func:`validation_split` carves a stratified validation set out of the
   *training* data.
2. :func:`search` fits every :class:`Candidate` (a reservoir config, or
   ``None`` for raw pixels, plus a readout with its hyperparameters) on the
   rest of the training data and scores it on that validation set. It is
   never given test data.
3. :func:`best` picks the candidate with the highest validation accuracy
   (optionally among a subset, e.g. one rule).
4. :func:`evaluate` refits the chosen candidate on the *full* training set
   and scores it on the test set, once per reported number (once per seed).

>>> from pixelflow.datasets import digits
>>> from pixelflow import ReservoirConfig
>>> ds = digits()
>>> cands = candidates({"raw": None,
...                     "wave": ReservoirConfig(8, 8, 2, 2, "wave", record="all")},
...                    ridge_grid([1.0, 10.0]))
>>> rows = search(cands, ds.X_train, ds.y_train, progress=False)
>>> chosen = best(rows, cands)
>>> result = evaluate(chosen, *ds, progress=False)
>>> len(result["test_accuracy"]), 0.0 <= result["mean"] <= 1.0
(1, True)

Features are computed one reservoir config at a time and dropped before the
next, so at most one config's feature matrices are alive; readouts that share
a config reuse its features, and ridge readouts that differ only in ``alpha``
share one pass over them (the same coefficients as separate fits).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import numbers
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from pixelflow.checks import check_int
from pixelflow.config import ReservoirConfig
from pixelflow.linalg import ridge
from pixelflow.readouts import LogisticReadout, RidgeReadout
from pixelflow.stack import StackConfig, make_reservoir
from pixelflow.workbook.results import column

__all__ = [
    "Candidate",
    "best",
    "candidates",
    "evaluate",
    "features",
    "final_table",
    "logistic_grid",
    "readout_description",
    "ridge_grid",
    "search",
    "search_table",
    "steps_curve",
    "summary",
    "text_table",
    "validation_accuracy",
    "validation_split",
]

# Main hyperparameter of each known readout: (short name, parameter).
_READOUT_PARAMS = {"RidgeReadout": ("ridge", "alpha"), "LogisticReadout": ("logistic", "C")}
_GREEK = {"alpha": "α"}
# Training samples whose features are compared across two seeds to decide
# whether a config depends on its seed at all (wave/tile, for instance, does not).
_SEED_PROBE = 8


# ---------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------


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
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not (
        math.isfinite(fraction) and 0 < fraction < 1
    ):
        raise ValueError(f"fraction must be a number in (0, 1), got {fraction!r}")
    check_int(seed, "seed", low=0)
    _, counts = np.unique(y, return_counts=True)
    if len(counts) < 2:
        raise ValueError("y needs at least 2 classes for a stratified validation split")
    if counts.min() < 2:
        raise ValueError(f"every class needs at least 2 samples to appear on both sides, smallest has {counts.min()}")
    fit_idx, val_idx = train_test_split(
        np.arange(y.size), test_size=float(fraction), stratify=y, random_state=int(seed)
    )
    return np.sort(fit_idx).astype(np.int64), np.sort(val_idx).astype(np.int64)


# ---------------------------------------------------------------------------
# Candidates
# ---------------------------------------------------------------------------


def readout_description(readout) -> tuple[str, str | None, Any]:
    """``(kind, hyperparameter name, value)``, e.g. ``("ridge", "alpha", 10.0)``."""
    cls = type(readout).__name__
    kind, param = _READOUT_PARAMS.get(cls, (cls, None))
    params = readout.get_params(deep=False)
    if param is None:
        param = next((p for p in ("alpha", "C") if p in params), None)
    return kind, param, (params.get(param) if param else None)


def _readout_label(readout) -> str:
    kind, param, value = readout_description(readout)
    if param is None:
        return kind
    return f"{kind} {_GREEK.get(param, param)}={_fmt_value(value)}"


@dataclass(frozen=True, eq=False)
class Candidate:
    """One thing to try: a reservoir (or raw pixels) plus a readout.

    Parameters
    ----------
    name : str
        Short name of the feature map, shared by candidates that differ only
        in the readout (e.g. ``"wave absorbing 8 steps"``).
    config : ReservoirConfig, StackConfig or None
        The reservoir (or several side by side); ``None`` means the raw
        pixels, flattened.
    readout : estimator
        An unfitted scikit-learn style classifier; it is cloned before every
        fit, so the same object may be shared.
    """

    name: str
    config: ReservoirConfig | StackConfig | None
    readout: Any

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Candidate.name must be a non-empty string, got {self.name!r}")
        if self.config is not None and not isinstance(self.config, (ReservoirConfig, StackConfig)):
            raise TypeError("Candidate.config must be a ReservoirConfig, StackConfig or None, "
                            f"got {type(self.config).__name__}")
        if not (hasattr(self.readout, "fit") and hasattr(self.readout, "get_params")):
            raise TypeError(f"Candidate.readout must be a scikit-learn style estimator, got {self.readout!r}")

    @property
    def rule(self) -> str:
        """The config's rule, or ``"raw"`` for raw pixels."""
        return "raw" if self.config is None else self.config.rule

    @property
    def label(self) -> str:
        """``name · readout``, e.g. ``"raw · ridge α=10"``."""
        return f"{self.name} · {_readout_label(self.readout)}"

    def with_seed(self, seed: int) -> Candidate:
        """The same candidate with the reservoir seed replaced (raw: unchanged)."""
        return dataclasses.replace(self, config=_with_seed(self.config, seed))

    def __repr__(self) -> str:
        return f"Candidate({self.label!r})"


def _with_seed(config, seed: int):
    if config is None:
        return None
    if isinstance(config, StackConfig):
        return config.with_seed(seed)
    return dataclasses.replace(config, seed=int(seed))


def candidates(configs: Mapping[str, ReservoirConfig | StackConfig | None], readouts: Sequence) -> list[Candidate]:
    """Every combination of the named configs with the readouts (configs outer)."""
    return [Candidate(name, cfg, r) for name, cfg in configs.items() for r in readouts]


def ridge_grid(alphas: Sequence[float], standardize: bool = True) -> list[RidgeReadout]:
    """Ridge readouts, one per ``alpha``."""
    return [RidgeReadout(alpha=float(a), standardize=standardize) for a in alphas]


# The solver's stopping tolerance for the protocol's logistic readouts. At
# scikit-learn's default (1e-4) lbfgs stops early enough that the rounding of
# the machine's BLAS kernels moves predictions (measured: one of 400 smoke
# validation images flips between OpenBLAS's Haswell and SkylakeX kernels);
# at 1e-6 both give the same predictions, for ~1.5x the iterations.
LOGISTIC_TOL = 1e-6


def logistic_grid(Cs: Sequence[float], standardize: bool = True, max_iter: int = 1000,
                  tol: float = LOGISTIC_TOL) -> list[LogisticReadout]:
    """Logistic readouts, one per ``C``, converged to ``tol`` (:data:`LOGISTIC_TOL`)."""
    return [LogisticReadout(C=float(c), standardize=standardize, max_iter=max_iter, tol=tol) for c in Cs]


def _config_key(config: ReservoirConfig | StackConfig | None) -> str:
    return "raw" if config is None else json.dumps(config.to_dict(), sort_keys=True, default=str)


def _record_text(config: ReservoirConfig) -> str:
    rec = config.record
    if isinstance(rec, str):
        return rec
    steps = config.record_steps
    return ",".join(map(str, steps))


def _describe_config(cfg: ReservoirConfig) -> dict[str, Any]:
    enc = cfg.input_encoding + "".join(f" {k}={v}" for k, v in sorted(cfg.encoder_params.items()))
    return dict(grid=f"{cfg.height}x{cfg.width}", channels=cfg.channels, steps=cfg.steps, record=_record_text(cfg),
                pool=cfg.pool, encoding=enc, rule_params=dict(cfg.to_dict()["rule_params"]))


def _describe(c: Candidate) -> dict[str, Any]:
    """The JSON-friendly columns of a row that come from the candidate."""
    kind, param, value = readout_description(c.readout)
    cfg = c.config
    base = {"name": c.name, "label": c.label, "rule": c.rule}
    if cfg is None:
        base.update(grid=None, channels=None, steps=None, record=None, pool=None, encoding="raw pixels",
                    rule_params={}, seed=None)
    else:
        members = cfg.members if isinstance(cfg, StackConfig) else (cfg,)
        described = [_describe_config(m) for m in members]
        if len(described) == 1:
            base.update(described[0])
        else:
            # A stack's columns join its members' values with "+" (one value where they agree).
            for key in ("grid", "channels", "steps", "record", "pool", "encoding"):
                values = [d[key] for d in described]
                base[key] = values[0] if len(set(values)) == 1 else "+".join(map(str, values))
            base["rule_params"] = [d["rule_params"] for d in described]
        base["seed"] = cfg.seed
    base.update(readout=kind, hyperparameter=param, value=value)
    return base


# ---------------------------------------------------------------------------
# Features and fitting
# ---------------------------------------------------------------------------


def features(config: ReservoirConfig | StackConfig | None, X, backend: str = "cpu") -> np.ndarray:
    """Feature matrix of ``X``: reservoir features, or flattened float32 pixels for ``None``.

    For raw pixels no copy is made when ``X`` is already a C-contiguous
    float32 array.
    """
    if config is None:
        X = np.asarray(X)
        return np.ascontiguousarray(X.reshape(len(X), -1), dtype=np.float32)
    return make_reservoir(config, backend=backend, progress=False).transform(X)


def _hflip(X):
    if X.ndim < 3:
        raise ValueError(f"augment 'hflip' needs images (N, H, W[, C]), got samples of shape {X.shape[1:]}")
    return X[:, :, ::-1]


# Training-set augmentations: a batch of images -> a transformed copy with the same labels.
AUGMENTATIONS: dict[str, Callable] = {"hflip": _hflip}


def _check_augment(augment) -> tuple[str, ...]:
    if augment is None:
        return ()
    names = (augment,) if isinstance(augment, str) else tuple(augment)
    for name in names:
        if name not in AUGMENTATIONS:
            raise ValueError(f"unknown augmentation {name!r}; valid: {', '.join(AUGMENTATIONS)}")
    return names


def _training_features(config, X, y, augment: tuple, backend: str):
    """Features and labels of the training rows, followed by those of each augmented copy."""
    F = features(config, X, backend)
    if not augment:
        return F, y
    parts = [F] + [features(config, np.ascontiguousarray(AUGMENTATIONS[name](X)), backend) for name in augment]
    return np.concatenate(parts), np.tile(y, len(parts))


def _accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.asarray(y_pred) == np.asarray(y_true)))


def _check_threads(blas_threads) -> None:
    if blas_threads is not None:
        check_int(blas_threads, "blas_threads", low=1)


def _threads(blas_threads: int | None):
    """Limit BLAS / OpenMP threads for readout fitting (None: leave as they are)."""
    _check_threads(blas_threads)
    if blas_threads is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=int(blas_threads))


def _fit(readout, F, y):
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


def _path_key(readout, y, n_samples: int, n_features: int):
    """Group key for ridge readouts that may share one pass over the features, else None."""
    if type(readout) is not RidgeReadout or readout.task not in ("auto", "classification"):
        return None
    if y.dtype.kind not in "iub":
        return None  # regression targets: fit separately
    return (bool(readout.standardize), bool(readout.fit_intercept))


def _ridge_path(members, F_fit, y_fit, F_val):
    """Ridge classifiers differing only in ``alpha``: one pass over the features, one solve each.

    :class:`pixelflow.linalg.ridge.RidgePath` builds what
    :meth:`RidgeReadout.fit` builds once; each ``alpha`` then only needs its
    own solve, and the coefficients are those of a separate fit. Returns
    ``[(y_pred, seconds), ...]`` with the shared pass split evenly.
    """
    t0 = time.perf_counter()
    classes, y_index = ridge.class_labels(y_fit, "RidgeReadout")
    first = members[0]
    path = ridge.RidgePath(F_fit, ridge.one_vs_all(y_index, len(classes)), fit_intercept=first.fit_intercept,
                           standardize=first.standardize)
    shared = (time.perf_counter() - t0) / len(members)
    out = []
    for r in members:
        t1 = time.perf_counter()
        coef, intercept = path.solve(r.alpha)
        seconds = shared + time.perf_counter() - t1
        out.append((ridge.labels_from_scores(ridge.decision(F_val, coef, intercept), classes), seconds))
    return out


def _fit_and_score(readouts, F_fit, y_fit, F_val, y_val, on_done: Callable[[int], None] | None = None):
    """Validation accuracy of every readout on one feature matrix.

    Returns ``[(accuracy, fit seconds, converged), ...]`` in input order.
    """
    results: list = [None] * len(readouts)
    groups: dict = {}
    for i, r in enumerate(readouts):
        key = _path_key(r, y_fit, *F_fit.shape)
        groups.setdefault(key if key is not None else ("single", i), []).append(i)
    for key, idx in groups.items():
        if key[0] != "single" and len(idx) > 1:
            for i, (pred, seconds) in zip(idx, _ridge_path([readouts[i] for i in idx], F_fit, y_fit, F_val)):
                results[i] = (_accuracy(y_val, pred), seconds, True)
                if on_done:
                    on_done(i)
            continue
        for i in idx:
            est, seconds, converged = _fit(readouts[i], F_fit, y_fit)
            results[i] = (_accuracy(y_val, est.predict(F_val)), seconds, converged)
            if on_done:
                on_done(i)
    return results


def _check_xy(X, y, what: str):
    X = np.asarray(X)
    y = np.asarray(y)
    if y.ndim != 1 or len(X) != len(y):
        raise ValueError(f"X_{what} and y_{what} must have the same number of samples; got {X.shape} and {y.shape}")
    return X, y


# ---------------------------------------------------------------------------
# Search, selection, evaluation
# ---------------------------------------------------------------------------


def search(
    candidates: Sequence[Candidate],
    X_train,
    y_train,
    *,
    val_fraction: float = 0.2,
    seed: int = 0,
    backend: str = "cpu",
    progress: bool = True,
    blas_threads: int | None = 1,
    augment: str | Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Score every candidate on a validation split of the training data.

    Each candidate's readout is fitted on the training rows outside the
    validation split (:func:`validation_split` with ``val_fraction`` and
    ``seed``) and scored on the validation rows. Test data is never an input.
    Each distinct reservoir config is run once; its features serve all the
    readouts that use it and are dropped before the next config.

    ``blas_threads`` limits the BLAS / OpenMP threads of the readout fits
    (not of the reservoir); ``None`` leaves them alone. The default of one
    thread is deliberate: on a shared 2-core machine, multi-threaded BLAS
    spin-waiting made ridge fits 2-10x and lbfgs logistic fits up to 20x
    slower than one thread, while on an idle machine one thread costs at
    most about 2x on the largest fits.

    ``augment`` names training-set augmentations (:data:`AUGMENTATIONS`,
    e.g. ``"hflip"``): the readout is also fitted on the features of each
    transformed copy of the fit rows, with the same labels. Validation rows
    are never augmented.

    Returns
    -------
    list of dict, one per candidate in input order
        ``index``, ``name``, ``label``, ``rule``, ``grid``, ``channels``,
        ``steps``, ``record``, ``pool``, ``encoding``, ``rule_params``,
        ``seed``, ``readout``, ``hyperparameter``, ``value``, ``n_features``,
        ``augment``, ``n_fit`` (images before augmentation), ``n_val``,
        ``val_accuracy`` (fraction), ``rank`` (1 = best;
        ties keep input order), ``converged``, ``transform_s`` (seconds to
        compute the config's features, fit and validation rows; shared by
        every candidate of that config) and ``fit_s`` (readout fit; a shared
        ridge pass is split evenly).
    """
    candidates = list(candidates)
    if not candidates:
        raise ValueError("search needs at least one candidate")
    for c in candidates:
        if not isinstance(c, Candidate):
            raise TypeError(f"search expects Candidate objects, got {type(c).__name__}")
    _check_threads(blas_threads)
    augment = _check_augment(augment)
    X_train, y_train = _check_xy(X_train, y_train, "train")
    fit_idx, val_idx = validation_split(y_train, val_fraction, seed)
    y_fit, y_val = y_train[fit_idx], y_train[val_idx]

    groups: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        groups.setdefault(_config_key(c.config), []).append(i)

    rows: list = [None] * len(candidates)
    bar = tqdm(total=len(candidates), desc="search", unit="candidate", file=sys.stderr, disable=not progress)
    try:
        for members in groups.values():
            config = candidates[members[0]].config
            bar.set_postfix_str(candidates[members[0]].name)
            t0 = time.perf_counter()
            F_fit, y_fit_aug = _training_features(config, X_train[fit_idx], y_fit, augment, backend)
            F_val = features(config, X_train[val_idx], backend)
            transform_s = time.perf_counter() - t0
            with _threads(blas_threads):
                scored = _fit_and_score(
                    [candidates[i].readout for i in members], F_fit, y_fit_aug, F_val, y_val,
                    on_done=lambda _: bar.update(1),
                )
            for i, (acc, fit_s, converged) in zip(members, scored):
                rows[i] = {
                    "index": i,
                    **_describe(candidates[i]),
                    "n_features": int(F_fit.shape[1]),
                    "augment": "+".join(augment) or None,
                    "n_fit": int(len(fit_idx)),
                    "n_val": int(len(val_idx)),
                    "val_accuracy": acc,
                    "rank": None,
                    "converged": converged,
                    "transform_s": transform_s,
                    "fit_s": fit_s,
                }
            del F_fit, F_val
    finally:
        bar.close()
    order = sorted(range(len(rows)), key=lambda i: (-rows[i]["val_accuracy"], i))
    for rank, i in enumerate(order, 1):
        rows[i]["rank"] = rank
    return rows


def _matches(row: dict, where) -> bool:
    if where is None:
        return True
    if callable(where):
        return bool(where(row))
    return all(row.get(k) == v for k, v in where.items())


def best(rows: Sequence[dict], candidates: Sequence[Candidate], where=None) -> Candidate:
    """The candidate with the highest validation accuracy.

    Parameters
    ----------
    rows : the output of :func:`search` for ``candidates``
    candidates : the list given to :func:`search`
    where : dict or callable, optional
        Restrict the choice to rows with these values (e.g.
        ``{"rule": "wave"}``) or for which ``where(row)`` is true.
        Ties go to the earlier candidate.
    """
    if len(rows) != len(candidates):
        raise ValueError(f"rows ({len(rows)}) and candidates ({len(candidates)}) do not belong together")
    chosen = [r for r in rows if _matches(r, where)]
    if not chosen:
        raise ValueError(f"no search row matches {where!r}")
    top = min(chosen, key=lambda r: (-r["val_accuracy"], r["index"]))
    return candidates[top["index"]]


def _seed_matters(config, X, backend: str) -> bool:
    """Whether changing the seed changes this config's features on a few samples."""
    probe = X[:_SEED_PROBE]
    a = features(_with_seed(config, 0), probe, backend)
    b = features(_with_seed(config, 1), probe, backend)
    return not np.array_equal(a, b)


def evaluate(
    candidate: Candidate,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    seeds: Sequence[int] = (0,),
    backend: str = "cpu",
    progress: bool = True,
    blas_threads: int | None = 1,
    augment: str | Sequence[str] | None = None,
    keep_readout: bool = False,
) -> dict[str, Any]:
    """Refit on the full training set and score on the test set, once per seed.

    For every seed the reservoir config's ``seed`` is replaced
    (``dataclasses.replace``), the readout (hyperparameters as chosen) is
    refitted on all of ``X_train`` and the test set is predicted once. A
    candidate whose features do not depend on the seed (raw pixels, or a
    rule and encoder without random weights, checked on a few training
    samples) is evaluated once: repeating it would only repeat the number.
    ``blas_threads`` and ``augment`` (training rows only) as in :func:`search`.
    ``keep_readout`` also returns the first seed's fitted readout (to compare
    its coefficients with another fit, e.g. an out-of-core one).

    Returns
    -------
    dict
        ``name``, ``label``, ``rule``, ``readout``, ``hyperparameter``,
        ``value``, ``n_features``, ``augment``, ``n_train`` (images before
        augmentation), ``n_test``, ``seeds`` (those actually run),
        ``seeds_requested``, ``deterministic``,
        ``test_accuracy`` (list of fractions, one per seed run), ``mean``,
        ``std`` (population standard deviation over the seeds run, 0 for one),
        ``y_pred`` (test predictions of the first seed), ``config`` (first
        seed's ``to_dict()``, None for raw pixels), ``configs`` (one per
        seed run), ``transform_s``, ``fit_s``, ``predict_s`` (lists per seed);
        ``fitted_readout`` (the first seed's fitted estimator) with ``keep_readout``.
    """
    if not isinstance(candidate, Candidate):
        raise TypeError(f"evaluate expects a Candidate, got {type(candidate).__name__}")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds!r}")
    _check_threads(blas_threads)
    augment = _check_augment(augment)
    X_train, y_train = _check_xy(X_train, y_train, "train")
    X_test, y_test = _check_xy(X_test, y_test, "test")

    deterministic = candidate.config is None or not _seed_matters(candidate.config, X_train, backend)
    run = seeds[:1] if deterministic else seeds
    out: dict[str, Any] = {
        **{k: v for k, v in _describe(candidate).items() if k in ("name", "label", "rule", "readout", "hyperparameter", "value")},
        "augment": "+".join(augment) or None, "n_train": int(len(y_train)), "n_test": int(len(y_test)),
        "seeds": run if candidate.config is not None else [], "seeds_requested": seeds,
        "deterministic": deterministic, "test_accuracy": [], "configs": [],
        "transform_s": [], "fit_s": [], "predict_s": [], "converged": [],
    }
    bar = tqdm(run, desc=f"evaluate {candidate.name}", unit="seed", file=sys.stderr, disable=not progress)
    for s in bar:
        c = candidate.with_seed(s)
        t0 = time.perf_counter()
        F, y_fit = _training_features(c.config, X_train, y_train, augment, backend)
        transform_s = time.perf_counter() - t0
        out["n_features"] = int(F.shape[1])
        with _threads(blas_threads):
            est, fit_s, converged = _fit(c.readout, F, y_fit)
        del F
        t0 = time.perf_counter()
        F = features(c.config, X_test, backend)
        transform_s += time.perf_counter() - t0
        t0 = time.perf_counter()
        with _threads(blas_threads):
            pred = est.predict(F)
        predict_s = time.perf_counter() - t0
        del F
        out["test_accuracy"].append(_accuracy(y_test, pred))
        out["configs"].append(None if c.config is None else c.config.to_dict())
        out["transform_s"].append(transform_s)
        out["fit_s"].append(fit_s)
        out["predict_s"].append(predict_s)
        out["converged"].append(converged)
        if "y_pred" not in out:
            out["y_pred"] = np.asarray(pred)
            if keep_readout:
                out["fitted_readout"] = est
    bar.close()
    acc = np.asarray(out["test_accuracy"])
    out["mean"] = float(acc.mean())
    out["std"] = float(acc.std())
    out["config"] = out["configs"][0]
    return out


def summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """An :func:`evaluate` result without the prediction array and fitted readout (for results files)."""
    return {k: v for k, v in result.items() if k not in ("y_pred", "fitted_readout")}


def steps_curve(
    candidate: Candidate,
    X_train,
    y_train,
    *,
    steps: Sequence[int] = (0, 1, 2, 4, 8),
    val_fraction: float = 0.2,
    seed: int = 0,
    backend: str = "cpu",
    progress: bool = True,
    blas_threads: int | None = 1,
) -> list[dict[str, Any]]:
    """Validation accuracy of the state after ``t`` steps, for each ``t`` in ``steps``.

    The candidate's config is run once for ``max(steps)`` steps recording
    every state; the features of step ``t`` (pooled as in the config) are the
    same as those of the config with ``steps=t, record="final"``. The
    candidate's readout is refitted for each ``t`` on the same validation
    split :func:`search` uses. Test data is never an input. ``blas_threads``
    as in :func:`search`.

    Returns
    -------
    list of dict
        ``name``, ``rule``, ``steps``, ``n_features``, ``val_accuracy``.
    """
    if candidate.config is None:
        raise ValueError("steps_curve needs a reservoir candidate, not raw pixels")
    steps = sorted({int(t) for t in steps})
    if not steps or steps[0] < 0:
        raise ValueError(f"steps must be non-negative integers, got {steps!r}")
    _check_threads(blas_threads)
    X_train, y_train = _check_xy(X_train, y_train, "train")
    fit_idx, val_idx = validation_split(y_train, val_fraction, seed)
    cfg = candidate.config
    members = cfg.members if isinstance(cfg, StackConfig) else (cfg,)
    members = [dataclasses.replace(m, steps=steps[-1], record=list(steps)) for m in members]
    # Column k of every member's features holds step steps[k]; a stack's step-t
    # features are the members' step-t blocks side by side.
    sizes = [m.n_features for m in members]
    blocks = list(zip(np.cumsum([0] + sizes[:-1]), [size // len(steps) for size in sizes]))  # (start, per step)
    run = StackConfig(tuple(members)) if len(members) > 1 else members[0]
    F_fit = features(run, X_train[fit_idx], backend)
    F_val = features(run, X_train[val_idx], backend)
    rows = []
    for k, t in enumerate(tqdm(steps, desc=f"steps {candidate.name}", unit="step", file=sys.stderr, disable=not progress)):
        cols = np.concatenate([np.arange(off + k * per, off + (k + 1) * per) for off, per in blocks])
        with _threads(blas_threads):
            acc, _, _ = _fit_and_score([candidate.readout], np.ascontiguousarray(F_fit[:, cols]), y_train[fit_idx],
                                       np.ascontiguousarray(F_val[:, cols]), y_train[val_idx])[0]
        rows.append({"name": candidate.name, "rule": candidate.rule, "steps": t, "n_features": int(len(cols)),
                     "val_accuracy": acc})
    return rows


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


def _fmt_value(v) -> str:
    """Hyperparameter value as ``%g`` with a plain exponent: ``0.1``, ``10000``, ``1e6``, ``1e-5``."""
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        return str(v)
    text = f"{v:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def search_table(rows: Sequence[dict]) -> dict[str, Any]:
    """The search as a compact table: one row per feature map and readout kind.

    Shows the hyperparameter values tried, the one chosen on validation and
    its validation accuracy (%). Returns ``{"columns": ..., "rows": ...}``
    for :meth:`ResultsRecord.add_table` and :func:`text_table`.
    """
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["name"], r["readout"]), []).append(r)
    out = []
    for (name, kind), rs in groups.items():
        top = min(rs, key=lambda r: (-r["val_accuracy"], r["index"]))
        param = top["hyperparameter"]
        symbol = _GREEK.get(param, param) if param else ""
        tried = ", ".join(_fmt_value(r["value"]) for r in rs) if param else "-"
        out.append([
            name, top["rule"], top["steps"], top["channels"], top["record"], top["pool"], top["n_features"],
            kind, f"{symbol} ∈ {{{tried}}}" if param else "-", f"{symbol}={_fmt_value(top['value'])}" if param else "-",
            100.0 * top["val_accuracy"],
        ])
    columns = [column("Features from"), column("Rule"), column("Steps", "d"), column("Ch.", "d"), column("Record"),
               column("Pool", "d"), column("Dim.", "d"), column("Readout"), column("Tried"), column("Chosen"),
               column("Val. acc. (%)", ".2f")]
    return {"columns": columns, "rows": out}


def final_table(
    results: Sequence[dict],
    methods: Sequence[str] | None = None,
    *,
    validation: Sequence[float] | None = None,
    extra: Mapping[str, Sequence] | None = None,
) -> dict[str, Any]:
    """Test accuracies from :func:`evaluate` as a table.

    Parameters
    ----------
    results : evaluate() outputs
    methods : row labels (default: each result's ``name``)
    validation : optional validation accuracies (fractions) of the chosen
        candidates, shown in % before the test accuracy.
    extra : optional additional columns, ``{header: values}`` (one value per
        result, numbers formatted with ``.2f``).

    Cells: method, rule, readout with its chosen hyperparameter, feature
    dimension, seeds (``"1 (det.)"`` when the features do not depend on the
    seed), and test accuracy in % as ``[mean, std]`` over seeds (a single
    number when only one run was made).
    """
    methods = list(methods) if methods is not None else [r["name"] for r in results]
    if len(methods) != len(results) or (validation is not None and len(validation) != len(results)):
        raise ValueError("one method label (and validation accuracy) per result is needed")
    extra = dict(extra or {})
    rows = []
    for i, (m, r) in enumerate(zip(methods, results)):
        param = r["hyperparameter"]
        readout = r["readout"] + (f" {_GREEK.get(param, param)}={_fmt_value(r['value'])}" if param else "")
        runs = len(r["test_accuracy"])
        seeds = "1 (det.)" if r["deterministic"] else str(runs)
        acc = 100.0 * r["mean"] if runs == 1 else [100.0 * r["mean"], 100.0 * r["std"]]
        val = [] if validation is None else [None if validation[i] is None else 100.0 * validation[i]]
        rows.append([m, r["rule"], readout, r["n_features"], seeds, *val, acc, *(vals[i] for vals in extra.values())])
    columns = [column("Method"), column("Rule"), column("Readout"), column("Dim.", "d"), column("Seeds"),
               *([column("Val. acc. (%)", ".2f")] if validation is not None else []),
               column("Test acc. (%)", ".2f"), *(column(h, ".2f") for h in extra)]
    return {"columns": columns, "rows": rows}


def validation_accuracy(rows: Sequence[dict], candidates: Sequence[Candidate], candidate: Candidate) -> float:
    """The validation accuracy :func:`search` measured for ``candidate``, one of ``candidates``."""
    if len(rows) != len(candidates):
        raise ValueError(f"rows ({len(rows)}) and candidates ({len(candidates)}) do not belong together")
    for i, c in enumerate(candidates):
        if c is candidate:
            return rows[i]["val_accuracy"]
    raise ValueError(f"{candidate!r} is not one of these candidates")


def _cell_text(value, fmt) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, numbers.Real) for v in value):
        return f"{format(value[0], fmt or 'g')} ± {format(value[1], fmt or 'g')}"
    if fmt and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return format(value, fmt)
    return str(value)


def text_table(columns: Sequence[dict], rows: Sequence[Sequence]) -> str:
    """A fixed-width plain-text rendering of a table (for printing in notebooks)."""
    cells = [[c["name"] for c in columns]] + [[_cell_text(v, c.get("format")) for v, c in zip(r, columns)] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    right = [(c.get("align") or "l") == "r" for c in columns]

    def line(row):
        return "  ".join(s.rjust(w) if r else s.ljust(w) for s, w, r in zip(row, widths, right)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])
