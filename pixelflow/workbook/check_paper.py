"""Recompute a few committed paper-scale numbers cheaply and compare them as the paper prints them.

``python -m pixelflow.workbook.check_paper [--only NAME ...]`` runs a small
registry of checks (:data:`CHECKS`), each a few minutes at most on a 2-core
CPU, and prints one line per check: ``ok``, ``DIFFERS`` (followed by every
differing number, committed and recomputed, as printed), ``skipped`` (with the
reason, e.g. its data set is not on this machine) or ``FAILED`` (the
recomputation raised). It exits 1 when a check differs or failed, else 0.

Two numbers agree when they print the same with their column's format
(:func:`pixelflow.workbook.tables.cell`, which both the text tables and the
LaTeX tables use): a change that must not move the paper's numbers can be
checked without rerunning the paper, and nothing finer than the paper shows
counts as a difference.

Nothing is written into the checkout: every check runs with
``$PIXELFLOW_OUTPUT`` pointing to a temporary folder, removed afterwards. A
check that reruns a notebook at paper scale sets ``ALLOW_DIRTY=1`` for that
run, because its results go to the temporary folder only and are never
committed.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pixelflow import datasets
from pixelflow.workbook import presets
from pixelflow.workbook.dependencies import ALLOW_DIRTY_ENV_VAR
from pixelflow.workbook.notebooks import run_notebook
from pixelflow.workbook.outputs import OUTPUT_ENV_VAR, repository_root, results_path
from pixelflow.workbook.protocols import evaluate
from pixelflow.workbook.tables import cell, cell_text

__all__ = [
    "CHECKS",
    "Check",
    "Compared",
    "Difference",
    "Outcome",
    "SkipCheck",
    "compare_tables",
    "committed_results_dir",
    "main",
    "notebook_check",
    "partial_notebook",
    "preset_seed_check",
    "printed",
    "run_check",
    "run_checks",
    "same_printed",
]

SCALE = "paper"
STATUSES = ("ok", "DIFFERS", "skipped", "FAILED")


# ---------------------------------------------------------------- printed precision

def _shown(value, fmt: str | None) -> tuple:
    """What a cell shows; a value its column's format cannot print is shown as its repr."""
    try:
        return cell(value, fmt)
    except (TypeError, ValueError):
        return ("unprintable", repr(value))


def printed(value, fmt: str | None = None) -> str:
    """A cell as the paper's text tables print it (``-`` when missing, ``mean ± std`` for a pair).

    Examples
    --------
    >>> printed(0.0106166, ".3f"), printed([98.2067, 0.0818], ".2f"), printed(None, ".3f")
    ('0.011', '98.21 ± 0.08', '-')
    """
    kind, *parts = _shown(value, fmt)
    return parts[0] if kind == "unprintable" else cell_text(value, fmt)


def same_printed(a, b, fmt: str | None = None) -> bool:
    """Whether ``a`` and ``b`` print the same in a column of format ``fmt``.

    None and NaN both print as missing; a ``[mean, std]`` pair agrees with
    another only when both its mean and its std print the same; text agrees
    only with the same text.

    Examples
    --------
    >>> same_printed(0.01062, 0.01149, ".3f"), same_printed(0.0106, 0.0116, ".3f")
    (True, False)
    >>> same_printed([58.04, 1.06], [58.041, 1.064], ".2f"), same_printed(None, float("nan"), ".2f")
    (True, True)
    """
    return _shown(a, fmt) == _shown(b, fmt)


# ---------------------------------------------------------------- differences

@dataclass(frozen=True)
class Difference:
    """One number (or table property) that does not print as committed.

    Parameters
    ----------
    where : str
        Which table, row and column (or which metric) it is.
    committed, recomputed : str
        The two as printed.
    """

    where: str
    committed: str
    recomputed: str

    def __str__(self) -> str:
        return f"{self.where}: committed {self.committed}, recomputed {self.recomputed}"


def _row_name(row: Sequence, index: int) -> str:
    first = row[0] if row else None
    return f"row {index} {first!r}" if isinstance(first, str) else f"row {index}"


def _column_text(col: Mapping) -> str:
    return f"{col.get('name')!r} ({col.get('format') or 'text'})"


