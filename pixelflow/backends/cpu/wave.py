"""Fused CPU kernel for the ``wave`` rule: all steps of one sample while it is in cache.

Mirrors :func:`pixelflow.rules.wave.wave` operation by operation; the tests
hold it to the numpy reference within 1e-5.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pixelflow.backends.cpu.halo import MODES, fill_halo
from pixelflow.backends.cpu.recording import block_size, write_maps
from pixelflow.backends.fused import layout


@njit(parallel=True, cache=True)
def evolve(drive, channels, dtc2, damping, dt, clip, sponge, mode, record, codes, pools, offsets, out, block):
    # Branch-free inner loops: `sponge` is all ones without an absorbing layer
    # and `clip` is +inf when clipping is off (both exact no-ops).
    n, cin, h, w = drive.shape
    fields = channels // 2
    zero = np.zeros((h, w), dtype=drive.dtype)
    for b in prange((n + block - 1) // block):
        # Scratch allocated once per block of samples, not once per sample.
        amp = np.empty((fields, h + 2, w + 2), dtype=drive.dtype)
        vel = np.empty((fields, h, w), dtype=drive.dtype)
        for i in range(b * block, min(n, (b + 1) * block)):
            _evolve_sample(drive, i, amp, vel, channels, dtc2, damping, dt, clip, sponge, mode, record, codes, pools,
                           offsets, out, zero)


@njit(cache=True, inline="always")
def _evolve_sample(drive, i, amp, vel, channels, dtc2, damping, dt, clip, sponge, mode, record, codes, pools,
                           offsets, out, zero):
    n, cin, h, w = drive.shape
    fields = channels // 2
    amp[:] = 0
    vel[:] = 0
    for k in range(cin):
        amp[k, 1 : h + 1, 1 : w + 1] = drive[i, k]
    slot = 0
    for t in range(record.shape[0]):
        if t > 0:
            # A field that got no input is zero and stays zero: the wave
            # equation is linear and the fields do not couple.
            for f in range(min(cin, fields)):
                fill_halo(amp[f], mode)
                # Indexing the 3-D arrays (not 2-D views) keeps their layout
                # visible to numba, so these loops vectorise.
                for y in range(h):
                    for x in range(w):
                        lap = (amp[f, y, x + 1] + amp[f, y + 2, x + 1] + amp[f, y + 1, x] + amp[f, y + 1, x + 2]
                               - 4 * amp[f, y + 1, x + 1])
                        vel[f, y, x] = (vel[f, y, x] + dtc2[y, x] * lap) * damping * sponge[y, x]
                for y in range(h):
                    for x in range(w):
                        amp[f, y + 1, x + 1] = min(max(amp[f, y + 1, x + 1] + dt * vel[f, y, x], -clip), clip)
        if record[t]:
            base = slot * offsets[-1]
            for c in range(channels):
                if c >= 2 * fields:
                    src = zero
                elif c % 2 == 0:
                    src = amp[c // 2, 1 : h + 1, 1 : w + 1]
                else:
                    src = vel[c // 2]
                write_maps(src, out[i], base, c, codes, pools, offsets)
            slot += 1


def run(drive, ctx, recording, out):
    """Evolve ``drive`` (N, C_in, H, W) under the wave rule; write recorded features into ``out``."""
    p, wts, grid = ctx.params, ctx.weights, ctx.grid
    dtype = drive.dtype.type
    # numpy evaluates `dt * c2` first: in double for a scalar c2 (then rounded
    # to the state precision), element-wise in that precision for a field.
    c2 = wts["c2"]
    dtc2 = dtype(p.dt) * c2 if isinstance(c2, np.ndarray) else dtype(p.dt * c2)
    dtc2 = np.ascontiguousarray(np.broadcast_to(dtc2, (grid.height, grid.width)), dtype=drive.dtype)
    sponge = np.ascontiguousarray(wts.get("sponge", np.ones((grid.height, grid.width))), dtype=drive.dtype)
    clip = dtype(p.clip) if p.clip > 0 else dtype(np.inf)
    mode = MODES["periodic" if p.boundary == "periodic" else "edge"]
    evolve(np.ascontiguousarray(drive), grid.channels, dtc2, dtype(p.damping), dtype(p.dt), clip,
           sponge, mode, *layout(recording, grid.channels, grid.height, grid.width), out, block_size(len(drive)))
