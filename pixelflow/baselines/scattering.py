"""Wavelet scattering features: a fixed, non-learned feature map from the literature.

The scattering transform (Bruna & Mallat, "Invariant scattering convolution
networks", IEEE TPAMI 35(8), 2013; Oyallon & Mallat, "Deep roto-translation
scattering for object classification", CVPR 2015) cascades Morlet wavelet
convolutions and complex moduli, and averages each path with a Gaussian
low-pass filter over ``2**J × 2**J`` pixels:

* order 0: ``x * phi_J`` (one coefficient),
* order 1: ``|x * psi_{j1, θ1}| * phi_J`` for ``j1 < J`` and ``L`` angles
  (``J L`` coefficients),
* order 2: ``||x * psi_{j1, θ1}| * psi_{j2, θ2}| * phi_J`` for
  ``j1 < j2 < J`` (``L² J (J - 1) / 2`` coefficients),

each subsampled by ``2**J`` in both directions. The computation is kymatio's
(Andreux et al., "Kymatio: Scattering transforms in Python", JMLR 21(60),
2020), with its PyTorch frontend on the CPU; images are padded by reflection
as kymatio pads them.

A sample's row is laid out ``[input channel][scattering coefficient][row][col]``
(kymatio's coefficient order: order 0, then order 1, then order 2). Samples
are transformed in blocks of exactly :data:`BLOCK` (the last block
zero-padded), so every call to kymatio has the same shape whatever the batch;
the tests check that a row equals the transform of its sample alone, bit for
bit.

Needs the ``baselines`` extra (``pip install -e ".[baselines]"``: kymatio and
torch).

>>> import numpy as np
>>> cfg = ScatteringConfig(8, 8, J=1, L=4)
>>> cfg.n_features  # 1 channel x (1 + J L) coefficients x 4 x 4
80
>>> cfg.make(progress=False).transform(np.zeros((2, 8, 8), dtype=np.float32)).shape
(2, 80)
"""

from __future__ import annotations

import dataclasses
import functools
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pixelflow.baselines.contract import FixedFeatures, fields_from_dict
from pixelflow.checks import check_int
from pixelflow.inputs import check_batch

__all__ = ["BLOCK", "KIND", "ScatteringConfig", "ScatteringFeatures", "config_from_dict", "n_coefficients"]

KIND = "scattering"

# Samples per call to kymatio; the last block of a batch is zero-padded to it.
# On one torch thread, 128 MNIST images per call ran 1.5x faster than 32.
BLOCK = 128

BACKENDS = ("cpu",)


def n_coefficients(J: int, L: int, max_order: int) -> int:
    """Scattering coefficients per input channel and output pixel.

    ``1 + J L`` for order 1, plus ``L² J (J - 1) / 2`` for order 2.

    >>> n_coefficients(2, 8, 2), n_coefficients(2, 8, 1), n_coefficients(3, 8, 2)
    (81, 17, 217)
    """
    k = 1 + J * L
    if max_order >= 2:
        k += L * L * J * (J - 1) // 2
    return k


