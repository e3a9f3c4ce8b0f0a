"""Compiled forward and backward of 3×3 neighbourhood attention, the core of
:class:`pixelflow.nca.perceive.NeighbourhoodAttention`.

Per cell and head: scores over the 9 neighbour offsets
``s_o = q · (k_o + pk_o) / sqrt(d)``, weights ``a = softmax(s)``, output
``Σ_o a_o (v_o + pv_o)``, where ``k_o`` and ``v_o`` are the key and value of
the neighbour at offset ``o`` (read from one circularly padded copy) and
``pk``, ``pv`` the learned offset embeddings. :func:`pixelflow.nca.perceive.attend`
computes the same in tensor operations and is the reference these kernels
are tested against. There each offset costs several passes over state-sized
temporaries, and autograd zero-fills a padded gradient per offset; here the
loops run along rows of cells with no temporaries beyond one sample's
scores: forward and backward of 8 MNIST-sized states with 4 heads of 8 took
9.2-9.8 ms against 22.2-23.2 ms for the reference (one thread, measured side
by side); a training step of the attention NCA took 1.5x less time.

The kernels run on one thread, as the neural-CA loops do
(:mod:`pixelflow.nca.threads`), and every sum runs in a fixed order. A
parallel loop over samples and heads was faster in a process alone, but two
such processes side by side (as the notebooks run their models) each took
40x longer per step: their thread pools spin against each other (measured).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def forward(q, kp, vp, pos_k, pos_v, dy, dx, out, weights):
    """Fill ``out`` (N, heads, d, H, W) and ``weights`` (N, heads, 9, H, W).

    ``q`` (N, heads, d, H, W); ``kp``, ``vp`` (N, heads, d, H + 2, W + 2),
    padded by one cell; ``pos_k``, ``pos_v`` (heads, d, 9); ``dy``, ``dx``
    the 9 offsets (int64, each in -1..1).
    """
    n, heads, d, h, w = q.shape
    scale = q.dtype.type(1.0 / math.sqrt(d))
    # Rows of cells innermost (contiguous, so the loops vectorise); every sum in a fixed order.
    for job in range(n * heads):
        i, hd = job // heads, job % heads
        a = weights[i, hd]
        a[:] = 0
        for o in range(9):
            for j in range(d):
                pk = pos_k[hd, j, o]
                for y in range(h):
                    row, qrow, krow = a[o, y], q[i, hd, j, y], kp[i, hd, j, y + 1 + dy[o], 1 + dx[o]:]
                    for x in range(w):
                        row[x] += qrow[x] * (krow[x] + pk)
        for y in range(h):
            for x in range(w):
                top = a[0, y, x]
                for o in range(1, 9):
                    top = max(top, a[o, y, x])
                total = a.dtype.type(0.0)
                for o in range(9):
                    e = math.exp((a[o, y, x] - top) * scale)
                    a[o, y, x] = e
                    total += e
                for o in range(9):
                    a[o, y, x] /= total
        res = out[i, hd]
        res[:] = 0
        for o in range(9):
            for j in range(d):
                pv = pos_v[hd, j, o]
                for y in range(h):
                    row, arow, vrow = res[j, y], a[o, y], vp[i, hd, j, y + 1 + dy[o], 1 + dx[o]:]
                    for x in range(w):
                        row[x] += arow[x] * (vrow[x] + pv)


@njit(cache=True, nogil=True)
def backward(grad, q, kp, vp, pos_k, pos_v, weights, dy, dx, grad_q, grad_kp, grad_vp, part_pos_k, part_pos_v):
    """Gradients of :func:`forward` for the output gradient ``grad`` (N, heads, d, H, W).

    ``grad_q`` is overwritten; ``grad_kp``, ``grad_vp`` (padded, zero on entry)
    are accumulated into; ``part_pos_k``, ``part_pos_v`` (N, heads, d, 9)
    get each sample's share of the embedding gradients (summed over samples
    by the caller).
    """
    n, heads, d, h, w = q.shape
    scale = q.dtype.type(1.0 / math.sqrt(d))
    for job in range(n * heads):
        i, hd = job // heads, job % heads
        a = weights[i, hd]
        g = grad[i, hd]
        # ga[o]: gradient of weight o; then, in place, of score o. The embedding
        # gradients sum over rows into `acc` (a row of partial sums: the loops stay vectorisable).
        ga = np.zeros((9, h, w), dtype=q.dtype)
        acc = np.empty(w, dtype=q.dtype)
        for o in range(9):
            for j in range(d):
                pv = pos_v[hd, j, o]
                acc[:] = 0
                for y in range(h):
                    garow, arow, grow = ga[o, y], a[o, y], g[j, y]
                    vrow = vp[i, hd, j, y + 1 + dy[o], 1 + dx[o]:]
                    gvrow = grad_vp[i, hd, j, y + 1 + dy[o], 1 + dx[o]:]
                    for x in range(w):
                        garow[x] += grow[x] * (vrow[x] + pv)
                        ag = arow[x] * grow[x]
                        gvrow[x] += ag
                        acc[x] += ag
                part_pos_v[i, hd, j, o] = acc.sum()
        for y in range(h):
            for x in range(w):
                dot = a.dtype.type(0.0)
                for o in range(9):
                    dot += a[o, y, x] * ga[o, y, x]
                for o in range(9):
                    ga[o, y, x] = a[o, y, x] * (ga[o, y, x] - dot) * scale
        gq = grad_q[i, hd]
        gq[:] = 0
        for o in range(9):
            for j in range(d):
                pk = pos_k[hd, j, o]
                acc[:] = 0
                for y in range(h):
                    gsrow, gqrow, qrow = ga[o, y], gq[j, y], q[i, hd, j, y]
                    krow = kp[i, hd, j, y + 1 + dy[o], 1 + dx[o]:]
                    gkrow = grad_kp[i, hd, j, y + 1 + dy[o], 1 + dx[o]:]
                    for x in range(w):
                        gs = gsrow[x]
                        gqrow[x] += gs * (krow[x] + pk)
                        sq = gs * qrow[x]
                        gkrow[x] += sq
                        acc[x] += sq
                part_pos_k[i, hd, j, o] = acc.sum()
