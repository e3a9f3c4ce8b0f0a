"""Fused CUDA kernels (numba.cuda on CuPy arrays) for the built-in rules.

One launch evolves a whole chunk through every step: one thread block per
sample, its threads striding over the cells, ``syncthreads`` between the
phases of a step, so a sample's grid stays in the SM's cache for its whole
evolution and no step costs a launch or a trip through the host. Recording
and pooling happen inside the same launch; only the pooled features leave
the device.

The kernels are written against the numpy rule functions and tested against
them: on a GPU directly, and everywhere else (CI included) under numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``), which runs the same kernel source on
the CPU with numpy arrays. A rule without a kernel here (``random_nca``,
whose batched matrix products CuPy already hands to cuBLAS, a user-defined
rule, a re-registered built-in) runs the rule function on CuPy arrays.
"""

from __future__ import annotations

from pixelflow.backends.fused import builtin_kernel


def fused_kernel(rule):
    """The fused ``run(drive, ctx, recording, out)`` for ``rule``, or None to use the rule function."""
    return builtin_kernel(rule, "cuda")


def chunk_threads() -> int:
    """One: a chunk is one launch on the device."""
    return 1


def describe() -> str:
    """Kernel library and device (for provenance)."""
    from numba import config

    if config.ENABLE_CUDASIM:
        return "numba.cuda simulator (CPU)"
    try:
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        return f"numba.cuda fused kernels + cupy {cupy.__version__} on {props['name'].decode()}"
    except ImportError:
        return "numba.cuda fused kernels"
