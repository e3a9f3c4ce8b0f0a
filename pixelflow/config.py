"""ReservoirConfig: the complete, immutable description of a reservoir."""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from pixelflow.checks import check_int
from pixelflow.encoders import get_encoder
from pixelflow.recording import Recording, check_maps
from pixelflow.rules import get_rule

DTYPES = ("float32", "float64")

# record="all" beyond this many states is refused before the list of steps
# is built: a feature row would hold over a million states, and the list
# itself would need gigabytes at steps=10**9.
MAX_RECORDED_STEPS = 2**20


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> None:
    check_int(value, f"ReservoirConfig.{name}", low=low, high=high)


@dataclass(frozen=True)
class ReservoirConfig:
    """Everything that defines a reservoir's features.

    The same config gives bit-identical features on every run, and a
    sample's features never depend on the other samples in the batch.
    Positional order and defaults of the first nine fields follow the
    pixelflow-rc API, so configs written for it keep working.

    Parameters
    ----------
    width, height : int
        Grid size in cells (>= 2).
    channels : int
        State channels per cell. ``wave`` and ``diffusion_reaction`` use
        channel pairs, ``life_like`` evolves every channel as its own board,
        ``random_nca`` mixes all of them.
    steps : int
        Number of CA updates (>= 0).
    rule : str
        A registered rule; see :func:`pixelflow.available_rules`.
    rule_params : dict
        Rule parameters, validated against the rule's declaration.
    input_encoding : str
        ``"tile"``, ``"phase"`` or ``"project"`` (or a registered encoder).
    seed : int
        Seeds every fixed random quantity (weights, projection matrix).
    dtype : {"float32", "float64"}
        Precision of the evolution; features are always returned as float32.
    encoder_params : dict
        Encoder parameters (``resize`` for tile/phase; ``scale``,
        ``planes`` for project).
    record : "final", "all", int or sequence of int
        Which states become features: step indices in ``[0, steps]``
        (0 is the initial state; negative indices count from the end).
    pool : int
        Average-pool each recorded state over ``pool × pool`` blocks; must
        divide ``height`` and ``width``.
    chunk_size : int or None
        Samples evolved together; ``None`` picks a size whose working set is
        about 16 MiB (cache-friendly). Features do not depend on it.
    feature_maps : sequence of str or (str, int)
        Maps of each recorded state that are pooled into features, in order:
        ``"state"`` (the state itself), ``"square"``, ``"abs"``, ``"relu"``
        (per channel) or ``"products"`` (every channel pair ``i <= j``:
        second-order pooling). A bare name is pooled with ``pool``;
        ``(name, p)`` pools that map over ``p × p`` blocks instead. See
        :mod:`pixelflow.recording`.
    """

    width: int = 64
    height: int = 64
    channels: int = 4
    steps: int = 8
    rule: str = "diffusion_reaction"
    rule_params: dict = field(default_factory=dict)
    input_encoding: str = "tile"
    seed: int = 0
    dtype: str = "float32"
    encoder_params: dict = field(default_factory=dict)
    record: Any = "final"
    pool: int = 1
    chunk_size: int | None = None
    feature_maps: tuple = ("state",)

    def __post_init__(self):
        _check_int("width", self.width, 2)
        _check_int("height", self.height, 2)
        _check_int("channels", self.channels, 1)
        _check_int("steps", self.steps, 0)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        _check_int("pool", self.pool, 1)
        if self.chunk_size is not None:
            _check_int("chunk_size", self.chunk_size, 1)
        if self.dtype not in DTYPES:
            raise ValueError(f"ReservoirConfig.dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        if self.height % self.pool or self.width % self.pool:
            raise ValueError(
                f"ReservoirConfig.pool={self.pool} must divide height={self.height} and width={self.width}"
            )
        # Own copies, so mutating the caller's dict later cannot change this config.
        for name in ("rule_params", "encoder_params"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Mapping):
                raise TypeError(f"ReservoirConfig.{name} must be a dict of parameter names to values (or None), "
                                f"got {type(value).__name__} {value!r}")
            object.__setattr__(self, name, dict(value or {}))
        rule = get_rule(self.rule)
        rule.resolve(self.rule_params)
        if self.channels < rule.min_channels:
            raise ValueError(
                f"rule {self.rule!r} needs channels >= {rule.min_channels}, got channels={self.channels}"
            )
        get_encoder(self.input_encoding).resolve(self.encoder_params)
        self.record_steps  # validates
        object.__setattr__(self, "feature_maps", check_maps(self.feature_maps, self.pool, self.height, self.width))

    @property
    def record_steps(self) -> tuple[int, ...]:
        """Recorded step indices, sorted and unique, each in ``[0, steps]``."""
        rec = self.record
        if isinstance(rec, str):
            if rec == "final":
                return (self.steps,)
            if rec == "all":
                if self.steps + 1 > MAX_RECORDED_STEPS:
                    raise ValueError(f"ReservoirConfig.record='all' with steps={self.steps} would record "
                                     f"{self.steps + 1} states per sample; at most {MAX_RECORDED_STEPS} can be "
                                     "recorded: record fewer steps (e.g. record='final' or a list of steps)")
                return tuple(range(self.steps + 1))
            raise ValueError(f"ReservoirConfig.record must be 'final', 'all' or step indices, got {rec!r}")
        items = [rec] if isinstance(rec, numbers.Integral) else rec
        if not isinstance(items, Sequence) or not items:
            raise TypeError(
                f"ReservoirConfig.record must be 'final', 'all', an int or a non-empty sequence, got {rec!r}"
            )
        steps = set()
        for s in items:
            if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
                raise TypeError(f"ReservoirConfig.record entries must be integers, got {s!r}")
            t = s + self.steps + 1 if s < 0 else s
            if not 0 <= t <= self.steps:
                raise ValueError(f"ReservoirConfig.record step {s} is outside [0, steps={self.steps}]")
            steps.add(int(t))
        return tuple(sorted(steps))

    @property
    def recording(self) -> Recording:
        """Recorded steps, feature maps and pooling, as the backends take them."""
        maps = tuple((m, self.pool) if isinstance(m, str) else m for m in self.feature_maps)
        return Recording(self.record_steps, maps)

    @property
    def feature_shape(self) -> tuple[int, int, int, int]:
        """``(recorded steps, maps × channels, height / pool, width / pool)``.

        Defined when every feature map is per-channel with the same pooling
        (e.g. the default); otherwise see :meth:`Recording.blocks`.
        """
        rec = self.recording
        if not rec.pointwise or len(set(rec.pools.tolist())) != 1:
            raise ValueError("feature_shape needs per-channel feature maps with one pooling size; "
                             "use config.recording.blocks(...) for this config's layout")
        pool = int(rec.pools[0])
        return (len(self.record_steps), len(rec.maps) * self.channels, self.height // pool, self.width // pool)

    @property
    def n_features(self) -> int:
        """Length of one feature row."""
        return self.recording.n_features(self.channels, self.height, self.width)

    def to_dict(self) -> dict:
        """JSON-friendly dict (for results provenance)."""
        d = asdict(self)
        d["record"] = list(self.record) if not isinstance(self.record, (str, int)) else self.record
        d["feature_maps"] = [m if isinstance(m, str) else list(m) for m in self.feature_maps]
        for key in ("rule_params", "encoder_params"):
            d[key] = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d[key].items()}
        return d
