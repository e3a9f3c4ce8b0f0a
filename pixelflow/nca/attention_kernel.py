"""Compiled forward and backward of 3×3 neighbourhood attention, the core of
:class:`pixelflow.nca.perceive.NeighbourhoodAttention`.

Per cell and head: scores over the 9 neighbour offsets
``s_o = q · (k_o + pk_o) / sqrt(d)``, weights ``a = softmax(s)``, output
``Σ_o a_o (v_o + pv_o)``, where ``k_o`` and ``v_o`` are the key and value of
the neighbour at offset ``o`` on the torus and ``pk``, ``pv`` the learned
offset embeddings. :func:`pixelflow.nca.perceive.attend` computes the same in
tensor operations from circularly padded keys and values, and is the
reference these kernels are tested against. There each offset costs several
passes over state-sized temporaries, and autograd zero-fills a padded gradient
per offset; here the loops run along rows of cells with no temporaries beyond
one sample's scores.

The kernels take the keys and values unpadded and wrap round the torus
themselves, so the autograd graph holds no padded copies: no slice copies for
the padding forward, no zero-filled padded gradients and no fold of their
borders backward. One sample and head at a time is copied with a one-cell
toroidal border into a scratch buffer (d × (H + 2) × (W + 2), it stays in
cache) and its rows read as shifted slices, so the forward does the same
operations in the same order as on a padded tensor (the values of the earlier
kernels that took padded copies, bit for bit); the backward accumulates the
key and value gradients in padded scratch buffers and folds their borders
back onto the grid. Wrapping the indices in the loops instead (a row's
wrapped cell on its own) was slower: forward and backward kernels 5.9 ms
against 5.6 ms (8 MNIST-sized states, 4 heads of 8, measured). The scratch
buffers are passed to the loops as arguments: allocated in the function that
runs the loops, the backward took 3.7 ms against 3.3 ms (measured).

Forward and backward of 8 MNIST-sized states with 4 heads of 8, through
autograd with the splitting of the query, key and value projection, took
7.0-8.6 ms (median 7.2 ms) against 9.3-9.9 ms (median 9.7 ms) when the kernels
took padded copies, and 21.8-23.3 ms for the reference (one thread, measured);
30 training iterations of ``attention_nca(16, heads=4, head_dim=8, hidden=96)``
on 8 MNIST states (16-32 steps each) took 14.8 s against 16.2 s as whole
processes, start-up included (medians of 5, measured).

The kernels run on one thread, as the neural-CA loops do
(:mod:`pixelflow.threads`), and every sum runs in a fixed order. A
parallel loop over samples and heads was faster in a process alone, but two
such processes side by side (as the notebooks run their models) each took
40x longer per step: their thread pools spin against each other (measured).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["backward", "forward"]


@njit(cache=True, nogil=True)
def _pad(src, dst):
    """Fill ``dst`` (d, H + 2, W + 2) with ``src`` (d, H, W) and a one-cell toroidal border.

    The values of ``circular_pad`` (:func:`pixelflow.nca.perceive.circular_pad`) of one sample and head.
    """
    d, h, w = src.shape
    for j in range(d):
        for y in range(h + 2):
            row, s = dst[j, y], src[j, h - 1 if y == 0 else (0 if y == h + 1 else y - 1)]
            row[0] = s[w - 1]
            for x in range(w):
                row[x + 1] = s[x]
            row[w + 1] = s[0]


@njit(cache=True, nogil=True)
def _fold(src, dst):
    """Overwrite ``dst`` (d, H, W) with the adjoint of :func:`_pad` applied to ``src`` (d, H + 2, W + 2).

    Each border cell's gradient is added to the cell it copies, in a fixed
    order: the inner cell, its copies in the border columns, then those in
    the border rows (corners last).
    """
    d, h, w = dst.shape
    for j in range(d):
        for y in range(h):
            row, s = dst[j, y], src[j, y + 1]
            for x in range(w):
                row[x] = s[x + 1]
            row[w - 1] += s[0]
            row[0] += s[w + 1]
        for y, target in ((0, h - 1), (h + 1, 0)):
            row, s = dst[j, target], src[j, y]
            for x in range(w):
                row[x] += s[x + 1]
            row[w - 1] += s[0]
            row[0] += s[w + 1]


@njit(cache=True, nogil=True)
def forward(q, k, v, pos_k, pos_v, dy, dx, out, weights):
    """Fill the attention output and weights of every cell over its 9 neighbours on the torus.

    Parameters
    ----------
    q, k, v : ndarray (N, heads, d, H, W)
        Queries, keys and values, C-contiguous and unpadded: the neighbour
        at offset ``(dy, dx)`` of cell ``(y, x)`` is ``((y + dy) mod H, (x + dx) mod W)``.
    pos_k, pos_v : ndarray (heads, d, 9)
        Offset embeddings of keys and values.
    dy, dx : ndarray (9,) of int64
        The offsets, each in -1..1.
    out : ndarray (N, heads, d, H, W)
        Overwritten with ``Σ_o a_o (v_o + pos_v_o)``.
    weights : ndarray (N, heads, 9, H, W)
        Overwritten with the softmax weights ``a``.
    """
    n, heads, d, h, w = q.shape
    pad = (d, h + 2, w + 2)
    _forward(q, k, v, pos_k, pos_v, dy, dx, out, weights, np.empty(pad, q.dtype), np.empty(pad, q.dtype))


@njit(cache=True, nogil=True)
def _forward(q, k, v, pos_k, pos_v, dy, dx, out, weights, kp, vp):
    n, heads, d, h, w = q.shape
    scale = q.dtype.type(1.0 / math.sqrt(d))
    # Rows of cells innermost (contiguous, so the loops vectorise); every sum in a fixed order.
    for job in range(n * heads):
        i, hd = job // heads, job % heads
        _pad(k[i, hd], kp)
        _pad(v[i, hd], vp)
        a = weights[i, hd]
        a[:] = 0
        for o in range(9):
            for j in range(d):
                pk = pos_k[hd, j, o]
                for y in range(h):
                    row, qrow, krow = a[o, y], q[i, hd, j, y], kp[j, y + 1 + dy[o], 1 + dx[o]:]
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
                    row, arow, vrow = res[j, y], a[o, y], vp[j, y + 1 + dy[o], 1 + dx[o]:]
                    for x in range(w):
                        row[x] += arow[x] * (vrow[x] + pv)


@njit(cache=True, nogil=True)
def backward(grad, q, k, v, pos_k, pos_v, weights, dy, dx, grad_q, grad_k, grad_v, part_pos_k, part_pos_v):
    """Gradients of :func:`forward` for the output gradient ``grad``.

    Parameters
    ----------
    grad : ndarray (N, heads, d, H, W)
        Gradient of the loss with respect to ``out``.
    q, k, v, pos_k, pos_v, dy, dx
        The inputs of :func:`forward` (``k``, ``v`` unpadded).
    weights : ndarray (N, heads, 9, H, W)
        The weights :func:`forward` gave.
    grad_q, grad_k, grad_v : ndarray (N, heads, d, H, W)
        Overwritten with the gradients with respect to ``q``, ``k`` and ``v``
        (those of ``k`` and ``v`` already folded off the torus border).
    part_pos_k, part_pos_v : ndarray (N, heads, d, 9)
        Overwritten with each sample's share of the embedding gradients (the
        caller sums them over samples).
    """
    n, heads, d, h, w = q.shape
    pad = (d, h + 2, w + 2)
    _backward(grad, q, k, v, pos_k, pos_v, weights, dy, dx, grad_q, grad_k, grad_v, part_pos_k, part_pos_v,
              np.empty(pad, q.dtype), np.empty(pad, q.dtype), np.empty(pad, q.dtype), np.empty(pad, q.dtype),
              np.empty((9, h, w), q.dtype), np.empty(w, q.dtype))


@njit(cache=True, nogil=True)
def _backward(grad, q, k, v, pos_k, pos_v, weights, dy, dx, grad_q, grad_k, grad_v, part_pos_k, part_pos_v,
              kp, vp, grad_kp, grad_vp, ga, acc):
    n, heads, d, h, w = q.shape
    scale = q.dtype.type(1.0 / math.sqrt(d))
    for job in range(n * heads):
        i, hd = job // heads, job % heads
        _pad(k[i, hd], kp)
        _pad(v[i, hd], vp)
        grad_kp[:] = 0
        grad_vp[:] = 0
        a = weights[i, hd]
        g = grad[i, hd]
        # ga[o]: gradient of weight o; then, in place, of score o. The embedding
        # gradients sum over rows into `acc` (a row of partial sums: the loops stay vectorisable).
        ga[:] = 0
        for o in range(9):
            for j in range(d):
                pv = pos_v[hd, j, o]
                acc[:] = 0
                for y in range(h):
                    garow, arow, grow = ga[o, y], a[o, y], g[j, y]
                    vrow = vp[j, y + 1 + dy[o], 1 + dx[o]:]
                    gvrow = grad_vp[j, y + 1 + dy[o], 1 + dx[o]:]
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
                    krow = kp[j, y + 1 + dy[o], 1 + dx[o]:]
                    gkrow = grad_kp[j, y + 1 + dy[o], 1 + dx[o]:]
                    for x in range(w):
                        gs = gsrow[x]
                        gqrow[x] += gs * (krow[x] + pk)
                        sq = gs * qrow[x]
                        gkrow[x] += sq
                        acc[x] += sq
                part_pos_k[i, hd, j, o] = acc.sum()
        _fold(grad_kp, grad_k[i, hd])
        _fold(grad_vp, grad_v[i, hd])
