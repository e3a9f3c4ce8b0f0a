"""Results records and atomic outputs."""

import json
import os

import numpy as np
import pytest

from pixelflow.workbook import outputs
from pixelflow.workbook.results import ResultsRecord
from pixelflow.workbook.tables import column


@pytest.fixture
def out_root(tmp_path, monkeypatch):
    monkeypatch.setenv(outputs.OUTPUT_ENV_VAR, str(tmp_path))
    return tmp_path


def test_record_round_trip_with_provenance(out_root):
    rec = ResultsRecord("01_mnist", scale="smoke", parameters={"seed": 0, "backend": "cpu"})
    rec.add_data({"split": "MNIST 14k-train prefix / 10k test", "files": {"a.gz": "ff"}}, role="train/test")
    with rec.timer("transform"):
        pass
    rec.metrics["acc"] = np.float32(0.5)
    rec.metrics["curve"] = np.arange(3)
    rec.metrics["missing"] = float("nan")
    rec.add_table("01_mnist_final", caption="c", columns=[column("A"), column("B", ".2f")], rows=[["x", 1.0]])
    path = rec.save("numpy")
    assert path == out_root / "results" / "smoke" / "01_mnist.json"
    doc = json.loads(path.read_text())
    assert doc["metrics"] == {"acc": 0.5, "curve": [0, 1, 2], "missing": None}
    assert doc["data"][0]["role"] == "train/test"
    assert doc["wall_time_s"]["transform"] >= 0 and doc["wall_time_s"]["total"] >= doc["wall_time_s"]["transform"]
    prov = doc["provenance"]
    assert prov["backend"] == "numpy" and "numpy" in prov["packages"] and prov["cpu_count"] >= 1
    assert set(prov["git"]) == {"commit", "dirty"}


def test_bad_scale_and_ragged_tables_are_rejected(out_root):
    with pytest.raises(ValueError, match="scale must be one of smoke, paper"):
        ResultsRecord("x", scale="medium", parameters={})
    rec = ResultsRecord("x", scale="paper", parameters={})
    with pytest.raises(ValueError, match="row 0 has 1 cells, expected 2"):
        rec.add_table("t", caption="c", columns=[column("A"), column("B")], rows=[["only one"]])


def test_atomic_write_leaves_no_partial_file(out_root, monkeypatch):
    target = out_root / "results" / "smoke" / "x.json"
    outputs.write_json(target, {"old": 1})

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        outputs.write_json(target, {"new": 2})
    assert json.loads(target.read_text()) == {"old": 1}
    assert [p.name for p in target.parent.iterdir()] == ["x.json"]  # no temp file left


def test_save_figure_writes_png_and_pdf(out_root):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    paths = outputs.save_figure(fig, "00_quickstart", "gallery", "smoke")
    plt.close(fig)
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    assert paths["pdf"].read_bytes()[:4] == b"%PDF"
    assert paths["png"].parent == out_root / "figures" / "smoke"


PRESETS = {"smoke": {"grid": 16, "n_train": 500, "alphas": [1.0, 10.0], "rule": "wave", "steps": (12, 24),
                     "training": {"iterations": 40, "lr": 0.002}},
           "paper": {"grid": 32, "n_train": None, "alphas": [0.1, 1.0, 10.0], "rule": "wave", "steps": (24, 48),
                     "training": {"iterations": 2000, "lr": 0.002}}}


def test_knobs_are_the_scales_preset_with_the_overrides_recorded(out_root):
    rec = ResultsRecord("90_knobs", "smoke", {"scale": "smoke", "overrides": {"n_train": 200}})
    knobs = rec.settings(PRESETS, {"n_train": 200, "alphas": [3.0], "grid": 24, "steps": [8, 16]})
    assert knobs == {"grid": 24, "n_train": 200, "alphas": [3.0], "rule": "wave", "steps": (8, 16),  # a tuple again
                     "training": {"iterations": 40, "lr": 0.002}}
    saved = json.loads(rec.save().read_text())
    assert saved["presets"]["smoke"] == {**knobs, "steps": [8, 16]}  # as JSON keeps it
    assert saved["presets"]["paper"] == {**PRESETS["paper"], "steps": [24, 48]}
    assert saved["overrides"] == {"n_train": 200, "alphas": [3.0], "grid": 24, "steps": [8, 16]}
    # No overrides: the preset itself, and the preset dict is not changed in place.
    assert ResultsRecord("90_knobs", "paper", {}).settings(PRESETS) == PRESETS["paper"]
    assert PRESETS["smoke"]["grid"] == 16


def test_a_nested_knob_takes_some_of_its_keys(out_root):
    knobs = ResultsRecord("90_knobs", "paper", {}).settings(PRESETS, {"training": {"iterations": 300}})
    assert knobs["training"] == {"iterations": 300, "lr": 0.002}  # the rest of the nested preset is kept
    assert PRESETS["paper"]["training"]["iterations"] == 2000


@pytest.mark.parametrize("overrides, error, message", [
    ({"n_trian": 10}, ValueError, r"90_knobs has no knob 'n_trian' at the smoke scale \(did you mean 'n_train'\?\)"),
    ({"training": {"iters": 10}}, ValueError,
     r"knob 'training' has no knob 'iters' \(did you mean 'iterations'\?\); its knobs: iterations, lr"),
    ({"grid": "large"}, TypeError, r"knob 'grid' takes int values like 16, got 'large'"),
    ({"grid": 2.5}, TypeError, r"knob 'grid' takes int values like 16, got 2.5"),
    ({"alphas": 3.0}, TypeError, r"knob 'alphas' takes list values"),
    ([("grid", 8)], TypeError, r"overrides must be a dict of knob: value, got list"),
])
def test_a_wrong_override_names_the_knob_and_what_it_takes(out_root, overrides, error, message):
    with pytest.raises(error, match=message):
        ResultsRecord("90_knobs", "smoke", {}).settings(PRESETS, overrides)
    with pytest.raises(ValueError, match="90_knobs has no preset for the smoke scale; presets: paper"):
        ResultsRecord("90_knobs", "smoke", {}).settings({"paper": PRESETS["paper"]})
