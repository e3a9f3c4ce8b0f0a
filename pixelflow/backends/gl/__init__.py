"""Batched OpenGL fragment-shader kernels (``backend="moderngl"``) for the built-in rules.

One headless OpenGL ≥ 3.3 core context (EGL) is created on first use and
reused by every chunk and every reservoir. A chunk of samples is packed into
texture atlases: tiles of H×W cells laid out in one big RGBA32F texture, four
planes per texel (see :mod:`pixelflow.backends.gl.atlas`). Each step is one
full-screen draw over the whole atlas, ping-ponging between two sets of
float32 textures; every neighbour lookup is wrapped, clamped or zeroed within
its own tile, so samples never bleed into each other. Only the recorded steps
are read back, and pooling runs on the host with
:func:`pixelflow.reservoir.avg_pool`, so it matches the numpy path exactly.

* ``wave``, ``diffusion_reaction``, ``life_like``: the planes of a state do
  not couple, so a batch is a stack of ``N × planes`` independent planes
  (amplitude + velocity, U + V through two render targets; boards), and one
  draw per step advances all of them.
* ``random_nca``: channels couple, so the atlas holds one tile per (sample,
  group of four channels); each fragment reads the neighbourhoods of all
  group tiles of its sample and mixes them (one draw per step).

GL computes in float32, so a ``dtype="float64"`` reservoir runs the batched
numpy path inside the same call. So do configurations beyond the driver's
limits (a grid larger than the largest texture; random-NCA weights larger than
a uniform block, about 60 channels at 64 KiB) and processes forked after the
context was created (a driver does not survive fork; start worker processes
with ``spawn`` or ``forkserver``). A rule without a shader here (a
user-defined one, or a built-in name re-registered by the user) gets no
kernel, and ``Reservoir`` uses the numpy path.
"""

from __future__ import annotations

import importlib
import warnings

import numpy as np

from pixelflow.backends.fused import kernel_module

_WARNED: set = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def fused_kernel(rule):
    """The GL ``run(drive, ctx, recording, out)`` for ``rule``, or None to use the numpy path."""
    module = kernel_module(rule, "gl")
    if module is None:
        return None
    kernel = importlib.import_module(module).run

    def run(drive, ctx, recording, out):
        """Evolve ``drive`` (N, C_in, H, W) on the GPU; write the recorded, pooled features into ``out``."""
        from pixelflow.backends.gl.context import ForkedProcess, get_gl, lock
        from pixelflow.backends.gl.runner import Unsupported, numpy_path

        drive = np.asarray(drive)
        if drive.dtype != np.float32 or not out.flags.c_contiguous:
            numpy_path(rule, drive, ctx, recording, out)
            return
        with lock():
            try:
                gl = get_gl()
            except ForkedProcess as exc:
                _warn_once(str(exc) + "; running the numpy path in this process")
                numpy_path(rule, drive, ctx, recording, out)
                return
            try:
                with gl.ctx:  # current in this thread for the call
                    kernel(gl, np.ascontiguousarray(drive), ctx, recording, out)
            except Unsupported:
                numpy_path(rule, drive, ctx, recording, out)

    return run


def chunk_threads() -> int:
    """One: the GL context serves one chunk at a time."""
    return 1


def describe() -> str:
    """The OpenGL driver and device the kernels run on (for provenance)."""
    from pixelflow.backends.gl.context import get_gl

    return f"moderngl: {get_gl().describe()}"
