"""Recomputing committed paper-scale numbers and comparing them at printed precision."""

import json
import os
from pathlib import Path

import pytest

from pixelflow.workbook import check_paper
from pixelflow.workbook.check_paper import (
    CHECKS,
    Check,
    Compared,
    Difference,
    SkipCheck,
    compare_tables,
    main,
    printed,
    run_check,
    run_checks,
    same_printed,
)
from pixelflow.workbook.outputs import OUTPUT_ENV_VAR, repository_root, results_path, write_json

ROOT = repository_root()

COLUMNS = [{"name": "Case", "format": None, "align": "l"}, {"name": "Error", "format": ".3f", "align": "r"},
           {"name": "Acc. (%)", "format": ".2f", "align": "r"}]


def table(rows, columns=COLUMNS):
    return {"caption": "c", "label": "tab:t", "columns": columns, "rows": rows}


def record(tables, **extra):
    return {"notebook": "90_check", "scale": "paper", "tables": tables, **extra}


@pytest.fixture
def out_root(tmp_path, monkeypatch):
    monkeypatch.setenv(OUTPUT_ENV_VAR, str(tmp_path / "out"))
    return tmp_path / "out"


# ---------------------------------------------------------------- printed precision

@pytest.mark.parametrize("a, b, fmt", [
    (0.0106166, 0.0105001, ".3f"),          # both 0.011
    (98.2067, 98.2051, ".2f"),               # both 98.21
    ([98.2067, 0.0818], [98.2051, 0.0751], ".2f"),   # both 98.21 ± 0.08
    (None, float("nan"), ".3f"),             # both missing
    (784, 784, "d"),
    ("ridge α=10", "ridge α=10", None),
])
def test_numbers_that_print_the_same_agree(a, b, fmt):
    assert same_printed(a, b, fmt)


@pytest.mark.parametrize("a, b, fmt", [
    (0.0104, 0.0106, ".3f"),                 # 0.010 vs 0.011: a last-digit change counts
    (98.21, 98.22, ".2f"),
    ([98.2067, 0.0818], [98.2067, 0.0951], ".2f"),   # same mean, std prints differently
    ([98.2067, 0.0818], 98.2067, ".2f"),     # a pair is not its mean
    (None, 0.0, ".3f"),                      # missing is not zero
    (0.5, None, ".2f"),
    ("ridge α=10", "ridge α=30", None),
    (1, 1.0, None),                          # without a format the text shows: "1" vs "1.0"
])
def test_numbers_that_print_differently_differ(a, b, fmt):
    assert not same_printed(a, b, fmt)


def test_printed_is_what_the_text_table_shows():
    assert printed([98.2067, 0.0818], ".2f") == "98.21 ± 0.08"
    assert printed(None, ".2f") == "-"
    assert printed(0.01149, ".3f") == "0.011"
    # A value its column's format cannot print is shown, not raised: the report must still be written.
    assert printed(784.5, "d") == "784.5"
    assert not same_printed(784.5, 784, "d")


# ---------------------------------------------------------------- comparing tables

def test_a_difference_names_the_table_row_and_column_with_both_values_as_printed():
    old = {"t": table([["two moons", 0.0104, 96.1], ["checkerboard", 0.02, [95.61, 0.3]]])}
    new = {"t": table([["two moons", 0.01041, 96.1], ["checkerboard", 0.02, [95.54, 0.3]]])}
    diffs, cells = compare_tables(old, new)
    assert cells == 6
    assert diffs == [Difference("table 't', row 1 'checkerboard', column 'Acc. (%)'", "95.61 ± 0.30", "95.54 ± 0.30")]
    assert str(diffs[0]) == ("table 't', row 1 'checkerboard', column 'Acc. (%)': "
                             "committed 95.61 ± 0.30, recomputed 95.54 ± 0.30")


def test_identical_tables_have_no_difference():
    t = {"t": table([["a", 0.5, [1.0, 0.1]], ["b", None, 2.0]])}
    assert compare_tables(t, json.loads(json.dumps(t))) == ([], 6)


def test_missing_tables_rows_and_changed_columns_are_differences():
    old = {"t": table([["a", 0.5, 1.0], ["b", 0.5, 1.0]]), "gone": table([])}
    cols = [COLUMNS[0], {"name": "Error", "format": ".4f"}, COLUMNS[2]]
    new = {"t": table([["a", 0.5, 1.0]], cols), "extra": table([])}
    wheres = {d.where: (d.committed, d.recomputed) for d in compare_tables(old, new)[0]}
    assert wheres == {
        "table 't', column 1": ("'Error' (.3f)", "'Error' (.4f)"),
        "table 't', number of rows": ("2", "1"),
        "table 'gone'": ("present", "absent"),
        "table 'extra'": ("absent", "present"),
    }


