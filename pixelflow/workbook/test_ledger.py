"""Every look at a test set, written down by the protocol that took it.

A test accuracy is worth what the choices made before it were worth: a
number reported after twenty evaluations of the same test set, with the
design changed in between, is not the number of a design fixed in advance.
So :func:`pixelflow.workbook.protocols.evaluate` appends one line per call to
a ledger — a notebook cannot forget to — and the paper reports, for each
headline number, how many evaluations of the same test set came before it
(:func:`looks_before`).

One JSON object per line:

``time``
    UTC, ISO 8601, seconds.
``notebook``, ``scale``, ``run``
    Of the :class:`~pixelflow.workbook.results.ResultsRecord` open in the
    process (``None`` outside a notebook run: a preset rerun, a check);
    ``run`` identifies the notebook run.
``test_set``
    :func:`data_digest` of the test images and labels as evaluated;
    ``test_split`` the split's description when the record was given the
    dataset (:meth:`~pixelflow.workbook.results.ResultsRecord.add_data`).
``method``, ``config``
    The candidate's label and a hash of its feature map, readout and
    augmentation (:func:`config_hash`).
``seeds``, ``scores``, ``n_test``, ``commit``, ``dirty``
    What was run and what came out.

Where: paper-scale runs append to ``results/test_ledger.jsonl``, which is
committed with the results; smoke runs to ``results/smoke/test_ledger.jsonl``;
evaluations outside a notebook run to the paper ledger (they look at the same
test sets). ``$PIXELFLOW_TEST_LEDGER`` names another file (the test suite uses
a temporary one). Each entry is one ``write`` to a file opened for appending,
so notebooks running side by side do not interleave lines.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pixelflow.workbook.outputs import check_scale, output_root

__all__ = ["LEDGER_ENV_VAR", "append", "begin", "config_hash", "data_digest", "entries", "headline_looks",
           "ledger_path", "ledger_table", "looks_before", "name_test_set", "reconstruct", "same_test_set"]

LEDGER_ENV_VAR = "PIXELFLOW_TEST_LEDGER"
FILE_NAME = "test_ledger.jsonl"

# The notebook run open in this process (each notebook runs in a kernel of its own).
_run: dict[str, Any] = {"notebook": None, "scale": None, "names": {}, "run": None}


def begin(notebook: str, scale: str) -> None:
    """Attribute the evaluations that follow to ``notebook`` at ``scale`` (called by ``ResultsRecord``)."""
    _run.update(notebook=str(notebook), scale=check_scale(scale), names={}, run=uuid.uuid4().hex[:12])


def name_test_set(X_test, y_test, split: str) -> None:
    """Give the test set ``(X_test, y_test)`` a readable name (its split) in this run's entries."""
    _run["names"][data_digest(X_test, y_test)] = str(split)


