"""Where a number came from: code version, packages, machine and device."""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path

from pixelflow.backends.cpu import cpu_model
from pixelflow.workbook.outputs import OUTPUT_DIRS

PACKAGES = ("pixelflow", "numpy", "scipy", "scikit-learn", "scikit-fmm", "torch", "cupy-cuda13x", "cupy-cuda12x",
            "moderngl", "papermill", "matplotlib")


def git_output(*args: str, cwd: Path) -> str | None:
    """The stripped output of ``git *args`` run in ``cwd``, or None when git fails or is missing."""
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(root: Path | None = None) -> dict:
    """Commit hash and whether tracked files had uncommitted changes, outside the workbook's own outputs.

    A build rewrites ``results/`` and ``figures/`` as its notebooks finish, so
    a change there says nothing about the code that ran; the paper-scale
    guard (:mod:`pixelflow.workbook.dependencies`) checks the files each run
    depends on exactly.
    """
    root = Path(root or Path(__file__).resolve().parent.parent.parent)
    commit = git_output("rev-parse", "HEAD", cwd=root)
    dirty = git_output("status", "--porcelain", "--untracked-files=no", "--", ".",
                       *(f":(exclude){d}" for d in OUTPUT_DIRS), cwd=root)
    return {"commit": commit, "dirty": None if dirty is None else bool(dirty)}


def package_versions(names=PACKAGES) -> dict:
    """Installed versions of the packages that can change a result (absent ones omitted)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def collect(backend=None) -> dict:
    """Provenance for a results file.

    Parameters
    ----------
    backend : ArrayBackend or str, optional
        The backend the numbers were computed on; its device is described.
    """
    info = {
        "git": git_state(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    if backend is not None:
        from pixelflow.backends import get_backend

        b = get_backend(backend)
        info["backend"] = b.name
        info["device"] = b.describe()
    return info
