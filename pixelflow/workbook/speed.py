"""Throughput numbers: the benchmark files in ``results/`` and sweeps measured on the spot.

Every number here is a *row*, a dict with at least these keys:

========================  =====================================================
``implementation``        ``"pixelflow"`` or ``"pixelflow-rc"`` (the peer)
``backend``               backend name (``"cpu"``, ``"numpy"``, ``"cuda"``, ...)
``rule``                  CA rule
``grid``                  grid height H in cells (``width`` is added when W != H)
``channels``, ``steps``   state channels and CA steps
``batch``                 samples passed to one ``transform`` call
``samples_per_s``         median throughput
``cell_updates_per_s``    ``samples_per_s * H * W * steps``: one cell update
                          advances one grid site (all its channels) by one step
``device``                what ran it, in words
``source``                the file it was read from, or ``"measured"``
========================  =====================================================

:func:`load_benchmarks` reads ``results/bench*.json``: the peer comparison
written by ``benchmarks/peer_mnist.py`` and any file of ready rows (a JSON
list of rows, or an object with a ``"rows"`` list whose other ``device`` /
``implementation`` keys act as defaults). :func:`throughput_sweep` times
:meth:`Reservoir.transform` for a set of configurations and batch sizes and
returns rows of the same form, so both plot with the same code.
"""

from __future__ import annotations

import json
import statistics
import time

try:  # page-fault counts, where the platform keeps them (not on Windows)
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from pixelflow.config import ReservoirConfig
from pixelflow.reservoir import Reservoir

OURS = "pixelflow"
PEER = "pixelflow-rc"
REQUIRED_KEYS = ("backend", "rule", "grid", "channels", "steps", "batch", "samples_per_s")
ROW_DEFAULTS = ("implementation", "device")
WORKLOAD_KEYS = ("source", "rule", "grid", "channels", "steps", "batch")


def cell_updates_per_s(samples_per_s: float, height: int, width: int, steps: int) -> float:
    """Grid-site updates per second: ``samples_per_s * height * width * steps``."""
    return float(samples_per_s) * height * width * steps


def _row(*, implementation, backend, rule, grid, channels, steps, batch, samples_per_s, device, source, width=None,
         **extra) -> dict:
    width = grid if width is None else width
    row = {
        "implementation": implementation,
        "backend": backend,
        "rule": rule,
        "grid": int(grid),
        "channels": int(channels),
        "steps": int(steps),
        "batch": int(batch),
        "samples_per_s": float(samples_per_s),
        "cell_updates_per_s": float(
            extra.pop("cell_updates_per_s", None) or cell_updates_per_s(samples_per_s, grid, width, steps)
        ),
        "device": device,
        "source": source,
    }
    if width != grid:
        row["width"] = int(width)
    row.update(extra)
    return row


def _peer_rows(data: dict, source: str) -> list[dict]:
    """Rows from a ``benchmarks/peer_mnist.py`` result: ours per backend, then the peer."""
    cfg = data["workload"]["config"]
    machine = data.get("machine", {})
    device = f"{machine.get('cpu_model', 'CPU')}, {machine.get('cpu_count', '?')} cores (CPU)"
    common = dict(
        rule=cfg["rule"], grid=cfg["height"], width=cfg["width"], channels=cfg["channels"], steps=cfg["steps"],
        batch=data["workload"]["n_images"], device=device, source=source,
        data_split=data.get("data", {}).get("split"), date=data.get("date"), commit=data.get("git_commit"),
    )
    results = data["results"]
    rows = [
        _row(implementation=OURS, backend=name, samples_per_s=res["median_samples_per_s"],
             repeats=res["samples_per_s"], version=results["ours"].get("dist_version"), **common)
        for name, res in results["ours"]["backends"].items()
    ]
    peer = results.get("peer", {})
    if peer.get("status") == "ok":
        rows.append(_row(implementation=PEER, backend=peer["backend"], samples_per_s=peer["median_samples_per_s"],
                         repeats=peer["samples_per_s"], version=peer.get("dist_version"), **common))
    return rows


