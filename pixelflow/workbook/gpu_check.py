"""GPU check: the GPU tests, the backend benchmark and the MNIST-size timing on an NVIDIA GPU, in minutes.

``python -m pixelflow.workbook.gpu_check`` (``make gpu-check``) first looks for a usable NVIDIA GPU. Without one
(no ``nvidia-smi``, no CUDA device, CuPy not importable) it prints one line saying why, writes nothing and exits 0.
With one it

1. installs CuPy (``cupy-cuda12x`` or ``cupy-cuda13x``, matching the driver's CUDA version, and ``numba-cuda``
   beside it) with pip, only if CuPy is missing; a failed install (e.g. no internet) is reported, not fatal;
2. runs the GPU tests (:data:`GPU_TESTS`: the CUDA backend against numpy, the driven CUDA reservoir, the moderngl
   backend on the machine's EGL driver, the CUDA kernel modules' docstrings) with pytest and counts the outcomes;
3. times ``transform``, :class:`~pixelflow.readouts.RidgeReadout` ``fit`` and ``predict`` on 70,000 MNIST-size
   images with the ``mnist`` preset on the ``cuda`` backend (the MNIST images found locally, repeated to 70,000;
   random images when there are none), beside the goal and pixelflow-rc's published number;
4. runs the benchmark suite (:mod:`pixelflow.workbook.bench`) on the ``cuda``, ``moderngl`` and ``cpu`` backends.

Each step runs in a child process under a time limit, within :data:`BUDGET_S` in all; a step that fails or runs
out of time is recorded and the check goes on. The files, under ``results/gpu/`` of the output root
(:func:`pixelflow.workbook.outputs.output_root`), each carry the device's provenance (``nvidia-smi``'s name,
driver, CUDA version and memory, and :func:`pixelflow.workbook.provenance.collect` for the backend):

``gpu_tests.json``
    pytest's counts, failed and skipped tests, the selection and why;
``mnist70k.json``
    the timing of step 3;
``bench_suite.json``
    the benchmark suite's file (its ``provenance`` replaced by the cuda backend's);
``gpu_check.json``
    every step's status and time, and the CuPy install attempt.

A step that fails leaves no numbers: its file from an earlier run is moved aside to ``<name>.json.stale``. The
exit status is 1 when a GPU test failed or the tests could not run to the end, else 0. Speeds are recorded, never
asserted.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from pixelflow import datasets
from pixelflow.backends import get_backend
from pixelflow.checks import check_count, check_real, check_seed
from pixelflow.config import ReservoirConfig
from pixelflow.reservoir import Reservoir
from pixelflow.workbook import presets, provenance
from pixelflow.workbook.outputs import output_root, repository_root, write_json

BUDGET_S = 480.0
"""The whole check's time limit in seconds (8 minutes on one H100/H200)."""

STEP_LIMITS_S = {"install": 120.0, "tests": 150.0, "mnist70k": 150.0, "bench": 300.0}
"""Each step's own time limit in seconds; a step also stops where the budget ends."""

_MARGIN_S = 10.0  # kept back from the budget for writing the files at the end
_MIN_STEP_S = 20.0  # a step with less time left than this is not started

GPU_TESTS = ("tests/test_backends.py", "tests/test_driven.py", "tests/test_gl_backend.py", "tests/test_docstrings.py")
"""The test files that hold the GPU tests; :data:`GPU_TEST_KEYWORDS` picks the tests inside them."""

GPU_TEST_KEYWORDS = "cuda or test_gl_backend"
"""pytest ``-k`` expression selecting the GPU tests in :data:`GPU_TESTS`."""

GPU_TEST_SELECTION = {
    "tests/test_backends.py -k cuda": "every rule x encoder on backend 'cuda' (fused numba.cuda kernels and the "
                                      "rule functions on CuPy) against the numpy reference; the no-device message "
                                      "test, which skips where a device is usable",
    "tests/test_driven.py -k cuda": "driven reservoirs (Reservoir.run) on backend 'cuda' against numpy",
    "tests/test_gl_backend.py (all)": "backend 'moderngl': the fragment shaders through EGL (the NVIDIA EGL driver "
                                      "on a GPU machine) against numpy",
    "tests/test_docstrings.py -k cuda": "the docstring examples of pixelflow.backends.cuda.*, which import only "
                                        "where CuPy does",
    "not selected: tests/test_cuda_kernels.py": "the CUDA kernels under numba's CPU simulator, run on every machine",
}

BENCH_BACKENDS = ("cuda", "moderngl", "cpu")
"""Backends the benchmark suite compares (those that cannot start here are left out and recorded)."""

N_IMAGES = 70_000
"""Images in the MNIST-size timing (the size of the whole MNIST data set)."""

