"""Driven mode: a reservoir fed a sequence one input vector at a time.

At every time step ``t`` the input ``u(t)`` (a vector of ``d`` numbers) is
encoded by the reservoir's encoder — for sequences usually ``"mask"``, a fixed
sparse random input mask drawn from the seed — and the encoded drive is
written into the current state; the rule then advances ``config.steps``
updates with that drive in its context (so ``random_nca`` also re-injects it
every update), and the states named by ``config.record`` (0 = just after the
write, ``steps`` = after the last update) become the feature row of time
``t``. Feature row ``t`` has therefore seen ``u(0) .. u(t)``.

How the drive enters the state (``write``):

``"add"``
    ``state += init(drive) - init(0)``: the rule's own encoding of the
    input, as a perturbation of its rest state. A wave gets the drive added
    to its amplitudes; Gray-Scott gets ``-drive/2`` on U and ``drive/4`` on
    V (its image ``init`` relative to the rest state ``U=1, V=0``);
    ``random_nca`` (whose ``init`` ignores the drive) takes its input only
    through re-injection.
``"replace"``
    The cells the input reaches are overwritten with ``init(drive)``;
    the rest keep their state.
``"xor"``
    For binary rules (ReCA-style): on the cells the input reaches, the
    binarised state (``>= 0.5``) is XOR-ed with the binarised
    ``init(drive)``.

"The cells the input reaches" are those whose ``init`` value changes when
any single input component is non-zero, found once from the encoder.
"""

from __future__ import annotations

import weakref

import numpy as np
from tqdm.auto import tqdm

from pixelflow.memory import ensure_fits
from pixelflow.rules.registry import StepContext

WRITES = ("add", "replace", "xor")

# Above this many cell updates a run shows a progress bar by default (~10 s
# on one CPU core for the numpy path).
PROGRESS_CELL_UPDATES = 10**9

# Inputs are encoded this many time steps at a time: one encoder call per
# block instead of one per step (the encoders and ``init`` treat every input
# row alone, so the states are the same bit for bit), in blocks small enough
# that their encoded states stay a small multiple of the features.
ENCODE_BLOCK = 256

# Feature outputs below this size are not checked against the free memory:
# reading it would cost more than a short run.
UNCHECKED_BYTES = 2**20

# The last driver built for each engine, with its (n, d, write): a closed-loop
# forecast runs one step per call, and building a driver (rest state, reached
# cells) cost more than the step.
_DRIVERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def check_sequences(U, dtype=None):
    """``U`` as an ``(N, T, d)`` numeric array, and whether it was one ``(T, d)`` sequence.

    Parameters
    ----------
    U : array-like
    dtype : numpy dtype, optional
        The reservoir's precision: values must stay finite once cast to it.

    Raises
    ------
    TypeError
        For non-numeric data.
    ValueError
        For ragged input, a wrong number of dimensions, an empty time or
        input axis, or NaN / infinite values (the first bad time step is
        named).
    """
    from pixelflow.inputs import array_module, as_numeric, finite_after_cast

    xp = array_module(U)
    U = as_numeric(U, "U")
    if U.ndim not in (2, 3):
        hint = " (use U.reshape(-1, 1) for a scalar sequence)" if U.ndim == 1 else ""
        raise ValueError(f"U must have shape (T, d) or (N, T, d); got shape {U.shape}{hint}")
    single = U.ndim == 2
    U3 = U[None] if single else U
    if U3.shape[1] == 0 or U3.shape[2] == 0:
        raise ValueError(f"U has an empty time or input axis: shape {U.shape}")
    if len(U3):
        finite = finite_after_cast(U3, U3.dtype if dtype is None else dtype, axis=1)
        if not bool(finite.all()):
            beyond = "" if dtype is None else f" in {np.dtype(dtype).name}, the reservoir's dtype"
            raise ValueError(f"U contains NaN or infinite values{beyond}; first bad time step is "
                             f"{int(xp.argmin(finite))}")
    return U3, single


