"""The GPU check: a one-line skip without a GPU, and every piece that runs without one.

The check itself needs an NVIDIA GPU; here its skip paths run as a user runs them (a child
``python -m pixelflow.workbook.gpu_check`` with a PATH that holds no ``nvidia-smi``, or a stand-in
``nvidia-smi``), and its parts run on the CPU: the parsers, the image set, the timing on backend ``cpu``, the
pytest step on a small test file and the whole sequence of steps with the GPU-only ones replaced.
"""

import gzip
import importlib.util
import json
import os
import shutil
import statistics
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from pixelflow.readouts import RidgeReadout
from pixelflow.workbook import gpu_check, presets
from pixelflow.workbook.gpu_check import (
    cuda_packages,
    mnist70k_record,
    mnist_images,
    parse_cuda_version,
    parse_gpu_query,
    parse_pytest_summary,
    repeat_to_length,
    run_gpu_tests,
    run_process,
    time_pipeline,
)

REPO = Path(__file__).resolve().parent.parent

H200_QUERY = "0, NVIDIA H200, 570.86.15, 143771\n"
BANNER = """Mon Nov 23 10:00:00 2026
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 570.86.15              Driver Version: 570.86.15      CUDA Version: 12.8     |
|-----------------------------------------+------------------------+----------------------+
| GPU  Name                 Persistence-M | Bus-Id          Disp.A | Volatile Uncorr. ECC |
|   0  NVIDIA H200                    On  |   00000000:18:00.0 Off |                    0 |
+-----------------------------------------+------------------------+----------------------+
"""


# ---------------------------------------------------------------- without a GPU: one line, nothing written

def _snapshot(root: Path) -> tuple:
    """What a run could have written into the checkout: results/'s entries and everything under results/gpu."""
    gpu = root / "results" / "gpu"
    files = sorted((str(p.relative_to(gpu)), p.stat().st_mtime_ns) for p in gpu.rglob("*")) if gpu.exists() else []
    return sorted(os.listdir(root / "results")), files


def _run_cli(tmp_path: Path, path_dirs: list[Path], *args: str) -> subprocess.CompletedProcess:
    out = tmp_path / "output"
    out.mkdir()
    before = _snapshot(REPO)
    env = {**os.environ, "PATH": os.pathsep.join(str(d) for d in path_dirs), "PIXELFLOW_OUTPUT": str(out)}
    run = subprocess.run([sys.executable, "-m", "pixelflow.workbook.gpu_check", *args], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=300)
    assert list(out.iterdir()) == [], "a skipped check must write nothing"
    assert _snapshot(REPO) == before, "a skipped check must leave the checkout's results/ untouched"
    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip().splitlines()) == 1, run.stdout
    return run


def _fake_nvidia_smi(directory: Path, script: str) -> Path:
    directory.mkdir()
    exe = directory / "nvidia-smi"
    exe.write_text("#!/bin/sh\n" + script)
    exe.chmod(0o755)
    return directory


