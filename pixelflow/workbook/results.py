"""The results record a notebook writes: metrics, tables and provenance.

>>> rec = ResultsRecord("01_mnist", scale="smoke", parameters={"seed": 0})   # doctest: +SKIP
>>> with rec.timer("transform"):                                              # doctest: +SKIP
...     F = reservoir.transform(X)
>>> rec.metrics["test_accuracy"] = 0.97                                       # doctest: +SKIP
>>> rec.add_table("mnist_main", caption="...", columns=[...], rows=[...])     # doctest: +SKIP
>>> rec.save()                                                                # doctest: +SKIP

Tables are stored as data (column formats plus raw cell values), so the
paper's LaTeX is generated from the record (:mod:`pixelflow.workbook.latex`) and never
typed by hand.
"""

from __future__ import annotations

import difflib
import json
import numbers
import os
import time
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pixelflow.workbook import dependencies, provenance, test_ledger
from pixelflow.workbook.outputs import check_notebook_name, check_scale, results_path, write_json


class UncommittedChanges(RuntimeError):
    """A paper-scale result would come from code that no commit holds."""


def _same_kind(default, value) -> bool:
    """Whether ``value`` may replace a knob whose preset is ``default`` (None stands for "all" or "off")."""
    if default is None or value is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, numbers.Real) and isinstance(value, numbers.Real):
        return isinstance(value, numbers.Integral) or not isinstance(default, numbers.Integral)
    if isinstance(default, (list, tuple)) and isinstance(value, (list, tuple)):
        return True
    return type(default) is type(value)


