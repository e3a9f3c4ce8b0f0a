"""What a notebook's results depend on, recorded as hashes, and whether they still hold.

A results file carries a ``build`` stamp: the hash of the notebook's code
cells, the hash of every ``pixelflow`` source file the run had imported when it
saved (read from ``sys.modules``, so imports made at run time — a backend
chosen by name, a function-level import — count, and modules never loaded do
not), and the hash of every file it read under ``results/`` (another
notebook's results, trained models, benchmark files) or among the package's
data files (the peers' published numbers). The data files are
already recorded with their hashes by the data sets (``data[*].files``).

:func:`stale_reasons` compares a stamp with the files as they are now. The
set of modules a run loads is itself decided by the notebook, its parameters
and the code of the modules it loaded, so a rerun is needed exactly when one
of those hashes changes; the recorded set is never a guess made before the run.

Why a stamp of our own rather than a build tool's database: the one thing a
fresh clone of the repository has is the committed results files, so the
hashes must live in them. Tools that keep their checksums in a database of
their own (a ``.snakemake/`` or ``.doit.db`` folder) have none in a fresh
clone and would rerun every notebook (four hours at paper scale).

A paper-scale results file is written only when none of the files it depends
on has uncommitted changes (:func:`uncommitted`); ``ALLOW_DIRTY=1`` writes it
anyway, marked as a draft.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from pixelflow.workbook.outputs import OUTPUT_DIRS, output_root, repository_root

#: Environment variable that lets a paper-scale result be written from uncommitted code, marked as a draft.
ALLOW_DIRTY_ENV_VAR = "ALLOW_DIRTY"

#: Version of the stamp's layout; a stamp of another version is stale.
STAMP_VERSION = 1


def _compiled_cache(path) -> bool:
    """Whether ``path`` lies in a ``__pycache__`` folder, where Python and numba keep compiled code.

    Such files change whenever another process compiles and a fresh clone has
    none: they are never a run's inputs.
    """
    return "__pycache__" in Path(path).parts


_PACKAGE = "pixelflow"

#: ``os.open`` flags that open a file for writing.
_WRITING_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def file_sha256(path) -> str:
    """sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def notebook_sha256(path) -> str:
    """sha256 of a notebook's code: the code cells' sources in order, nothing else.

    Stored outputs, execution counts, metadata and the narrative do not change
    a number, so re-storing a notebook's outputs or editing its text does not
    make its results stale.
    """
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    return hashlib.sha256(json.dumps(code).encode()).hexdigest()


def notebook_path(notebook: str) -> Path:
    """``notebooks/<notebook>.ipynb`` in the checkout."""
    return repository_root() / "notebooks" / f"{notebook}.ipynb"


def loaded_sources(modules: Mapping | None = None) -> dict[str, str]:
    """``{path relative to the repository: sha256}`` of every loaded ``pixelflow`` module's source file.

    Parameters
    ----------
    modules : mapping, optional
        ``sys.modules`` or a stand-in.
    """
    root = repository_root()
    package = root / _PACKAGE
    out = {}
    for name, module in list((sys.modules if modules is None else modules).items()):
        if name != _PACKAGE and not name.startswith(_PACKAGE + "."):
            continue
        source = getattr(module, "__file__", None)
        if not source:
            continue
        path = Path(source).resolve()
        if path.suffix != ".py" or package not in path.parents:
            continue
        out[path.relative_to(root).as_posix()] = file_sha256(path)
    return dict(sorted(out.items()))


def package_sources() -> dict[str, str]:
    """``{path: sha256}`` of every ``.py`` file of the package in the checkout (loaded or not)."""
    root = repository_root()
    return {p.relative_to(root).as_posix(): file_sha256(p)
            for p in sorted((root / _PACKAGE).rglob("*.py")) if "__pycache__" not in p.parts}


