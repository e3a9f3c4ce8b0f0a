"""Trained models kept on disk, keyed by what they were trained on and by the code that trains them.

Training a neural CA is the slow part of the learned-rule notebooks, and it is
deterministic: the same recipe, data and seed on one CPU thread give the same
weights, bit for bit. So a rerun made necessary by a change elsewhere (a table,
a plot, a metric) need not train again. :func:`trained` stores each model's
weights with :func:`pixelflow.nca.checkpoint.save`, under a key made of

- ``what`` — a JSON-able description of the training, which the caller makes
  complete: the recipe, the model's architecture and seed, and digests of the
  data (:func:`array_digest`);
- the hash of the source files that training can run (:func:`training_code_hash`:
  the ``pixelflow.nca`` and ``pixelflow.baselines`` packages and the modules
  they build on) and the versions of torch and numpy,

so a hit is the model that training would produce now. The stored entry also
holds ``what`` itself, checked on every hit.

Where: ``$PIXELFLOW_MODEL_CACHE`` (a folder), by default
``~/.cache/pixelflow/models`` (``$XDG_CACHE_HOME`` respected), outside the
repository. ``PIXELFLOW_MODEL_CACHE=off`` trains every time and stores nothing.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

CACHE_ENV_VAR = "PIXELFLOW_MODEL_CACHE"
_OFF = ("off", "0", "no", "false", "")
_FORMAT = "pixelflow.model-cache/1"

# What training runs: the learned-rule package, the baselines trained like it, and the modules both build on.
_TRAINING_CODE = ("nca", "baselines", "checks.py", "atomic.py")

__all__ = ["CACHE_ENV_VAR", "array_digest", "cache_dir", "entry_path", "trained", "training_code_hash"]


def cache_dir() -> Path | None:
    """The cache folder, or None when ``PIXELFLOW_MODEL_CACHE=off``."""
    value = os.environ.get(CACHE_ENV_VAR)
    if value is not None and value.strip().lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixelflow" / "models"


@functools.lru_cache(maxsize=1)
def training_code_hash() -> str:
    """sha256 over the package's source files that training runs, and the versions of torch and numpy."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if "__pycache__" not in rel and rel.startswith(_TRAINING_CODE):
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in ("torch", "numpy"):
        try:
            digest.update(f"{name}={importlib.metadata.version(name)}".encode())
        except importlib.metadata.PackageNotFoundError:
            continue
    return digest.hexdigest()


def array_digest(a) -> str:
    """sha256 of an array's dtype, shape and bytes: the data part of a training's description.

    >>> array_digest(np.zeros(3)) == array_digest(np.zeros(3)), array_digest(np.zeros(3)) == array_digest(np.zeros(4))
    (True, False)
    """
    a = np.ascontiguousarray(a)
    return hashlib.sha256(f"{a.dtype.str}{a.shape}".encode() + a.tobytes()).hexdigest()


def _canonical(what: Mapping) -> str:
    if not isinstance(what, Mapping):
        raise TypeError(f"what must be a mapping describing the training, got {type(what).__name__}")
    try:
        return json.dumps(what, sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise TypeError(f"what must hold only JSON values (digest arrays with array_digest): {exc}") from None


def entry_path(what: Mapping, location: Path | None = None) -> Path | None:
    """Where the model trained on ``what`` is (or would be) stored; None when the cache is off."""
    location = cache_dir() if location is None else Path(location)
    if location is None:
        return None
    key = hashlib.sha256((_canonical(what) + "\0" + training_code_hash()).encode()).hexdigest()
    return location / f"{key}.pt"


def _load(path: Path, what: str):
    import torch

    try:
        entry = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - a truncated or foreign file is a miss, whatever torch raises
        return None
    ok = isinstance(entry, dict) and entry.get("format") == _FORMAT and entry.get("what") == what
    return entry if ok and isinstance(entry.get("weights"), dict) and isinstance(entry.get("info"), dict) else None


def trained(what: Mapping, build: Callable[[], object], fit: Callable[[object], Mapping]) -> tuple[object, dict, bool]:
    """The model trained as ``what`` describes: stored weights when the cache holds them, else trained now.

    Parameters
    ----------
    what : mapping
        A complete, JSON-able description of the training (see the module notes).
    build : callable
        Returns the untrained model (a ``torch.nn.Module``), the same every call.
    fit : callable
        Trains the model it is given in place and returns its ``info`` (plain
        values: numbers, strings, lists, dicts), e.g. the loss history and
        the training time.

    Returns
    -------
    (model, info, from_cache)
        ``info`` is the one ``fit`` returned when the model was trained, so a
        model from the cache reports the training time it took then.
    """
    from pixelflow.nca.checkpoint import save

    canonical = _canonical(what)
    path = entry_path(what)
    model = build()
    if path is not None and path.is_file():
        entry = _load(path, canonical)
        if entry is not None:
            model.load_state_dict(entry["weights"])
            return model, dict(entry["info"]), True
    info = dict(fit(model))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # An unreadable or foreign file at this key is the cache's own: the new entry replaces it.
        save({"format": _FORMAT, "what": canonical, "weights": model.state_dict(), "info": info}, path)
    return model, info, False
