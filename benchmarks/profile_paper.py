"""Where the paper-scale minutes go: a measured profile of the twelve notebooks.

Run from the repository root::

    .venv/bin/python benchmarks/profile_paper.py            # 10-25 min on 2 shared cores
    .venv/bin/python benchmarks/profile_paper.py --only 01_mnist/search 06_texture_nca

It reads the committed paper-scale results (``results/paper/NN_*.json``,
``wall_time_s`` of each timed phase, and the papermill cell durations of
``results/paper/executed/NN_*.ipynb`` for the time outside the timed phases),
runs a representative slice of each heavy phase's own code path under
:mod:`cProfile`, splits the slice's time into categories, extrapolates each
phase's recorded seconds by the measured shares, counts repeated work and
writes ``results/profile_paper.json`` (atomically) and a table.

Attribution rule
----------------
Every function's own time (cProfile ``tottime``) belongs to the innermost
function on its call stack that has a category: a function of the package is
classified by its module (and, in ``readouts.py``/``linalg/ridge.py``, by its
class and name), torch's autograd and optimisers, scikit-learn's logistic
regression, reservoirpy, dask and matplotlib by theirs. Time of an
unclassified function (numpy, BLAS wrappers, torch modules, Python
internals) climbs to its callers: its own time in proportion to the time it
spent under each direct caller (cProfile's per-edge ``tottime``), time it
inherited in proportion to its cumulative time under each caller
(per-edge ``cumtime``), until a classified function takes it; time with no
classified ancestor is ``other``. Work in threads the profiler does not see
(the reservoir's chunk threads) is the main thread waiting inside the
reservoir, so it counts as features, as wall time should. Call counts climb
the same way, and each category then loses the profiler's own cost of the
calls made under it (the cost per call is calibrated at start-up on a driven
reservoir run, the most call-heavy code of the paper).

Extrapolation
-------------
Each slice item is a real call of the phase's code (``search``,
``fit_and_score``, ``evaluate``, ``steps_curve``, ``Trainer.fit``,
``inpaint``, ``transfer``, the time-series ``search``/``assess`` trials,
``evaluate_out_of_core`` on dask's synchronous scheduler...) on the phase's
own data, at the paper's shapes, with fewer iterations, trials, seeds, chunks
or regularisation values than the phase; each measured category is
multiplied by how many times the phase repeats that part (e.g. per-alpha
solves by the number of alphas), and the phase's recorded seconds are split
by the resulting shares.

Where the paper run timed its own units (the classification searches record
``transform_s`` and ``fit_s`` per feature map, the final evaluations per
seed; notebook 09 its training, transform and readout seconds), those
recorded seconds fix the split between features and readout for every unit
("strata"), and the cProfile slices split each side further: the ridge side
by a cost model of the exact operations (statistics or kernel pass, one
Cholesky factorisation per ``alpha``, predictions) whose rates are measured
on the slice's ridge fits at paper shapes. The measured shares of the
profiled units are printed next to the recorded ones as a check.

The machine is shared: absolute slice times vary with the load, shares of a
profile much less (every category is slowed alike by a busy core), which is
why only shares are extrapolated. Processes outside this one (joblib
workers of notebook 10, dask workers of notebook 11) are not profiled; their
work is run in-process here.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import cProfile
import dataclasses
import datetime
import functools
import json
import math
import os
import platform
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pixelflow.atomic import write_atomic  # noqa: E402

RESULTS = ROOT / "results" / "paper"
NOTEBOOKS = ROOT / "notebooks"
OUT = ROOT / "results" / "profile_paper.json"
TARGET_MIN = 60.0

# ---------------------------------------------------------------------------
# Categories
# ---------------------------------------------------------------------------

CATEGORIES = {
    "features": "reservoir features: Reservoir/ReservoirStack.transform and run, Engine, rules, encoders, "
                "recording, backends (numba kernels), driven mode",
    "ridge": "ridge readouts: pixelflow/linalg/ridge.py (statistics or kernel pass, one Cholesky solve per alpha, "
             "predictions), RidgeReadout, out-of-core ridge statistics",
    "logistic": "logistic readouts: LogisticReadout -> scikit-learn LogisticRegression (lbfgs) and its scaler",
    "nca": "neural CA in torch: pixelflow/nca (forward steps, losses, autograd backward, optimiser, rollouts, "
           "learned reservoir)",
    "timeseries": "time-series models and protocol: reservoirpy ESN (pixelflow/timeseries/esn.py), closed-loop "
                  "generation, metrics, workbook/protocols/sequences.py",
    "dask": "dask/distributed graph building and scheduling, pixelflow/scaleout outside the ridge math",
    "data": "data loading and generation: pixelflow/datasets, the stratified validation split",
    "plotting": "matplotlib, workbook/plotting, save_figure, GIFs",
    "other": "everything else: protocol bookkeeping, numpy called from workbook code, Python overhead, "
             "time of phases nobody profiled",
}

# Package modules -> category/subcategory (path fragments, first match wins).
_PACKAGE_MODULES = (
    ("pixelflow/backends/", "features/kernel"),
    ("pixelflow/rules/", "features/rule"),
    ("pixelflow/stencils.py", "features/rule"),
    ("pixelflow/encoders.py", "features/encode"),
    ("pixelflow/resize.py", "features/encode"),
    ("pixelflow/recording.py", "features/record"),
    ("pixelflow/linalg/fixed_order.py", "features/record"),
    ("pixelflow/linalg/kernels.py", "features/record"),
    ("pixelflow/reservoir.py", "features/engine"),
    ("pixelflow/engine.py", "features/engine"),
    ("pixelflow/stack.py", "features/engine"),
    ("pixelflow/inputs.py", "features/engine"),
    ("pixelflow/driven.py", "features/engine"),
    ("pixelflow/scaleout/ridge.py", "ridge/pass"),
    ("pixelflow/scaleout/", "dask/scaleout"),
    ("pixelflow/nca/model.py", "nca/forward"),
    ("pixelflow/nca/perceive.py", "nca/forward"),
    ("pixelflow/nca/update.py", "nca/forward"),
    ("pixelflow/nca/style.py", "nca/loss"),
    ("pixelflow/nca/training.py", "nca/loop"),
    ("pixelflow/nca/pool.py", "nca/loop"),
    ("pixelflow/nca/texture.py", "nca/task"),
    ("pixelflow/nca/inpainting.py", "nca/task"),
    ("pixelflow/nca/resolution.py", "nca/task"),
    ("pixelflow/nca/learned_reservoir.py", "nca/learned"),
    ("pixelflow/nca/", "nca/other"),
    ("pixelflow/timeseries/esn.py", "timeseries/esn"),
    ("pixelflow/timeseries/closed_loop.py", "timeseries/closed_loop"),
    ("pixelflow/timeseries/", "timeseries/metrics"),
    ("pixelflow/workbook/protocols/sequences.py", "timeseries/protocol"),
    ("pixelflow/datasets/", "data/datasets"),
    ("pixelflow/workbook/protocols/data.py", "data/split"),
    ("pixelflow/workbook/plotting/", "plotting/workbook"),
    ("pixelflow/workbook/outputs.py", "plotting/workbook"),
)

# Third-party modules -> category (path fragments inside site-packages).
_THIRD_PARTY = (
    ("/torch/autograd/", "nca/backward"),
    ("/torch/_tensor.py:backward", "nca/backward"),
    ("/torch/optim/", "nca/optimizer"),
    ("/sklearn/linear_model/_logistic.py", "logistic/fit"),
    ("/reservoirpy/", "timeseries/esn"),
    ("site-packages/distributed/", "dask/scheduler"),
    ("site-packages/dask/", "dask/graph"),
    ("/matplotlib/", "plotting/matplotlib"),
    ("/imageio/", "plotting/gif"),
    ("/PIL/", "plotting/gif"),
)

# Functions of the ridge and readout modules, by (enclosing class or "", name).
_RIDGE_FUNCTIONS = {
    ("", "accumulate"): "ridge/pass", ("", "_dual_kernel"): "ridge/pass", ("", "_column_moments"): "ridge/pass",
    ("RidgePath", "__init__"): "ridge/pass", ("RidgeStats", "merge"): "ridge/pass",
    ("", "solve"): "ridge/solve", ("", "solve_dual"): "ridge/solve", ("", "_cholesky_solve_inplace"): "ridge/solve",
    ("RidgePath", "solve"): "ridge/solve",
    ("", "decision"): "ridge/predict", ("", "labels_from_scores"): "ridge/predict",
}
_READOUT_CLASSES = {"RidgeReadout": "ridge", "LogisticReadout": "logistic"}
_PREDICT_NAMES = {"predict", "decision_function", "predict_proba", "predict_log_proba", "score", "_linear",
                  "_by_rows", "_checked"}


@functools.lru_cache(maxsize=None)
def _class_spans(filename: str) -> tuple:
    """``(start, end, class name)`` of every class in a source file (for methods sharing a name)."""
    try:
        tree = ast.parse(Path(filename).read_text())
    except (OSError, SyntaxError, ValueError):
        return ()
    return tuple((n.lineno, n.end_lineno, n.name) for n in ast.walk(tree) if isinstance(n, ast.ClassDef))


def _enclosing_class(filename: str, line: int) -> str:
    inner = ""
    best = None
    for start, end, name in _class_spans(filename):
        if start <= line <= end and (best is None or start > best):
            best, inner = start, name
    return inner


@functools.lru_cache(maxsize=None)
def classify(key: tuple) -> str | None:
    """Category/subcategory of a cProfile function key ``(filename, line, name)``, or None (time climbs up)."""
    filename, line, name = key
    path = filename.replace(os.sep, "/")
    if path.startswith("<frozen importlib"):
        return "other/import"
    if path.endswith("pixelflow/linalg/ridge.py"):
        return _RIDGE_FUNCTIONS.get((_enclosing_class(filename, line), name)) or (
            None if name in ("block", "_syrk_upper_inplace", "_symmetrize_upper_inplace", "_feature_scale")
            else "ridge/other")
    if path.endswith("pixelflow/readouts.py"):
        cls = _enclosing_class(filename, line)
        if cls in _READOUT_CLASSES:
            kind = _READOUT_CLASSES[cls]
            return f"{kind}/predict" if name in _PREDICT_NAMES else f"{kind}/fit" if name == "fit" else f"{kind}/other"
        return "ridge/other" if name == "ridge_path_accuracy" else None
    if path.endswith("pixelflow/workbook/protocols/fitting.py") and name == "ridge_path":
        return "ridge/other"
    if "pixelflow/" in path and "site-packages" not in path:
        for fragment, category in _PACKAGE_MODULES:
            if fragment in path:
                return category
        return None
    for fragment, category in _THIRD_PARTY:
        module, _, func = fragment.partition(":")
        if module in path and (not func or func == name):
            return category
    return None


# Categories the protocols' per-unit timers (transform_s, fit_s) leave out: predictions, splits, bookkeeping.
OUTSIDE_TIMERS = ("data", "other", "plotting", "dask")


def top(category: str) -> str:
    return category.split("/", 1)[0]


# ---------------------------------------------------------------------------
# Profiling and attribution
# ---------------------------------------------------------------------------


def calibrate_overhead(repeats: int = 3) -> float:
    """Seconds the profiler adds per profiled call, measured on a driven reservoir run.

    A driven run (numpy rule, one Python step per input) is the most call-heavy
    code of the paper, so its overhead per call is the one that matters: the
    best of ``repeats`` runs with and without the profiler, divided by the
    number of calls profiled.
    """
    from pixelflow import Reservoir, ReservoirConfig

    cfg = ReservoirConfig(width=20, height=20, channels=4, steps=2, rule="diffusion_reaction",
                          input_encoding="mask", encoder_params={"density": 0.2}, seed=0)
    U = np.random.default_rng(0).random((400, 1))
    reservoir = Reservoir(cfg, backend="cpu", progress=False)
    reservoir.run(U[:20])
    plain, profiled, calls = [], [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        reservoir.run(U)
        plain.append(time.perf_counter() - t0)
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        reservoir.run(U)
        prof.disable()
        profiled.append(time.perf_counter() - t0)
        calls = sum(v[1] for v in pstats.Stats(prof).stats.values())
    return max(0.0, (min(profiled) - min(plain)) / calls)


def _propagate(stats: dict, own: dict) -> dict:
    """Carry each function's ``own`` amount to the innermost classified function above it (the module's rule)."""
    out: dict[str, float] = defaultdict(float)
    pending: dict = defaultdict(float)
    for key, amount in own.items():
        if amount <= 0:
            continue
        cat = classify(key)
        if cat is not None:
            out[cat] += amount
            continue
        callers = stats[key][4]
        # The first hop uses the amount spent under each caller (per-edge own time, else per-edge calls).
        weights = {g: e[2] for g, e in callers.items()}
        if sum(weights.values()) <= 0:
            weights = {g: e[1] for g, e in callers.items()}
        total = sum(weights.values())
        if not callers or total <= 0:
            out["other/unattributed"] += amount
            continue
        for g, w in weights.items():
            pending[g] += amount * w / total
    for _ in range(1000):
        if not pending:
            break
        nxt: dict = defaultdict(float)
        for key, mass in pending.items():
            if mass <= 1e-12:
                continue
            cat = classify(key)
            if cat is not None:
                out[cat] += mass
                continue
            callers = stats[key][4] if key in stats else {}
            total = sum(e[3] for e in callers.values())
            if not callers or total <= 0:
                out["other/unattributed"] += mass
                continue
            for g, e in callers.items():
                nxt[g] += mass * e[3] / total
        pending = nxt
    for mass in pending.values():  # cycles that never reached a classified function
        out["other/unattributed"] += mass
    return dict(out)


def attribute(stats: dict, per_call: float) -> tuple[dict, int]:
    """``{category/subcategory: seconds}`` of a cProfile stats dict, by the rule in the module docstring.

    Time and call counts climb the call graph alike; each category then loses
    the profiler's cost of the calls made under it. Returns the attribution
    and the number of calls profiled.
    """
    seconds = _propagate(stats, {k: v[2] for k, v in stats.items()})
    calls = _propagate(stats, {k: float(v[1]) for k, v in stats.items()})
    out = {c: max(0.0, s - per_call * calls.get(c, 0.0)) for c, s in seconds.items()}
    return out, int(sum(v[1] for v in stats.values()))


@dataclasses.dataclass
class Item:
    """One profiled call of a phase's code and how many times the phase repeats each part of it.

    ``scale`` multiplies every category (a number) or, as a dict, the categories
    whose name starts with a key (longest key wins; ``"*"`` for the rest).
    """

    name: str
    run: object
    scale: float | dict = 1.0
    note: str = ""
    family: str | None = None  # "random_nca": its features are reported as features/random_nca
    blas_threads: int | None = None  # BLAS/OpenMP threads while it runs (None: as the process has them)
    recorded: tuple | None = None  # (category prefixes, seconds the paper run recorded for the same work)


def _factor(scale, category: str) -> float:
    if category == "other/import":  # a module is imported once per process, whatever the phase repeats
        return 1.0
    if not isinstance(scale, dict):
        return float(scale)
    keys = [k for k in scale if k != "*" and category.startswith(k)]
    return float(scale[max(keys, key=len)]) if keys else float(scale.get("*", 1.0))


def profile_item(item: Item, per_call: float) -> dict:
    """Run an item under cProfile; its measured and scaled categories, wall and CPU seconds."""
    from threadpoolctl import threadpool_limits

    limit = contextlib.nullcontext() if item.blas_threads is None else threadpool_limits(limits=item.blas_threads)
    prof = cProfile.Profile()
    w0, c0 = time.perf_counter(), time.process_time()
    with limit:
        prof.enable()
        try:
            info = item.run()
        finally:
            prof.disable()
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    measured, calls = attribute(pstats.Stats(prof).stats, per_call)
    scaled: dict[str, float] = defaultdict(float)
    for c, s in measured.items():
        scaled[f"features/{item.family}" if item.family and top(c) == "features" else c] += s * _factor(item.scale, c)
    check = None
    if item.recorded is not None:
        prefixes, recorded = item.recorded
        here = sum(v for k, v in scaled.items() if k.startswith(prefixes))
        check = {"categories": list(prefixes), "recorded_s": round(recorded, 2), "measured_here_s": round(here, 2),
                 "recorded_over_measured": round(recorded / here, 2) if here > 0 else None}
    return {"name": item.name, "note": item.note, "wall_s": wall, "cpu_s": cpu, "calls": calls, "check": check,
            "profiler_overhead_s": per_call * calls, "measured_s": _rounded(measured), "scale": item.scale,
            "scaled_s": _rounded(scaled), "info": info if isinstance(info, dict) else None}


def _rounded(d: dict, digits: int = 3) -> dict:
    return {k: round(float(v), digits) for k, v in sorted(d.items(), key=lambda kv: -kv[1])}


def _sum(dicts) -> dict:
    out: dict[str, float] = defaultdict(float)
    for d in dicts:
        for k, v in d.items():
            out[k] += v
    return dict(out)


def _shares(d: dict) -> dict:
    total = sum(d.values())
    return {k: v / total for k, v in d.items()} if total > 0 else {}


def _by_top(d: dict) -> dict:
    out: dict[str, float] = defaultdict(float)
    for k, v in d.items():
        out[top(k)] += v
    return dict(out)


# ---------------------------------------------------------------------------
# Recorded times
# ---------------------------------------------------------------------------


def load_results(nb: str) -> dict:
    path = RESULTS / f"{nb}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read the paper-scale results file {path}: {exc}") from exc


def notebook_names() -> list[str]:
    return sorted(p.stem for p in RESULTS.glob("[0-9][0-9]_*.json"))


def cell_durations(nb: str) -> list[tuple[int, float, str, str]]:
    """``(cell index, papermill seconds, first line, source)`` of the executed paper-scale notebook's code cells."""
    path = RESULTS / "executed" / f"{nb}.ipynb"
    if not path.exists():
        return []
    cells = json.loads(path.read_text())["cells"]
    out = []
    for i, c in enumerate(cells):
        duration = c.get("metadata", {}).get("papermill", {}).get("duration")
        if c["cell_type"] == "code" and duration is not None:
            src = "".join(c["source"])
            lines = src.strip().splitlines()
            out.append((i, float(duration), lines[0][:70] if lines else "", src))
    return out


