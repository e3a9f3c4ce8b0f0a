"""The engine under every reservoir: a config's encoder, rule and backend, prepared for one sample shape.

:class:`Engine` is what :class:`~pixelflow.Reservoir` (batches of images),
the driven mode (:mod:`pixelflow.driven`, sequences) and
:class:`~pixelflow.stack.ReservoirStack` (several reservoirs) share. It knows
one config and one backend and, once :meth:`Engine.prepare` has seen the
shape of a sample, holds what depends on it (:class:`Prepared`: the grid,
the encoder's fixed arrays, the rule's fixed weights, drawn from the seed and
moved to the backend). From there a chunk of samples is

1. encoded into the rule's context (:meth:`Engine.context`),
2. initialised and stepped (:meth:`Engine.init`, :meth:`Engine.step`, or
   :meth:`Engine.evolve` for all ``steps``), each state checked for shape
   and kept in the config's dtype,
3. recorded into feature rows (:meth:`Engine.features`: the backend's fused
   kernel where it has one, else the rule function and
   :meth:`pixelflow.recording.Recording.features`).

>>> import numpy as np
>>> from pixelflow import ReservoirConfig
>>> engine = Engine(ReservoirConfig(8, 8, 2, 3, "wave"), "numpy")
>>> prep = engine.prepare((6, 6))
>>> [t for t, state in engine.evolve(engine.backend.asarray(np.zeros((2, 6, 6)), dtype=engine.dtype))]
[0, 1, 2, 3]
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import numpy as np

from pixelflow.backends import get_backend, to_device
from pixelflow.backends.fused import kernel_records
from pixelflow.config import ReservoirConfig
from pixelflow.encoders import get_encoder, image_layout
from pixelflow.memory import ensure_fits
from pixelflow.rules import default_init, get_rule
from pixelflow.rules.registry import Grid, StepContext

__all__ = ["Engine", "Prepared"]

# The automatic chunk keeps a step's working set (state size x the rule's
# working_copies) near this size: measured on a 2-core CPU, random_nca at
# 32x32x8 ran ~3x faster with 16-sample chunks than with 128.
CHUNK_TARGET_BYTES = 16 * 2**20
MAX_AUTO_CHUNK = 4096

# Independent random streams derived from the one seed.
RULE_STREAM = 0
ENCODER_STREAM = 1


@dataclass(frozen=True)
class Prepared:
    """What depends on the sample shape: built once, reused for every chunk.

    Attributes
    ----------
    sample_shape : tuple
    grid : Grid
        Channels, height, width and input channels of the rule's state.
    encoder_fixed : dict
        The encoder's fixed arrays (resampling taps, projection matrix), on the backend.
    rule_weights : dict
        The rule's fixed weights, on the backend, in the config's dtype.
    """

    sample_shape: tuple
    grid: Grid
    encoder_fixed: dict
    rule_weights: dict


class Engine:
    """A config's encoder, rule and backend; prepared for one sample shape by :meth:`prepare`.

    Parameters
    ----------
    config : ReservoirConfig
    backend : str or ArrayBackend

    Attributes
    ----------
    config : ReservoirConfig
    backend : ArrayBackend
    rule : Rule
    rule_params, encoder_params : Params
        Resolved (defaults filled in, validated).
    encoder : Encoder
    dtype : numpy.dtype
        Precision of the evolution.
    kernel : callable or None
        The backend's fused kernel for this rule and recording, if any: a
        built-in rule's, or one compiled from a user's rule function when
        the engine is prepared (:mod:`pixelflow.backends.cpu.compiled`).
    rule_path : str
        How the features are computed: ``"fused"`` (a built-in rule's
        kernel), ``"compiled"`` (a kernel compiled from the rule function)
        or ``"function"`` (the rule function, on the backend's arrays).
    rule_path_note : str
        Why: which kernel, or why the rule function runs.
    step_kernel : callable or None
        The backend's compiled single update for this rule, if any.
    sample_shape : tuple or None
        The shape of one sample, fixed by the first :meth:`prepare`.
    prepared : Prepared or None
    """

    def __init__(self, config: ReservoirConfig, backend="cpu"):
        if not isinstance(config, ReservoirConfig):
            raise TypeError(f"config must be a ReservoirConfig, got {type(config).__name__}")
        self.config = config
        self.backend = get_backend(backend)
        self.rule = get_rule(config.rule)
        self.rule_params = self.rule.resolve(config.rule_params)
        self.encoder = get_encoder(config.input_encoding)
        self.encoder_params = self.encoder.resolve(config.encoder_params)
        self.dtype = np.dtype(config.dtype)
        self.sample_shape: tuple | None = None
        self.prepared: Prepared | None = None
        # Fused kernels implement per-channel feature maps, and some channel products too;
        # other recordings (and rules without a kernel) run the numpy path.
        kernel = self.backend.fused_kernel(self.rule)
        self.kernel = kernel if kernel is not None and kernel_records(kernel, config.recording) else None
        if self.kernel is not None:
            self.rule_path, self.rule_path_note = "fused", f"the built-in {self.rule.name!r} kernel"
        elif self.backend.compiles_rules():
            self.rule_path, self.rule_path_note = "function", "decided when the reservoir first sees data"
        else:
            self.rule_path, self.rule_path_note = "function", f"backend {self.backend.name!r} runs rule functions"
        self.step_kernel = self.backend.step_kernel(self.rule)
        ensure_fits(
            self.sample_bytes() * self.rule.working_copies,
            f"one {config.height}x{config.width}x{config.channels} grid",
            "use a smaller grid or fewer channels",
        )
        ensure_fits(config.n_features * 4, f"one feature row ({config.n_features} features)",
                    "record fewer steps, pool, or use fewer feature maps")

    def sample_bytes(self) -> int:
        """Bytes of one state."""
        c = self.config
        return c.channels * c.height * c.width * self.dtype.itemsize

    def chunk_size(self) -> int:
        """Samples evolved at once (the config's, or a working set of ~16 MiB).

        A fused kernel keeps one state per thread, so its chunk holds only
        the encoded input (about one state per sample).
        """
        if self.config.chunk_size is not None:
            return self.config.chunk_size
        per_sample = self.sample_bytes() * (1 if self.kernel is not None else self.rule.working_copies)
        return int(max(1, min(MAX_AUTO_CHUNK, CHUNK_TARGET_BYTES // per_sample)))

    # ------------------------------------------------------------ preparation

    def check_input(self, sample_shape: tuple, n_samples: int | None = None) -> int:
        """Refuse a sample shape this engine cannot take (changes nothing); returns the input channel count.

        Raises
        ------
        ValueError
            A shape other than the one it was prepared for; for an encoder
            that writes images, a square batch of vectors whose length is not a
            square (``n_samples`` of them: what one H x W image passed without
            its sample axis looks like); or an encoder output with more
            channels than the rule takes.
        """
        if self.sample_shape is not None and sample_shape != self.sample_shape:
            raise ValueError(
                f"X has samples of shape {sample_shape}, but this reservoir was first used with "
                f"{self.sample_shape}; make a new Reservoir for a different input shape"
            )
        c = self.config
        f = sample_shape[0] if len(sample_shape) == 1 else None
        if self.encoder.reads_images and f is not None and n_samples == f and math.isqrt(f) ** 2 != f:
            h, w, _ = image_layout(sample_shape)
            raise ValueError(
                f"X of shape ({f}, {f}) reads as {f} vectors of {f} features, which encoder {c.input_encoding!r} "
                f"would lay out as {h}x{w} images: one H x W image is passed with its sample axis, X[None] "
                f"(shape (1, H, W)); vectors are better encoded by input_encoding='project' or 'mask'"
            )
        cin = self.encoder.input_channels(sample_shape, self.encoder_params)
        capacity = self.rule.input_capacity(c.channels)
        if cin > capacity:
            raise ValueError(
                f"encoder {c.input_encoding!r} gives {cin} input channel(s) for samples of shape "
                f"{sample_shape}, but rule {c.rule!r} with channels={c.channels} takes at most {capacity}; "
                f"increase channels"
            )
        return cin

    def prepare(self, sample_shape: tuple) -> Prepared:
        """Build (once) what depends on the sample shape, and fix that shape."""
        cin = self.check_input(sample_shape)
        if self.prepared is not None:
            return self.prepared
        c = self.config
        grid = Grid(channels=c.channels, height=c.height, width=c.width, input_channels=cin)
        enc_rng = np.random.default_rng([c.seed, ENCODER_STREAM])
        rule_rng = np.random.default_rng([c.seed, RULE_STREAM])
        grid_hw = (c.height, c.width)
        fixed = self.encoder.build(self.encoder_params, sample_shape, grid_hw, enc_rng) if self.encoder.build else {}
        weights = self.rule.build(self.rule_params, grid, rule_rng) if self.rule.build else {}
        self.prepared = Prepared(
            sample_shape=sample_shape,
            grid=grid,
            encoder_fixed=to_device(fixed, self.backend, self.dtype),
            rule_weights=to_device(weights, self.backend, self.dtype),
        )
        self.sample_shape = sample_shape
        if self.kernel is None and self.backend.compiles_rules():
            self._compile_rule()
        return self.prepared

    def _compile_rule(self) -> None:
        """A kernel compiled from the rule function, checked against it on a probe batch; else the function runs."""
        prep = self.prepared
        kernel, note = self.backend.compile_rule(self.rule, self.rule_params, prep.rule_weights, prep.grid,
                                                 self.dtype, self.config.recording, self.rule_features)
        self.kernel = kernel
        self.rule_path, self.rule_path_note = ("compiled" if kernel is not None else "function"), note

    def rule_features(self, drive):
        """Feature rows of an encoded ``drive`` computed by the rule function itself (what kernels must match)."""
        prep = self.prepared
        ctx = StepContext(xp=self.backend.xp, params=self.rule_params, weights=prep.rule_weights,
                          drive=self.backend.asarray(drive, dtype=self.dtype), grid=prep.grid)
        return self.backend.to_numpy(self._recorded(ctx, rule_step=True))

    def _recorded(self, ctx: StepContext, rule_step: bool = False):
        """The recorded steps of ``ctx``'s evolution as float32 feature rows, on the backend (the numpy path)."""
        recording = self.config.recording
        rows = [recording.features(state, self.backend.xp) for t, state in self._evolve(ctx, rule_step)
                if t in recording.steps]
        feats = rows[0] if len(rows) == 1 else self.backend.xp.concatenate(rows, axis=1)
        return feats.astype(np.float32, copy=False)

    @contextlib.contextmanager
    def first_use(self):
        """Undo the shape fixed by a first call that fails, and the kernel compiled for it: the engine stays usable."""
        fresh = self.prepared is None and self.sample_shape is None
        unprepared = self.kernel, self.rule_path, self.rule_path_note
        try:
            yield
        except BaseException:
            if fresh:
                self.prepared = None
                self.sample_shape = None
                self.kernel, self.rule_path, self.rule_path_note = unprepared
            raise

    def blas_limit(self):
        """Host BLAS on one thread while the engine runs.

        The built-in rules and encoders call no BLAS (their products sum in a
        fixed order, :mod:`pixelflow.linalg.fixed_order`), so their features
        are batch-invariant on any BLAS. A user's rule may call one; one BLAS
        thread then at least keeps its rounding from depending on the thread
        count, and keeps chunk threads from oversubscribing the cores (the
        parallelism is across chunks or inside fused kernels).
        """
        if self.backend.xp is not np:
            return contextlib.nullcontext()
        from pixelflow.blas import limit_blas

        return limit_blas(1)

    # ------------------------------------------------------------ evolution

    def context(self, x) -> StepContext:
        """The rule's context for a backend chunk ``x`` of samples: its drive, weights, grid."""
        prep = self.prepared
        if prep is None:
            raise RuntimeError("Engine.context needs Engine.prepare(sample_shape) first")
        c = self.config
        drive = self.encoder.encode(x, self.encoder_params, prep.encoder_fixed, (c.height, c.width), self.backend.xp)
        return StepContext(xp=self.backend.xp, params=self.rule_params, weights=prep.rule_weights, drive=drive,
                           grid=prep.grid)

    def checked(self, state, n: int, hook: str):
        """``state`` if it has the shape ``(n, channels, height, width)``, in the config's dtype."""
        c = self.config
        expected = (n, c.channels, c.height, c.width)
        if tuple(state.shape) != expected:
            raise ValueError(f"rule {c.rule!r} {hook} returned shape {tuple(state.shape)}, expected {expected}")
        # A user rule may promote to float64 (NumPy scalars do); keep the declared precision.
        return state.astype(self.dtype, copy=False)

    def init(self, ctx: StepContext):
        """The initial state of the context's drive (the rule's ``init``, or the default)."""
        init = self.rule.init or default_init
        return self.checked(init(ctx.drive, ctx), len(ctx.drive), "init")

    def step(self, state, ctx: StepContext, rule_step: bool = False):
        """One update of ``state`` by the rule (the backend's compiled update where it has one, equal bit for bit;
        the rule's own with ``rule_step``)."""
        step = self.rule.step if rule_step else self.step_kernel or self.rule.step
        return self.checked(step(state, ctx), len(state), "step")

    def evolve(self, x):
        """Yield ``(t, state)`` for t = 0 .. steps on a backend chunk ``x``."""
        yield from self._evolve(self.context(x))

    def _evolve(self, ctx: StepContext, rule_step: bool = False):
        state = self.init(ctx)
        yield 0, state
        for t in range(1, self.config.steps + 1):
            state = self.step(state, ctx, rule_step)
            yield t, state

    def features(self, x, out) -> None:
        """Feature rows of a backend chunk ``x`` into ``out`` (a fused kernel writes them directly)."""
        ctx = self.context(x)
        if self.kernel is not None:
            self.kernel(ctx.drive, ctx, self.config.recording, out)
            return
        feats = self._recorded(ctx)
        out[...] = self.backend.to_numpy(feats) if isinstance(out, np.ndarray) else feats

    def check_finite(self, rows, start: int) -> None:
        """Refuse feature rows that overflowed or diverged (the input was finite): never return silent inf/NaN."""
        xp = self.backend.xp if not isinstance(rows, np.ndarray) else np
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