GOAL = {"seconds": 1.0, "n_images": 70_000, "what": "transform + RidgeReadout fit + predict of 70,000 MNIST-size "
        "images with the mnist preset", "device_class": "H100-class GPU"}
"""The speed this check measures against (met or not is recorded, never asserted)."""

PEER = {"library": "pixelflow-rc", "transform_seconds": 5.81, "n_images": 70_000,
        "device": "NVIDIA GeForce RTX 3090", "what": "the reservoir transform alone of 70,000 MNIST images, as "
        "pixelflow-rc reports it", "measured_here": False}
"""The peer's number beside ours; compare it with ``peer_config`` (its MNIST configuration timed here)."""

PEER_CONFIG = {"width": 32, "height": 32, "channels": 4, "steps": 4, "rule": "wave", "input_encoding": "tile",
               "seed": 0, "encoder_params": {"resize": "nearest"}}
"""pixelflow-rc's published MNIST configuration, as ``benchmarks/peer_mnist.py`` runs it (same features)."""

_CUDA_LINE = re.compile(r"CUDA Version\s*:\s*(\d+(?:\.\d+)*)")
_SUMMARY_COUNT = re.compile(r"(\d+) (passed|failed|skipped|deselected|xfailed|xpassed|errors?|warnings?)\b")
_SUMMARY_TIME = re.compile(r"\bin (\d+(?:\.\d+)?)s\b")
_SHORT_SUMMARY = re.compile(r"^(FAILED|ERROR) (\S+)")
_SKIPPED = re.compile(r"^SKIPPED \[(\d+)\] (.*)$")


def say(message: str) -> None:
    """Print one line of the check's report, at once."""
    print(f"gpu-check: {message}", flush=True)


# ---------------------------------------------------------------- nvidia-smi

def parse_gpu_query(text: str) -> list[dict]:
    """The GPUs in ``nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv,noheader,nounits``.

    Parameters
    ----------
    text : str
        The command's output: one line per GPU.

    Returns
    -------
    list of dict
        ``index``, ``name``, ``driver_version`` and ``memory_total_mib`` per GPU, in order.

    Raises
    ------
    ValueError
        If a line does not hold the four fields.

    Examples
    --------
    >>> parse_gpu_query("0, NVIDIA H200, 570.86.15, 143771\\n")
    [{'index': 0, 'name': 'NVIDIA H200', 'driver_version': '570.86.15', 'memory_total_mib': 143771}]
    """
    gpus = []
    for line in text.splitlines():
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        if len(fields) != 4 or not fields[0].isdigit():
            raise ValueError(f"nvidia-smi GPU query line {line!r} is not 'index, name, driver_version, memory.total'")
        index, name, driver, memory = fields
        gpus.append({"index": int(index), "name": name, "driver_version": driver,
                     "memory_total_mib": int(memory) if memory.isdigit() else None})
    return gpus


def parse_cuda_version(text: str) -> str | None:
    """The driver's CUDA version from ``nvidia-smi``'s banner (or ``nvidia-smi -q``), or None if absent.

    Examples
    --------
    >>> parse_cuda_version("| NVIDIA-SMI 570.86.15    Driver Version: 570.86.15    CUDA Version: 12.8     |")
    '12.8'
    """
    match = _CUDA_LINE.search(text)
    return match.group(1) if match else None


