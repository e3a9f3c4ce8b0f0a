"""A fixed, randomly initialised neural cellular automaton.

Each step every cell perceives its 3×3 neighbourhood through per-channel
identity, Sobel-x, Sobel-y and Laplacian filters, mixes the ``4C`` perceived
values through a fixed random 1×1 layer, adds the re-injected input, and moves
part of the way towards the ``tanh`` of that::

    z = gain * W @ perceive(s) + b + input_scale * W_in @ u
    s <- (1 - leak) * s + leak * tanh(z)

``W`` has entries of variance ``1 / (4C)``; ``W_in`` and ``b`` are standard
normal (``b`` scaled by ``bias_scale``). With ``perception="random"`` a cell
mixes its whole 3×3 neighbourhood instead (the ``9C`` values of
:func:`pixelflow.stencils.neighbourhood`, ``W`` of variance ``1 / (9C)``): a
fixed random 3×3 convolution between every pair of channels, where the fixed
filters give each output channel only four directions of each input channel. All weights are drawn from the
reservoir seed. The mixing sums in a fixed order per cell
(:func:`pixelflow.linalg.fixed_order.mix_channels`), so a sample's features never
depend on what else is in the batch, on any BLAS.
"""

from __future__ import annotations

import numpy as np

from pixelflow.linalg.fixed_order import mix_channels
from pixelflow.params import Param
from pixelflow.rules.registry import Grid, StepContext, register_rule
from pixelflow.stencils import neighbourhood, perceive

PARAMS = {
    "gain": Param(1.0, "scale of the recurrent mixing (edge of chaos near 1-2)", low=0.0),
    "leak": Param(0.5, "fraction of the state replaced per step", low=0.0, high=1.0, low_open=True),
    "input_scale": Param(1.0, "scale of the re-injected input", low=0.0),
    "bias_scale": Param(0.1, "standard deviation of the fixed bias", low=0.0),
    "boundary": Param("periodic", "grid edges", choices=("periodic", "zero")),
    "perception": Param("sobel", "what a cell mixes: identity, Sobel and Laplacian of each channel ('sobel') or "
                        "its whole 3x3 neighbourhood ('random': a random 3x3 convolution)",
                        choices=("sobel", "random")),
}


def build(params, grid: Grid, rng) -> dict:
    c = grid.channels
    taps = 9 if params.perception == "random" else 4
    # Draw W first so that it is the same whatever the input channel count.
    mix = rng.standard_normal((c, taps * c)) / np.sqrt(taps * c)
    bias = rng.standard_normal(c) * params.bias_scale
    inject = rng.standard_normal((c, grid.input_channels))
    return {"mix": mix, "bias": bias[:, None], "inject": inject}


def init(drive, ctx: StepContext):
    # The input enters through W_in at every step, so the state starts empty.
    n, _, h, w = drive.shape
    return ctx.xp.zeros((n, ctx.grid.channels, h, w), dtype=drive.dtype)


@register_rule(
    "random_nca",
    params=PARAMS,
    init=init,
    build=build,
    input_capacity=lambda channels: 1 << 30,
    working_copies=40,  # the 4C-channel perception and its smoothing passes
)
def random_nca(state, ctx: StepContext):
    """Fixed random neural CA with leaky tanh update and input re-injection."""
    xp, p, w = ctx.xp, ctx.params, ctx.weights
    seen = (neighbourhood if p.perception == "random" else perceive)(state, p.boundary, xp)
    z = p.gain * mix_channels(w["mix"], seen, xp) + w["bias"][..., None]
    if p.input_scale:
        z = z + p.input_scale * mix_channels(w["inject"], ctx.drive, xp)
    return (1.0 - p.leak) * state + p.leak * xp.tanh(z)
