"""The table generator turns a results file into the expected LaTeX rows."""

import json
import re
from pathlib import Path

import pytest

from pixelflow.workbook.latex import escape, format_cell, render_table, write_tables
from pixelflow.workbook.tables import column


def test_escape_special_characters():
    assert escape("50% of a_b & c#1 {x} $5") == r"50\% of a\_b \& c\#1 \{x\} \$5"


def test_escape_unicode_math_for_pdflatex():
    assert escape("ridge α=10, α ∈ {0.1, 1}, 32×32, ±") == (
        r"ridge \ensuremath{\alpha}=10, \ensuremath{\alpha} \ensuremath{\in} \{0.1, 1\}, "
        r"32\ensuremath{\times}32, \ensuremath{\pm}"
    )
    assert escape("10⁻³") == r"10\textsuperscript{\textminus}\textsuperscript{3}"


@pytest.mark.parametrize("value, fmt, expected", [
    (97.1234, ".2f", "97.12"),
    ([97.1234, 0.0567], ".2f", r"$97.12 \pm 0.06$"),
    (None, ".2f", "--"),
    (float("nan"), ".3f", "--"),
    ("wave_abs", None, r"wave\_abs"),
    (4096, None, "4096"),
    (True, None, "True"),
    ([2.281e-05, 1.7e-06], ".4g", r"$2.281\times10^{-5} \pm 1.7\times10^{-6}$"),
    (3e-7, ".2g", r"$3\times10^{-7}$"),
    (1.5e12, ".3g", r"$1.5\times10^{12}$"),
    (0.0007105, ".4g", "0.0007105"),
])
def test_format_cell(value, fmt, expected):
    assert format_cell(value, fmt) == expected


def test_render_table_rows_and_structure():
    table = {
        "caption": "MNIST 14k-train prefix / 10k test",
        "label": "tab:01_mnist_peer",
        "columns": [column("Method"), column("Test acc. (%)", ".2f"), column("Features", None, "r")],
        "rows": [["raw ridge", 85.987, 784], ["random_nca", [97.05, 0.104], 4096]],
    }
    tex = render_table(table)
    lines = tex.splitlines()
    assert r"\begin{tabular}{lrr}" in lines
    # A long header goes on two lines, split at the space nearest its middle.
    assert r"Method & \begin{tabular}[b]{@{}r@{}}Test\\acc. (\%)\end{tabular} & Features \\" in lines
    assert r"raw ridge & 85.99 & 784 \\" in lines
    assert r"random\_nca & $97.05 \pm 0.10$ & 4096 \\" in lines
    assert lines.index(r"\toprule") < lines.index(r"\midrule") < lines.index(r"\bottomrule")
    assert lines[0] == r"\pftablefloat{MNIST 14k-train prefix / 10k test}{tab:01_mnist_peer}{%"
    assert lines[-1] == r"\end{tabular}}"


def test_long_text_wraps_in_a_paragraph_column_and_short_text_does_not():
    note = "no augmentation; first-order scattering 64 % on 50k, augmented"  # 62 characters
    table = {"caption": "c", "label": "tab:x", "columns": [column("Data"), column("Mark from"), column("Gap", ".1f")],
             "rows": [["MNIST", note, -0.24], ["CIFAR-10 subset", "short", 1.0]]}
    spec = render_table(table).splitlines()[1]
    # 0.3 em per character of the longest cell, 10 to 14 em: two or three lines of text.
    assert spec == r"\begin{tabular}{l>{\raggedright\arraybackslash}p{14em}r}"
    table["rows"] = [["MNIST", "short", 1.0]]
    assert render_table(table).splitlines()[1] == r"\begin{tabular}{llr}"


def _record(tmp_path, name, tables, commit="abc1234567890"):
    rec = {"notebook": name, "scale": "smoke", "tables": tables, "provenance": {"git": {"commit": commit}}}
    (tmp_path / f"{name}.json").write_text(json.dumps(rec))