def data_digest(X, y) -> str:
    """sha256 of the images and labels as arrays: dtype, shape and bytes of each (hex, 16 digits).

    >>> import numpy as np
    >>> a = data_digest(np.zeros((2, 3)), np.array([0, 1]))
    >>> a == data_digest(np.zeros((2, 3)), np.array([0, 1])), a == data_digest(np.zeros((2, 3)), np.array([1, 0]))
    (True, False)
    """
    h = hashlib.sha256()
    for part in (X, y):
        a = np.ascontiguousarray(np.asarray(part))
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def config_hash(config: Mapping | None, readout_params: Mapping, augment: str | None) -> str:
    """sha256 (16 hex digits) of a feature map's ``to_dict()``, the readout's parameters and the augmentation."""
    text = json.dumps({"config": config, "readout": dict(readout_params), "augment": augment},
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ledger_path(scale: str | None = None) -> Path:
    """The ledger file for ``scale`` (default: the open run's scale): see the module notes."""
    env = os.environ.get(LEDGER_ENV_VAR)
    if env:
        return Path(env).expanduser()
    scale = _run["scale"] if scale is None else check_scale(scale)
    folder = output_root() / "results"
    return folder / "smoke" / FILE_NAME if scale == "smoke" else folder / FILE_NAME


def append(*, method: str, config: str, X_test, y_test, seeds: Iterable[int], scores: Iterable[float],
           git: Mapping | None = None) -> dict:
    """Write one entry for an evaluation of ``(X_test, y_test)``; returns it.

    ``git`` (``{"commit", "dirty"}``) defaults to
    :func:`pixelflow.workbook.provenance.git_state`.
    """
    if git is None:
        from pixelflow.workbook.provenance import git_state  # git is asked only when an entry is written

        git = git_state()
    digest = data_digest(X_test, y_test)
    entry = {
        "time": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "notebook": _run["notebook"],
        "scale": _run["scale"],
        "run": _run.get("run"),
        "test_set": digest,
        "test_split": _run["names"].get(digest),
        "n_test": int(len(y_test)),
        "method": str(method),
        "config": str(config),
        "seeds": [int(s) for s in seeds],
        "scores": [float(s) for s in scores],
        "commit": git.get("commit"),
        "dirty": git.get("dirty"),
    }
    line = (json.dumps(entry, sort_keys=True) + "\n").encode()
    path = ledger_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
    return entry


def entries(path=None) -> list[dict]:
    """The entries of a ledger file, in the order written (none when the file does not exist).

    Raises
    ------
    ValueError
        When a line is not a JSON object; the message names the file and line.
    """
    path = ledger_path() if path is None else Path(path)
    if not path.is_file():
        return []
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"{path}, line {number}: not JSON ({exc})") from None
        if not isinstance(entry, dict):
            raise ValueError(f"{path}, line {number}: expected a JSON object, got {type(entry).__name__}")
        out.append(entry)
    return out


def same_test_set(a: Mapping, b: Mapping) -> bool:
    """Whether two entries evaluated the same test set: by digest, or by split name where a digest is missing.

    Entries reconstructed from the git history (:func:`reconstruct`) know the split, not the digest.
    """
    if a.get("test_set") and b.get("test_set"):
        return a["test_set"] == b["test_set"]
    return a.get("test_split") is not None and a.get("test_split") == b.get("test_split")


def looks_before(ledger: list[dict], index: int) -> int:
    """How many entries before ``ledger[index]`` evaluated the same test set (:func:`same_test_set`).

    >>> led = [{"test_set": "a"}, {"test_set": "b"}, {"test_set": "a"}, {"test_set": "a"}]
    >>> looks_before(led, 3), looks_before(led, 1)
    (2, 0)
    """
    if not 0 <= index < len(ledger):
        raise IndexError(f"index {index} is outside the ledger's {len(ledger)} entries")
    return sum(1 for e in ledger[:index] if same_test_set(e, ledger[index]))


def _test_scores(metrics, path=()):
    """``(path, scores)`` of every ``test_accuracy`` in a results file's metrics, depth first."""
    if isinstance(metrics, Mapping):
        for key, value in metrics.items():
            if key == "test_accuracy":
                yield "/".join(path), value if isinstance(value, list) else [value]
            else:
                yield from _test_scores(value, (*path, str(key)))
    elif isinstance(metrics, list):
        for i, value in enumerate(metrics):
            yield from _test_scores(value, (*path, str(i)))


def reconstruct(notebooks: Iterable[str], root=None, scale: str = "paper") -> list[dict]:
    """Ledger entries for the test evaluations of committed results files, from the git history.

    Before the ledger existed, test evaluations were recorded only in the
    results files; each committed version of ``results/<scale>/<nb>.json``
    yields one entry per ``test_accuracy`` in its metrics (method = the key
    path), dated by the commit and marked ``"reconstructed": true``; the
    entry of the method that run selected is marked ``"headline": true``. Runs that
    were never committed, and evaluations a results file did not keep, are
    not in git, so a count over these entries is a lower bound.
    """
    from pixelflow.workbook.outputs import repository_root
    from pixelflow.workbook.provenance import git_output

    root = Path(root or repository_root())
    scale = check_scale(scale)
    out = []
    for nb in notebooks:
        path = f"results/{scale}/{nb}.json"
        log = git_output("log", "--format=%H %cI", "--", path, cwd=root)
        if log is None:
            raise RuntimeError(f"git log of {path} failed in {root}: the history is read from a git checkout")
        for line in reversed(log.splitlines()):
            commit, date = line.split()
            text = git_output("show", f"{commit}:{path}", cwd=root)
            try:
                record = json.loads(text) if text is not None else None
            except ValueError:
                record = None
            if not isinstance(record, dict):
                continue  # deleted or unreadable in that commit
            data = record.get("data") or [{}]
            run_git = record.get("provenance", {}).get("git", {})
            selected = (record.get("metrics") or {}).get("selected")
            headline = f"final/{selected.get('method')}" if isinstance(selected, Mapping) else None
            for method, scores in _test_scores(record.get("metrics", {})):
                out.append({
                    "time": date, "notebook": nb, "scale": scale, "test_set": None,
                    "test_split": data[0].get("split"), "n_test": data[0].get("n_test"), "method": method,
                    "config": None, "seeds": [], "scores": [float(s) for s in scores if s is not None],
                    "commit": run_git.get("commit"), "dirty": run_git.get("dirty"),
                    "reconstructed": True, "results_commit": commit, "headline": method == headline,
                })
    out.sort(key=lambda e: e["time"])
    return out


