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
>>> from pixelflow.workbook.protocols import best, candidates, evaluate, ridge_grid, search
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
share one pass over them (the same coefficients as separate fits). The
ridge statistics of the search's fit rows are kept for the final refit
(:mod:`~pixelflow.workbook.protocols.kept_statistics`), which then sums only
the validation rows' products.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

from pixelflow.checks import check_items
from pixelflow.stack import StackConfig
from pixelflow.workbook import test_ledger
from pixelflow.workbook.protocols import kept_statistics
from pixelflow.workbook.protocols.candidates import Candidate, config_key, describe_candidate, with_seed
from pixelflow.workbook.protocols.data import check_augment, check_split, check_xy, validation_split
from pixelflow.workbook.protocols.fitting import (
    accuracy,
    check_threads,
    features,
    fit,
    fit_and_score,
    fit_in_two_parts,
    limit_blas,
    path_key,
    training_features,
)

__all__ = ["best", "evaluate", "search", "steps_curve", "summary"]

# Training samples whose features are compared across two seeds to decide
# whether a config depends on its seed at all (wave/tile, for instance, does not).
_SEED_PROBE = 8


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
    candidates = check_items(candidates, Candidate, "search", "candidate")
    check_threads(blas_threads)
    augment = check_augment(augment)
    X_train, y_train = check_xy(X_train, y_train, "train")
    fit_idx, val_idx = validation_split(y_train, val_fraction, seed)
    y_val = y_train[val_idx]

    groups: dict[str, list[int]] = {}
    for i, c in enumerate(candidates):
        groups.setdefault(config_key(c.config), []).append(i)

    # Without augmentation the fit rows' ridge statistics are kept for evaluate's refit on all rows.
    digest = None if augment else kept_statistics.data_digest(X_train, y_train)
    rows: list = [None] * len(candidates)
    bar = tqdm(total=len(candidates), desc="search", unit="candidate", file=sys.stderr, disable=not progress)
    try:
        for members in groups.values():
            config = candidates[members[0]].config
            bar.set_postfix_str(candidates[members[0]].name)
            t0 = time.perf_counter()
            F_all = features(config, X_train, backend)
            F_val = F_all[val_idx]
            F_fit, y_fit_aug = training_features(config, X_train, y_train, augment, backend, rows=fit_idx,
                                                 computed=F_all)
            del F_all
            transform_s = time.perf_counter() - t0
            on_path = None
            if digest is not None and config is not None:
                name = kept_statistics.key(config, backend, digest)

                def on_path(path, classes, name=name):
                    if path.statistics is not None:
                        kept_statistics.keep(name, fit_idx, classes, path.statistics)

            with limit_blas(blas_threads):
                scored = fit_and_score(
                    [candidates[i].readout for i in members], F_fit, y_fit_aug, F_val, y_val,
                    on_done=lambda _: bar.update(1), on_path=on_path,
                )
            for i, (acc, fit_s, converged) in zip(members, scored):
                rows[i] = {
                    "index": i,
                    **describe_candidate(candidates[i]),
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
    a = features(with_seed(config, 0), probe, backend)
    b = features(with_seed(config, 1), probe, backend)
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
    val_fraction: float = 0.2,
    split_seed: int = 0,
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
    ``val_fraction`` and ``split_seed`` name the validation split of the
    :func:`search` that chose the candidate (its ``val_fraction`` and
    ``seed``). A ridge classifier with at most as many features as training
    rows then sums its statistics over that split's fit rows first and the
    validation rows second: the same coefficients as one pass, and the
    search's statistics of the fit rows, when this process kept them,
    are reused (:mod:`~pixelflow.workbook.protocols.kept_statistics`), so
    only the validation rows' products are computed for that seed.

    Returns
    -------
    dict
        ``name``, ``label``, ``rule``, ``readout``, ``hyperparameter``,
        ``value``, ``n_features``, ``augment``, ``n_train`` (images before
        augmentation), ``n_test``, ``seeds`` (those actually run),
        ``seeds_requested``, ``deterministic``,
        ``test_accuracy`` (list of fractions, one per seed run), ``mean``,
        ``std`` (sample standard deviation over the seeds run, ``ddof=1``; 0
        for one run), ``y_pred`` (test predictions of the first seed),
        ``y_preds`` (one array per seed run), ``config`` (first
        seed's ``to_dict()``, None for raw pixels), ``configs`` (one per
        seed run), ``transform_s``, ``fit_s``, ``predict_s`` (lists per seed);
        ``fitted_readout`` (the first seed's fitted estimator) with ``keep_readout``.
    """
    if not isinstance(candidate, Candidate):
        raise TypeError(f"evaluate expects a Candidate, got {type(candidate).__name__}")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds!r}")
    check_threads(blas_threads)
    check_split(val_fraction, split_seed, ("val_fraction", "split_seed"))
    augment = check_augment(augment)
    X_train, y_train = check_xy(X_train, y_train, "train")
    X_test, y_test = check_xy(X_test, y_test, "test")

    deterministic = candidate.config is None or not _seed_matters(candidate.config, X_train, backend)
    # A ridge classifier's statistics are accumulated over the search's fit rows first, then the rest, so that
    # the search's statistics of those rows serve (the same order with or without them: the same coefficients).
    first_rows = digest = None
    if not augment and candidate.config is not None and path_key(candidate.readout, y_train, 0, 0) is not None:
        try:
            first_rows = validation_split(y_train, val_fraction, split_seed)[0]
            digest = kept_statistics.data_digest(X_train, y_train)
        except ValueError:  # labels no stratified split takes (a class of one image): one pass
            first_rows = None
    run = seeds[:1] if deterministic else seeds
    out: dict[str, Any] = {
        **{k: v for k, v in describe_candidate(candidate).items()
           if k in ("name", "label", "rule", "readout", "hyperparameter", "value")},
        "augment": "+".join(augment) or None, "n_train": int(len(y_train)), "n_test": int(len(y_test)),
        "seeds": run if candidate.config is not None else [], "seeds_requested": seeds,
        "deterministic": deterministic, "test_accuracy": [], "configs": [],
        "transform_s": [], "fit_s": [], "predict_s": [], "converged": [],
    }
    # Four stages per seed, so that the bar moves within a seed (one seed of a large design takes minutes).
    bar = tqdm(total=4 * len(run), desc=f"evaluate {candidate.name}", unit="stage", file=sys.stderr,
               disable=not progress)

    def stage(seed, what):
        bar.set_postfix_str(f"seed {seed}: {what}", refresh=False)
        bar.update()

    for s in run:
        c = candidate.with_seed(s)
        bar.set_postfix_str(f"seed {s}: training features")
        t0 = time.perf_counter()
        F, y_fit = training_features(c.config, X_train, y_train, augment, backend)
        transform_s = time.perf_counter() - t0
        stage(s, "fit")
        out["n_features"] = int(F.shape[1])
        done = None
        with limit_blas(blas_threads):
            if first_rows is not None and F.shape[1] <= F.shape[0]:  # the primal form: statistics
                kept = kept_statistics.get(kept_statistics.key(c.config, backend, digest))
                done = fit_in_two_parts(c.readout, F, y_fit, first_rows, kept)
                del kept
            est, fit_s, converged = fit(c.readout, F, y_fit) if done is None else done
        del F
        stage(s, "test features")
        t0 = time.perf_counter()
        F = features(c.config, X_test, backend)
        transform_s += time.perf_counter() - t0
        stage(s, "prediction")
        t0 = time.perf_counter()
        with limit_blas(blas_threads):
            pred = est.predict(F)
        predict_s = time.perf_counter() - t0
        del F
        stage(s, "done")
        out["test_accuracy"].append(accuracy(y_test, pred))
        out["configs"].append(None if c.config is None else c.config.to_dict())
        out["transform_s"].append(transform_s)
        out["fit_s"].append(fit_s)
        out["predict_s"].append(predict_s)
        out["converged"].append(converged)
        out.setdefault("y_preds", []).append(np.asarray(pred))
        if "y_pred" not in out:
            out["y_pred"] = out["y_preds"][0]
            if keep_readout:
                out["fitted_readout"] = est
    bar.close()
    test_ledger.append(method=candidate.label, X_test=X_test, y_test=y_test, seeds=out["seeds"],
                       scores=out["test_accuracy"],
                       config=test_ledger.config_hash(out["configs"][0], candidate.readout.get_params(),
                                                      out["augment"]))
    acc = np.asarray(out["test_accuracy"])
    out["mean"] = float(acc.mean())
    out["std"] = float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
    out["config"] = out["configs"][0]
    return out


def summary(result: Mapping[str, Any]) -> dict[str, Any]:
    """An :func:`evaluate` result without the prediction arrays and fitted readout (for results files)."""
    return {k: v for k, v in result.items() if k not in ("y_pred", "y_preds", "fitted_readout")}


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
    check_threads(blas_threads)
    X_train, y_train = check_xy(X_train, y_train, "train")
    fit_idx, val_idx = validation_split(y_train, val_fraction, seed)
    cfg = candidate.config
    members = cfg.members if isinstance(cfg, StackConfig) else (cfg,)
    members = [dataclasses.replace(m, steps=steps[-1], record=list(steps)) for m in members]
    # Column k of every member's features holds step steps[k]; a stack's step-t
    # features are the members' step-t blocks side by side.
    sizes = [m.n_features for m in members]
    blocks = list(zip(np.cumsum([0] + sizes[:-1]), [size // len(steps) for size in sizes]))  # (start, per step)
    run = StackConfig(tuple(members)) if len(members) > 1 else members[0]
    F_all = features(run, X_train, backend)
    F_fit, F_val = F_all[fit_idx], F_all[val_idx]
    del F_all
    rows = []
    for k, t in enumerate(tqdm(steps, desc=f"steps {candidate.name}", unit="step", file=sys.stderr,
                               disable=not progress)):
        cols = np.concatenate([np.arange(off + k * per, off + (k + 1) * per) for off, per in blocks])
        with limit_blas(blas_threads):
            acc, _, _ = fit_and_score([candidate.readout], np.ascontiguousarray(F_fit[:, cols]), y_train[fit_idx],
                                       np.ascontiguousarray(F_val[:, cols]), y_train[val_idx])[0]
        rows.append({"name": candidate.name, "rule": candidate.rule, "steps": t, "n_features": int(len(cols)),
                     "val_accuracy": acc})
    return rows
