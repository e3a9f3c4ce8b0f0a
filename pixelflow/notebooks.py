"""Run the workbook's notebooks headlessly with papermill.

``python -m pixelflow.notebooks run notebooks/01_mnist.ipynb --scale smoke``
executes a notebook with its parameters injected, keeps the executed copy in
``results/<scale>/executed/`` and checks that it wrote its results file. A
failing notebook stops with its name and the failing cell, and leaves no
results file behind (a stale one from an earlier run is removed first).

Other names of a notebook's ``parameters`` cell are set with ``--param``
(repeatable; the value is read as JSON, and taken as a string where it is not
JSON), e.g. notebook 11 on a running dask cluster::

    python -m pixelflow.notebooks run notebooks/11_scale_out.ipynb --scale paper \
        --param scheduler=tcp://10.0.0.5:8786 --param seed=1

``python -m pixelflow.notebooks refresh notebooks/*.ipynb`` re-executes at
smoke scale and stores the outputs in the notebooks themselves; those are the
outputs ``pytest --nbval-lax`` checks.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

from pixelflow.outputs import SCALES, output_root, results_path, write_atomic


class NotebookFailed(RuntimeError):
    """A notebook raised, or finished without writing its results."""


def _execute(src: Path, dst: Path, parameters: dict, progress: bool) -> None:
    import papermill
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


# Set by run_notebook's own arguments, never through ``params``.
_RESERVED = ("scale", "backend")


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


def run_notebook(path, scale: str = "smoke", backend: str = "cpu", progress: bool = True,
                 params: Mapping[str, object] | None = None) -> Path:
    """Execute one notebook; return the path of the executed copy.

    Parameters
    ----------
    path : path of the notebook
    scale : {"smoke", "paper"}
    backend : str
    progress : bool
        Papermill's progress bar.
    params : mapping, optional
        Further values for names of the notebook's ``parameters`` cell
        (e.g. ``{"scheduler": "tcp://host:8786"}``), checked against it.

    Raises
    ------
    NotebookFailed
    ValueError
        A bad scale, or a parameter the notebook does not have.
    """
    src = Path(path).resolve()
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    params = check_params(src, params)
    results = results_path(src.stem, scale)
    results.unlink(missing_ok=True)
    executed = output_root() / "results" / scale / "executed" / src.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=executed.parent) as tmp:
        out = Path(tmp) / src.name
        try:
            _execute(src, out, {**params, "scale": scale, "backend": backend}, progress)
        except NotebookFailed:
            results.unlink(missing_ok=True)
            failed = executed.with_suffix(".failed.ipynb")
            if out.exists():
                write_atomic(failed, out.read_bytes())
                print(f"executed copy with the error: {failed}", file=sys.stderr)
            raise
        if not results.exists():
            raise NotebookFailed(f"notebook {src.stem} ran but did not write {results}")
        write_atomic(executed, out.read_bytes())
    return executed


def refresh_outputs(path, progress: bool = True) -> Path:
    """Re-execute at smoke scale (default parameters) and store the outputs in place."""
    src = Path(path).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / src.name
        _execute(src, out, {}, progress)
        write_atomic(src, out.read_bytes())
    return src


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Run the pixelflow notebooks with papermill.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks and check they wrote results")
    run.add_argument("notebooks", nargs="+", type=Path)
    run.add_argument("--scale", choices=SCALES, default="smoke")
    run.add_argument("--backend", default="cpu")
    run.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                     help="set another name of the notebook's parameters cell (repeatable; VALUE is JSON, "
                          "else a string), e.g. --param scheduler=tcp://host:8786")
    ref = sub.add_parser("refresh", help="re-execute at smoke scale and store outputs in the notebooks")
    ref.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    try:
        params = dict(parse_param(p) for p in getattr(args, "param", []))
    except ValueError as exc:
        parser.error(str(exc))
    for nb in args.notebooks:
        try:
            if args.command == "run":
                extra = "".join(f", {k}={v!r}" for k, v in params.items())
                print(f"running {nb} ({args.scale}, {args.backend}{extra})", flush=True)
                print(f"  -> {run_notebook(nb, args.scale, args.backend, params=params)}")
            else:
                print(f"refreshing {nb}", flush=True)
                refresh_outputs(nb)
        except (NotebookFailed, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