def _compare_table(name: str, committed: Mapping, recomputed: Mapping) -> tuple[list[Difference], int]:
    """The differences between two entries of one table, and how many cells were compared."""
    where = f"table {name!r}"
    out: list[Difference] = []
    cols, new_cols = list(committed.get("columns", [])), list(recomputed.get("columns", []))
    if len(cols) != len(new_cols):
        out.append(Difference(f"{where}, columns", ", ".join(c.get("name", "?") for c in cols),
                              ", ".join(c.get("name", "?") for c in new_cols)))
    for j, (col, new) in enumerate(zip(cols, new_cols)):
        if (col.get("name"), col.get("format")) != (new.get("name"), new.get("format")):
            out.append(Difference(f"{where}, column {j}", _column_text(col), _column_text(new)))
    rows, new_rows = list(committed.get("rows", [])), list(recomputed.get("rows", []))
    if len(rows) != len(new_rows):
        out.append(Difference(f"{where}, number of rows", str(len(rows)), str(len(new_rows))))
    compared = 0
    for i, (row, new) in enumerate(zip(rows, new_rows)):
        for j, col in enumerate(cols):
            fmt = col.get("format")
            # A cell beyond a shorter row prints as missing, as a dash would show a lost number.
            a = row[j] if j < len(row) else None
            b = new[j] if j < len(new) else None
            compared += 1
            if not same_printed(a, b, fmt):
                out.append(Difference(f"{where}, {_row_name(row, i)}, column {col.get('name')!r}",
                                      printed(a, fmt), printed(b, fmt)))
    return out, compared


def compare_tables(committed: Mapping[str, Mapping], recomputed: Mapping[str, Mapping],
                   names: Iterable[str] | None = None) -> tuple[list[Difference], int]:
    """Compare tables of two results files cell by cell at printed precision.

    Parameters
    ----------
    committed, recomputed : mapping
        The ``"tables"`` entries of two results files (``{name: {"columns": ..., "rows": ...}}``).
    names : iterable of str, optional
        The tables to compare; by default every table either side holds (a
        table only one side holds is a difference).

    Returns
    -------
    (differences, cells compared)
        Rows are compared in order (their order is part of the table), every
        cell with the committed column's format; a column whose name or format
        changed, a different number of rows and a missing table are
        differences too.

    Examples
    --------
    >>> t = {"columns": [{"name": "Case"}, {"name": "Error", "format": ".3f"}], "rows": [["a", 0.0104]]}
    >>> u = {"columns": t["columns"], "rows": [["a", 0.0106]]}
    >>> diffs, n = compare_tables({"errors": t}, {"errors": u})
    >>> n, [str(d) for d in diffs]
    (2, ["table 'errors', row 0 'a', column 'Error': committed 0.010, recomputed 0.011"])
    """
    names = list(names) if names is not None else list(dict.fromkeys([*committed, *recomputed]))
    out: list[Difference] = []
    compared = 0
    for name in names:
        if name not in committed or name not in recomputed:
            out.append(Difference(f"table {name!r}", "present" if name in committed else "absent",
                                  "present" if name in recomputed else "absent"))
            continue
        diffs, n = _compare_table(name, committed[name], recomputed[name])
        out += diffs
        compared += n
    return out, compared


# ---------------------------------------------------------------- checks

class SkipCheck(Exception):
    """A check cannot run here (its data set or a library is missing); the message says why."""


@dataclass(frozen=True)
class Compared:
    """What a check's recomputation found: the differences and a short account of what it compared."""

    differences: tuple[Difference, ...]
    summary: str


@dataclass(frozen=True)
class Check:
    """One cheap recomputation of committed paper-scale numbers.

    Parameters
    ----------
    name : str
        What ``--only`` selects it by.
    notebook : str
        The notebook whose committed results (``results/paper/<notebook>.json``) it compares with.
    about : str
        One line: what it recomputes.
    recompute : callable
        ``recompute(committed_record, scratch_dir) -> Compared``; runs with
        ``$PIXELFLOW_OUTPUT`` set to ``scratch_dir`` and raises
        :class:`SkipCheck` when it cannot run here.
    requires : tuple of str
        Modules that must be importable (else the check is skipped).
    """

    name: str
    notebook: str
    about: str
    recompute: Callable[[dict, Path], Compared]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Outcome:
    """How one check ended: ``status`` is one of :data:`STATUSES`."""

    name: str
    status: str
    detail: str
    differences: tuple[Difference, ...] = ()
    seconds: float = 0.0

    def lines(self, width: int = 24) -> list[str]:
        """The report: one line for the check, then one indented line per difference."""
        head = f"{self.name:<{width}} {self.status:<8} {self.detail} [{self.seconds:.0f} s]"
        return [head, *(f"    {d}" for d in self.differences)]


