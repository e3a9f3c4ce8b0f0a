"""Fixed vs learned: the ``random_nca`` reservoir frozen or trained end to end, through one protocol.

:func:`evaluate` runs the notebooks' protocol (validation split, ridge
``alpha`` chosen on validation, refit on the full training set, test once per
seed) for the fixed reservoir (:class:`pixelflow.Reservoir`) or a learned one
(:class:`pixelflow.nca.learned_reservoir.LearnedReservoirClassifier`), with
its cost; :func:`comparison_table` puts such results side by side.
:func:`verdict_table` sets the best fixed feature map against every learned
model on the same test images, with its verdict in words.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from pixelflow.checks import check_int
from pixelflow.config import ReservoirConfig
from pixelflow.inputs import check_batch
from pixelflow.nca.learned_reservoir import (
    LearnedReservoirClassifier,
    check_alphas,
    check_config,
    check_labels,
    check_train,
    select_alpha,
)
from pixelflow.readouts import RidgeReadout
from pixelflow.reservoir import Reservoir
from pixelflow.significance import holm, mcnemar
from pixelflow.threads import torch_threads
from pixelflow.workbook.protocols.data import validation_split
from pixelflow.workbook.protocols.fitting import accuracy
from pixelflow.workbook.protocols.tables import accuracy_cells
from pixelflow.workbook.tables import column

__all__ = ["comparison_table", "evaluate", "verdict_table"]


# ---------------------------------------------------------------------------
# The protocol, fixed or learned
# ---------------------------------------------------------------------------


def _run_seed(cfg, X_train, y_train, X_test, y_test, fit_idx, val_idx, train, alphas, options,
              backend) -> dict[str, Any]:
    """One seed of :func:`evaluate`: features (after training, if learned), alpha on validation, refit, test."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    out = {"n_trained_params": 0, "train_s": 0.0, "head_test_accuracy": None, "history": None}
    if train is None:
        features = Reservoir(cfg, backend=backend, progress=False).transform
    else:
        clf = LearnedReservoirClassifier(cfg, **options)
        clf.fit(X_train[fit_idx], y_train[fit_idx], X_train[val_idx], y_train[val_idx])
        features = clf.transform
        out.update(n_trained_params=clf.n_trained_params_, train_s=clf.train_s_, history=clf.history_)
    t1 = time.perf_counter()
    # Features are batch-invariant: the full training set's are the fit and validation rows'.
    F_train = np.empty((len(X_train), cfg.n_features), dtype=np.float32)
    F_train[fit_idx] = features(X_train[fit_idx])
    F_train[val_idx] = features(X_train[val_idx])
    F_test = features(X_test)
    t2 = time.perf_counter()
    with torch_threads(1):
        alpha, scores = select_alpha(alphas, F_train[fit_idx], y_train[fit_idx], F_train[val_idx], y_train[val_idx])
        pred = RidgeReadout(alpha=alpha, standardize=True).fit(F_train, y_train).predict(F_test)
    t3, cpu3 = time.perf_counter(), time.process_time()
    if train is not None:
        out["head_test_accuracy"] = accuracy(y_test, clf.predict_head(X_test))
    out.update(alpha=alpha, val_accuracy=max(scores), test_accuracy=accuracy(y_test, pred), transform_s=t2 - t1,
               readout_s=t3 - t2, cost_s=t3 - t0, cpu_s=cpu3 - cpu0, y_pred=np.asarray(pred).tolist())
    return out