def test_only_the_named_tables_are_compared():
    old = {"t": table([["a", 0.5, 1.0]]), "other": table([["x", 0.1, 1.0]])}
    new = {"t": table([["a", 0.5, 1.0]])}
    assert compare_tables(old, new, names=["t"]) == ([], 3)
    assert [d.where for d in compare_tables(old, new, names=["other"])[0]] == ["table 'other'"]


def test_cells_are_read_with_the_committed_format():
    # Printed with the committed ".3f", 0.0101 and 0.0104 agree even though a new ".4f" column would not.
    old = {"t": table([["a", 0.0101, 1.0]])}
    new = {"t": table([["a", 0.0104, 1.0]], [COLUMNS[0], {"name": "Error", "format": ".4f"}, COLUMNS[2]])}
    assert [d.where for d in compare_tables(old, new)[0]] == ["table 't', column 1"]


# ---------------------------------------------------------------- running checks

def fixed_check(name, tables, notebook="90_check"):
    """A check whose recomputation returns ``tables`` (as a notebook rerun would)."""
    def recompute(committed, scratch):
        diffs, cells = compare_tables(committed["tables"], tables)
        return Compared(tuple(diffs), f"{cells} cells")
    return Check(name, notebook, "synthetic", recompute)


def skipping_check(name, notebook="90_check"):
    def recompute(committed, scratch):
        raise SkipCheck("data missing: MNIST files not found")
    return Check(name, notebook, "synthetic", recompute)


@pytest.fixture
def committed(tmp_path):
    folder = tmp_path / "committed"
    folder.mkdir()
    (folder / "90_check.json").write_text(json.dumps(record({"t": table([["a", 0.0104, 96.1]])})))
    return folder


def test_exit_codes_and_one_line_per_check(committed, out_root, capsys):
    same = {"t": table([["a", 0.01041, 96.1]])}
    moved = {"t": table([["a", 0.0106, 96.1]])}
    checks = {"same": fixed_check("same", same), "moved": fixed_check("moved", moved),
              "nodata": skipping_check("nodata")}
    assert main(["--results", str(committed), "--only", "same", "nodata"], checks) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["same", "ok"]
    assert lines[1].split()[:2] == ["nodata", "skipped"] and "data missing: MNIST files not found" in lines[1]
    assert lines[2].startswith("2 check(s): 1 ok, 1 skipped")

    assert main(["--results", str(committed)], checks) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines[:2]] == [["same", "ok"], ["moved", "DIFFERS"]]
    assert lines[2] == "    table 't', row 0 'a', column 'Error': committed 0.010, recomputed 0.011"
    assert lines[3].split()[:2] == ["nodata", "skipped"]


def test_a_recomputation_that_raises_fails_the_run_and_the_others_still_run(committed, out_root, capsys):
    def broken(committed, scratch):
        raise RuntimeError("notebook 90_check failed in cell 3")
    checks = {"broken": Check("broken", "90_check", "synthetic", broken),
              "same": fixed_check("same", {"t": table([["a", 0.0104, 96.1]])})}
    assert main(["--results", str(committed)], checks) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["broken", "FAILED"] and "RuntimeError: notebook 90_check failed" in lines[0]
    assert lines[1].split()[:2] == ["same", "ok"]


def test_a_missing_results_file_or_library_skips_the_check(committed, out_root):
    assert run_check(fixed_check("x", {}, notebook="91_absent"), committed).status == "skipped"
    check = Check("needs", "90_check", "synthetic", lambda c, s: Compared((), ""), requires=("no_such_module_xyz",))
    outcome = run_check(check, committed)
    assert (outcome.status, outcome.detail) == ("skipped", "no_such_module_xyz not installed")