def nvidia_smi(timeout: float = 30.0) -> tuple[dict | None, str | None]:
    """This machine's NVIDIA GPUs as ``nvidia-smi`` reports them.

    Returns
    -------
    info : dict or None
        ``gpus`` (from :func:`parse_gpu_query`), ``cuda_version`` (the driver's, from
        :func:`parse_cuda_version`) and the ``nvidia_smi`` path; None when there is no usable GPU.
    reason : str or None
        Why there is none (no ``nvidia-smi``, or it lists no device), else None.
    """
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return None, "nvidia-smi not found (no NVIDIA driver on this machine)"
    query = [exe, "--query-gpu=index,name,driver_version,memory.total", "--format=csv,noheader,nounits"]
    try:
        listed = subprocess.run(query, capture_output=True, text=True, timeout=timeout)
        banner = subprocess.run([exe], capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"no CUDA device: {exe} did not answer ({type(exc).__name__}: {exc})"
    said = (listed.stdout + listed.stderr).strip().splitlines()
    if listed.returncode != 0:
        return None, f"no CUDA device: nvidia-smi exited with {listed.returncode} ({said[0] if said else 'no output'})"
    try:
        gpus = parse_gpu_query(listed.stdout)
    except ValueError as exc:
        return None, f"no CUDA device: {exc}"
    if not gpus:
        return None, "no CUDA device: nvidia-smi lists no GPU"
    return {"nvidia_smi": exe, "gpus": gpus, "cuda_version": parse_cuda_version(banner.stdout)}, None


def describe_gpus(info: dict) -> str:
    """One line naming the GPUs, driver, CUDA version and memory (for the report)."""
    names = ", ".join(f"{g['name']} ({g['memory_total_mib']} MiB)" for g in info["gpus"])
    return f"{names}; driver {info['gpus'][0]['driver_version']}, CUDA {info.get('cuda_version') or 'unknown'}"


# ---------------------------------------------------------------- CuPy

def cuda_packages(cuda_version: str | None, installed=importlib.util.find_spec) -> list[str]:
    """The pip packages that give backend ``"cuda"`` on a driver of ``cuda_version``, leaving out installed ones.

    Parameters
    ----------
    cuda_version : str
        The driver's CUDA version, e.g. ``"12.8"``.
    installed : callable, optional
        ``installed(module)`` is None when the module is missing (default: :func:`importlib.util.find_spec`).

    Raises
    ------
    ValueError
        If ``cuda_version`` is unknown or older than 12 (CuPy's wheels are for CUDA 12 and 13).

    Examples
    --------
    >>> cuda_packages("12.8", installed=lambda module: None)
    ['cupy-cuda12x', 'numba-cuda[cu12]']
    >>> cuda_packages("13.0", installed=lambda module: None)
    ['cupy-cuda13x', 'numba-cuda[cu13]']
    """
    match = re.fullmatch(r"(\d+)(?:\.\d+)*", cuda_version or "")
    if match is None or int(match.group(1)) < 12:
        raise ValueError(f"cuda_version must be the driver's CUDA version, 12 or newer (CuPy's wheels are "
                         f"cupy-cuda12x and cupy-cuda13x), got {cuda_version!r}")
    # A newer driver runs the CUDA 13 wheels.
    major = min(int(match.group(1)), 13)
    wanted = {"cupy": f"cupy-cuda{major}x", "numba_cuda": f"numba-cuda[cu{major}]"}
    return [package for module, package in wanted.items() if installed(module) is None]


def install_cuda_packages(cuda_version: str | None, timeout: float) -> dict:
    """``pip install`` the packages of :func:`cuda_packages` into this interpreter's environment.

    Never raises for a failed install (no internet, no pip, no wheel): the record says what happened.

    Returns
    -------
    dict
        ``packages``, ``status`` (``"installed"``, ``"failed"``, ``"timeout"``), ``seconds`` and pip's last
        lines of output.
    """
    try:
        packages = cuda_packages(cuda_version)
    except ValueError as exc:
        return {"packages": [], "status": "failed", "seconds": 0.0, "output_tail": str(exc)}
    # One quick try: on a machine without internet pip must fail in seconds, not retry for minutes.
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--retries", "0",
               "--timeout", "15", *packages]
    run = run_process(command, timeout)
    status = "timeout" if run["timed_out"] else "installed" if run["returncode"] == 0 else "failed"
    importlib.invalidate_caches()
    return {"packages": packages, "command": command, "status": status, "seconds": run["seconds"],
            "output_tail": tail(run["output"], 2000)}


def cuda_backend_problem() -> str | None:
    """Why backend ``"cuda"`` cannot run here (CuPy not importable, no device usable), or None if it can."""
    try:
        get_backend("cuda")
    except ImportError as exc:
        return f"CuPy not importable ({exc.__cause__ or exc})"
    except RuntimeError as exc:
        return f"no CUDA device usable through CuPy ({exc})"
    return None


# ---------------------------------------------------------------- child processes

def tail(text: str, chars: int) -> str:
    """The last ``chars`` characters of ``text``."""
    return text[-chars:]


def run_process(command, timeout: float, cwd=None, env=None) -> dict:
    """Run ``command`` with its output captured, stopping it (and the processes it started) after ``timeout`` s.

    Returns
    -------
    dict
        ``returncode``, ``timed_out``, ``seconds`` and ``output`` (stdout and stderr together).
    """
    timeout = check_real(timeout, "timeout", low=0.0, low_open=True)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(list(command), cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)
    except OSError as exc:
        return {"returncode": None, "timed_out": False, "seconds": 0.0, "output": f"{type(exc).__name__}: {exc}"}
    try:
        output, _ = proc.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        # Started as a process group of its own: killing the group stops grandchildren (pytest's, the benchmark's) too.
        os.killpg(proc.pid, signal.SIGKILL)
        try:
            output, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            output = ""
        timed_out = True
    return {"returncode": proc.returncode, "timed_out": timed_out, "seconds": time.monotonic() - start,
            "output": output or ""}


# ---------------------------------------------------------------- the GPU tests

