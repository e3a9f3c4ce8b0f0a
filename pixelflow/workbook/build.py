"""Which notebooks' results are current, and rerunning exactly those that are not.

``python -m pixelflow.workbook.build status --scale paper`` lists every
notebook as fresh, stale, draft or missing, with the reasons;
``python -m pixelflow.workbook.build run --scale paper`` reruns the ones that
are not fresh, in number order — a notebook reads only the results of
notebooks before it (08 reads 06's models, 09 and 11 read 01's results), so
one pass suffices: a rerun of 06 changes the files 08 recorded as read, and
08 is found stale when its turn comes. ``make paper`` and ``make paper-status``
call these.

What "current" means is decided by :mod:`pixelflow.workbook.dependencies`: the
hashes a results file recorded of the notebook's code, the package sources
the run loaded, the results files it read and its data, compared with the
checkout; and at paper scale, whether it was written as a draft.
"""

from __future__ import annotations

import argparse
import ast
import concurrent.futures
import contextlib
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from pixelflow.atomic import write_atomic
from pixelflow.checks import check_count
from pixelflow.workbook import dependencies
from pixelflow.workbook.outputs import SCALES, check_scale, output_root, repository_root, results_path

FRESH, STALE, DRAFT, MISSING = "fresh", "stale", "draft", "missing"

#: Each scale's log of the builds that ran notebooks, beside (not in) the folder of notebook results.
BUILD_LOG = "builds_{scale}.json"


@dataclass
class NotebookStatus:
    """Where one notebook's results at one scale stand.

    Attributes
    ----------
    notebook : str
        Its name, e.g. ``"01_mnist"``.
    state : {"fresh", "stale", "draft", "missing"}
    reasons : list of str
        Why it is not fresh (empty when it is).
    commit : str or None
        The commit its results record, when they exist.
    wall_time_s : float or None
        The recorded wall time of the run.
    """

    notebook: str
    state: str
    reasons: list[str] = field(default_factory=list)
    commit: str | None = None
    wall_time_s: float | None = None

    @property
    def needs_run(self) -> bool:
        """True unless fresh, or a draft while ``ALLOW_DIRTY=1`` accepts drafts."""
        if self.state == DRAFT:
            return os.environ.get(dependencies.ALLOW_DIRTY_ENV_VAR) != "1"
        return self.state != FRESH


