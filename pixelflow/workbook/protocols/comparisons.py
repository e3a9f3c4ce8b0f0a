"""Paired comparisons of evaluated methods on one test set: which differences the test set can tell apart.

Two methods scored on the same test images are compared image by image
(:mod:`pixelflow.significance`): the exact McNemar test on the images where
exactly one is right, and a paired bootstrap interval of the accuracy
difference. With several comparisons against one reference the p-values are
Holm-adjusted, and a difference is called significant when its adjusted
p-value is below ``level``.

Methods with several seeds are paired seed by seed (the reference's seed *i*
against the other's seed *i*, or its only run when it has one); the table
reports the first pair's difference and interval and the largest p-value
over the pairs, so "significant" holds for every seed.

>>> import numpy as np
>>> y = np.array([0, 1] * 50)
>>> ref = {"test_accuracy": [1.0], "y_preds": [y.copy()]}
>>> other = {"test_accuracy": [0.8], "y_preds": [np.where(np.arange(100) < 20, 1 - y, y)]}
>>> rows = compare("ours", ref, {"baseline": other}, y)
>>> rows[0]["a_only"], rows[0]["b_only"], rows[0]["significant"]
(20, 0, True)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pixelflow.checks import check_real
from pixelflow.significance import bootstrap_difference, holm, mcnemar
from pixelflow.workbook.tables import column, interval_text

__all__ = ["compare", "comparison_table"]


def _predictions(result: Mapping, name: str) -> list:
    preds = result.get("y_preds") or ([result["y_pred"]] if "y_pred" in result else None)
    if not preds:
        raise ValueError(f"the result of {name!r} holds no test predictions (an evaluate() output is needed, "
                         "not its summary())")
    return list(preds)


def compare(reference: str, result: Mapping, others: Mapping[str, Mapping], y_test, *, level: float = 0.01,
            n_boot: int = 10_000, seed: int = 0) -> list[dict[str, Any]]:
    """The reference method against each of ``others``, paired on the test images.

    Parameters
    ----------
    reference : str
        The reference method's name.
    result, others : :func:`~pixelflow.workbook.protocols.evaluate` outputs
        (with their test predictions), ``others`` keyed by method name.
    y_test : array_like
        The test labels they were scored on.
    level : float
        Holm-adjusted p-values below it count as significant.
    n_boot, seed : the paired bootstrap's resamples and seed.

    Returns
    -------
    list of dict, one per other method in order
        ``reference``, ``method``, ``accuracy_reference``, ``accuracy_method``
        (first seeds), ``difference`` (reference − method, fraction), ``low``,
        ``high`` (95 % paired bootstrap interval), ``a_only`` / ``b_only``
        (images only the reference / only the method gets right), ``p_value``
        (exact McNemar, the largest over the seed pairs), ``p_values`` (per
        pair), ``p_holm`` and ``significant``.
    """
    level = check_real(level, "level")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    ref_preds = _predictions(result, reference)
    rows = []
    for name, other in others.items():
        preds = _predictions(other, name)
        # Seed i against seed i; a method run once (deterministic features) against every reference seed.
        pairs = [(a, preds[0]) for a in ref_preds] if len(preds) == 1 else list(zip(ref_preds, preds))
        tests = [mcnemar(y_test, a, b) for a, b in pairs]
        interval = bootstrap_difference(y_test, *pairs[0], n_boot=n_boot, seed=seed)
        rows.append({
            "reference": reference, "method": name,
            "accuracy_reference": tests[0]["accuracy_a"], "accuracy_method": tests[0]["accuracy_b"],
            "difference": interval["difference"], "low": interval["low"], "high": interval["high"],
            "a_only": tests[0]["a_only"], "b_only": tests[0]["b_only"],
            "p_values": [t["p_value"] for t in tests], "p_value": max(t["p_value"] for t in tests),
        })
    for row, adjusted in zip(rows, holm([r["p_value"] for r in rows]) if rows else []):
        row["p_holm"] = adjusted
        row["significant"] = bool(adjusted < level)
    return rows


def comparison_table(rows: Sequence[Mapping]) -> dict[str, Any]:
    """:func:`compare` rows as a table (differences in percentage points)."""
    out = [[r["method"], 100.0 * r["accuracy_method"], 100.0 * r["difference"],
            interval_text(r["low"], r["high"], signed=True), r["a_only"], r["b_only"], r["p_value"],
            r["p_holm"], "yes" if r["significant"] else "no"] for r in rows]
    columns = [column("Compared with"), column("Its acc. (%)", ".2f"), column("Difference (pp)", "+.2f"),
               column("95 % CI (pp)"), column("Only ours right", "d"), column("Only it right", "d"),
               column("McNemar p", ".2g"), column("Holm p", ".2g"), column("Significant")]
    return {"columns": columns, "rows": out}
