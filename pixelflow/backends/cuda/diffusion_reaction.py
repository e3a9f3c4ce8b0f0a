"""Fused CUDA kernel for the ``diffusion_reaction`` (Gray-Scott) rule: every step of a sample in one block.

Mirrors :func:`pixelflow.rules.diffusion_reaction.diffusion_reaction`
operation by operation. U and V are ping-ponged between two buffers
(``[buffer * N + sample]`` along the first axis), since a cell's update reads
its neighbours' old values.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from pixelflow.backends.cuda.planes import (
    contiguous,
    device_output,
    laplacian,
    record_plane,
    record_zero,
    recording_arrays,
    threads_for,
    to_host,
)


@cuda.jit
def evolve(drive, u, v, channels, active, seed_v, feed, kill, du, dv, dt, mode, one,
           record, codes, pools, offsets, scales, out):
    i = cuda.blockIdx.x
    n = drive.shape[0]
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    cin = drive.shape[1]
    h = drive.shape[2]
    w = drive.shape[3]
    pairs = u.shape[1]
    half = one / 2
    quarter = one / 4
    fk = feed + kill
    # Both buffers start at the steady state U = 1, V = 0 (which pairs that
    # are not evolved keep); the input seeds pairs 0 .. C_in - 1.
    for k in range(pairs):
        for j in range(tid, h * w, nt):
            y = j // w
            x = j % w
            for buf in range(2):
                u[buf * n + i, k, y, x] = one
                v[buf * n + i, k, y, x] = 0
            if k < cin:
                d = drive[i, k, y, x]
                if seed_v:
                    u[i, k, y, x] = one - half * d
                    v[i, k, y, x] = quarter * d
                else:
                    u[i, k, y, x] = d
    cuda.syncthreads()
    cur = 0
    slot = 0
    for t in range(record.shape[0]):
        if t > 0:
            src = cur * n + i
            dst = (1 - cur) * n + i
            for k in range(active):
                for j in range(tid, h * w, nt):
                    y = j // w
                    x = j % w
                    uc = u[src, k, y, x]
                    vc = v[src, k, y, x]
                    lap_u = laplacian(u, src, k, y, x, h, w, mode)
                    lap_v = laplacian(v, src, k, y, x, h, w, mode)
                    uvv = uc * vc * vc
                    nu = uc + dt * (du * lap_u - uvv + feed * (one - uc))
                    nv = vc + dt * (dv * lap_v + uvv - fk * vc)
                    u[dst, k, y, x] = min(max(nu, one - one), one)
                    v[dst, k, y, x] = min(max(nv, one - one), one)
            for k in range(active, pairs):  # not evolved: carry the steady state over
                for j in range(tid, h * w, nt):
                    y = j // w
                    x = j % w
                    u[dst, k, y, x] = u[src, k, y, x]
                    v[dst, k, y, x] = v[src, k, y, x]
            cur = 1 - cur
            # Recording and the next step read what was just written; the
            # next step writes the other buffer, which nothing reads any more.
            cuda.syncthreads()
        if record[t]:
            base = slot * offsets[offsets.shape[0] - 1]
            b = cur * n + i
            for c in range(channels):
                if c >= 2 * pairs:
                    record_zero(out, i, base, c, pools, offsets, h, w, tid, nt)
                elif c % 2 == 0:
                    record_plane(u, b, c // 2, one, out, i, base, c, codes, pools, offsets, scales, h, w, tid, nt)
                else:
                    record_plane(v, b, c // 2, one, out, i, base, c, codes, pools, offsets, scales, h, w, tid, nt)
            slot += 1


def run(drive, ctx, recording, out):
    """Evolve ``drive`` under Gray-Scott on the device; write recorded features into ``out``."""
    xp, p, grid = ctx.xp, ctx.params, ctx.grid
    n, cin, h, w = drive.shape
    f = np.dtype(drive.dtype).type
    pairs = grid.channels // 2
    mode = {"periodic": 0, "zero": 1}[p.boundary]
    # A periodic grid keeps U = 1, V = 0 exactly; a zero boundary drains U, so evolve every pair.
    active = min(cin, pairs) if mode == 0 else pairs
    u = xp.empty((2 * n, pairs, h, w), dtype=drive.dtype)
    v = xp.empty((2 * n, pairs, h, w), dtype=drive.dtype)
    dev = device_output(out, xp)
    evolve[n, threads_for(h * w)](contiguous(drive, xp), u, v, grid.channels, active, p.input_species == "v",
                                  f(p.feed), f(p.kill), f(p.du), f(p.dv), f(p.dt), mode, f(1),
                                  *recording_arrays(recording, grid.channels, h, w, xp), dev)
    to_host(dev, out)
