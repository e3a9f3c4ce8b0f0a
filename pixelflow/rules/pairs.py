"""Helpers for rules whose state is channel pairs ``(2k, 2k+1)``.

``wave`` keeps (amplitude, velocity) and ``diffusion_reaction`` keeps (U, V)
in each pair; a trailing odd channel is carried unchanged. Input channel
``k`` belongs to pair ``k``.
"""

from __future__ import annotations


def pair_capacity(channels: int) -> int:
    """Input channels a paired state of ``channels`` channels can take."""
    return channels // 2


def split_pairs(state):
    """Views of the first and second member of every pair, shape (N, C // 2, H, W)."""
    pairs = 2 * (state.shape[1] // 2)
    return state[:, 0:pairs:2], state[:, 1:pairs:2]


def join_pairs(state, first, second):
    """A copy of ``state`` with the pair members replaced."""
    out = state.copy()
    pairs = 2 * (state.shape[1] // 2)
    out[:, 0:pairs:2] = first
    out[:, 1:pairs:2] = second
    return out


def paired_state(drive, ctx, first_rest: float = 0.0):
    """A fresh state for ``drive``, every pair's first member at ``first_rest``.

    Returns
    -------
    state : array, shape (N, C, H, W)
    first, second : views of ``state``
        The members of the pairs that receive input (pair ``k`` for input
        channel ``k``), ready to be written.
    """
    xp = ctx.xp
    n, cin, h, w = drive.shape
    state = xp.zeros((n, ctx.grid.channels, h, w), dtype=drive.dtype)
    pairs = 2 * (ctx.grid.channels // 2)
    if first_rest:
        state[:, 0:pairs:2] = first_rest
    return state, state[:, 0 : 2 * cin : 2], state[:, 1 : 2 * cin : 2]
