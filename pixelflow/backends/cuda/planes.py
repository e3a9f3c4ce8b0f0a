"""Device functions the fused CUDA kernels share: boundary reads, feature maps, pooled recording.

A kernel runs one sample per thread block; ``tid`` / ``nt`` are the thread's
index in the block and the block size, and every loop over cells strides by
``nt``. Fields are 4-D arrays ``[sample, plane, row, col]``.
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from pixelflow.backends.cpu import recording as cpu_recording

# Threads per block: a multiple of the warp size; a 32x32 grid gives each
# thread four cells per plane.
THREADS = 256


def threads_for(cells: int) -> int:
    """Block size for a grid of ``cells`` cells: enough warps to cover it, at most :data:`THREADS`."""
    return int(min(THREADS, 32 * -(-cells // 32)))


@cuda.jit(device=True)
def read(a, i, k, y, x, h, w, mode):
    """``a[i, k, y, x]`` with the boundary ``mode`` outside the grid (0 periodic, 1 zero, 2 edge)."""
    if mode == 0:
        return a[i, k, (y + h) % h, (x + w) % w]
    if mode == 1:
        inside = y >= 0 and y < h and x >= 0 and x < w
        v = a[i, k, min(max(y, 0), h - 1), min(max(x, 0), w - 1)]
        return v if inside else v - v  # v - v: a zero of v's own type
    return a[i, k, min(max(y, 0), h - 1), min(max(x, 0), w - 1)]


@cuda.jit(device=True)
def laplacian(a, i, k, y, x, h, w, mode):
    """Five-point Laplacian at ``(y, x)``, summed in :func:`pixelflow.stencils.laplacian`'s order."""
    return (read(a, i, k, y - 1, x, h, w, mode) + read(a, i, k, y + 1, x, h, w, mode)
            + read(a, i, k, y, x - 1, h, w, mode) + read(a, i, k, y, x + 1, h, w, mode) - 4 * a[i, k, y, x])


# The same per-value feature maps as the CPU kernels, compiled for the device.
apply_map = cuda.jit(device=True)(cpu_recording.apply_map.py_func)


@cuda.jit(device=True)
def record_plane(src, s, k, one, out, i, start_c, c, codes, pools, offsets, scales, h, w, tid, nt):
    """Every feature map of plane ``src[s, k]`` into channel ``c``'s places after ``out[i, start_c]``.

    ``one`` is 1 in the state's precision (it turns a 0/1 board into
    values); a pooled cell sums its block in the order of
    :func:`pixelflow.recording.avg_pool` and multiplies by ``scales[m]``.
    """
    for m in range(codes.shape[0]):
        p = pools[m]
        code = codes[m]
        wp = w // p
        size = (h // p) * wp
        start = start_c + offsets[m] + c * size
        for j in range(tid, size, nt):
            y0 = (j // wp) * p
            x0 = (j % wp) * p
            acc = apply_map(src[s, k, y0, x0] * one, code)
            for a in range(p):
                for b in range(p):
                    if a > 0 or b > 0:
                        acc += apply_map(src[s, k, y0 + a, x0 + b] * one, code)
            out[i, start + j] = acc * scales[m] if p > 1 else acc


@cuda.jit(device=True)
def record_zero(out, i, start_c, c, pools, offsets, h, w, tid, nt):
    """Zeros for channel ``c`` of every map (a channel the rule keeps at 0; every map of 0 is 0)."""
    for m in range(pools.shape[0]):
        p = pools[m]
        size = (h // p) * (w // p)
        start = start_c + offsets[m] + c * size
        for j in range(tid, size, nt):
            out[i, start + j] = 0


def recording_arrays(recording, channels: int, height: int, width: int, xp):
    """``(mask, codes, pools, offsets, scales)`` of a Recording, on the device of ``xp``."""
    from pixelflow.backends.fused import layout

    mask, codes, pools, offsets = layout(recording, channels, height, width)
    scales = (1.0 / (pools * pools)).astype(np.float32)
    return tuple(xp.asarray(a) for a in (mask, codes, pools, offsets, scales))


def contiguous(a, xp, dtype=None):
    """``a`` as a C-contiguous array of ``xp``.

    The simulator copies a host argument back after the launch, so a
    read-only one (a broadcast view) is copied first.
    """
    a = xp.ascontiguousarray(a, dtype=dtype)
    return a.copy() if xp is np and not a.flags.writeable else a


def device_output(out, xp):
    """Where a kernel writes ``out``'s rows: ``out`` itself when it is on the device (or in the simulator)."""
    return out if xp is np or not isinstance(out, np.ndarray) else xp.empty(out.shape, dtype=out.dtype)


def to_host(dev, out) -> None:
    """Copy the kernel's rows into the host rows ``out`` (one transfer per chunk)."""
    if dev is not out:
        dev.get(out=out)