@contextlib.contextmanager
def _environ(**values: str):
    """Set environment variables for a block (the notebook kernels it starts inherit them), then restore them."""
    old = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def committed_results_dir() -> Path:
    """``results/paper`` of the checkout this package was imported from (never ``$PIXELFLOW_OUTPUT``)."""
    return repository_root() / "results" / SCALE


def _read_record(path: Path) -> dict:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(record, dict):
        raise ValueError(f"{path}: a results file holds a JSON object, got {type(record).__name__}")
    return record


def run_check(check: Check, results_dir: Path | None = None) -> Outcome:
    """Run one check against the committed results in ``results_dir`` (default :func:`committed_results_dir`).

    The check runs in a temporary output root (``$PIXELFLOW_OUTPUT``) removed
    afterwards. A missing results file, library or data set gives
    ``skipped``; an error while recomputing gives ``FAILED`` with its message,
    so the other checks still run.
    """
    started = time.perf_counter()

    def outcome(status, detail, differences=()):
        return Outcome(check.name, status, detail, tuple(differences), time.perf_counter() - started)

    path = Path(results_dir or committed_results_dir()) / f"{check.notebook}.json"
    if not path.is_file():
        return outcome("skipped", f"no committed results file {path}")
    missing = [m for m in check.requires if importlib.util.find_spec(m) is None]
    if missing:
        return outcome("skipped", f"{', '.join(missing)} not installed")
    try:
        committed = _read_record(path)
        with tempfile.TemporaryDirectory(prefix="pixelflow-check-") as scratch, \
                _environ(**{OUTPUT_ENV_VAR: scratch}):
            result = check.recompute(committed, Path(scratch))
    except SkipCheck as exc:
        return outcome("skipped", str(exc))
    # Any error of the recomputation (a notebook that fails, a malformed record) ends this check, not the run.
    except Exception as exc:  # noqa: BLE001
        first = (str(exc).strip().splitlines() or [""])[0]
        return outcome("FAILED", f"{type(exc).__name__}: {first}")
    if result.differences:
        return outcome("DIFFERS", f"{len(result.differences)} difference(s); {result.summary}", result.differences)
    return outcome("ok", result.summary)


def run_checks(checks: Iterable[Check], results_dir: Path | None = None, stream=None) -> list[Outcome]:
    """Run ``checks`` in order, printing each one's report to ``stream`` (default stdout) as it ends."""
    stream = stream or sys.stdout
    outcomes = []
    for check in checks:
        outcome = run_check(check, results_dir)
        print("\n".join(outcome.lines()), file=stream, flush=True)
        outcomes.append(outcome)
    return outcomes


# ---------------------------------------------------------------- a notebook's tables

def partial_notebook(src: Path, table: str, dst: Path) -> Path:
    """Write to ``dst`` a copy of notebook ``src`` that stops after the cell adding ``table``, then saves ``rec``.

    The cell is the first code cell that names ``table`` in quotes; it must
    add it to the notebook's record ``rec``
    (:class:`pixelflow.workbook.results.ResultsRecord`). Returns ``dst``.

    Raises
    ------
    ValueError
        Naming the notebook, when no code cell names ``table`` or that cell
        does not add it to ``rec``.
    """
    import nbformat

    nb = nbformat.read(str(src), as_version=4)
    quoted = (f'"{table}"', f"'{table}'")
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and any(q in c.source for q in quoted):
            break
    else:
        raise ValueError(f"notebook {src}: no code cell names table {table!r}")
    if "rec.add_table(" not in nb.cells[i].source:
        raise ValueError(f"notebook {src}: the cell naming table {table!r} does not add it to the record `rec`")
    nb.cells = nb.cells[:i + 1] + [nbformat.v4.new_code_cell("rec.save(backend);")]
    dst.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(dst))
    return dst