def parse_pytest_summary(output: str) -> dict | None:
    """Outcome counts, failed tests and skip reasons from a pytest run's output (``-q -ra``).

    Parameters
    ----------
    output : str
        pytest's stdout.

    Returns
    -------
    dict or None
        ``passed``, ``failed``, ``errors``, ``skipped``, ``deselected``, ``xfailed``, ``xpassed``, ``warnings``
        (counts), ``seconds``, ``failed_tests`` (node ids of FAILED and ERROR lines) and ``skip_reasons``; None if
        the output has no final summary line (pytest did not finish).

    Examples
    --------
    >>> s = parse_pytest_summary("1 failed, 52 passed, 6 skipped, 208 deselected, 1 warning in 41.20s")
    >>> s["passed"], s["failed"], s["skipped"], s["warnings"], s["seconds"]
    (52, 1, 6, 1, 41.2)
    """
    summary = None
    for line in reversed(output.splitlines()):
        bare = line.strip().strip("=").strip()
        if _SUMMARY_TIME.search(bare) and (_SUMMARY_COUNT.search(bare) or bare.startswith("no tests ran")):
            summary = bare
            break
    if summary is None:
        return None
    counts = dict.fromkeys(("passed", "failed", "errors", "skipped", "deselected", "xfailed", "xpassed", "warnings"),
                           0)
    for number, word in _SUMMARY_COUNT.findall(summary):
        counts[{"error": "errors", "warning": "warnings"}.get(word, word)] += int(number)
    failed, skips = [], []
    for line in output.splitlines():
        if match := _SHORT_SUMMARY.match(line):
            failed.append(match.group(2))
        elif match := _SKIPPED.match(line):
            skips.append({"count": int(match.group(1)), "reason": match.group(2)})
    return {**counts, "seconds": float(_SUMMARY_TIME.search(summary).group(1)), "failed_tests": failed,
            "skip_reasons": skips}


