"""Wave rule: a discrete, damped wave equation on (amplitude, velocity) pairs.

Channels ``(2k, 2k+1)`` hold the amplitude and velocity of field ``k``; input
channel ``k`` is written into the amplitude of field ``k``. A trailing odd
channel is carried unchanged. The update is symplectic Euler::

    v <- damping * (v + dt * c**2 * laplacian(a))
    a <- clip(a + dt * v, -clip, clip)

which is stable for ``dt * c <= 1 / sqrt(2)`` with the five-point Laplacian;
``build`` refuses settings beyond that limit rather than letting the grid blow
up. ``boundary="absorbing"`` replaces wrap-around by zero-gradient edges and a
sponge layer that damps outgoing waves, so sources near an edge do not
re-enter from the opposite side.
"""

from __future__ import annotations

import math

import numpy as np

from pixelflow.params import Param
from pixelflow.rules.pairs import join_pairs, pair_capacity, paired_state, split_pairs
from pixelflow.rules.registry import Grid, StepContext, register_rule
from pixelflow.stencils import laplacian

CFL_LIMIT = 1 / math.sqrt(2)

PARAMS = {
    "c": Param(
        0.5, "wave speed in cells per unit time (scalar or (H, W) field)", low=0.0, low_open=True, array_ok=True
    ),
    "damping": Param(0.999, "velocity multiplier per step", low=0.0, high=1.0, low_open=True),
    "dt": Param(1.0, "time step", low=0.0, low_open=True),
    "boundary": Param("periodic", "grid edges", choices=("periodic", "absorbing")),
    "sponge": Param(0, "absorbing layer width in cells; 0 chooses max(4, min(H, W) // 8)", low=0, kind=int),
    "clip": Param(1.0, "amplitude is clipped to [-clip, clip]; 0 disables clipping", low=0.0),
}


def sponge_profile(height: int, width: int, cells: int) -> np.ndarray:
    """Velocity multiplier in (0, 1]: 1 inside, falling quadratically to 0.5 at the edge."""
    iy = np.arange(height)
    ix = np.arange(width)
    dist = np.minimum.outer(np.minimum(iy, height - 1 - iy), np.minimum(ix, width - 1 - ix))
    depth = np.clip((cells - dist) / cells, 0.0, 1.0)
    return 1.0 - 0.5 * depth**2


def build(params, grid: Grid, rng) -> dict:
    c = params.c
    if isinstance(c, np.ndarray):
        try:
            c = np.broadcast_to(c, (grid.height, grid.width))
        except ValueError:
            raise ValueError(
                f"rule 'wave' parameter 'c': a speed field of shape {params.c.shape} does not fit the "
                f"{grid.height}x{grid.width} grid"
            ) from None
    c_max = float(np.max(c))
    if params.dt * c_max > CFL_LIMIT + 1e-12:
        raise ValueError(
            f"rule 'wave' is unstable: dt * max(c) = {params.dt * c_max:.4g} exceeds the CFL limit "
            f"1/sqrt(2) = {CFL_LIMIT:.4f}; lower dt or c"
        )
    weights = {"c2": c**2 if isinstance(c, np.ndarray) else c * c}
    if params.boundary == "absorbing":
        cells = params.sponge or max(4, min(grid.height, grid.width) // 8)
        weights["sponge"] = sponge_profile(grid.height, grid.width, cells)
    return weights


def init(drive, ctx: StepContext):
    state, amplitude, _ = paired_state(drive, ctx)
    amplitude[...] = drive
    return state


@register_rule(
    "wave",
    params=PARAMS,
    init=init,
    build=build,
    min_channels=2,
    input_capacity=pair_capacity,
)
def wave(state, ctx: StepContext):
    """Damped wave equation on (amplitude, velocity) channel pairs."""
    xp, p, w = ctx.xp, ctx.params, ctx.weights
    amp, vel = split_pairs(state)
    boundary = "periodic" if p.boundary == "periodic" else "edge"
    vel = (vel + p.dt * w["c2"] * laplacian(amp, boundary, xp)) * p.damping
    if "sponge" in w:
        vel = vel * w["sponge"]
    amp = amp + p.dt * vel
    if p.clip > 0:
        amp = xp.clip(amp, -p.clip, p.clip)
    return join_pairs(state, amp, vel)
