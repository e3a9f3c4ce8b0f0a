"""Benchmark suite: throughput per backend × rule × grid × batch size.

``python -m pixelflow.workbook.bench`` times ``Reservoir.transform`` for every
combination asked for, the ridge readout's fit, the Game of Life workloads and
this machine's memory bandwidth, and writes ``results/bench_suite.json``
(median of several repetitions, after a warm-up that also absorbs JIT
compilation). It never asserts a speed: tests do not time anything.

Rows carry ``backend, rule, grid, channels, steps, batch, samples_per_s,
cell_updates_per_s, device`` (a cell update is one cell of one sample advanced
by one step, all channels included).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from pixelflow.backends import get_backend
from pixelflow.config import ReservoirConfig
from pixelflow.readouts import RidgeReadout
from pixelflow.reservoir import Reservoir
from pixelflow.workbook import provenance
from pixelflow.workbook.outputs import repository_root, write_json
from pixelflow.workbook.speed import median_time

CHANNELS = {"wave": 4, "diffusion_reaction": 4, "life_like": 4, "random_nca": 8}


def reservoir_row(backend: str, rule: str, grid: int, batch: int, steps: int, repeats: int, seed: int = 0) -> dict:
    """Throughput of one reservoir workload on random 28×28 images."""
    channels = CHANNELS.get(rule, 4)
    cfg = ReservoirConfig(width=grid, height=grid, channels=channels, steps=steps, rule=rule, seed=seed)
    res = Reservoir(cfg, backend=backend, progress=False)
    X = np.random.default_rng(seed).random((batch, 28, 28), dtype=np.float32)
    t = median_time(lambda: res.transform(X), repeats)
    return {
        "backend": backend, "rule": rule, "grid": grid, "channels": channels, "steps": steps, "batch": batch,
        "seconds": t, "samples_per_s": batch / t, "cell_updates_per_s": batch * grid * grid * steps / t,
        "device": res.backend.describe(),
    }


def readout_row(n: int, d: int, classes: int, repeats: int) -> dict:
    """Fit time of the closed-form ridge readout on an ``n × d`` float32 matrix."""
    rng = np.random.default_rng(0)
    F = rng.random((n, d), dtype=np.float32)
    y = rng.integers(0, classes, n)
    t = median_time(lambda: RidgeReadout(alpha=1.0).fit(F, y), repeats)
    return {"n": n, "features": d, "classes": classes, "fit_seconds": t}


def memory_bandwidth(n_bytes: int = 1 << 30, repeats: int = 3) -> float:
    """Copy bandwidth in bytes/s (read + write counted), from a large array copy."""
    src = np.ones(n_bytes // 8)
    dst = np.empty_like(src)
    t = median_time(lambda: np.copyto(dst, src), repeats)
    return 2 * n_bytes / t


_RSS_SCRIPT = """
import json, sys
import numpy as np
from pixelflow import Reservoir, ReservoirConfig

def status_kib(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(key + ":"))

