"""Neighbourhood operators on batched grids, written against an array namespace.

Every function takes ``x`` of shape ``(..., H, W)`` and the array module
``xp`` (numpy or cupy), so a rule built from them runs on any array backend.
All are sums of shifted copies evaluated in a fixed order: each output cell
depends only on its own sample, which keeps features batch-invariant.

Boundaries
----------
``"periodic"``
    The grid wraps around (a torus).
``"zero"``
    Cells outside the grid read as 0 (dead cells, clamped field).
``"edge"``
    Cells outside the grid repeat the nearest edge cell (zero normal
    gradient); used with a sponge layer for absorbing wave boundaries.
"""

from __future__ import annotations

BOUNDARIES = ("periodic", "zero", "edge")


def pad1(x, boundary: str, xp):
    """``x`` with a one-cell border filled according to ``boundary``.

    Padding once and slicing the neighbours out of it costs one copy, where
    a roll per neighbour costs one copy each. The border is filled by slice
    assignments rather than ``xp.pad``, whose per-call set-up costs more
    than the copy itself on the small grids of driven runs (a time step of a
    20×20 grid is dominated by it); the values are the same copies.

    A namespace with a ``pad1`` of its own supplies it instead: the tracing
    namespace of :mod:`pixelflow.rules.trace` records the neighbours that
    are read from the padded grid rather than building it.
    """
    if boundary not in BOUNDARIES:
        raise ValueError(f"unknown boundary {boundary!r}; valid: {', '.join(BOUNDARIES)}")
    own = getattr(xp, "pad1", None)
    if own is not None:
        return own(x, boundary)
    h, w = x.shape[-2:]
    if boundary == "zero":
        p = xp.zeros((*x.shape[:-2], h + 2, w + 2), dtype=x.dtype)
        p[..., 1:-1, 1:-1] = x
        return p
    p = xp.empty((*x.shape[:-2], h + 2, w + 2), dtype=x.dtype)
    p[..., 1:-1, 1:-1] = x
    # Rows first, then whole columns of the row-padded array: the corners come out as np.pad's.
    if boundary == "periodic":
        p[..., 0, 1:-1] = x[..., -1, :]
        p[..., -1, 1:-1] = x[..., 0, :]
        p[..., :, 0] = p[..., :, -2]
        p[..., :, -1] = p[..., :, 1]
    else:
        p[..., 0, 1:-1] = x[..., 0, :]
        p[..., -1, 1:-1] = x[..., -1, :]
        p[..., :, 0] = p[..., :, 1]
        p[..., :, -1] = p[..., :, -2]
    return p


