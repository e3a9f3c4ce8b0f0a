"""Gray-Scott reaction-diffusion on (U, V) channel pairs.

Channels ``(2k, 2k+1)`` hold the concentrations U and V of pair ``k``::

    U <- clip(U + dt * (du * lap(U) - U V^2 + feed (1 - U)), 0, 1)
    V <- clip(V + dt * (dv * lap(V) + U V^2 - (feed + kill) V), 0, 1)

The reaction term ``U V^2`` vanishes wherever V is 0, so writing an image
into U alone (``input_species="u"``, the convention of the pixelflow-rc
library) gives pure diffusion. The default ``input_species="v"`` seeds V with
the image as in the classic Gray-Scott experiments (U = 1 - x/2, V = x/4 where
the image has value x), so the pattern actually reacts. Pairs that receive no
input start at the homogeneous steady state U = 1, V = 0. A trailing odd
channel is carried unchanged.
"""

from __future__ import annotations

from pixelflow.params import Param
from pixelflow.rules.pairs import join_pairs, pair_capacity, paired_state, split_pairs
from pixelflow.rules.registry import Grid, StepContext, register_rule
from pixelflow.stencils import laplacian

# Explicit five-point diffusion is stable for dt * D <= 1/4.
DIFFUSION_LIMIT = 0.25

PARAMS = {
    "feed": Param(0.055, "feed rate F", low=0.0, high=1.0),
    "kill": Param(0.062, "kill rate k", low=0.0, high=1.0),
    "du": Param(0.16, "diffusion rate of U", low=0.0),
    "dv": Param(0.08, "diffusion rate of V", low=0.0),
    "dt": Param(1.0, "time step", low=0.0, low_open=True),
    "input_species": Param("v", "which species the input seeds", choices=("v", "u")),
    "boundary": Param("periodic", "grid edges", choices=("periodic", "zero")),
}


def build(params, grid: Grid, rng) -> dict:
    worst = params.dt * max(params.du, params.dv)
    if worst > DIFFUSION_LIMIT + 1e-12:
        raise ValueError(
            f"rule 'diffusion_reaction' is unstable: dt * max(du, dv) = {worst:.4g} exceeds "
            f"{DIFFUSION_LIMIT}; lower dt, du or dv"
        )
    return {}


def init(drive, ctx: StepContext):
    state, u, v = paired_state(drive, ctx, first_rest=1.0)
    if ctx.params.input_species == "v":
        u[...] = 1.0 - 0.5 * drive
        v[...] = 0.25 * drive
    else:
        u[...] = drive
    return state


@register_rule(
    "diffusion_reaction",
    params=PARAMS,
    init=init,
    build=build,
    min_channels=2,
    input_capacity=pair_capacity,
)
def diffusion_reaction(state, ctx: StepContext):
    """Gray-Scott reaction-diffusion on (U, V) channel pairs."""
    xp, p = ctx.xp, ctx.params
    u, v = split_pairs(state)
    uvv = u * v * v
    new_u = xp.clip(u + p.dt * (p.du * laplacian(u, p.boundary, xp) - uvv + p.feed * (1.0 - u)), 0.0, 1.0)
    new_v = xp.clip(v + p.dt * (p.dv * laplacian(v, p.boundary, xp) + uvv - (p.feed + p.kill) * v), 0.0, 1.0)
    return join_pairs(state, new_u, new_v)
