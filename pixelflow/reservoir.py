"""Reservoir: encode a batch, evolve it under a fixed CA rule, record features."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pixelflow.backends import get_backend, to_device
from pixelflow.config import ReservoirConfig
from pixelflow.encoders import get_encoder
from pixelflow.inputs import array_module, check_batch
from pixelflow.memory import ensure_fits
from pixelflow.recording import avg_pool  # noqa: F401  (public here since 0.1)
from pixelflow.rules import default_init, get_rule
from pixelflow.rules.registry import Grid, StepContext

# The automatic chunk keeps a step's working set (state size x the rule's
# working_copies) near this size: measured on a 2-core CPU, random_nca at
# 32x32x8 ran ~3x faster with 16-sample chunks than with 128.
CHUNK_TARGET_BYTES = 16 * 2**20
MAX_AUTO_CHUNK = 4096

# Independent random streams derived from the one seed.
RULE_STREAM = 0
ENCODER_STREAM = 1


@dataclass(frozen=True)
class _Prepared:
    """What depends on the sample shape: built once, reused for every chunk."""

    sample_shape: tuple
    grid: Grid
    encoder_fixed: dict
    rule_weights: dict


class Reservoir:
    """A fixed cellular-automaton reservoir.

    Parameters
    ----------
    config : ReservoirConfig
    backend : str
        ``"cpu"`` (default), ``"numpy"`` or ``"cuda"``; see
        :func:`pixelflow.backends.available_backends`.
    progress : bool or None
        Show a tqdm bar over chunks; ``None`` shows one for more than four
        chunks.

    Attributes
    ----------
    input_shape_ : tuple or None
        Shape of one sample, fixed by the first call to :meth:`transform`;
        later calls must match it.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow import Reservoir, ReservoirConfig
    >>> cfg = ReservoirConfig(width=16, height=16, channels=4, steps=4, rule="wave")
    >>> Reservoir(cfg).transform(np.zeros((3, 28, 28))).shape
    (3, 1024)
    """

    def __init__(self, config: ReservoirConfig, backend: str = "cpu", progress: bool | None = None):
        if not isinstance(config, ReservoirConfig):
            raise TypeError(f"config must be a ReservoirConfig, got {type(config).__name__}")
        self.config = config
        self.backend = get_backend(backend)
        self.progress = progress
        self.input_shape_: tuple | None = None
        self._rule = get_rule(config.rule)
        self._rule_params = self._rule.resolve(config.rule_params)
        self._encoder = get_encoder(config.input_encoding)
        self._encoder_params = self._encoder.resolve(config.encoder_params)
        self._dtype = np.dtype(config.dtype)
        self._prepared: _Prepared | None = None
        # Fused kernels implement per-channel feature maps; channel products
        # (and rules without a kernel) run the numpy path.
        self._kernel = self.backend.fused_kernel(self._rule) if config.recording.pointwise else None
        ensure_fits(
            self._sample_bytes() * self._rule.working_copies,
            f"one {config.height}x{config.width}x{config.channels} grid",
            "use a smaller grid or fewer channels",
        )
        ensure_fits(config.n_features * 4, f"one feature row ({config.n_features} features)",
                    "record fewer steps, pool, or use fewer feature maps")

    @property
    def feature_dim(self) -> int:
        """Length of a feature row (``ReservoirConfig.n_features``)."""
        return self.config.n_features

    def __repr__(self) -> str:
        return f"Reservoir({self.config!r}, backend={self.backend.name!r})"

    def __getstate__(self):
        return {"config": self.config, "backend": self.backend.name, "progress": self.progress,
                "input_shape_": self.input_shape_}

    def __setstate__(self, state):
        self.__init__(state["config"], state["backend"], state["progress"])
        self.input_shape_ = state["input_shape_"]

    def _sample_bytes(self) -> int:
        c = self.config
        return c.channels * c.height * c.width * self._dtype.itemsize

    def chunk_size(self) -> int:
        """Samples evolved at once (the config's, or a working set of ~16 MiB).

        A fused kernel keeps one state per thread, so its chunk holds only
        the encoded input (about one state per sample).
        """
        if self.config.chunk_size is not None:
            return self.config.chunk_size
        per_sample = self._sample_bytes() * (1 if self._kernel is not None else self._rule.working_copies)
        return int(max(1, min(MAX_AUTO_CHUNK, CHUNK_TARGET_BYTES // per_sample)))

    def _check_sample_shape(self, sample_shape: tuple) -> int:
        """Refuse a sample shape this reservoir cannot take (changes nothing); the input channel count."""
        if self.input_shape_ is not None and sample_shape != self.input_shape_:
            raise ValueError(
                f"X has samples of shape {sample_shape}, but this reservoir was first used with "
                f"{self.input_shape_}; make a new Reservoir for a different input shape"
            )
        c = self.config
        cin = self._encoder.input_channels(sample_shape, self._encoder_params)
        capacity = self._rule.input_capacity(c.channels)
        if cin > capacity:
            raise ValueError(
                f"encoder {c.input_encoding!r} gives {cin} input channel(s) for samples of shape "
                f"{sample_shape}, but rule {c.rule!r} with channels={c.channels} takes at most {capacity}; "
                f"increase channels"
            )
        return cin

    def _prepare(self, sample_shape: tuple) -> _Prepared:
        cin = self._check_sample_shape(sample_shape)
        if self._prepared is not None:
            return self._prepared
        c = self.config
        grid = Grid(channels=c.channels, height=c.height, width=c.width, input_channels=cin)
        enc_rng = np.random.default_rng([c.seed, ENCODER_STREAM])
        rule_rng = np.random.default_rng([c.seed, RULE_STREAM])
        fixed = self._encoder.build(self._encoder_params, sample_shape, (c.height, c.width), enc_rng) if self._encoder.build else {}
        weights = self._rule.build(self._rule_params, grid, rule_rng) if self._rule.build else {}
        self._prepared = _Prepared(
            sample_shape=sample_shape,
            grid=grid,
            encoder_fixed=to_device(fixed, self.backend, self._dtype),
            rule_weights=to_device(weights, self.backend, self._dtype),
        )
        self.input_shape_ = sample_shape
        return self._prepared

    @contextlib.contextmanager
    def _first_use(self):
        """Undo the shape lock of a first call that fails, so the reservoir stays usable."""
        fresh = self._prepared is None
        try:
            yield
        except BaseException:
            if fresh:
                self._prepared = None
                self.input_shape_ = None
            raise

    def encode(self, X) -> np.ndarray:
        """The encoder's drive of every sample, exactly as the rule receives it.

        For mirrors of a rule in another framework (``pixelflow.nca.learned_reservoir``):
        the encoder is fixed, so its output can be computed here once.

        Parameters
        ----------
        X : array-like, shape (N, F), (N, H, W) or (N, H, W, C)

        Returns
        -------
        ndarray, shape (N, input channels, height, width)
            In the config's ``dtype``; row ``i`` equals ``encode(X[i:i+1])[0]``.
        """
        X = check_batch(X, self._dtype)
        with self._first_use():
            prep = self._prepare(X.shape[1:])
            drive = self._context(self.backend.asarray(X, dtype=self._dtype), prep).drive
        return self.backend.to_numpy(drive)

    def rule_weights(self, sample_shape) -> dict[str, np.ndarray]:
        """The rule's fixed weights for samples of ``sample_shape`` (host copies, config ``dtype``).

        The same arrays :meth:`transform` uses, drawn from the config's seed
        (empty for rules without weights).
        """
        prep = self._prepare(tuple(int(s) for s in sample_shape))
        return {k: np.array(self.backend.to_numpy(v)) if hasattr(v, "shape") else v
                for k, v in prep.rule_weights.items()}

    def _context(self, x, prep: _Prepared) -> StepContext:
        xp = self.backend.xp
        c = self.config
        drive = self._encoder.encode(x, self._encoder_params, prep.encoder_fixed, (c.height, c.width), xp)
        return StepContext(xp=xp, params=self._rule_params, weights=prep.rule_weights, drive=drive, grid=prep.grid)

    def _evolve(self, x, prep: _Prepared):
        """Yield ``(t, state)`` for t = 0 .. steps on a backend chunk ``x``."""
        ctx = self._context(x, prep)
        init = self._rule.init or default_init
        state = self._checked(init(ctx.drive, ctx), len(x), "init")
        yield 0, state
        for t in range(1, self.config.steps + 1):
            state = self._checked(self._rule.step(state, ctx), len(x), "step")
            yield t, state

    def _checked(self, state, n: int, hook: str):
        c = self.config
        expected = (n, c.channels, c.height, c.width)
        if tuple(state.shape) != expected:
            raise ValueError(f"rule {c.rule!r} {hook} returned shape {tuple(state.shape)}, expected {expected}")
        # A user rule may promote to float64 (NumPy scalars do); keep the declared precision.
        return state.astype(self._dtype, copy=False)

    def _write_features(self, x, prep: _Prepared, out: np.ndarray) -> None:
        """Features of a backend chunk ``x`` into the host rows ``out`` (a fused kernel writes them directly)."""
        xp = self.backend.xp
        if self._kernel is not None:
            ctx = self._context(x, prep)
            self._kernel(ctx.drive, ctx, self.config.recording, out)
            return
        recording = self.config.recording
        rows = [recording.features(state, xp) for t, state in self._evolve(x, prep) if t in recording.steps]
        feats = rows[0] if len(rows) == 1 else xp.concatenate(rows, axis=1)
        feats = feats.astype(np.float32, copy=False)
        out[...] = self.backend.to_numpy(feats) if isinstance(out, np.ndarray) else feats

    def _bar(self, n: int, what: str):
        size = self.chunk_size()
        show = self.progress if self.progress is not None else n > 4 * size
        return tqdm(total=-(-n // size), desc=what, unit="chunk", disable=not show, leave=False)

    def _chunks(self, X: np.ndarray, what: str):
        """Yield ``(start, stop, backend chunk)`` with a progress bar."""
        n, size = len(X), self.chunk_size()
        with self._bar(n, what) as bar:
            for start in range(0, n, size):
                stop = min(n, start + size)
                yield start, stop, self.backend.asarray(X[start:stop], dtype=self._dtype)
                bar.update()

    def _transform_threaded(self, X: np.ndarray, prep: _Prepared, out: np.ndarray, threads: int) -> None:
        """Chunks of the numpy path on ``threads`` threads (numpy and BLAS release the GIL).

        Each chunk is converted, evolved and written by its own task, so at
        most ``threads`` chunks are alive; rows are batch-invariant, so the
        result equals the serial one exactly.
        """
        from concurrent.futures import ThreadPoolExecutor, as_completed

        n, size = len(X), self.chunk_size()

        def task(start):
            stop = min(n, start + size)
            self._write_features(self.backend.asarray(X[start:stop], dtype=self._dtype), prep, out[start:stop])
            self._check_finite(out[start:stop], start)

        with self._bar(n, "reservoir") as bar, ThreadPoolExecutor(threads) as pool:
            for done in as_completed([pool.submit(task, start) for start in range(0, n, size)]):
                done.result()
                bar.update()

    def transform(self, X) -> np.ndarray:
        """Features of every sample.

        Parameters
        ----------
        X : array-like, shape (N, F), (N, H, W) or (N, H, W, C)
            Vectors or images (channels-last), any real dtype.

            A CuPy array on ``backend="cuda"`` stays on the GPU: it is
            encoded, evolved and recorded there, and the features come back
            as a CuPy array (ready for :class:`RidgeReadout` on the device).

            A dask array (chunked along samples) gives a lazy dask array of
            the same features, one task per row chunk, computed wherever
            dask runs them (see :mod:`pixelflow.scaleout.arrays`).

        Returns
        -------
        ndarray of float32, shape (N, feature_dim)
            Row ``i`` is ``[recorded step][feature map][channel][row][col]``
            flattened (see :mod:`pixelflow.recording`);
            identical to ``transform(X[i:i+1])[0]``. A CuPy array for CuPy
            input; a dask array, bit-identical once computed, for dask input.
        """
        # Imported here: pixelflow.scaleout imports the protocol, which imports this module.
        from pixelflow.scaleout.optional import is_dask_array

        if is_dask_array(X):
            from pixelflow.scaleout.arrays import transform

            return transform(self, X)
        X = check_batch(X, self._dtype)
        xp = array_module(X)
        if xp is not np and xp is not self.backend.xp:
            raise TypeError(f"X is a GPU array, but this reservoir runs on backend {self.backend.name!r}; "
                            "use backend='cuda' or pass a numpy array")
        n = len(X)
        # Checked before the empty-batch answer: a shape refused for one sample is refused for none.
        self._check_sample_shape(X.shape[1:])
        if n == 0:
            return xp.zeros((0, self.feature_dim), dtype=np.float32)
        if xp is np:
            ensure_fits(
                n * self.feature_dim * 4,
                f"the ({n}, {self.feature_dim}) float32 feature matrix",
                "record fewer steps, pool, or transform in batches",
            )
        with self._first_use():
            prep = self._prepare(X.shape[1:])
            out = xp.empty((n, self.feature_dim), dtype=np.float32)
            threads = 1 if self._kernel is not None else self.backend.chunk_threads()
            with self._one_blas_thread():
                if threads > 1 and n > self.chunk_size():
                    self._transform_threaded(X, prep, out, threads)
                else:
                    for start, stop, x in self._chunks(X, "reservoir"):
                        self._write_features(x, prep, out[start:stop])
                        self._check_finite(out[start:stop], start)
        return out

    def _check_finite(self, rows, start: int) -> None:
        """Refuse features that overflowed or diverged (the input was finite): never return silent inf/NaN."""
        xp = array_module(rows)
        finite = xp.isfinite(rows).all(axis=1)
        if bool(finite.all()):
            return
        c = self.config
        bad = start + int(xp.argmin(finite))
        maps = ", ".join(name for name, _ in c.recording.maps)
        raise ValueError(
            f"the features of sample {bad} are not finite although X is: rule {c.rule!r} diverged, or a feature map "
            f"({maps}) overflowed float32; scale X down or change rule_params"
        )

    def run(self, U, *, washout=0, state=None, write="add", return_state=False):
        """Drive the reservoir with sequences: one feature row per time step.

        At each time step the input vector is encoded (use
        ``input_encoding="mask"`` for a fixed sparse random input mask),
        written into the current state, and the rule advances
        ``config.steps`` updates; ``config.record`` picks the recorded
        states of those updates (0 = just after the write). See
        :mod:`pixelflow.driven`.

        Parameters
        ----------
        U : array-like, shape (T, d) or (N, T, d)
            One sequence, or a batch of sequences run side by side; each
            starts from its own state, so row ``n`` of a batch equals
            running sequence ``n`` alone, bit for bit.
        washout : int
            Leading time steps that are evolved but not returned.
        state : array, shape (channels, height, width) or (N, channels, height, width), optional
            Continue from this state (a previous call's ``return_state``);
            ``None`` starts every sequence from the rule's rest state, so
            calls do not influence each other.
        write : {"add", "replace", "xor"}
            How the encoded input enters the state (see :mod:`pixelflow.driven`).
        return_state : bool
            Also return the final state, to continue later — what
            teacher-forced warm-up followed by closed-loop generation needs
            (:func:`pixelflow.timeseries.generate`).

        Returns
        -------
        features : ndarray of float32, shape (T - washout, feature_dim) or (N, T - washout, feature_dim)
            Row ``t`` has seen ``U[..., :t + 1, :]``. ``run(U[:a], return_state=True)``
            followed by ``run(U[a:], state=...)`` gives the rows of ``run(U)``.
        state : ndarray, only with ``return_state=True``
            The state after the last time step.

        Examples
        --------
        >>> import numpy as np
        >>> from pixelflow import Reservoir, ReservoirConfig
        >>> cfg = ReservoirConfig(width=8, height=8, channels=4, steps=2, rule="wave",
        ...                       input_encoding="mask", encoder_params={"density": 0.2})
        >>> Reservoir(cfg).run(np.random.default_rng(0).random((100, 1)), washout=10).shape
        (90, 256)
        """
        from pixelflow import driven

        return driven.run(self, U, washout=washout, state=state, write=write, return_state=return_state)

    def _one_blas_thread(self):
        """Host BLAS on one thread while we run.

        The built-in rules and encoders call no BLAS (their products sum in a
        fixed order, :mod:`pixelflow.fixed_order`), so their features are
        batch-invariant on any BLAS. A user's rule may call one; one BLAS
        thread then at least keeps its rounding from depending on the thread
        count, and keeps chunk threads from oversubscribing the cores (the
        parallelism is across chunks or inside fused kernels).
        """
        if self.backend.xp is not np:
            return contextlib.nullcontext()
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=1, user_api="blas")

    def states(self, X) -> np.ndarray:
        """The full trajectory, for pictures and analysis.

        Returns
        -------
        ndarray, shape (N, steps + 1, channels, height, width)
            Every state from the initial one (t = 0) to the last, in the
            config's ``dtype``.
        """
        X = check_batch(X, self._dtype)
        c = self.config
        shape = (len(X), c.steps + 1, c.channels, c.height, c.width)
        self._check_sample_shape(X.shape[1:])
        if len(X) == 0:
            return np.zeros(shape, dtype=self._dtype)
        ensure_fits(int(np.prod(shape)) * self._dtype.itemsize, f"a trajectory of shape {shape}", "pass fewer samples")
        out = np.empty(shape, dtype=self._dtype)
        with self._first_use(), self._one_blas_thread():
            prep = self._prepare(X.shape[1:])
            for start, stop, x in self._chunks(X, "trajectory"):
                for t, state in self._evolve(x, prep):
                    out[start:stop, t] = self.backend.to_numpy(state)
        return out

    def provenance(self) -> dict[str, Any]:
        """The config as a plain dict, plus backend and device (for results files)."""
        return {**self.config.to_dict(), "backend": self.backend.name, "device": self.backend.describe()}
