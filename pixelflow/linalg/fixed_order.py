"""Products whose rounding does not depend on the batch: every sum in a fixed order.

A reservoir promises that a sample's features never depend on the other
samples in its batch or chunk. Matrix products from a BLAS do not keep that
promise: a BLAS may pick its kernel, its blocking and its summation order from
the matrix shapes, a row's position inside a block, the memory alignment or
the CPU it runs on (OpenBLAS's kernels for different cores, MKL and
Accelerate all differ), so the same row can round differently in another
batch. The three products on the feature path are therefore defined here,
sample by sample, with the order of every sum written down:

* every product of two inputs is formed exactly in float64 (two float32 or
  float64 factors; for float64 inputs it is rounded once, as usual),
* the products are added in float64 in increasing index order, starting
  from ``+0.0``,
* the sum is rounded once to the input dtype (for block means, after the
  multiplication by ``1 / (p * p)``).

Each function is written once against ``xp`` (numpy or cupy) as a loop over
the summed index; for numpy arrays a compiled kernel
(:mod:`pixelflow.linalg.kernels`) computes the same sums in the same
order, and the tests check that the two agree bit for bit. Nothing here
calls a BLAS, so the guarantee holds on every BLAS, thread count and CPU.
Float64 accumulation also makes the result the correctly rounded sum in
almost every case, so nothing is lost against a BLAS product.
"""

from __future__ import annotations

import numpy as np


def _compiled(xp):
    """The compiled kernels for host arrays, or None to run the ``xp`` loops."""
    if xp is not np:
        return None
    # Imported on first use: numba takes a second to import.
    from pixelflow.linalg import kernels

    return kernels


def _float(x, name: str):
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, got dtype {x.dtype}")


def matmul_rows(x, matrix, xp=np, compiled: bool = True):
    """``x @ matrix``, each row summed in a fixed order.

    Parameters
    ----------
    x : array, shape (N, K)
        float32 or float64.
    matrix : array, shape (K, D)
        Cast to the dtype of ``x``.
    xp : module
        numpy or cupy.
    compiled : bool
        Use the compiled kernel for numpy arrays (False runs the ``xp`` loop,
        which gives the same bits; for tests and other array modules).

    Returns
    -------
    array, shape (N, D), dtype of ``x``
        ``out[n, j] = sum_k x[n, k] * matrix[k, j]`` summed in float64 over
        increasing ``k``, so row ``n`` depends on ``x[n]`` alone.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.linalg.fixed_order import matmul_rows
    >>> x = np.arange(6, dtype=np.float32).reshape(2, 3)
    >>> m = np.ones((3, 2), dtype=np.float32)
    >>> matmul_rows(x, m)
    array([[ 3.,  3.],
           [12., 12.]], dtype=float32)
    """
    _float(x, "x")
    if x.ndim != 2 or matrix.ndim != 2 or x.shape[1] != matrix.shape[0]:
        raise ValueError(f"matmul_rows needs x (N, K) and matrix (K, D), got shapes {x.shape} and {matrix.shape}")
    matrix = matrix.astype(x.dtype, copy=False)
    kernels = _compiled(xp) if compiled else None
    if kernels is not None:
        return kernels.matmul_rows(np.ascontiguousarray(x), np.ascontiguousarray(matrix))
    acc = xp.zeros((x.shape[0], matrix.shape[1]), dtype=np.float64)
    x64, m64 = x.astype(np.float64), matrix.astype(np.float64)
    for k in range(x.shape[1]):
        acc += x64[:, k, None] * m64[k]
    return acc.astype(x.dtype)


def mix_channels(weights, x, xp=np, compiled: bool = True):
    """A 1×1 channel mixing ``weights @ x`` at every cell of every sample, in a fixed order.

    Parameters
    ----------
    weights : array, shape (C_out, K)
        Cast to the dtype of ``x``.
    x : array, shape (N, K, H, W)
        float32 or float64.
    xp : module
    compiled : bool
        See :func:`matmul_rows`.

    Returns
    -------
    array, shape (N, C_out, H, W), dtype of ``x``
        ``out[n, o, i, j] = sum_k weights[o, k] * x[n, k, i, j]`` summed in
        float64 over increasing ``k``.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.linalg.fixed_order import mix_channels
    >>> x = np.ones((1, 2, 2, 2), dtype=np.float32)
    >>> mix_channels(np.array([[1, 2], [3, -1]], dtype=np.float32), x)[0, :, 0, 0]
    array([3., 2.], dtype=float32)
    """
    _float(x, "x")
    if weights.ndim != 2 or x.ndim != 4 or weights.shape[1] != x.shape[1]:
        raise ValueError(f"mix_channels needs weights (C_out, K) and x (N, K, H, W), got shapes {weights.shape} "
                         f"and {x.shape}")
    weights = weights.astype(x.dtype, copy=False)
    n, k_in, h, w = x.shape
    kernels = _compiled(xp) if compiled else None
    if kernels is not None:
        out = kernels.mix_channels(np.ascontiguousarray(weights), np.ascontiguousarray(x).reshape(n, k_in, h * w))
        return out.reshape(n, weights.shape[0], h, w)
    acc = xp.zeros((n, weights.shape[0], h, w), dtype=np.float64)
    w64, x64 = weights.astype(np.float64), x.astype(np.float64)
    for k in range(k_in):
        acc += w64[None, :, k, None, None] * x64[:, None, k]
    return acc.astype(x.dtype)


def block_products(x, p: int, xp=np, compiled: bool = True):
    """Block means of ``x_i * x_j`` for every channel pair ``i <= j``, in a fixed order.

    Parameters
    ----------
    x : array, shape (N, C, H, W)
        float32 or float64; ``p`` divides ``H`` and ``W``.
    p : int
        Block size.
    xp : module
    compiled : bool
        See :func:`matmul_rows`.

    Returns
    -------
    array, shape (N, C (C + 1) / 2, H / p, W / p), dtype of ``x``
        Pairs in ``numpy.triu_indices(C)`` order. Within a block the cells
        are added row by row, in float64, and the sum is multiplied by
        ``1 / (p * p)`` before the one rounding.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.linalg.fixed_order import block_products
    >>> x = np.stack([np.full((2, 2), 2.0), np.full((2, 2), 3.0)])[None].astype(np.float32)
    >>> block_products(x, 2)[0, :, 0, 0]  # pairs (0, 0), (0, 1), (1, 1)
    array([4., 6., 9.], dtype=float32)
    """
    _float(x, "x")
    n, c, h, w = x.shape
    if p < 1 or h % p or w % p:
        raise ValueError(f"block size p={p} must be >= 1 and divide the grid {h}x{w}")
    kernels = _compiled(xp) if compiled else None
    if kernels is not None:
        return kernels.block_products(np.ascontiguousarray(x), int(p))
    iu, ju = np.triu_indices(c)
    x64 = x.astype(np.float64)
    acc = xp.zeros((n, len(iu), h // p, w // p), dtype=np.float64)
    for i in range(p):
        for j in range(p):
            cell = x64[:, :, i::p, j::p]
            acc += cell[:, iu] * cell[:, ju]
    return (acc * (1.0 / (p * p))).astype(x.dtype)
