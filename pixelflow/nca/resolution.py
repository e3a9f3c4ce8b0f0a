"""Comparing textures across grid resolutions: upsampling and radially averaged power spectra.

A pattern of the same physical size covers ``k`` times more cells on a grid
``k`` times finer, so its spectrum moves to ``1/k`` of the frequency in
cycles per cell. :func:`radial_spectrum` therefore reports frequency in
cycles per *training-grid* cell (cycles per cell times ``k``), which puts
the spectra of all resolutions on one axis.

:func:`true_texture` is what a texture ``k`` times finer really looks like:
the Gray-Scott equations solved on a ``k`` times finer grid, or the gravel
photograph reduced ``k`` times less. :func:`transfer` gets a finer texture
from a rule trained at one resolution in one of several ways
(:data:`METHODS`); :func:`decoded_renders` draws a
:class:`~pixelflow.nca.decoder.DecodedNCA`'s cells at several resolutions
and measures what each costs; :func:`fit_decoded_texture` trains one.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import torch
from torch.nn import functional as F

from pixelflow.checks import check_int
from pixelflow.threads import torch_threads


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
def grow_states(model, size: int, steps: int, scale: float = 1.0, dt: float = 1.0, n: int = 4, seed: int = 0,
                mean_field: bool = False, threads: int | None = 1) -> torch.Tensor:
    """The cell states ``(n, C, size, size)`` of ``n`` textures grown on ``size``-square grids.

    The grids start empty, or, with ``mean_field``, at Gaussian noise of
    standard deviation :data:`MEAN_FIELD_NOISE`.
    """
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, model.channels, size, size)
    if mean_field:
        x = torch.randn(x.shape, generator=g) * MEAN_FIELD_NOISE
    with torch_threads(threads):
        return model(x, steps, generator=g, scale=scale, dt=dt, mean_field=mean_field)


def grow(model, size: int, steps: int, scale: float = 1.0, dt: float = 1.0, n: int = 4, seed: int = 0,
         mean_field: bool = False, threads: int | None = 1) -> np.ndarray:
    """Grow ``n`` textures (:func:`grow_states`); their images (channel 0 + 0.5, clipped) ``(n, size, size)``."""
    x = grow_states(model, size, steps, scale, dt, n, seed, mean_field, threads)
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


# The Gray-Scott domain (cells of the 1x target) solved for the truth at each factor: the whole target's up to 2x,
# a quarter of it above, where the finer grid's k² times as many steps on k² times as many cells cost most.
_GRAY_SCOTT_DOMAIN = {1: 128, 2: 128, 4: 64, 8: 64}
# The gravel target is the photograph reduced 4 times: its native resolution is 4 times finer.
_GRAVEL_NATIVE = 4


def true_texture(name: str, factor: int) -> np.ndarray | None:
    """The texture ``factor`` times finer than the named training target, or None where none exists.

    ``"gray_scott"``: the same equations solved on a grid ``factor`` times
    finer over the same physical domain
    (:func:`~pixelflow.nca.textures.gray_scott_texture` with ``refine``),
    over the whole 128-cell domain up to ``factor = 2`` and a 64-cell one
    above (``factor`` ∈ {1, 2, 4, 8}). ``"gravel"``: the same region of the
    photograph reduced ``4 / factor`` times instead of 4 (``factor`` ∈ {1,
    2, 4}; the photograph has no finer detail than ``factor = 4``).
    """
    from pixelflow.nca.texture import TEXTURES
    from pixelflow.nca.textures import gray_scott_texture, package_texture

    check_int(factor, "factor", low=1)
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}; available: {', '.join(TEXTURES)}")
    if name == "gray_scott":
        if factor not in _GRAY_SCOTT_DOMAIN:
            raise ValueError(f"factor must be one of {tuple(_GRAY_SCOTT_DOMAIN)} for gray_scott, got {factor}")
        return gray_scott_texture(_GRAY_SCOTT_DOMAIN[factor], refine=factor)
    if _GRAVEL_NATIVE % factor:
        return None
    return package_texture("gravel", 64 * factor, zoom_out=_GRAVEL_NATIVE // factor)


def fit_decoded_texture(model, target, recipe, extractor, factor: int, window: int | None = None,
                        checkpoint=None, progress: bool = True):
    """Train a decoded rule (:class:`~pixelflow.nca.decoder.DecodedNCA`) in place on a texture ``factor`` times finer.

    The rule and the decoder learn together, with the texture recipe's
    settings (:class:`pixelflow.nca.texture.TextureRecipe`: grid, batch,
    rollout steps, pool, learning rate, damage, seed, loss), against the texture of
    ``target``: an image of the texture at the resolution the decoder draws
    (``factor`` pixels per cell), scored on a ``window``-pixel square of the
    image (:class:`pixelflow.nca.texture.DecodedTextureTask`).

    Returns
    -------
    Trainer
        The fitted trainer (its ``history_`` and ``wall_time_s_``).
    """
    from pixelflow.nca.decoder import DecodedNCA
    from pixelflow.nca.style import texture_loss
    from pixelflow.nca.texture import DecodedTextureTask
    from pixelflow.nca.training import Trainer

    if not isinstance(model, DecodedNCA):
        raise TypeError(f"model must be a DecodedNCA, got {type(model).__name__}")
    task = DecodedTextureTask(texture_loss(recipe.loss, target, extractor), model, recipe.grid, factor, window)
    return Trainer(model, task, iterations=recipe.iterations, batch_size=recipe.batch_size, steps=recipe.steps,
                   lr=recipe.lr, pool_size=recipe.pool_size, damage=recipe.damage, seed=recipe.seed,
                   checkpoint=checkpoint, checkpoint_every=100, progress=progress).fit()


def _resident_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets the peak resident set size (Linux >= 4.0)
        return True
    except OSError:
        return False


def measure(fn, repeats: int = 1):
    """Call ``fn()`` ``repeats`` times: its (last) result, the median wall time, and the peak memory a call added.

    The peak is the most resident memory any call held above what the
    process held just before it, read from the kernel's peak resident set
    size after resetting it (Linux); None where the system cannot say. Memory
    the process had already reserved and reuses does not count, so small
    calls can add 0.

    >>> result, seconds, peak = measure(lambda: sum(range(1000)), repeats=2)
    >>> result, seconds >= 0, peak is None or peak >= 0
    (499500, True, True)
    """
    check_int(repeats, "repeats", low=1)
    times, peak, result = [], None, None
    for _ in range(repeats):
        before = _resident_bytes("VmRSS") if _reset_peak() else None
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
        high = _resident_bytes("VmHWM")
        if before is not None and high is not None:
            peak = max(peak or 0, high - before)
    return result, statistics.median(times), peak


@torch.no_grad()
def decoded_renders(model, states: torch.Tensor, factors, repeats: int = 3, threads: int | None = 1) -> dict:
    """A :class:`~pixelflow.nca.decoder.DecodedNCA`'s cells drawn at each factor, with the time and memory it took.

    Parameters
    ----------
    model : DecodedNCA
    states : Tensor, shape (N, C, H, W)
        Grown cells (:func:`grow_states`).
    factors : iterable of int
        Pixels per cell along each axis.
    repeats : int
        Renders per factor; the time reported is their median.

    Returns
    -------
    dict
        factor -> ``{"images"`` (N, H·k, W·k) in [0, 1], ``"seconds"`` (median
        wall time of one render of all N), ``"peak_bytes"`` (the most resident
        memory a render added, see :func:`measure`)``}``.
    """
    check_int(repeats, "repeats", low=1)
    out = {}
    with torch_threads(threads):
        for k in factors:
            k = check_int(k, "factor", low=1)
            image, seconds, peak = measure(lambda k=k: model.image(states, k), repeats)
            out[k] = {"images": image[:, 0].clamp(0, 1).numpy(), "seconds": seconds, "peak_bytes": peak}
    return out