def notebook_check(name: str, notebook: str, *, tables: Sequence[str] | None = None, until_table: str | None = None,
                   about: str = "", requires: tuple[str, ...] = ("papermill",)) -> Check:
    """A check that reruns a notebook at paper scale and compares its tables with the committed ones.

    Parameters
    ----------
    name, notebook, about, requires
        As in :class:`Check`.
    tables : sequence of str, optional
        The tables to compare; by default all tables of both results files.
    until_table : str, optional
        Run only the notebook's cells up to the one that adds this table (a
        copy in the temporary folder, run from there and ending by saving the
        record; see :func:`partial_notebook`), for a table that a notebook
        computes long before its end.

    Notes
    -----
    The run uses the committed record's ``backend`` and ``seed`` and
    ``ALLOW_DIRTY=1``: its results go to the temporary output root only.
    """
    def recompute(committed: dict, scratch: Path) -> Compared:
        src = repository_root() / "notebooks" / f"{notebook}.ipynb"
        if until_table is not None:
            src = partial_notebook(src, until_table, scratch / "partial" / src.name)
        parameters = committed.get("parameters", {})
        params = {"seed": parameters["seed"]} if "seed" in parameters else {}
        with _environ(**{ALLOW_DIRTY_ENV_VAR: "1"}):
            run_notebook(src, scale=SCALE, backend=parameters.get("backend", "cpu"), progress=False, params=params)
        recomputed = _read_record(results_path(notebook, SCALE))
        names = list(tables) if tables is not None else None
        differences, cells = compare_tables(committed.get("tables", {}), recomputed.get("tables", {}), names)
        shown = names or list(dict.fromkeys([*committed.get("tables", {}), *recomputed.get("tables", {})]))
        part = f" (cells up to table {until_table!r})" if until_table else ""
        return Compared(tuple(differences), f"{notebook}{part} rerun with {ALLOW_DIRTY_ENV_VAR}=1 in a temporary "
                                            f"folder: {cells} cells of {', '.join(shown)}")

    return Check(name, notebook, about or f"the tables of {notebook} at paper scale", recompute, tuple(requires))


# ---------------------------------------------------------------- one seed of a preset

def _jsonable(value):
    return json.loads(json.dumps(value))


def _column_format(record: Mapping, table: str, column: str) -> str | None:
    try:
        cols = record["tables"][table]["columns"]
    except (KeyError, TypeError):
        raise ValueError(f"the committed results have no table {table!r}") from None
    for col in cols:
        if col.get("name") == column:
            return col.get("format")
    raise ValueError(f"table {table!r} has no column {column!r} (it has {', '.join(c.get('name') for c in cols)})")


def _load_dataset(preset, committed: Mapping):
    """The preset's data set as found on disk (never downloaded), checked to be the split the record used."""
    try:
        ds = getattr(datasets, preset.dataset)(download=False)
    except FileNotFoundError as exc:
        raise SkipCheck(f"data missing: {(str(exc).splitlines() or [''])[0]}") from None
    used = [d for d in committed.get("data", []) if isinstance(d, dict)]
    if not any(d.get("split") == ds.meta["split"] and d.get("files") == ds.meta["files"] for d in used):
        recorded = "; ".join(sorted({str(d.get("split")) for d in used})) or "none"
        raise SkipCheck(f"the {preset.dataset} files here ({ds.meta['split']}, {ds.meta['source_dir']}) are not "
                        f"those the record used ({recorded})")
    return ds


def _committed_accuracy(record: Mapping, result: Mapping) -> tuple[str, float] | None:
    """The committed final entry with the same readout, augmentation and seed's config: its name and accuracy."""
    config = _jsonable(result["configs"][0])
    for method, entry in record.get("metrics", {}).get("final", {}).items():
        same = all(entry.get(k) == result.get(k) for k in ("readout", "hyperparameter", "value", "augment"))
        configs = entry.get("configs", [])
        if same and config in configs:
            return method, entry["test_accuracy"][configs.index(config)]
    return None


