"""Random convolutional features: a ``random_nca`` reservoir's receptive fields without its recurrence.

After ``t`` updates a cell of a ``random_nca`` reservoir (3×3 perception) has
seen the ``(2t + 1) × (2t + 1)`` neighbourhood of its input. This baseline
asks what the recurrence adds beyond that receptive field: for each kernel
size ``k`` it draws one fixed random filter bank and computes, in a single
layer, the "state"

.. math::

    x_k = \\mathrm{leak} \\cdot \\tanh(\\mathrm{input\\_scale} \\cdot (W_k \\star u) + b_k)

where ``u`` is the reservoir's drive (the ``tile`` encoder with the same
``encoder_params``, through :class:`pixelflow.engine.Engine`), ``⋆`` a
``k × k`` cross-correlation over all input channels with the grid's boundary
(``"periodic"``, random_nca's default, or ``"zero"``), ``W_k`` of shape
``(channels, C_in, k, k)`` with entries ``N(0, gain² / (C_in k²))`` (the fan-in
scaling keeps ``W_k ⋆ u`` near the scale of ``gain × u``, so ``tanh`` works in
its curved range for inputs in [0, 1]) and ``b_k ~ N(0, bias_scale²)`` per
channel. Random convolutional features of this kind are the classic
comparison for random recurrent and reservoir features (Jarrett et al., "What
is the best multi-stage architecture for object recognition?", ICCV 2009;
Saxe et al., "On random weights and unsupervised feature learning",
ICML 2011).

Every ``x_k`` becomes features through
:meth:`pixelflow.recording.Recording.features`, the reservoir's own recording
code (pooling, pointwise maps, channel products); the row holds, for each
kernel size in order, the blocks of the feature maps, as a reservoir's row
holds its recorded steps. A :class:`RandomConvConfig` with the kernel sizes
``2t + 1`` of a reservoir's recorded steps ``t`` therefore has exactly that
reservoir's ``n_features`` (:meth:`RandomConvConfig.matching`).

Weights are drawn from ``numpy.random.default_rng(seed)`` in this order: for
each kernel size in ``kernel_sizes`` order, first ``W_k`` (standard normal,
``(channels, C_in, k, k)`` in C order), then ``b_k`` (standard normal,
``channels``); then both are scaled and rounded to float32. The correlation
is the channel mixing of the ``C_in k²`` shifted copies of the drive
(:func:`pixelflow.linalg.fixed_order.mix_channels`): each output sums its
exact float64 products over the taps in increasing ``(input channel, row
offset, column offset)`` order and is rounded once to float32, per sample,
without a BLAS; a row of features never depends on the rest of the batch.

>>> import numpy as np
>>> cfg = RandomConvConfig(8, 8, channels=2, kernel_sizes=(3, 5))
>>> cfg.n_features  # 2 kernel sizes x 2 channels x 8 x 8
256
>>> cfg.make(progress=False).transform(np.zeros((3, 8, 8))).shape
(3, 256)
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pixelflow.baselines.contract import FixedFeatures, fields_from_dict
from pixelflow.checks import check_int, check_real
from pixelflow.config import ReservoirConfig
from pixelflow.encoders import get_encoder
from pixelflow.engine import Engine
from pixelflow.inputs import check_batch
from pixelflow.linalg.fixed_order import mix_channels
from pixelflow.memory import ensure_fits
from pixelflow.recording import Recording, check_maps
from pixelflow.rules import get_rule

__all__ = ["BOUNDARIES", "KIND", "RandomConvConfig", "RandomConvFeatures", "config_from_dict", "correlate"]

KIND = "random_conv"
BOUNDARIES = ("periodic", "zero")
BACKENDS = ("cpu", "numpy")

# The working set of a chunk of samples (shifted copies of the drive, the
# state and its features) is kept near this size.
CHUNK_TARGET_BYTES = 16 * 2**20
MAX_CHUNK = 1024


def _check_maps(maps, height: int, width: int) -> tuple:
    """``maps`` as ``((name, pool), ...)``, a bare name pooled over 1 × 1 blocks."""
    try:
        maps = check_maps(maps, 1, height, width)
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("ReservoirConfig.", "RandomConvConfig.")) from None
    return tuple((m, 1) if isinstance(m, str) else m for m in maps)


def _check_kernel_sizes(sizes) -> tuple[int, ...]:
    if isinstance(sizes, (str, numbers.Integral)) or not isinstance(sizes, Sequence) or not sizes:
        raise TypeError(f"RandomConvConfig.kernel_sizes must be a non-empty sequence of odd integers, got {sizes!r}")
    out = []
    for k in sizes:
        k = check_int(k, "RandomConvConfig.kernel_sizes entries", low=1)
        if k % 2 == 0:
            raise ValueError(f"RandomConvConfig.kernel_sizes entries must be odd (a cell at the centre), got {k}")
        out.append(k)
    return tuple(out)


@dataclass(frozen=True)
class RandomConvConfig:
    """Fixed random convolutional features of a reservoir's drive, one layer per kernel size.

    Follows the contract of :class:`pixelflow.ReservoirConfig` where the
    protocols use one: ``seed``, :meth:`with_seed`, :meth:`to_dict`,
    :attr:`n_features`, :attr:`rule` and :meth:`make`. See the module's notes
    for the definition.

    Parameters
    ----------
    height, width : int
        Grid size in cells (images are tiled into it as by a reservoir).
    channels : int
        Filters per kernel size (the reservoir's state channels).
    kernel_sizes : sequence of odd int, default (3, 5, 7, 9)
        One filter bank per size, in feature order; ``2t + 1`` is the
        receptive field of a ``random_nca`` state after ``t`` updates.
    gain : float, default 2.0
        Scale of the filters: entries have standard deviation
        ``gain / sqrt(C_in k²)``.
    bias_scale : float, default 0.1
        Standard deviation of the per-channel bias.
    input_scale : float, default 1.0
        Factor on the correlation before the bias and ``tanh``.
    leak : float, default 0.9
        Factor on ``tanh``: a ``random_nca`` state after one update from
        the empty state is ``leak · tanh(z)``; in (0, 1].
    feature_maps : sequence of str or (str, int), default (("state", 1),)
        As :attr:`pixelflow.ReservoirConfig.feature_maps`; a bare name is
        pooled over 1 × 1 blocks.
    encoder_params : dict, default {}
        Parameters of the ``tile`` encoder (``resize``, ``normalize``).
    seed : int, default 0
        Seeds the filters and biases.
    boundary : {"periodic", "zero"}, default "periodic"
        How the correlation reads beyond the grid's edges.

    Examples
    --------
    >>> cfg = RandomConvConfig(28, 28, channels=8, feature_maps=(("state", 7), ("products", 7)))
    >>> cfg.n_features  # 4 kernel sizes x (8 + 36 planes) x 4 x 4 blocks
    2816
    >>> cfg.rule, cfg.with_seed(3).seed
    ('random_conv', 3)
    """

    height: int
    width: int
    channels: int
    kernel_sizes: tuple = (3, 5, 7, 9)
    gain: float = 2.0
    bias_scale: float = 0.1
    input_scale: float = 1.0
    leak: float = 0.9
    feature_maps: tuple = (("state", 1),)
    encoder_params: dict = field(default_factory=dict)
    seed: int = 0
    boundary: str = "periodic"

    def __post_init__(self):
        for name in ("height", "width", "channels"):
            check_int(getattr(self, name), f"RandomConvConfig.{name}", low=1)
        check_int(self.seed, "RandomConvConfig.seed", low=0, high=2**63 - 1)
        object.__setattr__(self, "kernel_sizes", _check_kernel_sizes(self.kernel_sizes))
        for name in ("gain", "bias_scale", "input_scale"):
            object.__setattr__(self, name, check_real(getattr(self, name), f"RandomConvConfig.{name}", low=0.0))
        object.__setattr__(self, "leak", check_real(self.leak, "RandomConvConfig.leak", low=0.0, high=1.0,
                                                    low_open=True))
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"RandomConvConfig.boundary must be one of {', '.join(BOUNDARIES)}, "
                             f"got {self.boundary!r}")
        params = self.encoder_params
        if params is not None and not isinstance(params, Mapping):
            raise TypeError("RandomConvConfig.encoder_params must be a dict of tile encoder parameters (or None), "
                            f"got {type(params).__name__} {params!r}")
        # An own copy, so that changing the caller's dict later cannot change this config.
        object.__setattr__(self, "encoder_params", dict(params or {}))
        get_encoder("tile").resolve(self.encoder_params)
        object.__setattr__(self, "feature_maps", _check_maps(self.feature_maps, self.height, self.width))

    @classmethod
    def matching(cls, config: ReservoirConfig) -> RandomConvConfig:
        """The random convolutional features matched to a ``random_nca`` reservoir.

        The same grid, channels, ``tile`` encoder parameters, feature maps
        (with the reservoir's pooling), seed and ``gain``, ``leak``,
        ``bias_scale``, ``input_scale`` and ``boundary`` (random_nca's
        defaults where the config leaves them out); one kernel of size
        ``2t + 1`` per recorded step ``t``. Its ``n_features`` equals the
        reservoir's.

        Parameters
        ----------
        config : ReservoirConfig
            With ``rule="random_nca"`` and ``input_encoding="tile"``.

        Raises
        ------
        TypeError
            ``config`` is not a ReservoirConfig.
        ValueError
            Another rule or another encoding.

        Examples
        --------
        >>> from pixelflow import ReservoirConfig
        >>> res = ReservoirConfig(14, 14, 8, 4, "random_nca", rule_params={"gain": 2.0}, record=(1, 2, 3, 4),
        ...                       pool=7, feature_maps=("state", "products"))
        >>> conv = RandomConvConfig.matching(res)
        >>> conv.kernel_sizes, conv.gain, conv.leak, conv.n_features == res.n_features
        ((3, 5, 7, 9), 2.0, 0.5, True)
        """
        if not isinstance(config, ReservoirConfig):
            raise TypeError(f"RandomConvConfig.matching needs a ReservoirConfig, got {type(config).__name__}")
        if config.rule != "random_nca":
            raise ValueError(f"RandomConvConfig.matching needs a reservoir with rule 'random_nca', "
                             f"got rule {config.rule!r}")
        if config.input_encoding != "tile":
            raise ValueError(f"RandomConvConfig.matching needs a reservoir with input_encoding 'tile', "
                             f"got {config.input_encoding!r}")
        p = get_rule("random_nca").resolve(config.rule_params)
        return cls(height=config.height, width=config.width, channels=config.channels,
                   kernel_sizes=tuple(2 * t + 1 for t in config.record_steps), gain=p.gain,
                   bias_scale=p.bias_scale, input_scale=p.input_scale, leak=p.leak,
                   feature_maps=config.recording.maps, encoder_params=config.encoder_params, seed=config.seed,
                   boundary=p.boundary)

    @property
    def rule(self) -> str:
        """Short name of the feature map: ``"random_conv"``."""
        return KIND

    @property
    def recording(self) -> Recording:
        """One "recorded step" per kernel size, with this config's feature maps."""
        return Recording(tuple(range(1, len(self.kernel_sizes) + 1)), self.feature_maps)

    @property
    def n_features(self) -> int:
        """Length of one feature row."""
        return self.recording.n_features(self.channels, self.height, self.width)

    def with_seed(self, seed: int) -> RandomConvConfig:
        """The same config with ``seed`` replaced."""
        return dataclasses.replace(self, seed=int(seed))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict with ``"kind": "random_conv"`` and every field."""
        d = dataclasses.asdict(self)
        d["kernel_sizes"] = list(self.kernel_sizes)
        d["feature_maps"] = [list(m) for m in self.feature_maps]
        d["encoder_params"] = dict(self.encoder_params)
        return {"kind": KIND, **d}

    def make(self, backend: str = "cpu", progress: bool | None = None) -> RandomConvFeatures:
        """The transformer of this config (:class:`RandomConvFeatures`)."""
        return RandomConvFeatures(self, backend=backend, progress=progress)


def config_from_dict(d: dict) -> RandomConvConfig:
    """Rebuild a :class:`RandomConvConfig` from its :meth:`~RandomConvConfig.to_dict`.

    >>> cfg = RandomConvConfig(8, 8, 4, feature_maps=("state", ("products", 4)))
    >>> config_from_dict(cfg.to_dict()) == cfg
    True
    """
    d = fields_from_dict(RandomConvConfig, KIND, d)
    if isinstance(d.get("kernel_sizes"), list):
        d["kernel_sizes"] = tuple(d["kernel_sizes"])
    if isinstance(d.get("feature_maps"), list):
        d["feature_maps"] = tuple(m if isinstance(m, str) else tuple(m) for m in d["feature_maps"])
    return RandomConvConfig(**d)


def correlate(u: np.ndarray, weights: np.ndarray, boundary: str = "periodic") -> np.ndarray:
    """``k × k`` cross-correlation of every sample's channels with a filter bank, summed in a fixed order.

    Parameters
    ----------
    u : ndarray, shape (N, C_in, H, W)
        float32 or float64.
    weights : ndarray, shape (C_out, C_in, k, k)
        ``k`` odd; cast to the dtype of ``u``.
    boundary : {"periodic", "zero"}

    Returns
    -------
    ndarray, shape (N, C_out, H, W), dtype of ``u``
        ``out[n, o, i, j] = sum_{c, a, b} weights[o, c, a, b] * u[n, c, i + a - r, j + b - r]``
        with ``r = (k - 1) / 2``, indices wrapped (periodic) or reading 0
        outside the grid; the products are exact in float64 and added over
        increasing ``(c, a, b)`` (:func:`pixelflow.linalg.fixed_order.mix_channels`),
        so row ``n`` depends on ``u[n]`` alone.

    Examples
    --------
    >>> u = np.zeros((1, 1, 4, 4), dtype=np.float32)
    >>> u[0, 0, 0, 0] = 1.0
    >>> w = np.zeros((1, 1, 3, 3), dtype=np.float32)
    >>> w[0, 0, 2, 2] = 5.0  # reads the cell one down and one to the right
    >>> correlate(u, w)[0, 0]
    array([[0., 0., 0., 0.],
           [0., 0., 0., 0.],
           [0., 0., 0., 0.],
           [0., 0., 0., 5.]], dtype=float32)
    """
    if boundary not in BOUNDARIES:
        raise ValueError(f"boundary must be one of {', '.join(BOUNDARIES)}, got {boundary!r}")
    n, cin, h, w = u.shape
    cout, cin_w, k, k2 = weights.shape
    if cin_w != cin or k != k2 or k % 2 == 0:
        raise ValueError(f"correlate needs weights (C_out, {cin}, k, k) with k odd, got shape {weights.shape}")
    r = (k - 1) // 2
    if boundary == "periodic":
        rows, cols = (np.arange(-r, h + r) % h), (np.arange(-r, w + r) % w)
        padded = u[:, :, rows][:, :, :, cols]
    else:
        padded = np.zeros((n, cin, h + 2 * r, w + 2 * r), dtype=u.dtype)
        padded[:, :, r:r + h, r:r + w] = u
    shifted = np.empty((n, cin * k * k, h, w), dtype=u.dtype)
    for c in range(cin):
        for a in range(k):
            for b in range(k):
                shifted[:, (c * k + a) * k + b] = padded[:, c, a:a + h, b:b + w]
    return mix_channels(weights.reshape(cout, cin * k * k), shifted)


class RandomConvFeatures(FixedFeatures):
    """The features of a :class:`RandomConvConfig` (made by :meth:`RandomConvConfig.make`).

    Parameters
    ----------
    config : RandomConvConfig
    backend : {"cpu", "numpy"}
        ``"cpu"`` transforms chunks of samples on numba's threads side by
        side, ``"numpy"`` one after another; the features are the same bits.
    progress : bool or None
        A tqdm bar over chunks; ``None`` shows one for more than four chunks.

    Attributes
    ----------
    n_features : int
        Length of a feature row (``config.n_features``).

    Examples
    --------
    >>> import numpy as np
    >>> f = RandomConvFeatures(RandomConvConfig(6, 6, channels=2, kernel_sizes=(3,)), progress=False)
    >>> F = f.transform(np.random.default_rng(0).random((4, 12, 12)))
    >>> F.shape, bool(np.array_equal(F[2], f.transform(np.random.default_rng(0).random((4, 12, 12))[2:3])[0]))
    ((4, 72), True)
    """

    config_type = RandomConvConfig
    backends = BACKENDS

    def __init__(self, config: RandomConvConfig, backend: str = "cpu", progress: bool | None = None):
        super().__init__(config, backend, progress)
        self._engines: dict[tuple, Engine] = {}
        self._weights: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def __repr__(self) -> str:
        return f"RandomConvFeatures({self.config!r}, backend={self.backend!r})"

    def provenance(self) -> dict[str, Any]:
        """The config and what computed it, for results records."""
        return {**self.config.to_dict(), "backend": self.backend, "device": f"numpy {np.__version__} (CPU)"}

    def encoder(self, sample_shape) -> Engine:
        """The engine that encodes samples of ``sample_shape``: a ``random_nca`` reservoir's, with the ``tile`` encoder.

        Its :meth:`~pixelflow.engine.Engine.context` gives the drive
        ``(N, C_in, height, width)`` in float32, exactly as
        ``Reservoir(ReservoirConfig(..., input_encoding="tile", encoder_params=...)).encode`` gives it.
        """
        shape = tuple(int(s) for s in sample_shape)
        engine = self._engines.get(shape)
        if engine is None:
            c = self.config
            reservoir = ReservoirConfig(width=c.width, height=c.height, channels=c.channels, steps=0,
                                        rule="random_nca", input_encoding="tile", encoder_params=c.encoder_params,
                                        seed=c.seed, dtype="float32")
            engine = Engine(reservoir, "numpy")
            engine.prepare(shape)
            self._engines[shape] = engine
        return engine

    def weights(self, input_channels: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(W_k, b_k), ...]`` per kernel size for a drive of ``input_channels`` channels (float32).

        ``W_k`` has shape ``(channels, input_channels, k, k)`` and ``b_k``
        ``(channels,)``, drawn and scaled as the module's notes say.
        """
        cin = check_int(input_channels, "input_channels", low=1)
        if cin not in self._weights:
            c = self.config
            rng = np.random.default_rng(c.seed)
            bank = []
            for k in c.kernel_sizes:
                W = rng.standard_normal((c.channels, cin, k, k))
                b = rng.standard_normal(c.channels)
                bank.append(((W * (c.gain / np.sqrt(cin * k * k))).astype(np.float32),
                             (b * c.bias_scale).astype(np.float32)))
            self._weights[cin] = bank
        return self._weights[cin]

    def chunk_size(self, input_channels: int) -> int:
        """Samples transformed together (a working set near ``CHUNK_TARGET_BYTES``); features do not depend on it."""
        c = self.config
        k = max(c.kernel_sizes)
        per_sample = 4 * c.height * c.width * (input_channels * (k * k + 1) + 4 * c.channels)
        return int(max(1, min(MAX_CHUNK, CHUNK_TARGET_BYTES // per_sample)))

    def states(self, drive: np.ndarray):
        """Yield ``x_k`` ``(N, channels, height, width)`` float32 for each kernel size, from a drive."""
        c = self.config
        for W, b in self.weights(drive.shape[1]):
            # leak * tanh(input_scale * z + b), each operation rounded to float32, in place.
            x = correlate(drive, W, c.boundary)
            x *= c.input_scale
            x += b[:, None, None]
            np.tanh(x, out=x)
            x *= c.leak
            yield x

    def transform(self, X) -> np.ndarray:
        """Features of every sample.

        Parameters
        ----------
        X : array-like, shape (N, F), (N, H, W) or (N, H, W, C)
            Vectors or images (channels last), any real dtype, as a
            reservoir takes them; tiled into the grid.

        Returns
        -------
        ndarray of float32, shape (N, n_features)
            Row ``i`` is ``[kernel size][feature map][channel or pair][row][col]``
            flattened, equal bit for bit to ``transform(X[i:i+1])[0]``.
        """
        X = check_batch(X, np.float32)
        engine = self.encoder(X.shape[1:])
        cin = engine.prepared.grid.input_channels
        n = len(X)
        ensure_fits(n * self.n_features * 4, f"the ({n}, {self.n_features}) float32 feature matrix",
                    "pool, use fewer feature maps, or transform in batches")
        out = np.empty((n, self.n_features), dtype=np.float32)
        if n == 0:
            return out
        self.weights(cin)
        recording = self.config.recording
        step = len(out[0]) // len(self.config.kernel_sizes)

        def task(start, stop):
            drive = engine.context(np.asarray(X[start:stop], dtype=np.float32)).drive
            for t, state in enumerate(self.states(drive)):
                out[start:stop, t * step:(t + 1) * step] = recording.features(state, np)

        size = self.chunk_size(cin)
        starts = range(0, n, size)
        show = self.progress if self.progress is not None else len(starts) > 4
        threads = 1
        if self.backend == "cpu" and len(starts) > 1:
            import numba

            threads = min(numba.get_num_threads(), len(starts))
        with tqdm(total=len(starts), desc="random conv", unit="chunk", disable=not show, leave=False) as bar:
            if threads == 1:
                for start in starts:
                    task(start, min(n, start + size))
                    bar.update()
            else:
                with ThreadPoolExecutor(threads) as pool:
                    for done in [pool.submit(task, s, min(n, s + size)) for s in starts]:
                        done.result()
                        bar.update()
        return out
