"""Run the workbook's notebooks headlessly with papermill.

``python -m pixelflow.notebooks run notebooks/01_mnist.ipynb --scale smoke``
executes a notebook with its parameters injected, keeps the executed copy in
``results/<scale>/executed/`` and checks that it wrote its results file. A
failing notebook stops with its name and the failing cell, and leaves no
results file behind (a stale one from an earlier run is removed first).

``python -m pixelflow.notebooks refresh notebooks/*.ipynb`` re-executes at
smoke scale and stores the outputs in the notebooks themselves; those are the
outputs ``pytest --nbval-lax`` checks.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
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


def run_notebook(path, scale: str = "smoke", backend: str = "cpu", progress: bool = True) -> Path:
    """Execute one notebook; return the path of the executed copy.

    Raises
    ------
    NotebookFailed
    """
    src = Path(path).resolve()
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    results = results_path(src.stem, scale)
    results.unlink(missing_ok=True)
    executed = output_root() / "results" / scale / "executed" / src.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=executed.parent) as tmp:
        out = Path(tmp) / src.name
        try:
            _execute(src, out, {"scale": scale, "backend": backend}, progress)
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
    ref = sub.add_parser("refresh", help="re-execute at smoke scale and store outputs in the notebooks")
    ref.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for nb in args.notebooks:
        try:
            if args.command == "run":
                print(f"running {nb} ({args.scale}, {args.backend})", flush=True)
                print(f"  -> {run_notebook(nb, args.scale, args.backend)}")
            else:
                print(f"refreshing {nb}", flush=True)
                refresh_outputs(nb)
        except NotebookFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
