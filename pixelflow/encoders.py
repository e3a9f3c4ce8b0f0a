"""Input encoders: how a batch of samples becomes the reservoir's drive.

An encoder maps samples of one shape to a drive of shape ``(N, C_in, H, W)``,
which the rule's ``init`` writes into the state (and ``random_nca`` re-injects
every step). Encoders run on the backend's array module, so inputs cross to a
GPU once and are encoded there.

``tile``
    Resize each image channel into the grid (``resize="area"`` or
    ``"nearest"``); an RGB image gives three input channels. A flat vector
    of length F is first laid out row-major on the most square
    ``h × w >= F`` grid, zero-padded. ``normalize="sample"`` first shifts
    each sample to mean 0 and divides it by its standard deviation plus
    ``NORMALIZE_FLOOR`` (contrast normalisation, one sample at a time, so
    still batch-invariant).
``phase``
    Tile, then write each pixel value x as the phase ``pi * x``: channels
    ``cos`` and ``sin`` per image channel (two input channels per channel).
``project``
    One fixed Gaussian matrix per reservoir, drawn from its seed, maps the
    flattened sample to ``planes`` grid planes (entries of variance
    ``scale**2 / F``). The product sums in a fixed order
    (:func:`pixelflow.linalg.fixed_order.matmul_rows`), so a sample's drive is
    bit-identical whatever the batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelflow.linalg.fixed_order import matmul_rows
from pixelflow.params import Param, Params, resolve_params
from pixelflow.resize import METHODS, apply_taps, taps


@dataclass(frozen=True)
class Encoder:
    """A registered encoder.

    Attributes
    ----------
    name : str
    encode : callable ``(x, params, fixed, grid_hw, xp) -> drive``
        ``x`` has shape ``(N, *sample_shape)``; the drive ``(N, C_in, H, W)``.
    params : mapping of str to Param
    input_channels : callable ``(sample_shape, params) -> int``
    build : callable ``(params, sample_shape, grid_hw, rng) -> dict``
        Fixed host arrays (resampling taps, projection matrix).
    reads_images : bool
        The encoder writes images into the grid; a vector sample is laid out
        as a square image, so its length must be a square.
    """

    name: str
    encode: Callable
    params: Mapping[str, Param] = field(default_factory=dict)
    input_channels: Callable[[tuple, Params], int] = lambda shape, params: 1
    build: Callable | None = None
    reads_images: bool = False

    def resolve(self, given: Mapping[str, Any] | None) -> Params:
        return resolve_params(f"encoder {self.name!r}", self.params, given)


def image_layout(sample_shape: tuple) -> tuple[int, int, int]:
    """``(h, w, c)`` an encoder sees for samples of ``sample_shape``."""
    if len(sample_shape) == 1:
        f = sample_shape[0]
        h = max(1, math.isqrt(f))
        return h, -(-f // h), 1
    if len(sample_shape) == 2:
        return sample_shape[0], sample_shape[1], 1
    return sample_shape


def as_planes(x, xp):
    """``(N, *sample_shape)`` -> ``(N, c, h, w)`` image planes."""
    h, w, c = image_layout(x.shape[1:])
    if x.ndim == 2:
        pad = h * w - x.shape[1]
        if pad:
            x = xp.concatenate([x, xp.zeros((x.shape[0], pad), dtype=x.dtype)], axis=1)
        return x.reshape(-1, 1, h, w)
    if x.ndim == 3:
        return x[:, None]
    return xp.moveaxis(x, -1, 1)


def _build_tiles(params, sample_shape, grid_hw, rng) -> dict:
    h, w, _ = image_layout(sample_shape)
    rows = taps(h, grid_hw[0], params.resize)
    cols = taps(w, grid_hw[1], params.resize)
    return {"rows": rows, "cols": cols}


# Added to a sample's standard deviation before dividing, so a nearly blank
# image (pixel values in [0, 1]) is not amplified into noise.
NORMALIZE_FLOOR = 0.05


def normalize_samples(x, xp):
    """Each sample (first axis) shifted to mean 0 and divided by its std + ``NORMALIZE_FLOOR``.

    The sums run in a fixed order (:func:`pixelflow.linalg.fixed_order.matmul_rows`
    against a column of ones: exact products, float64 sums in index order), so a
    sample's result depends on its values alone — not on the batch, nor on how
    the batch lies in memory (a reduction of NumPy's ``mean`` over a strided
    view adds in another order than over a contiguous copy).
    """
    n = x.shape[0]
    flat = xp.ascontiguousarray(x.reshape(n, -1))
    count = flat.shape[1]
    ones = xp.ones((count, 1), dtype=flat.dtype)
    mean = matmul_rows(flat, ones, xp) / count
    centred = flat - mean
    std = xp.sqrt(matmul_rows(centred * centred, ones, xp) / count)
    return (centred / (std + NORMALIZE_FLOOR)).reshape(x.shape)


def _resample(x, fixed, xp):
    planes = as_planes(x, xp)
    planes = apply_taps(planes, *fixed["rows"], axis=-2, xp=xp)
    return apply_taps(planes, *fixed["cols"], axis=-1, xp=xp)


def _tile(x, params, fixed, grid_hw, xp):
    if params.normalize == "sample":
        x = normalize_samples(x, xp)
    return _resample(x, fixed, xp)


def _phase(x, params, fixed, grid_hw, xp):
    theta = np.pi * _resample(x, fixed, xp)
    n, c, h, w = theta.shape
    # Interleave so that channel 2k is cos and 2k+1 is sin of image channel k.
    return xp.stack([xp.cos(theta), xp.sin(theta)], axis=2).reshape(n, 2 * c, h, w)


def _build_projection(params, sample_shape, grid_hw, rng) -> dict:
    f = int(np.prod(sample_shape))
    d = params.planes * grid_hw[0] * grid_hw[1]
    matrix = rng.standard_normal((f, d)) * (params.scale / np.sqrt(f))
    return {"matrix": matrix}


def _project(x, params, fixed, grid_hw, xp):
    n = x.shape[0]
    # A fixed-order product: a sample's drive is the same bits whatever the batch.
    flat = matmul_rows(x.reshape(n, -1), fixed["matrix"], xp)
    return flat.reshape(n, params.planes, grid_hw[0], grid_hw[1])


MASK_WEIGHTS = ("sign", "positive")


def _build_mask(params, sample_shape, grid_hw, rng) -> dict:
    f = int(np.prod(sample_shape))
    d = params.planes * grid_hw[0] * grid_hw[1]
    # Draw the cells first so that a sign change keeps the same cells.
    touched = rng.random((f, d)) < params.density
    signs = rng.integers(0, 2, (f, d)) * 2.0 - 1.0 if params.weights == "sign" else np.ones((f, d))
    return {"matrix": np.where(touched, params.scale * signs, 0.0)}


_RESIZE = Param("area", "how images are resampled to the grid", choices=METHODS)

_ENCODERS: dict[str, Encoder] = {}


def register_encoder(encoder: Encoder, overwrite: bool = False) -> Encoder:
    """Make ``encoder`` selectable as ``ReservoirConfig(input_encoding=encoder.name)``.

    Parameters
    ----------
    encoder : Encoder
        Its ``encode(x, params, fixed, grid_hw, xp)`` maps a batch
        ``(N, *sample_shape)`` to the drive ``(N, C_in, H, W)`` on the array
        module ``xp``, one sample at a time (so that features stay
        batch-invariant); ``input_channels`` says ``C_in``; ``build``
        draws its fixed arrays from the reservoir's seed.
    overwrite : bool
        Replace an encoder already registered under that name.

    Returns
    -------
    Encoder
        ``encoder``, so that the call can wrap a definition.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow import Encoder, Reservoir, ReservoirConfig, register_encoder
    >>> from pixelflow.encoders import unregister_encoder
    >>> def flat(x, params, fixed, grid_hw, xp):
    ...     return x.reshape(len(x), 1, *grid_hw)
    >>> _ = register_encoder(Encoder("flat", flat))
    >>> Reservoir(ReservoirConfig(4, 4, 2, 1, "wave", input_encoding="flat")).transform(np.ones((2, 16))).shape
    (2, 32)
    >>> unregister_encoder("flat")
    """
    if not isinstance(encoder, Encoder):
        raise TypeError(f"register_encoder expects an Encoder, got {type(encoder).__name__}")
    if encoder.name in _ENCODERS and not overwrite:
        raise ValueError(f"an encoder named {encoder.name!r} is already registered; pass overwrite=True")
    _ENCODERS[encoder.name] = encoder
    return encoder


def unregister_encoder(name: str) -> None:
    """Remove a registered encoder (a built-in one too)."""
    if name not in _ENCODERS:
        raise ValueError(f"no encoder named {name!r} is registered; registered: {', '.join(sorted(_ENCODERS))}")
    del _ENCODERS[name]


def get_encoder(name: str) -> Encoder:
    """Look up an encoder; unknown names list the registered ones."""
    if not isinstance(name, str):
        raise TypeError(f"input_encoding must be a string name, got {type(name).__name__}")
    try:
        return _ENCODERS[name]
    except KeyError:
        raise ValueError(f"unknown input_encoding {name!r}; valid: {', '.join(sorted(_ENCODERS))}") from None


def available_encoders() -> list[str]:
    """Names of all registered encoders, sorted."""
    return sorted(_ENCODERS)


register_encoder(
    Encoder(
        "tile",
        _tile,
        {"resize": _RESIZE,
         "normalize": Param("none", "per-sample contrast normalisation before tiling",
                            choices=("none", "sample"))},
        input_channels=lambda shape, params: image_layout(shape)[2],
        build=_build_tiles,
        reads_images=True,
    )
)
register_encoder(
    Encoder(
        "phase",
        _phase,
        {"resize": _RESIZE},
        input_channels=lambda shape, params: 2 * image_layout(shape)[2],
        build=_build_tiles,
        reads_images=True,
    )
)
register_encoder(
    Encoder(
        "project",
        _project,
        {
            "scale": Param(
                1.0, "standard deviation of a projected value for a unit-norm input", low=0.0, low_open=True
            ),
            "planes": Param(1, "number of grid planes (input channels) the projection fills", low=1),
        },
        input_channels=lambda shape, params: params.planes,
        build=_build_projection,
    )
)
register_encoder(
    Encoder(
        "mask",
        _project,
        {
            "density": Param(0.1, "fraction of a plane's cells each input component drives", low=0.0, high=1.0,
                             low_open=True),
            "scale": Param(1.0, "absolute weight of a driven cell", low=0.0, low_open=True),
            "weights": Param("sign", "random signs (sign) or all positive (positive)", choices=MASK_WEIGHTS),
            "planes": Param(1, "number of grid planes (input channels) the mask drives", low=1),
        },
        input_channels=lambda shape, params: params.planes,
        build=_build_mask,
    )
)
