"""Reservoir: encode a batch, evolve it under a fixed CA rule, record features (on an
:class:`~pixelflow.engine.Engine`)."""

from __future__ import annotations

from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pixelflow.config import ReservoirConfig
from pixelflow.engine import Engine
from pixelflow.inputs import array_module, check_batch, is_dask_array
from pixelflow.memory import ensure_fits
from pixelflow.recording import avg_pool  # noqa: F401  (public here since 0.1)
from pixelflow.rules.registry import adopt_rules, check_shippable, shipped_rules


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
        self.progress = progress
        self.engine = Engine(config, backend)
        self.backend = self.engine.backend

    @property
    def input_shape_(self) -> tuple | None:
        """Shape of one sample, fixed by the first call; later calls must match it."""
        return self.engine.sample_shape

    @input_shape_.setter
    def input_shape_(self, shape) -> None:
        self.engine.sample_shape = None if shape is None else tuple(shape)

    @property
    def feature_dim(self) -> int:
        """Length of a feature row (``ReservoirConfig.n_features``)."""
        return self.config.n_features

    def __repr__(self) -> str:
        return f"Reservoir({self.config!r}, backend={self.backend.name!r})"

    def __getstate__(self):
        # A rule registered in a notebook travels with the reservoir: the other process knows only pixelflow's.
        return {"config": self.config, "backend": self.backend.name, "progress": self.progress,
                "input_shape_": self.input_shape_, "rules": shipped_rules([self.config.rule])}

    def __setstate__(self, state):
        adopt_rules(state.get("rules", {}))
        self.__init__(state["config"], state["backend"], state["progress"])
        self.input_shape_ = state["input_shape_"]

    def chunk_size(self) -> int:
        """Samples evolved at once (see :meth:`pixelflow.engine.Engine.chunk_size`)."""
        return self.engine.chunk_size()

    def check_input(self, sample_shape) -> None:
        """Refuse, before any work, samples of a shape this reservoir cannot take, and fix the shape.

        What the Dask layer calls on the client before it builds a graph, so
        that a wrong shape fails there rather than on a worker.
        """
        self.engine.prepare(tuple(int(s) for s in sample_shape))

    def for_workers(self):
        """A fresh copy for other processes (no progress bars), and what identifies it.

        Returns
        -------
        (Reservoir, tuple)
            The copy (its weights rebuilt from the seed where it runs) and
            ``(class name, config, backend name)``: equal reservoirs give
            equal identities, so a task graph can share them.
        """
        check_shippable(shipped_rules([self.config.rule]))
        fresh = type(self)(self.config, self.backend.name, progress=False)
        return fresh, (type(self).__name__, self.config, self.backend.name)

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
        engine = self.engine
        X = check_batch(X, engine.dtype)
        with engine.first_use():
            engine.prepare(X.shape[1:])
            drive = engine.context(self.backend.asarray(X, dtype=engine.dtype)).drive
        return self.backend.to_numpy(drive)

    def rule_weights(self, sample_shape) -> dict[str, np.ndarray]:
        """The rule's fixed weights for samples of ``sample_shape`` (host copies, config ``dtype``).

        The same arrays :meth:`transform` uses, drawn from the config's seed
        (empty for rules without weights).
        """
        prep = self.engine.prepare(tuple(int(s) for s in sample_shape))
        return {k: np.array(self.backend.to_numpy(v)) if hasattr(v, "shape") else v
                for k, v in prep.rule_weights.items()}

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
                yield start, stop, self.backend.asarray(X[start:stop], dtype=self.engine.dtype)
                bar.update()

    def _transform_threaded(self, X: np.ndarray, out: np.ndarray, threads: int) -> None:
        """Chunks of the numpy path on ``threads`` threads (numpy and BLAS release the GIL).

        Each chunk is converted, evolved and written by its own task, so at
        most ``threads`` chunks are alive; rows are batch-invariant, so the
        result equals the serial one exactly.
        """
        from concurrent.futures import ThreadPoolExecutor, as_completed

        n, size = len(X), self.chunk_size()

        def task(start):
            stop = min(n, start + size)
            self.engine.features(self.backend.asarray(X[start:stop], dtype=self.engine.dtype), out[start:stop])
            self.engine.check_finite(out[start:stop], start)

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
        if is_dask_array(X):
            # Dask support is loaded only for dask input.
            from pixelflow.scaleout.arrays import transform

            return transform(self, X)
        engine = self.engine
        X = check_batch(X, engine.dtype)
        xp = array_module(X)
        if xp is not np and xp is not self.backend.xp:
            raise TypeError(f"X is a GPU array, but this reservoir runs on backend {self.backend.name!r}; "
                            "use backend='cuda' or pass a numpy array")
        n = len(X)
        # Checked before the empty-batch answer: a shape refused for one sample is refused for none.
        engine.check_input(X.shape[1:], len(X))
        if n == 0:
            return xp.zeros((0, self.feature_dim), dtype=np.float32)
        if xp is np:
            ensure_fits(
                n * self.feature_dim * 4,
                f"the ({n}, {self.feature_dim}) float32 feature matrix",
                "record fewer steps, pool, or transform in batches",
            )
        with engine.first_use():
            engine.prepare(X.shape[1:])
            out = xp.empty((n, self.feature_dim), dtype=np.float32)
            threads = 1 if engine.kernel is not None else self.backend.chunk_threads()
            with engine.blas_limit():
                if threads > 1 and n > self.chunk_size():
                    self._transform_threaded(X, out, threads)
                else:
                    for start, stop, x in self._chunks(X, "reservoir"):
                        engine.features(x, out[start:stop])
                        engine.check_finite(out[start:stop], start)
        return out

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

    def states(self, X) -> np.ndarray:
        """The full trajectory, for pictures and analysis.

        Returns
        -------
        ndarray, shape (N, steps + 1, channels, height, width)
            Every state from the initial one (t = 0) to the last, in the
            config's ``dtype``.
        """
        engine = self.engine
        X = check_batch(X, engine.dtype)
        c = self.config
        shape = (len(X), c.steps + 1, c.channels, c.height, c.width)
        engine.check_input(X.shape[1:], len(X))
        if len(X) == 0:
            return np.zeros(shape, dtype=engine.dtype)
        ensure_fits(int(np.prod(shape)) * engine.dtype.itemsize, f"a trajectory of shape {shape}", "pass fewer samples")
        out = np.empty(shape, dtype=engine.dtype)
        with engine.first_use(), engine.blas_limit():
            engine.prepare(X.shape[1:])
            for start, stop, x in self._chunks(X, "trajectory"):
                for t, state in engine.evolve(x):
                    out[start:stop, t] = self.backend.to_numpy(state)
        return out

    @property
    def rule_path(self) -> str:
        """How the rule runs: ``"fused"``, ``"compiled"`` or ``"function"`` (:attr:`pixelflow.engine.Engine.rule_path`).

        A user's rule on the ``cpu`` backend is compiled when the reservoir
        first sees data; until then this says ``"function"``.
        """
        return self.engine.rule_path

    def provenance(self) -> dict[str, Any]:
        """The config as a plain dict, plus backend, device and how the rule ran (for results files)."""
        engine = self.engine
        return {**self.config.to_dict(), "backend": self.backend.name, "device": self.backend.describe(),
                "rule_path": engine.rule_path, "rule_path_note": engine.rule_path_note}
