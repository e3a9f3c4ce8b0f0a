"""Life-like outer-totalistic rules in Golly's ``B.../S...`` notation.

Every channel is an independent board. A cell is alive when its value is at
least ``threshold`` (so the first step binarises a grey input); the next
value is 1 or 0 from the birth / survival sets applied to the number of live
Moore neighbours.
"""

from __future__ import annotations

import re

import numpy as np

from pixelflow.params import Param
from pixelflow.rules.registry import Grid, StepContext, register_rule
from pixelflow.stencils import moore_sum

_BS = re.compile(r"^B([0-8]*)/?S([0-8]*)$")
_SB = re.compile(r"^S([0-8]*)/?B([0-8]*)$")
_LEGACY = re.compile(r"^([0-8]*)/([0-8]*)$")


def parse_life_rule(text: str) -> tuple[frozenset[int], frozenset[int]]:
    """Parse ``"B3/S23"`` (also ``"b3s23"``, ``"S23/B3"`` or legacy ``"23/3"``).

    Returns
    -------
    (birth, survive) : tuple of frozenset of int
    """
    s = text.replace(" ", "").upper()
    if m := _BS.match(s):
        birth, survive = m.group(1), m.group(2)
    elif m := _SB.match(s):
        survive, birth = m.group(1), m.group(2)
    elif m := _LEGACY.match(s):
        survive, birth = m.group(1), m.group(2)
    else:
        raise ValueError(
            f"{text!r} is not a life-like rule in B/S notation; expected e.g. 'B3/S23' "
            "(birth and survival neighbour counts, digits 0-8)"
        )
    return frozenset(map(int, birth)), frozenset(map(int, survive))


def normalise_life_rule(text: str) -> str:
    birth, survive = parse_life_rule(text)
    return "B" + "".join(map(str, sorted(birth))) + "/S" + "".join(map(str, sorted(survive)))


PARAMS = {
    "rule": Param("B3/S23", "Golly B/S rule string", convert=normalise_life_rule),
    "threshold": Param(0.5, "a cell is alive when its value is >= threshold"),
    "boundary": Param("periodic", "grid edges (zero: dead cells outside)", choices=("periodic", "zero")),
}


def build(params, grid: Grid, rng) -> dict:
    birth, survive = parse_life_rule(params.rule)
    table = np.zeros(18, dtype=np.float64)
    for n in range(9):
        table[n] = n in birth
        table[9 + n] = n in survive
    return {"table": table}


@register_rule("life_like", params=PARAMS, build=build)
def life_like(state, ctx: StepContext):
    """Outer-totalistic life-like rule on every channel."""
    xp, p = ctx.xp, ctx.params
    alive = (state >= p.threshold).astype(state.dtype)
    neighbours = moore_sum(alive, p.boundary, xp)
    index = (alive * 9 + neighbours).astype(xp.int32)
    return xp.take(ctx.weights["table"], index)
