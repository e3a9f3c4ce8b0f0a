"""LaTeX tables generated from results files (nothing in the paper is typed by hand).

``python -m pixelflow.workbook.latex results/smoke paper/generated`` writes one
``<table>.tex`` per table found in the results files, plus ``scale.tex``
defining ``\\pfscale`` and ``\\pfcommit`` so the PDF says what it was built
from.

A malformed results file (not valid JSON, a table without columns, a row
with more or fewer cells than columns) stops the run with a message naming
the file and the table, before anything is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import NamedTuple

from pixelflow.atomic import write_atomic
from pixelflow.workbook import test_ledger
from pixelflow.workbook.build import build_log_path, load_build_log
from pixelflow.workbook.numbers import MISSING_MARK, number_macros
from pixelflow.workbook.outputs import SCALES
from pixelflow.workbook.protocols.tables import fixed_feature_table
from pixelflow.workbook.reproducibility import wall_time_table
from pixelflow.workbook.tables import cell
from pixelflow.workbook.tex_escape import escape


def _math_number(text: str) -> str:
    """A formatted number for math mode: ``2.3e-05`` becomes ``2.3\\times10^{-5}``."""
    mantissa, e, exponent = text.partition("e")
    return f"{mantissa}\\times10^{{{int(exponent)}}}" if e else text


def format_cell(value, fmt: str | None) -> str:
    """One cell (:func:`pixelflow.workbook.tables.cell`): a number, ``mean \\pm std`` for pairs, en dash if missing."""
    kind, *parts = cell(value, fmt)
    if kind == "missing":
        return "--"
    if kind == "pair":
        return f"${_math_number(parts[0])} \\pm {_math_number(parts[1])}$"
    if kind == "number":
        return f"${_math_number(parts[0])}$" if "e" in parts[0] else parts[0]
    return escape(parts[0])


_ALIGN = ("l", "c", "r")


def check_table(table, name: str = "table") -> None:
    """Check that ``table`` is a results-file table entry that renders completely.

    Parameters
    ----------
    table : object
        The entry: a dict with ``caption`` and ``label`` (strings),
        ``columns`` (a non-empty list of dicts with a string ``name`` and
        optional ``format`` and ``align``) and ``rows`` (lists with exactly
        one cell per column, as :meth:`pixelflow.workbook.results.ResultsRecord.add_table`
        writes them).
    name : str
        How messages refer to the table (e.g. ``"01_mnist.json: table 'peer'"``).

    Raises
    ------
    ValueError
        Naming the table and what is wrong. A row with more cells than
        columns is an error, not a truncation, and so is a shorter row.
    """
    if not isinstance(table, dict):
        raise ValueError(f"{name} must be an object with caption, label, columns and rows, "
                         f"got {type(table).__name__}")
    missing = [key for key in ("caption", "label", "columns", "rows") if key not in table]
    if missing:
        present = ", ".join(map(repr, table)) or "nothing"
        raise ValueError(f"{name} has no {', '.join(map(repr, missing))} (it has {present})")
    for key in ("caption", "label"):
        if not isinstance(table[key], str):
            raise ValueError(f"{name}: {key!r} must be a string, got {type(table[key]).__name__}")
    cols = table["columns"]
    if not isinstance(cols, list) or not cols:
        raise ValueError(f"{name}: 'columns' must be a non-empty list of columns, got {cols!r}")
    for j, col in enumerate(cols):
        if not isinstance(col, dict) or not isinstance(col.get("name"), str):
            raise ValueError(f"{name}: column {j} must be an object with a string 'name', got {col!r}")
        if col.get("format") is not None and not isinstance(col["format"], str):
            raise ValueError(f"{name}: column {col['name']!r} has format {col['format']!r}; expected a string or null")
        if col.get("align") is not None and col["align"] not in _ALIGN:
            raise ValueError(f"{name}: column {col['name']!r} has align {col['align']!r}; "
                             f"expected one of {', '.join(_ALIGN)} or null")
    rows = table["rows"]
    if not isinstance(rows, list):
        raise ValueError(f"{name}: 'rows' must be a list of rows, got {type(rows).__name__}")
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            raise ValueError(f"{name}: row {i} must be a list of cells, got {row!r}")
        if len(row) != len(cols):
            raise ValueError(f"{name}: row {i} has {len(row)} cells but the table has {len(cols)} columns "
                             f"({', '.join(c['name'] for c in cols)})")


# A text column whose longest cell has more characters than this wraps in a paragraph column, and a header
# longer than HEADER_WRAP characters is set on two lines, so that tables fit the page at a readable size.
WRAP_CHARS = 32
HEADER_WRAP = 12


def _column_spec(align: str | None, cells: list[str]) -> str:
    """``l``/``c``/``r``, or a ragged-right paragraph column (10–14 em, by its longest cell) for long text."""
    longest = max((len(c) for c in cells), default=0)
    if (align or "l") == "l" and longest > WRAP_CHARS:
        return rf">{{\raggedright\arraybackslash}}p{{{min(14, max(10, round(0.3 * longest)))}em}}"
    return align or "l"


def _header(text: str, align: str | None, wrapped: bool) -> str:
    """A column header, on two lines (split at the space nearest its middle) when it is long."""
    if wrapped or len(text) <= HEADER_WRAP or " " not in text:
        return escape(text)
    middle = len(text) / 2
    cut = min((i for i, ch in enumerate(text) if ch == " "), key=lambda i: abs(i - middle))
    return (rf"\begin{{tabular}}[b]{{@{{}}{align or 'l'}@{{}}}}{escape(text[:cut])}\\"
            rf"{escape(text[cut + 1:])}\end{{tabular}}")


def render_table(table: dict, name: str = "table") -> str:
    r"""A booktabs table from a results-file table entry, as a ``\pftablefloat{caption}{label}{tabular}`` call.

    Parameters
    ----------
    table : dict
        A table entry as :func:`check_table` describes it.
    name : str
        How error messages refer to the table.

    Raises
    ------
    ValueError
        The entry is malformed (see :func:`check_table`) or a cell does not
        take its column's number format.
    """
    check_table(table, name)
    cols = table["columns"]
    # \pftablefloat (defined in the paper's preamble) measures the tabular at \small and keeps it at least
    # 8 pt: as it is when it fits, scaled to the text width down to 8 pt, else turned sideways on a page of
    # its own, so no table is shrunk to an unreadable size.
    body = []
    for i, row in enumerate(table["rows"]):
        cells = []
        for v, c in zip(row, cols, strict=True):
            try:
                cells.append(format_cell(v, c.get("format")))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name}: row {i}, column {c['name']!r}: cannot format {v!r} "
                                 f"with {c.get('format')!r} ({exc})") from None
        body.append(cells)
    specs = [_column_spec(c.get("align"), [row[j] for row in body]) for j, c in enumerate(cols)]
    lines = [
        rf"\pftablefloat{{{escape(table['caption'])}}}{{{table['label']}}}{{%",
        r"\begin{tabular}{" + "".join(specs) + "}",
        r"\toprule",
        " & ".join(_header(c["name"], c.get("align"), len(spec) > 1) for c, spec in zip(cols, specs)) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(cells) + r" \\" for cells in body]
    lines += [r"\bottomrule", r"\end{tabular}}", ""]
    return "\n".join(lines)


def _read_record(path: Path):
    """The JSON object in ``path``, or a ValueError naming the file."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
                         "rerun its notebook") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: a results file holds a JSON object, got {type(record).__name__}")
    return record


