"""Compiled single updates of the elementwise built-in rules (numba), for the step-by-step paths.

A driven run (:mod:`pixelflow.driven`) advances a small grid one update at a
time, for thousands of inputs; there the numpy rule functions spend their time
in the set-up of a dozen small array operations per update (a 10×10×4 wave
update took ~40 µs, nearly all of it overhead). These kernels do one update of
``wave``, ``diffusion_reaction`` and ``life_like`` in one compiled loop, with
every operation in the rule's order and rounded to the state's dtype as numpy
rounds it (a Python scalar meets a float32 array as a float32), so they give
the rule functions' states bit for bit (tested against them for every
boundary and parameter form). ``random_nca`` keeps its numpy step: its ``tanh``
is numpy's vectorised one, which a compiled loop does not reproduce.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from pixelflow.backends.cpu.halo import MODES, fill_halo


@njit(cache=True, nogil=True)
def _wave(state, out, dtc2, damping, dt, clip, clipping, sponge, mode, four):
    n, channels, h, w = state.shape
    pad = np.empty((h + 2, w + 2), dtype=state.dtype)
    for i in range(n):
        # A trailing odd channel is carried unchanged.
        for c in range(2 * (channels // 2), channels):
            out[i, c] = state[i, c]
        for f in range(channels // 2):
            pad[1 : h + 1, 1 : w + 1] = state[i, 2 * f]
            fill_halo(pad, mode)
            for y in range(h):
                for x in range(w):
                    lap = (pad[y, x + 1] + pad[y + 2, x + 1] + pad[y + 1, x] + pad[y + 1, x + 2]
                           - four * pad[y + 1, x + 1])
                    vel = (state[i, 2 * f + 1, y, x] + dtc2[y, x] * lap) * damping * sponge[y, x]
                    out[i, 2 * f + 1, y, x] = vel
                    amp = state[i, 2 * f, y, x] + dt * vel
                    # As np.clip, which lets NaN through (a diverged wave without clipping).
                    out[i, 2 * f, y, x] = min(max(amp, -clip), clip) if clipping else amp


@njit(cache=True, nogil=True)
def _gray_scott(state, out, dt, du, dv, feed, feed_kill, one, zero, mode, four):
    n, channels, h, w = state.shape
    pu = np.empty((h + 2, w + 2), dtype=state.dtype)
    pv = np.empty((h + 2, w + 2), dtype=state.dtype)
    for i in range(n):
        for c in range(2 * (channels // 2), channels):
            out[i, c] = state[i, c]
        for f in range(channels // 2):
            pu[1 : h + 1, 1 : w + 1] = state[i, 2 * f]
            pv[1 : h + 1, 1 : w + 1] = state[i, 2 * f + 1]
            fill_halo(pu, mode)
            fill_halo(pv, mode)
            for y in range(h):
                for x in range(w):
                    u = pu[y + 1, x + 1]
                    v = pv[y + 1, x + 1]
                    lap_u = pu[y, x + 1] + pu[y + 2, x + 1] + pu[y + 1, x] + pu[y + 1, x + 2] - four * u
                    lap_v = pv[y, x + 1] + pv[y + 2, x + 1] + pv[y + 1, x] + pv[y + 1, x + 2] - four * v
                    uvv = u * v * v
                    new_u = u + dt * (du * lap_u - uvv + feed * (one - u))
                    new_v = v + dt * (dv * lap_v + uvv - feed_kill * v)
                    out[i, 2 * f, y, x] = min(max(new_u, zero), one)
                    out[i, 2 * f + 1, y, x] = min(max(new_v, zero), one)


@njit(cache=True, nogil=True)
def _life(state, out, threshold, table, mode):
    n, channels, h, w = state.shape
    pad = np.empty((h + 2, w + 2), dtype=np.int64)
    for i in range(n):
        for c in range(channels):
            for y in range(h):
                for x in range(w):
                    pad[y + 1, x + 1] = 1 if state[i, c, y, x] >= threshold else 0
            fill_halo(pad, mode)
            for y in range(h):
                for x in range(w):
                    alive = pad[y + 1, x + 1]
                    neighbours = (pad[y, x] + pad[y, x + 1] + pad[y, x + 2] + pad[y + 1, x] + pad[y + 1, x + 2]
                                  + pad[y + 2, x] + pad[y + 2, x + 1] + pad[y + 2, x + 2])
                    out[i, c, y, x] = table[9 * alive + neighbours]


def _contiguous(state):
    return np.ascontiguousarray(state)


# The wave's per-cell coefficient planes, by the (weights, params) they come
# from (kept alive here, so their ids stay theirs): building them cost more
# than the update of a small grid.
_PLANES: dict = {}
_PLANES_KEPT = 32


def _wave_planes(p, wts, dtype, h: int, w: int):
    key = (id(wts), id(p), np.dtype(dtype).str, h, w)
    hit = _PLANES.get(key)
    if hit is not None:
        return hit[2:]
    c2 = wts["c2"]
    # numpy evaluates `dt * c2` first: in double for a scalar c2 (then met by
    # the float32 field as a float32), element-wise in float32 for a field.
    dtc2 = dtype(p.dt) * c2 if isinstance(c2, np.ndarray) else dtype(p.dt * c2)
    dtc2 = np.ascontiguousarray(np.broadcast_to(dtc2, (h, w)), dtype=dtype)
    sponge = np.ascontiguousarray(wts.get("sponge", np.ones((h, w))), dtype=dtype)
    if len(_PLANES) >= _PLANES_KEPT:
        _PLANES.pop(next(iter(_PLANES)))
    _PLANES[key] = (wts, p, dtc2, sponge)
    return dtc2, sponge


def wave(state, ctx):
    """One update of :func:`pixelflow.rules.wave.wave`, bit for bit."""
    p = ctx.params
    state = _contiguous(state)
    dtype = state.dtype.type
    dtc2, sponge = _wave_planes(p, ctx.weights, dtype, *state.shape[-2:])
    mode = MODES["periodic" if p.boundary == "periodic" else "edge"]
    out = np.empty_like(state)
    _wave(state, out, dtc2, dtype(p.damping), dtype(p.dt), dtype(p.clip), p.clip > 0, sponge, mode, dtype(4))
    return out


def diffusion_reaction(state, ctx):
    """One update of :func:`pixelflow.rules.diffusion_reaction.diffusion_reaction`, bit for bit."""
    p = ctx.params
    state = _contiguous(state)
    dtype = state.dtype.type
    out = np.empty_like(state)
    _gray_scott(state, out, dtype(p.dt), dtype(p.du), dtype(p.dv), dtype(p.feed), dtype(p.feed + p.kill), dtype(1),
                dtype(0), MODES[p.boundary], dtype(4))
    return out


def life_like(state, ctx):
    """One update of :func:`pixelflow.rules.life_like.life_like`, bit for bit."""
    p = ctx.params
    state = _contiguous(state)
    out = np.empty_like(state)
    _life(state, out, state.dtype.type(p.threshold), np.ascontiguousarray(ctx.weights["table"], dtype=state.dtype),
          MODES[p.boundary])
    return out


STEPS = {"wave": wave, "diffusion_reaction": diffusion_reaction, "life_like": life_like}
