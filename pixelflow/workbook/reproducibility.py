"""The reproducibility section's table: each notebook's wall time, and which notebooks ran beside it.

The times are the ``wall_time_s.total`` the results files record; who ran beside
whom, and in which build, comes from the scale's build log
(:func:`pixelflow.workbook.build.log_build`).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping


def runs_of_records(records: Mapping[str, Mapping], builds: list[dict]) -> dict[str, dict]:
    """The logged run (see :func:`pixelflow.workbook.build.log_build`) that wrote each record, where known.

    A run wrote a record when the build's commit is the record's and the record
    is dated within the run; a record written outside a build has none.
    """
    found = {}
    for build in builds:
        for name, run in build["runs"].items():
            record = records.get(name)
            prov = (record or {}).get("provenance") or {}
            commit = (prov.get("git") or {}).get("commit")
            if record is None or commit is None or commit != (build.get("git") or {}).get("commit"):
                continue
            start = _dt.datetime.fromisoformat(run["started"])
            end = start + _dt.timedelta(seconds=float(run["end_s"]) - float(run["start_s"]) + 1)
            if start <= _dt.datetime.fromisoformat(prov["date"]) <= end:
                found[name] = dict(run, build=build)
    return found


def wall_time_table(records: Mapping[str, Mapping], builds: list[dict] = ()) -> dict:
    """A results-style table (see :func:`pixelflow.workbook.latex.check_table`) of minutes per notebook.

    Rows are the notebooks in ``records``, in name order, with a last row of
    totals; a time that was not recorded is a dash (and the total counts only
    the recorded ones). The last column names the notebooks that ran at the
    same time (``builds``, the build log), since a notebook's time then
    includes their load; the caption says in how many builds the results were
    made.

    >>> t = wall_time_table({"01_mnist": {"wall_time_s": {"total": 600.0}}})
    >>> t["rows"]
    [['01_mnist', 10.0, None], ['total', 10.0, None]]
    """
    runs = runs_of_records(records, list(builds))
    rows = []
    for name in sorted(records):
        now = (records[name].get("wall_time_s") or {}).get("total")
        beside = runs[name].get("beside") if name in runs else None
        rows.append([name, None if now is None else now / 60,
                     None if beside is None else (", ".join(b[:2] for b in beside) or "none")])
    timed = [r[1] for r in rows if r[1] is not None]
    rows.append(["total", sum(timed) if timed else None, None])
    caption = ("Wall time of each notebook at this scale (minutes), as its results file records it, and the "
               "notebooks (by number) that ran on the machine at the same time, whose load a time includes; a "
               "dash where no build log covers the run.")
    whole = {id(r["build"]): r["build"] for r in runs.values()}
    if whole and set(runs) == set(records):
        made = sorted(whole.values(), key=lambda b: b.get("started", ""))
        wall = sum(float(b["wall_s"]) for b in made) / 60
        jobs, cores = max(int(b["jobs"]) for b in made), made[-1].get("cpu_count", "?")
        if len(made) == 1:
            caption += f" All of them ran in one build of {wall:.1f} minutes wall,"
        else:
            dates = sorted({b["started"][:10] for b in made if b.get("started")})
            span = f" from {dates[0]} to {dates[-1]}" if len(dates) > 1 else (f" on {dates[0]}" if dates else "")
            caption += f" They ran in {len(made)} builds{span}, {wall:.1f} minutes of wall time in all,"
        caption += (" one at a time" if jobs == 1 else f" at most {jobs} side by side") + f" on {cores} cores."
    return {
        "caption": caption,
        "label": "tab:wall_times",
        "columns": [{"name": "notebook", "align": "l"}, {"name": "wall time (min)", "format": ".1f", "align": "r"},
                    {"name": "ran beside", "align": "l"}],
        "rows": rows,
    }
