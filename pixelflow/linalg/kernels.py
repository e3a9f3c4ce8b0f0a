"""Compiled kernels for :mod:`pixelflow.linalg.fixed_order` on host arrays (numba).

Each kernel treats one sample at a time and computes exactly the sums that
:mod:`pixelflow.linalg.fixed_order` defines: float64 accumulators starting at
``+0.0``, terms added one after the other in increasing index order, one
rounding at the end. No BLAS is involved.

Speed comes from the loop order, never from reordering a sum: the innermost
loop runs over independent outputs (cells, matrix columns or channel pairs),
which the compiler vectorises, and each pass of it adds the next ``UNROLL``
terms to every output in order, so an accumulator is loaded and stored once
per ``UNROLL`` terms instead of once per term.

Products of float32 factors are exact in float64, so whether the compiler
fuses a multiply and an add (``contract``) cannot change a float32 result
float64 inputs get kernels compiled without contraction, so their products
round exactly as in the ``xp`` definition. ``nogil`` lets the reservoir's
chunk threads run the kernels side by side.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Terms added per pass over the accumulators.
UNROLL = 8


def _compile(fn):
    """``fn`` twice: with multiply-add contraction (exact products) and without."""
    return (njit(cache=True, nogil=True, fastmath={"contract"})(fn),
            njit(cache=True, nogil=True)(fn))


def _pick(kernels, dtype):
    return kernels[0] if dtype == np.float32 else kernels[1]


def _rows_kernel(x, matrix, out):
    n, k_in = x.shape
    d = matrix.shape[1]
    acc = np.empty(d, dtype=np.float64)
    terms = np.empty(k_in, dtype=np.int64)
    for r in range(n):
        # Zero terms are left out: adding +-0.0 to a sum that started at +0.0
        # never changes it (finite inputs), so the bits stay those of the full
        # sum, and blank pixels cost nothing.
        nt = 0
        for k in range(k_in):
            if x[r, k] != 0:
                terms[nt] = k
                nt += 1
        acc[:] = 0.0
        full = nt - nt % UNROLL
        for i in range(0, full, UNROLL):
            k0 = terms[i]
            k1 = terms[i + 1]
            k2 = terms[i + 2]
            k3 = terms[i + 3]
            k4 = terms[i + 4]
            k5 = terms[i + 5]
            k6 = terms[i + 6]
            k7 = terms[i + 7]
            a0 = np.float64(x[r, k0])
            a1 = np.float64(x[r, k1])
            a2 = np.float64(x[r, k2])
            a3 = np.float64(x[r, k3])
            a4 = np.float64(x[r, k4])
            a5 = np.float64(x[r, k5])
            a6 = np.float64(x[r, k6])
            a7 = np.float64(x[r, k7])
            m0 = matrix[k0]
            m1 = matrix[k1]
            m2 = matrix[k2]
            m3 = matrix[k3]
            m4 = matrix[k4]
            m5 = matrix[k5]
            m6 = matrix[k6]
            m7 = matrix[k7]
            for j in range(d):
                v = acc[j]
                v += a0 * np.float64(m0[j])
                v += a1 * np.float64(m1[j])
                v += a2 * np.float64(m2[j])
                v += a3 * np.float64(m3[j])
                v += a4 * np.float64(m4[j])
                v += a5 * np.float64(m5[j])
                v += a6 * np.float64(m6[j])
                v += a7 * np.float64(m7[j])
                acc[j] = v
        for i in range(full, nt):
            k = terms[i]
            a = np.float64(x[r, k])
            m = matrix[k]
            for j in range(d):
                acc[j] += a * np.float64(m[j])
        for j in range(d):
            out[r, j] = acc[j]


_ROWS = _compile(_rows_kernel)


def matmul_rows(x, matrix):
    """``x @ matrix`` for C-contiguous host arrays
    see :func:`pixelflow.linalg.fixed_order.matmul_rows`."""
    out = np.empty((x.shape[0], matrix.shape[1]), dtype=x.dtype)
    _pick(_ROWS, x.dtype)(x, matrix, out)
    return out


def _mix_kernel(w, x, out):
    n, k_in, cells = x.shape
    c_out = w.shape[0]
    # Outputs are done in pairs; an odd count gets a zero row whose sums are dropped.
    pairs = (c_out + 1) // 2
    wz = np.zeros((2 * pairs, k_in), dtype=np.float64)
    for o in range(c_out):
        for k in range(k_in):
            wz[o, k] = w[o, k]
    acc = np.empty((2 * pairs, cells), dtype=np.float64)
    full = k_in - k_in % UNROLL
    for s in range(n):
        xs = x[s]
        acc[:, :] = 0.0
        for k in range(0, full, UNROLL):
            x0 = xs[k]
            x1 = xs[k + 1]
            x2 = xs[k + 2]
            x3 = xs[k + 3]
            x4 = xs[k + 4]
            x5 = xs[k + 5]
            x6 = xs[k + 6]
            x7 = xs[k + 7]
            for o in range(0, 2 * pairs, 2):
                w0 = wz[o, k]
                w1 = wz[o, k + 1]
                w2 = wz[o, k + 2]
                w3 = wz[o, k + 3]
                w4 = wz[o, k + 4]
                w5 = wz[o, k + 5]
                w6 = wz[o, k + 6]
                w7 = wz[o, k + 7]
                u0 = wz[o + 1, k]
                u1 = wz[o + 1, k + 1]
                u2 = wz[o + 1, k + 2]
                u3 = wz[o + 1, k + 3]
                u4 = wz[o + 1, k + 4]
                u5 = wz[o + 1, k + 5]
                u6 = wz[o + 1, k + 6]
                u7 = wz[o + 1, k + 7]
                a = acc[o]
                b = acc[o + 1]
                for t in range(cells):
                    y0 = np.float64(x0[t])
                    y1 = np.float64(x1[t])
                    y2 = np.float64(x2[t])
                    y3 = np.float64(x3[t])
                    y4 = np.float64(x4[t])
                    y5 = np.float64(x5[t])
                    y6 = np.float64(x6[t])
                    y7 = np.float64(x7[t])
                    v = a[t]
                    v += w0 * y0
                    v += w1 * y1
                    v += w2 * y2
                    v += w3 * y3
                    v += w4 * y4
                    v += w5 * y5
                    v += w6 * y6
                    v += w7 * y7
                    a[t] = v
                    q = b[t]
                    q += u0 * y0
                    q += u1 * y1
                    q += u2 * y2
                    q += u3 * y3
                    q += u4 * y4
                    q += u5 * y5
                    q += u6 * y6
                    q += u7 * y7
                    b[t] = q
        for k in range(full, k_in):
            xk = xs[k]
            for o in range(c_out):
                wk = wz[o, k]
                a = acc[o]
                for t in range(cells):
                    a[t] += wk * np.float64(xk[t])
        for o in range(c_out):
            for t in range(cells):
                out[s, o, t] = acc[o, t]


_MIX = _compile(_mix_kernel)


def mix_channels(weights, x):
    """``weights @ x[n]`` per sample for host arrays ``(C_out, K)`` and ``(N, K, cells)``."""
    out = np.empty((x.shape[0], weights.shape[0], x.shape[2]), dtype=x.dtype)
    _pick(_MIX, x.dtype)(weights, x, out)
    return out


def _products_kernel(x, p, out):
    n, c, h, w = x.shape
    cells = p * p
    # One block's cells as rows of channel values, in the block's row-major order.
    vals = np.empty((cells, c), dtype=np.float64)
    acc = np.empty((c, c), dtype=np.float64)
    scale = 1.0 / (p * p)
    full = cells - cells % UNROLL
    for s in range(n):
        for bi in range(h // p):
            for bj in range(w // p):
                for i in range(p):
                    for j in range(p):
                        for ch in range(c):
                            vals[i * p + j, ch] = x[s, ch, bi * p + i, bj * p + j]
                acc[:, :] = 0.0
                for t in range(0, full, UNROLL):
                    v0 = vals[t]
                    v1 = vals[t + 1]
                    v2 = vals[t + 2]
                    v3 = vals[t + 3]
                    v4 = vals[t + 4]
                    v5 = vals[t + 5]
                    v6 = vals[t + 6]
                    v7 = vals[t + 7]
                    for ci in range(c):
                        a0 = v0[ci]
                        a1 = v1[ci]
                        a2 = v2[ci]
                        a3 = v3[ci]
                        a4 = v4[ci]
                        a5 = v5[ci]
                        a6 = v6[ci]
                        a7 = v7[ci]
                        row = acc[ci]
                        for cj in range(ci, c):
                            q = row[cj]
                            q += a0 * v0[cj]
                            q += a1 * v1[cj]
                            q += a2 * v2[cj]
                            q += a3 * v3[cj]
                            q += a4 * v4[cj]
                            q += a5 * v5[cj]
                            q += a6 * v6[cj]
                            q += a7 * v7[cj]
                            row[cj] = q
                for t in range(full, cells):
                    v0 = vals[t]
                    for ci in range(c):
                        a0 = v0[ci]
                        row = acc[ci]
                        for cj in range(ci, c):
                            row[cj] += a0 * v0[cj]
                q = 0
                for ci in range(c):
                    for cj in range(ci, c):
                        out[s, q, bi, bj] = acc[ci, cj] * scale
                        q += 1


_PRODUCTS = _compile(_products_kernel)


def block_products(x, p):
    """Block means of channel-pair products for a C-contiguous host array ``(N, C, H, W)``."""
    n, c, h, w = x.shape
    out = np.empty((n, c * (c + 1) // 2, h // p, w // p), dtype=x.dtype)
    _pick(_PRODUCTS, x.dtype)(x, p, out)
    return out