def _plain_rows(data, source: str) -> list[dict]:
    if isinstance(data, list):
        rows, defaults = data, {}
    elif isinstance(data, dict) and isinstance(data.get("rows"), list):
        rows, defaults = data["rows"], {k: data[k] for k in ROW_DEFAULTS if k in data}
    else:
        raise ValueError(f"{source}: expected a peer_mnist benchmark, a list of rows or an object with a 'rows' list")
    out = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"{source}: row {i} is {type(row).__name__}, expected an object")
        missing = [k for k in REQUIRED_KEYS if k not in row]
        if missing:
            raise ValueError(f"{source}: row {i} lacks {', '.join(missing)}")
        row = {"implementation": OURS, "device": None, **defaults, **row, "source": source}
        out.append(_row(**row))
    return out


def benchmark_rows(data, source: str = "<memory>") -> list[dict]:
    """Rows from the parsed JSON of one benchmark file (see the module docstring)."""
    if isinstance(data, dict) and data.get("benchmark") == "peer_mnist":
        return _peer_rows(data, source)
    return _plain_rows(data, source)


def load_benchmarks(results_dir) -> list[dict]:
    """Every row of every ``bench*.json`` directly in ``results_dir``, files in name order.

    Read the committed files from ``pixelflow.workbook.outputs.repository_root() / "results"``.

    Raises
    ------
    FileNotFoundError
        When the directory holds no ``bench*.json``.
    ValueError
        For a file that is neither a peer comparison nor a list of rows; the
        message names the file and what is missing.
    """
    results_dir = Path(results_dir)
    paths = sorted(results_dir.glob("bench*.json"))
    if not paths:
        raise FileNotFoundError(f"no bench*.json in {results_dir}")
    rows = []
    for path in paths:
        rows.extend(benchmark_rows(json.loads(path.read_text()), source=path.name))
    return rows


def life_rows(results_dir) -> list[dict]:
    """The Game of Life rows of ``bench_suite.json`` in ``results_dir``: ours per backend, CAX where it ran.

    Each row has ``library``, ``backend``, ``boards``, ``size``, ``steps``
    and ``cell_updates_per_s``; ours add ``speedup_vs_cax`` and CAX's add
    ``same_final_boards`` when CAX was timed in the same run. Empty when
    the suite has not been run.
    """
    path = Path(results_dir) / "bench_suite.json"
    if not path.exists():
        return []
    rows = json.loads(path.read_text()).get("life", [])
    for i, row in enumerate(rows):
        missing = [k for k in ("backend", "boards", "size", "steps", "cell_updates_per_s") if k not in row]
        if missing:
            raise ValueError(f"{path.name}: life row {i} lacks {', '.join(missing)}")
    return [{"library": OURS, **row} for row in rows]


def user_rule_rows(results_dir) -> list[dict]:
    """The users' rule rows of ``bench_suite.json`` in ``results_dir`` (:mod:`pixelflow.workbook.user_rules_bench`).

    Each row has ``rule``, ``grid``, ``channels``, ``steps``, ``batch``,
    ``seconds`` (``compiled``, ``hand``, ``function``), ``wave_transform_s``
    and ``max_abs_difference``. Empty when the suite has not been run or ran
    without them.
    """
    path = Path(results_dir) / "bench_suite.json"
    if not path.exists():
        return []
    rows = json.loads(path.read_text()).get("user_rules", [])
    for i, row in enumerate(rows):
        missing = [k for k in ("rule", "grid", "channels", "steps", "batch", "seconds", "wave_transform_s")
                   if k not in row]
        missing += [f"seconds/{k}" for k in ("compiled", "hand", "function") if k not in row.get("seconds", {})]
        if missing:
            raise ValueError(f"{path.name}: user_rules row {i} lacks {', '.join(missing)}")
    return rows