def _commit(record: dict, path: Path) -> str:
    provenance = record.get("provenance", {})
    if not isinstance(provenance, dict):
        raise ValueError(f"{path}: 'provenance' must be an object, got {type(provenance).__name__}")
    git = provenance.get("git") or {}
    if not isinstance(git, dict):
        raise ValueError(f"{path}: 'provenance.git' must be an object or null, got {type(git).__name__}")
    commit = git.get("commit") or "unknown"
    if not isinstance(commit, str):
        raise ValueError(f"{path}: 'provenance.git.commit' must be a string, got {commit!r}")
    return commit


def commit_statement(records: dict[str, dict]) -> str:
    """One sentence: the one commit every results file came from, or that there is none.

    >>> commit_statement({"a": {"provenance": {"git": {"commit": "0123456789abcdef"}}}})
    'All results come from commit 0123456789.'
    """
    commits = sorted({_commit(record, Path(name)) for name, record in records.items()})
    if len(commits) == 1 and commits[0] != "unknown":
        return f"All results come from commit {commits[0][:10]}."
    return (f"The results do not come from one commit: they come from {len(commits)} "
            f"({', '.join(c[:10] for c in commits)}).")


def status_macros(records: dict[str, dict], scale: str, backend: str = "cpu") -> str:
    r"""``status.tex``: ``\ifpfdraft``, ``\pfcommitstatement`` and ``\pfdraftnotice``.

    The build is a draft when a notebook of the workbook has no results file
    here, or its results are stale or a draft
    (:func:`pixelflow.workbook.build.record_status`); the notice then lists
    each such notebook and why, and the paper prints it on the title page
    beside a DRAFT watermark on every page.
    """
    from pixelflow.workbook import build

    hashes: dict = {}
    rows = [build.record_status(nb, record, scale, backend, hashes) for nb, record in sorted(records.items())]
    rows += [build.NotebookStatus(nb, build.MISSING, [f"no results file for {nb}"])
             for nb in build.notebooks() if nb not in records]
    rows = sorted((r for r in rows if r.state != build.FRESH), key=lambda r: r.notebook)
    lines = [r"\newif\ifpfdraft", r"\pfdraft" + ("true" if rows else "false"),
             rf"\newcommand{{\pfcommitstatement}}{{{escape(commit_statement(records))}}}"]
    if not rows:
        lines.append(r"\newcommand{\pfdraftnotice}{}")
    else:
        items = "".join(rf"\item \texttt{{{escape(r.notebook)}}} ({r.state}): "
                        + escape("; ".join(r.reasons[:3]) + (" ..." if len(r.reasons) > 3 else "")) + "\n"
                        for r in rows)
        lines.append(
            r"\newcommand{\pfdraftnotice}{\begin{center}\fbox{\begin{minipage}{0.92\linewidth}\small"
            + r"\textbf{DRAFT.} These results are not all current: "
            + escape(f"{len(rows)} notebook(s) would rerun before the paper holds.")
            + "\n" + r"\begin{itemize}\setlength{\itemsep}{0pt}" + "\n" + items
            + r"\end{itemize}\end{minipage}}\end{center}}")
    return "\n".join(lines) + "\n"