def test_without_nvidia_smi_the_check_skips_in_one_line(tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    run = _run_cli(tmp_path, [empty])
    assert run.stdout.startswith("gpu-check skipped: nvidia-smi not found")


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi: the check would run")
def test_on_this_machine_the_check_skips_in_one_line(tmp_path):
    run = _run_cli(tmp_path, os.environ["PATH"].split(os.pathsep))
    assert run.stdout.startswith("gpu-check skipped: ")


def test_a_driver_that_lists_no_device_is_a_skip(tmp_path):
    bin_dir = _fake_nvidia_smi(tmp_path / "bin", 'echo "No devices were found"\nexit 6\n')
    run = _run_cli(tmp_path, [bin_dir])
    assert run.stdout.strip() == "gpu-check skipped: no CUDA device: nvidia-smi exited with 6 (No devices were found)"


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_a_gpu_without_cupy_is_a_skip_when_installing_is_refused(tmp_path):
    script = (f'case "$1" in\n  --query-gpu=*) printf "{H200_QUERY.strip()}\\n" ;;\n'
              '  *) echo "| NVIDIA-SMI 570.86.15   Driver Version: 570.86.15   CUDA Version: 12.8 |" ;;\nesac\n')
    bin_dir = _fake_nvidia_smi(tmp_path / "bin", script)
    run = _run_cli(tmp_path, [bin_dir], "--no-install")
    assert run.stdout.startswith("gpu-check skipped: CuPy not importable (No module named 'cupy')")


def test_arguments_are_checked_before_anything_runs():
    with pytest.raises(ValueError, match="--n must be"):
        gpu_check.main(["--n", "0"])
    with pytest.raises(ValueError, match="--budget-s"):
        gpu_check.main(["--budget-s", "-1"])


# ---------------------------------------------------------------- nvidia-smi and CuPy

def test_the_gpu_query_parser_reads_every_gpu():
    text = H200_QUERY + "1, NVIDIA H100 80GB HBM3, 570.86.15, [N/A]\n\n"
    assert parse_gpu_query(text) == [
        {"index": 0, "name": "NVIDIA H200", "driver_version": "570.86.15", "memory_total_mib": 143771},
        {"index": 1, "name": "NVIDIA H100 80GB HBM3", "driver_version": "570.86.15", "memory_total_mib": None},
    ]
    assert parse_gpu_query("") == []


def test_the_gpu_query_parser_refuses_a_line_it_cannot_read():
    line = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    with pytest.raises(ValueError, match="couldn't communicate"):
        parse_gpu_query(line)


def test_the_cuda_version_comes_from_the_banner_or_the_full_query():
    assert parse_cuda_version(BANNER) == "12.8"
    assert parse_cuda_version("    Driver Version                            : 580.65.06\n"
                              "    CUDA Version                              : 13.0\n") == "13.0"
    assert parse_cuda_version("No devices were found") is None


def test_cupy_wheels_follow_the_drivers_cuda_version():
    missing = lambda module: None  # noqa: E731
    assert cuda_packages("12.8", installed=missing) == ["cupy-cuda12x", "numba-cuda[cu12]"]
    assert cuda_packages("13.0", installed=missing) == ["cupy-cuda13x", "numba-cuda[cu13]"]
    assert cuda_packages("14.1", installed=missing) == ["cupy-cuda13x", "numba-cuda[cu13]"]
    only_cupy = lambda module: object() if module == "cupy" else None  # noqa: E731
    assert cuda_packages("12.4", installed=only_cupy) == ["numba-cuda[cu12]"]
    for bad in ("11.8", None, "unknown"):
        with pytest.raises(ValueError, match=f"cuda_version must be .* got {bad!r}"):
            cuda_packages(bad, installed=missing)


# ---------------------------------------------------------------- the pytest step

PYTEST_OUTPUT = """\
..........F.....sss...E
=================================== FAILURES ===================================
_____________________ test_cuda_matches_numpy[tile-wave-4] _____________________
E   AssertionError: Not equal to tolerance
=========================== short test summary info ============================
SKIPPED [1] tests/test_backends.py:91: CuPy with a CUDA device is present
SKIPPED [2] tests/test_gl_backend.py:28: no OpenGL context for backend 'moderngl': no EGL
FAILED tests/test_backends.py::test_cuda_matches_numpy[tile-wave-4-params0] - AssertionError: Not equal
ERROR tests/test_driven.py::test_cuda_run_matches_numpy[wave-4-params0-add] - RuntimeError: out of memory
= 1 failed, 52 passed, 3 skipped, 208 deselected, 2 warnings, 1 error in 75.20s (0:01:15) =
"""


def test_the_pytest_summary_parser_counts_every_outcome():
    s = parse_pytest_summary(PYTEST_OUTPUT)
    assert {k: s[k] for k in ("passed", "failed", "errors", "skipped", "deselected", "warnings", "xfailed")} == {
        "passed": 52, "failed": 1, "errors": 1, "skipped": 3, "deselected": 208, "warnings": 2, "xfailed": 0}
    assert s["seconds"] == 75.2
    assert s["failed_tests"] == ["tests/test_backends.py::test_cuda_matches_numpy[tile-wave-4-params0]",
                                 "tests/test_driven.py::test_cuda_run_matches_numpy[wave-4-params0-add]"]
    assert s["skip_reasons"] == [
        {"count": 1, "reason": "tests/test_backends.py:91: CuPy with a CUDA device is present"},
        {"count": 2, "reason": "tests/test_gl_backend.py:28: no OpenGL context for backend 'moderngl': no EGL"}]


def test_the_pytest_summary_parser_knows_empty_and_unfinished_runs():
    assert parse_pytest_summary("\nno tests ran in 0.01s\n")["passed"] == 0
    assert parse_pytest_summary("1 error in 0.52s")["errors"] == 1
    # Stopped before the summary: no counts rather than wrong ones.
    assert parse_pytest_summary("....F..s\n") is None


def test_the_tests_step_runs_pytest_and_counts_its_outcomes(tmp_path):
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_sample_passes():\n    assert True\n\n"
        "def test_sample_fails():\n    assert 1 == 2\n\n"
        "def test_sample_skips():\n    pytest.skip('no device here')\n\n"
        "def test_unselected():\n    assert False\n")
    result = run_gpu_tests(120, files=("test_sample.py",), keywords="passes or fails or skips", root=tmp_path)
    assert result["status"] == "failed"
    assert (result["passed"], result["failed"], result["skipped"], result["deselected"]) == (1, 1, 1, 1)
    assert result["failed_tests"] == ["test_sample.py::test_sample_fails"]
    assert "no device here" in result["skip_reasons"][0]["reason"]
    assert not (tmp_path / ".pytest_cache").exists()

    (tmp_path / "test_sample.py").write_text("def test_sample_passes():\n    assert True\n")
    assert run_gpu_tests(120, files=("test_sample.py",), keywords="passes", root=tmp_path)["status"] == "ok"
    missing = run_gpu_tests(120, files=("test_gone.py",), root=tmp_path)
    assert missing["status"] == "not run" and "test_gone.py" in missing["reason"]