def with_ratios(rows: Sequence[dict], reference: str = PEER) -> list[dict]:
    """Copies of ``rows`` with ``ratio``: samples/s over the ``reference`` implementation's.

    The reference is the row of the same file and workload (rule, grid,
    channels, steps, batch); ``ratio`` is None where there is none.
    """
    def workload(r):
        return tuple(r.get(k) for k in WORKLOAD_KEYS)

    refs = {workload(r): r["samples_per_s"] for r in rows if r["implementation"] == reference}
    out = []
    for r in rows:
        ref = refs.get(workload(r))
        out.append({**r, "ratio": r["samples_per_s"] / ref if ref else None})
    return out


def minor_faults() -> int | None:
    """Minor page faults of this process so far (all its threads), or None where the platform does not count them.

    A call that allocates a large fresh array pays one fault per page it first touches; counted around a timed
    call, the faults say how much of its time went to getting memory rather than to the rule.
    """
    return None if resource is None else resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def timed(fn, repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` calls of ``fn()``, after one untimed call (``time.perf_counter`` around each)."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def median_time(fn, repeats: int) -> float:
    """Median wall time of ``fn()`` over ``repeats`` calls (after one warm-up call)."""
    return statistics.median(timed(fn, repeats))


def throughput_sweep(
    configs: ReservoirConfig | Iterable[ReservoirConfig],
    batch_sizes: Iterable[int],
    backend: str = "cpu",
    repeats: int = 3,
    images: np.ndarray | None = None,
    seed: int = 0,
) -> list[dict]:
    """Measure samples/s of :meth:`Reservoir.transform` for every config × batch size.

    Parameters
    ----------
    configs : ReservoirConfig or iterable of them
        Usually one rule at several grid sizes.
    batch_sizes : iterable of int
        Samples per ``transform`` call.
    backend : str
    repeats : int
        Timed calls per point; the row holds their median (and every time).
    images : array (N, ...), optional
        Inputs, repeated as needed to fill the largest batch; default:
        uniform random 28×28 images drawn from ``seed``.

    Returns
    -------
    list of dict
        ``len(configs) * len(batch_sizes)`` rows, config-major, with the keys
        of the module docstring plus ``times_s`` and ``source="measured"``.

    Notes
    -----
    Each row also holds ``minor_faults_per_call``: the process's minor page
    faults per call at that point, warm-up included (None where the platform
    does not count them), counted outside the timed calls.

    Every point starts with one untimed call at its own batch size (the
    first call builds the fixed weights; each size warms its own buffers,
    threads and caches: with a warm-up on the smallest batch only, the
    timed repeats of the largest batches still rose call after call); each
    timed call is
    ``time.perf_counter`` around ``transform`` alone, which returns host
    arrays, so GPU work is finished when the clock stops.
    """
    configs = [configs] if isinstance(configs, ReservoirConfig) else list(configs)
    batch_sizes = [int(b) for b in batch_sizes]
    if not configs or not batch_sizes:
        raise ValueError("throughput_sweep needs at least one config and one batch size")
    if min(batch_sizes) < 1:
        raise ValueError(f"batch sizes must be >= 1, got {batch_sizes}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    n = max(batch_sizes)
    if images is None:
        X = np.random.default_rng(seed).random((n, 28, 28), dtype=np.float32)
    else:
        images = np.asarray(images)
        X = images[np.arange(n) % len(images)]
    rows = []
    for cfg in configs:
        res = Reservoir(cfg, backend=backend, progress=False)
        for b in batch_sizes:
            faults = minor_faults()
            times = timed(lambda: res.transform(X[:b]), int(repeats))  # warmed up at this batch size
            if faults is not None:  # counted outside the clock, over the warm-up and the timed calls
                faults = (minor_faults() - faults) / (len(times) + 1)
            rows.append(_row(
                implementation=OURS, backend=res.backend.name, rule=cfg.rule, grid=cfg.height, width=cfg.width,
                channels=cfg.channels, steps=cfg.steps, batch=b, samples_per_s=b / statistics.median(times),
                device=res.backend.describe(), source="measured", times_s=times, minor_faults_per_call=faults,
            ))
    return rows
