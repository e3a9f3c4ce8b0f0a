"""Time ``Reservoir.transform`` against the peer library ``pixelflow-rc`` on MNIST.

The workload is the peer's published MNIST configuration: ``wave`` rule on a
32x32 grid, 4 channels, 4 steps, ``tile`` input encoding, applied to 24,000
real MNIST images. Both implementations run on the same images, on the same
machine, in one invocation, alternating repeats (ours, peer, ours, peer, ...)
so that drift in machine load hits both sides alike.

The peer package also imports as ``pixelflow``, so it cannot share this
interpreter: it runs in a subprocess of its own virtual environment (this
same file, started with the hidden ``--worker`` flag), receives the images
through a temporary ``.npy`` file and reports its timing as JSON on stdout.
The peer is only called through its public API.

Run ``python benchmarks/peer_mnist.py --help`` for the options; see
``benchmarks/README.md`` for setting up the peer environment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PEER_PYTHON = REPO_ROOT / ".venv-peer" / "bin" / "python"
DEFAULT_OUT = REPO_ROOT / "results" / "bench_peer_mnist.json"

PEER_DIST = "pixelflow-rc"
PEER_VERSION = "0.3.0"
PEER_BACKEND = "cpu"
# Later (fused) backends of ours are added here and get a column of their own.
OUR_BACKENDS = ("numpy", "cpu")

# The peer's published MNIST configuration; these keyword arguments mean the
# same in both libraries (our ReservoirConfig keeps the peer's field order).
SHARED_CONFIG = dict(width=32, height=32, channels=4, steps=4, rule="wave",
                     input_encoding="tile", seed=0)
# The peer's tile encoder resizes 28x28 -> 32x32 by nearest neighbour; ask
# ours for the same resampling so both evolve the same initial states.
OUR_ENCODER_PARAMS = {"resize": "nearest"}

# The peer's "24k" MNIST workload. The shared data holds only the first 14k
# training images, so the 24k are the 14k train prefix followed by the 10k
# test images.
DEFAULT_N = 24_000
PARITY_SAMPLES = 16


# ---------------------------------------------------------------------------
# Peer side: runs inside the peer's interpreter. Must not import our package
# (the name would resolve to the peer) and only needs numpy and the stdlib.
# ---------------------------------------------------------------------------

def check_peer_module():
    """The peer's installed distribution; raises unless ``import pixelflow`` finds it (run in the peer's interpreter).

    A stray checkout of ours on ``sys.path`` would also import as ``pixelflow``
    and time or score the wrong package.
    """
    import importlib.metadata

    import pixelflow

    dist = importlib.metadata.distribution(PEER_DIST)
    expected_init = Path(dist.locate_file("pixelflow/__init__.py")).resolve()
    if Path(pixelflow.__file__).resolve() != expected_init:
        raise RuntimeError(f"'pixelflow' resolved to {pixelflow.__file__}, not to the "
                           f"{PEER_DIST} install at {expected_init}")
    return dist


def worker_main(args: argparse.Namespace) -> int:
    """Time the peer's ``transform`` once and print the result as JSON.

    Parameters
    ----------
    args : argparse.Namespace
        ``images`` (path of an ``(N, 784)`` float32 ``.npy``), ``warmup``,
        and optionally ``parity_out`` / ``parity_n``.

    Returns
    -------
    int
        Process exit status.
    """
    dist = check_peer_module()
    import pixelflow
    from pixelflow import Reservoir, ReservoirConfig

    X = np.load(args.images)
    reservoir = Reservoir(ReservoirConfig(**SHARED_CONFIG), backend=PEER_BACKEND)
    reservoir.transform(X[: args.warmup])
    start = time.perf_counter()
    features = reservoir.transform(X)
    seconds = time.perf_counter() - start

    if args.parity_out:
        np.save(args.parity_out, reservoir.transform(X[: args.parity_n]))
    result = {
        "seconds": seconds,
        "n": int(X.shape[0]),
        "feature_shape": list(features.shape),
        "feature_dtype": str(features.dtype),
        "dist_version": dist.version,
        "module_version": getattr(pixelflow, "__version__", None),
        "module_file": pixelflow.__file__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
    }
    print(json.dumps(result))
    return 0


def run_peer(peer_python: Path, images: Path, warmup: int,
             parity_out: Path | None = None) -> dict:
    """Run one timed peer ``transform`` in the peer's interpreter.

    Parameters
    ----------
    peer_python : Path
        Interpreter of the environment holding ``pixelflow-rc``.
    images : Path
        ``.npy`` file of flattened ``(N, 784)`` float32 images.
    warmup : int
        Samples transformed (untimed) before the timed call.
    parity_out : Path, optional
        Where the worker saves its features for the first
        ``PARITY_SAMPLES`` images.

    Returns
    -------
    dict
        The worker's JSON report (``seconds``, versions, ...).
    """
    cmd = [str(peer_python), "-I", str(Path(__file__).resolve()), "--worker",
           "--images", str(images), "--warmup", str(warmup)]
    if parity_out is not None:
        cmd += ["--parity-out", str(parity_out), "--parity-n", str(PARITY_SAMPLES)]
    # -I and a neutral cwd keep this checkout (and PYTHONPATH) off the peer's
    # sys.path, so ``import pixelflow`` finds the installed peer.
    proc = subprocess.run(cmd, cwd=images.parent, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"peer worker failed (exit {proc.returncode}); is {PEER_DIST}=="
                           f"{PEER_VERSION} installed for {peer_python}?\n{proc.stderr}")
    # The JSON report is the last stdout line; anything before it is chatter.
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# Our side.
# ---------------------------------------------------------------------------

def import_ours():
    """Import this checkout's ``pixelflow`` (ahead of any installed copy).

    Returns
    -------
    module
        The ``pixelflow`` package under ``REPO_ROOT``.
    """
    # The benchmark is about the checkout it ships with; the venv need not
    # have it installed.
    sys.path.insert(0, str(REPO_ROOT))
    import pixelflow
    return pixelflow


def load_images(n: int) -> tuple[np.ndarray, dict]:
    """The first ``n`` images of MNIST train followed by MNIST test.

    Parameters
    ----------
    n : int
        Number of images; at most train + test available.

    Returns
    -------
    X : ndarray of shape (n, 28, 28), float32
        Pixel values in [0, 1].
    info : dict
        Split description, file hashes and counts, for the JSON record.
    """
    from pixelflow.datasets import mnist

    ds = mnist()
    available = len(ds.X_train) + len(ds.X_test)
    if not 1 <= n <= available:
        raise SystemExit(f"--n must be in [1, {available}] (MNIST train + test here), got {n}")
    n_train = min(n, len(ds.X_train))
    X = np.concatenate([ds.X_train[:n_train], ds.X_test[: n - n_train]])
    X = np.ascontiguousarray(X, dtype=np.float32)
    info = {
        "split": ds.meta.get("split"),
        "files_sha256": ds.meta.get("files"),
        "source_dir": ds.meta.get("source_dir"),
        "images": (f"first {n_train} MNIST training images followed by the first "
                   f"{n - n_train} test images, in official order"),
        "n_from_train": n_train,
        "n_from_test": n - n_train,
    }
    return X, info


def time_ours(reservoir, X: np.ndarray) -> float:
    """Seconds for one ``reservoir.transform(X)`` (transform only)."""
    start = time.perf_counter()
    features = reservoir.transform(X)
    seconds = time.perf_counter() - start
    expected = (len(X), reservoir.feature_dim)
    if features.shape != expected:
        raise RuntimeError(f"our features have shape {features.shape}, expected {expected}")
    return seconds


def summarize(times: list[float], n: int) -> dict:
    """Per-repeat times and rates, and the median rate."""
    rates = [n / t for t in times]
    return {"times_s": times, "samples_per_s": rates,
            "median_samples_per_s": statistics.median(rates)}


def feature_parity(ours: dict, peer_features: np.ndarray, config: dict) -> dict:
    """Compare our features with the peer's on the same images.

    Parameters
    ----------
    ours : dict
        Backend name -> our ``(n, C*H*W)`` features.
    peer_features : ndarray of shape (n, H*W*C)
        The peer's features for the same images.
    config : dict
        ``height``, ``width``, ``channels`` of the grid.

    Returns
    -------
    dict
        Per backend: max absolute difference, max |feature| (for scale) and
        whether the arrays are bit-identical.
    """
    h, w, c = config["height"], config["width"], config["channels"]
    # The peer flattens each state as (H, W, C), we flatten (C, H, W).
    peer_chw = peer_features.reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(len(peer_features), -1)
    result = {"n_samples": int(len(peer_features)),
              "note": "peer features reordered from (H, W, C) to (C, H, W) before comparing",
              "backends": {}}
    for backend, feats in ours.items():
        diff = np.abs(feats.astype(np.float64) - peer_chw.astype(np.float64))
        result["backends"][backend] = {
            "max_abs_diff": float(diff.max()),
            "max_abs_feature": float(np.abs(peer_chw).max()),
            "bit_identical": bool(np.array_equal(feats, peer_chw)),
        }
    return result


# ---------------------------------------------------------------------------
# Record keeping.
# ---------------------------------------------------------------------------

def cpu_model() -> str | None:
    """CPU model name from /proc/cpuinfo (Linux), else platform's guess."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def machine_info() -> dict:
    """Platform, CPU and interpreter facts for the JSON record."""
    info = {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python_version": platform.python_version(),
        "numpy_version": np.__version__,
    }
    # The cores this process may use can be fewer than the machine has.
    if hasattr(os, "sched_getaffinity"):
        info["cpus_usable"] = len(os.sched_getaffinity(0))
    return info


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the checkout, or None (no git, no commits)."""
    try:
        proc = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True)
    except OSError:
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def load_average() -> list[float] | None:
    """1/5/15-minute load average; the machine may be shared."""
    try:
        return list(os.getloadavg())
    except (AttributeError, OSError):
        return None


def write_json_atomic(path: Path, payload: dict) -> None:
    """Write ``payload`` to ``path`` via a temp file in the same directory.

    ``os.replace`` within one directory is atomic, so readers never see a
    half-written result.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # A pid-named temp file (not mkstemp) so the result gets the umask's
    # ordinary permissions rather than owner-only ones.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w") as f:
            json.dump(payload, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def print_table(n: int, ours: dict, peer: dict | None, ratios: dict) -> None:
    """Print median samples/s per implementation and the ratio to the peer."""
    print(f"\nwave 32x32x4, 4 steps, tile encoding; {n} MNIST images")
    print(f"{'implementation':<24}{'backend':<9}{'median samples/s':>17}{'vs peer':>10}  times (s)")
    rows = [("pixelflow (ours)", b, s, ratios.get(b)) for b, s in ours.items()]
    if peer is not None:
        rows.append((f"{PEER_DIST} {peer['dist_version']}", PEER_BACKEND, peer, 1.0))
    for name, backend, stats, ratio in rows:
        ratio_txt = f"{ratio:.2f}x" if ratio is not None else "-"
        times_txt = " ".join(f"{t:.2f}" for t in stats["times_s"])
        print(f"{name:<24}{backend:<9}{stats['median_samples_per_s']:>17,.0f}{ratio_txt:>10}  {times_txt}")
    if peer is None:
        print("(peer absent: no ratio)")


# ---------------------------------------------------------------------------
# Driver.
# ---------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options (see ``--help``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--n", type=int, default=DEFAULT_N,
                   help="number of images (train prefix, then test); 24000 is the peer's workload")
    p.add_argument("--repeats", type=int, default=3,
                   help="timed runs per implementation, alternated; medians are reported")
    p.add_argument("--warmup", type=int, default=32, help="samples in the untimed warm-up call")
    p.add_argument("--peer-python", type=Path, default=DEFAULT_PEER_PYTHON,
                   help=f"interpreter of a venv with {PEER_DIST}=={PEER_VERSION}")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON result file")
    # Internal: how the driver starts the peer side in the peer's interpreter.
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--images", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--parity-out", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--parity-n", type=int, default=PARITY_SAMPLES, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.warmup < 1:
        p.error("--warmup must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with ``--worker``, the peer side of it)."""
    args = parse_args(argv)
    if args.worker:
        return worker_main(args)

    pixelflow = import_ours()
    from pixelflow import Reservoir, ReservoirConfig

    X, data_info = load_images(args.n)
    n = len(X)
    warm = X[: args.warmup]
    config = ReservoirConfig(**SHARED_CONFIG, encoder_params=OUR_ENCODER_PARAMS)
    reservoirs = {b: Reservoir(config, backend=b, progress=False) for b in OUR_BACKENDS}
    for r in reservoirs.values():
        r.transform(warm)

    # absolute(), not resolve(): resolving a venv's python symlink would
    # leave the venv; absolute because the worker runs from a temp directory.
    peer_python = args.peer_python.absolute()
    peer_present = peer_python.exists()
    if not peer_present:
        print(f"peer interpreter {peer_python} not found: timing ours only. To include the peer:\n"
              f"  python3 -m venv .venv-peer && .venv-peer/bin/pip install {PEER_DIST}=={PEER_VERSION}")

    our_times = {b: [] for b in OUR_BACKENDS}
    peer_times, peer_report, peer_parity = [], None, None
    with tempfile.TemporaryDirectory(prefix="bench_peer_mnist.") as tmp:
        images_path = Path(tmp) / "images.npy"
        parity_path = Path(tmp) / "peer_parity.npy"
        if peer_present:
            # The peer takes flattened (N, 784) input.
            np.save(images_path, X.reshape(n, -1))
        for rep in range(args.repeats):
            for b, r in reservoirs.items():
                our_times[b].append(time_ours(r, X))
                print(f"repeat {rep + 1}/{args.repeats}: ours[{b}] {our_times[b][-1]:.2f} s", flush=True)
            if peer_present:
                peer_report = run_peer(peer_python, images_path, args.warmup,
                                       parity_path if rep == 0 else None)
                peer_times.append(peer_report["seconds"])
                print(f"repeat {rep + 1}/{args.repeats}: peer {peer_times[-1]:.2f} s", flush=True)
        if peer_present:
            peer_parity = np.load(parity_path)

    ours_stats = {b: summarize(t, n) for b, t in our_times.items()}
    peer_stats = None
    ratios: dict = {b: None for b in OUR_BACKENDS}
    parity = None
    if peer_present:
        peer_stats = {**summarize(peer_times, n), "backend": PEER_BACKEND,
                      "python": str(peer_python), **{k: peer_report[k] for k in (
                          "dist_version", "module_version", "module_file",
                          "numpy_version", "python_version", "feature_shape")}}
        ratios = {b: s["median_samples_per_s"] / peer_stats["median_samples_per_s"]
                  for b, s in ours_stats.items()}
        ours_parity = {b: r.transform(X[:PARITY_SAMPLES]) for b, r in reservoirs.items()}
        parity = feature_parity(ours_parity, peer_parity, SHARED_CONFIG)
        if peer_report["dist_version"] != PEER_VERSION:
            print(f"warning: peer is {PEER_DIST} {peer_report['dist_version']}, not {PEER_VERSION}")

    print_table(n, ours_stats, peer_stats, {b: v for b, v in ratios.items() if v is not None})
    if parity is not None:
        for b, p in parity["backends"].items():
            print(f"parity ours[{b}] vs peer on {parity['n_samples']} samples: "
                  f"max |diff| = {p['max_abs_diff']:.3g} (max |feature| {p['max_abs_feature']:.3g}, "
                  f"bit-identical: {p['bit_identical']})")

    import importlib.metadata
    try:
        our_dist_version = importlib.metadata.version("pixelflow")
    except importlib.metadata.PackageNotFoundError:
        our_dist_version = None  # running from the checkout, not installed
    payload = {
        "benchmark": "peer_mnist",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "git_commit": git_commit(),
        "command": [sys.executable, *sys.argv],
        "workload": {
            "description": ("Reservoir.transform throughput on real MNIST images with the peer's "
                            "published MNIST configuration (wave rule, 32x32 grid, 4 channels, "
                            "4 steps, tile encoding)"),
            "config": SHARED_CONFIG,
            "our_encoder_params": OUR_ENCODER_PARAMS,
            "n_images": n,
            "is_peer_24k_workload_size": n == DEFAULT_N,
            "input": {"ours": "(N, 28, 28) float32 in [0, 1]", "peer": "(N, 784) float32, same values"},
            "warmup_samples": args.warmup,
            "repeats": args.repeats,
            "order": "each repeat: ours (" + ", ".join(OUR_BACKENDS) + "), then peer (fresh process)",
            "timing": "time.perf_counter around transform only; median of repeats",
        },
        "data": data_info,
        "results": {
            "ours": {"package_version": pixelflow.__version__, "dist_version": our_dist_version,
                     "module_file": pixelflow.__file__, "backends": ours_stats},
            "peer": {"status": "ok", **peer_stats} if peer_present else
                    {"status": "absent", "python": str(peer_python)},
        },
        "ratio_ours_over_peer": ratios,
        "feature_parity": parity,
        "machine": {**machine_info(), "load_average_at_end": load_average()},
    }
    write_json_atomic(args.out, payload)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
