"""The papermill runner: parameters injected, results required, failures named, no stale results."""

import json

import nbformat
import pytest

from pixelflow import outputs
from pixelflow.notebooks import NotebookFailed, run_notebook


def make_notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('scale = "smoke"\nbackend = "cpu"\nseed = 0\ndata_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


WRITES = """
from pixelflow.results import ResultsRecord
rec = ResultsRecord("{name}", scale=scale, parameters=dict(scale=scale, backend=backend))
rec.metrics["seen_scale"] = scale
rec.save()
"""


@pytest.fixture
def out_root(tmp_path, monkeypatch):
    monkeypatch.setenv(outputs.OUTPUT_ENV_VAR, str(tmp_path / "out"))
    return tmp_path / "out"


def test_run_injects_parameters_and_keeps_executed_copy(tmp_path, out_root):
    nb = make_notebook(tmp_path / "90_ok.ipynb", WRITES.format(name="90_ok"))
    executed = run_notebook(nb, scale="paper", backend="numpy", progress=False)
    assert executed == out_root / "results" / "paper" / "executed" / "90_ok.ipynb"
    doc = json.loads((out_root / "results" / "paper" / "90_ok.json").read_text())
    assert doc["metrics"]["seen_scale"] == "paper" and doc["parameters"]["backend"] == "numpy"


def test_failure_names_notebook_and_cell_and_removes_stale_results(tmp_path, out_root):
    stale = out_root / "results" / "smoke" / "91_bad.json"
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    nb = make_notebook(tmp_path / "91_bad.ipynb", "raise RuntimeError('broken on purpose')")
    with pytest.raises(NotebookFailed, match=r"notebook 91_bad failed in cell \d+.*RuntimeError: broken on purpose"):
        run_notebook(nb, progress=False)
    assert not stale.exists()
    assert (out_root / "results" / "smoke" / "executed" / "91_bad.failed.ipynb").exists()


def test_a_notebook_must_write_its_results(tmp_path, out_root):
    nb = make_notebook(tmp_path / "92_silent.ipynb", "x = 1")
    with pytest.raises(NotebookFailed, match="did not write"):
        run_notebook(nb, progress=False)


SEES_SEED = """
from pixelflow.results import ResultsRecord
rec = ResultsRecord("{name}", scale=scale, parameters=dict(scale=scale, seed=seed, data_dir=data_dir))
rec.save()
"""


def test_extra_parameters_are_injected_and_checked_against_the_parameters_cell(tmp_path, out_root):
    nb = make_notebook(tmp_path / "93_params.ipynb", SEES_SEED.format(name="93_params"))
    run_notebook(nb, progress=False, params={"seed": 3, "data_dir": "/somewhere"})
    doc = json.loads((out_root / "results" / "smoke" / "93_params.json").read_text())
    assert doc["parameters"] == {"scale": "smoke", "seed": 3, "data_dir": "/somewhere"}
    with pytest.raises(ValueError, match="has no parameter scheduler; its parameters cell sets scale, backend, seed"):
        run_notebook(nb, progress=False, params={"scheduler": "tcp://host:8786"})
    with pytest.raises(ValueError, match="set scale with --scale"):
        run_notebook(nb, progress=False, params={"scale": "paper"})


def test_param_option_parses_json_or_keeps_the_string(tmp_path, out_root, capsys):
    from pixelflow.notebooks import main, parse_param

    assert parse_param("seed=3") == ("seed", 3)
    assert parse_param("data_dir=null") == ("data_dir", None)
    assert parse_param("scheduler=tcp://10.0.0.5:8786") == ("scheduler", "tcp://10.0.0.5:8786")
    assert parse_param('name="a=b"') == ("name", "a=b")
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_param("seed")
    nb = make_notebook(tmp_path / "94_cli.ipynb", SEES_SEED.format(name="94_cli"))
    assert main(["run", str(nb), "--param", "seed=7", "--param", "data_dir=null"]) == 0
    doc = json.loads((out_root / "results" / "smoke" / "94_cli.json").read_text())
    assert doc["parameters"]["seed"] == 7 and doc["parameters"]["data_dir"] is None
    assert main(["run", str(nb), "--param", "colour=1"]) == 1
    assert "has no parameter colour" in capsys.readouterr().err


def test_docstring_examples():
    import doctest

    import pixelflow.notebooks

    result = doctest.testmod(pixelflow.notebooks)
    assert result.attempted and not result.failed