def evaluate(
    config: ReservoirConfig,
    X_train,
    y_train,
    X_test,
    y_test,
    *,
    train: Sequence[str] | None = None,
    seeds: Sequence[int] = (0,),
    alphas: Sequence[float] = (1.0,),
    val_fraction: float = 0.2,
    split_seed: int = 0,
    epochs: int = 5,
    lr: float = 1e-3,
    batch_size: int = 64,
    backend: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """The notebooks' protocol for the fixed (``train=None``) or a learned reservoir, once per seed.

    For every seed the config's ``seed`` is replaced; the training data is
    split by :func:`pixelflow.workbook.protocols.validation_split` (``val_fraction``,
    ``split_seed``: the same split as the classification notebooks). A
    learned reservoir is trained end to end on the fit rows only (validation
    rows scored per epoch). Then, for both: a standardised ridge readout per
    ``alpha`` is fitted on the fit rows' features and scored on the
    validation rows; the best ``alpha`` (ties: the first) is refitted on the
    features of the *full* training set and the test set is predicted once.
    The fixed reservoir's features come from :class:`pixelflow.Reservoir`
    on ``backend``; the learned one's from its torch module (one CPU thread).

    Returns
    -------
    dict
        ``train`` (the trained weights, ``None`` for fixed), ``n_features``,
        ``n_trained_params`` (reservoir), ``n_readout_params``, ``epochs``,
        ``n_fit``, ``n_val``, ``n_train``, ``n_test``, ``seeds`` and per seed
        (lists): ``alpha``, ``val_accuracy`` (ridge, chosen alpha),
        ``test_accuracy`` (ridge), ``head_test_accuracy`` (learned only),
        ``history`` (learned only), ``train_s``, ``transform_s``,
        ``readout_s`` (alpha search, refit, test prediction) and ``cost_s``
        (wall time from the data to the test predictions: encoding, training,
        all features, readout; head scoring excluded), ``cpu_s`` (CPU seconds
        of the process over the same span, all threads: less sensitive than
        wall time to other jobs on a shared machine), ``y_pred`` (the test
        predictions, for paired tests); ``mean``, ``std`` (sample standard
        deviation over seeds, ``ddof=1``; 0 for one seed) of the test accuracy.
    """
    config = check_config(config)
    if train is not None:
        train = check_train(train)
    alphas = check_alphas(list(alphas))
    seeds = [check_int(s, "seed", low=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds!r}")
    X_train, X_test = check_batch(X_train), check_batch(X_test)
    y_train = check_labels(y_train, len(X_train), "_train")
    y_test = check_labels(y_test, len(X_test), "_test")
    fit_idx, val_idx = validation_split(y_train, val_fraction, split_seed)
    n_classes = len(np.unique(y_train))
    out: dict[str, Any] = {
        "train": list(train) if train is not None else None, "n_features": config.n_features,
        "n_readout_params": (config.n_features + 1) * n_classes, "epochs": 0 if train is None else int(epochs),
        "n_fit": len(fit_idx), "n_val": len(val_idx), "n_train": len(y_train), "n_test": len(y_test), "seeds": seeds,
        **{k: [] for k in ("alpha", "val_accuracy", "test_accuracy", "head_test_accuracy", "history", "train_s",
                           "transform_s", "readout_s", "cost_s", "cpu_s", "y_pred")},
    }
    for s in seeds:
        result = _run_seed(dataclasses.replace(config, seed=s), X_train, y_train, X_test, y_test, fit_idx, val_idx,
                           train, alphas, dict(epochs=epochs, lr=lr, batch_size=batch_size, seed=s, train=train,
                                               readout_alpha=None, progress=progress), backend)
        out["n_trained_params"] = result.pop("n_trained_params")
        for key, value in result.items():
            out[key].append(value)
    acc = np.asarray(out["test_accuracy"])
    out["mean"], out["std"] = float(acc.mean()), (float(acc.std(ddof=1)) if len(acc) > 1 else 0.0)
    return out


def _mean_std(values, scale: float = 1.0):
    v = scale * np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return None
    return float(v[0]) if v.size == 1 else [float(v.mean()), float(v.std(ddof=1))]


def comparison_table(results: dict[str, dict]) -> dict[str, Any]:
    """Fixed and learned :func:`evaluate` results side by side, for ``add_table`` and ``text_table``.

    Cells: method, trained reservoir weights, readout weights, epochs, the
    chosen ``alpha`` of each seed, validation and test accuracy of the ridge
    readout in % (mean ± std over seeds when there are several), test
    accuracy of the jointly trained head, and the cost per seed (training +
    features + readout) in wall seconds and in CPU seconds.
    """
    rows = []
    for name, r in results.items():
        rows.append([name, r["n_trained_params"], r["n_readout_params"], r["epochs"],
                     ", ".join(f"{a:g}" for a in r["alpha"]), _mean_std(r["val_accuracy"], 100.0),
                     _mean_std(r["test_accuracy"], 100.0), _mean_std(r["head_test_accuracy"], 100.0),
                     _mean_std(r["cost_s"]), _mean_std(r["cpu_s"])])
    columns = [column("Reservoir"), column("Trained res. weights", "d"), column("Readout weights", "d"),
               column("Epochs", "d"), column("Ridge α"), column("Val. acc. (%)", ".2f"),
               column("Test acc. (%)", ".2f"), column("Head test acc. (%)", ".2f"), column("Wall (s)", ".0f"),
               column("CPU (s)", ".0f")]
    return {"columns": columns, "rows": rows}


def _listed(names: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``: names as a sentence lists them."""
    names = list(names)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def verdict_table(entries: Sequence[dict], y_test, level: float = 0.01) -> dict[str, Any]:
    """The reference (the first entry, fixed) against every other model on the same test images, with a verdict.

    Each entry: ``name``, ``kind`` (``"fixed"`` or ``"learned"``), ``params``
    (trainable weights, readout included), ``test_accuracy`` (one per seed),
    ``n_test``, ``cost_s`` (wall seconds per seed from the images to the test
    predictions, training included) and ``y_pred`` (the first seed's test
    predictions). Each other entry is compared with the reference by the
    exact McNemar test on their first seeds, Holm-adjusted over the table.

    Returns
    -------
    dict
        ``columns``, ``rows`` and ``verdict``: one sentence, whether any learned
        model is significantly more accurate than the reference (at ``level``),
        which is the most accurate and by how much.
    """
    if len(entries) < 2:
        raise ValueError("a verdict needs the reference and at least one other model")
    y_test = np.asarray(y_test)
    ref = entries[0]
    if ref["kind"] != "fixed":
        raise ValueError(f"the reference (first entry) must be a fixed feature map, got {ref['kind']!r}")
    tests = [mcnemar(y_test, np.asarray(ref["y_pred"]), np.asarray(e["y_pred"])) for e in entries[1:]]
    adjusted = holm([t["p_value"] for t in tests])
    rows = []
    for i, e in enumerate(entries):
        scores = np.asarray(e["test_accuracy"], dtype=float)
        acc, interval = accuracy_cells({"test_accuracy": scores, "n_test": e["n_test"], "mean": float(scores.mean()),
                                        "std": float(scores.std(ddof=1)) if len(scores) > 1 else 0.0})
        versus = [None, None] if i == 0 else [-100.0 * tests[i - 1]["difference"], adjusted[i - 1]]
        rows.append([e["name"], e["kind"], int(e["params"]), len(e["test_accuracy"]), acc, interval, *versus,
                     float(np.mean(e["cost_s"]))])
    columns = [column("Model"), column("Kind"), column("Trainable weights", ",d"), column("Seeds", "d"),
               column("Test acc. (%)", ".2f"), column("95 % CI (%)"), column("vs. fixed (pp)", "+.2f"),
               column("Holm p", ".2g"), column("Cost per seed (s)", ".0f")]
    learned = [(e, t, p) for e, t, p in zip(entries[1:], tests, adjusted) if e["kind"] == "learned"]
    better = [e["name"] for e, t, p in learned if p < level and t["difference"] < 0]
    worse = [e["name"] for e, t, p in learned if p < level and t["difference"] > 0]
    best = max(learned, key=lambda x: np.mean(x[0]["test_accuracy"]))[0] if learned else None
    ref_acc = 100.0 * float(np.mean(ref["test_accuracy"]))
    if better:
        verdict = (f"Learned beats fixed: {_listed(better)} {'is' if len(better) == 1 else 'are'} significantly more "
                   f"accurate than {ref['name']} ({ref_acc:.2f} %).")
    else:
        verdict = (f"No learned model is significantly more accurate than {ref['name']} ({ref_acc:.2f} %)"
                   + (f"; {_listed(worse)} {'is' if len(worse) == 1 else 'are'} significantly less accurate" if worse
                      else "") + ".")
    if best is not None:
        verdict += (f" The most accurate learned model is {best['name']} "
                    f"({100.0 * float(np.mean(best['test_accuracy'])):.2f} %, "
                    f"{float(np.mean(best['cost_s'])) / max(float(np.mean(ref['cost_s'])), 1e-9):.1f}x the cost).")
    return {"columns": columns, "rows": rows, "verdict": verdict}
