"""Writing a recorded, average-pooled plane into a feature row (numba)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def write_pooled(plane, row, offset, pool):
    """Mean over ``pool × pool`` blocks of ``plane`` into ``row[offset:]``.

    Sums the block in the same order as :func:`pixelflow.reservoir.avg_pool`
    (rows of the block outer, columns inner) so results match it exactly.
    """
    h, w = plane.shape
    hp, wp = h // pool, w // pool
    if pool == 1:
        for y in range(h):
            for x in range(w):
                row[offset + y * w + x] = plane[y, x]
        return
    scale = np.float32(1.0 / (pool * pool))
    for y in range(hp):
        for x in range(wp):
            acc = plane[y * pool, x * pool]
            for a in range(pool):
                for b in range(pool):
                    if a == 0 and b == 0:
                        continue
                    acc += plane[y * pool + a, x * pool + b]
            row[offset + y * wp + x] = acc * scale


def recorded_mask(record_steps) -> np.ndarray:
    """Boolean mask over steps ``0 .. max(record_steps)``.

    Nothing after the last recorded step can change a feature, so the fused
    kernels stop there.
    """
    mask = np.zeros(max(record_steps) + 1, dtype=np.bool_)
    mask[list(record_steps)] = True
    return mask


def block_size(n: int) -> int:
    """Samples per parallel task: about eight tasks per thread, for load balance."""
    import numba

    return max(1, n // (8 * numba.get_num_threads()))