def headline_looks(ledger: list[dict], notebook: str, method: str | Sequence[str]) -> dict | None:
    """The looks at the test set before a notebook's headline number: its last ledger entry for ``method``.

    ``method`` may name several spellings (a candidate's label as logged, the
    key path of an entry reconstructed from a results file).

    Returns None when the ledger holds no such entry; else ``looks_before``
    (all earlier evaluations of the same test set), ``reconstructed`` (how
    many of them come from the git history, a lower bound), ``runs_before``
    (earlier runs of that notebook among them: committed results files, logged runs) and ``entry``.
    """
    methods = {method} if isinstance(method, str) else set(method)
    index = next((i for i in range(len(ledger) - 1, -1, -1)
                  if ledger[i].get("notebook") == notebook and ledger[i].get("method") in methods), None)
    if index is None:
        return None
    before = [e for e in ledger[:index] if same_test_set(e, ledger[index])]
    runs = {e.get("results_commit") or e.get("run") for e in before if e.get("notebook") == notebook} - {None}
    return {"looks_before": len(before), "reconstructed": sum(1 for e in before if e.get("reconstructed")),
            "runs_before": len(runs), "entry": ledger[index]}


def ledger_table(ledger: list[dict], records: Mapping[str, Mapping]) -> dict[str, Any]:
    """For each results record with a selected method, how many test evaluations of its test set preceded it.

    ``records``: results records by notebook (their ``metrics.selected.label``
    names the headline method). Rows whose headline is not in the ledger say so.
    """
    from pixelflow.workbook.tables import column

    rows = []
    for notebook, record in sorted(records.items()):
        selected = (record.get("metrics") or {}).get("selected")
        if not isinstance(selected, Mapping) or "label" not in selected:
            continue
        looks = headline_looks(ledger, notebook, (selected["label"], f"final/{selected.get('method')}"))
        split = (record.get("data") or [{}])[0].get("split")
        first = next((e for e in ledger if e.get("notebook") == notebook and e.get("headline") and e.get("scores")),
                     None)
        first_pct = None if first is None else 100.0 * sum(first["scores"]) / len(first["scores"])
        if looks is None:
            rows.append([notebook, split, selected["label"], None, None, None, first_pct])
            continue
        rows.append([notebook, split, selected["label"], looks["looks_before"], looks["reconstructed"],
                     looks["runs_before"], first_pct])
    columns = [column("Notebook"), column("Test set"), column("Headline method"),
               column("Test evaluations before it", "d"), column("of which from committed results", "d"),
               column("Earlier runs of the notebook", "d"), column("First run's headline (%)", ".2f")]
    caption = ("Test-set looks before each headline number: every evaluation of the same test set that the ledger "
               "(results/test_ledger.jsonl) records before it, by any notebook, including the other methods of the "
               "same run; those from before the ledger existed are reconstructed from the committed results files, "
               "so they are a lower bound (exploratory runs that were never committed are not counted). The last "
               "column is the test accuracy the notebook's first committed paper-scale run reported for the "
               "configuration it then selected.")
    return {"caption": caption, "label": "tab:test_ledger", "columns": columns, "rows": rows}
