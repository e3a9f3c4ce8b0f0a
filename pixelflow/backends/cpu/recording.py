"""Writing a recorded, average-pooled plane into a feature row (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def apply_map(v, code):
    """Feature map ``code`` (:data:`pixelflow.recording.MAP_CODES`) of one value."""
    if code == 1:
        return v * v
    if code == 2:
        return abs(v)
    if code == 3:
        return max(v, v - v)  # v - v: a zero of v's own type, so the branches agree
    return v


@njit(cache=True, inline="always")
def write_pooled(plane, row, offset, pool, code=0):
    """Mean over ``pool × pool`` blocks of the feature map ``code`` of ``plane`` into ``row[offset:]``.

    Sums the block in the same order as :func:`pixelflow.recording.avg_pool`
    (rows of the block outer, columns inner) so results match it exactly.
    """
    h, w = plane.shape
    hp, wp = h // pool, w // pool
    if pool == 1:
        for y in range(h):
            for x in range(w):
                row[offset + y * w + x] = apply_map(plane[y, x], code)
        return
    scale = np.float32(1.0 / (pool * pool))
    for y in range(hp):
        for x in range(wp):
            acc = apply_map(plane[y * pool, x * pool], code)
            for a in range(pool):
                for b in range(pool):
                    if a == 0 and b == 0:
                        continue
                    acc += apply_map(plane[y * pool + a, x * pool + b], code)
            row[offset + y * wp + x] = acc * scale


@njit(cache=True, inline="always")
def write_maps(plane, row, base, channel, codes, pools, offsets):
    """Every feature map of one channel's plane into its place in a recorded step's features.

    ``base`` is where the step's features start; map ``m`` (code
    ``codes[m]``, pooling ``pools[m]``) starts ``offsets[m]`` after it.
    """
    h, w = plane.shape
    for m in range(codes.shape[0]):
        size = (h // pools[m]) * (w // pools[m])
        write_pooled(plane, row, base + offsets[m] + channel * size, pools[m], codes[m])


def block_size(n: int) -> int:
    """Samples per parallel task: about eight tasks per thread, for load balance."""
    import numba

    return max(1, n // (8 * numba.get_num_threads()))