n, backend = int(sys.argv[1]), sys.argv[2]
X = np.random.default_rng(0).random((n, 28, 28), dtype=np.float32)
res = Reservoir(ReservoirConfig(width=32, height=32, channels=4, steps=4, rule="wave"), backend=backend, progress=False)
res.transform(X[:64])
# ru_maxrss survives fork+exec (it would report the parent's peak); the
# kernel's high-water mark VmHWM can be reset to the current RSS instead.
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status_kib("VmRSS")
F = res.transform(X)
after = status_kib("VmHWM")
print(json.dumps({"before_kib": before, "after_kib": after, "output_bytes": F.nbytes, "input_bytes": X.nbytes}))
"""


def peak_rss_row(n: int, backend: str) -> dict:
    """Peak resident memory of transforming ``n`` MNIST-sized samples, in a fresh process.

    The growth of the peak during ``transform`` is compared with the size of
    the feature matrix it must return: the rest is the chunk's working set.
    """
    import json
    import subprocess

    proc = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, str(n), backend], capture_output=True, text=True,
                          check=True)
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    growth = (r["after_kib"] - r["before_kib"]) * 1024
    return {"n": n, "backend": backend, "workload": "wave 32x32x4, 4 steps", "peak_rss_bytes": r["after_kib"] * 1024,
            "peak_growth_during_transform_bytes": growth, "output_bytes": r["output_bytes"],
            "working_set_beyond_output_bytes": growth - r["output_bytes"]}


def life_boards(boards: int, size: int, seed: int = 0) -> np.ndarray:
    """Random 0/1 boards (30 % alive), float32."""
    return (np.random.default_rng(seed).random((boards, size, size)) < 0.3).astype(np.float32)


def life_row(backend: str, boards: int, size: int, steps: int, repeats: int) -> dict:
    """Game of Life (B3/S23) cell updates per second on ``boards`` boards of ``size``²."""
    cfg = ReservoirConfig(width=size, height=size, channels=1, steps=steps, rule="life_like",
                          rule_params={"rule": "B3/S23"}, encoder_params={"resize": "nearest"})
    res = Reservoir(cfg, backend=backend, progress=False)
    X = life_boards(boards, size)
    t = median_time(lambda: res.transform(X), repeats)
    return {"library": "pixelflow", "backend": backend, "boards": boards, "size": size, "steps": steps, "seconds": t,
            "cell_updates_per_s": boards * size * size * steps / t, "device": res.backend.describe()}


def cax_life_row(python: str, boards: int, size: int, steps: int, repeats: int) -> dict:
    """The same Life workload through CAX (``cax.cs.life.Life``), run by ``python`` (CAX's environment).

    CAX's final boards are compared with ours: ``same_final_boards`` says
    whether both libraries computed the same evolution.
    """
    import json
    import os
    import subprocess
    import tempfile

    X = life_boards(boards, size)
    script = repository_root() / "benchmarks" / "cax_life.py"
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "boards.npy", X)
        proc = subprocess.run([os.path.abspath(python), str(script), str(Path(tmp) / "boards.npy"),
                               "--steps", str(steps),
                               "--repeats", str(repeats), "--final", str(Path(tmp) / "final.npy")],
                              capture_output=True, text=True, check=True, cwd=tmp)
        final = np.load(Path(tmp) / "final.npy")
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    cfg = ReservoirConfig(width=size, height=size, channels=1, steps=steps, rule="life_like",
                          encoder_params={"resize": "nearest"})
    ours = Reservoir(cfg, backend="cpu", progress=False)
    same = bool(np.array_equal(ours.transform(X[:8]).reshape(-1, size, size), final[:8]))
    return {"library": f"cax {r['cax']}", "backend": f"jax {r['jax']} ({', '.join(r['devices'])})", "boards": boards,
            "size": size, "steps": steps, "seconds": r["seconds"],
            "cell_updates_per_s": boards * size * size * steps / r["seconds"], "same_final_boards": same}


LIFE_WORKLOADS = ((1, 1024), (4096, 32))  # (boards, size), 100 steps each


def life_rows(backends, repeats: int, cax_python: str | None = None, steps: int = 100) -> list[dict]:
    """Both Life workloads on every backend and, given CAX's interpreter, through CAX beside them.

    Our rows get ``speedup_vs_cax``: their cell-updates/s over CAX's on the
    same workload, measured in the same run.
    """
    rows = []
    for boards, size in LIFE_WORKLOADS:
        ours = [life_row(b, boards, size, steps, repeats) for b in backends]
        if cax_python:
            cax = cax_life_row(cax_python, boards, size, steps, repeats)
            for row in ours:
                row["speedup_vs_cax"] = row["cell_updates_per_s"] / cax["cell_updates_per_s"]
            ours.append(cax)
        rows += ours
    return rows


def run_suite(backends, rules, grids, batches, steps, repeats, life: bool, bandwidth_bytes: int = 1 << 30,
              readout_sizes=((24_000, 4096), (60_000, 784)), rss_samples: int = 70_000,
              cax_python: str | None = None, user_rules: bool = True) -> dict:
    """Every reservoir workload, the readout fits, the bandwidth bound, (optionally) Life and users' rules
    (:mod:`pixelflow.workbook.user_rules_bench`, at the largest batch)."""
    rows = []
    combos = [(b, r, g, n) for b in backends for r in rules for g in grids for n in batches]
    for backend, rule, grid, batch in tqdm(combos, desc="reservoirs", unit="workload"):
        rows.append(reservoir_row(backend, rule, grid, batch, steps, repeats))
    result = {
        "benchmark": "pixelflow.workbook.bench",
        "rows": rows,
        "readout": [readout_row(n, d, 10, repeats) for n, d in readout_sizes],
        "memory_bandwidth_bytes_per_s": memory_bandwidth(bandwidth_bytes),
        "provenance": provenance.collect(),
    }
    bw = result["memory_bandwidth_bytes_per_s"]
    for row in rows:
        # The least traffic a transform can have: read each 28x28 input once,
        # write each float32 feature once.
        bytes_per_sample = 28 * 28 * 4 + row["channels"] * row["grid"] ** 2 * 4
        row["bandwidth_bound_samples_per_s"] = bw / bytes_per_sample
        row["fraction_of_bandwidth_bound"] = row["samples_per_s"] / row["bandwidth_bound_samples_per_s"]
    result["memory"] = [peak_rss_row(rss_samples, b) for b in backends] if rss_samples else []
    if life:
        result["life"] = life_rows(backends, repeats, cax_python)
    if user_rules:
        from pixelflow.workbook.user_rules_bench import user_rule_rows

        result["user_rules"] = user_rule_rows(max(batches), repeats)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Time pixelflow reservoirs; write results/bench_suite.json.")
    parser.add_argument("--backends", nargs="+", default=["numpy", "cpu"])
    parser.add_argument("--rules", nargs="+", default=list(CHANNELS))
    parser.add_argument("--grids", nargs="+", type=int, default=[32, 64])
    parser.add_argument("--batches", nargs="+", type=int, default=[256, 4096])
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-life", action="store_true", help="skip the Game of Life workloads")
    parser.add_argument("--no-user-rules", action="store_true",
                        help="skip the users' rules (compiled, hand-fused and as functions)")
    parser.add_argument("--cax-python", help="interpreter of an environment with CAX installed: time CAX's Life "
                        "beside ours (make bench makes one in .venv-cax)")
    parser.add_argument("--out", type=Path, default=repository_root() / "results" / "bench_suite.json")
    args = parser.parse_args(argv)
    for b in args.backends:
        get_backend(b)  # fail early, naming the valid backends
    result = run_suite(args.backends, args.rules, args.grids, args.batches, args.steps, args.repeats, not args.no_life,
                       cax_python=args.cax_python, user_rules=not args.no_user_rules)
    result["command"] = " ".join(["python -m pixelflow.workbook.bench", *(argv if argv is not None else sys.argv[1:])])
    write_json(args.out, result)
    for row in result["rows"]:
        print(f"{row['backend']:>6} {row['rule']:>18} {row['grid']:>3}x{row['grid']:<3} batch {row['batch']:>5}: "
              f"{row['samples_per_s']:>10,.0f} samples/s  {row['cell_updates_per_s'] / 1e6:>8,.1f} M cell-updates/s")
    for row in result["memory"]:
        print(f"memory {row['backend']}: transform of {row['n']:,} samples grew the peak RSS by "
              f"{row['peak_growth_during_transform_bytes'] / 2**20:,.0f} MiB "
              f"for a {row['output_bytes'] / 2**20:,.0f} MiB output")
    for row in result.get("life", []):
        versus = f"  ({row['speedup_vs_cax']:.1f}x CAX)" if "speedup_vs_cax" in row else ""
        print(f"life {row['library']} {row['backend']} {row['boards']} x {row['size']}^2: "
              f"{row['cell_updates_per_s'] / 1e6:,.0f} M cell-updates/s{versus}")
    for row in result.get("user_rules", []):
        t = row["seconds"]
        print(f"user rule {row['rule']} {row['grid']}^2 x {row['channels']}, {row['steps']} steps, "
              f"batch {row['batch']}: "
              f"compiled {t['compiled']:.3f} s, hand-fused {t['hand']:.3f} s ({row['compiled_over_hand']:.2f}x), "
              f"function {t['function']:.3f} s ({row['function_over_compiled']:.1f}x the compiled); "
              f"built-in wave {row['wave_transform_s']:.3f} s")
    print(f"memory bandwidth: {result['memory_bandwidth_bytes_per_s'] / 1e9:.1f} GB/s; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
