"""Fused CPU kernel for ``random_nca``: perception, mixing and update per cell, in cache.

Computes the same separable perception as :func:`pixelflow.stencils.perceive`
and accumulates the random mixing in double precision; the tests hold it to
the numpy reference within 1e-5.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from pixelflow.backends.cpu.halo import MODES, fill_halo
from pixelflow.backends.cpu.recording import recorded_mask, write_pooled


@njit(parallel=True, cache=True)
def evolve(drive, channels, mix, bias, inject, gain, leak, input_scale, mode, record, pool, out):
    n, cin, h, w = drive.shape
    c4 = 4 * channels
    plane = (h // pool) * (w // pool)
    eighth = drive.dtype.type(1.0 / 8.0)
    quarter = drive.dtype.type(0.25)
    keep = drive.dtype.type(1.0) - leak
    for i in prange(n):
        state = np.zeros((channels, h + 2, w + 2), dtype=drive.dtype)
        nxt = np.empty((channels, h, w), dtype=drive.dtype)
        perceived = np.empty(c4, dtype=np.float64)
        # The re-injected input is the same every step: W_in u + b, once.
        drive_term = np.empty((channels, h, w), dtype=np.float64)
        for o in range(channels):
            for y in range(h):
                for x in range(w):
                    acc = 0.0
                    for m in range(cin):
                        acc += inject[o, m] * drive[i, m, y, x]
                    drive_term[o, y, x] = input_scale * acc
        slot = 0
        for t in range(record.shape[0]):
            if t > 0:
                for c in range(channels):
                    fill_halo(state[c], mode)
                for y in range(h):
                    for x in range(w):
                        for c in range(channels):
                            s = state[c]
                            # separable Sobel / Laplacian, as stencils.perceive
                            r0 = s[y, x] + 2 * s[y + 1, x] + s[y + 2, x]
                            r1 = s[y, x + 1] + 2 * s[y + 1, x + 1] + s[y + 2, x + 1]
                            r2 = s[y, x + 2] + 2 * s[y + 1, x + 2] + s[y + 2, x + 2]
                            c0 = s[y, x] + 2 * s[y, x + 1] + s[y, x + 2]
                            c2 = s[y + 2, x] + 2 * s[y + 2, x + 1] + s[y + 2, x + 2]
                            centre = s[y + 1, x + 1]
                            perceived[c] = centre
                            perceived[channels + c] = (r2 - r0) * eighth
                            perceived[2 * channels + c] = (c2 - c0) * eighth
                            perceived[3 * channels + c] = (r0 + 2 * r1 + r2 - 16 * centre) * quarter
                        for o in range(channels):
                            acc = 0.0
                            for j in range(c4):
                                acc += mix[o, j] * perceived[j]
                            z = gain * acc + bias[o] + drive_term[o, y, x]
                            nxt[o, y, x] = keep * state[o, y + 1, x + 1] + leak * math.tanh(z)
                for c in range(channels):
                    state[c, 1 : h + 1, 1 : w + 1] = nxt[c]
            if record[t]:
                base = slot * channels * plane
                for c in range(channels):
                    write_pooled(state[c, 1 : h + 1, 1 : w + 1], out[i], base + c * plane, pool)
                slot += 1


def run(drive, ctx, record_steps, pool, out):
    """Evolve ``drive`` under the fixed random NCA; write recorded features into ``out``."""
    p, wts = ctx.params, ctx.weights
    f = drive.dtype.type
    evolve(np.ascontiguousarray(drive), ctx.grid.channels, np.asarray(wts["mix"], dtype=np.float64),
           np.asarray(wts["bias"], dtype=np.float64).ravel(), np.asarray(wts["inject"], dtype=np.float64),
           float(p.gain), f(p.leak), float(p.input_scale), MODES[p.boundary], recorded_mask(record_steps), pool, out)
