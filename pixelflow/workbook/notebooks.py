"""Run the workbook's notebooks headlessly with papermill.

``python -m pixelflow.workbook.notebooks run notebooks/01_mnist.ipynb --scale smoke``
executes a notebook with its parameters injected, keeps the executed copy in
``results/<scale>/executed/`` and checks that it wrote its results file.

Every argument (notebook paths, scale, backend, ``--param``) is checked before
any file is touched; a bad one stops with a one-line message and leaves the
results as they were. A notebook that runs and fails stops with its name and
the failing cell; its results file from an earlier run is then moved aside to
``results/<scale>/<notebook>.json.stale`` (which neither ``make`` nor
:mod:`pixelflow.workbook.latex` reads), so that it is not taken as current but can be
renamed back.

Other names of a notebook's ``parameters`` cell are set with ``--param``
(repeatable; the value is read as JSON, and taken as a string where it is not
JSON), e.g. notebook 11 on a running dask cluster::

    python -m pixelflow.workbook.notebooks run notebooks/11_scale_out.ipynb --scale paper \
        --param scheduler=tcp://10.0.0.5:8786 --param seed=1

``--output-dir DIR`` writes the results, executed copies and figures under
``DIR`` instead of the checkout (as ``$PIXELFLOW_OUTPUT`` does).

``python -m pixelflow.workbook.notebooks refresh notebooks/*.ipynb`` re-executes at
smoke scale and stores the outputs in the notebooks themselves; those are the
outputs ``pytest --nbval-lax`` checks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pixelflow.workbook import dependencies
from pixelflow.workbook.outputs import (
    OUTPUT_ENV_VAR,
    SCALES,
    check_scale,
    output_root,
    repository_root,
    results_path,
    write_atomic,
)
from pixelflow.workbook.results import UncommittedChanges


class NotebookFailed(RuntimeError):
    """A notebook raised, or finished without writing its results."""


def _execute(src: Path, dst: Path, parameters: dict, progress: bool) -> None:
    import papermill
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(src), str(dst), parameters=parameters, cwd=str(src.parent), progress_bar=progress,
            kernel_name="python3", log_output=False,
        )
    except PapermillExecutionError as exc:
        raise NotebookFailed(
            f"notebook {src.stem} failed in cell {exc.cell_index} (execution count {exc.exec_count}): "
            f"{exc.ename}: {exc.evalue}"
        ) from None
    except (CellTimeoutError, DeadKernelError) as exc:
        first_line = (str(exc).strip().splitlines() or [""])[0]
        raise NotebookFailed(f"notebook {src.stem} failed: {type(exc).__name__}: {first_line}") from None


# Set by run_notebook's own arguments, never through ``params``.
_RESERVED = ("scale", "backend")

# Suffix of a results file moved aside after a failed run: not ``.json``, so
# that neither make's pattern rule nor pixelflow.workbook.latex mistakes it for results.
STALE_SUFFIX = ".stale"


def parse_param(text: str) -> tuple[str, object]:
    """``"NAME=VALUE"`` → ``(name, value)``; the value is JSON (``1``, ``null``, ``"a"``) or else a string.

    >>> parse_param("seed=3"), parse_param("scheduler=tcp://10.0.0.5:8786"), parse_param("data_dir=null")
    (('seed', 3), ('scheduler', 'tcp://10.0.0.5:8786'), ('data_dir', None))
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise ValueError(f"--param expects NAME=VALUE with a Python name, got {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value


def check_params(path, params: Mapping[str, object]) -> dict:
    """``params`` if every name is in the notebook's ``parameters`` cell (and is not scale or backend).

    Raises
    ------
    ValueError
        Naming the unknown (or reserved) names and the notebook's parameters.
    """
    params = dict(params or {})
    if not params:
        return params
    import papermill

    known = list(papermill.inspect_notebook(str(path)))
    reserved = sorted(set(params) & set(_RESERVED))
    if reserved:
        raise ValueError(f"set {', '.join(reserved)} with --{reserved[0]}, not --param")
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise ValueError(f"notebook {Path(path).stem} has no parameter {', '.join(unknown)}; "
                         f"its parameters cell sets {', '.join(known) or 'nothing'}")
    return params


def check_notebook(path) -> Path:
    """The resolved path of an existing, readable ``.ipynb`` notebook.

    Raises
    ------
    ValueError
        Naming the path: it does not exist, is not a file, does not end in
        ``.ipynb`` or does not parse as a notebook.
    """
    import nbformat

    path = Path(path)
    if not path.exists():
        raise ValueError(f"notebook {path} does not exist")
    if not path.is_file():
        raise ValueError(f"notebook {path} is not a file")
    if path.suffix != ".ipynb":
        raise ValueError(f"notebook {path} must be a .ipynb file, got {path.suffix or 'no extension'}")
    try:
        nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several kinds (NotJSONError, KeyError, ...) for a broken file
        reason = (str(exc).strip().splitlines() or [""])[0][:120]
        raise ValueError(f"notebook {path} cannot be read as a notebook ({type(exc).__name__}: {reason})") from None
    return path.resolve()


def check_backend(backend) -> str:
    """``backend`` if it names one of :func:`pixelflow.backends.available_backends`."""
    from pixelflow.backends import available_backends

    names = available_backends()
    if not isinstance(backend, str) or backend not in names:
        raise ValueError(f"backend must be one of {', '.join(names)}, got {backend!r}")
    return backend


def check_run(path, scale: str = "smoke", backend: str = "cpu",
              params: Mapping[str, object] | None = None) -> tuple[Path, dict]:
    """Check every argument of :func:`run_notebook` without touching any file.

    Returns
    -------
    (resolved notebook path, params as a dict)

    Raises
    ------
    ValueError
        A missing or unreadable notebook, a path not ending in ``.ipynb``, an
        unknown scale or backend, or a parameter the notebook does not have.
    """
    src = check_notebook(path)
    check_scale(scale)
    check_backend(backend)
    return src, check_params(src, params)


def _signature(path: Path) -> tuple[int, int, int] | None:
    """What changes when a file is rewritten (write_atomic makes a new inode)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


def _move_aside(results: Path) -> str:
    """Rename a results file that a failed run leaves behind; say where it went."""
    if not results.exists():
        return ""
    stale = results.with_name(results.name + STALE_SUFFIX)
    os.replace(results, stale)
    return (f"; {results.name} was moved aside to {stale} so that it is not taken as current "
            f"(rename it back to keep it)")


def check_committed(src: Path, results: Path) -> None:
    """Refuse, before a paper-scale run starts, when the code it would run has uncommitted changes.

    The files checked are the notebook and what its last results recorded as
    depending on, or the whole package when there are none; the results file
    itself checks again, exactly, when it is saved. ``ALLOW_DIRTY=1`` lets the
    run go on (its results are then written as a draft).

    Raises
    ------
    UncommittedChanges
        Naming the changed files.
    """
    if os.environ.get(dependencies.ALLOW_DIRTY_ENV_VAR) == "1":
        return
    if repository_root() not in src.parents:
        raise UncommittedChanges(
            f"not running {src} at paper scale: it is not in the repository {repository_root()}, so no commit "
            f"holds it; set {dependencies.ALLOW_DIRTY_ENV_VAR}=1 to write its results marked as a draft")
    build = dependencies.recorded_stamp(results)
    paths = dependencies.dependency_paths({**build, "notebook": {}})
    files = dependencies.uncommitted([src.relative_to(repository_root()).as_posix(), *(paths or ["pixelflow"])])
    if files:
        raise UncommittedChanges(
            f"not running {src.stem} at paper scale: paper-scale results come only from committed code, and "
            f"{', '.join(files[:6])}{' ...' if len(files) > 6 else ''} differ from the commit. Commit them, or "
            f"set {dependencies.ALLOW_DIRTY_ENV_VAR}=1 to write the results marked as a draft")


def run_notebook(path, scale: str = "smoke", backend: str = "cpu", progress: bool = True,
                 params: Mapping[str, object] | None = None) -> Path:
    """Execute one notebook; return the path of the executed copy.

    Parameters
    ----------
    path : path of the notebook
    scale : {"smoke", "paper"}
    backend : str
        One of :func:`pixelflow.backends.available_backends`.
    progress : bool
        Papermill's progress bar.
    params : mapping, optional
        Further values for names of the notebook's ``parameters`` cell
        (e.g. ``{"scheduler": "tcp://host:8786"}``), checked against it.

    Raises
    ------
    ValueError
        A bad argument (see :func:`check_run`); raised before any file is
        touched.
    UncommittedChanges
        At paper scale, before anything runs, when the code has uncommitted
        changes (see :func:`check_committed`).
    NotebookFailed
        The notebook raised, or finished without writing its results file.
        A results file left from an earlier run is then renamed to
        ``<notebook>.json.stale`` (named in the message), not deleted.
    """
    src, params = check_run(path, scale, backend, params)
    results = results_path(src.stem, scale)
    if scale == "paper":
        check_committed(src, results)
    before = _signature(results)
    executed = output_root() / "results" / scale / "executed" / src.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=executed.parent) as tmp:
        out = Path(tmp) / src.name
        try:
            _execute(src, out, {**params, "scale": scale, "backend": backend}, progress)
        except NotebookFailed as exc:
            moved = _move_aside(results)
            failed = executed.with_suffix(".failed.ipynb")
            if out.exists():
                write_atomic(failed, out.read_bytes())
                print(f"executed copy with the error: {failed}", file=sys.stderr)
            raise NotebookFailed(f"{exc}{moved}") from None
        # A results file from an earlier run does not count: this run must have rewritten it.
        if _signature(results) in (None, before):
            moved = _move_aside(results)
            raise NotebookFailed(f"notebook {src.stem} ran but did not write {results}{moved}")
        write_atomic(executed, out.read_bytes())
    return executed


# Absolute paths a run prints (where results were written, a warning's source
# file): only the part from a project folder, or from site-packages, is kept.
_MACHINE_PATHS = (  # site-packages first: a virtual environment may lie inside the checkout
    (re.compile(r"(?:/[\w.\-]+)+/site-packages/"), "site-packages/"),
    (re.compile(r"(?:/[\w.\-]+)+/(results|figures|notebooks|paper|pixelflow)/"), r"\1/"),
)


def strip_machine_paths(nb) -> None:
    """Remove what names the machine a notebook ran on from its stored outputs and metadata (in place).

    Papermill's record of the input and output paths is dropped, and absolute
    paths in text outputs become relative to the project folder they point
    into, so a committed notebook does not depend on where it was run.
    """
    nb.metadata.get("papermill", {}).pop("input_path", None)
    nb.metadata.get("papermill", {}).pop("output_path", None)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                text = output["text"]
                for pattern, replacement in _MACHINE_PATHS:
                    text = pattern.sub(replacement, text)
                output["text"] = text


# A progress bar's line as tqdm draws it ("search:  40%|████      | 4/10 [00:02<...]"), and the warning tqdm
# prints where it cannot draw a widget.
_PROGRESS_LINE = re.compile(r"^.*\d+%\|.*\|.*$")
_WIDGET_WARNING = re.compile(r"^.*(TqdmWarning|IProgress not found).*$|^\s*from \.autonotebook import tqdm.*$")
_WIDGET = "application/vnd.jupyter.widget-view+json"


def _noise(line: str) -> bool:
    return bool(_PROGRESS_LINE.match(line) or _WIDGET_WARNING.match(line))


def strip_progress(nb) -> None:
    """Remove progress bars and the warnings about them from a notebook's stored outputs (in place).

    A bar's text depends on the machine's speed and on when the kernel's
    output was flushed, so it is noise to a reader and to a diff: stderr
    lines drawn by tqdm (carriage returns included), tqdm's warnings when
    it cannot draw a widget, and the widgets themselves go; an output left
    empty goes too.
    """
    for cell in nb.cells:
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                # What a terminal shows of each line: the part after its last carriage return.
                shown = [line.split("\r")[-1] for line in re.split(r"(?<=\n)", output["text"].replace("\r\n", "\n"))]
                text = "".join(line for line in shown if line.strip() and not _noise(line.rstrip("\n")))
                if not text.strip():
                    continue
                output["text"] = text
            elif _WIDGET in output.get("data", {}):
                continue
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    nb.metadata.pop("widgets", None)  # the removed widgets' saved state


def sanitize(nb) -> None:
    """What a committed notebook must not carry: machine paths and progress noise (:func:`strip_machine_paths`,
    :func:`strip_progress`), in place."""
    strip_machine_paths(nb)
    strip_progress(nb)


def refresh_outputs(path, progress: bool = True) -> Path:
    """Re-execute at smoke scale (default parameters) and store the outputs in place, sanitised (:func:`sanitize`)."""
    import nbformat

    src = check_notebook(path)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / src.name
        _execute(src, out, {}, progress)
        nb = nbformat.read(out, as_version=4)
        sanitize(nb)
        write_atomic(src, nbformat.writes(nb).encode())
    return src


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (``make`` shows the last lines of a failing command)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def main(argv=None) -> int:
    parser = _Parser(prog="python -m pixelflow.workbook.notebooks",
                     description="Run the pixelflow notebooks with papermill.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = sub.add_parser("run", help="execute notebooks and check they wrote results")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--scale", choices=SCALES, default="smoke")
    run.add_argument("--backend", default="cpu")
    run.add_argument("--output-dir", type=Path, metavar="DIR",
                     help="write results/ and figures/ under DIR instead of the checkout (default: "
                          f"${OUTPUT_ENV_VAR} if set, else the checkout)")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="set another name of the notebook's parameters cell (repeatable; VALUE is JSON, "
                          "else a string), e.g. --param scheduler=tcp://host:8786")
    ref = sub.add_parser("refresh", help="re-execute at smoke scale and store outputs in the notebooks")
    ref.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if getattr(args, "output_dir", None) is not None:
        if args.output_dir.exists() and not args.output_dir.is_dir():
            parser.error(f"--output-dir {args.output_dir} exists and is not a folder")
        # The notebooks' kernels inherit the environment: everything they write goes under DIR.
        os.environ[OUTPUT_ENV_VAR] = str(args.output_dir.resolve())
    try:
        params = dict(parse_param(p) for p in getattr(args, "param", []))
    except ValueError as exc:
        parser.error(str(exc))
    # Every notebook is checked before the first one runs, so a typo in the
    # last path does not leave the first ones rerun and the rest not.
    try:
        for nb in args.notebooks:
            if args.command == "run":
                check_run(nb, args.scale, args.backend, params)
            else:
                check_notebook(nb)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for nb in args.notebooks:
        try:
            if args.command == "run":
                extra = "".join(f", {k}={v!r}" for k, v in params.items())
                print(f"running {nb} ({args.scale}, {args.backend}{extra})", flush=True)
                print(f"  -> {run_notebook(nb, args.scale, args.backend, params=params)}")
            else:
                print(f"refreshing {nb}", flush=True)
                refresh_outputs(nb)
        except (NotebookFailed, UncommittedChanges, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