def notebooks(root: Path | None = None) -> list[str]:
    """The workbook's notebooks (``notebooks/NN_*.ipynb``), in number order."""
    root = Path(root or repository_root())
    return sorted(p.stem for p in (root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def default_parameters(notebook: str) -> dict:
    """The values of a notebook's ``parameters`` cell (those that are Python literals)."""
    import papermill

    out = {}
    for name, spec in papermill.inspect_notebook(str(dependencies.notebook_path(notebook))).items():
        try:
            out[name] = ast.literal_eval(spec["default"])
        except (ValueError, SyntaxError, KeyError):
            continue
    return out


def notebook_status(notebook: str, scale: str, backend: str = "cpu", hashes: dict | None = None) -> NotebookStatus:
    """Compare ``results/<scale>/<notebook>.json`` with the checkout (see :mod:`pixelflow.workbook.dependencies`).

    Parameters
    ----------
    notebook : str
    scale : {"smoke", "paper"}
    backend : str
        The backend a run would use now; results from another one are stale.
    hashes : dict, optional
        A cache of file hashes shared between calls.
    """
    path = results_path(notebook, check_scale(scale))
    if not path.exists():
        return NotebookStatus(notebook, MISSING, [f"no results file results/{scale}/{path.name}"])
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return NotebookStatus(notebook, STALE, [f"{path.name} cannot be read ({exc})"])
    return record_status(notebook, record, scale, backend, hashes)


def record_status(notebook: str, record: dict, scale: str, backend: str = "cpu",
                  hashes: dict | None = None) -> NotebookStatus:
    """:func:`notebook_status` of a results record already read."""
    known = dependencies.notebook_path(notebook).exists()
    wanted = {**(default_parameters(notebook) if known else {}), "scale": scale, "backend": backend}
    reasons = dependencies.stale_reasons(record, wanted, hashes)
    commit = (record.get("provenance", {}).get("git") or {}).get("commit")
    wall = (record.get("wall_time_s") or {}).get("total")
    if reasons:
        return NotebookStatus(notebook, STALE, reasons, commit, wall)
    draft = dependencies.draft_reason(record)
    if draft:
        return NotebookStatus(notebook, DRAFT, [draft], commit, wall)
    return NotebookStatus(notebook, FRESH, [], commit, wall)


def status(scale: str, backend: str = "cpu", names: list[str] | None = None) -> list[NotebookStatus]:
    """:func:`notebook_status` of every notebook (or of ``names``), in number order."""
    hashes: dict = {}
    return [notebook_status(nb, scale, backend, hashes) for nb in (names or notebooks())]


def format_status(rows: list[NotebookStatus], scale: str, max_reasons: int = 3) -> str:
    """The status as text, one notebook a line and its reasons indented beneath."""
    lines = [f"{scale}-scale results, compared with the checkout:"]
    for row in rows:
        commit = f"  (commit {row.commit[:10]})" if row.commit else ""
        lines.append(f"  {row.notebook:<26} {row.state:<8}{commit}")
        for reason in row.reasons[:max_reasons]:
            lines.append(f"      {reason}")
        if len(row.reasons) > max_reasons:
            lines.append(f"      ... and {len(row.reasons) - max_reasons} more")
    todo = [r.notebook for r in rows if r.needs_run]
    lines.append(f"{len(todo)} of {len(rows)} to rerun" + (f": {', '.join(todo)}" if todo else ""))
    return "\n".join(lines)


def upstream(notebook: str, scale: str, names: list[str]) -> set[str]:
    """The notebooks of ``names`` whose results ``notebook`` may read: what it names in its code or last read.

    Only for scheduling runs side by side: a guess that misses a reader is
    caught afterwards, since the reader's recorded input hash then differs and
    :func:`run_stale` runs it again.
    """
    import nbformat

    nb = nbformat.read(str(dependencies.notebook_path(notebook)), as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    out = {name for name in names if name != notebook and name in code}
    inputs = dependencies.recorded_stamp(results_path(notebook, scale)).get("inputs", {})
    out |= {name for name in names if name != notebook and f"results/{scale}/{name}.json" in inputs}
    return out


def runs_alone(notebook: str) -> str | None:
    """Why ``notebook`` must not share the machine (its results report timings), or None.

    Set in the notebook's metadata as ``{"pixelflow": {"runs_alone": "<why>"}}``.
    """
    import nbformat

    nb = nbformat.read(str(dependencies.notebook_path(notebook)), as_version=4)
    return (nb.metadata.get("pixelflow") or {}).get("runs_alone") or None


def start_order(rows: list[NotebookStatus], alone=()) -> list[str]:
    """The order in which notebooks run side by side are offered a free slot.

    Those in ``alone`` come first: they need the machine to themselves, which
    costs nothing at the start of a build but leaves cores idle later, while
    the last neighbour finishes. Then the rest, longest first by the wall time
    of their last run (:attr:`NotebookStatus.wall_time_s`), so that a long one
    is not left running by itself at the end; one never run counts as
    longest. Ties keep number order.

    >>> rows = [NotebookStatus("00_a", "stale", wall_time_s=10.0), NotebookStatus("01_b", "missing"),
    ...         NotebookStatus("02_c", "stale", wall_time_s=300.0), NotebookStatus("03_d", "stale", wall_time_s=5.0)]
    >>> start_order(rows, alone={"03_d"})
    ['03_d', '01_b', '02_c', '00_a']
    """
    def key(row):
        wall = row.wall_time_s if row.wall_time_s is not None else float("inf")
        return (row.notebook not in alone, -wall)

    return [row.notebook for row in sorted(rows, key=key)]


def run_stale(scale: str, backend: str = "cpu", names: list[str] | None = None, dry_run: bool = False,
              jobs: int = 1) -> list[str]:
    """Rerun every notebook whose results are not fresh; return the ones run, in the order they started.

    With ``jobs=1`` they run in number order, each checked just before its
    turn, so one whose inputs an earlier rerun changed is run too. With more
    jobs, up to ``jobs`` notebooks run side by side (each in its own kernel),
    offered a free slot in :func:`start_order`, a notebook starting only when
    none it reads (:func:`upstream`) is still to run, and one that reports
    timings (:func:`runs_alone`) running with no other beside it; afterwards
    every notebook is checked again and any that a neighbour's rerun made
    stale runs once more, alone. Stops at the first failure
    (:class:`pixelflow.workbook.notebooks.NotebookFailed`), after the runs
    already started have ended.
    """
    from pixelflow.workbook.notebooks import run_notebook

    check_count(jobs, "jobs")
    order = names or notebooks()

    def describe(row):
        return f"{row.notebook}: {row.state} ({'; '.join(row.reasons[:2])}{' ...' if len(row.reasons) > 2 else ''})"

    build = {"jobs": jobs, "started": _now(), "runs": {}}
    clock = time.monotonic()

    def run(nb, progress=True):
        started, t0 = _now(), time.monotonic()
        run_notebook(repository_root() / "notebooks" / f"{nb}.ipynb", scale, backend, progress=progress)
        build["runs"][nb] = {"started": started, "start_s": round(t0 - clock, 1),
                             "end_s": round(time.monotonic() - clock, 1)}

    if jobs == 1 or dry_run:
        ran = []
        with _logged(scale, build, clock):  # a dry run runs nothing, so it logs nothing
            for nb in order:
                row = notebook_status(nb, scale, backend)
                if not row.needs_run:
                    continue
                print(describe(row), flush=True)
                ran.append(nb)
                if not dry_run:
                    run(nb)
        if not ran:
            print(f"every {scale}-scale result is fresh: no notebook to run")
        return ran

    rows = status(scale, backend, order)
    for row in rows:
        if row.needs_run:
            print(describe(row), flush=True)
    alone = {r.notebook for r in rows if r.needs_run and runs_alone(r.notebook)}
    pending = start_order([r for r in rows if r.needs_run], alone)
    # A notebook reads only results of notebooks numbered before it, so some pending one can always start.
    needs = {nb: {u for u in upstream(nb, scale, order) if u < nb} for nb in pending}
    ran, running, failure = [], {}, None
    with _logged(scale, build, clock), concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        while (pending and failure is None) or running:
            for nb in list(pending):
                if failure is not None or len(running) >= jobs or alone & set(running.values()):
                    break
                if needs[nb] & (set(pending) | set(running.values())) or (nb in alone and running):
                    continue
                pending.remove(nb)
                ran.append(nb)
                print(f"{nb}: started", flush=True)
                running[pool.submit(run, nb, False)] = nb
            finished, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                nb = running.pop(future)
                if future.exception() is not None and failure is None:
                    failure = future.exception()
                print(f"{nb}: {'failed' if future.exception() else 'done'}", flush=True)
    if failure is not None:
        raise failure
    again = run_stale(scale, backend, order, jobs=1) if any(r.needs_run for r in status(scale, backend, order)) else []
    return ran + again


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@contextlib.contextmanager
def _logged(scale, build, clock):
    """Log the build on the way out, also when a notebook failed (the runs that ended are logged)."""
    try:
        yield
    finally:
        log_build(scale, build, time.monotonic() - clock)


def build_log_path(scale: str, results_root=None) -> Path:
    """``results/builds_<scale>.json``: the builds the current results come from.

    ``results_root`` is the ``results`` folder (default: the one under the output root).
    """
    return Path(results_root or output_root() / "results") / BUILD_LOG.format(scale=check_scale(scale))


def load_build_log(path) -> list[dict]:
    """The builds logged in ``path`` (oldest first); empty when there is no file.

    Raises
    ------
    ValueError
        The file is not a JSON list of builds with a ``runs`` object; the message names the file.
    """
    path = Path(path)
    if not path.exists():
        return []
    try:
        builds = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(builds, list) or not all(isinstance(b["runs"], dict) for b in builds):
            raise TypeError("not a list of builds")
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: expected a JSON list of builds, each with a 'runs' object "
                         f"({type(exc).__name__}: {exc})") from None
    return builds


def overlaps(runs: dict) -> dict[str, list[str]]:
    """For each run, the other runs of the same build that shared the machine with it for some time.

    >>> overlaps({"a": {"start_s": 0, "end_s": 10}, "b": {"start_s": 5, "end_s": 20},
    ...           "c": {"start_s": 20, "end_s": 30}})
    {'a': ['b'], 'b': ['a'], 'c': []}
    """
    return {nb: sorted(other for other, o in runs.items()
                       if other != nb and o["start_s"] < r["end_s"] and r["start_s"] < o["end_s"])
            for nb, r in runs.items()}


def log_build(scale: str, build: dict, wall_s: float, path=None) -> list[dict] | None:
    """Append ``build`` (if it ran a notebook to its end) to the scale's build log; return the log.

    Each run gets ``beside``: the notebooks that ran at the same time, whose
    load its recorded wall time includes. A build stays in the log only while
    some notebook's latest run is one of its runs, so the log describes the
    current results and does not grow without bound.
    """
    if not build["runs"]:
        return None
    from pixelflow.workbook.provenance import git_state

    path = Path(path or build_log_path(scale))
    entry = dict(build, git=git_state(), cpu_count=os.cpu_count(), wall_s=round(wall_s, 1))
    for nb, beside in overlaps(build["runs"]).items():
        entry["runs"][nb]["beside"] = beside
    builds = load_build_log(path) + [entry]
    latest = {nb: i for i, b in enumerate(builds) for nb in b["runs"]}
    builds = [b for i, b in enumerate(builds) if i in latest.values()]
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, (json.dumps(builds, indent=1) + "\n").encode())
    return builds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pixelflow.workbook.build", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("status", "list each notebook as fresh, stale, draft or missing, and why"),
                       ("run", "rerun the notebooks whose results are not fresh")):
        p = sub.add_parser(name, help=text)
        p.add_argument("notebooks", nargs="*", help="names such as 01_mnist (default: all)")
        p.add_argument("--scale", choices=SCALES, default="smoke")
        p.add_argument("--backend", default="cpu")
        if name == "run":
            p.add_argument("--dry-run", action="store_true", help="say what would run, run nothing")
            p.add_argument("--jobs", "-j", type=int, default=1,
                           help="notebooks run side by side (each in its own kernel; default 1)")
    args = parser.parse_args(argv)
    known = notebooks()
    unknown = [nb for nb in args.notebooks if nb not in known]
    if unknown:
        print(f"error: no notebook {', '.join(unknown)}; the notebooks are {', '.join(known)}", file=sys.stderr)
        return 1
    names = args.notebooks or None
    if args.command == "status":
        print(format_status(status(args.scale, args.backend, names), args.scale))
        return 0
    from pixelflow.workbook.notebooks import NotebookFailed
    from pixelflow.workbook.results import UncommittedChanges

    try:
        run_stale(args.scale, args.backend, names, args.dry_run, args.jobs)
    except (NotebookFailed, UncommittedChanges, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