def check_state(state, expected: tuple, dtype):
    """A ``state`` to continue from, as an array of ``expected`` shape that stays finite in ``dtype``."""
    from pixelflow.inputs import array_module, as_numeric, finite_after_cast

    state = as_numeric(state, "state")
    if tuple(state.shape) != tuple(expected):
        raise ValueError(f"state has shape {tuple(state.shape)}, expected {tuple(expected)} "
                         "((N,) channels, height, width: a previous run's returned state)")
    if state.size and not bool(finite_after_cast(state.reshape(1, -1), dtype).all()):
        raise ValueError(f"state contains NaN or infinite values (in {np.dtype(dtype).name}, the reservoir's dtype); "
                         "a state to continue from must be finite — a run that diverged cannot be continued")
    xp = array_module(state)
    return state if xp is not np else np.asarray(state)


def _check_washout(washout, steps: int) -> int:
    if isinstance(washout, (bool, np.bool_)) or not isinstance(washout, (int, np.integer)):
        raise TypeError(f"washout must be an integer, got {washout!r}")
    if not 0 <= washout < steps:
        raise ValueError(f"washout must be in [0, T) = [0, {steps}), got {washout}")
    return int(washout)


class Driver:
    """One reservoir's driven evolution of a batch of ``n`` sequences of ``d`` inputs.

    Built by :meth:`pixelflow.Reservoir.run` on the reservoir's
    :class:`~pixelflow.engine.Engine`; holds what is fixed for the
    run (encoder and rule weights, the rest state, the cells the input
    reaches) so that each time step is only encode, write, evolve, record.
    """

    def __init__(self, engine, n: int, d: int, write: str):
        if write not in WRITES:
            raise ValueError(f"write must be one of {', '.join(map(repr, WRITES))}, got {write!r}")
        self.engine = engine
        self.write = write
        self.xp = engine.backend.xp
        self.dtype = engine.dtype
        engine.prepare((d,))
        self.rest, _ = self._init(self.xp.zeros((n, d), dtype=self.dtype))
        self.touched = self._touched(d) if write != "add" else None

    def _init(self, u):
        ctx = self.engine.context(u)
        return self.engine.init(ctx), ctx

    def _touched(self, d: int):
        """State cells whose ``init`` value some single input component changes."""
        xp = self.xp
        eye = xp.eye(d, dtype=self.dtype)
        rest = self.rest[:1]
        moved = xp.zeros(rest.shape[1:], dtype=bool)
        driven = False
        for sign in (1.0, -1.0):
            state, ctx = self._init(sign * eye)
            moved |= (state != rest).any(axis=0)
            driven = driven or bool((ctx.drive != 0).any())
        # A sparse mask on a small grid may reach no cell at all: then nothing is written.
        if driven and not bool(moved.any()):
            c = self.engine.config
            raise ValueError(f"write={self.write!r} needs a rule whose init writes the input into the state; "
                             f"rule {c.rule!r} takes its input otherwise (use write='add')")
        return moved

    def start(self, state):
        """The initial state: the rest state, or a copy of ``state`` (checked by :func:`check_state`) on the backend."""
        if state is None:
            return self.rest.copy()
        return self.engine.backend.asarray(state, dtype=self.dtype).copy()

    def encode(self, U):
        """``(new, drive)`` of a block ``U`` ``(n, k, d)``: each step's ``init`` state and encoded drive."""
        n, k, d = U.shape
        new, ctx = self._init(U.reshape(n * k, d))
        return new.reshape(n, k, *new.shape[1:]), ctx.drive.reshape(n, k, *ctx.drive.shape[1:])

    def advance(self, state, u, record: bool, encoded=None):
        """Write ``u`` (shape ``(n, d)``), evolve, and return ``(state, features or None)``.

        ``encoded``: ``(new, drive)`` of ``u`` from :meth:`encode`, when already computed.
        """
        xp, engine = self.xp, self.engine
        if encoded is None:
            new, ctx = self._init(u)
        else:
            new, drive = encoded
            ctx = StepContext(xp=xp, params=engine.rule_params, weights=engine.prepared.rule_weights, drive=drive,
                              grid=engine.prepared.grid)
        if self.write == "add":
            state = state + (new - self.rest)
        elif self.write == "replace":
            state = xp.where(self.touched, new, state)
        else:
            flipped = (state >= 0.5) ^ (new >= 0.5)
            state = xp.where(self.touched, flipped.astype(self.dtype), state)
        recording = engine.config.recording
        rows = []
        if record and 0 in recording.steps:
            rows.append(recording.features(state, xp))
        for k in range(1, engine.config.steps + 1):
            state = engine.step(state, ctx)
            if record and k in recording.steps:
                rows.append(recording.features(state, xp))
        if not record:
            return state, None
        return state, (rows[0] if len(rows) == 1 else xp.concatenate(rows, axis=1))