def _merged(knobs: dict, overrides: Mapping[str, Any], owner: str, where: str) -> dict:
    """``knobs`` with ``overrides`` applied, key by key; a dict-valued knob takes a dict of some of its keys."""
    for key, value in overrides.items():
        if key not in knobs:
            close = difflib.get_close_matches(str(key), list(knobs), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{owner} has no knob {key!r}{where}{hint}; its knobs: {', '.join(knobs)}")
        default = knobs[key]
        if isinstance(default, dict) and isinstance(value, Mapping):
            knobs[key] = _merged(dict(default), value, f"{owner} knob {key!r}", "")
            continue
        if not _same_kind(default, value):
            raise TypeError(f"{owner} knob {key!r} takes {type(default).__name__} values like {default!r}, "
                            f"got {value!r}")
        # JSON has no tuples: a list given for a tuple-valued knob becomes a tuple again.
        knobs[key] = tuple(value) if isinstance(default, tuple) and isinstance(value, list) else value
    return knobs


class ResultsRecord:
    """Collects what one notebook run produced and writes it atomically.

    Parameters
    ----------
    notebook : str
        Notebook name without extension, e.g. ``"01_mnist"``: a plain name
        (see :func:`pixelflow.workbook.outputs.check_notebook_name`), as it names the file written under
        ``results/<scale>/``.
    scale : {"smoke", "paper"}
    parameters : dict
        The papermill parameters of the run.

    Notes
    -----
    From its creation the record notes which files under ``results/`` the
    process reads and the hash of every package source file; :meth:`save`
    writes them with the notebook's hash as the ``build`` stamp
    (:mod:`pixelflow.workbook.dependencies`). At paper scale :meth:`save`
    refuses (:class:`UncommittedChanges`) when a file the run depends on has
    uncommitted changes or changed while it ran, unless ``ALLOW_DIRTY=1``,
    which writes the results marked as a draft.
    """

    def __init__(self, notebook: str, scale: str, parameters: dict[str, Any]):
        self.notebook = check_notebook_name(notebook)
        self.scale = check_scale(scale)
        self.parameters = dict(parameters)
        self.metrics: dict[str, Any] = {}
        self.tables: dict[str, dict] = {}
        self.data: list[dict] = []
        self.wall_time_s: dict[str, float] = {}
        self.presets: dict[str, Any] = {}
        self.overrides: dict[str, Any] = {}
        self._started = time.perf_counter()
        # Hashes as the run starts: a file edited while a notebook runs is recorded as it was
        # when the run imported it, so the results are stale for the edited file.
        self._sources_at_start = dependencies.package_sources()
        self._reads = dependencies.ReadLog().start()
        test_ledger.begin(self.notebook, self.scale)

    def add_data(self, dataset, role: str | None = None) -> None:
        """Record a dataset's provenance (split, sizes, file hashes); its test set is named in the test ledger."""
        meta = dict(getattr(dataset, "meta", dataset))
        if hasattr(dataset, "X_test") and hasattr(dataset, "y_test"):
            test_ledger.name_test_set(dataset.X_test, dataset.y_test, meta.get("split", "unspecified split"))
        if role:
            meta["role"] = role
        self.data.append(meta)

    def settings(self, presets: Mapping[str, Mapping[str, Any]], overrides: Mapping[str, Any] | None = None) -> dict:
        """The run's knobs: the preset of its scale with ``overrides`` (a papermill parameter) applied, recorded.

        Every knob a reader may turn (grid sizes, sample counts, rule settings, training budgets) lives in
        ``presets[scale]``, defined once; ``overrides`` changes any of them for one run without editing the
        notebook, e.g. ``--param overrides='{"n_train": 2000}'``. The record keeps the values used, under
        ``presets[scale]``, and what was overridden, under ``overrides``.

        Raises
        ------
        ValueError
            ``presets`` has no entry for the run's scale, or an override names no knob (the message lists them).
        TypeError
            ``overrides`` is not a mapping, or an override's type differs from the knob's (a number for a number,
            a list for a list).

        Examples
        --------
        >>> rec = ResultsRecord("90_example", "smoke", {"scale": "smoke"})
        >>> rec.settings({"smoke": {"grid": 16, "n_train": 500}, "paper": {"grid": 32, "n_train": None}},
        ...              {"n_train": 200})
        {'grid': 16, 'n_train': 200}
        >>> rec.settings({"smoke": {"grid": 16}}, {"gird": 8})
        Traceback (most recent call last):
        ...
        ValueError: 90_example has no knob 'gird' at the smoke scale (did you mean 'grid'?); its knobs: grid
        """
        if self.scale not in presets:
            raise ValueError(f"{self.notebook} has no preset for the {self.scale} scale; presets: "
                             f"{', '.join(presets) or 'none'}")
        overrides = {} if overrides is None else overrides
        if not isinstance(overrides, Mapping):
            raise TypeError(f"overrides must be a dict of knob: value, got {type(overrides).__name__}")
        chosen = _merged(dict(presets[self.scale]), overrides, self.notebook, f" at the {self.scale} scale")
        self.presets = {**{k: dict(v) for k, v in presets.items()}, self.scale: chosen}
        self.overrides = dict(overrides)
        return dict(chosen)

    @contextmanager
    def timer(self, name: str):
        """Accumulate the wall time of a block under ``name``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.wall_time_s[name] = self.wall_time_s.get(name, 0.0) + time.perf_counter() - t0

    def add_table(
        self, name: str, *, caption: str, columns: list[dict], rows: list[list], label: str | None = None
    ) -> None:
        """Add a table for the paper.

        Cells are raw values: numbers are formatted with their column's
        format, ``[mean, std]`` pairs become ``mean ± std``, ``None`` a dash.
        """
        width = len(columns)
        for i, row in enumerate(rows):
            if len(row) != width:
                raise ValueError(f"table {name!r}: row {i} has {len(row)} cells, expected {width}")
        self.tables[name] = {"caption": caption, "label": label or f"tab:{name}", "columns": columns, "rows": rows}

    def build_stamp(self) -> dict:
        """What this run depends on so far (see :func:`pixelflow.workbook.dependencies.stamp`)."""
        own = results_path(check_notebook_name(self.notebook), self.scale)
        build = dependencies.stamp(self.notebook, self._reads.inputs(exclude=[own]))
        build["sources"] = {path: self._sources_at_start.get(path, sha) for path, sha in build["sources"].items()}
        return build

    def uncommitted(self, build: dict) -> list[str]:
        """The files this run depends on that no commit holds as they ran (empty when clean)."""
        files = dependencies.uncommitted(dependencies.dependency_paths(build))
        if files is None:
            return ["(git cannot tell whether the code is committed)"]
        edited = dependencies.changed_files(build["sources"])
        return sorted(set(files) - set(edited)) + [f"{path} (edited while the notebook ran)" for path in edited]

    def as_dict(self, backend=None) -> dict:
        return {
            "notebook": self.notebook,
            "scale": self.scale,
            "parameters": self.parameters,
            "metrics": self.metrics,
            "tables": self.tables,
            "data": self.data,
            "presets": self.presets,
            "overrides": self.overrides,
            "wall_time_s": {**self.wall_time_s, "total": time.perf_counter() - self._started},
            "provenance": provenance.collect(backend),
        }

    def save(self, backend=None) -> Path:
        """Write ``results/<scale>/<notebook>.json`` atomically and return its path.

        Raises
        ------
        UncommittedChanges
            At paper scale, when a file the run depends on differs from the
            commit and ``ALLOW_DIRTY=1`` is not set; nothing is written.
        """
        # Checked again here, where it becomes a path: the attribute may have been reassigned.
        path = results_path(check_notebook_name(self.notebook), self.scale)
        build = self.build_stamp()
        draft = None
        if self.scale == "paper":
            files = self.uncommitted(build)
            if files and os.environ.get(dependencies.ALLOW_DIRTY_ENV_VAR) != "1":
                raise UncommittedChanges(
                    f"not writing {path}: paper-scale results come only from committed code, and "
                    f"{len(files)} file(s) it depends on differ from the commit: {', '.join(files[:6])}"
                    f"{' ...' if len(files) > 6 else ''}. Commit them and rerun, or set "
                    f"{dependencies.ALLOW_DIRTY_ENV_VAR}=1 to write the results marked as a draft")
            if files:
                draft = {"uncommitted": files}
        record = self.as_dict(backend)
        record["build"] = build
        if draft:
            record["draft"] = draft
        return write_json(path, record)


def load_results(notebook: str, scale: str) -> dict | None:
    """The results file another notebook wrote at ``scale``, or None when it has not run.

    For a notebook that compares itself with an earlier one (09 and 11 with
    01): read, never recomputed.
    """
    path = results_path(notebook, scale)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def search_rows(record: dict, name: str) -> list[dict]:
    """The rows named ``name`` in every search table a results record holds (``metrics["search"]``)."""
    searches = record.get("metrics", {}).get("search", {})
    return [r for rows in searches.values() for r in rows if isinstance(r, dict) and r.get("name") == name]


def final_accuracy(record: dict, config: dict, split: str) -> float | None:
    """The test accuracy a record measured for ``config`` (its ``to_dict()``) on ``split``, or None."""
    if not any(d.get("split") == split for d in record.get("data", [])):
        return None
    for result in record.get("metrics", {}).get("final", {}).values():
        for cfg, acc in zip(result.get("configs", []), result.get("test_accuracy", [])):
            if cfg == config:
                return acc
    return None
