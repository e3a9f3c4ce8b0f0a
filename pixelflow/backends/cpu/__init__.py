"""Fused, multi-threaded CPU kernels (numba) for the built-in rules.

Each kernel evolves one sample through all its steps while the grid stays in
cache, records and pools on the fly, and runs samples in parallel. They are
optimisations of the numpy rule functions and are tested against them. A rule
without a kernel here (a user-defined one, or a built-in name re-registered
by the user) gets one compiled from its function (:mod:`.compiled`), checked
against it; what the compiler cannot reproduce runs on the batched numpy path.
"""

from __future__ import annotations

import platform

from pixelflow.backends.fused import builtin_kernel, builtin_step


def fused_kernel(rule):
    """The fused ``run`` function for ``rule``, or None to use the numpy path."""
    return builtin_kernel(rule, "cpu")


def compile_rule(rule, params, weights, grid, dtype, recording, reference=None):
    """A fused kernel compiled from a rule with no kernel of its own (:mod:`.compiled`), or None and why."""
    from pixelflow.backends.cpu.compiled import compile_rule as compile_

    return compile_(rule, params, weights, grid, dtype, recording, reference)


def step_kernel(rule):
    """A compiled single update ``step(state, ctx)`` for ``rule`` (:mod:`.steps`), or None for the rule's own."""
    return builtin_step(rule, "cpu")


def chunk_threads() -> int:
    """Threads for rules on the numpy path: numba's thread count (``NUMBA_NUM_THREADS``)."""
    import numba

    return numba.get_num_threads()


def describe() -> str:
    """Kernel library, CPU and thread count (for provenance)."""
    import numba

    return f"numba {numba.__version__} on {cpu_model()} ({numba.get_num_threads()} threads)"


def cpu_model() -> str:
    """The CPU's marketing name, from /proc/cpuinfo where available."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