def pytest_command(files=GPU_TESTS, keywords: str = GPU_TEST_KEYWORDS) -> list[str]:
    """The pytest command line of the GPU tests (no cache written into the checkout)."""
    return [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", *files, "-k", keywords]


def run_gpu_tests(timeout: float, files=GPU_TESTS, keywords: str = GPU_TEST_KEYWORDS, root=None) -> dict:
    """Run the GPU tests in a child pytest and summarise them.

    Parameters
    ----------
    timeout : float
        Seconds before the run is stopped.
    files : sequence of str
        Test files, relative to ``root``.
    keywords : str
        pytest ``-k`` expression.
    root : path, optional
        The checkout holding the tests (default: :func:`~pixelflow.workbook.outputs.repository_root`).

    Returns
    -------
    dict
        ``status`` (``"ok"``: every selected test passed or skipped; ``"failed"``: a test failed or errored;
        ``"timeout"``; ``"error"``: pytest did not report; ``"not run"``: the test files are missing), the counts
        of :func:`parse_pytest_summary`, ``returncode``, ``seconds``, ``command`` and the output's tail.
    """
    root = Path(root) if root is not None else repository_root()
    missing = [f for f in files if not (root / f).is_file()]
    if missing:
        return {"status": "not run", "reason": f"test files not found under {root}: {', '.join(missing)}"}
    command = pytest_command(files, keywords)
    with tempfile.TemporaryDirectory(prefix="pixelflow-gpu-tests-") as scratch:
        # Whatever a test writes goes to a throwaway output root, never into the checkout.
        run = run_process(command, timeout, cwd=root, env={**os.environ, "PIXELFLOW_OUTPUT": scratch})
    summary = parse_pytest_summary(run["output"])
    if run["timed_out"]:
        status = "timeout"
    elif summary is None:
        status = "error"
    elif summary["failed"] or summary["errors"]:
        status = "failed"
    else:
        status = "ok" if run["returncode"] == 0 else "error"
    return {"status": status, **(summary or {}), "returncode": run["returncode"], "seconds": run["seconds"],
            "command": command, "output_tail": tail(run["output"], 6000)}


# ---------------------------------------------------------------- the MNIST-size timing

def repeat_to_length(X: np.ndarray, y: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The samples ``X`` and labels ``y`` repeated in order (and cut) to exactly ``n``.

    Sample ``i`` of the result is ``X[i % len(X)]`` with label ``y[i % len(X)]``.

    Raises
    ------
    ValueError
        If ``X`` and ``y`` differ in length or are empty, or ``n`` is not a positive integer.

    Examples
    --------
    >>> X, y = repeat_to_length(np.arange(3) * 10, np.arange(3), 7)
    >>> X.tolist(), y.tolist()
    ([0, 10, 20, 0, 10, 20, 0], [0, 1, 2, 0, 1, 2, 0])
    """
    n = check_count(n, "n")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)} labels; they must match")
    if len(X) == 0:
        raise ValueError("X must hold at least one sample to repeat, got none")
    index = np.arange(n) % len(X)
    return X[index], y[index]


def mnist_images(n: int = N_IMAGES, data_dir=None, seed: int = 0) -> tuple[np.ndarray, np.ndarray, dict]:
    """``n`` MNIST-size images: the MNIST images found locally (train then test) repeated to ``n``.

    Nothing is downloaded (a GPU machine may have no internet). Without local MNIST files the images are ``n``
    random 28x28 uint8 images scaled to [0, 1], with random labels, and the record says so.

    Returns
    -------
    X : ndarray of float32, shape (n, 28, 28)
    y : ndarray of int64, shape (n,)
    info : dict
        ``source`` (``"MNIST"`` or ``"random"``), ``n_unique``, ``repeated``, the split and file hashes (MNIST)
        or why the data was missing (random).
    """
    n = check_count(n, "n")
    seed = check_seed(seed)
    try:
        ds = datasets.mnist(data_dir, download=False)
    except (OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0]
        rng = np.random.default_rng(seed)
        X = (rng.integers(0, 256, (n, 28, 28), dtype=np.uint8).astype(np.float32) / np.float32(255))
        y = rng.integers(0, 10, n).astype(np.int64)
        return X, y, {"source": "random", "n_unique": n, "repeated": False, "why": reason,
                      "images": f"{n:,} random 28x28 uint8 images scaled to [0, 1], random labels (MNIST missing)"}
    X_all = np.concatenate([ds.X_train, ds.X_test])
    y_all = np.concatenate([ds.y_train, ds.y_test])
    X, y = repeat_to_length(X_all, y_all, n)
    return X, y, {
        "source": "MNIST", "split": ds.split, "n_unique": len(X_all), "repeated": n > len(X_all),
        "images": f"the {len(ds.y_train):,} training images then the {len(ds.y_test):,} test images "
                  f"({ds.split}), in official order, repeated in order to {n:,}",
        "source_dir": ds.meta.get("source_dir"), "files_sha256": ds.meta.get("files"),
    }


def _synchronize(xp) -> None:
    if xp is not np:
        xp.cuda.runtime.deviceSynchronize()


def _timed(fn, repeats: int, xp):
    """``fn()`` once untimed (warm-up: compilation, memory pools), then ``repeats`` timed calls; (times, result)."""
    result = fn()
    _synchronize(xp)
    times = []
    for _ in range(repeats):
        result = None  # the previous result is freed before the next call allocates its own
        t0 = time.perf_counter()
        result = fn()
        _synchronize(xp)
        times.append(time.perf_counter() - t0)
    return times, result


def _stage(times: list[float], n: int) -> dict:
    median = statistics.median(times)
    return {"seconds": median, "times_s": times, "samples_per_s": n / median}


def time_pipeline(X, y, preset: str = "mnist", backend: str = "cuda", repeats: int = 3) -> dict:
    """Seconds of a preset's ``transform``, ``RidgeReadout`` ``fit`` and ``predict`` on ``X``, each separately.

    Each stage runs once untimed (warm-up) and then ``repeats`` times; its median is reported. On a GPU the
    images are moved to the device first (timed apart, as ``upload_seconds``) and the features stay there for
    the fit and the prediction; every timed call ends with a device synchronisation.

    Parameters
    ----------
    X : ndarray, shape (N, 28, 28)
    y : ndarray of int, shape (N,)
    preset : str
        A name of :func:`pixelflow.workbook.presets.available` whose readout is a ridge readout.
    backend : str
    repeats : int

    Returns
    -------
    dict
        ``transform``, ``fit``, ``predict`` (each ``seconds`` (median), ``times_s``, ``samples_per_s``),
        ``total_seconds`` (sum of the medians), ``upload_seconds``, ``n_images``, ``n_features``, ``device`` and
        ``training_accuracy`` (a sanity check of the fitted readout, not a result).
    """
    repeats = check_count(repeats, "repeats")
    p = presets.get(preset)
    if p.readout != "ridge":
        raise ValueError(f"preset must have a ridge readout, got {preset!r} with readout {p.readout!r}")
    array_backend = get_backend(backend)
    xp = array_backend.xp
    reservoir = p.make_reservoir(backend, progress=False)
    y = np.asarray(y)
    t0 = time.perf_counter()
    X_dev = xp.asarray(X, dtype=np.float32)
    _synchronize(xp)
    upload = time.perf_counter() - t0
    n = len(X_dev)
    transform_times, F = _timed(lambda: reservoir.transform(X_dev), repeats, xp)
    fit_times, readout = _timed(lambda: p.make_readout().fit(F, y), repeats, xp)
    predict_times, predicted = _timed(lambda: readout.predict(F), repeats, xp)
    stages = {"transform": _stage(transform_times, n), "fit": _stage(fit_times, n),
              "predict": _stage(predict_times, n)}
    return {
        "preset": p.name, "backend": backend, "device": array_backend.describe(), "n_images": n,
        "n_features": int(F.shape[1]), "repeats": repeats, "upload_seconds": upload, **stages,
        "total_seconds": sum(s["seconds"] for s in stages.values()),
        "training_accuracy": float(np.mean(array_backend.to_numpy(predicted) == y)),
    }


def time_transform(X, config: ReservoirConfig, backend: str = "cuda", repeats: int = 3) -> dict:
    """Seconds of ``Reservoir(config, backend).transform(X)`` alone: median of ``repeats`` after a warm-up."""
    repeats = check_count(repeats, "repeats")
    array_backend = get_backend(backend)
    xp = array_backend.xp
    reservoir = Reservoir(config, backend=backend, progress=False)
    X_dev = xp.asarray(X, dtype=np.float32)
    _synchronize(xp)
    times, F = _timed(lambda: reservoir.transform(X_dev), repeats, xp)
    return {"config": config.to_dict(), "backend": backend, "device": array_backend.describe(), "n_images": len(X_dev),
            "n_features": int(F.shape[1]), "repeats": repeats, "transform": _stage(times, len(X_dev))}


def mnist70k_record(n: int = N_IMAGES, backend: str = "cuda", repeats: int = 3, data_dir=None) -> dict:
    """The MNIST-size timing: the ``mnist`` preset's three stages and the peer's configuration's transform.

    Returns
    -------
    dict
        ``images`` (see :func:`mnist_images`), ``preset_mnist`` (:func:`time_pipeline`), ``peer_config``
        (:func:`time_transform` of :data:`PEER_CONFIG`, or its ``error``), ``goal`` with ``within_goal`` (None
        unless ``n`` is the goal's 70,000),
        ``peer`` (:data:`PEER`, not measured here), ``ratio_ours_over_peer`` (samples/s) and ``provenance``.
    """
    X, y, images = mnist_images(n, data_dir)
    say(f"mnist70k: {images['images']}")
    pipeline = time_pipeline(X, y, "mnist", backend, repeats)
    say(f"mnist70k: preset mnist: transform {pipeline['transform']['seconds']:.3f} s, fit "
        f"{pipeline['fit']['seconds']:.3f} s, predict {pipeline['predict']['seconds']:.3f} s")
    peer_samples_per_s = PEER["n_images"] / PEER["transform_seconds"]
    ratio = {"preset_mnist_transform": pipeline["transform"]["samples_per_s"] / peer_samples_per_s}
    try:
        peer_config = time_transform(X, ReservoirConfig(**PEER_CONFIG), backend, repeats)
        ratio["peer_config_transform"] = peer_config["transform"]["samples_per_s"] / peer_samples_per_s
        say(f"mnist70k: peer's configuration: transform {peer_config['transform']['seconds']:.3f} s")
    except Exception as exc:  # noqa: BLE001 - the preset's numbers stand without it; the record says what failed
        peer_config = {"config": PEER_CONFIG, "error": f"{type(exc).__name__}: {exc}"}
    total = pipeline["total_seconds"]
    return {
        "check": "pixelflow.workbook.gpu_check", "workload": "mnist70k", "images": images,
        "timing": "time.perf_counter around each stage, device synchronised; one untimed warm-up call; median of "
                  f"{repeats}", "preset_mnist": pipeline, "peer_config": peer_config,
        # Met or not only means something for the goal's own number of images.
        "goal": {**GOAL, "measured_total_seconds": total, "measured_on": pipeline["device"],
                 "within_goal": total <= GOAL["seconds"] if n == GOAL["n_images"] else None},
        "peer": {**PEER, "samples_per_s": peer_samples_per_s}, "ratio_ours_over_peer": ratio,
        "provenance": provenance.collect(backend),
    }


def mnist70k_command(out, n: int = N_IMAGES, backend: str = "cuda") -> list[str]:
    """The command line that runs :func:`mnist70k_record` in a child process, writing its JSON to ``out``."""
    return [sys.executable, "-m", "pixelflow.workbook.gpu_check", "--mnist70k-to", str(out), "--n", str(n),
            "--backend", backend]


# ---------------------------------------------------------------- the benchmark suite

def usable_backends(names=BENCH_BACKENDS) -> tuple[list[str], dict[str, str]]:
    """The backends of ``names`` that start on this machine, and why each other one does not."""
    usable, left_out = [], {}
    for name in names:
        try:
            get_backend(name)
        except (ImportError, RuntimeError) as exc:
            left_out[name] = str(exc)
        else:
            usable.append(name)
    return usable, left_out


def backend_device(name: str) -> str:
    """The device backend ``name`` runs on (its ``describe()``), or why it cannot start here."""
    try:
        return get_backend(name).describe()
    except (ImportError, RuntimeError) as exc:
        return f"not usable: {exc}"


def bench_command(backends, out) -> list[str]:
    """The benchmark suite's command line, writing to ``out``."""
    return [sys.executable, "-m", "pixelflow.workbook.bench", "--backends", *backends, "--out", str(out)]


# ---------------------------------------------------------------- the check

class _Budget:
    """Seconds left of the whole check, and how long the next step may take."""

    def __init__(self, seconds: float, start: float | None = None):
        self.seconds = seconds
        self.start = time.monotonic() if start is None else start

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def allow(self, step: str) -> float:
        return min(STEP_LIMITS_S[step], self.seconds - self.elapsed() - _MARGIN_S)


def retire(path: Path) -> Path | None:
    """Move ``path`` (a results file of an earlier run) aside to ``<path>.stale``; None if there was none."""
    path = Path(path)
    if not path.exists():
        return None
    stale = path.with_name(path.name + ".stale")
    os.replace(path, stale)
    return stale


def _step_failed(name: str, run: dict, out: Path, steps: dict) -> None:
    status = "timeout" if run["timed_out"] else "failed"
    stale = retire(out)
    steps[name] = {"status": status, "seconds": run["seconds"], "returncode": run["returncode"],
                   "output_tail": tail(run["output"], 4000), "earlier_file_moved_to": stale}
    last = run["output"].strip().splitlines()
    say(f"{name}: {status} after {run['seconds']:.0f} s: {last[-1] if last else 'no output'}")
    if stale is not None:
        say(f"{name}: the earlier {out.name} is now {stale.name}")


def run_check(gpu: dict, install: dict | None, budget_s: float = BUDGET_S, n: int = N_IMAGES,
              start: float | None = None) -> int:
    """Run the steps on a machine where backend ``"cuda"`` works; write ``results/gpu/*.json``; the exit status.

    Parameters
    ----------
    gpu : dict
        :func:`nvidia_smi`'s description of the device.
    install : dict or None
        The CuPy install attempt (:func:`install_cuda_packages`), None if CuPy was there.
    budget_s : float
        Seconds for the whole check (the budget started before the install).
    n : int
        Images in the MNIST-size timing.
    start : float, optional
        :func:`time.monotonic` when the check began (default: now).

    Returns
    -------
    int
        1 if a GPU test failed or the tests did not run to the end (time limit, no test files), else 0.
    """
    budget = _Budget(budget_s, start)
    out_dir = output_root() / "results" / "gpu"
    device = {"gpu": gpu, "provenance": provenance.collect("cuda")}
    root = repository_root()
    steps: dict[str, dict] = {}

    # 1. The GPU tests: their record is written whatever the outcome, since a failure is the result.
    allowed = budget.allow("tests")
    if allowed < _MIN_STEP_S:
        tests = {"status": "not run", "reason": "the check's time budget was spent"}
    else:
        say(f"tests: pytest {' '.join(GPU_TESTS)} -k '{GPU_TEST_KEYWORDS}' (limit {allowed:.0f} s)")
        tests = run_gpu_tests(allowed)
    tests_file = write_json(out_dir / "gpu_tests.json", {
        "check": "pixelflow.workbook.gpu_check", "selection": {"files": list(GPU_TESTS), "keywords": GPU_TEST_KEYWORDS,
                                                               "why": GPU_TEST_SELECTION},
        **tests, "backends": {name: backend_device(name) for name in ("cuda", "moderngl")}, **device})
    steps["tests"] = {k: tests.get(k) for k in ("status", "seconds", "passed", "failed", "errors", "skipped")}
    steps["tests"]["file"] = tests_file
    say(f"tests: {tests['status']}{': ' + tests['reason'] if 'reason' in tests else ''}: "
        f"{tests.get('passed', '?')} passed, {tests.get('failed', '?')} failed, "
        f"{tests.get('errors', '?')} errors, {tests.get('skipped', '?')} skipped ({tests.get('seconds', 0):.0f} s)"
        f" -> {tests_file}")
    for node in tests.get("failed_tests", []):
        say(f"tests: FAILED {node}")

    # 2. The MNIST-size timing, in a child process so that its time limit can stop it.
    out = out_dir / "mnist70k.json"
    allowed = budget.allow("mnist70k")
    if allowed < _MIN_STEP_S:
        steps["mnist70k"] = {"status": "not run", "reason": "the check's time budget was spent"}
    else:
        say(f"mnist70k: {n:,} images, preset mnist on backend cuda (limit {allowed:.0f} s)")
        with tempfile.TemporaryDirectory(prefix="pixelflow-gpu-check-") as scratch:
            child = Path(scratch) / "mnist70k.json"
            run = run_process(mnist70k_command(child, n), allowed, cwd=root)
            if run["returncode"] == 0 and child.is_file():
                record = {**json.loads(child.read_text()), "gpu": gpu}
                written = write_json(out, record)
                total = record["preset_mnist"]["total_seconds"]
                steps["mnist70k"] = {"status": "ok", "seconds": run["seconds"], "file": written,
                                     "total_seconds": total, "images": record["images"]["source"]}
                say(f"mnist70k: transform + fit + predict {total:.3f} s (goal <= {GOAL['seconds']:g} s on an "
                    f"{GOAL['device_class']}; pixelflow-rc: {PEER['transform_seconds']} s for the transform on an "
                    f"{PEER['device']}) -> {written}")
            else:
                _step_failed("mnist70k", run, out, steps)

    # 3. The benchmark suite, on the backends that start here.
    out = out_dir / "bench_suite.json"
    allowed = budget.allow("bench")
    backends, left_out = usable_backends(BENCH_BACKENDS)
    for name, why in left_out.items():
        say(f"bench: backend {name} left out: {why}")
    if allowed < _MIN_STEP_S:
        steps["bench"] = {"status": "not run", "reason": "the check's time budget was spent"}
    else:
        say(f"bench: backends {', '.join(backends)} (limit {allowed:.0f} s)")
        with tempfile.TemporaryDirectory(prefix="pixelflow-gpu-check-") as scratch:
            child = Path(scratch) / "bench_suite.json"
            run = run_process(bench_command(backends, child), allowed, cwd=root)
            if run["returncode"] == 0 and child.is_file():
                record = json.loads(child.read_text())
                record.update(command=" ".join(["python -m pixelflow.workbook.bench", "--backends", *backends]),
                              backends_left_out=left_out, **device)
                written = write_json(out, record)
                steps["bench"] = {"status": "ok", "seconds": run["seconds"], "file": written, "backends": backends,
                                  "backends_left_out": left_out}
                say(f"bench: ok ({run['seconds']:.0f} s) -> {written}")
            else:
                _step_failed("bench", run, out, steps)

    exit_code = 0 if tests["status"] == "ok" else 1
    summary = write_json(out_dir / "gpu_check.json", {
        "check": "pixelflow.workbook.gpu_check", "budget_s": budget_s, "step_limits_s": STEP_LIMITS_S,
        "seconds": budget.elapsed(), "install": install, "steps": steps,
        "exit_code": exit_code, **device})
    say(f"done in {budget.elapsed():.0f} s; exit {exit_code} -> {summary}")
    return exit_code


def main(argv=None) -> int:
    """``python -m pixelflow.workbook.gpu_check``: the check, or a one-line skip without a usable NVIDIA GPU."""
    parser = argparse.ArgumentParser(description="Run the GPU tests, the MNIST-size timing and the benchmark suite "
                                     "on an NVIDIA GPU; write results/gpu/*.json. Without a GPU: say why, exit 0.")
    parser.add_argument("--budget-s", type=float, default=BUDGET_S, help="time limit of the whole check (seconds)")
    parser.add_argument("--n", type=int, default=N_IMAGES, help="images in the MNIST-size timing")
    parser.add_argument("--no-install", action="store_true", help="never pip-install CuPy, even when it is missing")
    parser.add_argument("--mnist70k-to", type=Path, metavar="PATH",
                        help="only the MNIST-size timing on --backend, its JSON written to PATH (the check runs "
                             "this in a child process, so that a time limit can stop it)")
    parser.add_argument("--backend", default="cuda", help="backend of --mnist70k-to (default: cuda)")
    args = parser.parse_args(argv)
    check_count(args.n, "--n")
    check_real(args.budget_s, "--budget-s", low=0.0, low_open=True)
    if args.mnist70k_to is not None:
        write_json(args.mnist70k_to, mnist70k_record(args.n, args.backend))
        return 0

    start = time.monotonic()
    gpu, reason = nvidia_smi()
    if gpu is None:
        print(f"gpu-check skipped: {reason}", flush=True)
        return 0
    install = None
    if importlib.util.find_spec("cupy") is None and not args.no_install:
        say(f"{describe_gpus(gpu)}; CuPy is missing: trying pip install (limit {STEP_LIMITS_S['install']:.0f} s)")
        install = install_cuda_packages(gpu["cuda_version"], min(STEP_LIMITS_S["install"], args.budget_s))
        if install["status"] == "installed":
            say(f"installed {' '.join(install['packages'])}")
        else:
            last = install["output_tail"].strip().splitlines()
            say(f"could not install CuPy ({install['status']}; no internet?): {last[-1] if last else 'no output'}")
    problem = cuda_backend_problem()
    if problem is not None:
        print(f"gpu-check skipped: {problem}", flush=True)
        return 0
    say(f"{describe_gpus(gpu)}; budget {args.budget_s:.0f} s")
    return run_check(gpu, install, args.budget_s, args.n, start)


if __name__ == "__main__":
    sys.exit(main())
