"""Target textures for the texture NCA: one grown by our own Gray-Scott rule, one photographed.

Both return a float32 array ``(H, W)`` in [0, 1].
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_int

# Textures that scikit-image ships inside its wheel (no download).
PACKAGE_TEXTURES = ("brick", "grass", "gravel")


def _check_size(size) -> int:
    check_int(size, "size", low=8)
    return size


def gray_scott_texture(size: int = 128, feed: float = 0.055, kill: float = 0.062, steps: int = 6000,
                       spots: int = 12, seed: int = 0, refine: int = 1) -> np.ndarray:
    """The V concentration of a Gray-Scott pattern grown with the core ``diffusion_reaction`` rule.

    The grid starts at the homogeneous state with ``spots`` random 6×6 squares
    of V, drawn from ``seed``; the default feed and kill rates grow the
    labyrinth ("coral") pattern that fills the torus after a few thousand steps.

    With ``refine = k`` the same equations are solved on a grid ``k`` times
    finer over the same domain: ``size * k`` cells a side, diffusion rates
    ``k²`` times larger per cell (the cell is ``k`` times smaller), a time step
    ``k²`` times smaller (the explicit scheme's stability limit shrinks with
    the cell) and ``k²`` times as many steps, the same spots scaled by ``k``.
    The result is the texture at ``k`` times the resolution — the true
    finer-resolution target the coarse one stands for (a different sample of
    it: the pattern's details depend on the discretisation).
    """
    from pixelflow import Reservoir, ReservoirConfig
    from pixelflow.rules import get_rule

    size = _check_size(size)
    check_int(spots, "spots", low=1)
    refine = check_int(refine, "refine", low=1)
    rng = np.random.default_rng(seed)
    side = size * refine
    drive = np.zeros((1, side, side), np.float64)
    for i, j in rng.integers(0, size - 6, (spots, 2)):
        drive[0, i * refine : (i + 6) * refine, j * refine : (j + 6) * refine] = 1.0
    rates = {"feed": feed, "kill": kill}
    if refine > 1:
        defaults = get_rule("diffusion_reaction").params
        rates.update(du=defaults["du"].default * refine**2, dv=defaults["dv"].default * refine**2,
                     dt=defaults["dt"].default / refine**2)
    cfg = ReservoirConfig(width=side, height=side, channels=2, steps=steps * refine**2, rule="diffusion_reaction",
                          rule_params=rates, record="final", dtype="float64")
    state = Reservoir(cfg, progress=False).transform(drive).reshape(2, side, side)
    v = state[1]
    return ((v - v.min()) / max(v.max() - v.min(), 1e-12)).astype(np.float32)


def package_texture(
    name: str = "gravel", size: int = 128, zoom_out: int = 2, origin: tuple | None = None
) -> np.ndarray:
    """A photographed texture bundled with scikit-image, centre-cropped and block-averaged.

    Parameters
    ----------
    name : {"brick", "grass", "gravel"}
    size : int
        Output side in pixels.
    zoom_out : int
        Block-average factor: the crop is ``size * zoom_out`` pixels of the
        512×512 original, so features shrink by this factor.
    origin : (row, col), optional
        Top-left corner of the crop in the original (default: centred).
    """
    from skimage import data

    if name not in PACKAGE_TEXTURES:
        raise ValueError(f"unknown texture {name!r}; scikit-image bundles {', '.join(PACKAGE_TEXTURES)}")
    size = _check_size(size)
    image = np.asarray(getattr(data, name)(), dtype=np.float64) / 255.0
    crop = size * zoom_out
    if crop > min(image.shape):
        raise ValueError(f"size * zoom_out = {crop} exceeds the {image.shape} image")
    top, left = origin if origin is not None else ((image.shape[0] - crop) // 2, (image.shape[1] - crop) // 2)
    if not (0 <= top <= image.shape[0] - crop and 0 <= left <= image.shape[1] - crop):
        raise ValueError(f"a {crop}-pixel crop at origin {origin} does not fit the {image.shape} image")
    image = image[top : top + crop, left : left + crop].reshape(size, zoom_out, size, zoom_out).mean((1, 3))
    return ((image - image.min()) / (image.max() - image.min())).astype(np.float32)


def photograph_field(name: str = "gravel", size: int = 128, zoom_out: int = 2) -> tuple[np.ndarray, tuple]:
    """The whole photograph at the zoom of ``package_texture(name, size, zoom_out)``, in that crop's grey levels.

    Returns
    -------
    field : ndarray
        The photograph block-averaged by ``zoom_out`` (as far as whole blocks
        reach), mapped by the same affine map that takes the centred crop to
        [0, 1], then clipped to [0, 1].
    crop : (top, left, side)
        Where the centred crop of :func:`package_texture` lies in ``field``.

    >>> field, (top, left, side) = photograph_field("gravel", 64, zoom_out=4)
    >>> field.shape, (top, left, side)
    ((128, 128), (32, 32, 64))
    >>> bool((field[top : top + side, left : left + side] == package_texture("gravel", 64, zoom_out=4)).all())
    True
    """
    from skimage import data

    crop = package_texture(name, size, zoom_out)  # validates name, size and zoom
    image = np.asarray(getattr(data, name)(), dtype=np.float64) / 255.0
    h, w = (image.shape[0] // zoom_out, image.shape[1] // zoom_out)
    field = image[: h * zoom_out, : w * zoom_out].reshape(h, zoom_out, w, zoom_out).mean((1, 3))
    top, left = (image.shape[0] - size * zoom_out) // 2, (image.shape[1] - size * zoom_out) // 2
    if top % zoom_out or left % zoom_out:
        raise ValueError(f"the centred {size * zoom_out}-pixel crop of {name!r} does not fall on whole "
                         f"{zoom_out}-pixel blocks")
    top, left = top // zoom_out, left // zoom_out
    inner = field[top : top + size, left : left + size]
    low, high = inner.min(), inner.max()
    field = np.clip((field - low) / (high - low), 0.0, 1.0).astype(np.float32)
    field[top : top + size, left : left + size] = crop  # the same pixels, bit for bit
    return field, (top, left, size)