def test_a_step_past_its_limit_is_stopped_with_the_processes_it_started():
    script = ("import subprocess, sys, time\n"
              "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
              "print(p.pid, flush=True)\n"
              "time.sleep(120)\n")
    run = run_process([sys.executable, "-c", script], timeout=5)
    assert run["timed_out"] and run["returncode"] != 0
    grandchild = Path(f"/proc/{int(run['output'].split()[0])}/status")

    def ended():  # gone, or dead and waiting to be reaped
        try:
            return "\nState:\tZ" in grandchild.read_text()
        except FileNotFoundError:
            return True

    # SIGKILL is sent at once but acted on when the process is next scheduled: wait for that, up to a minute.
    for _ in range(600):
        if ended():
            break
        time.sleep(0.1)
    assert ended(), grandchild.read_text()
    with pytest.raises(ValueError, match="timeout"):
        run_process(["true"], timeout=0)


# ---------------------------------------------------------------- the MNIST-size timing

def _write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def small_mnist(tmp_path):
    """An MNIST folder of 7 training and 5 test images (labels 0..9 in turn)."""
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (12, 28, 28), dtype=np.uint8)
    labels = np.arange(12) % 10
    folder = tmp_path / "data" / "mnist"
    folder.mkdir(parents=True)
    _write_idx(folder / "train-images-idx3-ubyte.gz", images[:7])
    _write_idx(folder / "train-labels-idx1-ubyte.gz", labels[:7])
    _write_idx(folder / "t10k-images-idx3-ubyte.gz", images[7:])
    _write_idx(folder / "t10k-labels-idx1-ubyte.gz", labels[7:])
    return folder, images, labels


def test_repetition_gives_exactly_n_samples_with_their_labels():
    X = np.arange(5 * 2 * 2).reshape(5, 2, 2)
    y = np.arange(5) * 3
    X12, y12 = repeat_to_length(X, y, 12)
    assert X12.shape == (12, 2, 2) and y12.shape == (12,)
    for i in range(12):
        np.testing.assert_array_equal(X12[i], X[i % 5])
        assert y12[i] == y[i % 5]
    X3, y3 = repeat_to_length(X, y, 3)
    np.testing.assert_array_equal(X3, X[:3])
    np.testing.assert_array_equal(y3, y[:3])


def test_repetition_refuses_what_it_cannot_repeat():
    with pytest.raises(ValueError, match="X has 3 samples but y has 2 labels"):
        repeat_to_length(np.zeros((3, 2)), np.zeros(2), 5)
    with pytest.raises(ValueError, match="at least one sample"):
        repeat_to_length(np.zeros((0, 2)), np.zeros(0), 5)
    with pytest.raises(ValueError, match="n must be"):
        repeat_to_length(np.zeros((3, 2)), np.zeros(3), 0)


