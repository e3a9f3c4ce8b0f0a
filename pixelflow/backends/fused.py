"""What every fused-kernel library (cpu, cuda, moderngl) shares: the one kernel table.

A fused kernel replaces a built-in rule's step loop; it is written against
that rule's ``step``, ``init`` and ``build`` functions and tested against
them. A rule re-registered under a built-in name with any of the three
replaced gets no kernel, so a user's own rule always runs the numpy path
(where it is correct by construction).
"""

from __future__ import annotations

import importlib
import sys

import numpy as np

from pixelflow.rules import diffusion_reaction, life_like, random_nca, wave

# The (step, init, build) functions of the built-in rules.
BUILTINS = {
    "wave": (wave.wave, wave.init, wave.build),
    "diffusion_reaction": (diffusion_reaction.diffusion_reaction, diffusion_reaction.init, diffusion_reaction.build),
    "life_like": (life_like.life_like, None, life_like.build),
    "random_nca": (random_nca.random_nca, random_nca.init, random_nca.build),
}

# The one kernel table: which kernel library has a fused kernel for which
# built-in rule. A library's kernel for rule R is its module named R
# (``pixelflow.backends.<library>.<R>``) with a ``run`` function.
KERNELS = {
    "wave": ("cpu", "cuda", "gl"),
    "diffusion_reaction": ("cpu", "cuda", "gl"),
    "life_like": ("cpu", "cuda", "gl"),
    # Its channels couple: one shader mixes them on gl; on cpu the kernel
    # gives the numpy path's features bit for bit (see its module).
    "random_nca": ("cpu", "gl"),
}


# Libraries with compiled single updates (``pixelflow.backends.<library>.steps``,
# a ``STEPS`` dict by rule name) for the step-by-step paths (driven runs).
STEP_KERNELS = {
    "wave": ("cpu",),
    "diffusion_reaction": ("cpu",),
    "life_like": ("cpu",),
}


def is_builtin(rule) -> bool:
    """Whether ``rule`` is a built-in rule unchanged (a re-registered name is not)."""
    if rule.name not in BUILTINS:
        return False
    step, init, build = BUILTINS[rule.name]
    return rule.step is step and rule.init is init and rule.build is build


def kernel_module(rule, library: str) -> str | None:
    """``pixelflow.backends.<library>.<rule>`` if that library has a kernel for this unchanged built-in rule."""
    if library not in KERNELS.get(rule.name, ()) or not is_builtin(rule):
        return None
    return f"pixelflow.backends.{library}.{rule.name}"


def kernel_records(run, recording) -> bool:
    """Whether the fused kernel ``run`` records every feature map of ``recording``.

    Every kernel records the pointwise maps; one that records more (channel
    products) lists all it records in its module's ``MAPS``.
    """
    if recording.pointwise:
        return True
    maps = getattr(sys.modules.get(getattr(run, "__module__", None) or ""), "MAPS", ())
    return all(name in maps for name, _ in recording.maps)


def builtin_kernel(rule, library: str):
    """The ``run`` function of the library's kernel for ``rule``, else None."""
    module = kernel_module(rule, library)
    return None if module is None else importlib.import_module(module).run


def builtin_step(rule, library: str):
    """The library's compiled single update ``step(state, ctx)`` of this unchanged built-in rule, else None."""
    if library not in STEP_KERNELS.get(rule.name, ()) or not is_builtin(rule):
        return None
    return importlib.import_module(f"pixelflow.backends.{library}.steps").STEPS[rule.name]


def recorded_mask(record_steps) -> np.ndarray:
    """Boolean mask over steps ``0 .. max(record_steps)``.

    Nothing after the last recorded step can change a feature, so the fused
    kernels stop there.
    """
    mask = np.zeros(max(record_steps) + 1, dtype=np.bool_)
    mask[list(record_steps)] = True
    return mask


def layout(recording, channels: int, height: int, width: int):
    """``(recorded-step mask, map codes, pools, offsets)``: what a fused kernel needs of a Recording.

    Map ``m`` of a recorded step starts ``offsets[m]`` after the step's
    first feature; ``offsets[-1]`` is the size of one recorded step.
    """
    return (recorded_mask(recording.steps), recording.codes, recording.pools,
            recording.offsets(channels, height, width))