class PaperTables(NamedTuple):
    """Every table the paper can show, before rendering: what :func:`collect_tables` returns."""

    tables: dict  # name -> table entry (caption, label, columns, rows), the notebooks' and the build's own
    sources: dict  # name -> how an error names the table (its results file, for a notebook's)
    records: dict  # notebook -> its results record
    scale: str  # the scale(s) the results came from
    commit: str  # their commit(s), 10 characters each


def collect_tables(results_dir: Path) -> PaperTables:
    """Every table of every ``results_dir/*.json``, and the build's own (wall times, profile, test ledger,
    fixed-feature marks), checked; see :func:`write_tables` for what is refused."""
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        what = "is not a directory" if results_dir.exists() else "does not exist"
        raise ValueError(f"results directory {results_dir} {what}")
    paths = sorted(results_dir.glob("*.json"))
    if not paths:
        raise ValueError(f"results directory {results_dir} holds no results files (*.json)")
    tables, owner, scales, commits, records = {}, {}, set(), set(), {}
    for path in paths:
        record = _read_record(path)
        records[path.stem] = record
        if "tables" not in record:
            continue
        found = record["tables"]
        if not isinstance(found, dict):
            raise ValueError(f"{path}: 'tables' must be an object of name: table, got {type(found).__name__}")
        scale = record.get("scale", results_dir.name)
        if not isinstance(scale, str):
            raise ValueError(f"{path}: 'scale' must be a string, got {scale!r}")
        scales.add(scale)
        commits.add(_commit(record, path))
        for name, table in found.items():
            if name in owner:
                raise ValueError(f"table {name!r} is produced by more than one notebook "
                                 f"({owner[name].name} and again in {path.name})")
            owner[name] = path
            check_table(table, f"{path}: table {name!r}")
            tables[name] = table
    scale = ", ".join(sorted(scales)) or results_dir.name
    commit = ", ".join(c[:10] for c in sorted(commits)) or "unknown"
    # The build's own table: each notebook's wall time, and who ran beside it.
    for own in ("wall_times", "test_ledger", "fixed_features"):
        if own in owner:
            raise ValueError(f"table {own!r} is the build's own; {owner[own].name} must not produce it")
    tables["wall_times"] = wall_time_table(
        records, load_build_log(build_log_path(scale, results_dir.parent)) if scale in SCALES else [])
    # Looks at the test sets before each headline number (the ledger lives beside the scale's results folder,
    # results/test_ledger.jsonl for the paper, results/smoke/test_ledger.jsonl for smoke runs).
    ledger_file = (results_dir.parent / test_ledger.FILE_NAME if scale == "paper"
                   else results_dir / test_ledger.FILE_NAME)
    tables["test_ledger"] = test_ledger.ledger_table(test_ledger.entries(ledger_file), records)
    # Each image notebook's design against scattering and the fixed-feature marks (a table across notebooks).
    marks = fixed_feature_table(records)
    if marks["rows"]:
        tables["fixed_features"] = {**marks, "label": "tab:fixed_features", "caption": (
            "Each image data set's random_nca design (chosen on validation, no augmentation) against "
            "wavelet scattering with the same ridge readout and against a fixed-feature mark. Test accuracy: mean "
            "± sample standard deviation over seeds with a 95 % Wilson interval; the difference from scattering "
            "(first seed, percentage points) with its 95 % paired-bootstrap interval and the Holm-adjusted exact "
            "McNemar p-value of the notebook's comparison table; the gap is design minus mark (negative: "
            "missed). The MNIST mark is set for its 14k-image training prefix, below the best published "
            "fixed-feature number on the full set.")}
    sources = {name: f"{owner[name]}: table {name!r}" if name in owner else f"table {name!r}" for name in tables}
    return PaperTables(tables, sources, records, scale, commit)


