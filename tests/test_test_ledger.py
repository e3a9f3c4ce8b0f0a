"""The test-set ledger: every evaluation on a test split leaves one line, attributed and whole."""

import json
import multiprocessing

import numpy as np
import pytest

from pixelflow import ReservoirConfig
from pixelflow.datasets import digits
from pixelflow.workbook import test_ledger
from pixelflow.workbook.protocols import candidates, evaluate, logistic_grid, ridge_grid
from pixelflow.workbook.results import ResultsRecord


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv(test_ledger.LEDGER_ENV_VAR, str(path))
    monkeypatch.setitem(test_ledger._run, "notebook", None)
    monkeypatch.setitem(test_ledger._run, "scale", None)
    monkeypatch.setitem(test_ledger._run, "names", {})
    return path


def test_every_evaluation_appends_one_entry(ledger):
    ds = digits()
    wave = ReservoirConfig(8, 8, 2, 2, "wave", record="all")
    cands = candidates({"raw": None, "wave": wave}, ridge_grid([1.0])) + candidates({"raw": None},
                                                                                    logistic_grid([0.1]))
    results = [evaluate(c, *ds, seeds=(0, 1), progress=False) for c in cands]
    led = test_ledger.entries(ledger)
    assert len(led) == 3
    for entry, c, r in zip(led, cands, results):
        assert entry["method"] == c.label
        assert entry["scores"] == r["test_accuracy"]
        assert entry["seeds"] == r["seeds"]
        assert entry["n_test"] == len(ds.y_test)
        assert entry["test_set"] == test_ledger.data_digest(ds.X_test, ds.y_test)
        assert entry["notebook"] is None and entry["scale"] is None
    # Different readouts of the same features are different configurations; the same test set throughout.
    assert len({e["config"] for e in led}) == 3
    assert [test_ledger.looks_before(led, i) for i in range(3)] == [0, 1, 2]


def test_a_notebook_record_attributes_and_names_its_test_set(ledger):
    ds = digits()
    rec = ResultsRecord("01_mnist", scale="smoke", parameters={})
    rec.add_data(ds)
    evaluate(candidates({"raw": None}, ridge_grid([1.0]))[0], *ds, progress=False)
    # A test set the record was not given keeps its digest and no name.
    evaluate(candidates({"raw": None}, ridge_grid([1.0]))[0], ds.X_train, ds.y_train, ds.X_test[:50],
             ds.y_test[:50], progress=False)
    first, second = test_ledger.entries(ledger)
    assert (first["notebook"], first["scale"], first["test_split"]) == ("01_mnist", "smoke", ds.split)
    assert second["test_split"] is None and second["test_set"] != first["test_set"]
    rec._reads.stop()


def test_ledger_path_follows_the_scale_and_the_output_root(tmp_path, monkeypatch):
    monkeypatch.delenv(test_ledger.LEDGER_ENV_VAR, raising=False)
    monkeypatch.setenv("PIXELFLOW_OUTPUT", str(tmp_path))
    assert test_ledger.ledger_path("paper") == tmp_path / "results" / "test_ledger.jsonl"
    assert test_ledger.ledger_path("smoke") == tmp_path / "results" / "smoke" / "test_ledger.jsonl"
    with pytest.raises(ValueError, match="scale"):
        test_ledger.ledger_path("full")


def _append_many(path, worker):
    import os

    os.environ[test_ledger.LEDGER_ENV_VAR] = path
    X, y = np.zeros((3, 2)), np.arange(3)
    for i in range(100):
        test_ledger.append(method=f"w{worker}-{i}" + "x" * 500, config="c", X_test=X, y_test=y, seeds=[i],
                           scores=[0.5], git={"commit": "abc", "dirty": False})


def test_processes_appending_side_by_side_leave_whole_lines(ledger):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(ledger), w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    led = test_ledger.entries(ledger)
    assert len(led) == 200
    assert sorted(e["method"][:8].rstrip("x") for e in led) == sorted(f"w{w}-{i}" for w in range(2)
                                                                       for i in range(100))


def test_a_damaged_line_is_named(ledger):
    ledger.write_text(json.dumps({"test_set": "a"}) + "\n{oops\n")
    with pytest.raises(ValueError, match=r"ledger.jsonl, line 2: not JSON"):
        test_ledger.entries(ledger)
    ledger.write_text("[1, 2]\n")
    with pytest.raises(ValueError, match="line 1: expected a JSON object"):
        test_ledger.entries(ledger)
    assert test_ledger.entries(ledger.parent / "absent.jsonl") == []


