"""Separable image resampling as fixed taps: nearest and area (box) filters.

A resize along one axis is a sparse ``(out, in)`` matrix; we store its rows as
``K`` (index, weight) taps and apply them as ``K`` gathers and multiply-adds.
Unlike a dense matrix product (whose BLAS blocking can depend on the batch
size) this gives every sample bit-identical results whatever the batch, and
it runs unchanged on numpy or cupy.
"""

from __future__ import annotations

import numpy as np

METHODS = ("area", "nearest")


def resize_matrix(n_in: int, n_out: int, method: str) -> np.ndarray:
    """Dense ``(n_out, n_in)`` resampling matrix whose rows sum to 1.

    ``nearest`` takes input ``floor(o * n_in / n_out)``; ``area`` averages
    the input cells overlapping output cell ``o``, weighted by the overlap.
    """
    if method not in METHODS:
        raise ValueError(f"unknown resize method {method!r}; valid: {', '.join(METHODS)}")
    m = np.zeros((n_out, n_in))
    if method == "nearest":
        m[np.arange(n_out), (np.arange(n_out) * n_in) // n_out] = 1.0
        return m
    scale = n_in / n_out
    for o in range(n_out):
        lo, hi = o * scale, (o + 1) * scale
        for i in range(int(np.floor(lo)), min(n_in, int(np.ceil(hi)))):
            m[o, i] = min(hi, i + 1) - max(lo, i)
    return m / m.sum(axis=1, keepdims=True)


def taps(n_in: int, n_out: int, method: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows of :func:`resize_matrix` as ``(K, n_out)`` index and weight arrays.

    The weights are None when every output copies one input (nearest, or
    equal sizes): then resampling is a bare gather.
    """
    m = resize_matrix(n_in, n_out, method)
    k = int((m > 0).sum(axis=1).max())
    idx = np.zeros((k, n_out), dtype=np.intp)
    wts = np.zeros((k, n_out))
    for o in range(n_out):
        nz = np.flatnonzero(m[o])
        idx[: len(nz), o] = nz
        wts[: len(nz), o] = m[o, nz]
    if k == 1 and np.all(wts == 1.0):
        return idx, None
    return idx, wts


def apply_taps(x, idx, wts, axis: int, xp):
    """Resample ``x`` along ``axis`` (-1 or -2) with precomputed taps."""
    if wts is None:
        return xp.take(x, idx[0], axis=axis)
    out = None
    for k in range(idx.shape[0]):
        gathered = xp.take(x, idx[k], axis=axis)
        w = wts[k] if axis == -1 else wts[k][:, None]
        term = gathered * w
        out = term if out is None else out + term
    return out