def run(reservoir, U, *, washout=0, state=None, write="add", return_state=False):
    """The body of :meth:`pixelflow.Reservoir.run` (see there)."""
    from pixelflow.inputs import array_module

    engine = reservoir.engine
    U3, single = check_sequences(U, engine.dtype)
    n, steps, d = U3.shape
    washout = _check_washout(washout, steps)
    xp_in = array_module(U3)
    backend = reservoir.backend
    if xp_in is not np and xp_in is not backend.xp:
        raise TypeError(f"U is a GPU array, but this reservoir runs on backend {backend.name!r}; "
                        "use backend='cuda' or pass a numpy array")
    if write not in WRITES:
        raise ValueError(f"write must be one of {', '.join(map(repr, WRITES))}, got {write!r}")
    c = reservoir.config
    grid = (c.channels, c.height, c.width)
    if state is not None:
        state = check_state(state, grid if single else (n, *grid), engine.dtype)
        if single:
            state = state[None]
    engine.check_input((d,))
    kept = steps - washout
    if n == 0:
        out = xp_in.zeros((0, kept, reservoir.feature_dim), dtype=np.float32)
        return (out, xp_in.zeros((0, *grid), dtype=engine.dtype)) if return_state else out
    if xp_in is np and n * kept * reservoir.feature_dim * 4 >= UNCHECKED_BYTES:
        ensure_fits(n * kept * reservoir.feature_dim * 4, f"the ({n}, {kept}, {reservoir.feature_dim}) features",
                    "use a washout, fewer recorded steps or pooling, or run the sequences in batches")
    key, driver = _DRIVERS.get(engine, (None, None))
    if key != (n, d, write):
        with engine.first_use():
            driver = Driver(engine, n, d, write)
        _DRIVERS[engine] = ((n, d, write), driver)
    x = driver.start(state)
    out = xp_in.empty((n, kept, reservoir.feature_dim), dtype=np.float32)
    U_dev = backend.asarray(U3, dtype=engine.dtype)
    show = reservoir.progress
    if show is None:
        show = n * steps * max(1, c.steps) * c.channels * c.height * c.width >= PROGRESS_CELL_UPDATES
    with engine.blas_limit():
        for t in tqdm(range(steps), desc="driven reservoir", unit="step", disable=not show, leave=False):
            if t % ENCODE_BLOCK == 0:
                new, drive = driver.encode(U_dev[:, t : t + ENCODE_BLOCK])
            k = t % ENCODE_BLOCK
            x, feats = driver.advance(x, U_dev[:, t], record=t >= washout, encoded=(new[:, k], drive[:, k]))
            if feats is not None:
                feats = feats.astype(np.float32, copy=False)
                out[:, t - washout] = backend.to_numpy(feats) if xp_in is np else feats
    final = backend.to_numpy(x) if xp_in is np else x
    if single:
        out, final = out[0], final[0]
    return (out, final) if return_state else out