def test_the_image_set_is_the_local_mnist_repeated_in_order(small_mnist):
    folder, images, labels = small_mnist
    X, y, info = mnist_images(30, data_dir=folder)
    assert X.shape == (30, 28, 28) and X.dtype == np.float32 and y.shape == (30,)
    for i in range(30):
        np.testing.assert_array_equal(X[i], images[i % 12] / np.float32(255))
        assert y[i] == labels[i % 12]
    assert info["source"] == "MNIST" and info["n_unique"] == 12 and info["repeated"] is True
    assert "repeated in order to 30" in info["images"] and info["files_sha256"]
    assert mnist_images(10, data_dir=folder)[2]["repeated"] is False


def test_without_mnist_the_images_are_random_and_the_record_says_so(monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("Could not find the MNIST data files, and downloading is disabled.\nsearched: ...")

    monkeypatch.setattr(gpu_check.datasets, "mnist", missing)
    X, y, info = mnist_images(50)
    assert X.shape == (50, 28, 28) and X.dtype == np.float32
    np.testing.assert_allclose(X * 255, np.round(X * 255), atol=1e-4)  # uint8 images scaled to [0, 1]
    assert X.min() >= 0 and X.max() <= 1 and set(np.unique(y)) <= set(range(10))
    assert info["source"] == "random" and info["repeated"] is False
    assert info["why"] == "Could not find the MNIST data files, and downloading is disabled."


def test_the_timing_on_the_cpu_backend_times_each_stage_of_the_preset():
    rng = np.random.default_rng(0)
    X = rng.random((40, 28, 28), dtype=np.float32)
    y = np.arange(40) % 10
    t = time_pipeline(X, y, "mnist", backend="cpu", repeats=2)
    preset = presets.get("mnist")
    assert (t["n_images"], t["n_features"], t["backend"]) == (40, preset.reservoir.n_features, "cpu")
    for stage in ("transform", "fit", "predict"):
        assert len(t[stage]["times_s"]) == 2
        assert t[stage]["seconds"] == statistics.median(t[stage]["times_s"]) > 0
        assert t[stage]["samples_per_s"] == pytest.approx(40 / t[stage]["seconds"])
    assert t["total_seconds"] == pytest.approx(sum(t[s]["seconds"] for s in ("transform", "fit", "predict")))
    # The timed readout is the preset's, fitted on the preset's features.
    F = preset.make_reservoir("cpu", progress=False).transform(X)
    expected = RidgeReadout(**preset.readout_params).fit(F, y).predict(F)
    assert t["training_accuracy"] == np.mean(expected == y)
    with pytest.raises(ValueError, match="repeats must be"):
        time_pipeline(X, y, "mnist", backend="cpu", repeats=0)


def test_the_mnist_size_record_holds_the_goal_the_peer_and_the_provenance(small_mnist):
    folder, _, _ = small_mnist
    r = mnist70k_record(n=30, backend="cpu", repeats=1, data_dir=folder)
    assert r["images"]["source"] == "MNIST" and r["images"]["repeated"] is True
    assert r["preset_mnist"]["n_images"] == 30 and r["peer_config"]["n_images"] == 30
    assert r["peer_config"]["config"]["rule"] == "wave" and r["peer_config"]["n_features"] == 32 * 32 * 4
    assert r["goal"]["seconds"] == 1.0 and r["goal"]["measured_total_seconds"] == r["preset_mnist"]["total_seconds"]
    assert r["goal"]["within_goal"] is None, "30 images say nothing about the 70,000-image goal"
    assert (r["peer"]["transform_seconds"], r["peer"]["device"]) == (5.81, "NVIDIA GeForce RTX 3090")
    assert r["peer"]["measured_here"] is False
    assert r["ratio_ours_over_peer"]["peer_config_transform"] == pytest.approx(
        r["peer_config"]["transform"]["samples_per_s"] / (70_000 / 5.81))
    assert r["provenance"]["backend"] == "cpu" and r["provenance"]["device"]


# ---------------------------------------------------------------- the steps in sequence

@pytest.fixture
def fake_gpu(monkeypatch, tmp_path):
    """The check's GPU-only pieces replaced: the output root is tmp_path, backend cuda is described, not run."""
    monkeypatch.setenv("PIXELFLOW_OUTPUT", str(tmp_path))
    monkeypatch.setattr(gpu_check.provenance, "collect", lambda backend=None: {"backend": backend})
    monkeypatch.setattr(gpu_check, "backend_device", lambda name: f"stand-in {name}")
    monkeypatch.setattr(gpu_check, "usable_backends", lambda names: (["cpu"], {"cuda": "no CUDA device"}))
    return {"gpus": parse_gpu_query(H200_QUERY), "cuda_version": "12.8"}


def _tests_result(status, failed):
    return {"status": status, "passed": 5, "failed": failed, "errors": 0, "skipped": 1, "seconds": 1.0,
            "failed_tests": ["tests/test_backends.py::test_cuda_matches_numpy[x]"] * failed}


def test_the_check_records_every_step_and_fails_when_a_gpu_test_fails(fake_gpu, monkeypatch, tmp_path):
    monkeypatch.setattr(gpu_check, "run_gpu_tests", lambda timeout: _tests_result("failed", 1))
    real_command = gpu_check.mnist70k_command
    monkeypatch.setattr(gpu_check, "mnist70k_command", lambda out, n: real_command(out, n, backend="cpu"))
    bench = ("import json, sys\n"
             "json.dump({'benchmark': 'suite', 'provenance': {'backend': None}}, open(sys.argv[1], 'w'))")
    monkeypatch.setattr(gpu_check, "bench_command", lambda backends, out: [sys.executable, "-c", bench, str(out)])

    assert gpu_check.run_check(fake_gpu, None, budget_s=400, n=20) == 1

    out = tmp_path / "results" / "gpu"
    tests = json.loads((out / "gpu_tests.json").read_text())
    assert tests["status"] == "failed" and tests["failed"] == 1
    assert tests["selection"]["keywords"] == gpu_check.GPU_TEST_KEYWORDS
    assert tests["gpu"]["gpus"][0]["name"] == "NVIDIA H200" and tests["provenance"] == {"backend": "cuda"}
    assert tests["backends"] == {"cuda": "stand-in cuda", "moderngl": "stand-in moderngl"}
    timing = json.loads((out / "mnist70k.json").read_text())
    assert timing["preset_mnist"]["n_images"] == 20 and timing["gpu"]["cuda_version"] == "12.8"
    suite = json.loads((out / "bench_suite.json").read_text())
    assert suite["benchmark"] == "suite" and suite["provenance"] == {"backend": "cuda"}
    assert suite["gpu"]["gpus"][0]["driver_version"] == "570.86.15"
    assert suite["backends_left_out"] == {"cuda": "no CUDA device"}
    summary = json.loads((out / "gpu_check.json").read_text())
    assert {k: v["status"] for k, v in summary["steps"].items()} == {"tests": "failed", "mnist70k": "ok",
                                                                    "bench": "ok"}
    assert summary["exit_code"] == 1


def test_a_failed_step_is_recorded_and_the_check_goes_on(fake_gpu, monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(gpu_check, "run_gpu_tests", lambda timeout: _tests_result("ok", 0))
    fail = "import sys; print('out of device memory'); sys.exit(3)"
    monkeypatch.setattr(gpu_check, "mnist70k_command", lambda out, n: [sys.executable, "-c", fail])
    monkeypatch.setattr(gpu_check, "bench_command", lambda backends, out: [sys.executable, "-c", fail])
    out = tmp_path / "results" / "gpu"
    out.mkdir(parents=True)
    (out / "bench_suite.json").write_text('{"from": "an earlier run"}')

    assert gpu_check.run_check(fake_gpu, None, budget_s=400, n=20) == 0

    summary = json.loads((out / "gpu_check.json").read_text())
    steps = summary["steps"]
    assert steps["tests"]["status"] == "ok"
    assert steps["mnist70k"]["status"] == steps["bench"]["status"] == "failed"
    assert steps["mnist70k"]["returncode"] == 3 and "out of device memory" in steps["mnist70k"]["output_tail"]
    # No numbers from this run, and the earlier ones are set aside rather than passed off as current.
    assert not (out / "mnist70k.json").exists() and not (out / "bench_suite.json").exists()
    assert json.loads((out / "bench_suite.json.stale").read_text()) == {"from": "an earlier run"}
    assert "bench: failed" in capsys.readouterr().out


def test_a_spent_budget_runs_no_step_and_fails_the_check(fake_gpu, monkeypatch, tmp_path):
    monkeypatch.setattr(gpu_check, "run_gpu_tests", lambda timeout: _tests_result("ok", 0))
    # Tests that did not run passed nothing.
    assert gpu_check.run_check(fake_gpu, None, budget_s=15, n=20) == 1
    steps = json.loads((tmp_path / "results" / "gpu" / "gpu_check.json").read_text())["steps"]
    assert steps["tests"]["status"] == steps["mnist70k"]["status"] == steps["bench"]["status"] == "not run"