@dataclass(frozen=True)
class ScatteringConfig:
    """A 2-D wavelet scattering transform of images (see the module's notes and references).

    Follows the contract of :class:`pixelflow.ReservoirConfig` where the
    protocols use one: ``seed``, :meth:`with_seed`, :meth:`to_dict`,
    :attr:`n_features`, :attr:`rule` and :meth:`make`.

    Parameters
    ----------
    height, width : int
        Image size in pixels; both must be divisible by ``2**J``.
    J : int, default 2
        Number of scales: coefficients are averaged and subsampled over
        ``2**J × 2**J`` pixels (``>= 1``).
    L : int, default 8
        Number of wavelet orientations (``>= 1``).
    max_order : {1, 2}, default 2
        Highest scattering order (orders 0 to ``max_order``).
    channels : int, default 1
        Image channels: 1 for grey ``(N, H, W)`` images, 3 for RGB
        ``(N, H, W, 3)``; each is transformed on its own.
    seed : int, default 0
        Not used by the transform (it has no random parts); kept so that
        the protocols can treat the config like a reservoir's.

    Examples
    --------
    >>> cfg = ScatteringConfig(28, 28)
    >>> cfg.n_features, cfg.rule  # 81 coefficients on a 7 x 7 grid
    (3969, 'scattering')
    >>> ScatteringConfig(32, 32, J=3, channels=3).n_features  # 3 x 217 coefficients x 4 x 4
    10416
    """

    height: int
    width: int
    J: int = 2
    L: int = 8
    max_order: int = 2
    channels: int = 1
    seed: int = 0

    def __post_init__(self):
        for name, low in (("height", 1), ("width", 1), ("J", 1), ("L", 1), ("channels", 1)):
            check_int(getattr(self, name), f"ScatteringConfig.{name}", low=low)
        check_int(self.max_order, "ScatteringConfig.max_order", low=1, high=2)
        check_int(self.seed, "ScatteringConfig.seed", low=0, high=2**63 - 1)
        step = 2**self.J
        if self.height % step or self.width % step:
            raise ValueError(f"ScatteringConfig: height={self.height} and width={self.width} must be divisible by "
                             f"2**J = {step} (J={self.J}); use a smaller J or pad the images")

    @property
    def rule(self) -> str:
        """Short name of the feature map: ``"scattering"``."""
        return KIND

    @property
    def coefficients(self) -> int:
        """Scattering coefficients per channel and output pixel (:func:`n_coefficients`)."""
        return n_coefficients(self.J, self.L, self.max_order)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        """``(channels, coefficients, height / 2**J, width / 2**J)``: one sample's features before flattening."""
        return (self.channels, self.coefficients, self.height >> self.J, self.width >> self.J)

    @property
    def n_features(self) -> int:
        """Length of one feature row."""
        return int(np.prod(self.output_shape))

    def with_seed(self, seed: int) -> ScatteringConfig:
        """The same config with ``seed`` replaced (the same features: the transform has no random parts)."""
        return dataclasses.replace(self, seed=int(seed))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict with ``"kind": "scattering"`` and every field."""
        return {"kind": KIND, **dataclasses.asdict(self)}

    def make(self, backend: str = "cpu", progress: bool | None = None) -> ScatteringFeatures:
        """The transformer of this config (:class:`ScatteringFeatures`)."""
        return ScatteringFeatures(self, backend=backend, progress=progress)


def config_from_dict(d: dict) -> ScatteringConfig:
    """Rebuild a :class:`ScatteringConfig` from its :meth:`~ScatteringConfig.to_dict`.

    >>> cfg = ScatteringConfig(16, 16, J=2, L=4)
    >>> config_from_dict(cfg.to_dict()) == cfg
    True
    """
    d = fields_from_dict(ScatteringConfig, KIND, d)
    return ScatteringConfig(**d)


@functools.lru_cache(maxsize=8)
def _scattering(height: int, width: int, J: int, L: int, max_order: int):
    """kymatio's scattering module for one image size, built once (its filter bank takes ~0.2 s)."""
    # The 2-D frontend directly: ``import kymatio.torch`` also loads the 3-D
    # frontend, which imports ``scipy.special.sph_harm`` (gone from SciPy 1.17).
    from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D

    return ScatteringTorch2D(J=J, shape=(height, width), L=L, max_order=max_order)


def check_images(X, height: int, width: int, channels: int, owner: str) -> np.ndarray:
    """``X`` as float32 images ``(N, channels, height, width)``; refuses any other shape, and NaN or inf.

    Accepted: ``(N, height, width)`` (one channel) and ``(N, height, width, channels)``.
    """
    X = check_batch(X, np.float32)
    expected = f"(N, {height}, {width})" if channels == 1 else ""
    expected += (" or " if expected else "") + f"(N, {height}, {width}, {channels})"
    if X.ndim == 3 and channels == 1 and X.shape[1:] == (height, width):
        return np.ascontiguousarray(X[:, None], dtype=np.float32)
    if X.ndim == 4 and X.shape[1:] == (height, width, channels):
        return np.ascontiguousarray(np.moveaxis(X, -1, 1), dtype=np.float32)
    raise ValueError(f"X has shape {X.shape}, but {owner} takes images of shape {expected} (channels last)")


