"""The reproducibility section's table: each notebook's wall time now, beside the time it took before.

The current times are the ``wall_time_s.total`` the results files record; the
earlier ones are kept in ``results/wall_times_before.json`` (the results
committed before rebuilds became content-addressed and the full run was made
faster), since rerunning a notebook overwrites its own record.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping
from pathlib import Path

from pixelflow.workbook.outputs import repository_root

#: The wall times recorded before, committed beside the results.
BEFORE_FILE = Path("results") / "wall_times_before.json"

#: Where the minutes of the paper-scale run went (written by ``benchmarks/profile_paper.py``).
PROFILE_FILE = Path("results") / "profile_paper.json"


def load_before(path=None) -> dict[str, float]:
    """``{notebook: seconds}`` from the earlier wall-time file; empty when there is none.

    Raises
    ------
    ValueError
        The file is not JSON with a ``notebooks`` object of ``{"total_s": number}`` entries; the message
        names the file.
    """
    path = Path(path or repository_root() / BEFORE_FILE)
    if not path.exists():
        return {}
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))["notebooks"]
        return {name: float(entry["total_s"]) for name, entry in entries.items()}
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: expected {{\"notebooks\": {{name: {{\"total_s\": seconds}}}}}} "
                         f"({type(exc).__name__}: {exc})") from None


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


def wall_time_table(records: Mapping[str, Mapping], before: Mapping[str, float], builds: list[dict] = ()) -> dict:
    """A results-style table (see :func:`pixelflow.workbook.latex.check_table`) of minutes per notebook.

    Rows are the notebooks in ``records`` or ``before``, in name order, with a
    last row of totals; a time that was not recorded is a dash (and the total
    then counts only the notebooks with both). The last column names the
    notebooks that ran at the same time (``builds``, the build log), since a
    notebook's time then includes their load.

    >>> t = wall_time_table({"01_mnist": {"wall_time_s": {"total": 600.0}}}, {"01_mnist": 1800.0})
    >>> t["rows"]
    [['01_mnist', 30.0, 10.0, 3.0, None], ['total', 30.0, 10.0, 3.0, None]]
    """
    runs = runs_of_records(records, list(builds))
    rows = []
    names = sorted(set(records) | set(before))
    for name in names:
        now = (records.get(name, {}).get("wall_time_s") or {}).get("total")
        then = before.get(name)
        beside = runs[name].get("beside") if name in runs else None
        rows.append([name, None if then is None else then / 60, None if now is None else now / 60,
                     then / now if then and now else None,
                     None if beside is None else (", ".join(b[:2] for b in beside) or "none")])
    both = [r for r in rows if r[1] is not None and r[2] is not None]
    then_total, now_total = sum(r[1] for r in both), sum(r[2] for r in both)
    rows.append(["total", then_total or None, now_total or None, then_total / now_total if now_total else None,
                 None])
    caption = ("Wall time of each notebook at this scale (minutes): before, as recorded by the results "
               "committed before rebuilds became content-addressed (runs made piecewise at several commits), "
               "and now, as this build's results record it; speed-up = before / now. Same data, splits, "
               "seeds, search grids and training budgets. Beside: the notebooks (by number) that ran on the "
               "machine at the same time, whose load a time includes; a dash where no build log covers the run.")
    whole = {id(r["build"]): r["build"] for r in runs.values()}
    if len(whole) == 1 and set(runs) == set(records):
        only = next(iter(whole.values()))
        caption += (f" All of them ran in one build of {float(only['wall_s']) / 60:.1f} minutes wall, "
                    f"at most {int(only['jobs'])} side by side on {only.get('cpu_count', '?')} cores.")
    return {
        "caption": caption,
        "label": "tab:wall_times",
        "columns": [{"name": "notebook", "align": "l"}, {"name": "before (min)", "format": ".1f", "align": "r"},
                    {"name": "now (min)", "format": ".1f", "align": "r"},
                    {"name": "speed-up", "format": ".2f", "align": "r"},
                    {"name": "beside", "align": "l"}],
        "rows": rows,
    }


def load_profile(path=None) -> dict | None:
    """The profile of the paper-scale run, or None when there is none.

    Raises
    ------
    ValueError
        The file is not JSON with a ``totals`` object of ``{"seconds", "share"}`` entries; the message
        names the file.
    """
    path = Path(path or repository_root() / PROFILE_FILE)
    if not path.exists():
        return None
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
        for entry in profile["totals"].values():
            float(entry["seconds"]), float(entry["share"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: expected {{\"totals\": {{category: {{\"seconds\", \"share\"}}}}}} "
                         f"({type(exc).__name__}: {exc})") from None
    return profile


def profile_table(profile: Mapping) -> dict:
    """A results-style table of where the run's minutes went, by category, largest first.

    >>> t = profile_table({"totals": {"ridge": {"seconds": 600, "share": 0.75}, "nca": {"seconds": 200, "share": 0.25}},
    ...                    "recorded_total_min": 13.3})
    >>> t["rows"]
    [['ridge', 10.0, 75.0], ['nca', 3.3333333333333335, 25.0]]
    """
    totals = sorted(profile["totals"].items(), key=lambda kv: -float(kv[1]["seconds"]))
    return {
        "caption": (f"Where the {profile.get('recorded_total_min', float('nan')):.0f} minutes of the paper-scale "
                    "run recorded before went, by category: each heavy phase's own code run on a slice under "
                    "cProfile, its shares applied to the phase's recorded seconds (benchmarks/profile_paper.py, "
                    "results/profile_paper.json). Features: reservoir transforms; ridge: sufficient statistics, "
                    "solves and predictions; nca: neural-CA training and rollouts in PyTorch."),
        "label": "tab:profile",
        "columns": [{"name": "category", "align": "l"}, {"name": "minutes", "format": ".1f", "align": "r"},
                    {"name": "share (%)", "format": ".1f", "align": "r"}],
        "rows": [[name, float(v["seconds"]) / 60, 100 * float(v["share"])] for name, v in totals],
    }