# What an untimed cell mostly does, by what it calls (first match wins).
_CELL_KINDS = (
    ("nca", ("trajectory(", "inpaint(", "transfer(", "reference_scores(")),
    ("data", ("mnist(", "fashion_mnist(", "cifar10(", "_task(", "two_moons(", "checkerboard(")),
    ("plotting", ("save_figure(", "_figure(", "display(fig", "save_animation(", "plot_")),
)


def untimed_cells_split(cells, outside: float, skip=()) -> dict:
    """Seconds of the time outside the timed phases by what its cells do (papermill durations of untimed cells)."""
    out: dict[str, float] = defaultdict(float)
    for i, duration, _, src in cells:
        if "rec.timer(" in src or i in skip:
            continue
        kind = next((k for k, calls in _CELL_KINDS if any(c in src for c in calls)), "other")
        out[f"{kind}/untimed_cells"] += duration
    total = sum(out.values())
    if total > outside > 0:
        out = {k: v * outside / total for k, v in out.items()}
    rest = outside - sum(out.values())
    if rest > 0:
        out["other/unprofiled"] = out.get("other/unprofiled", 0.0) + rest
    return dict(out)


# ---------------------------------------------------------------------------
# The notebooks' own candidates: cells executed at paper scale with recorders
# ---------------------------------------------------------------------------


class _RecordStub:
    """Stands in for ResultsRecord while a notebook's set-up cells run: nothing is written."""

    def __init__(self, *args, **kwargs):
        self.metrics, self.presets = {}, None

    @contextlib.contextmanager
    def timer(self, name):
        yield

    def add_data(self, *args, **kwargs):
        pass

    def add_table(self, *args, **kwargs):
        pass


