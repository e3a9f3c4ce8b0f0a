"""The papermill runner: parameters injected, results required, failures named, no stale results."""

import json
from pathlib import Path

import nbformat
import pytest

from pixelflow.workbook import outputs
from pixelflow.workbook.notebooks import NotebookFailed, run_notebook


def make_notebook(path, body):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('scale = "smoke"\nbackend = "cpu"\nseed = 0\ndata_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


WRITES = """
from pixelflow.workbook.results import ResultsRecord
rec = ResultsRecord("{name}", scale=scale, parameters=dict(scale=scale, backend=backend))
rec.metrics["seen_scale"] = scale
rec.save()
"""


@pytest.fixture
def out_root(tmp_path, monkeypatch):
    monkeypatch.setenv(outputs.OUTPUT_ENV_VAR, str(tmp_path / "out"))
    return tmp_path / "out"


def test_run_injects_parameters_and_keeps_executed_copy(tmp_path, out_root, monkeypatch):
    # A notebook outside the repository has no commit: at paper scale it runs only as a draft.
    monkeypatch.setenv("ALLOW_DIRTY", "1")
    nb = make_notebook(tmp_path / "90_ok.ipynb", WRITES.format(name="90_ok"))
    executed = run_notebook(nb, scale="paper", backend="numpy", progress=False)
    assert executed == out_root / "results" / "paper" / "executed" / "90_ok.ipynb"
    doc = json.loads((out_root / "results" / "paper" / "90_ok.json").read_text())
    assert doc["metrics"]["seen_scale"] == "paper" and doc["parameters"]["backend"] == "numpy"


def test_failure_names_notebook_and_cell_and_moves_earlier_results_aside(tmp_path, out_root):
    stale = out_root / "results" / "smoke" / "91_bad.json"
    stale.parent.mkdir(parents=True)
    stale.write_text('{"from": "the last good run"}')
    nb = make_notebook(tmp_path / "91_bad.ipynb", "raise RuntimeError('broken on purpose')")
    aside = out_root / "results" / "smoke" / "91_bad.json.stale"
    with pytest.raises(NotebookFailed, match=r"notebook 91_bad failed in cell \d+.*RuntimeError: broken on purpose; "
                                             rf"91_bad.json was moved aside to {aside} "
                                             r"so that it is not taken as current"):
        run_notebook(nb, progress=False)
    # Not where make or pixelflow.workbook.latex look, but not lost either.
    assert not stale.exists()
    assert aside.read_text() == '{"from": "the last good run"}'
    assert (out_root / "results" / "smoke" / "executed" / "91_bad.failed.ipynb").exists()


def test_a_notebook_must_write_its_results(tmp_path, out_root):
    nb = make_notebook(tmp_path / "92_silent.ipynb", "x = 1")
    with pytest.raises(NotebookFailed, match="did not write"):
        run_notebook(nb, progress=False)


def test_results_from_an_earlier_run_do_not_count_as_written(tmp_path, out_root):
    earlier = out_root / "results" / "smoke" / "92_silent.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_text('{"from": "an earlier run"}')
    nb = make_notebook(tmp_path / "92_silent.ipynb", "x = 1")
    with pytest.raises(NotebookFailed, match=r"ran but did not write .*92_silent.json; 92_silent.json was moved aside"):
        run_notebook(nb, progress=False)
    assert not earlier.exists()
    assert (earlier.parent / "92_silent.json.stale").read_text() == '{"from": "an earlier run"}'


SEES_SEED = """
from pixelflow.workbook.results import ResultsRecord
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
    from pixelflow.workbook.notebooks import main, parse_param

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

    import pixelflow.workbook.notebooks

    result = doctest.testmod(pixelflow.workbook.notebooks)
    assert result.attempted and not result.failed


def _committed(out_root, name, scale="paper"):
    path = out_root / "results" / scale / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"committed": true}')
    return path


def _files(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err


def test_a_wrong_notebook_path_exits_with_one_line_and_touches_no_file(tmp_path, out_root, capsys, monkeypatch):
    from pixelflow.workbook.notebooks import main

    committed = _committed(out_root, "01_mnist")
    before = _files(out_root)
    monkeypatch.chdir(tmp_path)  # "notebooks/" is not here: a path that does not exist
    # This used to delete results/paper/01_mnist.json and then die with a FileNotFoundError traceback.
    assert main(["run", "notebooks/01_mnist.ipynb", "--scale", "paper"]) == 1
    _one_line_error(capsys, "error: notebook notebooks/01_mnist.ipynb does not exist")
    assert main(["refresh", "notebooks/01_mnist.ipynb"]) == 1
    _one_line_error(capsys, "does not exist")
    with pytest.raises(ValueError, match="does not exist"):
        run_notebook("notebooks/01_mnist.ipynb", scale="paper", progress=False)
    assert committed.read_text() == '{"committed": true}' and _files(out_root) == before


@pytest.mark.parametrize("name, content, message", [
    ("01_mnist.py", "print(1)", "must be a .ipynb file, got .py"),
    ("01_mnist.ipynb", '{"cells": [', "cannot be read as a notebook"),
])
def test_a_file_that_is_not_a_notebook_touches_no_file(tmp_path, out_root, capsys, name, content, message):
    from pixelflow.workbook.notebooks import main

    committed = _committed(out_root, "01_mnist")
    before = _files(out_root)
    (tmp_path / name).write_text(content)
    assert main(["run", str(tmp_path / name), "--scale", "paper"]) == 1
    _one_line_error(capsys, message)
    assert committed.read_text() == '{"committed": true}' and _files(out_root) == before


def test_unknown_scale_backend_or_param_touch_no_file(tmp_path, out_root, capsys):
    from pixelflow.workbook.notebooks import main

    nb = make_notebook(tmp_path / "95_args.ipynb", WRITES.format(name="95_args"))
    committed = _committed(out_root, "95_args", scale="smoke")
    before = _files(out_root)
    with pytest.raises(ValueError, match="backend must be one of cpu, cuda, moderngl, numpy, got 'tpu'"):
        run_notebook(nb, backend="tpu", progress=False)
    assert main(["run", str(nb), "--backend", "tpu"]) == 1
    _one_line_error(capsys, "error: backend must be one of")
    with pytest.raises(ValueError, match="scale must be one of smoke, paper, got 'papr'"):
        run_notebook(nb, scale="papr", progress=False)
    for argv, words in [
        (["run", str(nb), "--scale", "papr"], ["invalid choice: 'papr'"]),
        (["run", str(nb), "--param", "seed"], ["--param expects NAME=VALUE"]),
    ]:
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        _one_line_error(capsys, *words)
    assert main(["run", str(nb), "--param", "colour=1"]) == 1
    _one_line_error(capsys, "has no parameter colour")
    assert committed.read_text() == '{"committed": true}' and _files(out_root) == before


def test_every_notebook_is_checked_before_the_first_runs(tmp_path, out_root, capsys):
    from pixelflow.workbook.notebooks import main

    nb = make_notebook(tmp_path / "96_first.ipynb", WRITES.format(name="96_first"))
    assert main(["run", str(nb), str(tmp_path / "97_typo.ipynb")]) == 1
    _one_line_error(capsys, "97_typo.ipynb does not exist")
    assert not out_root.exists()  # 96_first did not run


def test_stored_outputs_name_no_machine_paths():
    from pixelflow.workbook.notebooks import strip_machine_paths

    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"input_path": "/home/me/pixelflow/notebooks/x.ipynb", "output_path": "/tmp/a/x.ipynb",
                                "parameters": {}}
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "results written to /tmp/tmp.AB12/results/smoke/x.json\n"
        "/home/me/pixelflow/.venv/lib/python3.11/site-packages/tqdm/auto.py:21: TqdmWarning\n"
        "/home/me/pixelflow/pixelflow/workbook/plotting/style.py:47: UserWarning: layout\n"
        "accuracy 98.21 % of 1/2 of the data\n"))]
    nb.cells.append(cell)
    strip_machine_paths(nb)
    assert nb.metadata["papermill"] == {"parameters": {}}
    assert cell.outputs[0]["text"] == ("results written to results/smoke/x.json\n"
                                       "site-packages/tqdm/auto.py:21: TqdmWarning\n"
                                       "pixelflow/workbook/plotting/style.py:47: UserWarning: layout\n"
                                       "accuracy 98.21 % of 1/2 of the data\n")
    # The committed notebooks are stored that way.
    for path in sorted(Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("[0-9][0-9]_*.ipynb")):
        text = path.read_text()
        assert "/work/" not in text and '"/tmp/' not in text and "input_path" not in text, path.name


def test_progress_bars_and_their_warnings_are_not_stored():
    from pixelflow.workbook.notebooks import strip_progress

    cell = nbformat.v4.new_code_cell("run()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=(
            "site-packages/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter and ipywidgets.\n"
            "  from .autonotebook import tqdm as notebook_tqdm\n"
            "\rsearch:   0%|          | 0/10 [00:00<?, ?candidate/s]\rsearch:  40%|████      | 4/10 [00:02<00:03]"
            "\rsearch: 100%|██████████| 10/10 [00:05<00:00]\n"
            "UserWarning: the CNN stopped before converging\n")),
        nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "ab12", "version_major": 2, "version_minor": 0},
            "text/plain": "side by side:   0%|          | 0/8 [00:00<?, ?call/s]"}),
        nbformat.v4.new_output("stream", name="stderr", text="\rtraining:  50%|█████     | 30/60\r\n"),
        nbformat.v4.new_output("stream", name="stdout", text="accuracy 98.21 %| of the data |\n"),
    ]
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb.cells.append(cell)
    strip_progress(nb)
    assert "widgets" not in nb.metadata
    # The warning a reader needs stays; stdout is never touched, even where it looks like a bar.
    assert [(o["output_type"], o.get("name"), o.get("text")) for o in cell.outputs] == [
        ("stream", "stderr", "UserWarning: the CNN stopped before converging\n"),
        ("stream", "stdout", "accuracy 98.21 %| of the data |\n")]


def test_committed_notebooks_carry_no_progress_bars_or_widget_warnings():
    for path in sorted(Path(__file__).resolve().parent.parent.joinpath("notebooks").glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert "widgets" not in nb.metadata, path.name
        for i, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {}), (path.name, i)
                if output.get("name") == "stderr":
                    assert "%|" not in output["text"] and "TqdmWarning" not in output["text"], (path.name, i)


def test_output_dir_puts_results_and_executed_copies_there(tmp_path, out_root, monkeypatch):
    import os

    from pixelflow.workbook.notebooks import main

    nb = make_notebook(tmp_path / "95_elsewhere.ipynb", WRITES.format(name="95_elsewhere"))
    there = tmp_path / "mine"
    monkeypatch.setenv(outputs.OUTPUT_ENV_VAR, os.environ[outputs.OUTPUT_ENV_VAR])  # restored after the test
    assert main(["run", str(nb), "--output-dir", str(there)]) == 0
    assert (there / "results" / "smoke" / "95_elsewhere.json").is_file()
    assert (there / "results" / "smoke" / "executed" / "95_elsewhere.ipynb").is_file()
    assert not out_root.exists()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(SystemExit):
        main(["run", str(nb), "--output-dir", str(tmp_path / "a_file")])