class ScatteringFeatures(FixedFeatures):
    """The scattering features of a :class:`ScatteringConfig` (made by :meth:`ScatteringConfig.make`).

    Parameters
    ----------
    config : ScatteringConfig
    backend : {"cpu"}
        kymatio's PyTorch frontend on the CPU.
    progress : bool or None
        A tqdm bar over blocks of samples; ``None`` shows one for more than
        four blocks.
    n_threads : int or None
        Blocks transformed side by side, each by torch on one thread
        (torch's thread count is 1 meanwhile, restored afterwards);
        ``None``: numba's thread count, the cores available. The features
        do not depend on it. One torch thread per block rather than torch's
        own threads: on a busy two-core machine, torch on two threads
        transformed 36 MNIST images per second, on one thread 822.

    Attributes
    ----------
    n_features : int
        Length of a feature row (``config.n_features``).

    Examples
    --------
    >>> import numpy as np
    >>> f = ScatteringFeatures(ScatteringConfig(8, 8, J=1, L=2, channels=3), progress=False)
    >>> f.transform(np.ones((3, 8, 8, 3), dtype=np.float32)).shape  # 3 channels x 3 coefficients x 4 x 4
    (3, 144)
    """

    config_type = ScatteringConfig
    backends = BACKENDS

    def __init__(self, config: ScatteringConfig, backend: str = "cpu", progress: bool | None = None,
                 n_threads: int | None = None):
        super().__init__(config, backend, progress)
        if n_threads is not None:
            check_int(n_threads, "n_threads", low=1)
        self.n_threads = n_threads

    def __repr__(self) -> str:
        return f"ScatteringFeatures({self.config!r})"

    def threads(self) -> int:
        """Blocks transformed side by side."""
        if self.n_threads is not None:
            return self.n_threads
        import numba

        return numba.get_num_threads()

    def provenance(self) -> dict[str, Any]:
        """The config and what computed it, for results records."""
        import kymatio
        import torch

        return {**self.config.to_dict(), "backend": self.backend,
                "device": f"kymatio {kymatio.__version__}, torch {torch.__version__} (CPU)"}

    def transform(self, X) -> np.ndarray:
        """Scattering features of every image.

        Parameters
        ----------
        X : array-like, shape (N, height, width) or (N, height, width, channels)
            Grey or channels-last images, any real dtype; computed in float32.

        Returns
        -------
        ndarray of float32, shape (N, n_features)
            Row ``i`` is ``[channel][coefficient][row][col]`` flattened, equal
            bit for bit to ``transform(X[i:i+1])[0]``.
        """
        cfg = self.config
        X = check_images(X, cfg.height, cfg.width, cfg.channels, "this scattering config")
        n = len(X)
        out = np.empty((n, self.n_features), dtype=np.float32)
        if n == 0:
            return out
        import torch

        from pixelflow.threads import torch_threads

        module = _scattering(cfg.height, cfg.width, cfg.J, cfg.L, cfg.max_order)

        def task(start):
            stop = min(n, start + BLOCK)
            block = torch.zeros((BLOCK, *X.shape[1:]), dtype=torch.float32)
            block[: stop - start] = torch.from_numpy(X[start:stop])
            with torch.inference_mode():
                S = module(block)  # (BLOCK, channels, coefficients, rows, cols)
            out[start:stop] = S.reshape(BLOCK, -1)[: stop - start].numpy()

        starts = range(0, n, BLOCK)
        threads = min(self.threads(), len(starts))
        show = self.progress if self.progress is not None else len(starts) > 4
        with torch_threads(1), tqdm(total=len(starts), desc="scattering", unit="block", disable=not show,
                                    leave=False) as bar:
            if threads == 1:
                for start in starts:
                    task(start)
                    bar.update()
            else:
                with ThreadPoolExecutor(threads) as pool:
                    for done in [pool.submit(task, start) for start in starts]:
                        done.result()
                        bar.update()
        return out