def write_tables(results_dir: Path, out_dir: Path, figures_dir: str | None = None,
                 backend: str | None = "cpu") -> list[Path]:
    """Render every table of every ``results_dir/*.json`` into ``out_dir``.

    Also writes ``wall_times.tex`` (:func:`pixelflow.workbook.reproducibility.wall_time_table`),
    ``numbers.tex``, a macro for every number the prose quotes
    (:func:`pixelflow.workbook.numbers.number_macros`), and ``scale.tex`` defining ``\\pfscale`` (the scale the results
    came from), ``\\pfcommit`` (their git commits) and ``\\pffigdir``
    (``figures_dir``, as the paper should reference it), so the PDF says what
    it was built from.

    With a ``backend`` (the one a rerun would use), also ``status.tex``
    (:func:`status_macros`): whether the build is a draft, and the one commit
    the results came from.

    Every results file is read and every table rendered before the first file
    is written, so a bad input leaves ``out_dir`` as it was.

    Raises
    ------
    ValueError
        ``results_dir`` does not exist or holds no ``*.json`` file; a results
        file is not a valid JSON object; a table is malformed (see
        :func:`check_table`) or produced by two notebooks; ``out_dir`` is not
        a directory. The message names the file and the table.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output directory {out_dir} exists and is not a directory")
    tables, sources, records, scale, commit = collect_tables(results_dir)
    rendered = {name: render_table(table, sources[name]) for name, table in tables.items()}
    figdir = figures_dir if figures_dir is not None else f"../figures/{scale}"
    status_tex = status_macros(records, scale, backend) if backend is not None else None
    numbers = number_macros(records)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [write_atomic(out_dir / f"{name}.tex", tex.encode()) for name, tex in rendered.items()]
    write_atomic(out_dir / "numbers.tex", numbers.text.encode())
    if numbers.missing:
        print(f"{len(numbers.missing)} number(s) of the prose are missing from these results (printed as "
              f"{MISSING_MARK}): {', '.join(numbers.missing[:8])}{' ...' if len(numbers.missing) > 8 else ''}",
              file=sys.stderr)
    if status_tex is not None:
        write_atomic(out_dir / "status.tex", status_tex.encode())
    write_atomic(
        out_dir / "scale.tex",
        (
            rf"\newcommand{{\pfscale}}{{{escape(scale)}}}" + "\n"
            + rf"\newcommand{{\pfcommit}}{{{escape(commit)}}}" + "\n"
            + rf"\newcommand{{\pffigdir}}{{{figdir}}}" + "\n"
        ).encode(),
    )
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--figures", help="figure folder as the paper references it (default ../figures/<scale>)")
    parser.add_argument("--backend", default="cpu", help="the backend a rerun would use (results from another "
                        "are stale)")
    args = parser.parse_args(argv)
    try:
        written = write_tables(args.results_dir, args.out_dir, args.figures, args.backend)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} table(s) to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
