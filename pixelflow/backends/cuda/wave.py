"""Fused CUDA kernel for the ``wave`` rule: every step of a sample in one thread block.

Mirrors :func:`pixelflow.rules.wave.wave` operation by operation (the
symplectic update reads a neighbour's amplitude only in the velocity phase,
so both phases update in place with a barrier between them).
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
def evolve(drive, amp, vel, channels, dtc2, damping, dt, clip, sponge, mode, one, record, codes, pools, offsets, scales,
           out):
    i = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    cin = drive.shape[1]
    h = drive.shape[2]
    w = drive.shape[3]
    fields = amp.shape[1]
    active = min(cin, fields)  # a field without input stays 0: the fields do not couple
    for f in range(active):
        for j in range(tid, h * w, nt):
            y = j // w
            x = j % w
            amp[i, f, y, x] = drive[i, f, y, x]
            vel[i, f, y, x] = 0
    cuda.syncthreads()
    slot = 0
    for t in range(record.shape[0]):
        if t > 0:
            for f in range(active):
                for j in range(tid, h * w, nt):
                    y = j // w
                    x = j % w
                    lap = laplacian(amp, i, f, y, x, h, w, mode)
                    vel[i, f, y, x] = (vel[i, f, y, x] + dtc2[y, x] * lap) * damping * sponge[y, x]
            cuda.syncthreads()
            for f in range(active):
                for j in range(tid, h * w, nt):
                    y = j // w
                    x = j % w
                    amp[i, f, y, x] = min(max(amp[i, f, y, x] + dt * vel[i, f, y, x], -clip), clip)
            cuda.syncthreads()
        if record[t]:
            base = slot * offsets[offsets.shape[0] - 1]
            for c in range(channels):
                f = c // 2
                if f >= active:
                    record_zero(out, i, base, c, pools, offsets, h, w, tid, nt)
                elif c % 2 == 0:
                    record_plane(amp, i, f, one, out, i, base, c, codes, pools, offsets, scales, h, w, tid, nt)
                else:
                    record_plane(vel, i, f, one, out, i, base, c, codes, pools, offsets, scales, h, w, tid, nt)
            # the next step overwrites what this one recorded
            cuda.syncthreads()
            slot += 1


def run(drive, ctx, recording, out):
    """Evolve ``drive`` (N, C_in, H, W) under the wave rule on the device; write recorded features into ``out``."""
    xp, p, wts, grid = ctx.xp, ctx.params, ctx.weights, ctx.grid
    n, cin, h, w = drive.shape
    dtype = np.dtype(drive.dtype).type
    fields = grid.channels // 2
    # As in the numpy rule: `dt * c2` is a double product for a scalar c2,
    # an element-wise one in the state precision for a speed field.
    c2 = wts["c2"]
    dtc2 = dtype(p.dt) * c2 if hasattr(c2, "shape") else xp.full((h, w), dtype(p.dt * c2), dtype=drive.dtype)
    dtc2 = contiguous(xp.broadcast_to(dtc2, (h, w)), xp, drive.dtype)
    sponge = contiguous(wts["sponge"] if "sponge" in wts else xp.ones((h, w)), xp, drive.dtype)
    clip = dtype(p.clip) if p.clip > 0 else dtype(np.inf)
    mode = 0 if p.boundary == "periodic" else 2
    amp = xp.zeros((n, fields, h, w), dtype=drive.dtype)
    vel = xp.zeros((n, fields, h, w), dtype=drive.dtype)
    dev = device_output(out, xp)
    evolve[n, threads_for(h * w)](contiguous(drive, xp), amp, vel, grid.channels, dtc2, dtype(p.damping),
                                  dtype(p.dt), clip, sponge, mode, dtype(1),
                                  *recording_arrays(recording, grid.channels, h, w, xp), dev)
    to_host(dev, out)