class ReadLog:
    """The files this process opens for reading while the log is on.

    Python reports every ``open`` to audit hooks (:func:`sys.addaudithook`),
    whoever calls it (``json.load``, ``torch.load``, ``numpy.load``), so a
    notebook does not have to declare what it reads. A hook cannot be removed
    once added, so one hook serves every log and does nothing while no log is on.
    """

    _active: list[ReadLog] = []
    _installed = False

    def __init__(self):
        self.paths: set[Path] = set()

    @classmethod
    def _hook(cls, event, args):
        if event != "open" or not cls._active:
            return
        path, mode, flags = args[0], args[1], args[2]
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # a file descriptor
        if isinstance(mode, str) and any(m in mode for m in "wax+"):
            return
        # ``os.open`` reports no mode, only its flags: a file opened to write or append (the test-set
        # ledger) is what the run writes, not what it read.
        if mode is None and isinstance(flags, int) and flags & _WRITING_FLAGS:
            return
        for log in cls._active:
            log.paths.add(Path(os.fsdecode(path)))

    def start(self) -> ReadLog:
        if not ReadLog._installed:
            sys.addaudithook(ReadLog._hook)
            ReadLog._installed = True
        ReadLog._active.append(self)
        return self

    def stop(self) -> None:
        if self in ReadLog._active:
            ReadLog._active.remove(self)

    def inputs(self, exclude: Iterable[Path] = ()) -> dict[str, str]:
        """``{path relative to its root: sha256}`` of the files read that a result can depend on.

        Those are the files under ``results/`` (relative to the output root,
        or for the committed benchmark files the repository root) and the data
        files shipped inside the package (such as the peers' published
        numbers; its ``.py`` files are :func:`loaded_sources`, and the
        compiled caches under ``__pycache__`` are no inputs). Executed
        notebook copies and the files in ``exclude`` (the run's own results
        file) are left out.
        """
        excluded = {Path(p).resolve() for p in exclude}
        roots = [output_root(), repository_root()]
        package = repository_root() / _PACKAGE
        out = {}
        for path in self.paths:
            try:
                path = path.resolve()
            except OSError:
                continue
            if path in excluded or not path.is_file() or "executed" in path.parts:
                continue
            if package in path.parents:
                if path.suffix not in (".py", ".pyc") and not _compiled_cache(path):
                    out[path.relative_to(repository_root()).as_posix()] = file_sha256(path)
                continue
            for root in roots:
                if (root / "results") in path.parents:
                    out[path.relative_to(root).as_posix()] = file_sha256(path)
                    break
        return dict(sorted(out.items()))


def stamp(notebook: str, inputs: Mapping[str, str]) -> dict:
    """The ``build`` stamp of a run of ``notebook`` that read ``inputs`` (see :class:`ReadLog`)."""
    path = notebook_path(notebook)
    return {
        "version": STAMP_VERSION,
        "notebook": {f"notebooks/{path.name}": notebook_sha256(path) if path.exists() else None},
        "sources": loaded_sources(),
        "inputs": dict(sorted(inputs.items())),
    }


def recorded_stamp(results) -> dict:
    """The ``build`` stamp of the results file ``results``, or an empty dict when it has none or cannot be read."""
    try:
        record = json.loads(Path(results).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    build = record.get("build") if isinstance(record, dict) else None
    return build if isinstance(build, dict) else {}


def changed_files(hashes: Mapping[str, str]) -> list[str]:
    """The paths (relative to the repository) whose file is gone or no longer has the recorded sha256."""
    root = repository_root()
    return [path for path, sha in hashes.items()
            if not (root / path).is_file() or file_sha256(root / path) != sha]


def is_output(path: str) -> bool:
    """Whether ``path`` (relative to the repository root) lies in a folder the workbook writes.

    A build changes files there as it runs; what a notebook read from another
    one's outputs is vouched for by that notebook's own stamp (its hash is in
    the reader's), not by a commit.
    """
    parts = Path(path).parts
    return bool(parts) and parts[0] in OUTPUT_DIRS


def dependency_paths(build: Mapping) -> list[str]:
    """The files of a stamp that a commit must hold: its code and package data, not other notebooks' outputs.

    >>> dependency_paths({"notebook": {"notebooks/09.ipynb": "0"}, "sources": {"pixelflow/a.py": "1"},
    ...                   "inputs": {"results/paper/01_mnist.json": "2", "pixelflow/workbook/peers.json": "3"}})
    ['notebooks/09.ipynb', 'pixelflow/a.py', 'pixelflow/workbook/peers.json']
    """
    return [*build.get("notebook", {}), *build.get("sources", {}),
            *(path for path in build.get("inputs", {}) if not is_output(path))]


def uncommitted(paths: Iterable[str], root: Path | None = None) -> list[str] | None:
    """Which of ``paths`` differ from the commit checked out (changed, staged, untracked or deleted).

    Returns None when git cannot tell (no git, or not a checkout).
    """
    root = Path(root or repository_root())
    paths = sorted(set(paths))
    if not paths:
        return []
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "--", *paths],
                             cwd=root, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return sorted(line[3:].strip() for line in out.stdout.splitlines() if line.strip())