def window(padded, dy: int, dx: int):
    """The neighbour at offset ``(dy, dx)`` of every cell, from :func:`pad1` output."""
    h, w = padded.shape[-2] - 2, padded.shape[-1] - 2
    return padded[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def shift(x, dy: int, dx: int, boundary: str, xp):
    """Return ``y`` with ``y[..., i, j] = x[..., i + dy, j + dx]``.

    Parameters
    ----------
    x : array, shape (..., H, W)
    dy, dx : int
        Offsets in {-1, 0, 1} (larger offsets work for ``"periodic"``).
    boundary : {"periodic", "zero", "edge"}
    xp : module
        numpy or cupy.
    """
    if dy == 0 and dx == 0:
        return x
    if boundary == "periodic" and max(abs(dy), abs(dx)) > 1:
        return xp.roll(x, shift=(-dy, -dx), axis=(-2, -1))
    return window(pad1(x, boundary, xp), dy, dx)


def laplacian(x, boundary: str, xp):
    """Five-point Laplacian: the 4 von Neumann neighbours minus 4 times the cell."""
    p = pad1(x, boundary, xp)
    return window(p, -1, 0) + window(p, 1, 0) + window(p, 0, -1) + window(p, 0, 1) - 4 * x


def moore_sum(x, boundary: str, xp):
    """Sum over the 8 Moore neighbours (the cell itself excluded)."""
    p = pad1(x, boundary, xp)
    total = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            s = window(p, dy, dx)
            total = s if total is None else total + s
    return total


def correlate3x3(x, kernel, boundary: str, xp, padded=None):
    """Cross-correlate every ``(H, W)`` plane with a fixed 3×3 ``kernel``.

    ``kernel[a][b]`` weights the neighbour at offset ``(a - 1, b - 1)``.
    Zero weights are skipped, so sparse kernels (Sobel) cost less. Pass
    ``padded`` (from :func:`pad1`) to reuse one padding for several kernels.
    """
    p = pad1(x, boundary, xp) if padded is None else padded
    total = None
    for a in range(3):
        for b in range(3):
            k = float(kernel[a][b])
            if k == 0.0:
                continue
            term = window(p, a - 1, b - 1) * k
            total = term if total is None else total + term
    return total


# Scaled as in the neural-CA literature so that each filter has unit gain on
# a unit ramp (Sobel) or on the discrete second derivative (Laplacian).
SOBEL_X = ((-1 / 8, 0, 1 / 8), (-2 / 8, 0, 2 / 8), (-1 / 8, 0, 1 / 8))
SOBEL_Y = ((-1 / 8, -2 / 8, -1 / 8), (0, 0, 0), (1 / 8, 2 / 8, 1 / 8))
LAPLACIAN_9 = ((1 / 4, 2 / 4, 1 / 4), (2 / 4, -12 / 4, 2 / 4), (1 / 4, 2 / 4, 1 / 4))


def neighbourhood(x, boundary: str, xp):
    """The 3×3 neighbourhood of every cell, channel by channel: a random 3×3 convolution is a mixing of it.

    Parameters
    ----------
    x : array, shape (N, C, H, W)

    Returns
    -------
    array, shape (N, 9 * C, H, W)
        Block ``k = 3 (dy + 1) + (dx + 1)`` holds the neighbours at offset
        ``(dy, dx)`` of every channel: ``out[:, k * C + c] = shift(x, dy, dx)[:, c]``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(9.0).reshape(1, 1, 3, 3)
    >>> neighbourhood(x, "periodic", np)[0, :, 1, 1]
    array([0., 1., 2., 3., 4., 5., 6., 7., 8.])
    """
    n, c, h, w = x.shape
    p = pad1(x, boundary, xp)
    out = xp.empty((n, 9 * c, h, w), dtype=x.dtype)
    for k, (dy, dx) in enumerate((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)):
        out[:, k * c:(k + 1) * c] = window(p, dy, dx)
    return out


def perceive(x, boundary: str, xp):
    """Per-channel identity, Sobel-x, Sobel-y and 9-point Laplacian.

    The three filters are evaluated in separable form: Sobel is a ``[1, 2, 1]``
    smoothing along one axis times a central difference along the other, and
    ``LAPLACIAN_9`` is ``([1, 2, 1] ⊗ [1, 2, 1] - 16 δ) / 4``, which shares the
    smoothing passes (same values as :func:`correlate3x3` with the kernels
    above, to rounding).

    Parameters
    ----------
    x : array, shape (N, C, H, W)

    Returns
    -------
    array, shape (N, 4 * C, H, W)
        Channel blocks ordered ``[identity, sobel_x, sobel_y, laplacian]``.
    """
    n, c, h, w = x.shape
    p = pad1(x, boundary, xp)
    smooth_rows = p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]  # (N, C, H, W + 2)
    smooth_cols = p[..., :, :-2] + 2 * p[..., :, 1:-1] + p[..., :, 2:]  # (N, C, H + 2, W)
    out = xp.empty((n, 4 * c, h, w), dtype=x.dtype)
    out[:, :c] = x
    out[:, c : 2 * c] = (smooth_rows[..., 2:] - smooth_rows[..., :-2]) * (1 / 8)
    out[:, 2 * c : 3 * c] = (smooth_cols[..., 2:, :] - smooth_cols[..., :-2, :]) * (1 / 8)
    both = smooth_rows[..., :-2] + 2 * smooth_rows[..., 1:-1] + smooth_rows[..., 2:]
    out[:, 3 * c :] = (both - 16 * x) * 0.25
    return out