def test_looks_before_rejects_an_index_outside_the_ledger():
    with pytest.raises(IndexError, match="outside the ledger's 1 entries"):
        test_ledger.looks_before([{"test_set": "a"}], 1)


def test_config_hash_separates_what_changes_the_number():
    base = test_ledger.config_hash({"rule": "wave"}, {"alpha": 1.0}, None)
    assert base == test_ledger.config_hash({"rule": "wave"}, {"alpha": 1.0}, None)
    assert base != test_ledger.config_hash({"rule": "wave"}, {"alpha": 10.0}, None)
    assert base != test_ledger.config_hash({"rule": "wave"}, {"alpha": 1.0}, "hflip")
    assert base != test_ledger.config_hash(None, {"alpha": 1.0}, None)


def test_reconstruct_reads_each_committed_version_of_a_results_file(tmp_path):
    import subprocess

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True,
                       env={"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@b", "GIT_COMMITTER_NAME": "a",
                            "GIT_COMMITTER_EMAIL": "a@b", "PATH": "/usr/bin:/bin"})

    git("init", "-q")
    path = tmp_path / "results" / "paper" / "01_mnist.json"
    path.parent.mkdir(parents=True)
    for run, scores in enumerate(([0.96, 0.95], [0.98, 0.97])):
        record = {"data": [{"split": "MNIST 14k", "n_test": 10}],
                  "provenance": {"git": {"commit": f"c{run}", "dirty": False}},
                  "metrics": {"final": {"ours": {"test_accuracy": scores}, "raw": {"test_accuracy": [0.9]}},
                              "other": [{"test_accuracy": 0.5}]}}
        path.write_text(json.dumps(record))
        git("add", "-A")
        git("commit", "-q", "-m", f"run {run}")
    led = test_ledger.reconstruct(["01_mnist", "02_fashion_mnist"], root=tmp_path)
    assert [(e["commit"], e["method"], e["scores"]) for e in led] == [
        ("c0", "final/ours", [0.96, 0.95]), ("c0", "final/raw", [0.9]), ("c0", "other/0", [0.5]),
        ("c1", "final/ours", [0.98, 0.97]), ("c1", "final/raw", [0.9]), ("c1", "other/0", [0.5])]
    assert all(e["reconstructed"] and e["test_split"] == "MNIST 14k" for e in led)
    # Counted by split name, with the entries a run appends later.
    led.append({"test_set": "d", "test_split": "MNIST 14k"})
    assert test_ledger.looks_before(led, 6) == 6


def test_the_ledger_table_counts_the_looks_before_each_headline():
    led = [{"test_set": None, "test_split": "M", "notebook": "01_mnist", "method": "final/ours: random_nca",
            "reconstructed": True, "results_commit": "r1", "headline": True, "scores": [0.96, 0.97]},
           {"test_set": "m", "test_split": "M", "notebook": "01_mnist", "method": "raw · ridge α=1"},
           {"test_set": "c", "test_split": "C", "notebook": "03_cifar10", "method": "x"},
           {"test_set": "m", "test_split": "M", "notebook": "01_mnist", "method": "nca · ridge α=10", "commit": "k"}]
    records = {"01_mnist": {"data": [{"split": "M"}], "metrics": {"selected": {"label": "nca · ridge α=10",
                                                                               "method": "ours: random_nca"}}},
               "02_fashion_mnist": {"data": [{"split": "F"}], "metrics": {"selected": {"label": "y", "method": "z"}}},
               "04_eikonal": {"metrics": {}}}
    t = test_ledger.ledger_table(led, records)
    assert t["rows"] == [["01_mnist", "M", "nca · ridge α=10", 2, 1, 1, pytest.approx(96.5)],
                         ["02_fashion_mnist", "F", "y", None, None, None, None]]
    assert t["label"] == "tab:test_ledger" and "lower bound" in t["caption"]
    # An older results file's headline is found by its reconstructed key path.
    older = test_ledger.headline_looks(led[:3], "01_mnist", ("nca · ridge α=10", "final/ours: random_nca"))
    assert older["looks_before"] == 0 and older["entry"] is led[0]
