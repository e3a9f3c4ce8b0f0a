"""Rendering a coarse grid of cells at any resolution: a shared local implicit decoder.

An NCA's cost grows with the number of cells, so the texture literature's way to
high resolution (Pajouheshgar et al., 2025, "Neural Cellular Automata: From Cells
to Pixels") leaves the dynamics on a coarse grid and renders pixels with a small
network shared by all of them. A pixel of an image ``k`` times finer than the
grid lies in the square between four cell centres; it sees

* the four cells' states, bilinearly interpolated at its position
  (:func:`interpolate_cells`), and
* its local coordinate ``u`` in ``[0, 1)²`` inside that square, so that
  structure finer than a cell can be drawn,

and a per-pixel MLP (:class:`LocalPatternDecoder`) maps both to the pixel's
grey level or colour. Nothing in a pixel's value depends on other pixels, so
any region can be rendered alone (:func:`render` with ``region``): training
renders random patches of a large image, evaluation the whole of it.

The grid is a torus, as the texture NCA's perception is: pixels near an edge
interpolate between the cells on either side of it.

Examples
--------
>>> import torch
>>> states = torch.zeros(2, 8, 6, 6)
>>> decoder = LocalPatternDecoder(channels=8, visible=1, hidden=16, seed=0)
>>> render(states, decoder, 24).shape, render(states, decoder, 24, region=(4, 8, 10, 12)).shape
(torch.Size([2, 1, 24, 24]), torch.Size([2, 1, 10, 12]))
"""

from __future__ import annotations

import math

import torch
from torch import nn

from pixelflow.checks import check_int
from pixelflow.nca.model import NCA, seeded, texture_nca

__all__ = ["DecodedNCA", "LocalPatternDecoder", "cell_coordinates", "decoded_texture_nca", "interpolate_cells",
           "render"]


def cell_coordinates(size: int, cells: int, start: int = 0, length: int | None = None):
    """Where pixels ``start .. start + length`` of a ``size``-pixel axis fall on a ``cells``-cell torus.

    Pixel ``i``'s centre lies at ``(i + 0.5) * cells / size - 0.5`` in cell
    units (cell centres at whole numbers, the convention of bilinear
    resampling without corner alignment). Returns the cell on its low side,
    the one on its high side (wrapped around the torus) and the fraction
    ``u`` of the way from the first to the second.

    >>> low, high, u = cell_coordinates(8, 4)
    >>> low.tolist(), high.tolist(), u.tolist()
    ([3, 0, 0, 1, 1, 2, 2, 3], [0, 1, 1, 2, 2, 3, 3, 0], [0.75, 0.25, 0.75, 0.25, 0.75, 0.25, 0.75, 0.25])
    """
    check_int(size, "size", low=1)
    check_int(cells, "cells", low=1)
    length = size - start if length is None else length
    check_int(start, "start", low=0)
    check_int(length, "length", low=1)
    if start + length > size:
        raise ValueError(f"pixels {start}..{start + length - 1} lie outside a {size}-pixel axis")
    pixels = torch.arange(start, start + length, dtype=torch.float64)
    position = (pixels + 0.5) * (cells / size) - 0.5
    low = torch.floor(position)
    u = (position - low).to(torch.float32)
    low = low.to(torch.int64) % cells
    return low, (low + 1) % cells, u


def interpolate_cells(states: torch.Tensor, rows, cols) -> torch.Tensor:
    """Cell states bilinearly interpolated at pixel positions, ``(N, C, len(rows), len(cols))``.

    ``rows`` and ``cols`` are :func:`cell_coordinates` of the two axes. On
    integer refinements this equals ``torch.nn.functional.interpolate``
    (bilinear, no corner alignment) of the circularly padded grid.
    """
    if states.ndim != 4:
        raise ValueError(f"states must have shape (N, C, H, W), got {tuple(states.shape)}")
    (r0, r1, ur), (c0, c1, uc) = rows, cols
    ur = ur.to(states.dtype)[:, None]
    uc = uc.to(states.dtype)
    by_rows = states[:, :, r0] * (1 - ur) + states[:, :, r1] * ur
    return by_rows[..., c0] * (1 - uc) + by_rows[..., c1] * uc