def notebook_code(nb: str) -> list[str]:
    cells = json.loads((NOTEBOOKS / f"{nb}.ipynb").read_text())["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def run_setup_cells(nb: str, markers: list[str], recorded_rows=None) -> dict:
    """Execute the notebook's code cells that contain one of ``markers`` (in order) at paper scale.

    ``search`` and ``evaluate`` are replaced by recorders: ``search`` stores
    its candidates and returns the rows of the same candidates from the
    paper-scale results (or neutral rows), ``evaluate`` stores its arguments.
    Returns the namespace; ``ns["_calls"]`` lists the recorded calls.
    """
    cells = notebook_code(nb)
    calls: list = []

    def search(cands, X, y, **kw):
        calls.append(("search", list(cands), X, y, kw))
        labels = [c.label for c in cands]
        for rows in recorded_rows or ():
            if [r["label"] for r in rows] == labels:
                return rows
        from pixelflow.workbook.protocols.candidates import describe_candidate

        return [{"index": i, "val_accuracy": 0.0, **describe_candidate(c)} for i, c in enumerate(cands)]

    def evaluate(cand, *args, **kw):
        calls.append(("evaluate", cand, args, kw))
        return {"mean": 0.0, "name": cand.name, "label": cand.label, "test_accuracy": [0.0]}

    stubs = {"search": search, "evaluate": evaluate, "_RecordStub": _RecordStub, "_calls": calls}
    ns: dict = {"__name__": f"notebook_{nb}"}
    chosen = []
    for marker in markers:
        found = [i for i, src in enumerate(cells) if marker in src]
        if not found:
            raise ValueError(f"notebooks/{nb}.ipynb has no code cell containing {marker!r}; "
                             "update the markers in benchmarks/profile_paper.py")
        chosen.append(found[0])
    for i in sorted(set(chosen)):
        src = "\n".join(line for line in cells[i].splitlines() if not line.lstrip().startswith("%"))
        src = src.replace("ResultsRecord(", "_RecordStub(")
        if 'scale = "smoke"' in src:
            src = src.replace('scale = "smoke"', 'scale = "paper"')
        with contextlib.redirect_stdout(None):
            exec(compile(src, f"notebooks/{nb}.ipynb[{i}]", "exec"), ns)
        ns.update(stubs)
    return ns


# ---------------------------------------------------------------------------
# Ridge cost model (rates measured on the slices' ridge fits)
# ---------------------------------------------------------------------------

N_TARGETS = 10


def ridge_ops(form: str, n: int, d: int, n_alpha: int, t: int = N_TARGETS) -> dict:
    """Floating-point work of a ridge path (``n_alpha`` solves) by subcategory, in units the rates divide."""
    if form == "primal":
        return {"ridge/pass": n * d * d + 2 * n * d * t,
                "ridge/solve": n_alpha * (d ** 3 / 3 + 2 * d * d * t + 3 * d * d)}
    return {"ridge/pass": n * n * d + 2 * n * d, "ridge/solve": n_alpha * (n ** 3 / 3 + 2 * n * n * t + 4 * n * d * t)}


def ridge_form(n: int, d: int) -> str:
    return "primal" if d <= n else "dual"


def _size(form: str, n: int, d: int) -> int:
    """The size that sets a form's BLAS efficiency: the matrix factorised (D primal, N dual)."""
    return d if form == "primal" else n


def model_split(form, n, d, n_alpha, rates) -> dict:
    """Predicted seconds of a ridge path by subcategory, at the rates measured nearest in size."""
    ops = ridge_ops(form, n, d, n_alpha)
    table = rates.get(form) or rates[next(iter(rates))]
    out = {}
    for k in ops:
        size, rate = min(table[k], key=lambda sr: abs(math.log(sr[0]) - math.log(_size(form, n, d))))
        out[k] = ops[k] / rate
    return out


def measure_rates(items: list[dict]) -> dict:
    """Rates (work units per second) of pass and solve, per form and size, from the slices' ridge fits.

    An item's ridge seconds are divided by the work of all its fits (of one form).
    """
    acc: dict = defaultdict(lambda: defaultdict(list))
    for it in items:
        fits = (it.get("info") or {}).get("ridge_fits", [])
        forms = {f["form"] for f in fits}
        if len(forms) != 1:
            continue
        form = forms.pop()
        size = max(_size(form, f["n"], f["d"]) for f in fits)
        for sub in ("ridge/pass", "ridge/solve"):
            ops = sum(ridge_ops(form, f["n"], f["d"], f["n_alpha"])[sub] for f in fits)
            secs = it["measured_s"].get(sub, 0.0)
            if secs > 0.05 and ops > 0:
                acc[form][sub].append((size, ops / secs))
    return {form: dict(d) for form, d in acc.items() if all(d.get(k) for k in ("ridge/pass", "ridge/solve"))}


# ---------------------------------------------------------------------------
# Data (loaded once)
# ---------------------------------------------------------------------------


LOAD_S: dict[str, float] = {}


@functools.lru_cache(maxsize=None)
def dataset(name: str):
    """A paper-scale data set as the notebooks load it (timed once into LOAD_S)."""
    from pixelflow.datasets import cifar10, fashion_mnist, mnist

    t0 = time.perf_counter()
    if name == "mnist":
        ds = mnist(None, seed=0)
    elif name == "fashion":
        ds = fashion_mnist(None, seed=0)
    elif name in ("cifar_gray", "cifar_rgb"):
        ds = cifar10(None, color=name.split("_")[1], seed=0)
    else:
        raise ValueError(f"unknown data set {name!r}")
    LOAD_S[name] = time.perf_counter() - t0
    return ds


@functools.lru_cache(maxsize=None)
def split(name: str):
    from pixelflow.workbook.protocols.data import validation_split

    return validation_split(dataset(name).y_train, 0.2, 0)


# ---------------------------------------------------------------------------
# Slice items of the classification protocol
# ---------------------------------------------------------------------------


def _warm(configs, data):
    """First use of each config on a few images (kernel compilation, imports), outside the profile."""
    def warm():
        X = dataset(data).X_train[:8]
        for config in configs:
            if config is not None:
                _features(config, X)
    return warm


def _features(config, X):
    from pixelflow.workbook.protocols.fitting import features

    return features(config, X, "cpu")


def search_item(name, cands, data, *, augment=None, scale=1.0, note=""):
    """``search`` itself on the phase's data (the whole protocol call)."""
    def run():
        from pixelflow.workbook.protocols import search

        ds = dataset(data)
        rows = search(cands, ds.X_train, ds.y_train, val_fraction=0.2, seed=0, backend="cpu", progress=False,
                      augment=augment)
        n_fit = len(split(data)[0]) * (2 if augment else 1)
        fits = [{"form": ridge_form(n_fit, r["n_features"]), "n": n_fit, "d": r["n_features"],
                 "n_alpha": sum(1 for s in rows if s["name"] == r["name"] and s["readout"] == "ridge")}
                for r in {r["name"]: r for r in rows if r["readout"] == "ridge"}.values()]
        return {"ridge_fits": fits, "transform_s": sum({r["name"]: r["transform_s"] for r in rows}.values()),
                "fit_s": sum(r["fit_s"] for r in rows)}
    item = Item(name, run, scale, note)
    item.prepare = _warm(list({id(c.config): c.config for c in cands if c.config is not None}.values()), data)
    return item


def fit_item(name, config, data, readouts, *, scale=1.0, note="", augment=None, recorded=None):
    """The search's readout step for one feature map: features computed first (not profiled), then
    ``fit_and_score`` of the given readouts, as ``search`` calls it."""
    from pixelflow.workbook.protocols.fitting import fit_and_score, limit_blas, training_features

    state = {}

    def prepare():
        ds = dataset(data)
        fit_idx, val_idx = split(data)
        state["F_fit"], y_fit = training_features(config, ds.X_train[fit_idx], ds.y_train[fit_idx],
                                                  (augment,) if augment else (), "cpu")
        state["F_val"] = _features(config, ds.X_train[val_idx])
        state["y"] = y_fit, ds.y_train[val_idx]

    def run():
        if not state:
            prepare()
        with limit_blas(1):
            fit_and_score(readouts, state["F_fit"], state["y"][0], state["F_val"], state["y"][1])
        n, d = state["F_fit"].shape
        n_alpha = sum(1 for r in readouts if type(r).__name__ == "RidgeReadout")
        out = {"ridge_fits": [{"form": ridge_form(n, d), "n": n, "d": d, "n_alpha": n_alpha}] if n_alpha else []}
        state.clear()
        return out

    item = Item(name, run, scale, note, recorded=recorded)
    item.prepare = prepare
    return item


def transform_item(name, config, data, n_rows, *, scale=1.0, note="", recorded=None):
    """``features`` (Reservoir/ReservoirStack.transform) of the first ``n_rows`` training images."""
    def run():
        ds = dataset(data)
        F = _features(config, ds.X_train[:n_rows])
        return {"n_rows": int(n_rows), "n_features": int(F.shape[1])}
    item = Item(name, run, scale, note, recorded=recorded)
    item.prepare = _warm([config], data)
    return item


def evaluate_item(name, cand, data, *, seeds=(0,), augment=None, scale=1.0, note=""):
    def run():
        from pixelflow.workbook.protocols import evaluate

        ds = dataset(data)
        r = evaluate(cand, ds.X_train, ds.y_train, ds.X_test, ds.y_test, seeds=seeds, backend="cpu", progress=False,
                     augment=augment)
        n = len(ds.y_train) * (2 if augment else 1)
        fits = [{"form": ridge_form(n, r["n_features"]), "n": n, "d": r["n_features"], "n_alpha": 1}
                for _ in (r["seeds"] or [0])] if type(cand.readout).__name__ == "RidgeReadout" else []
        return {"ridge_fits": fits, "transform_s": sum(r["transform_s"]), "fit_s": sum(r["fit_s"]),
                "predict_s": sum(r["predict_s"])}
    item = Item(name, run, scale, note)
    item.prepare = _warm([cand.config], data)
    return item


def steps_item(name, cand, data, steps, *, scale=1.0, note="", n_rows=None):
    """``steps_curve`` of a chosen candidate (on the first ``n_rows`` training images if given)."""
    from pixelflow.stack import StackConfig

    def run():
        from pixelflow.workbook.protocols import steps_curve

        ds = dataset(data)
        X, y = (ds.X_train, ds.y_train) if n_rows is None else (ds.X_train[:n_rows], ds.y_train[:n_rows])
        rows = steps_curve(cand, X, y, steps=steps, seed=0, backend="cpu", progress=False)
        return {"ridge_fits": [], "steps": list(steps), "n_features": [r["n_features"] for r in rows],
                "n_rows": len(y)}
    cfg = cand.config
    members = cfg.members if isinstance(cfg, StackConfig) else (cfg,)
    item = Item(name, run, scale, note, family="random_nca" if cfg.rule == "random_nca" else None)
    # Warm the configs steps_curve really runs (every step recorded).
    item.prepare = _warm([dataclasses.replace(m, steps=max(steps), record=sorted(steps)) for m in members], data)
    return item


# ---------------------------------------------------------------------------
# Strata: the paper run's own per-unit timers
# ---------------------------------------------------------------------------


def feature_family(config) -> str:
    """``features/random_nca`` (numpy path on chunk threads), ``features/fused`` (numba kernels) or other."""
    from pixelflow.backends.fused import KERNELS

    rules = [m.get("rule") for m in (config["stack"] if "stack" in config else [config])]
    if any(r == "random_nca" for r in rules):
        return "features/random_nca"
    if all("cpu" in KERNELS.get(r, ()) for r in rules):
        return "features/fused"
    return "features/numpy_path"


def search_strata(rows: list[dict], n_fit: int) -> list[dict]:
    """One stratum per feature map of a recorded search: its transform, ridge and logistic seconds."""
    groups: dict = {}
    for r in rows:
        g = groups.setdefault(r["name"], {"name": r["name"], "rule": r["rule"], "d": r["n_features"],
                                          "transform_s": r["transform_s"], "ridge_fit_s": 0.0, "logistic_fit_s": 0.0,
                                          "n_alpha": 0, "n_C": 0, "augment": r.get("augment")})
        if r["readout"] == "ridge":
            g["ridge_fit_s"] += r["fit_s"]
            g["n_alpha"] += 1
        else:
            g["logistic_fit_s"] += r["fit_s"]
            g["n_C"] += 1
    for g in groups.values():
        g["n"] = n_fit * (2 if g["augment"] else 1)
    return list(groups.values())


def strata_categories(strata: list[dict], rates: dict, family_of, predict_share: float = 0.0) -> dict:
    """Seconds by subcategory of recorded strata: features by rule family, ridge split by the cost model."""
    out: dict[str, float] = defaultdict(float)
    for g in strata:
        if g["rule"] != "raw":
            out[family_of(g)] += g["transform_s"]
        else:
            out["other/raw_pixels"] += g["transform_s"]
        if g["ridge_fit_s"] > 0:
            split_s = model_split(ridge_form(g["n"], g["d"]), g["n"], g["d"], max(1, g["n_alpha"]), rates)
            total = sum(split_s.values())
            for k, v in split_s.items():
                out[k] += g["ridge_fit_s"] * v / total
        out["logistic/fit"] += g["logistic_fit_s"]
        out["ridge/predict"] += g.get("predict_s", 0.0)
    return dict(out)


# ---------------------------------------------------------------------------
# Phase definitions
# ---------------------------------------------------------------------------


@dataclasses.dataclass
class Phase:
    notebook: str
    phase: str
    seconds: float
    items: list = dataclasses.field(default_factory=list)
    strata: object = None   # callable(rates) -> {subcategory: seconds} from recorded unit timers, or None
    recorded_split: dict | None = None
    notes: list = dataclasses.field(default_factory=list)
    shared_with: str | None = None  # "notebook/phase" whose slice measures this one (same code, same data)
    fixed: dict | None = None  # seconds by category known without profiling (papermill durations of cells)


def _by_name(cands, name):
    matches = [c for c in cands if c.name == name]
    if not matches:
        raise ValueError(f"no candidate named {name!r}")
    return matches


def _unit(rows, name, data, *, transform_rows=None):
    """What the paper run recorded for one feature map of a search: ``(prefixes, seconds)`` for a slice check.

    With ``transform_rows``: its features of that many images (the transform of all training rows,
    scaled); else its readout fits (ridge and logistic).
    """
    group = [r for r in rows if r["name"] == name]
    if transform_rows is not None:
        return ("features",), group[0]["transform_s"] * transform_rows / len(dataset(data).y_train)
    return ("ridge", "logistic"), sum(r["fit_s"] for r in group)


def _cheapest_logistic(cands, rows):
    """The logistic candidate whose fit the paper run timed shortest (a cheap slice of the same code)."""
    seconds = {r["label"]: r["fit_s"] for r in rows}
    return min(cands, key=lambda c: seconds.get(c.label, math.inf))


def _by_label(cands, label):
    for c in cands:
        if c.label == label:
            return c
    raise ValueError(f"no candidate labelled {label!r}")


def phases_00(res) -> list[Phase]:
    ns = run_setup_cells("00_quickstart", ['scale = "smoke"', "P = rec.presets", "synthetic = [two_moons",
                                           "reservoirs = {", "@register_rule", "mnist_cands = "])
    calls = [c for c in ns["_calls"] if c[0] == "search"]
    synth_cands, mnist_cands = calls[0][1], calls[-1][1]
    synthetic = ns["synthetic"]
    _register("00_quickstart/synthetic", synth_cands)
    _register("00_quickstart/mnist rules", mnist_cands)
    w = res["wall_time_s"]
    items = []
    for ds in synthetic:
        raw = [c for c in synth_cands if c.config is None]
        res_c = [c for c in synth_cands if c.config is not None]
        some = [c for c in res_c if c.config.encoder_params.get("scale") == 1.0]

        def run(ds=ds, cands=raw + some):
            from pixelflow.workbook.protocols import best, evaluate, search

            rows = search(cands, ds.X_train, ds.y_train, seed=0, backend="cpu", progress=False)
            for where in (dict(readout="logistic"), dict(rule="raw", readout="ridge"), lambda r: r["rule"] != "raw"):
                evaluate(best(rows, cands, where), *ds, seeds=[0], backend="cpu", progress=False)
        share_res = len(res_c) / len(some)
        items.append(Item(f"search+evaluate {ds.meta['name']} (raw + the scale-1 reservoirs)", run,
                          {"features": share_res, "ridge": share_res, "*": 1.0},
                          f"{len(some)} of {len(res_c)} reservoir configs (scale 1.0); reservoir parts x{share_res:g}"))
    synthetic_phase = Phase("00_quickstart", "synthetic", w["synthetic"], items,
                            notes=["two small data sets; features and a dual ridge readout on 800-1600 fit rows"])
    mnist_items = []
    by_rule = {c.name: [m for m in mnist_cands if m.name == c.name] for c in mnist_cands}
    for name, weight in (("random_nca", 1.0), ("bistable", 1.0), ("wave", 3.0), ("raw pixels", 1.0)):
        cands = by_rule[name]

        def run(cands=cands):
            from pixelflow.workbook.protocols import best, evaluate, search

            ds = dataset("mnist")
            rows = search(cands, ds.X_train, ds.y_train, seed=0, backend="cpu", progress=False)
            evaluate(best(rows, cands), *ds, seeds=[0], backend="cpu", progress=False)
        mnist_items.append(Item(f"search+evaluate MNIST {name}", run, weight,
                                "wave stands for wave, diffusion_reaction, life_like (fused kernels)"
                                if weight > 1 else ""))
    mnist_phase = Phase("00_quickstart", "mnist rules", w["mnist rules"], mnist_items,
                        notes=["6 feature maps (raw + 5 rules, 32x32x4, steps 2 and 4, 2x2 pooling), 6 alphas each, "
                               "then evaluate of each best"])
    return [synthetic_phase, mnist_phase]


def _final_strata(final: dict, data: str, configs: dict) -> list[dict]:
    """Strata of a recorded final evaluation: one per method and seed."""
    ds_n = {"mnist": 14000, "fashion": 60000, "cifar_gray": 4660, "cifar_rgb": 4660}[data]
    out = []
    for m, r in final.items():
        aug = r.get("augment")
        for i, _ in enumerate(r["transform_s"]):
            out.append({"name": m, "rule": r["rule"], "d": r["n_features"], "transform_s": r["transform_s"][i],
                        "ridge_fit_s": r["fit_s"][i] if r["readout"] == "ridge" else 0.0,
                        "logistic_fit_s": r["fit_s"][i] if r["readout"] == "logistic" else 0.0,
                        "predict_s": r["predict_s"][i], "n_alpha": 1, "n": ds_n * (2 if aug else 1),
                        "config": (r["configs"][i] if r["configs"] else None)})
    return out


def _family(stratum, config_of):
    cfg = config_of(stratum)
    return "other/raw_pixels" if cfg is None else feature_family(cfg)


def phases_01(res) -> list[Phase]:
    m = res["metrics"]
    ns = run_setup_cells("01_mnist", ['scale = "smoke"', 'NB = "01_mnist"', "ds = mnist(", "peer_cands = ",
                                      "our_cands = "], [m["search"]["peer"], m["search"]["ours"]])
    calls = [c for c in ns["_calls"] if c[0] == "search"]
    peer_cands, our_cands = calls[0][1], calls[1][1]
    cfg_by_name = {c.name: (None if c.config is None else c.config.to_dict()) for c in peer_cands + our_cands}
    w = res["wall_time_s"]
    n_fit = len(split("mnist")[0])
    wave = _by_name(our_cands, "wave absorbing")
    ours = m["search"]["ours"]
    _register("01_mnist/peer_search", peer_cands)
    _register("01_mnist/search", our_cands, stack_group=("01_mnist", "ours"))

    def fam(g):
        return _family(g, lambda s: cfg_by_name.get(s["name"]))

    phases = []
    raw = _by_name(peer_cands, "raw pixels")
    raw_logistic = [c for c in raw if type(c.readout).__name__ == "LogisticReadout"]
    quick = _cheapest_logistic(raw_logistic, m["search"]["peer"])
    peer_items = [search_item(f"search raw pixels (logistic C={quick.readout.C:g}, the quickest of 4, "
                              "+ 10 ridge alpha)", [c for c in raw if c not in raw_logistic] + [quick], "mnist",
                              scale={"logistic": 4.0, "*": 1.0}),
                  search_item("search wave (pixelflow-rc), 10 alphas", _by_name(peer_cands, "wave (pixelflow-rc)"),
                              "mnist", scale=2.0, note="stands for both peer reservoirs (D=4096, fused kernels)")]
    phases.append(Phase("01_mnist", "peer_search", w["peer_search"], peer_items,
                        strata=lambda rates: strata_categories(search_strata(m["search"]["peer"], n_fit), rates, fam),
                        recorded_split=_recorded_search_split(m["search"]["peer"], w["peer_search"])))
    peer_final = {k: v for k, v in m["final"].items() if k.startswith("raw")}
    phases.append(Phase("01_mnist", "peer_evaluate", w["peer_evaluate"], [
        evaluate_item("evaluate raw pixels, logistic (chosen C)",
                      _by_label(peer_cands, m["final"]["raw pixels, logistic"]["label"]), "mnist"),
        evaluate_item("evaluate raw pixels, ridge (chosen alpha)",
                      _by_label(peer_cands, m["final"]["raw pixels, ridge"]["label"]), "mnist")],
        notes=["the two peer reservoirs are deterministic (one seed each); raw pixels evaluated once"]))
    del peer_final
    nca_c8 = _by_name(our_cands, "random_nca g1 l0.5 c8")
    stack = _by_name(our_cands, "nca² 28+14+7")
    search_items = [
        fit_item("fit_and_score nca² 14 c16 (primal D=2432, 10 alphas)", _by_name(our_cands, "nca² 14 c16")[0].config,
                 "mnist", [c.readout for c in _by_name(our_cands, "nca² 14 c16")],
                 recorded=_unit(ours, "nca² 14 c16", "mnist")),
        fit_item("fit_and_score random_nca g1 l0.5 c8 (primal D=6272, 3 of 10 alphas)", nca_c8[0].config, "mnist",
                 [c.readout for c in nca_c8[:3]], scale={"ridge/solve": 10 / 3, "ridge/predict": 10 / 3},
                 recorded=_unit(ours, "random_nca g1 l0.5 c8", "mnist")),
        fit_item("fit_and_score nca² 28+14+7 (dual N=11200 D=14016, 1 of 10 alphas)", stack[0].config, "mnist",
                 [stack[4].readout], scale={"ridge/solve": 10.0, "ridge/predict": 10.0},
                 recorded=_unit(ours, "nca² 28+14+7", "mnist")),
        transform_item("transform nca² 28+14+7 on 2,000 images", stack[0].config, "mnist", 2000,
                       recorded=_unit(ours, "nca² 28+14+7", "mnist", transform_rows=2000)),
        transform_item("transform wave absorbing on 2,000 images", wave[0].config, "mnist", 2000,
                       recorded=_unit(ours, "wave absorbing", "mnist", transform_rows=2000)),
        search_item("search nca² 14 c8 (the whole protocol call)", _by_name(our_cands, "nca² 14 c8"), "mnist"),
    ]
    phases.append(Phase("01_mnist", "search", w["search"], search_items,
                        strata=lambda rates: strata_categories(search_strata(m["search"]["ours"], n_fit), rates, fam),
                        recorded_split=_recorded_search_split(m["search"]["ours"], w["search"])))
    chosen = {rule: _by_label(our_cands, m["final"][f"ours: {rule}"]["label"])
              for rule in ("random_nca", "wave", "diffusion_reaction", "life_like")}
    S = ns["S"]
    phases.append(Phase("01_mnist", "steps_curves", w["steps_curves"], [
        steps_item("steps_curve wave (chosen), steps 0-12", chosen["wave"], "mnist", S["steps"]),
        steps_item("steps_curve random_nca (chosen: nca² 28+14+7), steps 0, 4, 12, first 3,500 images",
                   chosen["random_nca"], "mnist", (0, 4, 12), n_rows=3500,
                   scale={"features": 4.0, "ridge/pass": 4 * 8 / 3, "ridge/predict": 4 * 8 / 3, "ridge/solve": 8 / 3,
                          "*": 4.0},
                   note="a quarter of the rows (features, passes x4), 3 of the 8 steps fitted (fits x8/3)"),
    ], notes=["each chosen config is rerun for max(steps) steps recording every step; one 1-alpha ridge fit per step"]))
    config_of = {m_: r["configs"] for m_, r in m["final"].items()}
    final_ours = {k: v for k, v in m["final"].items() if k.startswith("ours")}
    phases.append(Phase("01_mnist", "final_evaluate", w["final_evaluate"], [
        evaluate_item("evaluate wave (chosen)", chosen["wave"], "mnist"),
    ], strata=lambda rates: strata_categories(_final_strata(final_ours, "mnist", config_of), rates,
                                             lambda s: _family(s, lambda x: x["config"])),
        recorded_split=_recorded_final_split(final_ours, w["final_evaluate"])))
    return phases


def _recorded_search_split(rows, seconds) -> dict:
    t = sum({r["name"]: r["transform_s"] for r in rows}.values())
    ridge = sum(r["fit_s"] for r in rows if r["readout"] == "ridge")
    logistic = sum(r["fit_s"] for r in rows if r["readout"] != "ridge")
    return {"features": t, "ridge": ridge, "logistic": logistic,
            "outside the per-unit timers": seconds - t - ridge - logistic}


def _recorded_final_split(final, seconds) -> dict:
    t = sum(sum(r["transform_s"]) for r in final.values())
    ridge = sum(sum(r["fit_s"]) + sum(r["predict_s"]) for r in final.values() if r["readout"] == "ridge")
    logistic = sum(sum(r["fit_s"]) + sum(r["predict_s"]) for r in final.values() if r["readout"] != "ridge")
    return {"features": t, "ridge": ridge, "logistic": logistic,
            "outside the per-unit timers": seconds - t - ridge - logistic}


def phases_02(res) -> list[Phase]:
    m = res["metrics"]
    ns = run_setup_cells("02_fashion_mnist", ['scale = "smoke"', 'NB = "02_fashion_mnist"', "ds = fashion_mnist(",
                                              "cands = ("], [m["search"]])
    cands = [c for c in ns["_calls"] if c[0] == "search"][0][1]
    _register("02_fashion_mnist/search", cands)
    cfg_by_name = {c.name: (None if c.config is None else c.config.to_dict()) for c in cands}
    w = res["wall_time_s"]
    n_fit = len(split("fashion")[0])

    def fam(g):
        return _family(g, lambda s: cfg_by_name.get(s["name"]))

    life = _by_name(cands, "life_like B3/S23")
    raw = _by_name(cands, "raw pixels")
    logistic = [c for c in raw if type(c.readout).__name__ == "LogisticReadout"]
    quick = _cheapest_logistic(logistic, m["search"])
    stack = _by_name(cands, "nca² 28+14+7")
    items = [
        fit_item("fit_and_score life_like (primal N=48000 D=3920, 2 of 11 alphas)", life[0].config, "fashion",
                 [c.readout for c in life[:2]], scale={"ridge/solve": 5.5, "ridge/predict": 5.5},
                 recorded=_unit(m["search"], "life_like B3/S23", "fashion")),
        fit_item(f"fit_and_score raw pixels, logistic C={quick.readout.C:g} (the quickest of 3 C)", None, "fashion",
                 [quick.readout], scale={"logistic": 3.0}),
        transform_item("transform nca² 28+14+7 on 2,000 images", stack[0].config, "fashion", 2000,
                       recorded=_unit(m["search"], "nca² 28+14+7", "fashion", transform_rows=2000)),
        transform_item("transform random_nca g2 l0.9 c8 on 2,000 images",
                       _by_name(cands, "random_nca g2 l0.9 c8")[0].config, "fashion", 2000,
                       recorded=_unit(m["search"], "random_nca g2 l0.9 c8", "fashion", transform_rows=2000)),
    ]
    phases = [Phase("02_fashion_mnist", "search", w["search"], items,
                    strata=lambda rates: strata_categories(search_strata(m["search"], n_fit), rates, fam),
                    recorded_split=_recorded_search_split(m["search"], w["search"]))]
    chosen = {rule: _by_label(cands, m["final"][f"ours: {rule}"]["label"])
              for rule in ("random_nca", "wave", "diffusion_reaction", "life_like")}
    phases.append(Phase("02_fashion_mnist", "steps_curves", w["steps_curves"], [
        steps_item("steps_curve life_like (chosen), steps 0-8", chosen["life_like"], "fashion", ns["S"]["steps"]),
        steps_item("steps_curve wave (chosen), steps 0, 8", chosen["wave"], "fashion", (0, 8),
                   scale={"ridge": 5 / 2, "features/record": 5 / 2}, note="2 of 5 steps fitted; fits x5/2"),
        steps_item("steps_curve random_nca (chosen: nca² 28+14+7), steps 0, 4, first 3,000 images",
                   chosen["random_nca"], "fashion", (0, 4), n_rows=3000,
                   scale={"features": 20.0, "ridge/pass": 20 * 5 / 2, "ridge/predict": 20 * 5 / 2,
                          "ridge/solve": 5 / 2, "*": 20.0},
                   note="1/20 of the rows (features, passes x20), 2 of the 5 steps fitted (fits x5/2)"),
    ], notes=["diffusion_reaction's curve is not run here: it is a fused-kernel rule like wave and life_like"]))
    final = m["final"]
    config_of = {k: v["configs"] for k, v in final.items()}
    phases.append(Phase("02_fashion_mnist", "final_evaluate", w["final_evaluate"], [
        evaluate_item("evaluate raw pixels, ridge (chosen alpha)",
                      _by_label(cands, final["raw pixels, ridge"]["label"]), "fashion"),
    ], strata=lambda rates: strata_categories(_final_strata(final, "fashion", config_of), rates,
                                             lambda s: _family(s, lambda x: x["config"])),
        recorded_split=_recorded_final_split(final, w["final_evaluate"])))
    return phases


def phases_03(res) -> list[Phase]:
    m = res["metrics"]
    ns = run_setup_cells("03_cifar10", ['scale = "smoke"', 'NB = "03_cifar10"', "data = {color: cifar10(",
                                        "CONFIGS = {"], list(m["search"].values()))
    calls = [c for c in ns["_calls"] if c[0] == "search"]
    cands = {color: calls[i][1] for i, color in enumerate(("gray", "rgb", "rgb+hflip"))}
    w = res["wall_time_s"]
    n_fit = len(split("cifar_rgb")[0])
    phases = []
    data_of = {"gray": "cifar_gray", "rgb": "cifar_rgb", "rgb+hflip": "cifar_rgb"}
    for color in ("gray", "rgb", "rgb+hflip"):
        cfg_by_name = {c.name: (None if c.config is None else c.config.to_dict()) for c in cands[color]}

        def fam(g, cfg_by_name=cfg_by_name):
            return _family(g, lambda s: cfg_by_name.get(s["name"]))

        _register(f"03_cifar10/search_{color}", cands[color], stack_group=("03_cifar10", color))
        names = list(dict.fromkeys(c.name for c in cands[color]))
        rep = next(n for n in names if "nca" in n)
        aug = "hflip" if color == "rgb+hflip" else None
        rep_cands = _by_name(cands[color], rep)
        items = [fit_item(f"fit_and_score {rep} (2 of 10 alphas{', + mirrored fit rows' if aug else ''})",
                          rep_cands[0].config, data_of[color], [c.readout for c in rep_cands[:2]], augment=aug,
                          scale={"ridge/solve": 5.0, "ridge/predict": 5.0}),
                 transform_item(f"transform {rep} on 1,000 images", rep_cands[0].config, data_of[color], 1000)]
        if color == "gray":
            items.append(search_item("search gray: raw pixels (4 logistic C + 10 ridge alpha)",
                                     _by_name(cands[color], "gray: raw pixels"), data_of[color]))
        phases.append(Phase("03_cifar10", f"search_{color}", w[f"search_{color}"], items,
                            strata=lambda rates, color=color, fam=fam: strata_categories(
                                search_strata(m["search"][color], n_fit), rates, fam),
                            recorded_split=_recorded_search_split(m["search"][color], w[f"search_{color}"])))
    final = m["final"]
    config_of = {k: v["configs"] for k, v in final.items()}
    cheap = _by_label(cands["gray"], final["gray: wave (pixelflow-rc)"]["label"])
    phases.append(Phase("03_cifar10", "final_evaluate", w["final_evaluate"], [
        evaluate_item("evaluate gray: wave (pixelflow-rc) (deterministic, one seed)", cheap, "cifar_gray")],
        strata=lambda rates: strata_categories(_final_strata(final, "cifar_rgb", config_of), rates,
                                               lambda s: _family(s, lambda x: x["config"])),
        recorded_split=_recorded_final_split(final, w["final_evaluate"])))
    return phases


def _texture_training_item(name, iterations):
    """``fit_texture`` for ``iterations`` iterations (the target texture is made beforehand, unprofiled)."""
    state = {}

    def fit(its):
        from pixelflow.nca import feature_extractor
        from pixelflow.nca.texture import TextureRecipe, fit_texture

        recipe = TextureRecipe(iterations=its, grid=48, steps=(24, 48), pool_size=256, seed=0)
        fit_texture(state["target"], recipe, feature_extractor(seed=0), progress=False)

    def prepare():
        from pixelflow.nca.texture import target_texture

        state["target"] = target_texture(name)
        fit(1)  # first torch calls of the process

    def run():
        fit(iterations)
        return {"iterations": iterations}
    return prepare, run


def _target_item(name):
    def run():
        from pixelflow.nca.texture import target_texture

        target_texture(name)
    return run


def phases_06(res) -> list[Phase]:
    w = res["wall_time_s"]
    its = 30
    phases = []
    for name in ("gray_scott", "gravel"):
        prepare, run = _texture_training_item(name, its)
        train = Item(f"Trainer.fit {name}, {its} of 1500 iterations", run, 1500 / its)
        train.prepare = prepare
        phases.append(Phase("06_texture_nca", f"train {name}", w[f"train {name}"], [
            Item(f"target_texture {name} (made once per phase)", _target_item(name), 1.0), train],
            notes=["one torch thread; 48x48 grid, 12 channels, batch 4 from a pool of 256, 24-48 steps per "
                   "iteration, style loss of a random multi-scale network"]))
    return phases


def phases_07(res) -> list[Phase]:
    w = res["wall_time_s"]
    its, n_test = 16, 160

    def models():
        from pixelflow.nca import attention_nca, conv_nca_matching, count_parameters

        attention = attention_nca(16, heads=4, head_dim=8, hidden=96, seed=0)
        conv = conv_nca_matching(count_parameters(attention), 16, hidden=96, seed=0)
        return {"attention NCA": attention, "convolution NCA": conv}

    def train(name):
        def run():
            from pixelflow.nca import Trainer
            from pixelflow.nca.inpainting import InpaintingTask

            task = InpaintingTask(dataset("mnist").X_train, 16, hidden=0.5)
            Trainer(models()[name], task, iterations=its, batch_size=8, steps=(16, 32), lr=2e-3, seed=0,
                    progress=False).fit()
        return run

    def test(name):
        def run():
            import torch

            from pixelflow.nca.inpainting import inpaint, random_known

            X = dataset("mnist").X_test[:n_test]
            known = random_known(len(X), 28, 28, 0.5, torch.Generator().manual_seed(0))
            inpaint(models()[name], X, known, 32, 1)
        return run

    def warm(name):
        def go():
            from pixelflow.nca import Trainer
            from pixelflow.nca.inpainting import InpaintingTask

            task = InpaintingTask(dataset("mnist").X_train[:64], 16, hidden=0.5)
            Trainer(models()[name], task, iterations=1, batch_size=8, steps=(2, 3), lr=2e-3, seed=0,
                    progress=False).fit()
        return go

    phases = []
    for name in ("attention NCA", "convolution NCA"):
        item = Item(f"Trainer.fit {name}, {its} of 800 iterations", train(name), 800 / its)
        item.prepare = warm(name)
        phases.append(Phase("07_attention_inpainting", f"train {name}", w[f"train {name}"], [item],
                            notes=["untrained weights: the work per iteration does not depend on them"]))
    for name in ("attention NCA", "convolution NCA"):
        item = Item(f"inpaint {n_test} of 10,000 test digits, 32 steps", test(name), 10000 / n_test)
        item.prepare = warm(name)
        phases.append(Phase("07_attention_inpainting", f"test {name}", w[f"test {name}"], [item]))
    return phases


def phases_08(res, cells) -> list[Phase]:
    total = res["wall_time_s"]["total"]
    transfer_cell = max(cells, key=lambda c: c[1]) if cells else (None, total, "", "")

    def run(method, k, steps=96):
        def go():
            from pixelflow.nca.checkpoint import load_model
            from pixelflow.nca.resolution import transfer

            model, _ = load_model(RESULTS / "models" / "texture_nca_gray_scott.pt")
            transfer(model, 48, k, steps, method, n=4, seed=0)
        return go

    # Work of every (method, k) of the cell relative to the profiled ones: cells x steps of each rollout.
    work = {("rescaled perception", 2): 4, ("rescaled perception", 4): 16, ("rescaled, dt=1/k", 2): 8,
            ("rescaled, dt=1/k", 4): 64, ("rescaled PDE, dt=1/k²", 2): 16, ("rescaled PDE, dt=1/k²", 4): 256,
            ("unscaled rule", 1): 1, ("unscaled rule", 2): 4, ("unscaled rule", 4): 16,
            ("bilinear upsampling", 2): 1, ("bilinear upsampling", 4): 1}
    mean_field = sum(v for (mth, _), v in work.items() if "PDE" in mth)
    plain = sum(v for (mth, _), v in work.items() if "PDE" not in mth)
    items = [Item("transfer gray_scott, rescaled PDE dt=1/k², k=2 (mean field)", run("rescaled PDE, dt=1/k²", 2),
                  2 * mean_field / 16, "stands for the mean-field runs of both textures, by cells x steps"),
             Item("transfer gray_scott, rescaled perception, k=2", run("rescaled perception", 2), 2 * plain / 4,
                  "stands for the other rollouts of both textures, by cells x steps")]
    for item, method in zip(items, ("rescaled PDE, dt=1/k²", "rescaled perception")):
        item.prepare = run(method, 2, steps=1)
    phase = Phase("08_resolution_transfer", f"(cell {transfer_cell[0]}: transfer + figures)", transfer_cell[1], items,
                  notes=["no timed phase: the papermill duration of the cell that grows every texture at 1x, 2x, 4x",
                         f"work by cells x steps: mean-field PDE runs {mean_field} units, other runs {plain} "
                         "(k=4 PDE alone: 256 units)"])
    phase.cell = transfer_cell[0]
    return [phase]


def phases_09(res) -> list[Phase]:
    from pixelflow import ReservoirConfig

    w = res["wall_time_s"]
    results = res["metrics"]["results"]
    config = ReservoirConfig(28, 28, 16, 4, "random_nca", rule_params={"gain": 2.0, "leak": 0.9},
                             record=(1, 2, 3, 4), pool=4, seed=0)
    n_batches = 12

    def learned(train, batches=n_batches):
        def run():
            from pixelflow.nca.learned_reservoir import LearnedReservoirClassifier

            ds = dataset("mnist")
            fit_idx, val_idx = split("mnist")
            n = 64 * batches
            clf = LearnedReservoirClassifier(config, epochs=1, lr=1e-3, batch_size=64, seed=0, train=train,
                                             readout_alpha=1.0, progress=False)
            clf.fit(ds.X_train[fit_idx[:n]], ds.y_train[fit_idx[:n]], ds.X_train[val_idx[:n]], ds.y_train[val_idx[:n]])
            clf.transform(ds.X_train[:2000])
        return run

    def fixed():
        from pixelflow.workbook.protocols.fixed_vs_learned import evaluate

        ds = dataset("mnist")
        evaluate(config, ds.X_train, ds.y_train, ds.X_test, ds.y_test, train=None, seeds=(0,),
                 alphas=(0.01, 0.1, 1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e4, 1e5), epochs=4, split_seed=0,
                 backend="cpu", progress=False)
        n = len(split("mnist")[0])
        return {"ridge_fits": [{"form": "primal", "n": n, "d": config.n_features, "n_alpha": 10},
                               {"form": "primal", "n": len(ds.y_train), "d": config.n_features, "n_alpha": 1}]}

    phases = []
    for name, r in results.items():
        rec = {"nca training": sum(r["train_s"]), "features": sum(r["transform_s"]), "ridge": sum(r["readout_s"]),
               "outside the per-seed timers": w[name] - sum(r["cost_s"])}
        if r["train"] is None:
            items = [Item("evaluate fixed reservoir, seed 0 of 3 (features, 10-alpha path, refit, test)", fixed, 3.0,
                          family="random_nca")]
        else:
            items = [Item(f"LearnedReservoirClassifier.fit {name}: {n_batches} batches of 64, 1 epoch; transform "
                          "2,000 images", learned(tuple(r["train"])), 1.0)]
            items[0].prepare = learned(tuple(r["train"]), batches=1)

        def strata(rates, r=r, name=name):
            out = {"nca/train": sum(r["train_s"]), "ridge/path+refit": sum(r["readout_s"])}
            out["features/random_nca" if r["train"] is None else "nca/learned_features"] = sum(r["transform_s"])
            out["other/encode+setup"] = sum(r["cost_s"]) - sum(r["train_s"]) - sum(r["transform_s"]) - sum(
                r["readout_s"])
            return out
        cpu_ratio = sum(r["cpu_s"]) / sum(r["cost_s"])
        phases.append(Phase("09_fixed_vs_learned", name, w[name], items, strata=strata, recorded_split=rec,
                            notes=[f"CPU seconds / wall seconds of the paper run: {cpu_ratio:.2f} "
                                   f"({'1 torch thread' if r['train'] else '2 feature threads, 1 BLAS thread'})"]))
    return phases


def phases_10(res, trials_per_pair: int) -> list[Phase]:
    w = res["wall_time_s"]
    ns = run_setup_cells("10_time_series", ['scale = "smoke"', 'NB = "10_time_series"', "TASKS = {"])
    tasks, S = ns["TASKS"], ns["S"]
    from pixelflow.workbook.protocols import sequences

    search_items, test_items = [], []
    recorded = res["metrics"]["search"]
    for name, (task, fc) in tasks.items():
        for kind in sequences.KINDS:
            rng = np.random.default_rng([0, sequences.KINDS.index(kind)])
            draws = [sequences.sample(sequences.SPACES[kind], rng) for _ in range(trials_per_pair)]

            def run(task=task, fc=fc, kind=kind, draws=draws):
                for params in draws:
                    sequences.evaluate(sequences.Candidate(kind, params, S["features"], 0, "cpu"), task,
                                       forecast=fc)
                return {"kind": kind}
            # joblib's loky workers run the trials with one BLAS thread each (cpu_count // n_jobs).
            item = Item(f"search {name} | {kind}: trials 1-{trials_per_pair} of {S['trials']}", run,
                        S["trials"] / trials_per_pair, blas_threads=max(1, (os.cpu_count() or 1) // S["n_jobs"]))

            def warm(task=task, kind=kind, draws=draws):
                model, run_params = sequences.Candidate(kind, draws[0], S["features"], 0, "cpu").build()
                model.run(task.inputs[:, :30], **run_params)
            item.prepare = warm
            search_items.append(item)
            best = recorded[f"{name} | {kind}"][0]["params"]

            def run_test(task=task, fc=fc, kind=kind, best=best):
                sequences.assess(kind, best, task, seeds=(0,), features=S["features"], forecast=fc, backend="cpu")
                return {"kind": kind}
            test_items.append(Item(f"assess {name} | {kind}: seed 1 of {len(S['seeds'])}", run_test,
                                   len(S["seeds"])))
    notes = [f"paper run: {S['n_jobs']} joblib processes with one BLAS thread each; here every trial runs in this "
             "process with one BLAS thread (shares per CPU-second; the recorded wall time is split by them)"]
    return [Phase("10_time_series", "search", w["search"], search_items, notes=notes),
            Phase("10_time_series", "test", w["test"], test_items,
                  notes=["assess: the chosen hyperparameters refitted per weight seed, scored on validation and "
                         "test; it runs in the notebook's process with the default BLAS threads, as profiled"])]


def phases_11(res) -> list[Phase]:
    w = res["wall_time_s"]
    m = res["metrics"]
    from pixelflow import ReservoirConfig, RidgeReadout
    from pixelflow.workbook import presets
    from pixelflow.workbook.protocols import Candidate

    cand_a = presets.get("mnist").candidate()
    config_b = ReservoirConfig(28, 28, 16, 4, "random_nca", rule_params={"gain": 2.0, "leak": 0.9},
                               record=(1, 2, 3, 4), pool=4)
    cand_b = Candidate("random_nca 28×28×16", config_b, RidgeReadout(alpha=1.0, standardize=True))
    phases = []
    a_mem = m["a"]["in_memory"]
    b_mem = m["b"]["in_memory"]

    def mem_strata(r, rule_family):
        def strata(rates):
            n = r["n_train"] * (2 if r.get("augment") else 1)
            split_s = model_split(ridge_form(n, r["n_features"]), n, r["n_features"], 1, rates)
            total = sum(split_s.values())
            out = {rule_family: sum(r["transform_s"]), "ridge/predict": sum(r["predict_s"])}
            for k, v in split_s.items():
                out[k] = sum(r["fit_s"]) * v / total
            return out
        return strata

    phases.append(Phase("11_scale_out", "a: in memory", w["a: in memory"], [],
                        strata=mem_strata(a_mem, "features/random_nca"), shared_with="01_mnist/search#2",
                        recorded_split={"features": sum(a_mem["transform_s"]), "ridge": sum(a_mem["fit_s"]) + sum(
                            a_mem["predict_s"])},
                        notes=["the same call as 01_mnist's final evaluation of the preset, seed 0; its ridge rates "
                               "come from 01's dual fit of the same features (N=11200)"]))

    def b_memory():
        from pixelflow.workbook.protocols import evaluate

        ds = dataset("fashion")
        evaluate(cand_b, ds.X_train[:10000], ds.y_train[:10000], ds.X_test[:2000], ds.y_test[:2000], seeds=(0,),
                 backend="cpu", progress=False, augment="hflip")
        return {"ridge_fits": [{"form": "primal", "n": 20000, "d": config_b.n_features, "n_alpha": 1}]}
    phases.append(Phase("11_scale_out", "b: in memory", w["b: in memory"], [
        Item("evaluate random_nca 28x28x16 + hflip on 10,000 of 60,000 training and 2,000 test images", b_memory,
             {"features": 6.0, "ridge/pass": 6.0, "ridge/solve": 1.0, "*": 6.0}, family="random_nca")],
        strata=mem_strata(b_mem, "features/random_nca"),
        recorded_split={"features": sum(b_mem["transform_s"]), "ridge": sum(b_mem["fit_s"]) + sum(b_mem["predict_s"])}))

    def dask_item(cand, data, n_train, n_test, rows, augment):
        def run():
            import dask

            from pixelflow.workbook.protocols.out_of_core import evaluate_out_of_core

            ds = dataset(data)
            with dask.config.set(scheduler="synchronous"):
                evaluate_out_of_core(cand, ds.X_train[:n_train], ds.y_train[:n_train], ds.X_test[:n_test],
                                     ds.y_test[:n_test], rows=rows, seed=0, backend="cpu", augment=augment)
        return run

    da, db = m["a"]["dask"], m["b"]["dask"]
    chunks_a, chunks_b = da["chunks"], db["chunks"]
    phases.append(Phase("11_scale_out", "a: dask", w["a: dask"], [
        Item("evaluate_out_of_core preset, 1 training + 1 test chunk of 3,500 images, synchronous scheduler",
             dask_item(cand_a, "mnist", 3500, 3500, 3500, None),
             {"features": (chunks_a[0] + chunks_a[1]) / 2, "ridge/pass": chunks_a[0], "ridge/predict": chunks_a[1],
              "dask": (chunks_a[0] + chunks_a[1]) / 2, "*": 1.0}, family="random_nca")],
        notes=[f"paper run: {chunks_a[0]} training and {chunks_a[1]} test chunks on 2 worker processes; features, "
               "per-chunk statistics and the merge tree ran in the workers, the D=14016 primal solve on the client; "
               f"spilled {sum(x['spilled_bytes'] for x in m['a']['workers']) / 1e9:.1f} GB to disk",
               "worker-side serialisation and spilling are not in the slice (no cluster here)"]))
    phases.append(Phase("11_scale_out", "b: dask", w["b: dask"], [
        Item("evaluate_out_of_core random_nca + hflip, 2 training chunks (+2 mirrored) + 1 test chunk of 2,000 images, "
             "synchronous scheduler", dask_item(cand_b, "fashion", 4000, 2000, 2000, "hflip"),
             {"features": (chunks_b[0] + chunks_b[1]) / 5, "ridge/pass": chunks_b[0] / 4, "ridge/predict": chunks_b[1],
              "dask": (chunks_b[0] + chunks_b[1]) / 5, "*": 1.0}, family="random_nca")],
        notes=[f"paper run: {chunks_b[0]} training and {chunks_b[1]} test chunks; workers limited to 800 MiB, "
               f"spilled {sum(x['spilled_bytes'] for x in m['b']['workers']) / 1e9:.1f} GB"]))
    return phases


# ---------------------------------------------------------------------------
# Repeated work
# ---------------------------------------------------------------------------


def _member_keys(config_dict) -> list[str]:
    members = config_dict["stack"] if "stack" in config_dict else [config_dict]
    return [json.dumps(mm, sort_keys=True) for mm in members]


def repeated_work(results: dict) -> dict:
    """Feature matrices and readout fits the paper computes more than once, with their recorded seconds."""
    from pixelflow.stack import config_from_dict

    findings = []
    # (a) Final evaluations recompute, for seed 0, the training features the search already computed.
    for nb, data_n in (("01_mnist", 14000), ("02_fashion_mnist", 60000), ("03_cifar10", 4660)):
        m = results[nb]["metrics"]
        search_rows = m["search"]["ours"] if nb == "01_mnist" else (
            m["search"] if nb == "02_fashion_mnist" else [r for rows in m["search"].values() for r in rows])
        by_label = {}
        for r in search_rows:
            by_label.setdefault(r["label"], r)
        secs, fit_secs, items = 0.0, 0.0, []  # fit_secs: refit passes over rows the search already summed
        for method, r in m["final"].items():
            row = by_label.get(r["label"])
            if row is None or r["rule"] == "raw" or not r["transform_s"]:
                continue
            n_test = r["n_test"]
            train_share = r["n_train"] * (2 if r.get("augment") else 1) / (
                r["n_train"] * (2 if r.get("augment") else 1) + n_test)
            again = r["transform_s"][0] * train_share
            secs += again
            items.append({"method": method, "seed0_train_features_s": round(again, 1),
                          "search_transform_s": round(row["transform_s"], 1)})
            if row["n_features"] <= 0.8 * r["n_train"]:
                fit_secs += 0.8 * r["fit_s"][0]
        findings.append({
            "what": f"{nb}: final evaluation, seed 0, recomputes the training features the search computed "
                    "(the search's fit+validation rows are the full training set; features are batch-invariant)",
            "seconds": round(secs, 1), "items": items,
            "also": f"primal refits could reuse the search's fit-row statistics (RidgeStats.merge with the "
                    f"validation rows): ~{fit_secs:.0f} s of the refits' passes (80 % of their rows)",
            "also_s": round(fit_secs, 1)})
    # (b) 01, 09, 11 compute the same MNIST features.
    m01, m09, m11 = (results[k]["metrics"] for k in ("01_mnist", "09_fixed_vs_learned", "11_scale_out"))
    preset_final = m01["final"]["ours: random_nca"]
    a_mem = m11["a"]["in_memory"]
    same_a = preset_final["configs"][0] == a_mem["configs"][0]
    findings.append({
        "what": "11_scale_out 'a: in memory' is 01_mnist's final evaluation of the preset, seed 0: same config "
                f"(identical dict: {same_a}), same split, same features (train + test) and the same ridge fit",
        "seconds": round(results["11_scale_out"]["wall_time_s"]["a: in memory"], 1),
        "items": [{"01 transform_s": round(preset_final["transform_s"][0], 1),
                   "01 fit_s": round(preset_final["fit_s"][0], 1),
                   "11 transform_s": round(a_mem["transform_s"][0], 1), "11 fit_s": round(a_mem["fit_s"][0], 1)}]})
    c16 = [r for r in m01["search"]["ours"] if r["name"] == "random_nca g2 l0.9 c16"]
    fixed = m09["results"]["fixed"]
    findings.append({
        "what": "09_fixed_vs_learned 'fixed', seed 0: the config of 01_mnist's 'random_nca g2 l0.9 c16' on the same "
                "split; its fit/validation features and its 10-alpha ridge path repeat 01's search of that config "
                f"(01 best validation {100 * max(r['val_accuracy'] for r in c16):.2f} %, "
                f"09 {100 * fixed['val_accuracy'][0]:.2f} %)",
        "seconds": round(c16[0]["transform_s"] + sum(r["fit_s"] for r in c16), 1),
        "items": [{"01 transform_s": round(c16[0]["transform_s"], 1),
                   "01 ridge path fit_s": round(sum(r["fit_s"] for r in c16), 1),
                   "09 seed 0 transform_s (fit, val and test rows)": round(fixed["transform_s"][0], 1),
                   "09 seed 0 readout_s (path + refit + test)": round(fixed["readout_s"][0], 1)}]})
    for name, r in m09["results"].items():
        if r["train"] is None:
            continue
        inside = sum(c - t - f - o for c, t, f, o in zip(r["cost_s"], r["train_s"], r["transform_s"], r["readout_s"]))
        findings.append({
            "what": f"09_fixed_vs_learned '{name}': LearnedReservoirClassifier.fit computes the features of the fit "
                    "rows and fits its own ridge readout, which the protocol does not use; the protocol then "
                    "recomputes those features (its transform_s) and fits its own readout. Seconds: the fit's "
                    "time outside training (upper bound: also the encoding and the scaler probe)",
            "seconds": round(inside, 1), "items": [{"per seed": [round(c - t - f - o, 1) for c, t, f, o in zip(
                r["cost_s"], r["train_s"], r["transform_s"], r["readout_s"])]}]})
    # (c) 11: the dask runs recompute the in-memory features (by design: the comparison).
    for part in ("a", "b"):
        r = m11[part]["in_memory"]
        findings.append({
            "what": f"11_scale_out part ({part}): the dask run recomputes the in-memory run's features (train"
                    f"{' + mirrored' if part == 'b' else ''} + test) on the workers: the comparison is the point, "
                    "but the features themselves are the same",
            "seconds": round(sum(r["transform_s"]), 1), "items": [], "by_design": True})
    # (d) Stack members computed again inside searches.
    for nb in ("01_mnist", "03_cifar10"):
        m = results[nb]["metrics"]
        groups = {"ours": m["search"]["ours"]} if nb == "01_mnist" else m["search"]
        for gname, rows in groups.items():
            configs = {}
            for r in rows:
                configs.setdefault(r["name"], r)
            # Member configs of each feature map (from the results' own descriptions is not enough: rebuild).
            findings_here = _stack_overlaps(nb, gname, configs, config_from_dict)
            findings.extend(findings_here)
    # (e) 03: rgb+hflip search recomputes rgb's fit and validation features of the same two configs.
    m03 = results["03_cifar10"]["metrics"]["search"]
    rgb = {r["name"].split(": ", 1)[1]: r["transform_s"] for r in m03["rgb"]}
    hflip = {r["name"].split(": ", 1)[1]: r["transform_s"] for r in m03["rgb+hflip"]}
    shared = {k: rgb[k] for k in hflip if k in rgb and k != "raw pixels"}
    findings.append({
        "what": "03_cifar10: search_rgb+hflip recomputes the unmirrored fit and validation features that search_rgb "
                f"computed for {', '.join(shared)}",
        "seconds": round(sum(shared.values()), 1), "items": [{k: round(v, 1) for k, v in shared.items()}]})
    return {"findings": findings,
            "total_s": round(sum(f["seconds"] for f in findings if not f.get("by_design")), 1),
            "by_design_s": round(sum(f["seconds"] for f in findings if f.get("by_design")), 1)}


_STACK_CONFIGS: dict = {}


def _stack_overlaps(nb, group, configs, config_from_dict) -> list:
    """Stack members equal to another searched feature map of the same search (same data, same rows)."""
    cands = _STACK_CONFIGS.get((nb, group))
    if not cands:
        return []
    keyed = {name: _member_keys(cfg) for name, cfg in cands.items() if cfg is not None}
    singles = {keys[0]: name for name, keys in keyed.items() if len(keys) == 1}
    out = []
    for name, keys in keyed.items():
        if len(keys) < 2:
            continue
        for k in keys:
            if k in singles:
                other = singles[k]
                secs = configs[other]["transform_s"] if other in configs else 0.0
                out.append({"what": f"{nb} search ({group}): the stack '{name}' recomputes its member "
                                    f"'{other}' (same config and seed, same rows)",
                            "seconds": round(secs, 1), "items": [{"member transform_s": round(secs, 1)}]})
    return out


def distinct_configs(results) -> dict:
    """Candidates vs distinct feature maps vs distinct reservoir members per search (the work the search shares)."""
    out = {}
    for key, cands in _ALL_CANDIDATES.items():
        configs = {json.dumps(c.config.to_dict(), sort_keys=True) if c.config is not None else "raw" for c in cands}
        members = set()
        for c in cands:
            if c.config is not None:
                members.update(_member_keys(c.config.to_dict()))
        out[key] = {"candidates": len(cands), "feature_maps": len(configs), "reservoir_members": len(members),
                    "member_runs": sum(len(_member_keys(json.loads(k))) for k in configs if k != "raw")}
    return out


_ALL_CANDIDATES: dict = {}


def _register(key: str, cands, stack_group=None) -> None:
    """Remember a search's candidates (for counting feature maps and stack members shared between them)."""
    _ALL_CANDIDATES[key] = list(cands)
    if stack_group is not None:
        _STACK_CONFIGS[stack_group] = {c.name: (None if c.config is None else c.config.to_dict()) for c in cands}


# ---------------------------------------------------------------------------
# Levers
# ---------------------------------------------------------------------------


def eigh_vs_cholesky(n: int = 2500) -> dict:
    """Seconds of one symmetric eigendecomposition vs one Cholesky factorisation at size n, one BLAS thread."""
    import scipy.linalg as sl
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    A = rng.standard_normal((n + 200, n))
    G = A.T @ A
    def cholesky():
        t0 = time.perf_counter()
        sl.cho_factor(np.array(G, order="F"), overwrite_a=True, check_finite=False)
        return time.perf_counter() - t0

    cho, cho2, eig = [], [], []
    for _ in range(3):  # interleaved, best of three: the machine is shared
        with threadpool_limits(1):
            cho.append(cholesky())
            t0 = time.perf_counter()
            sl.eigh(G, check_finite=False, driver="evd")
            eig.append(time.perf_counter() - t0)
        with threadpool_limits(2):
            cho2.append(cholesky())
    return {"n": n, "cholesky_s": min(cho), "eigh_s": min(eig), "ratio": min(eig) / min(cho),
            "cholesky_2_threads_s": min(cho2), "two_thread_speedup": min(cho) / min(cho2),
            "cholesky_2_threads_worst_s": max(cho2), "load_average": os.getloadavg()}


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def use_numpy_random_nca(path: str) -> dict:
    """Pin random_nca to the path the recorded paper runs took (numpy on chunk threads), in this process only.

    Returns the kernel table entry found and the one used.
    """
    from pixelflow.backends import fused

    found = tuple(fused.KERNELS.get("random_nca", ()))
    if path == "numpy" and "cpu" in found:
        fused.KERNELS["random_nca"] = tuple(x for x in found if x != "cpu")
    return {"random_nca_kernels_found": list(found), "random_nca_kernels_used": list(fused.KERNELS["random_nca"])}


def random_nca_kernel_speedup(found: list) -> dict:
    """Transform time of two MNIST random_nca configs on the numpy path and with the cpu kernel, if one is there.

    Both call ``transform`` directly (never a feature cache).
    """
    from pixelflow import ReservoirConfig
    from pixelflow.backends import fused
    from pixelflow.stack import make_reservoir
    from pixelflow.workbook import presets

    if "cpu" not in found:
        return {"status": "no cpu kernel for random_nca in this working tree"}
    configs = {"preset mnist (3 grids, second order)": presets.get("mnist").reservoir,
               "random_nca 28x28x16, pool 4 (09, 11 b)": ReservoirConfig(
                   28, 28, 16, 4, "random_nca", rule_params={"gain": 2.0, "leak": 0.9}, record=(1, 2, 3, 4), pool=4,
                   seed=0)}
    X = dataset("mnist").X_train[:1000]
    saved = fused.KERNELS["random_nca"]
    out = {"status": "measured", "n_images": len(X), "configs": {}}
    try:
        for name, cfg in configs.items():
            times: dict = {"numpy": math.inf, "cpu kernel": math.inf}
            for _ in range(3):  # interleaved, best of three: the machine is shared
                for label, table in (("numpy", tuple(x for x in found if x != "cpu")), ("cpu kernel", tuple(found))):
                    fused.KERNELS["random_nca"] = table
                    reservoir = make_reservoir(cfg, backend="cpu", progress=False)
                    reservoir.transform(X[:8])
                    t0 = time.perf_counter()
                    F = reservoir.transform(X)
                    times[label] = min(times[label], time.perf_counter() - t0)
                    times[f"{label} checksum"] = float(np.asarray(F, dtype=np.float64).sum())
            times["speedup"] = times["numpy"] / times["cpu kernel"]
            out["configs"][name] = times
    except Exception as exc:  # an unfinished kernel in the working tree must not stop the profile
        out = {"status": f"failed: {type(exc).__name__}: {exc}"}
    finally:
        fused.KERNELS["random_nca"] = saved
    return out


def timeseries_blas_threads(results) -> dict:
    """One assess of notebook 10 (NARMA-10, wave, seed 0) with the default BLAS threads and with one thread."""
    from threadpoolctl import threadpool_limits

    ns = run_setup_cells("10_time_series", ['scale = "smoke"', 'NB = "10_time_series"', "TASKS = {"])
    from pixelflow.workbook.protocols import sequences

    task, fc = ns["TASKS"]["NARMA-10"]
    params = results["10_time_series"]["metrics"]["search"]["NARMA-10 | wave"][0]["params"]

    def once():
        t0 = time.perf_counter()
        sequences.assess("wave", params, task, seeds=(0,), features=ns["S"]["features"], forecast=fc, backend="cpu")
        return time.perf_counter() - t0

    once()
    times = {"default": [], "one": []}
    for _ in range(2):
        times["default"].append(once())
        with threadpool_limits(limits=1):
            times["one"].append(once())
    default, one = min(times["default"]), min(times["one"])
    return {"task": "NARMA-10 | wave, seed 0", "default_threads_s": default, "one_thread_s": one,
            "speedup": default / one}


def warm_imports() -> None:
    """Import what the slices use before any profile, so no slice pays (and is scaled by) an import."""
    import dask.array  # noqa: F401
    import distributed  # noqa: F401
    import reservoirpy  # noqa: F401
    import scipy.optimize  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import torch  # noqa: F401

    import pixelflow.nca  # noqa: F401
    import pixelflow.nca.inpainting  # noqa: F401
    import pixelflow.nca.learned_reservoir  # noqa: F401
    import pixelflow.nca.resolution  # noqa: F401
    import pixelflow.nca.texture  # noqa: F401
    import pixelflow.timeseries.esn  # noqa: F401
    import pixelflow.workbook.protocols.out_of_core  # noqa: F401


def _git(*args) -> str | None:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def git_state() -> dict:
    return {"commit": _git("rev-parse", "HEAD") or None,
            "dirty_package_files": [line[3:] for line in
                                    (_git("status", "--porcelain", "pixelflow") or "").splitlines()]}


def package_changes_since(results: dict) -> list[str]:
    """Commits that changed the package since the oldest commit a paper-scale result came from.

    The slices run the installed code; ``--code recorded`` undoes only the random_nca kernel and the
    feature cache, so these are the other differences from the recorded runs' code.
    """
    commits = {r.get("provenance", {}).get("git", {}).get("commit") for r in results.values()} - {None}
    if not commits:
        return []
    oldest = min(commits, key=lambda c: int(_git("show", "-s", "--format=%ct", c) or 0))
    log = _git("log", "--format=%h %s", f"{oldest}..HEAD", "--", "pixelflow") or ""
    return [line[:160] for line in log.splitlines()]


def build_phases(results, args) -> list[Phase]:
    cells = {nb: cell_durations(nb) for nb in results}
    builders = {
        "00_quickstart": lambda: phases_00(results["00_quickstart"]),
        "01_mnist": lambda: phases_01(results["01_mnist"]),
        "02_fashion_mnist": lambda: phases_02(results["02_fashion_mnist"]),
        "03_cifar10": lambda: phases_03(results["03_cifar10"]),
        "06_texture_nca": lambda: phases_06(results["06_texture_nca"]),
        "07_attention_inpainting": lambda: phases_07(results["07_attention_inpainting"]),
        "08_resolution_transfer": lambda: phases_08(results["08_resolution_transfer"], cells["08_resolution_transfer"]),
        "09_fixed_vs_learned": lambda: phases_09(results["09_fixed_vs_learned"]),
        "10_time_series": lambda: phases_10(results["10_time_series"], args.trials),
        "11_scale_out": lambda: phases_11(results["11_scale_out"]),
    }
    phases = []
    for nb, build in builders.items():
        if nb in results:
            phases.extend(build())
    # Every other recorded phase, and the time outside the timed phases, as unprofiled rows.
    covered = {(p.notebook, p.phase) for p in phases}
    for nb, res in results.items():
        w = res["wall_time_s"]
        for name, secs in w.items():
            if name != "total" and (nb, name) not in covered:
                phases.append(Phase(nb, name, secs, notes=["not profiled (small)"]))
        outside = w["total"] - sum(v for k, v in w.items() if k != "total")
        if nb == "08_resolution_transfer":
            outside -= sum(p.seconds for p in phases if p.notebook == nb)
        if outside > 0.5:
            skip = {i for p in phases if p.notebook == nb for i in [getattr(p, "cell", None)] if i is not None}
            big = sorted((c for c in cells[nb] if c[1] > 1.0 and "rec.timer(" not in c[3] and c[0] not in skip),
                         key=lambda c: -c[1])[:3]
            phases.append(Phase(nb, "(outside timed phases)", outside,
                                fixed=untimed_cells_split(cells[nb], outside, skip),
                                notes=["not profiled: split by the papermill durations of the untimed cells, by what "
                                       "they call (rollouts, data loaders, figures); largest: "
                                       + "; ".join(f"cell {i} {d:.0f} s '{s}'" for i, d, s, _ in big)]))
    return phases


def _selected(phase: Phase, only: list[str]) -> bool:
    if not only:
        return True
    return any(f"{phase.notebook}/{phase.phase}".startswith(o) or phase.notebook == o for o in only)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-dir", default=None, help="folder of the data sets (default: $PIXELFLOW_DATA)")
    ap.add_argument("--only", nargs="*", default=[],
                    help="profile only these notebooks or notebook/phase prefixes (others keep no measured split)")
    ap.add_argument("--trials", type=int, default=2, help="time-series search trials profiled per task and reservoir")
    ap.add_argument("--code", choices=("recorded", "as-installed"), default="recorded",
                    help="'recorded' (default): the code paths the recorded paper runs took, in this process: "
                         "random_nca features on the numpy path and no feature cache; 'as-installed': the working "
                         "tree as it is (kernel table and feature cache included)")
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args(argv)
    if args.trials < 1:
        raise ValueError(f"--trials must be at least 1, got {args.trials}")
    if args.data_dir is not None:
        if not Path(args.data_dir).is_dir():
            raise ValueError(f"--data-dir {args.data_dir!r} is not a directory")
        os.environ["PIXELFLOW_DATA"] = str(Path(args.data_dir).resolve())

    started = time.perf_counter()
    load_before = os.getloadavg()
    git_before = git_state()
    results = {nb: load_results(nb) for nb in notebook_names()}
    if args.code == "recorded":
        # The recorded runs had no feature cache: every feature matrix is computed, as they computed it.
        os.environ["PIXELFLOW_FEATURE_CACHE"] = "off"
    kernels = use_numpy_random_nca("numpy" if args.code == "recorded" else "as-installed")
    kernels["feature_cache"] = os.environ.get("PIXELFLOW_FEATURE_CACHE", "default")
    warm_imports()
    recorded_total = sum(r["wall_time_s"]["total"] for r in results.values())
    per_call = calibrate_overhead()
    print(f"profiler cost per call: {per_call * 1e6:.2f} us; recorded total {recorded_total / 60:.1f} min", flush=True)

    phases = build_phases(results, args)
    profiled: dict[str, list] = {}
    for p in phases:
        if not p.items or not _selected(p, args.only):
            continue
        key = f"{p.notebook}/{p.phase}"
        profiled[key] = []
        for item in p.items:
            if hasattr(item, "prepare"):
                item.prepare()
            t0 = time.perf_counter()
            rec = profile_item(item, per_call)
            profiled[key].append(rec)
            print(f"  {key:42s} {item.name[:70]:70s} {time.perf_counter() - t0:6.1f} s", flush=True)
    all_items = [it for items in profiled.values() for it in items]
    rates = measure_rates(all_items)
    lever_linalg = eigh_vs_cholesky()
    lever_kernel = random_nca_kernel_speedup(kernels["random_nca_kernels_found"])
    lever_ts = timeseries_blas_threads(results)

    # Extrapolation, phase by phase.
    rows = []
    for p in phases:
        key = f"{p.notebook}/{p.phase}"
        items = profiled.get(key) or []
        if not items and p.shared_with:
            shared_key, _, index = p.shared_with.partition("#")
            items = profiled.get(shared_key, [])[int(index or 0):][:1]
        measured = _sum(it["scaled_s"] for it in items)
        measured_shares = _shares(measured)
        method = "slice"
        if p.strata is not None and rates:
            strata = p.strata(rates)
            strata_total = sum(strata.values())
            remainder = p.seconds - strata_total
            cats = dict(strata)
            if remainder > 0:
                # Time outside the recorded unit timers: split like the slice's own time outside them.
                outside = {k: v for k, v in measured.items() if k.endswith("/predict") or top(k) in OUTSIDE_TIMERS}
                rest = _shares(outside) or {"other/outside_timers": 1.0}
                for k, v in rest.items():
                    cats[k] = cats.get(k, 0.0) + remainder * v
            scale = p.seconds / sum(cats.values())
            cats = {k: v * scale for k, v in cats.items()}
            method = "strata (recorded unit timers) + slice shares"
        elif measured_shares:
            cats = {k: p.seconds * v for k, v in measured_shares.items()}
        elif p.fixed:
            cats = dict(p.fixed)
            method = "papermill cell durations"
        else:
            cats = {"other/unprofiled": p.seconds}
            method = "unprofiled"
        item_totals = {it["name"]: sum(it["scaled_s"].values()) for it in items}
        item_shares = _rounded(_shares(item_totals), 4) if item_totals else None
        rows.append({"notebook": p.notebook, "phase": p.phase, "seconds": p.seconds, "item_shares": item_shares,
                     "share_of_total": p.seconds / recorded_total, "method": method,
                     "categories_s": _rounded(_by_top(cats), 1), "subcategories_s": _rounded(cats, 1),
                     "category_shares": _rounded(_shares(_by_top(cats)), 4),
                     "measured_slice_shares": _rounded(_shares(_by_top(measured)), 4) if measured else None,
                     "recorded_split_s": _rounded(p.recorded_split, 1) if p.recorded_split else None,
                     "slice": profiled.get(key), "slice_shared_with": p.shared_with if not profiled.get(key) else None,
                     "notes": p.notes})

    totals = _sum(r["subcategories_s"] for r in rows)
    top_totals = _by_top(totals)
    entries = sorted(((r["notebook"], r["phase"], c, s) for r in rows for c, s in r["categories_s"].items()),
                     key=lambda e: -e[3])
    repeated = repeated_work(results)
    levers = compute_levers(rows, totals, repeated, lever_linalg, lever_kernel, lever_ts, results)
    out = {
        "generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "script": "benchmarks/profile_paper.py", "git": {"at_start": git_before, "at_end": git_state()},
        "package_changes_since_results": package_changes_since(results),
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_before, "load_average_after": os.getloadavg()},
        "method": {"attribution": __doc__.split("Attribution rule\n----------------\n")[1].split("\n\n")[0],
                   "extrapolation": __doc__.split("Extrapolation\n-------------\n")[1].split("\n\n")[0],
                   "profiler_cost_per_call_us": per_call * 1e6, "ridge_rates_flop_per_s": rates,
                   "categories": CATEGORIES},
        "recorded_total_s": recorded_total, "recorded_total_min": recorded_total / 60, "target_min": TARGET_MIN,
        "notebooks": by_notebook(rows, repeated, results),
        "phases": rows,
        "totals": {c: {"seconds": round(s, 1), "minutes": round(s / 60, 2), "share": round(s / recorded_total, 4)}
                   for c, s in sorted(top_totals.items(), key=lambda kv: -kv[1])},
        "subcategory_totals": {c: {"seconds": round(s, 1), "minutes": round(s / 60, 2)}
                               for c, s in sorted(totals.items(), key=lambda kv: -kv[1])},
        "top_entries": [{"notebook": n, "phase": ph, "category": c, "seconds": round(s, 1), "minutes": round(s / 60, 2)}
                        for n, ph, c, s in entries[:15]],
        "repeated_work": repeated, "distinct_feature_maps": distinct_configs(results),
        "eigh_vs_cholesky": lever_linalg, "random_nca_kernel": lever_kernel, "timeseries_blas_threads": lever_ts,
        "kernels": kernels, "levers": levers,
        "data_load_s": LOAD_S, "script_wall_s": time.perf_counter() - started,
    }
    out_path = Path(args.out)
    write_atomic(out_path, (json.dumps(out, indent=1, default=_json_default) + "\n").encode())
    print_report(out)
    print(f"\nwritten {out_path} in {out['script_wall_s'] / 60:.1f} min")
    return 0


def by_notebook(rows, repeated, results) -> dict:
    """Per notebook: recorded total, category seconds and shares, its phases, and the repeated work it is part of."""
    out = {}
    for nb, res in results.items():
        mine = [r for r in rows if r["notebook"] == nb]
        cats = _sum(r["categories_s"] for r in mine)
        total = res["wall_time_s"]["total"]
        out[nb] = {
            "total_s": round(total, 1), "share_of_total": round(total / sum(
                x["wall_time_s"]["total"] for x in results.values()), 4),
            "categories_s": _rounded(cats, 1), "category_shares": _rounded(_shares(cats), 4),
            "phases": {r["phase"]: {k: r[k] for k in ("seconds", "method", "categories_s", "category_shares",
                                                      "subcategories_s", "notes")} for r in mine},
            "repeated_work": [f for f in repeated["findings"] if nb in f["what"]],
        }
    return out


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


# ---------------------------------------------------------------------------
# Levers from the numbers
# ---------------------------------------------------------------------------


def compute_levers(rows, totals, repeated, linalg, kernel, ts_threads, results) -> list[dict]:
    def sub(prefix, notebooks=None):
        return sum(s for r in rows for c, s in r["subcategories_s"].items()
                   if c.startswith(prefix) and (notebooks is None or r["notebook"] in notebooks))

    levers = []
    levers.append({
        "lever": "feature and fit cache across notebooks, candidates and the search -> final evaluation",
        "saves_s": repeated["total_s"],
        "how": "key features by (member config incl. seed, data file hashes, rows); reuse the search's seed-0 "
               "training features in the final evaluation, 01's preset fit in 11, 01's c16 path in 09, rgb's "
               "features in rgb+hflip, stack members searched alone",
        "basis": "recorded transform/fit seconds of the repeated units (repeated_work)"})
    stats_reuse = sum(f.get("also_s", 0.0) for f in repeated["findings"])
    levers.append({
        "lever": "seed-0 refits of the final evaluations start from the search's ridge statistics of the fit rows "
                 "(RidgeStats.merge with the validation rows' statistics; primal form only)",
        "saves_s": round(stats_reuse, 1),
        "basis": "80 % of the recorded seed-0 refit seconds of the primal-form methods (01, 02, 03)"})
    nca_feat = sub("features/random_nca")
    speedups = [c["speedup"] for c in (kernel.get("configs") or {}).values()]
    measured = float(np.median(speedups)) if speedups else None
    levers.append({
        "lever": "fused random_nca kernel (pixelflow/backends/cpu/random_nca.py)",
        "random_nca_feature_s": round(nca_feat, 1),
        "measured_speedup": measured,
        "saves_s": round(nca_feat * (1 - 1 / measured), 1) if measured else None,
        "saves_s_at_2x": round(nca_feat / 2, 1), "saves_s_at_4x": round(nca_feat * 3 / 4, 1),
        "basis": "random_nca feature seconds (numpy path on chunk threads) of the strata and slices: searches, "
                 "steps curves, final evaluations, 09 fixed, 11; speedup measured on 1,000 MNIST images if the "
                 "working tree has the kernel (random_nca_kernel)"})
    solve = sum(s for r in rows if "search" in r["phase"] or r["phase"] in ("synthetic", "mnist rules")
                for c, s in r["subcategories_s"].items() if c == "ridge/solve" and r["notebook"] != "10_time_series")
    k_eff = 10.0
    ratio = linalg["ratio"]
    levers.append({
        "lever": "one factorisation per regularisation path (eigendecomposition instead of one Cholesky per alpha)",
        "ridge_solve_s_on_paths": round(solve, 1),
        "saves_s": round(solve * (1 - ratio / k_eff), 1),
        "basis": f"measured: one eigh costs {ratio:.1f} Choleskys at n={linalg['n']} (one thread); paths have 10-11 "
                 "alphas, so one eigh replaces the 10 Choleskys only when the ratio is below 10; refits (one alpha) "
                 "gain nothing"})
    two = linalg["two_thread_speedup"]
    ridge_all = sub("ridge")
    levers.append({
        "lever": "two BLAS threads for the ridge passes and solves when the machine is otherwise idle",
        "ridge_s": round(ridge_all, 1), "saves_s": round(ridge_all * (1 - 1 / two), 1) if two > 1 else 0.0,
        "basis": f"measured Cholesky 1 vs 2 threads at n={linalg['n']}: best of three {two:.2f}x; the worst 2-thread "
                 f"run took {linalg['cholesky_2_threads_worst_s'] / linalg['cholesky_s']:.1f}x the 1-thread time "
                 "(spinning threads on a busy machine: why the protocols pin one thread)"})
    driven = sum(s for r in rows if r["notebook"] == "10_time_series" for c, s in r["subcategories_s"].items()
                 if top(c) == "features")
    levers.append({
        "lever": "fused kernels for the driven mode of notebook 10 (its CA reservoirs step one input at a time "
                 "through the numpy rule functions on 20x20 grids: Python-bound)",
        "features_s": round(driven, 1), "saves_s_at_4x": round(driven * 3 / 4, 1),
        "basis": "features seconds of notebook 10 (search and test); no driven kernel exists to measure"})
    test_s = sum(r["seconds"] for r in rows if r["notebook"] == "10_time_series" and r["phase"] == "test")
    levers.append({
        "lever": "one BLAS thread in the time-series protocol's own process (assess; the search's joblib workers "
                 "already have one)",
        "saves_s": round(test_s * (1 - 1 / ts_threads["speedup"]), 1) if ts_threads["speedup"] > 1 else 0.0,
        "basis": f"measured on one assess: {ts_threads['default_threads_s']:.2f} s with the default threads, "
                 f"{ts_threads['one_thread_s']:.2f} s with one (400x400 ridge solves spin on a busy machine)"})
    ts_pass = sum(s for r in rows if r["notebook"] == "10_time_series" for c, s in r["subcategories_s"].items()
                  if c == "ridge/pass")
    levers.append({
        "lever": "one pass per alpha grid in the time-series protocol (RidgePath, as the classification protocol "
                 "does): each trial fits 9 separate ridge readouts on the same features",
        "saves_s": round(ts_pass * 8 / 9, 1),
        "basis": "ridge/pass seconds of notebook 10 (search and test), 8 of 9 passes repeated"})
    w = {nb: r["wall_time_s"] for nb, r in results.items()}
    pairs = [("06_texture_nca", "train gray_scott", "train gravel"),
             ("07_attention_inpainting", "train attention NCA", "train convolution NCA"),
             ("07_attention_inpainting", "test attention NCA", "test convolution NCA"),
             ("09_fixed_vs_learned", "learned (mix)", "learned (mix, bias, inject)")]
    par = sum(min(w[nb][a], w[nb][b]) for nb, a, b in pairs)
    levers.append({
        "lever": "run independent one-thread NCA jobs side by side (2 cores): the two textures of 06, the two models "
                 "of 07 (train, test), the two learned variants of 09",
        "saves_s": round(par, 1),
        "basis": "recorded phase seconds; each pair's shorter phase overlaps the longer (torch runs 1 thread)"})
    return levers


def print_report(out) -> None:
    total = out["recorded_total_s"]
    print(f"\nRecorded paper-scale wall time: {total / 60:.1f} min (target {out['target_min']:.0f} min)\n")
    print(f"{'notebook':26s} {'phase':34s} {'s':>7s} {'% tot':>6s}  measured split")
    for r in out["phases"]:
        split_txt = ", ".join(f"{c} {100 * s:.0f}%" for c, s in list(r["category_shares"].items())[:4])
        print(f"{r['notebook']:26s} {r['phase'][:34]:34s} {r['seconds']:7.0f} {100 * r['share_of_total']:6.1f}  "
              f"{split_txt}")
    print("\nCategory totals (extrapolated)")
    for c, v in out["totals"].items():
        print(f"  {c:12s} {v['minutes']:7.1f} min  {100 * v['share']:5.1f} %")
    print("\nTop entries (notebook, phase, category)")
    for e in out["top_entries"][:10]:
        print(f"  {e['minutes']:6.1f} min  {e['notebook']} / {e['phase']} / {e['category']}")
    print("\nRepeated work")
    for f in out["repeated_work"]["findings"]:
        print(f"  {f['seconds']:7.1f} s  {f['what'][:150]}")
    print(f"  total {out['repeated_work']['total_s']:.0f} s (+ {out['repeated_work']['by_design_s']:.0f} s by design)")
    print("\nLevers (minutes saved by these numbers; 'at 4x': an assumed speedup, nothing measured)")
    for lv in out["levers"]:
        saved, how = lv.get("saves_s"), ""
        if saved is None:
            saved, how = lv.get("saves_s_at_4x", 0.0), " (at 4x)"
        print(f"  {saved / 60:6.1f} min{how:9s} {lv['lever'][:110]}")


if __name__ == "__main__":
    sys.exit(main())