def test_unknown_check_names_are_a_usage_error(committed, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--results", str(committed), "--only", "eikonal", "nope"], {"eikonal": fixed_check("eikonal", {})})
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "unknown check 'nope'" in err and "the checks are eikonal" in err


def test_each_check_runs_in_a_temporary_output_root_that_is_removed(committed, monkeypatch):
    monkeypatch.delenv(OUTPUT_ENV_VAR, raising=False)
    seen = {}

    def writes(committed_record, scratch):
        seen["env"], seen["scratch"] = os.environ[OUTPUT_ENV_VAR], scratch
        # Where a notebook run would write its results: inside the scratch folder, not the checkout.
        seen["path"] = write_json(results_path("90_check", "paper"), {"x": 1})
        return Compared((), "")

    assert run_check(Check("w", "90_check", "synthetic", writes), committed).status == "ok"
    assert seen["env"] == str(seen["scratch"]) and seen["scratch"] in seen["path"].parents
    assert ROOT not in seen["path"].parents
    assert not seen["scratch"].exists() and OUTPUT_ENV_VAR not in os.environ


def test_the_registry_compares_with_the_committed_paper_results():
    assert list(CHECKS) == ["eikonal", "quickstart_synthetic", "mnist_preset_seed0", "cifar10_preset_seed0"]
    for check in CHECKS.values():
        assert (ROOT / "results" / "paper" / f"{check.notebook}.json").is_file(), check.name


def test_the_partial_notebook_stops_after_the_table_and_saves(tmp_path):
    import nbformat

    src = ROOT / "notebooks" / "00_quickstart.ipynb"
    part = nbformat.read(str(check_paper.partial_notebook(src, "00_quickstart_synthetic", tmp_path / "q.ipynb")),
                         as_version=4)
    code = [c.source for c in part.cells if c.cell_type == "code"]
    assert '"00_quickstart_synthetic"' in code[-2] and code[-1] == "rec.save(backend);"
    assert not any("mnist(" in c for c in code)  # the MNIST half of the notebook is not run
    with pytest.raises(ValueError, match="no code cell names table 'no_such_table'"):
        check_paper.partial_notebook(src, "no_such_table", tmp_path / "r.ipynb")


# ---------------------------------------------------------------- preset checks: data

def test_a_preset_check_without_its_data_is_skipped(tmp_path, monkeypatch, out_root):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PIXELFLOW_DATA", str(empty))
    monkeypatch.setenv("XDG_CACHE_HOME", str(empty))  # the user cache is searched too
    outcome = run_check(CHECKS["mnist_preset_seed0"])
    assert outcome.status == "skipped"
    assert outcome.detail.startswith("data missing: ")


SHARED_DATA = Path(os.environ.get("PIXELFLOW_DATA", ROOT.parent / "shared" / "data"))


@pytest.mark.skipif(not (SHARED_DATA / "mnist").is_dir(), reason="MNIST files not available")
def test_a_preset_check_on_other_data_than_the_record_used_is_skipped(tmp_path, monkeypatch, out_root):
    monkeypatch.setenv("PIXELFLOW_DATA", str(SHARED_DATA))
    committed = json.loads((ROOT / "results" / "paper" / "01_mnist.json").read_text())
    committed["data"][0]["split"] = "MNIST 60k/10k"
    folder = tmp_path / "committed"
    folder.mkdir()
    (folder / "01_mnist.json").write_text(json.dumps(committed))
    outcome = run_check(CHECKS["mnist_preset_seed0"], folder)
    assert outcome.status == "skipped"
    assert "are not those the record used (MNIST 60k/10k)" in outcome.detail


# ---------------------------------------------------------------- one real check

def _tree(root: Path) -> dict:
    """Every file under the folders a run could write to, with its size and modification time."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns)
            for folder in ("results", "figures", "notebooks", "paper") for p in (root / folder).rglob("*")
            if p.is_file()}


@pytest.mark.skipif(not (ROOT / "results" / "paper" / "04_eikonal.json").is_file(), reason="no committed results")
def test_the_eikonal_check_reruns_the_notebook_and_writes_nothing_into_the_checkout(out_root, capsys):
    before = _tree(ROOT)
    outcomes = run_checks([CHECKS["eikonal"]])
    after = _tree(ROOT)
    assert after == before
    assert not out_root.exists()  # the check used its own temporary root, not even the caller's
    (outcome,) = outcomes
    # The committed table may be stale: a difference is a finding, but the run itself must work.
    assert outcome.status in ("ok", "DIFFERS"), outcome.detail
    # The error tables, not the solve-time table (wall times differ from run to run).
    committed = json.loads((ROOT / "results" / "paper" / "04_eikonal.json").read_text())["tables"]
    tables = {name: committed[name] for name in ("04_eikonal_errors", "04_eikonal_families")}
    cells = sum(len(table["rows"]) * len(table["columns"]) for table in tables.values())
    assert f"{cells} cells of {', '.join(tables)}" in outcome.detail
    assert capsys.readouterr().out.startswith("eikonal ")