def test_write_tables_from_results_files(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    t = {"caption": "c", "label": "tab:x", "columns": [column("A"), column("B", ".1f")], "rows": [["a", 1.25]]}
    _record(results, "01_mnist", {"01_mnist_peer": t})
    _record(results, "04_eikonal", {"04_eikonal_errors": dict(t, label="tab:y")})
    (results / "notes.json").write_text("{}")  # a JSON without tables is ignored
    out = tmp_path / "generated"
    written = write_tables(results, out)
    assert sorted(p.name for p in written) == ["01_mnist_peer.tex", "04_eikonal_errors.tex", "test_ledger.tex",
                                               "wall_times.tex"]
    assert r"a & 1.2 \\" in (out / "01_mnist_peer.tex").read_text()
    scale = (out / "scale.tex").read_text()
    assert r"\newcommand{\pfscale}{smoke}" in scale
    assert r"\newcommand{\pfcommit}{abc1234567}" in scale
    assert r"\newcommand{\pffigdir}{../figures/smoke}" in scale


def test_a_table_name_belongs_to_one_notebook(tmp_path):
    t = {"caption": "c", "label": "tab:x", "columns": [column("A")], "rows": [["a"]]}
    _record(tmp_path, "01_a", {"shared": t})
    _record(tmp_path, "02_b", {"shared": t})
    with pytest.raises(ValueError, match="more than one notebook"):
        write_tables(tmp_path, tmp_path / "out")


def _table(**changes):
    t = {"caption": "c", "label": "tab:x", "columns": [column("A"), column("B", ".1f")], "rows": [["a", 1.25]]}
    t.update(changes)
    return t


@pytest.mark.parametrize("rows, cells", [([["a", 1.25, "lost"]], 3), ([["a"]], 1)])
def test_a_row_must_have_one_cell_per_column(rows, cells):
    # A longer row used to lose its extra cells silently (zip truncation).
    with pytest.raises(ValueError,
                       match=rf"table 'peer': row 0 has {cells} cells but the table has 2 columns \(A, B\)"):
        render_table(_table(rows=rows), "table 'peer'")


@pytest.mark.parametrize("table, message", [
    (_table(columns=None), r"'columns' must be a non-empty list"),
    ({k: v for k, v in _table().items() if k != "columns"}, r"has no 'columns'"),
    ([["a", 1.25]], r"must be an object with caption, label, columns and rows, got list"),
    (_table(rows=[["a", 1.5]], columns=[column("A"), column("B", "d")]),
     r"row 0, column 'B': cannot format 1\.5 with 'd'"),
    (_table(columns=[column("A"), {"format": ".1f"}]), r"column 1 must be an object with a string 'name'"),
    (_table(columns=[column("A"), column("B", ".1f", "x")]), r"column 'B' has align 'x'"),
    (_table(rows="ab"), r"'rows' must be a list of rows"),
])
def test_malformed_tables_are_named_in_the_error(tmp_path, table, message):
    results = tmp_path / "results"
    results.mkdir()
    _record(results, "01_mnist", {"01_mnist_peer": table})
    with pytest.raises(ValueError, match=rf"01_mnist\.json: table '01_mnist_peer'.*{message}"):
        write_tables(results, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_truncated_results_file_is_named_and_nothing_is_written(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    _record(results, "01_mnist", {"01_mnist_peer": _table()})
    _record(results, "02_fashion", {"02_fashion_peer": _table()})
    text = (results / "02_fashion.json").read_text()
    (results / "02_fashion.json").write_text(text[: len(text) // 2])
    out = tmp_path / "out"
    out.mkdir()
    (out / "01_mnist_peer.tex").write_text("from the last good run")
    with pytest.raises(ValueError, match=r"02_fashion\.json: not valid JSON \(.* at line 1, column \d+\)"):
        write_tables(results, out)
    # The good file before it was not rendered into out_dir either: nothing is written half-way.
    assert sorted(p.name for p in out.iterdir()) == ["01_mnist_peer.tex"]
    assert (out / "01_mnist_peer.tex").read_text() == "from the last good run"


@pytest.mark.parametrize("content, message", [
    ('["not", "a", "record"]', r"bad\.json: a results file holds a JSON object, got list"),
    ('{"tables": [1, 2]}', r"bad\.json: 'tables' must be an object"),
    ('{"tables": {}, "provenance": "abc"}', r"bad\.json: 'provenance' must be an object"),
])
def test_results_files_of_the_wrong_shape_are_named(tmp_path, content, message):
    (tmp_path / "bad.json").write_text(content)
    with pytest.raises(ValueError, match=message):
        write_tables(tmp_path, tmp_path / "out")


def test_a_missing_results_directory_is_an_error(tmp_path):
    # A misspelt scale used to "write 0 tables" and a scale.tex naming the misspelling.
    with pytest.raises(ValueError, match=r"results directory .*papr does not exist"):
        write_tables(tmp_path / "papr", tmp_path / "out")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"holds no results files"):
        write_tables(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_cli_exits_non_zero_with_one_line_and_writes_nothing(tmp_path, capsys):
    from pixelflow.workbook.latex import main

    out = tmp_path / "generated"
    assert main([str(tmp_path / "papr"), str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: results directory") and err.count("\n") == 1 and "Traceback" not in err
    results = tmp_path / "results"
    results.mkdir()
    _record(results, "01_mnist", {"01_mnist_peer": _table(rows=[["a", 1.0, 2.0]])})
    assert main([str(results), str(out)]) == 1
    err = capsys.readouterr().err
    assert "01_mnist.json: table '01_mnist_peer': row 0 has 3 cells" in err and err.count("\n") == 1
    assert not out.exists()
    _record(results, "01_mnist", {"01_mnist_peer": _table()})
    assert main([str(results), str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["01_mnist_peer.tex", "numbers.tex", "scale.tex", "status.tex",
                                                     "test_ledger.tex", "wall_times.tex"]


def test_the_wall_time_table_lists_each_notebook_and_totals_the_recorded_times(tmp_path):
    results = tmp_path / "paper"
    results.mkdir()
    for name, seconds in (("01_mnist", 600.0), ("02_fashion_mnist", 1500.0)):
        (results / f"{name}.json").write_text(json.dumps({"scale": "paper", "tables": {},
                                                           "wall_time_s": {"total": seconds}}))
    (results / "03_cifar10.json").write_text(json.dumps({"scale": "paper", "tables": {}}))
    write_tables(results, tmp_path / "out")
    tex = (tmp_path / "out" / "wall_times.tex").read_text()
    assert r"01\_mnist & 10.0 & -- \\" in tex  # no build log: who ran beside is unknown
    assert r"03\_cifar10 & -- & -- \\" in tex  # no time recorded: a dash, and not in the total
    assert r"total & 35.0 & -- \\" in tex
    assert "before" not in tex


def test_every_table_and_figure_of_the_paper_scale_results_is_shown_in_the_paper():
    # A table or figure that a notebook writes for the paper and the text never shows is work no reader sees.
    root = Path(__file__).resolve().parent.parent
    tex = (root / "paper" / "pixelflow.tex").read_text(encoding="utf-8")
    # \pfsiteonly names a table left to the website on purpose (too wide to print at a readable size).
    shown_tables = set(re.findall(r"\\pf(?:table|siteonly)\{([^}]+)\}", tex))
    shown_figures = set(re.findall(r"\\pffigure\{([^}]+)\}", tex))
    tables = {name for path in (root / "results" / "paper").glob("*.json")
              for name in json.loads(path.read_text(encoding="utf-8")).get("tables", {})}
    figures = {path.stem for path in (root / "figures" / "paper").glob("*.pdf")}
    assert tables and figures
    assert sorted(tables - shown_tables) == []
    assert sorted(figures - shown_figures) == []
