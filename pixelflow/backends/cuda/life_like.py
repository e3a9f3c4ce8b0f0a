"""Fused CUDA kernel for ``life_like`` rules: boards of bytes ping-ponged, every step in one block.

The next value of a cell is bit ``neighbours + 9 * alive`` of the rule's
18-bit mask (:func:`pixelflow.backends.cpu.life_like.rule_mask`), the index of the
rule table of :func:`pixelflow.rules.life_like.life_like`. Step 0 records
the raw (continuous) input; the first step binarises it at ``threshold``.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from pixelflow.backends.cpu.life_like import rule_mask
from pixelflow.backends.cuda.planes import (
    contiguous,
    device_output,
    record_plane,
    record_zero,
    recording_arrays,
    threads_for,
    to_host,
)


@cuda.jit
def evolve(drive, boards, threshold, mask, mode, one, record, codes, pools, offsets, scales, out):
    i = cuda.blockIdx.x
    n = drive.shape[0]
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    cin = drive.shape[1]
    h = drive.shape[2]
    w = drive.shape[3]
    channels = boards.shape[1]
    cur = 0
    slot = 0
    for t in range(record.shape[0]):
        if t == 1:
            for c in range(channels):
                for j in range(tid, h * w, nt):
                    y = j // w
                    x = j % w
                    value = drive[i, c, y, x] if c < cin else one - one
                    boards[i, c, y, x] = 1 if value >= threshold else 0
            cuda.syncthreads()
        if t > 0:
            src = cur * n + i
            dst = (1 - cur) * n + i
            for c in range(channels):
                for j in range(tid, h * w, nt):
                    y = j // w
                    x = j % w
                    alive = boards[src, c, y, x]
                    count = 0
                    for dy in range(-1, 2):
                        for dx in range(-1, 2):
                            yy = y + dy
                            xx = x + dx
                            if mode == 0:
                                count += boards[src, c, (yy + h) % h, (xx + w) % w]
                            elif yy >= 0 and yy < h and xx >= 0 and xx < w:
                                count += boards[src, c, yy, xx]
                    # count includes the cell itself: index = neighbours + 9 * alive
                    boards[dst, c, y, x] = (mask >> (count + 8 * alive)) & 1
            cur = 1 - cur
            cuda.syncthreads()
        if record[t]:
            base = slot * offsets[offsets.shape[0] - 1]
            for c in range(channels):
                if t == 0:
                    if c < cin:
                        record_plane(drive, i, c, one, out, i, base, c, codes, pools, offsets, scales, h, w, tid, nt)
                    else:
                        # channels beyond the input start at 0
                        record_zero(out, i, base, c, pools, offsets, h, w, tid, nt)
                else:
                    record_plane(boards, cur * n + i, c, one, out, i, base, c, codes, pools, offsets, scales, h, w,
                                 tid, nt)
            slot += 1


def run(drive, ctx, recording, out):
    """Evolve ``drive`` under a life-like rule on the device; write recorded features into ``out``."""
    xp, p, grid = ctx.xp, ctx.params, ctx.grid
    n, cin, h, w = drive.shape
    f = np.dtype(drive.dtype).type
    mode = {"periodic": 0, "zero": 1}[p.boundary]
    boards = xp.zeros((2 * n, grid.channels, h, w), dtype=np.uint8)
    mask = np.uint32(rule_mask(xp.asnumpy(ctx.weights["table"]) if xp is not np else ctx.weights["table"]))
    dev = device_output(out, xp)
    evolve[n, threads_for(h * w)](contiguous(drive, xp), boards, f(p.threshold), mask, mode, f(1),
                                  *recording_arrays(recording, grid.channels, h, w, xp), dev)
    to_host(dev, out)