def _resolve_input(name: str) -> Path:
    for root in (output_root(), repository_root()):
        if (root / name).exists():
            return root / name
    return output_root() / name


def _data_file(meta: Mapping, name: str) -> Path | None:
    """Where a recorded data file is now: its recorded folder, or the same folder under ``$PIXELFLOW_DATA``."""
    folder = meta.get("source_dir")
    if not folder:
        return None
    candidates = [Path(folder) / name]
    data_root = os.environ.get("PIXELFLOW_DATA")
    if data_root:
        parts = Path(folder).parts
        candidates += [Path(data_root, *parts[i:]) / name for i in range(len(parts) - 1, 0, -1)]
    return next((c for c in candidates if c.is_file()), None)


def _changed(recorded: Mapping[str, str | None], current) -> list[str]:
    changed = []
    for name, sha in recorded.items():
        now = current(name)
        if now != sha:
            changed.append(f"{name} {'is gone' if now is None else 'changed'}")
    return changed


def stale_reasons(record: Mapping, parameters: Mapping[str, object] | None = None,
                  hashes: dict | None = None) -> list[str]:
    """Why a results record no longer matches the checkout; an empty list when it is current.

    Parameters
    ----------
    record : mapping
        A results file's JSON object.
    parameters : mapping, optional
        The parameters a run would get now (``scale``, ``backend`` and the
        notebook's defaults); a recorded value that differs is a reason.
    hashes : dict, optional
        A cache ``{path: sha256}`` shared between calls, so a file is hashed once.

    Returns
    -------
    list of str
        One line per reason, e.g. ``"pixelflow/nca/texture.py changed"``.
    """
    hashes = {} if hashes is None else hashes

    def current(name: str, resolve=lambda n: repository_root() / n) -> str | None:
        path = resolve(name)
        key = str(path)
        if key not in hashes:
            if not path.is_file():
                hashes[key] = None
            elif path.suffix == ".ipynb":
                hashes[key] = notebook_sha256(path)
            else:
                hashes[key] = file_sha256(path)
        return hashes[key]

    build = record.get("build")
    if not isinstance(build, Mapping):
        return ["no build stamp recorded (written before results recorded what they depend on)"]
    if build.get("version") != STAMP_VERSION:
        return [f"build stamp version {build.get('version')!r}, this code writes {STAMP_VERSION}"]
    reasons = []
    recorded_params = record.get("parameters", {})
    for key, value in (parameters or {}).items():
        if key in recorded_params and recorded_params[key] != value:
            reasons.append(f"parameter {key} was {recorded_params[key]!r}, now {value!r}")
    reasons += _changed(build.get("notebook", {}), current)
    reasons += _changed(build.get("sources", {}), current)
    # Stamps written before compiled caches were left out may list them: they were never inputs.
    inputs = {name: sha for name, sha in build.get("inputs", {}).items() if not _compiled_cache(name)}
    reasons += _changed(inputs, lambda n: current(n, _resolve_input))
    for meta in record.get("data", []):
        for name, sha in (meta.get("files") or {}).items():
            path = _data_file(meta, name)
            if path is None:
                continue  # the data is not on this machine: nothing to compare with, and nothing to rerun with
            if current(str(path), Path) != sha:
                reasons.append(f"data file {meta.get('name', '')} {name} changed")
    return reasons


def draft_reason(record: Mapping) -> str | None:
    """Why a results record is a draft (written from uncommitted changes), or None for a clean one."""
    draft = record.get("draft")
    if not draft:
        return None
    files = list(draft.get("uncommitted", [])) if isinstance(draft, Mapping) else []
    shown = ", ".join(files[:4]) + (f" and {len(files) - 4} more" if len(files) > 4 else "")
    return f"draft: written with {ALLOW_DIRTY_ENV_VAR}=1 from uncommitted changes ({shown or 'unknown files'})"
