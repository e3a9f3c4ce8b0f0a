"""What every fused-kernel library (cpu, cuda, moderngl) shares.

A fused kernel replaces a built-in rule's step loop; it is written against
that rule's ``step``, ``init`` and ``build`` functions and tested against
them. A rule re-registered under a built-in name with any of the three
replaced gets no kernel, so a user's own rule always runs the numpy path
(where it is correct by construction).
"""

from __future__ import annotations

import importlib

import numpy as np

from pixelflow.rules import diffusion_reaction, life_like, random_nca, wave

# The (step, init, build) functions of the built-in rules.
BUILTINS = {
    "wave": (wave.wave, wave.init, wave.build),
    "diffusion_reaction": (diffusion_reaction.diffusion_reaction, diffusion_reaction.init, diffusion_reaction.build),
    "life_like": (life_like.life_like, None, life_like.build),
    "random_nca": (random_nca.random_nca, random_nca.init, random_nca.build),
}


# Kernel module names of the rules whose planes do not couple (every kernel
# library implements these; moderngl adds random_nca).
PLANE_KERNELS = {
    "wave": "wave",
    "diffusion_reaction": "gray_scott",
    "life_like": "life",
}


def builtin_module(rule, modules: dict) -> str | None:
    """``modules[rule.name]`` if ``rule`` is that built-in rule unchanged, else None.

    Parameters
    ----------
    rule : Rule
        The registered rule a reservoir runs.
    modules : dict
        Built-in rule name -> name of the module holding its kernel.
    """
    module = modules.get(rule.name)
    if module is None:
        return None
    step, init, build = BUILTINS[rule.name]
    if rule.step is not step or rule.init is not init or rule.build is not build:
        return None
    return module


def builtin_kernel(rule, package: str, modules: dict):
    """The ``run`` function of ``package.<module>`` for an unchanged built-in ``rule``, else None."""
    module = builtin_module(rule, modules)
    return None if module is None else importlib.import_module(f"{package}.{module}").run


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