class LocalPatternDecoder(nn.Module):
    """A per-pixel MLP from (interpolated cell state, local coordinate) to image channels in ``(0, 1)``.

    Parameters
    ----------
    channels : int
        Cell state channels.
    visible : int
        Image channels out (1 grey, 3 colour).
    hidden : int
        Width of the hidden layers.
    hidden_layers : int
        Hidden ReLU layers (at least 1).
    frequencies : int
        The local coordinate enters as ``u`` and ``sin, cos(2 pi f u)`` for
        ``f = 1 .. frequencies`` on each axis (0: ``u`` alone), so a pixel can
        draw structure finer than a cell.
    seed : int
        Seeds the initial weights.
    """

    def __init__(self, channels: int, visible: int = 1, hidden: int = 32, hidden_layers: int = 2,
                 frequencies: int = 2, seed: int = 0):
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.visible = check_int(visible, "visible", low=1)
        self.frequencies = check_int(frequencies, "frequencies", low=0)
        check_int(hidden, "hidden", low=1)
        check_int(hidden_layers, "hidden_layers", low=1)
        with seeded(seed):
            layers, width = [], channels + self.coordinate_features
            for _ in range(hidden_layers):
                layers += [nn.Conv2d(width, hidden, 1), nn.ReLU()]
                width = hidden
            layers.append(nn.Conv2d(width, visible, 1))
            self.net = nn.Sequential(*layers)
        self.spec = {"channels": channels, "visible": visible, "hidden": hidden, "hidden_layers": hidden_layers,
                     "frequencies": frequencies, "seed": seed}

    @property
    def coordinate_features(self) -> int:
        """How many inputs the local coordinate adds: ``2 * (1 + 2 * frequencies)``."""
        return 2 * (1 + 2 * self.frequencies)

    def encode(self, ur: torch.Tensor, uc: torch.Tensor) -> torch.Tensor:
        """The local coordinate's features ``(coordinate_features, len(ur), len(uc))``."""
        grid = torch.stack(torch.meshgrid(ur, uc, indexing="ij"))  # (2, h, w)
        features = [grid]
        for f in range(1, self.frequencies + 1):
            features += [torch.sin(2 * math.pi * f * grid), torch.cos(2 * math.pi * f * grid)]
        return torch.cat(features)

    def forward(self, cells: torch.Tensor, ur: torch.Tensor, uc: torch.Tensor) -> torch.Tensor:
        """Pixels from interpolated cells ``(N, channels, h, w)`` and the local coordinates of rows and columns."""
        if cells.ndim != 4 or cells.shape[1] != self.channels:
            raise ValueError(f"cells must have shape (N, {self.channels}, h, w), got {tuple(cells.shape)}")
        coords = self.encode(ur, uc).to(cells.dtype)
        if coords.shape[1:] != cells.shape[2:]:
            raise ValueError(f"{tuple(coords.shape[1:])} local coordinates for {tuple(cells.shape[2:])} pixels")
        x = torch.cat([cells, coords.expand(len(cells), -1, -1, -1)], dim=1)
        return torch.sigmoid(self.net(x))


def render(states: torch.Tensor, decoder: LocalPatternDecoder, size, region=None) -> torch.Tensor:
    """The image of a grid of cells at ``size`` pixels (an int for a square, or ``(height, width)``).

    Parameters
    ----------
    states : Tensor, shape (N, C, H, W)
    decoder : LocalPatternDecoder
    size : int or (int, int)
        The whole image's size: any resolution, finer or coarser than the grid.
    region : (top, left, height, width), optional
        Render only this window of the image (training on patches); it equals
        the same window of the whole image.

    Returns
    -------
    Tensor, shape (N, visible, height, width), values in (0, 1)
    """
    if not isinstance(decoder, LocalPatternDecoder):
        raise TypeError(f"decoder must be a LocalPatternDecoder, got {type(decoder).__name__}")
    if states.ndim != 4 or states.shape[1] != decoder.channels:
        raise ValueError(f"states must have shape (N, {decoder.channels}, H, W), got {tuple(states.shape)}")
    height, width = (size, size) if isinstance(size, int) else tuple(size)
    top, left, h, w = (0, 0, height, width) if region is None else tuple(region)
    rows = cell_coordinates(height, states.shape[2], top, h)
    cols = cell_coordinates(width, states.shape[3], left, w)
    return decoder(interpolate_cells(states, rows, cols), rows[2], cols[2])


class DecodedNCA(NCA):
    """A neural CA whose image is drawn by a :class:`LocalPatternDecoder` at any resolution.

    The cells evolve exactly as the wrapped rule's (the same perception and
    update modules, the same fire mask); no channel is the image any more,
    :meth:`image` renders it. Training fits the rule and the decoder together
    (they are one module's parameters).
    """

    def __init__(self, nca: NCA, decoder: LocalPatternDecoder):
        if not isinstance(decoder, LocalPatternDecoder) or decoder.channels != nca.channels:
            raise ValueError(f"the decoder must read the rule's {nca.channels} channels, got "
                             f"{getattr(decoder, 'channels', decoder)!r}")
        super().__init__(nca.perceive, nca.update, nca.fire_rate, nca.alive_channel, nca.alive_threshold)
        self.decoder = decoder
        self.spec = {"builder": "decoded", "kwargs": {"nca": nca.spec, "decoder": decoder.spec}}

    def image(self, states: torch.Tensor, factor: float = 1.0, region=None) -> torch.Tensor:
        """The image of ``states`` at ``factor`` times the grid's resolution (or a ``region`` of it)."""
        if not factor > 0:
            raise ValueError(f"factor must be positive, got {factor!r}")
        size = (round(states.shape[2] * factor), round(states.shape[3] * factor))
        return render(states, self.decoder, size, region)


def decoded_texture_nca(channels: int = 12, hidden: int = 96, visible: int = 1, decoder_hidden: int = 32,
                        frequencies: int = 2, fire_rate: float = 0.5, seed: int = 0) -> DecodedNCA:
    """The texture NCA (:func:`~pixelflow.nca.model.texture_nca`) with a local implicit decoder for its image.

    >>> model = decoded_texture_nca(channels=8, hidden=16, decoder_hidden=8, seed=0)
    >>> model.image(torch.zeros(1, 8, 10, 10), factor=3).shape
    torch.Size([1, 1, 30, 30])
    """
    return DecodedNCA(texture_nca(channels, hidden, fire_rate, seed),
                      LocalPatternDecoder(channels, visible, decoder_hidden, frequencies=frequencies, seed=seed + 1))
