"""Portilla–Simoncelli texture statistics, and a distance read against the texture's own spread.

A texture is a stationary random field, so two pieces of the same texture are
not equal pixel by pixel, only in their statistics. Portilla & Simoncelli
(2000, "A parametric texture model based on joint statistics of complex
wavelet coefficients") name a set of statistics that suffices for human
observers: marginal moments of the image at several scales, local
autocorrelations of a steerable pyramid's bands and of their magnitudes, and
correlations across scales and orientations. They have no learned weights,
so a score built on them depends on no network and no seed. The statistics
are computed by ``plenoptic`` (``plenoptic.models.PortillaSimoncelli``).

:class:`TextureDistance` turns them into one number per image: each
statistic is standardised by its mean and sample spread over reference
pieces of the texture, and the distance is the root mean square of those
z-scores. Another piece of the same texture therefore scores about 1 ("as
far as the texture is from itself"), whatever the statistic's units; an image
with the right grey-level histogram and the wrong structure does not.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> def stripes(n):  # vertical stripes of random phase with a little noise
...     phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
...     x = np.arange(32)[None, None, :]
...     return 0.5 + 0.4 * np.sin(2 * np.pi * x / 8 + phase) + 0.02 * rng.standard_normal((n, 32, 32))
>>> distance = TextureDistance(TextureStatistics(32)).fit(stripes(24))
>>> bool(distance.score_samples(stripes(4)).max() < 2.0)
True
>>> bool(distance.score_samples(np.swapaxes(stripes(4), 1, 2)).min() > 10.0)  # horizontal stripes
True
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_int

__all__ = ["TextureDistance", "TextureStatistics", "largest_scales"]


def largest_scales(size: int, spatial_corr_width: int, most: int = 4) -> int:
    """The most pyramid scales (up to ``most``) a ``size``-pixel image supports for this correlation width.

    Each scale halves the image; the coarsest band must still be a whole
    number of pixels at least ``spatial_corr_width`` wide, the window of its
    autocorrelation.

    >>> largest_scales(48, 7), largest_scales(64, 7), largest_scales(128, 7), largest_scales(48, 5)
    (2, 3, 4, 3)
    """
    n = 0
    while n < most and size % 2 ** (n + 1) == 0 and size // 2 ** (n + 1) >= spatial_corr_width:
        n += 1
    if n == 0:
        raise ValueError(f"a {size}-pixel image cannot hold one pyramid scale with spatial_corr_width="
                         f"{spatial_corr_width}: it needs an even size of at least {2 * spatial_corr_width}")
    return n


class TextureStatistics:
    """Portilla–Simoncelli statistics of square grey images, one float64 row per image.

    Parameters
    ----------
    size : int
        Side of the images, in pixels.
    n_scales : int, optional
        Pyramid scales; default :func:`largest_scales` (at most 4, the
        original model's).
    n_orientations : int
        Orientations per scale (4 in the original model).
    spatial_corr_width : int
        Width of the autocorrelation windows (7 in the original paper's figures).

    Notes
    -----
    Every image is computed on its own (its row does not depend on the rest
    of the batch). A constant image has no texture statistics (several divide
    by its variance): its whole row is NaN.
    """

    def __init__(self, size: int, n_scales: int | None = None, n_orientations: int = 4,
                 spatial_corr_width: int = 7):
        self.size = check_int(size, "size", low=8)
        self.n_orientations = check_int(n_orientations, "n_orientations", low=1)
        self.spatial_corr_width = check_int(spatial_corr_width, "spatial_corr_width", low=1)
        most = largest_scales(self.size, self.spatial_corr_width)
        self.n_scales = most if n_scales is None else check_int(n_scales, "n_scales", low=1)
        if self.n_scales > most:
            raise ValueError(f"n_scales={n_scales} is more than a {self.size}-pixel image holds with "
                             f"spatial_corr_width={self.spatial_corr_width}; at most {most}")
        self._model = None

    def _ps(self):
        if self._model is None:
            from plenoptic.models import PortillaSimoncelli

            self._model = PortillaSimoncelli((self.size, self.size), n_scales=self.n_scales,
                                             n_orientations=self.n_orientations,
                                             spatial_corr_width=self.spatial_corr_width)
        return self._model

    def check_images(self, images) -> np.ndarray:
        """``images`` as float32 ``(N, size, size)``; accepts ``(N, 1, size, size)`` and torch tensors.

        Raises
        ------
        ValueError
            For another shape, an empty batch, or values that are not finite.
        TypeError
            For values that are not numbers.
        """
        if hasattr(images, "detach"):
            images = images.detach().cpu().numpy()
        a = np.asarray(images)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"images must be numbers, got dtype {a.dtype}")
        if a.ndim == 4 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 3 or a.shape[1:] != (self.size, self.size) or len(a) == 0:
            raise ValueError(f"images must have shape (N, {self.size}, {self.size}) or (N, 1, {self.size}, "
                             f"{self.size}) with N >= 1, got {tuple(np.shape(images))}")
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            raise ValueError("images hold NaN or infinite values")
        return a

    def __call__(self, images) -> np.ndarray:
        """The statistics ``(N, n_statistics)`` of ``images`` (see :meth:`check_images`)."""
        import torch

        from pixelflow.threads import torch_threads

        a = self.check_images(images)
        rows = []
        with torch.no_grad(), torch_threads(1):  # one image at a time, one thread: no batch or BLAS effects
            for image in a:
                rows.append(self._ps()(torch.from_numpy(image)[None, None]).reshape(-1).double().numpy())
        out = np.stack(rows)
        out[~np.isfinite(out).all(axis=1)] = np.nan  # a statistic that divides by a zero variance: none hold
        return out

    @property
    def n_statistics(self) -> int:
        """How many statistics a row holds."""
        return int(self(np.random.default_rng(0).random((1, self.size, self.size))).shape[1])

    def groups(self) -> dict[str, np.ndarray]:
        """Which columns of a row belong to which kind of statistic, by plenoptic's names.

        ``pixel_statistics`` (mean, variance, skew, kurtosis, minimum and maximum
        of the image), ``auto_correlation_magnitude`` and
        ``auto_correlation_reconstructed`` (local autocorrelations of the band
        magnitudes and of the low-pass images), ``cross_orientation_*`` and
        ``cross_scale_*`` (correlations between bands), the low-pass images'
        moments and the high-pass residual's variance.
        """
        import torch

        positions = torch.arange(self.n_statistics, dtype=torch.float32)[None, None]
        out = {}
        for name, values in self._ps().convert_to_dict(positions).items():
            values = values[torch.isfinite(values)]
            out[name] = np.unique(values.numpy().astype(np.int64))
        return out


class TextureDistance:
    """Distance of images to a texture, in units of the texture's own spread of statistics.

    Parameters
    ----------
    statistics : TextureStatistics
        What is measured of every image.
    min_spread : float
        Statistics whose sample standard deviation over the reference images
        is at most ``min_spread`` times their typical magnitude are the same for
        every piece of the texture (normalised ones, by construction) and are
        left out: a z-score would divide by zero.

    Attributes
    ----------
    mean_, spread_ : ndarray
        Mean and sample standard deviation (``ddof=1``) of each kept statistic
        over the reference images.
    kept_ : ndarray of bool
        Which statistics are kept.
    n_reference_ : int
        Reference images seen by :meth:`fit`.
    """

    def __init__(self, statistics: TextureStatistics, min_spread: float = 1e-9):
        if not isinstance(statistics, TextureStatistics):
            raise TypeError(f"statistics must be a TextureStatistics, got {type(statistics).__name__}")
        if not (isinstance(min_spread, (int, float)) and 0.0 <= min_spread < 1.0):
            raise ValueError(f"min_spread must be a number in [0, 1), got {min_spread!r}")
        self.statistics = statistics
        self.min_spread = float(min_spread)

    def fit(self, reference) -> TextureDistance:
        """Learn each statistic's mean and spread over ``reference``: at least 3 pieces of the texture.

        Raises
        ------
        ValueError
            For fewer than 3 images, or a constant reference image (it has no statistics).
        """
        s = self.statistics(reference)
        if len(s) < 3:
            raise ValueError(f"fit needs at least 3 reference images to measure a spread, got {len(s)}")
        if not np.isfinite(s).all():
            raise ValueError("a reference image is constant: it has no texture statistics")
        mean, spread = s.mean(0), s.std(0, ddof=1)
        kept = spread > self.min_spread * np.maximum(np.abs(mean), 1.0)
        self.mean_, self.spread_, self.kept_ = mean[kept], spread[kept], kept
        self.n_reference_ = len(s)
        return self

    def z_scores(self, images) -> np.ndarray:
        """Each kept statistic of each image as a z-score ``(N, n_kept)``; NaN rows for constant images."""
        if not hasattr(self, "kept_"):
            raise ValueError("this TextureDistance is not fitted yet: call fit(reference) first")
        return (self.statistics(images)[:, self.kept_] - self.mean_) / self.spread_

    def group_scores(self, images) -> dict[str, np.ndarray]:
        """Root-mean-square z-score per image within each kind of statistic (:meth:`TextureStatistics.groups`).

        Says *what* about an image is unlike the texture: its grey levels
        (``pixel_statistics``), its local structure (autocorrelations) or how
        its scales and orientations relate. Kinds with no kept statistic are
        left out.
        """
        z = self.z_scores(images)
        column = np.full(self.kept_.size, -1)
        column[self.kept_] = np.arange(int(self.kept_.sum()))
        out = {}
        for name, members in self.statistics.groups().items():
            cols = column[members]
            cols = cols[cols >= 0]
            if cols.size:
                out[name] = np.sqrt(np.mean(z[:, cols] ** 2, axis=1))
        return out

    def score_samples(self, images) -> np.ndarray:
        """Root-mean-square z-score per image (lower is closer; about 1 for a piece of the texture).

        A constant image scores ``inf``: it has none of the texture's statistics.
        """
        z = self.z_scores(images)
        out = np.sqrt(np.mean(z**2, axis=1))
        return np.where(np.isfinite(out), out, np.inf)
