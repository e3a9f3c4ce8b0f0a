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
    if boundary == "periodic":
        return xp.roll(x, shift=(-dy, -dx), axis=(-2, -1))
    if boundary not in ("zero", "edge"):
        raise ValueError(f"unknown boundary {boundary!r}; valid: {', '.join(BOUNDARIES)}")
    pad = [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)]
    padded = xp.pad(x, pad, mode="constant" if boundary == "zero" else "edge")
    h, w = x.shape[-2], x.shape[-1]
    return padded[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def laplacian(x, boundary: str, xp):
    """Five-point Laplacian: the 4 von Neumann neighbours minus 4 times the cell."""
    return (
        shift(x, -1, 0, boundary, xp)
        + shift(x, 1, 0, boundary, xp)
        + shift(x, 0, -1, boundary, xp)
        + shift(x, 0, 1, boundary, xp)
        - 4 * x
    )


def moore_sum(x, boundary: str, xp):
    """Sum over the 8 Moore neighbours (the cell itself excluded)."""
    total = None
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy == 0 and dx == 0:
                continue
            s = shift(x, dy, dx, boundary, xp)
            total = s if total is None else total + s
    return total


def correlate3x3(x, kernel, boundary: str, xp):
    """Cross-correlate every ``(H, W)`` plane with a fixed 3×3 ``kernel``.

    ``kernel[a][b]`` weights the neighbour at offset ``(a - 1, b - 1)``.
    Zero weights are skipped, so sparse kernels (Sobel) cost less.
    """
    total = None
    for a in range(3):
        for b in range(3):
            k = float(kernel[a][b])
            if k == 0.0:
                continue
            term = shift(x, a - 1, b - 1, boundary, xp) * k
            total = term if total is None else total + term
    return total


# Scaled as in the neural-CA literature so that each filter has unit gain on
# a unit ramp (Sobel) or on the discrete second derivative (Laplacian).
SOBEL_X = ((-1 / 8, 0, 1 / 8), (-2 / 8, 0, 2 / 8), (-1 / 8, 0, 1 / 8))
SOBEL_Y = ((-1 / 8, -2 / 8, -1 / 8), (0, 0, 0), (1 / 8, 2 / 8, 1 / 8))
LAPLACIAN_9 = ((1 / 4, 2 / 4, 1 / 4), (2 / 4, -12 / 4, 2 / 4), (1 / 4, 2 / 4, 1 / 4))


def perceive(x, boundary: str, xp):
    """Per-channel identity, Sobel-x, Sobel-y and 9-point Laplacian.

    Parameters
    ----------
    x : array, shape (N, C, H, W)

    Returns
    -------
    array, shape (N, 4 * C, H, W)
        Channel blocks ordered ``[identity, sobel_x, sobel_y, laplacian]``.
    """
    return xp.concatenate(
        [
            x,
            correlate3x3(x, SOBEL_X, boundary, xp),
            correlate3x3(x, SOBEL_Y, boundary, xp),
            correlate3x3(x, LAPLACIAN_9, boundary, xp),
        ],
        axis=1,
    )
