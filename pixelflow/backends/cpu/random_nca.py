"""Fused CPU kernel for the ``random_nca`` rule: the numpy path's features, bit for bit.

:func:`pixelflow.rules.random_nca.random_nca` perceives, mixes and updates
the whole batch one array operation at a time. This kernel does the same
arithmetic cell by cell on a block of samples while it is in cache, and
records every feature map (channel products included) on the fly:

* perception: the same separable stencil sums as
  :func:`pixelflow.stencils.perceive`, each operation in the state's dtype
  and in the same order (``(a + 2 b) + c``, then the differences and the
  ``1/8``, ``1/4`` scalings); with ``perception="random"``, the nine shifted
  copies of :func:`pixelflow.stencils.neighbourhood`;
* mixing: ``W @ perceive(s)`` with the sums of
  :func:`pixelflow.linalg.fixed_order.mix_channels` (exact products in
  float64 added in increasing index order from ``+0.0``, rounded once), the
  innermost loop running over independent cells so that it vectorises;
* update: ``gain * M + b``, the re-injected input (computed once per sample
  by :func:`~pixelflow.linalg.fixed_order.mix_channels` itself, since the
  drive does not change) and ``(1 - leak) * s + leak * tanh(z)``, each
  operation rounded to the state's dtype as numpy rounds it. ``tanh`` is
  numpy's own ufunc on the block, because numpy's vectorised ``tanh`` does
  not round like the C library's that compiled code would call;
* recording: pointwise maps pooled as :func:`pixelflow.recording.avg_pool`
  pools them, channel products summed as
  :func:`pixelflow.linalg.fixed_order.block_products` sums them.

Every cell's result depends on its own sample only, so rows stay
batch-invariant. The first step from the empty state mixes nothing: every
perceived value is ``+0.0``, so its sums are ``+0.0`` exactly.

Scope: float32 and float64 states, every encoder (the kernel starts from the
encoder's drive), both boundaries, any grid, channel count, steps and
recorded steps, and every feature map with its own pooling (:data:`MAPS`,
channel products included), both perceptions. A drive whose dtype differs
from the state's (a user encoder that changes precision) runs the rule
function here instead.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
from numba import njit

from pixelflow.backends.cpu.halo import MODES, fill_halo
from pixelflow.backends.fused import recorded_mask
from pixelflow.linalg.fixed_order import mix_channels
from pixelflow.recording import CROSS_CHANNEL_MAPS, MAP_CODES
from pixelflow.rules.random_nca import init, random_nca

# Feature maps this kernel records.
MAPS = tuple(MAP_CODES) + CROSS_CHANNEL_MAPS
# Kernel code of the channel-products map (pointwise maps use MAP_CODES).
PRODUCTS = -1

# Indices into the per-run constants, all in the state's dtype.
GAIN, KEEP, LEAK, TWO, SIXTEEN, EIGHTH, QUARTER, ZERO = range(8)

# Perceived planes and output channels are padded to these multiples
# (zero weights: a +0.0 term leaves a float64 sum that started at +0.0
# unchanged), so the mixing loop needs no remainder cases.
TERMS_BLOCK = 8
OUTPUTS_BLOCK = 4
# Cells mixed per pass of the accumulators (they stay in L1).
MIX_TILE = 512
# Cells perceived and mixed together (their float64 perception stays in L2).
GROUP_CELLS = 1024
# Bytes of state per block of samples handed to one thread.
BLOCK_BYTES = 2**19


@njit(cache=True, nogil=True, inline="always")
def _mix_kernel(p, w, m, n):
    """``m[o, :n] = sum_k w[o, k] * p[k, :n]`` in float64, ``k`` increasing from ``+0.0``.

    ``w`` is ``(O, K)`` with ``O`` a multiple of 4 and ``K`` of 8. Four
    outputs share each pass over eight perceived planes.
    """
    k_in = p.shape[0]
    outs = w.shape[0]
    for t0 in range(0, n, MIX_TILE):
        t1 = min(n, t0 + MIX_TILE)
        size = t1 - t0
        for o in range(0, outs, 4):
            a0 = m[o, t0:t1]
            a1 = m[o + 1, t0:t1]
            a2 = m[o + 2, t0:t1]
            a3 = m[o + 3, t0:t1]
            for t in range(size):
                a0[t] = 0.0
                a1[t] = 0.0
                a2[t] = 0.0
                a3[t] = 0.0
            for k in range(0, k_in, 8):
                p0 = p[k, t0:t1]
                p1 = p[k + 1, t0:t1]
                p2 = p[k + 2, t0:t1]
                p3 = p[k + 3, t0:t1]
                p4 = p[k + 4, t0:t1]
                p5 = p[k + 5, t0:t1]
                p6 = p[k + 6, t0:t1]
                p7 = p[k + 7, t0:t1]
                w00, w01, w02, w03 = w[o, k], w[o, k + 1], w[o, k + 2], w[o, k + 3]
                w04, w05, w06, w07 = w[o, k + 4], w[o, k + 5], w[o, k + 6], w[o, k + 7]
                w10, w11, w12, w13 = w[o + 1, k], w[o + 1, k + 1], w[o + 1, k + 2], w[o + 1, k + 3]
                w14, w15, w16, w17 = w[o + 1, k + 4], w[o + 1, k + 5], w[o + 1, k + 6], w[o + 1, k + 7]
                w20, w21, w22, w23 = w[o + 2, k], w[o + 2, k + 1], w[o + 2, k + 2], w[o + 2, k + 3]
                w24, w25, w26, w27 = w[o + 2, k + 4], w[o + 2, k + 5], w[o + 2, k + 6], w[o + 2, k + 7]
                w30, w31, w32, w33 = w[o + 3, k], w[o + 3, k + 1], w[o + 3, k + 2], w[o + 3, k + 3]
                w34, w35, w36, w37 = w[o + 3, k + 4], w[o + 3, k + 5], w[o + 3, k + 6], w[o + 3, k + 7]
                for t in range(size):
                    y0, y1, y2, y3 = p0[t], p1[t], p2[t], p3[t]
                    y4, y5, y6, y7 = p4[t], p5[t], p6[t], p7[t]
                    v = a0[t]
                    v += w00 * y0
                    v += w01 * y1
                    v += w02 * y2
                    v += w03 * y3
                    v += w04 * y4
                    v += w05 * y5
                    v += w06 * y6
                    v += w07 * y7
                    a0[t] = v
                    v = a1[t]
                    v += w10 * y0
                    v += w11 * y1
                    v += w12 * y2
                    v += w13 * y3
                    v += w14 * y4
                    v += w15 * y5
                    v += w16 * y6
                    v += w17 * y7
                    a1[t] = v
                    v = a2[t]
                    v += w20 * y0
                    v += w21 * y1
                    v += w22 * y2
                    v += w23 * y3
                    v += w24 * y4
                    v += w25 * y5
                    v += w26 * y6
                    v += w27 * y7
                    a2[t] = v
                    v = a3[t]
                    v += w30 * y0
                    v += w31 * y1
                    v += w32 * y2
                    v += w33 * y3
                    v += w34 * y4
                    v += w35 * y5
                    v += w36 * y6
                    v += w37 * y7
                    a3[t] = v


# Two compiled copies: with multiply-add contraction for float32 states (their
# products are exact in float64, so a fused multiply-add rounds exactly like the
# definition's product-then-add) and without it for float64 states. They are
# separate functions because numba's on-disk cache tells functions apart by
# name and signature, not by fastmath flags.
@njit(cache=True, nogil=True, fastmath={"contract"})
def _mix_fma(p, w, m, n):
    _mix_kernel(p, w, m, n)


@njit(cache=True, nogil=True)
def _mix_plain(p, w, m, n):
    _mix_kernel(p, w, m, n)


@njit(cache=True, nogil=True, inline="always")
def _products_kernel(vals, cells, channels, acc):
    """``acc[a, b] = sum_t vals[t, a] * vals[t, b]`` for ``a <= b``, as ``block_products`` sums them.

    float64 from ``+0.0``, the block's cells ``t`` in row-major order. Row
    ``a`` runs from the multiple of 4 at or below its diagonal (the extra
    columns are never written out) over contiguous columns, which
    vectorises; eight cells are added per pass, so a row is loaded and
    stored once per eight cells.
    """
    width = acc.shape[1]
    for a in range(channels):
        for b in range(width):
            acc[a, b] = 0.0
    full = cells - cells % 8
    for t in range(0, full, 8):
        v0, v1, v2, v3 = vals[t], vals[t + 1], vals[t + 2], vals[t + 3]
        v4, v5, v6, v7 = vals[t + 4], vals[t + 5], vals[t + 6], vals[t + 7]
        for a in range(channels):
            x0, x1, x2, x3 = v0[a], v1[a], v2[a], v3[a]
            x4, x5, x6, x7 = v4[a], v5[a], v6[a], v7[a]
            lo = a - a % 4
            r = acc[a, lo:]
            u0, u1, u2, u3 = v0[lo:], v1[lo:], v2[lo:], v3[lo:]
            u4, u5, u6, u7 = v4[lo:], v5[lo:], v6[lo:], v7[lo:]
            for b in range(width - lo):
                q = r[b]
                q += x0 * u0[b]
                q += x1 * u1[b]
                q += x2 * u2[b]
                q += x3 * u3[b]
                q += x4 * u4[b]
                q += x5 * u5[b]
                q += x6 * u6[b]
                q += x7 * u7[b]
                r[b] = q
    for t in range(full, cells):
        v0 = vals[t]
        for a in range(channels):
            x0 = v0[a]
            lo = a - a % 4
            r = acc[a, lo:]
            u0 = v0[lo:]
            for b in range(width - lo):
                r[b] += x0 * u0[b]


# With and without contraction, as for the mixing.
@njit(cache=True, nogil=True, fastmath={"contract"})
def _products_fma(vals, cells, channels, acc):
    _products_kernel(vals, cells, channels, acc)


@njit(cache=True, nogil=True)
def _products_plain(vals, cells, channels, acc):
    _products_kernel(vals, cells, channels, acc)


@njit(cache=True, nogil=True, inline="always")
def _products8_kernel(vals, cells, sums):
    """The 36 upper-triangle sums of :func:`_products_kernel` for (up to) 8 channels, in row-major pair order.

    Same terms, same order; the accumulators are scalars that stay in
    registers, since rows of at most 8 channels are too short to vectorise.
    """
    s00 = s01 = s02 = s03 = s04 = s05 = s06 = s07 = s11 = 0.0
    s12 = s13 = s14 = s15 = s16 = s17 = s22 = s23 = s24 = 0.0
    s25 = s26 = s27 = s33 = s34 = s35 = s36 = s37 = s44 = 0.0
    s45 = s46 = s47 = s55 = s56 = s57 = s66 = s67 = s77 = 0.0
    for t in range(cells):
        x0, x1, x2, x3, x4, x5, x6, x7 = vals[t, 0], vals[t, 1], vals[t, 2], vals[t, 3], vals[t, 4], vals[t, 5], \
            vals[t, 6], vals[t, 7]
        s00 += x0 * x0
        s01 += x0 * x1
        s02 += x0 * x2
        s03 += x0 * x3
        s04 += x0 * x4
        s05 += x0 * x5
        s06 += x0 * x6
        s07 += x0 * x7
        s11 += x1 * x1
        s12 += x1 * x2
        s13 += x1 * x3
        s14 += x1 * x4
        s15 += x1 * x5
        s16 += x1 * x6
        s17 += x1 * x7
        s22 += x2 * x2
        s23 += x2 * x3
        s24 += x2 * x4
        s25 += x2 * x5
        s26 += x2 * x6
        s27 += x2 * x7
        s33 += x3 * x3
        s34 += x3 * x4
        s35 += x3 * x5
        s36 += x3 * x6
        s37 += x3 * x7
        s44 += x4 * x4
        s45 += x4 * x5
        s46 += x4 * x6
        s47 += x4 * x7
        s55 += x5 * x5
        s56 += x5 * x6
        s57 += x5 * x7
        s66 += x6 * x6
        s67 += x6 * x7
        s77 += x7 * x7
    sums[0], sums[1], sums[2], sums[3], sums[4], sums[5] = s00, s01, s02, s03, s04, s05
    sums[6], sums[7], sums[8], sums[9], sums[10], sums[11] = s06, s07, s11, s12, s13, s14
    sums[12], sums[13], sums[14], sums[15], sums[16], sums[17] = s15, s16, s17, s22, s23, s24
    sums[18], sums[19], sums[20], sums[21], sums[22], sums[23] = s25, s26, s27, s33, s34, s35
    sums[24], sums[25], sums[26], sums[27], sums[28], sums[29] = s36, s37, s44, s45, s46, s47
    sums[30], sums[31], sums[32], sums[33], sums[34], sums[35] = s55, s56, s57, s66, s67, s77


@njit(cache=True, nogil=True, fastmath={"contract"})
def _products8_fma(vals, cells, sums):
    _products8_kernel(vals, cells, sums)


@njit(cache=True, nogil=True)
def _products8_plain(vals, cells, sums):
    _products8_kernel(vals, cells, sums)


@njit(cache=True, nogil=True, inline="always")
def _map(v, code, zero):
    """Pointwise feature map ``code`` of one state value, rounded as numpy rounds it."""
    if code == 1:
        return v * v
    if code == 2:
        return abs(v)
    if code == 3:
        # numpy.maximum(v, 0): +0.0 for either zero, NaN kept.
        return v if v > zero or v != v else zero
    return v


@njit(cache=True, nogil=True)
def _record(s, i, h, w, consts, codes, pools, offsets, scales, scales64, exact, vals, acc, sums, total, cast,
            row, base):
    """Every feature map of sample ``i``'s state into ``row`` from ``base`` (one recorded step).

    Values are rounded to the state's dtype (``cast`` is a one-element array
    of it), as the numpy path's features are, then stored in ``row``'s dtype.
    """
    channels = s.shape[1]
    w2 = w + 2
    zero = consts[ZERO]
    for m in range(codes.shape[0]):
        code, p = codes[m], pools[m]
        hp, wp = h // p, w // p
        start = base + offsets[m]
        if code == PRODUCTS:
            scale = scales64[m]
            for by in range(hp):
                for bx in range(wp):
                    # The block's cells in row-major order, as rows of channel values (exact in float64).
                    for a in range(p):
                        at = (1 + by * p + a) * w2 + 1 + bx * p
                        for b in range(p):
                            cell = vals[a * p + b]
                            for c in range(channels):
                                cell[c] = s[i, c, at + b]
                    if channels <= 8:
                        if exact:
                            _products8_fma(vals, p * p, sums)
                        else:
                            _products8_plain(vals, p * p, sums)
                    elif exact:
                        _products_fma(vals, p * p, channels, acc)
                    else:
                        _products_plain(vals, p * p, channels, acc)
                    q = 0
                    for a in range(channels):
                        for b in range(a, channels):
                            if channels <= 8:
                                # Pair (a, b) of 8 channels in row-major upper-triangle order.
                                cast[0] = sums[a * 8 - a * (a - 1) // 2 + b - a] * scale
                            else:
                                cast[0] = acc[a, b] * scale
                            row[start + (q * hp + by) * wp + bx] = cast[0]
                            q += 1
            continue
        if p == 1:
            # avg_pool returns an unpooled map as it is.
            for c in range(channels):
                plane = s[i, c]
                at = start + c * h * w
                for y in range(h):
                    for x in range(w):
                        row[at + y * w + x] = _map(plane[(1 + y) * w2 + 1 + x], code, zero)
            continue
        # avg_pool: the block's first cell, then the others row by row, in the state's dtype. The
        # channels' sums advance side by side, so no sum waits on the previous addition.
        scale = scales[m]
        for by in range(hp):
            for bx in range(wp):
                corner = (1 + by * p) * w2 + 1 + bx * p
                for c in range(channels):
                    total[c] = _map(s[i, c, corner], code, zero)
                for a in range(p):
                    for b in range(p):
                        if a != 0 or b != 0:
                            cell = corner + a * w2 + b
                            for c in range(channels):
                                total[c] = total[c] + _map(s[i, c, cell], code, zero)
                for c in range(channels):
                    row[start + (c * hp + by) * wp + bx] = total[c] * scale


@njit(cache=True, nogil=True, inline="always")
def _layout(h, w):
    """A flat plane with a one-cell border: row length, first grid cell, a loop length covering every grid cell."""
    w2 = w + 2
    return w2, w2 + 1, h * w2 - 2


@njit(cache=True, nogil=True, inline="always")
def _bordered(s, i, c, h, w2, mode):
    """Channel ``c`` of sample ``i`` as a flat plane, its border filled for the boundary ``mode``."""
    plane = s[i, c]
    fill_halo(plane.reshape((h + 2, w2)), mode)
    return plane


@njit(cache=True, nogil=True)
def _perceive(s, i, h, w, consts, mode, sr, sc, perceived, col):
    """Sample ``i``'s identity, Sobel-x, Sobel-y and Laplacian planes as float64 rows of ``perceived`` from ``col``.

    Each value is computed in the state's dtype exactly as
    :func:`pixelflow.stencils.perceive` computes it. Planes are flat with a
    one-cell border, so every stencil is a fixed shift of one long loop; the
    border columns inside the loop range give values nobody reads.
    """
    channels = s.shape[1]
    two, sixteen, eighth, quarter = consts[TWO], consts[SIXTEEN], consts[EIGHTH], consts[QUARTER]
    w2, first, size = _layout(h, w)
    for c in range(channels):
        plane = _bordered(s, i, c, h, w2, mode)
        # Sums along columns (smooth_rows), centred on cells first - 1 .. first + size.
        up, mid, down = plane[0:], plane[w2:], plane[2 * w2 :]
        for j in range(size + 2):
            sr[j] = (up[j] + two * mid[j]) + down[j]
        # Sums along rows (smooth_cols), centred on cells first - w2 .. first + size + w2 - 1.
        left, cen, right = plane[0:], plane[1:], plane[2:]
        for j in range(size + 2 * w2):
            sc[j] = (left[j] + two * cen[j]) + right[j]
        me = plane[first:]
        q = perceived[c, col : col + size]
        for j in range(size):
            q[j] = me[j]
        q = perceived[channels + c, col : col + size]
        sr2 = sr[2:]
        for j in range(size):
            q[j] = (sr2[j] - sr[j]) * eighth
        q = perceived[2 * channels + c, col : col + size]
        sc2 = sc[2 * w2 :]
        for j in range(size):
            q[j] = (sc2[j] - sc[j]) * eighth
        q = perceived[3 * channels + c, col : col + size]
        sr1 = sr[1:]
        for j in range(size):
            q[j] = (((sr[j] + two * sr1[j]) + sr2[j]) - sixteen * me[j]) * quarter


@njit(cache=True, nogil=True)
def _neighbours(s, i, h, w, mode, perceived, col):
    """Sample ``i``'s 3×3 neighbourhood planes as float64 rows of ``perceived`` from ``col``.

    Row ``k * C + c`` holds channel ``c`` shifted by ``(dy, dx)`` with
    ``k = 3 (dy + 1) + (dx + 1)``, the layout of
    :func:`pixelflow.stencils.neighbourhood`; copies are exact, so nothing
    here can round differently from the numpy path.
    """
    channels = s.shape[1]
    w2, first, size = _layout(h, w)
    for c in range(channels):
        plane = _bordered(s, i, c, h, w2, mode)
        for k in range(9):
            src = plane[first + (k // 3 - 1) * w2 + (k % 3 - 1):]
            q = perceived[k * channels + c, col : col + size]
            for j in range(size):
                q[j] = src[j]


@njit(cache=True, nogil=True)
def _advance(s, z, injected, inject, t, last, h, w, consts, bias, weights, exact, mode, neighbours, group,
             record, codes, pools, offsets, scales, scales64, rows, base,
             sr, sc, perceived, mixed, vals, acc, sums, total, cast):
    """Step ``t`` of a block: the update from ``tanh(z)`` (t > 0), the recording, and the next ``z`` (t < last).

    ``s``, ``z`` and ``injected`` are ``(n, C, (h + 2) * (w + 2))``: flat
    planes with a one-cell border. ``z`` holds ``tanh`` of the previous
    pre-activation on entry (numpy's ufunc, applied by the caller) and the
    next pre-activation on exit.
    """
    n, channels = s.shape[0], s.shape[1]
    _, first, size = _layout(h, w)
    keep, leak, gain, zero = consts[KEEP], consts[LEAK], consts[GAIN], consts[ZERO]
    if t > 0:
        for i in range(n):
            for c in range(channels):
                sv = s[i, c, first : first + size]
                zv = z[i, c, first : first + size]
                for j in range(size):
                    sv[j] = keep * sv[j] + leak * zv[j]
    if record[t]:
        for i in range(n):
            _record(s, i, h, w, consts, codes, pools, offsets, scales, scales64, exact, vals, acc, sums, total,
                    cast, rows[i], base)
    if t >= last:
        return
    for g0 in range(0, n, group):
        g1 = min(n, g0 + group)
        if t > 0:
            for i in range(g0, g1):
                if neighbours:
                    _neighbours(s, i, h, w, mode, perceived, (i - g0) * size)
                else:
                    _perceive(s, i, h, w, consts, mode, sr, sc, perceived, (i - g0) * size)
            if exact:
                _mix_fma(perceived, weights, mixed, (g1 - g0) * size)
            else:
                _mix_plain(perceived, weights, mixed, (g1 - g0) * size)
        for i in range(g0, g1):
            col = (i - g0) * size
            for c in range(channels):
                zv = z[i, c, first : first + size]
                if t > 0:
                    # Rounded once to the state's dtype, as mix_channels returns it.
                    mv = mixed[c, col : col + size]
                    for j in range(size):
                        zv[j] = mv[j]
                else:
                    # The empty state: every perceived value and every sum is +0.0.
                    for j in range(size):
                        zv[j] = zero
                b = bias[c]
                for j in range(size):
                    zv[j] = gain * zv[j] + b
                if inject:
                    iv = injected[i, c, first : first + size]
                    for j in range(size):
                        zv[j] = zv[j] + iv[j]


class _Plan:
    """What every block of one call shares: constants, padded weights, recording layout, scratch sizes."""

    def __init__(self, drive, ctx, recording):
        p, wts, grid = ctx.params, ctx.weights, ctx.grid
        dtype = drive.dtype
        self.dtype = dtype
        self.channels, self.height, self.width = grid.channels, grid.height, grid.width
        c = self.channels
        # numpy turns each Python scalar into the state's dtype before the operation; so do these.
        self.consts = np.array([p.gain, 1.0 - p.leak, p.leak, 2, 16, 1 / 8, 0.25, 0], dtype=dtype)
        self.bias = np.ascontiguousarray(np.asarray(wts["bias"], dtype=dtype).reshape(c))
        outs = -(-c // OUTPUTS_BLOCK) * OUTPUTS_BLOCK
        # perception="random" mixes the 9 C neighbourhood planes, the Sobel perception 4 C planes.
        self.neighbours = p.perception == "random"
        taps = 9 if self.neighbours else 4
        terms = -(-taps * c // TERMS_BLOCK) * TERMS_BLOCK
        self.weights = np.zeros((outs, terms), dtype=np.float64)
        self.weights[:c, : taps * c] = np.asarray(wts["mix"], dtype=dtype)
        self.inject_weights = wts["inject"]
        self.input_scale = p.input_scale
        self.mode = MODES[p.boundary]
        self.exact = dtype == np.float32
        self.record = recorded_mask(recording.steps)
        self.codes = np.asarray([MAP_CODES.get(name, PRODUCTS) for name, _ in recording.maps], dtype=np.int64)
        self.pools = recording.pools
        self.offsets = recording.offsets(c, self.height, self.width)
        # avg_pool multiplies by the Python float 1 / (p * p) (in the state's dtype), block_products in float64.
        self.scales = np.array([1.0 / (q * q) for q in self.pools.tolist()], dtype=dtype)
        self.scales64 = np.array([1.0 / (q * q) for q in self.pools.tolist()], dtype=np.float64)
        size = self.height * (self.width + 2) - 2
        self.group = max(1, GROUP_CELLS // size)
        self.block = max(1, BLOCK_BYTES // (c * self.height * self.width * dtype.itemsize))

    def evolve(self, drive, rows) -> None:
        """All recorded features of the samples ``drive`` (a block) into ``rows``."""
        n = len(drive)
        c, h, w = self.channels, self.height, self.width
        flat = (n, c, (h + 2) * (w + 2))
        s = np.zeros(flat, dtype=self.dtype)
        z = np.zeros(flat, dtype=self.dtype)
        inject = bool(self.input_scale)
        injected = np.zeros(flat, dtype=self.dtype) if inject else s
        if inject:
            # The rule's own expression; the drive is the same at every step, so it is formed once.
            injected.reshape(n, c, h + 2, w + 2)[:, :, 1 : h + 1, 1 : w + 1] = (
                self.input_scale * mix_channels(self.inject_weights, drive, np))
        group = min(self.group, n)
        size = h * (w + 2) - 2
        sr = np.empty(size + 2, dtype=self.dtype)
        sc = np.empty(size + 2 * (w + 2), dtype=self.dtype)
        perceived = np.zeros((self.weights.shape[1], group * size), dtype=np.float64)
        mixed = np.empty((self.weights.shape[0], group * size), dtype=np.float64)
        # Channel rows padded with zeros to 8 or a multiple of 4 (products of zeros, never written out).
        width = 8 if c <= 8 else -(-c // 4) * 4
        vals = np.zeros((int(self.pools.max()) ** 2, width), dtype=np.float64)
        acc = np.empty((c, width), dtype=np.float64)
        sums = np.empty(36, dtype=np.float64)
        total = np.empty(c, dtype=self.dtype)
        cast = np.empty(1, dtype=self.dtype)
        last = len(self.record) - 1
        slot = 0
        for t in range(last + 1):
            _advance(s, z, injected, inject, t, last, h, w, self.consts, self.bias, self.weights, self.exact,
                     self.mode, self.neighbours, group, self.record, self.codes, self.pools, self.offsets, self.scales,
                     self.scales64,
                     rows, slot * int(self.offsets[-1]), sr, sc, perceived, mixed, vals, acc, sums, total, cast)
            slot += int(self.record[t])
            if t < last:
                np.tanh(z, out=z)


def _reference(drive, ctx, recording, out) -> None:
    """The numpy path (rule function and Recording.features), for drives it does not cover."""
    dtype = ctx.weights["mix"].dtype
    state = init(drive, ctx).astype(dtype, copy=False)
    rows = [recording.features(state, np)] if 0 in recording.steps else []
    for t in range(1, max(recording.steps) + 1):
        state = random_nca(state, ctx).astype(dtype, copy=False)
        if t in recording.steps:
            rows.append(recording.features(state, np))
    out[...] = np.concatenate(rows, axis=1)


def run(drive, ctx, recording, out):
    """Evolve ``drive`` (N, C_in, H, W) under ``random_nca``; write the recorded features into ``out``.

    Blocks of samples run on numba's thread count of threads (the kernels and
    numpy's ``tanh`` release the GIL). The features are the numpy path's bit
    for bit: each is formed in the state's dtype, as
    :meth:`pixelflow.recording.Recording.features` forms it, and stored in
    ``out``'s dtype (float32 for a reservoir; a float64 ``out`` keeps a
    float64 state's features unrounded).
    """
    if drive.dtype != ctx.weights["mix"].dtype or drive.dtype not in (np.float32, np.float64):
        _reference(drive, ctx, recording, out)
        return
    drive = np.ascontiguousarray(drive)
    plan = _Plan(drive, ctx, recording)
    n = len(drive)
    threads = numba.get_num_threads()
    block = max(1, min(plan.block, -(-n // threads)))
    starts = range(0, n, block)
    if threads == 1 or len(starts) == 1:
        for a in starts:
            plan.evolve(drive[a : a + block], out[a : a + block])
        return
    with ThreadPoolExecutor(min(threads, len(starts))) as workers:
        for done in [workers.submit(plan.evolve, drive[a : a + block], out[a : a + block]) for a in starts]:
            done.result()
