"""What notebooks 09-11 used to do in cells: reading another notebook's results, verdicts, cluster text, figures."""

import json

import numpy as np
import pytest
from matplotlib.figure import Figure

from pixelflow.workbook import outputs
from pixelflow.workbook.plotting.nca import accuracy_vs_cost_figure, training_curves_figure
from pixelflow.workbook.plotting.style import fit_to_text, overlapping_texts
from pixelflow.workbook.protocols.sequences import verdict
from pixelflow.workbook.results import ResultsRecord, final_accuracy, load_results, search_rows
from pixelflow.workbook.tables import cell, cell_text, text_table


@pytest.fixture
def out_root(tmp_path, monkeypatch):
    monkeypatch.setenv(outputs.OUTPUT_ENV_VAR, str(tmp_path))
    return tmp_path


def test_another_notebooks_results_are_read_not_recomputed(out_root):
    assert load_results("01_mnist", "smoke") is None
    rec = ResultsRecord("01_mnist", "smoke", {})
    rec.data.append({"split": "MNIST 14k-train prefix / 10k test"})
    config = {"rule": "random_nca", "seed": 0}
    rec.metrics["search"] = {"ours": [{"name": "a", "val_accuracy": 0.9}, {"name": "b", "val_accuracy": 0.8},
                                      {"name": "a", "val_accuracy": 0.95}], "raw": [{"name": "a", "val_accuracy": 0.5}]}
    rec.metrics["final"] = {"ours": {"configs": [{"rule": "wave"}, config], "test_accuracy": [0.7, 0.98]}}
    rec.save("numpy")
    doc = load_results("01_mnist", "smoke")
    assert doc == json.loads((out_root / "results" / "smoke" / "01_mnist.json").read_text())
    assert [r["val_accuracy"] for r in search_rows(doc, "a")] == [0.9, 0.95, 0.5]
    assert final_accuracy(doc, config, "MNIST 14k-train prefix / 10k test") == 0.98
    assert final_accuracy(doc, config, "another split") is None
    assert final_accuracy(doc, {"rule": "life_like"}, "MNIST 14k-train prefix / 10k test") is None


@pytest.mark.parametrize("ca, esn, higher, expected", [
    ({"mean": 0.9, "sem": 0.01, "test": [1, 2]}, {"mean": 0.5, "sem": 0.01, "test": [1, 2]}, True, "CA better"),
    ({"mean": 0.9, "sem": 0.01, "test": [1, 2]}, {"mean": 0.5, "sem": 0.01, "test": [1, 2]}, False, "ESN better"),
    ({"mean": 0.52, "sem": 0.1, "test": [1, 2]}, {"mean": 0.5, "sem": 0.1, "test": [1, 2]}, True,
     "CA better (< 2 s.e.)"),
    ({"mean": 0.52, "sem": float("nan"), "test": [1]}, {"mean": 0.5, "sem": 0.1, "test": [1]}, True, "CA better"),
    ({"mean": 0.5, "sem": 0.1, "test": [1, 2]}, {"mean": 0.5, "sem": 0.1, "test": [1, 2]}, True, "tie"),
])
def test_verdict_says_which_is_better_and_whether_by_two_standard_errors(ca, esn, higher, expected):
    assert verdict(ca, esn, higher) == expected


def test_cells_read_the_same_as_text_and_latex():
    from pixelflow.workbook.latex import format_cell

    cases = [([98.2141, 0.0812], ".2f", "98.21 ± 0.08", r"$98.21 \pm 0.08$"),
             (None, ".2f", "-", "--"), (float("nan"), None, "-", "--"),
             (2.3e-5, ".2g", "2.3e-05", r"$2.3\times10^{-5}$"), ("α=10", None, "α=10", r"\ensuremath{\alpha}=10"),
             (14016, "d", "14016", "14016")]
    for value, fmt, text, latex in cases:
        assert cell_text(value, fmt) == text and format_cell(value, fmt) == latex
    assert cell(True, "d") == ("text", "True")
    table = text_table([{"name": "a", "format": ".1f", "align": "r"}], [[1.25], [None]])
    assert table.splitlines() == ["  a", "---", "1.2", "  -"]


def test_figures_of_the_fixed_vs_learned_notebook():
    history = [{"epoch": e, "train_loss": 1.0 / (e + 1), "val_accuracy": 0.8 + 0.01 * e} for e in range(3)]
    fixed = {"train": None, "val_accuracy": [0.9], "test_accuracy": [0.91], "mean": 0.91, "std": 0.0,
             "cost_s": [10.0], "epochs": 0}
    learned = {"train": ["mix"], "history": [history], "val_accuracy": [0.93], "test_accuracy": [0.92],
               "mean": 0.92, "std": 0.0, "cost_s": [30.0], "epochs": 3}
    results = {"fixed": fixed, "learned (mix)": learned}
    fig = training_curves_figure(results, fixed, "title")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    loss_lines = fig.axes[0].get_lines()
    assert len(loss_lines) == 1 and np.allclose(loss_lines[0].get_ydata(), [1.0, 0.5, 1 / 3])
    # One legend below both panels, where it covers no curve.
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "learned (mix): its own head", "learned (mix): ridge on its features", "fixed reservoir: ridge"]
    fit_to_text(fig)
    assert overlapping_texts(fig) == []
    legend = fig.legends[0].get_window_extent()
    assert all(legend.y1 < ax.get_window_extent().y0 for ax in fig.axes)
    fig = accuracy_vs_cost_figure(results, "title")
    assert fig.axes[0].get_xlim()[0] == 0
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["fixed, untrained",
                                                                            "learned (mix), 3 epochs"]


def test_cluster_description_names_workers_threads_and_limits():
    pytest.importorskip("distributed")
    from pixelflow.scaleout.cluster import describe

    class Client:
        dashboard_link = "http://127.0.0.1:8787/status"

        def nthreads(self):
            return {"tcp://a": 1, "tcp://b": 1}

        def run(self, func):
            return {"tcp://a": {"memory_limit": 800e6, "peak_rss": None, "spilled_bytes": 0, "spill_count": 0},
                    "tcp://b": {"memory_limit": 0, "peak_rss": None, "spilled_bytes": 0, "spill_count": 0}}

    assert describe(Client()).splitlines() == [
        "dashboard: http://127.0.0.1:8787/status",
        "2 workers, [1] thread(s) each; memory limit per worker: 800 MB, none"]


@pytest.mark.parametrize("pair, shown", [
    ([0.0007105, 0.0001529], ("7.10e-04", "1.53e-04")),  # small values in scientific notation
    ([0.2522, 0.001839], ("0.2522", "0.0018")),           # the spread's two significant digits set the decimals
    ([130.1, 2.496], ("130.1", "2.5")),
    ([1234.5, 56.0], ("1234", "56")),
    ([1234.5, 560.0], ("1230", "560")),                    # spreads of hundreds round the mean to tens
    ([93.75, 0.0], ("93.75", "0")),                        # no spread: the mean as measured
])
def test_pairs_are_written_to_the_precision_of_their_spread(pair, shown):
    from pixelflow.workbook.tables import SPREAD, cell

    assert cell(pair, SPREAD) == ("pair", *shown)
