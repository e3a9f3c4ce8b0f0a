"""Reservoir features kept on disk, so that no run computes the same feature matrix twice.

A notebook's search computes each configuration's features, its final
evaluation computes the winners' again, other notebooks compute the same
presets on the same data, and a rerun after a change elsewhere (a readout, a
table) computes everything again. :func:`features` stores each matrix with
:class:`joblib.Memory`, keyed by

- the configuration (``to_dict()``, seed included) and the backend,
- the bytes of the input as the reservoir sees it (cast to the
  configuration's dtype, which is all :meth:`Reservoir.transform` does before
  computing),
- the hash of the library's source files on the feature path
  (:func:`feature_code_hash`) and the versions of numpy and numba,

so a hit returns exactly the matrix a computation would (features are
deterministic and bit-identical across runs and batches). A stack's features
are its members' blocks side by side, so each member is stored on its own and
shared with the searches that try it alone.

Where: ``$PIXELFLOW_FEATURE_CACHE`` (a folder), by default
``~/.cache/pixelflow/features`` (``$XDG_CACHE_HOME`` respected) — outside the
repository. ``PIXELFLOW_FEATURE_CACHE=off`` bypasses it. Its size is kept
under ``$PIXELFLOW_FEATURE_CACHE_GB`` gigabytes (default 20) by dropping the
least recently used entries. joblib writes each entry to a temporary folder
and renames it into place, so concurrent runs do not see half-written entries.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
from pathlib import Path

import numpy as np

from pixelflow.config import ReservoirConfig
from pixelflow.stack import StackConfig, make_reservoir

CACHE_ENV_VAR = "PIXELFLOW_FEATURE_CACHE"
SIZE_ENV_VAR = "PIXELFLOW_FEATURE_CACHE_GB"
DEFAULT_GB = 20.0
_OFF = ("off", "0", "no", "false", "")

# Packages and modules of the library that never run while features are computed: a change there
# keeps the stored features valid. Everything else counts, so an unlisted new module invalidates them.
_NOT_FEATURE_CODE = ("workbook", "nca", "timeseries", "scaleout", "datasets", "core", "tasks",
                     "readouts.py", "sklearn.py", "eikonal.py", "presets.py", "linalg/ridge.py")


def cache_dir() -> Path | None:
    """The cache folder, or None when ``PIXELFLOW_FEATURE_CACHE=off``."""
    value = os.environ.get(CACHE_ENV_VAR)
    if value is not None and value.strip().lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixelflow" / "features"


def size_limit_bytes() -> int:
    """``$PIXELFLOW_FEATURE_CACHE_GB`` (default 20) in bytes.

    Raises
    ------
    ValueError
        When the variable is not a positive number.
    """
    text = os.environ.get(SIZE_ENV_VAR, str(DEFAULT_GB))
    try:
        gb = float(text)
    except ValueError:
        gb = -1.0
    if not gb > 0:
        raise ValueError(f"{SIZE_ENV_VAR} must be a positive number of gigabytes, got {text!r}")
    return int(gb * 2**30)


@functools.lru_cache(maxsize=1)
def feature_code_hash() -> str:
    """sha256 over the library's source files that feature computation can run, and the versions of numpy, numba,
    torch and kymatio (those installed)."""
    return source_hash(Path(__file__).resolve().parent.parent)


def source_hash(package: Path) -> str:
    """:func:`feature_code_hash` of the package folder ``package``."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if "__pycache__" in rel or rel.startswith(_NOT_FEATURE_CODE):
            continue
        digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in ("numpy", "numba", "torch", "kymatio"):  # torch and kymatio: the scattering baseline
        try:
            digest.update(f"{name}={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            continue
    return digest.hexdigest()


def _compute(config: ReservoirConfig, backend: str, code: str, X: np.ndarray) -> np.ndarray:
    # ``code`` is part of the key only: stored features of other feature code are never found.
    return make_reservoir(config, backend=backend, progress=False).transform(X)


@functools.lru_cache(maxsize=4)
def _memory(location: str):
    import joblib

    return joblib.Memory(location, verbose=0)


def features(config: ReservoirConfig | StackConfig, X, backend: str = "cpu") -> np.ndarray:
    """The reservoir features of ``X``, from the cache when it holds them (see the module's notes).

    Equal, bit for bit, to ``make_reservoir(config, backend).transform(X)``.

    Parameters
    ----------
    config : ReservoirConfig or StackConfig
    X : ndarray, shape (N, ...)
    backend : str
    """
    if isinstance(config, StackConfig):
        # As ReservoirStack.transform: the input cast once to the narrowest member dtype, then each block.
        narrowest = min((np.dtype(getattr(m, "dtype", "float32")) for m in config.members),
                        key=lambda d: d.itemsize)
        X = np.asarray(X, dtype=narrowest)
        return np.concatenate([features(m, X, backend) for m in config.members], axis=1)
    location = cache_dir()
    if location is None or not isinstance(X, np.ndarray):
        return make_reservoir(config, backend=backend, progress=False).transform(X)
    # A reservoir casts its input to its dtype first; the baselines take float32 images.
    X = np.ascontiguousarray(X, dtype=np.dtype(getattr(config, "dtype", "float32")))
    limit = size_limit_bytes()
    memory = _memory(str(location))
    F = memory.cache(_compute)(config, backend, feature_code_hash(), X)
    memory.reduce_size(bytes_limit=limit)
    return F
