"""Fused CPU kernel for the ``diffusion_reaction`` (Gray-Scott) rule.

Mirrors :func:`pixelflow.rules.diffusion_reaction.diffusion_reaction`
operation by operation; the tests hold it to the numpy reference within 1e-5.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from pixelflow.backends.cpu.halo import MODES, fill_halo
from pixelflow.backends.cpu.recording import block_size, write_maps
from pixelflow.backends.fused import layout


@njit(parallel=True, cache=True)
def evolve(drive, channels, seed_v, feed, kill, du, dv, dt, mode, record, codes, pools, offsets, out, block):
    n, cin, h, w = drive.shape
    pairs = channels // 2
    zero = np.zeros((h, w), dtype=drive.dtype)
    # Pairs without input start at the steady state U = 1, V = 0, which a
    # periodic grid keeps exactly; a zero boundary drains U, so evolve them.
    active = min(cin, pairs) if mode == 0 else pairs
    for b in prange((n + block - 1) // block):
        # Scratch allocated once per block of samples, not once per sample.
        u = np.empty((pairs, h + 2, w + 2), dtype=drive.dtype)
        v = np.empty((pairs, h + 2, w + 2), dtype=drive.dtype)
        u2 = np.empty((h, w), dtype=drive.dtype)
        v2 = np.empty((h, w), dtype=drive.dtype)
        for i in range(b * block, min(n, (b + 1) * block)):
            _evolve_sample(drive, i, u, v, u2, v2, channels, seed_v, feed, kill, du, dv, dt, mode, record, codes,
                           pools, offsets, out, active, zero)


@njit(cache=True, inline="always")
def _evolve_sample(drive, i, u, v, u2, v2, channels, seed_v, feed, kill, du, dv, dt, mode, record, codes,
                   pools, offsets, out, active, zero):
    n, cin, h, w = drive.shape
    pairs = channels // 2
    one = drive.dtype.type(1.0)
    half = drive.dtype.type(0.5)
    quarter = drive.dtype.type(0.25)
    fk = feed + kill
    u[:] = 1
    v[:] = 0
    for k in range(min(cin, pairs)):
        for y in range(h):
            for x in range(w):
                d = drive[i, k, y, x]
                if seed_v:
                    u[k, y + 1, x + 1] = one - half * d
                    v[k, y + 1, x + 1] = quarter * d
                else:
                    u[k, y + 1, x + 1] = d
    slot = 0
    for t in range(record.shape[0]):
        if t > 0:
            for k in range(active):
                a = u[k]
                b = v[k]
                fill_halo(a, mode)
                fill_halo(b, mode)
                for y in range(h):
                    for x in range(w):
                        uc = a[y + 1, x + 1]
                        vc = b[y + 1, x + 1]
                        lap_u = a[y, x + 1] + a[y + 2, x + 1] + a[y + 1, x] + a[y + 1, x + 2] - 4 * uc
                        lap_v = b[y, x + 1] + b[y + 2, x + 1] + b[y + 1, x] + b[y + 1, x + 2] - 4 * vc
                        uvv = uc * vc * vc
                        nu = uc + dt * (du * lap_u - uvv + feed * (one - uc))
                        nv = vc + dt * (dv * lap_v + uvv - fk * vc)
                        u2[y, x] = min(max(nu, 0), one)
                        v2[y, x] = min(max(nv, 0), one)
                a[1 : h + 1, 1 : w + 1] = u2
                b[1 : h + 1, 1 : w + 1] = v2
        if record[t]:
            base = slot * offsets[-1]
            for c in range(channels):
                k = c // 2
                if c >= 2 * pairs:
                    src = zero
                elif c % 2 == 0:
                    src = u[k, 1 : h + 1, 1 : w + 1]
                else:
                    src = v[k, 1 : h + 1, 1 : w + 1]
                write_maps(src, out[i], base, c, codes, pools, offsets)
            slot += 1


def run(drive, ctx, recording, out):
    """Evolve ``drive`` under Gray-Scott; write recorded features into ``out``."""
    p = ctx.params
    f = drive.dtype.type
    evolve(np.ascontiguousarray(drive), ctx.grid.channels, p.input_species == "v", f(p.feed), f(p.kill),
           f(p.du), f(p.dv), f(p.dt), MODES[p.boundary],
           *layout(recording, ctx.grid.channels, ctx.grid.height, ctx.grid.width), out,
           block_size(len(drive)))
