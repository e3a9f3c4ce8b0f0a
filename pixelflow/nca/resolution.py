"""Comparing textures across grid resolutions: upsampling and radially averaged power spectra.

A pattern of the same physical size covers ``k`` times more cells on a grid
``k`` times finer, so its spectrum moves to ``1/k`` of the frequency in
cycles per cell. :func:`radial_spectrum` therefore reports frequency in
cycles per *training-grid* cell (cycles per cell times ``k``), which puts
the spectra of all resolutions on one axis.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from pixelflow.checks import check_int
from pixelflow.nca.threads import torch_threads


def upsample(images: torch.Tensor, factor: int) -> torch.Tensor:
    """Bilinear upsampling of ``(N, H, W)`` images by an integer ``factor`` (periodic edges)."""
    check_int(factor, "factor", low=1)
    x = torch.as_tensor(images, dtype=torch.float32)[:, None]
    # Pad one cell around so the periodic texture interpolates across its seam, then crop.
    big = F.interpolate(F.pad(x, (1, 1, 1, 1), mode="circular"), scale_factor=factor, mode="bilinear",
                        align_corners=False)
    return big[:, 0, factor:-factor, factor:-factor]


def radial_spectrum(images, factor: int = 1, bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectrum of mean-removed square images, normalised to unit total power.

    Parameters
    ----------
    images : array, shape (N, S, S)
    factor : int
        Resolution relative to the training grid; frequencies are multiplied by it.
    bins : int, optional
        Radial bins from 0 to the image's Nyquist frequency (default ``S // 2``).

    Returns
    -------
    freq : ndarray, shape (bins,)
        Bin centres in cycles per training-grid cell.
    power : ndarray, shape (bins,)
        Mean power per bin (averaged over images), summing to 1 over all bins.
    """
    x = np.asarray(images, dtype=np.float64)
    if x.ndim != 3 or x.shape[1] != x.shape[2]:
        raise ValueError(f"images must have shape (N, S, S), got {x.shape}")
    s = x.shape[1]
    bins = bins or s // 2
    x = x - x.mean(axis=(1, 2), keepdims=True)
    power = (np.abs(np.fft.fft2(x)) ** 2).mean(0)
    f = np.fft.fftfreq(s)
    radius = np.hypot(f[:, None], f[None, :])
    edges = np.linspace(0, 0.5, bins + 1)
    which = np.clip(np.digitize(radius, edges) - 1, 0, bins - 1)
    inside = radius <= 0.5
    total = np.bincount(which[inside], power[inside], bins)
    count = np.bincount(which[inside], minlength=bins)
    mean = total / np.maximum(count, 1)
    return (edges[:-1] + edges[1:]) / 2 * factor, mean / mean.sum()


def spectrum_distance(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> float:
    """Total-variation distance between two spectra over the band they share, in [0, 1].

    ``a`` is interpolated at ``b``'s bins inside ``a``'s range; both are
    renormalised to unit power over that band (so a spectrum that extends to
    higher frequencies, from a finer grid, is compared on the part it shares),
    and the result is half the summed absolute difference: the fraction of
    power that sits at the wrong frequencies. Non-finite input gives NaN.
    """
    fa, pa = a
    fb, pb = b
    band = (fb >= fa.min()) & (fb <= fa.max()) & (fb > 0)
    if not band.any():
        raise ValueError("the two spectra share no frequency band")
    qa = np.interp(fb[band], fa, pa)
    qb = pb[band]
    return float(0.5 * np.abs(qa / qa.sum() - qb / qb.sum()).sum())


# Ways to get a texture on a grid k times finer than the training grid.
METHODS = {
    "rescaled perception": "the rule on the k-times finer grid, gradients x k and Laplacian x k^2, same steps",
    "rescaled, dt=1/k": "as above with increments x 1/k and k times as many steps",
    "rescaled PDE, dt=1/k²": ("rescaled perception, every cell updated by the expected increment (mean field), "
                              "increments x 1/k^2 and k^2 times as many steps, from small noise"),
    "unscaled rule": "the rule on the k-times finer grid as trained (per-cell filters), same steps",
    "bilinear upsampling": "the training-resolution result upsampled k times",
}


# Standard deviation of the start state of mean-field runs: a synchronous update
# of a uniform grid stays uniform, so something must break the symmetry.
MEAN_FIELD_NOISE = 0.1


@torch.no_grad()
def grow(model, size: int, steps: int, scale: float = 1.0, dt: float = 1.0, n: int = 4, seed: int = 0,
         mean_field: bool = False, threads: int | None = 1) -> np.ndarray:
    """Grow ``n`` textures on ``size``-square grids; the images (channel 0 + 0.5, clipped) ``(n, size, size)``.

    The grids start empty, or, with ``mean_field``, at Gaussian noise of
    standard deviation :data:`MEAN_FIELD_NOISE`.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, model.channels, size, size)
    if mean_field:
        x = torch.randn(x.shape, generator=g) * MEAN_FIELD_NOISE
    with torch_threads(threads):
        x = model(x, steps, generator=g, scale=scale, dt=dt, mean_field=mean_field)
    return (x[:, 0] + 0.5).clamp(0, 1).numpy()


def transfer(model, base: int, k: int, steps: int, method: str, n: int = 4, seed: int = 0) -> np.ndarray:
    """Textures on a ``base * k`` grid by one of :data:`METHODS` (k = 1 gives the training-resolution result)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    check_int(k, "k", low=1)
    if method == "rescaled perception":
        return grow(model, base * k, steps, scale=k, n=n, seed=seed)
    if method == "rescaled, dt=1/k":
        return grow(model, base * k, steps * k, scale=k, dt=1.0 / k, n=n, seed=seed)
    if method == "rescaled PDE, dt=1/k²":
        return grow(model, base * k, steps * k * k, scale=k, dt=1.0 / (k * k), n=n, seed=seed, mean_field=True)
    if method == "unscaled rule":
        return grow(model, base * k, steps, n=n, seed=seed)
    return upsample(torch.from_numpy(grow(model, base, steps, n=n, seed=seed)), k).clamp(0, 1).numpy()
