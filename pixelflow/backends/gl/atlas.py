"""Texture atlases: many H×W planes in one RGBA32F texture.

A *tile* is an H×W block of texels; tiles are laid out row by row in a 2-D
texture of ``cols × rows`` tiles, and each texel holds four values (RGBA), so
an atlas holds ``4 × tiles`` planes. Plane ``4 t + l`` of a stack lives in
lane ``l`` of tile ``t`` (tile ``t`` at tile row ``t // cols``, tile column
``t % cols``). The shaders compute each texel's tile from its coordinates and
keep every neighbour lookup inside that tile, so planes never see each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# Texture memory one batch may use (all its atlases together); bigger chunks
# are split into several batches.
MAX_BATCH_BYTES = 256 * 2**20
TEXEL_BYTES = 16  # RGBA32F


class Unsupported(Exception):
    """This configuration has no GL path (precision, size or driver limits): the kernel runs numpy instead."""


@dataclass(frozen=True)
class Layout:
    """Where the tiles of an atlas are."""

    tiles: int
    cols: int
    rows: int
    height: int
    width: int

    @property
    def size(self) -> tuple[int, int]:
        """Texture size as OpenGL wants it: (width, height) in texels."""
        return (self.cols * self.width, self.rows * self.height)

    @property
    def shape(self) -> tuple[int, int, int]:
        """Host array shape of the texture's data: (texel rows, texel columns, 4)."""
        return (self.rows * self.height, self.cols * self.width, 4)


def max_tiles(height: int, width: int, max_size: int, textures: int) -> int:
    """Most tiles one atlas can hold, by texture size and the batch memory budget."""
    by_size = (max_size // width) * (max_size // height)
    by_memory = MAX_BATCH_BYTES // (TEXEL_BYTES * height * width * max(1, textures))
    return max(1, min(by_size, by_memory))


def layout(tiles: int, height: int, width: int, max_size: int) -> Layout:
    """A near-square arrangement of ``tiles`` tiles within ``max_size`` texels a side.

    Raises :class:`Unsupported` when they cannot fit (a grid larger than the
    largest texture, or one sample with more planes than a texture holds).
    """
    if height > max_size or width > max_size:
        raise Unsupported(f"a {height}x{width} grid is larger than the largest texture ({max_size})")
    cols = max(1, min(tiles, max_size // width, math.ceil(math.sqrt(tiles * height / width))))
    if math.ceil(tiles / cols) * height > max_size:
        cols = max_size // width
    rows = math.ceil(tiles / cols)
    if rows * height > max_size:
        raise Unsupported(f"{tiles} tiles of {height}x{width} do not fit a {max_size}-texel texture")
    return Layout(tiles, cols, rows, height, width)


def pack(planes: np.ndarray, lay: Layout, out: np.ndarray | None = None) -> np.ndarray:
    """``(M, H, W)`` planes -> atlas data of ``lay.shape`` (planes past ``M`` are 0).

    ``out`` (float32, ``lay.shape``, C-contiguous) is filled and returned when
    given, so a caller can reuse one host buffer for every batch.
    """
    m, h, w = planes.shape
    if out is None:
        out = np.empty(lay.shape, dtype=np.float32)
    per_row = 4 * lay.cols
    rows = out.reshape(lay.rows, h, lay.cols, w, 4)
    for r in range(lay.rows):
        part = planes[r * per_row : (r + 1) * per_row]
        dst = rows[r].transpose(1, 3, 0, 2)  # (cols, 4, H, W) view of this row of tiles
        k = len(part)
        if k == per_row:
            dst[...] = part.reshape(lay.cols, 4, h, w)
            continue
        flat = np.zeros((per_row, h, w), dtype=np.float32)
        flat[:k] = part
        dst[...] = flat.reshape(lay.cols, 4, h, w)
    return out


def unpack(data: np.ndarray, lay: Layout, count: int) -> np.ndarray:
    """Atlas data of ``lay.shape`` -> its first ``count`` planes, ``(count, H, W)`` (a copy)."""
    h, w = lay.height, lay.width
    planes = data.reshape(lay.rows, h, lay.cols, w, 4).transpose(0, 2, 4, 1, 3)
    planes = planes.reshape(lay.rows * lay.cols * 4, h, w)[:count]
    return planes.copy() if np.shares_memory(planes, data) else planes


def batches(n: int, planes_per_sample: int, tile_limit: int):
    """Yield ``(start, stop)`` sample ranges whose planes fit ``tile_limit`` tiles of 4 planes."""
    per_batch = max(1, (4 * tile_limit) // max(1, planes_per_sample))
    for start in range(0, n, per_batch):
        yield start, min(n, start + per_batch)