def preset_seed_check(name: str, preset: str, notebook: str, table: str, column: str, seed: int = 0) -> Check:
    """A check that refits one seed of a preset and compares its test accuracy with the committed one.

    The accuracy is printed as a percentage with the format of ``column`` of
    the committed ``table`` (where the paper shows the mean over seeds); the
    committed number is the one the notebook measured for the same reservoir
    config, readout and augmentation (``metrics.final``). The data set is only
    read from disk (``$PIXELFLOW_DATA``), never downloaded, and must be the
    split and files the record names; otherwise the check is skipped.
    """
    def recompute(committed: dict, scratch: Path) -> Compared:
        p = presets.get(preset)
        fmt = _column_format(committed, table, column)
        ds = _load_dataset(p, committed)
        backend = committed.get("parameters", {}).get("backend", "cpu")
        result = evaluate(p.candidate(), *ds, seeds=[seed], backend=backend, progress=False, augment=p.augment)
        ours = 100 * result["test_accuracy"][0]
        found = _committed_accuracy(committed, result)
        where = f"preset {preset!r}, seed {seed}, test accuracy (%) (format of table {table!r}, column {column!r})"
        if found is None:
            differences = (Difference(where + ": the record holds no number for this config and readout",
                                      "absent", printed(ours, fmt)),)
            return Compared(differences, f"{ds.meta['split']}")
        method, theirs = found
        theirs = 100 * theirs
        differences = () if same_printed(theirs, ours, fmt) else (
            Difference(f"{where}, metrics.final[{method!r}]", printed(theirs, fmt), printed(ours, fmt)),)
        return Compared(differences, f"{ds.meta['split']}: {printed(ours, fmt)} % "
                                     f"(committed {printed(theirs, fmt)} %, metrics.final[{method!r}])")

    return Check(name, notebook, f"test accuracy of preset {preset!r}, seed {seed}", recompute)


# ---------------------------------------------------------------- the registry

CHECKS: dict[str, Check] = {c.name: c for c in (
    # Its solve-time table holds wall times, which no rerun reproduces: the error tables are compared.
    notebook_check("eikonal", "04_eikonal", tables=("04_eikonal_errors", "04_eikonal_families"),
                   requires=("papermill", "skfmm"),
                   about="04_eikonal's error tables (wave-reservoir arrival times vs scikit-fmm)"),
    notebook_check("quickstart_synthetic", "00_quickstart", tables=("00_quickstart_synthetic",),
                   until_table="00_quickstart_synthetic",
                   about="00_quickstart's two-moons and checkerboard table (the notebook's cells up to it)"),
    preset_seed_check("mnist_preset_seed0", "mnist", "01_mnist", "01_mnist_final", "Test acc. (%)"),
    preset_seed_check("cifar10_preset_seed0", "cifar10", "03_cifar10", "03_cifar10_final", "Test acc. (%)"),
)}


# ---------------------------------------------------------------- command line

class _Parser(argparse.ArgumentParser):
    """Usage errors as one line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv: Sequence[str] | None = None, checks: Mapping[str, Check] | None = None) -> int:
    """Run the checks; 1 when one differs or failed, 0 when all are ok or skipped, 2 for a usage error."""
    checks = dict(CHECKS if checks is None else checks)
    parser = _Parser(prog="python -m pixelflow.workbook.check_paper",
                     description="Recompute a few committed paper-scale numbers and compare them as printed.")
    parser.add_argument("--only", nargs="+", metavar="NAME", help=f"run only these checks ({', '.join(checks)})")
    parser.add_argument("--results", type=Path, default=None, metavar="DIR",
                        help="the paper-scale results to compare with (default: results/paper of this checkout)")
    parser.add_argument("--list", action="store_true", help="list the checks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for check in checks.values():
            print(f"{check.name:<24} {check.about}")
        return 0
    unknown = [n for n in args.only or [] if n not in checks]
    if unknown:
        parser.error(f"--only: unknown check {', '.join(map(repr, unknown))}; the checks are {', '.join(checks)}")
    if args.results is not None and not args.results.is_dir():
        parser.error(f"--results: {args.results} is not a folder")
    selected = [checks[n] for n in dict.fromkeys(args.only)] if args.only else list(checks.values())
    started = time.perf_counter()
    outcomes = run_checks(selected, args.results)
    counts = {s: sum(o.status == s for o in outcomes) for s in STATUSES}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    print(f"{len(outcomes)} check(s): {summary} [{time.perf_counter() - started:.0f} s]")
    return 1 if counts["DIFFERS"] or counts["FAILED"] else 0


if __name__ == "__main__":
    sys.exit(main())
