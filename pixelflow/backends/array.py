"""Backends that run the xp-written rules on an array module (numpy, cupy), and their registry.

A backend is an :class:`ArrayBackend`: an array module, the moves between
host and device, and optionally a kernel library (a module following
:class:`KernelLibrary`) whose fused kernels replace a built-in rule's step
loop. :func:`register_backend` adds one under a name; ``Reservoir(config,
backend=name)`` selects it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class KernelLibrary(Protocol):
    """What a kernel library module provides (``pixelflow.backends.cpu``, ``.cuda``, ``.gl``).

    Its kernels are listed in :data:`pixelflow.backends.fused.KERNELS` and
    live in its modules named after their rules. It may also offer compiled
    single updates through a ``step_kernel(rule)`` function (see
    :meth:`ArrayBackend.step_kernel`).
    """

    def fused_kernel(self, rule) -> Callable | None:
        """``run(drive, ctx, recording, out)`` replacing the step loop of ``rule``, or None."""

    def chunk_threads(self) -> int:
        """Threads that evolve chunks of a rule's numpy path side by side (1: serial)."""

    def describe(self) -> str:
        """The library and device, for provenance records."""


@dataclass(frozen=True)
class ArrayBackend:
    """An array module plus the moves between host and device.

    Attributes
    ----------
    name : str
        The name it was selected by.
    xp : module
        numpy or cupy.
    kernels : str or None
        The kernel library module, if any.
    compile_rules : bool
        Whether rules without a kernel of their own are compiled, where the
        kernel library can (``False`` runs their functions as written).
    """

    name: str
    xp: Any
    kernels: str | None = None
    compile_rules: bool = True

    def library(self) -> KernelLibrary | None:
        """The kernel library module named by ``kernels`` (imported on first use), or None.

        Raises
        ------
        TypeError
            If the module lacks a function of :class:`KernelLibrary`.
        """
        if self.kernels is None:
            return None
        module = importlib.import_module(self.kernels)
        if not isinstance(module, KernelLibrary):
            missing = [
                f for f in ("fused_kernel", "chunk_threads", "describe") if not callable(getattr(module, f, None))
            ]
            raise TypeError(f"kernel library {self.kernels!r} of backend {self.name!r} lacks {', '.join(missing)}")
        return module

    def fused_kernel(self, rule):
        """A fused kernel that replaces the step loop for ``rule``, or None."""
        library = self.library()
        return None if library is None else library.fused_kernel(rule)

    def step_kernel(self, rule):
        """A compiled single update ``step(state, ctx)`` equal to ``rule.step``, or None.

        Optional in a kernel library (``step_kernel``); used where states
        advance one update at a time (driven runs).
        """
        library = self.library()
        find = getattr(library, "step_kernel", None)
        return None if find is None else find(rule)

    def compiles_rules(self) -> bool:
        """Whether this backend's kernel library compiles rule functions into kernels (``compile_rule``)."""
        return self.compile_rules and callable(getattr(self.library(), "compile_rule", None))

    def compile_rule(self, rule, params, weights, grid, dtype, recording, reference=None):
        """``(kernel or None, why)``: a kernel compiled from ``rule``'s functions by the kernel library.

        Optional in a kernel library (``compile_rule``, see
        :func:`pixelflow.backends.cpu.compiled.compile_rule`); ``reference``
        computes the rule function's features of a drive, to check the kernel.
        """
        if not self.compiles_rules():
            return None, f"backend {self.name!r} runs rule functions"
        return self.library().compile_rule(rule, params, weights, grid, dtype, recording, reference)

    def chunk_threads(self) -> int:
        """Threads that evolve chunks of a rule's numpy path at once (1: serial).

        Only a host backend with a kernel library parallelises the numpy path
        across chunks (its fused kernels are multi-threaded themselves).
        """
        library = self.library()
        return 1 if library is None or self.xp is not np else library.chunk_threads()

    def asarray(self, x, dtype=None):
        """Host array -> backend array (one transfer for a GPU)."""
        return self.xp.asarray(x, dtype=dtype)

    def to_numpy(self, x) -> np.ndarray:
        """Backend array -> host numpy array."""
        return x if isinstance(x, np.ndarray) else self.xp.asnumpy(x)

    def describe(self) -> str:
        """Device description for provenance records."""
        library = self.library()
        if library is not None:
            return library.describe()
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
            "backend 'cuda' needs CuPy and an NVIDIA GPU: pip install 'pixelflow[cuda12]' or 'pixelflow[cuda13]', "
            "the CUDA version nvidia-smi reports"
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


_BACKENDS: dict[str, Callable[[str], ArrayBackend]] = {"numpy": _numpy, "cpu": _cpu, "cuda": _cupy, "moderngl": _gl}


def register_backend(name: str, factory: Callable[[str], ArrayBackend], overwrite: bool = False) -> None:
    """Make ``factory`` selectable as ``Reservoir(config, backend=name)``.

    Parameters
    ----------
    name : str
    factory : callable ``(name) -> ArrayBackend``
        Called each time the backend is selected; raises ImportError or
        RuntimeError when its libraries or device are missing.
    overwrite : bool
        Replace a backend already registered under ``name``.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.backends import ArrayBackend, register_backend, get_backend
    >>> register_backend("host", lambda name: ArrayBackend(name, np))
    >>> get_backend("host").describe().startswith("numpy")
    True
    >>> unregister_backend("host")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"backend name must be a non-empty string, got {name!r}")
    if not callable(factory):
        raise TypeError(f"backend factory must be callable (name -> ArrayBackend), got {factory!r}")
    if name in _BACKENDS and not overwrite:
        raise ValueError(f"a backend named {name!r} is already registered; pass overwrite=True")
    _BACKENDS[name] = factory


def unregister_backend(name: str) -> None:
    """Remove a backend registered with :func:`register_backend` (a built-in one too)."""
    if name not in _BACKENDS:
        raise ValueError(f"no backend named {name!r} is registered; registered: {', '.join(available_backends())}")
    del _BACKENDS[name]


def available_backends() -> list[str]:
    """Backend names that can be selected (whether or not their libraries are installed)."""
    return sorted(_BACKENDS)


def get_backend(name: str | ArrayBackend) -> ArrayBackend:
    """Resolve a backend name; unknown names list the valid ones."""
    if isinstance(name, ArrayBackend):
        return name
    if not isinstance(name, str):
        raise TypeError(f"backend must be a string name, got {type(name).__name__}")
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; valid: {', '.join(available_backends())}") from None
    backend = factory(name)
    if not isinstance(backend, ArrayBackend):
        raise TypeError(f"the factory of backend {name!r} returned {type(backend).__name__}, not an ArrayBackend")
    return backend
