"""The classification protocol's tables: the search, the final test accuracies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pixelflow.workbook.protocols.candidates import Candidate
from pixelflow.workbook.tables import GREEK, column, format_value

__all__ = ["final_table", "search_table", "validation_accuracy"]


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
        symbol = GREEK.get(param, param) if param else ""
        tried = ", ".join(format_value(r["value"]) for r in rs) if param else "-"
        out.append([
            name, top["rule"], top["steps"], top["channels"], top["record"], top["pool"], top["n_features"],
            kind, f"{symbol} ∈ {{{tried}}}" if param else "-",
            f"{symbol}={format_value(top['value'])}" if param else "-",
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
        readout = r["readout"] + (f" {GREEK.get(param, param)}={format_value(r['value'])}" if param else "")
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
