"""Backends that run the xp-written rules on an array module (numpy, cupy)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArrayBackend:
    """An array module plus the moves between host and device.

    Attributes
    ----------
    name : str
        The name it was selected by.
    xp : module
        numpy or cupy.
    """

    name: str
    xp: Any
    kernels: str | None = None

    def fused_kernel(self, rule):
        """A fused kernel that replaces the step loop for ``rule``, or None.

        ``kernels`` names a module with a ``fused_kernel(rule)`` function
        returning ``run(drive, ctx, recording, out)`` or None.
        """
        if self.kernels is None:
            return None
        return importlib.import_module(self.kernels).fused_kernel(rule)

    def chunk_threads(self) -> int:
        """Threads that evolve chunks of a rule's numpy path at once (1: serial).

        Only a CPU backend with a kernel library parallelises the numpy path
        across chunks (its fused kernels are multi-threaded themselves).
        """
        if self.kernels is None or self.xp is not np:
            return 1
        module = importlib.import_module(self.kernels)
        return module.chunk_threads() if hasattr(module, "chunk_threads") else 1

    def asarray(self, x, dtype=None):
        """Host array -> backend array (one transfer for a GPU)."""
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        """Backend array -> host numpy array."""
        return x if isinstance(x, np.ndarray) else self.xp.asnumpy(x)

    def describe(self) -> str:
        """Device description for provenance records."""
        if self.kernels is not None:
            module = importlib.import_module(self.kernels)
            if hasattr(module, "describe"):
                return module.describe()
        if self.xp is np:
            return f"numpy {np.__version__} (CPU)"
        dev = self.xp.cuda.Device()
        name = self.xp.cuda.runtime.getDeviceProperties(dev.id)["name"].decode()
        return f"cupy {self.xp.__version__} on {name}"


def to_device(tree, backend: ArrayBackend, dtype):
    """Move the arrays in a dict/tuple tree to the backend, floats cast to ``dtype``.

    Python floats stay Python floats: a NumPy float64 scalar would promote a
    float32 state to float64.
    """
    if isinstance(tree, dict):
        return {k: to_device(v, backend, dtype) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(to_device(v, backend, dtype) for v in tree)
    if isinstance(tree, np.ndarray):
        if np.issubdtype(tree.dtype, np.floating):
            return backend.asarray(tree, dtype=dtype)
        return backend.asarray(tree)
    if isinstance(tree, np.floating):
        return float(tree)
    return tree


def _numpy(name: str) -> ArrayBackend:
    return ArrayBackend(name, np)


def _cpu(name: str) -> ArrayBackend:
    return ArrayBackend(name, np, kernels="pixelflow.backends.cpu")


def _cupy(name: str) -> ArrayBackend:
    try:
        cupy = importlib.import_module("cupy")
    except ImportError as exc:
        raise ImportError(
            "backend 'cuda' needs CuPy and an NVIDIA GPU: pip install 'pixelflow[cuda]'"
        ) from exc
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CuPy raises its own CUDARuntimeError without a driver
        raise RuntimeError(f"backend 'cuda': CuPy is installed but no CUDA device is usable ({exc})") from exc
    if count == 0:
        raise RuntimeError("backend 'cuda': CuPy is installed but no CUDA device was found")
    return ArrayBackend(name, cupy, kernels="pixelflow.backends.cuda")


def _gl(name: str) -> ArrayBackend:
    try:
        importlib.import_module("moderngl")
    except ImportError as exc:
        raise ImportError(
            "backend 'moderngl' needs moderngl: pip install 'pixelflow[gl]'; a headless Linux machine also "
            "needs EGL and Mesa: apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"
        ) from exc
    from pixelflow.backends.gl.context import check_available

    check_available()  # RuntimeError naming the Debian packages when no EGL / OpenGL 3.3 context can be made
    return ArrayBackend(name, np, kernels="pixelflow.backends.gl")


_FACTORIES = {"numpy": _numpy, "cpu": _cpu, "cuda": _cupy, "moderngl": _gl}


def available_backends() -> list[str]:
    """Backend names that can be selected (whether or not their libraries are installed)."""
    return sorted(_FACTORIES)


def get_backend(name: str | ArrayBackend) -> ArrayBackend:
    """Resolve a backend name; unknown names list the valid ones."""
    if isinstance(name, ArrayBackend):
        return name
    if not isinstance(name, str):
        raise TypeError(f"backend must be a string name, got {type(name).__name__}")
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; valid: {', '.join(available_backends())}") from None
    return factory(name)
