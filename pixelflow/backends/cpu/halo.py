"""One-cell halos for padded planes, so stencil loops need no index arithmetic (numba)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def fill_halo(p, mode):
    """Fill the border of a padded ``(H + 2, W + 2)`` plane from its interior.

    ``mode``: 0 periodic (wrap), 1 zero, 2 edge (repeat the nearest cell).
    """
    hp, wp = p.shape
    h, w = hp - 2, wp - 2
    for x in range(1, w + 1):
        if mode == 0:
            p[0, x] = p[h, x]
            p[h + 1, x] = p[1, x]
        elif mode == 1:
            p[0, x] = 0
            p[h + 1, x] = 0
        else:
            p[0, x] = p[1, x]
            p[h + 1, x] = p[h, x]
    for y in range(hp):
        if mode == 0:
            p[y, 0] = p[y, w]
            p[y, w + 1] = p[y, 1]
        elif mode == 1:
            p[y, 0] = 0
            p[y, w + 1] = 0
        else:
            p[y, 0] = p[y, 1]
            p[y, w + 1] = p[y, w]


MODES = {"periodic": 0, "zero": 1, "edge": 2}
