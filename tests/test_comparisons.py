"""Paired comparisons of evaluated methods: pairing by seed, Holm adjustment, the table."""

import numpy as np
import pytest

from pixelflow.significance import bootstrap_difference, holm, mcnemar
from pixelflow.workbook.protocols.comparisons import compare, comparison_table


def _result(preds, y):
    return {"test_accuracy": [float(np.mean(p == y)) for p in preds], "y_preds": list(preds), "y_pred": preds[0]}


def _flip(y, idx):
    out = y.copy()
    out[idx] = (out[idx] + 1) % 10
    return out


@pytest.fixture
def y():
    return np.random.default_rng(0).integers(0, 10, 2000)


def test_pairs_seed_by_seed_and_reports_the_largest_p(y):
    ref = _result([_flip(y, np.arange(0, 100)), _flip(y, np.arange(50, 150))], y)
    other = _result([_flip(y, np.arange(0, 160)), _flip(y, np.arange(1000, 1110))], y)
    (row,) = compare("ours", ref, {"other": other}, y)
    expected = [mcnemar(y, ref["y_preds"][i], other["y_preds"][i])["p_value"] for i in range(2)]
    assert row["p_values"] == expected and row["p_value"] == max(expected)
    assert (row["a_only"], row["b_only"]) == (60, 0)  # first pair
    boot = bootstrap_difference(y, ref["y_preds"][0], other["y_preds"][0])
    assert (row["difference"], row["low"], row["high"]) == (boot["difference"], boot["low"], boot["high"])


def test_a_method_run_once_meets_every_reference_seed(y):
    ref = _result([_flip(y, np.arange(0, 100)), _flip(y, np.arange(100, 200)), _flip(y, np.arange(5, 105))], y)
    det = _result([_flip(y, np.arange(0, 300))], y)
    (row,) = compare("ours", ref, {"det": det}, y)
    assert len(row["p_values"]) == 3


def test_holm_adjusts_the_family_and_decides_significance(y):
    ref = _result([y.copy()], y)
    others = {"far": _result([_flip(y, np.arange(200))], y), "near": _result([_flip(y, np.arange(3))], y),
              "same": _result([y.copy()], y)}
    rows = compare("ours", ref, others, y, level=0.01)
    raw = [r["p_value"] for r in rows]
    assert [r["p_holm"] for r in rows] == holm(raw)
    assert [r["significant"] for r in rows] == [True, False, False]
    assert rows[2]["p_value"] == 1.0 and rows[2]["difference"] == 0.0
    table = comparison_table(rows)
    assert [r[0] for r in table["rows"]] == ["far", "near", "same"]
    assert table["rows"][0][2] == pytest.approx(10.0) and table["rows"][0][-1] == "yes"
    assert all(len(r) == len(table["columns"]) for r in table["rows"])


def test_bad_inputs_are_named(y):
    ref = _result([y.copy()], y)
    with pytest.raises(ValueError, match="holds no test predictions"):
        compare("ours", ref, {"summary": {"test_accuracy": [0.5]}}, y)
    with pytest.raises(ValueError, match="level must be in"):
        compare("ours", ref, {}, y, level=1.5)
    with pytest.raises(ValueError, match="same length"):
        compare("ours", ref, {"short": _result([y[:10]], y[:10])}, y)
