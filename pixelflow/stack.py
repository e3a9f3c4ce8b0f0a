"""Several fixed reservoirs reading the same input, their features side by side.

A multi-scale reservoir is the simplest case: the same rule on a 14×14 and a
7×7 grid sees a 28×28 digit at two resolutions, so four updates of a 3×3
rule (a 9×9 neighbourhood) span the whole digit on the coarse grid and about
two thirds of it on the fine one. An ensemble of seeds is another: the same config with independent
random weights. The readout stays one linear map over the concatenated
features.

>>> import numpy as np
>>> from pixelflow import ReservoirConfig
>>> fine = ReservoirConfig(8, 8, 2, 2, "wave", record="all")
>>> stack = StackConfig((fine, ReservoirConfig(4, 4, 2, 2, "wave")))
>>> ReservoirStack(stack).transform(np.zeros((3, 8, 8))).shape
(3, 416)

A dask array of samples gives a lazy dask array of the same features, one
task per row chunk (:mod:`pixelflow.scaleout.arrays`), as for a single
:class:`~pixelflow.reservoir.Reservoir`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pixelflow.config import ReservoirConfig
from pixelflow.inputs import array_module, check_batch, is_dask_array
from pixelflow.memory import ensure_fits
from pixelflow.reservoir import Reservoir
from pixelflow.rules.registry import adopt_rules, check_shippable, shipped_rules

#: What a fixed feature map other than a reservoir offers (the baselines of :mod:`pixelflow.baselines`).
FEATURE_MAP_CONTRACT = ("seed", "with_seed", "to_dict", "n_features", "rule", "make")


def is_feature_map(config) -> bool:
    """Whether ``config`` is a fixed feature map other than a reservoir: a dataclass with the contract above."""
    return dataclasses.is_dataclass(config) and all(hasattr(config, a) for a in FEATURE_MAP_CONTRACT)


@dataclass(frozen=True)
class StackConfig:
    """An ordered tuple of reservoir configs whose features are concatenated.

    Parameters
    ----------
    members : sequence of ReservoirConfig
        At least one. Each keeps its own seed; :meth:`with_seed` moves all of
        them together and keeps their offsets, so members with different
        seeds stay independent. A member may also be a fixed feature map of
        :mod:`pixelflow.baselines` (a frozen dataclass with ``seed``,
        ``to_dict``, ``n_features``, ``rule`` and ``make``), so that a
        baseline can match a multi-grid reservoir member by member; such a
        stack is computed member by member (each member's ``make()``
        transformer, the blocks side by side), not by :class:`ReservoirStack`.
    """

    members: tuple

    def __post_init__(self):
        members = self.members
        if isinstance(members, ReservoirConfig) or not isinstance(members, Sequence) or not members:
            raise TypeError(f"StackConfig.members must be a non-empty sequence of ReservoirConfig, got {members!r}")
        for m in members:
            if not (isinstance(m, ReservoirConfig) or is_feature_map(m)):
                raise TypeError(f"StackConfig.members must all be ReservoirConfig or feature-map configs, "
                                f"got {type(m).__name__}")
        object.__setattr__(self, "members", tuple(members))

    @property
    def reservoirs_only(self) -> bool:
        """Whether every member is a :class:`ReservoirConfig` (what :class:`ReservoirStack` runs)."""
        return all(isinstance(m, ReservoirConfig) for m in self.members)

    @property
    def rule(self) -> str:
        """The members' rules, ``+``-joined without repeats (``"random_nca"`` for a one-rule stack)."""
        return "+".join(dict.fromkeys(m.rule for m in self.members))

    @property
    def seed(self) -> int:
        return self.members[0].seed

    @property
    def n_features(self) -> int:
        """Length of one feature row: the members' lengths added."""
        return sum(m.n_features for m in self.members)

    def with_seed(self, seed: int) -> StackConfig:
        """The same stack with the first member's seed set to ``seed`` and the others moved alike."""
        shift = int(seed) - self.seed
        return StackConfig(tuple(dataclasses.replace(m, seed=m.seed + shift) for m in self.members))

    def replace_members(self, **changes) -> StackConfig:
        """The same stack with ``dataclasses.replace(member, **changes)`` applied to every member."""
        return StackConfig(tuple(dataclasses.replace(m, **changes) for m in self.members))

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict: ``{"stack": [member dicts]}``."""
        return {"stack": [m.to_dict() for m in self.members]}


def config_from_dict(d: dict) -> ReservoirConfig | StackConfig:
    """Rebuild a :class:`ReservoirConfig` or :class:`StackConfig` from its ``to_dict()``."""
    if not isinstance(d, dict):
        raise TypeError(f"expected a dict from to_dict(), got {type(d).__name__}")
    if "stack" in d:
        return StackConfig(tuple(config_from_dict(m) for m in d["stack"]))
    fields = {f.name for f in dataclasses.fields(ReservoirConfig)}
    unknown = set(d) - fields
    if unknown:
        raise ValueError(f"unknown ReservoirConfig fields {sorted(unknown)}; valid: {sorted(fields)}")
    d = dict(d)
    if isinstance(d.get("feature_maps"), list):
        d["feature_maps"] = tuple(m if isinstance(m, str) else tuple(m) for m in d["feature_maps"])
    if isinstance(d.get("record"), list):
        d["record"] = tuple(d["record"])
    return ReservoirConfig(**d)


class ReservoirStack:
    """Runs every member reservoir of a :class:`StackConfig` and concatenates their features.

    Parameters
    ----------
    config : StackConfig
    backend : str
        Backend of every member (see :class:`Reservoir`).
    progress : bool or None
        Passed to each member.
    """

    def __init__(self, config: StackConfig, backend: str = "cpu", progress: bool | None = None):
        if not isinstance(config, StackConfig):
            raise TypeError(f"config must be a StackConfig, got {type(config).__name__}")
        if not config.reservoirs_only:
            raise TypeError("ReservoirStack runs reservoir members only; a stack with baseline members is computed "
                            "member by member (each member's make().transform, the blocks side by side)")
        self.config = config
        self.progress = progress
        self.reservoirs = [Reservoir(m, backend=backend, progress=progress) for m in config.members]
        self.backend = self.reservoirs[0].backend

    @property
    def feature_dim(self) -> int:
        return self.config.n_features

    @property
    def input_shape_(self) -> tuple | None:
        """Sample shape the members were first used with (None before the first transform)."""
        return self.reservoirs[0].input_shape_

    def __repr__(self) -> str:
        return f"ReservoirStack({len(self.reservoirs)} members, backend={self.backend.name!r})"

    def __getstate__(self):
        # Like a Reservoir: the config and the backend's name; the members'
        # fixed weights are rebuilt from their seeds.
        return {"config": self.config, "backend": self.backend.name, "progress": self.progress,
                "input_shape_": self.input_shape_, "rules": shipped_rules(self._rule_names())}

    def __setstate__(self, state):
        adopt_rules(state.get("rules", {}))
        self.__init__(state["config"], state["backend"], state["progress"])
        for r in self.reservoirs:
            r.input_shape_ = state["input_shape_"]

    def check_input(self, sample_shape) -> None:
        """Check the sample shape against every member, then fix it in all of them (nothing is fixed on failure)."""
        sample_shape = tuple(int(s) for s in sample_shape)
        for r in self.reservoirs:
            r.engine.check_input(sample_shape)
        for r in self.reservoirs:
            r.check_input(sample_shape)

    def _rule_names(self) -> list[str]:
        return sorted({r.config.rule for r in self.reservoirs})

    def for_workers(self):
        """A fresh copy for other processes, and what identifies it (see :meth:`Reservoir.for_workers`)."""
        check_shippable(shipped_rules(self._rule_names()))
        fresh = type(self)(self.config, self.backend.name, progress=False)
        return fresh, (type(self).__name__, self.config, self.backend.name)

    def transform(self, X):
        """Features of every sample: each member's block in member order.

        Parameters
        ----------
        X : array-like, shape (N, ...)
            As for :meth:`Reservoir.transform`: a NumPy or CuPy array, or a
            dask array chunked along samples.

        Returns
        -------
        ndarray of float32, shape (N, feature_dim)
            Row ``i`` equals ``transform(X[i:i+1])[0]``. A lazy dask array
            for dask input (one task per row chunk, bit-identical once
            computed; see :mod:`pixelflow.scaleout.arrays`).
        """
        if is_dask_array(X):
            # Dask support is loaded only for dask input.
            from pixelflow.scaleout.arrays import transform

            return transform(self, X)
        X = check_batch(X, min((r.engine.dtype for r in self.reservoirs), key=lambda d: d.itemsize))
        xp = array_module(X)
        # Every member checks the shape before any of them runs or fixes it.
        for r in self.reservoirs:
            r.engine.check_input(X.shape[1:], len(X))
        if xp is np:
            ensure_fits(len(X) * self.feature_dim * 4, f"the ({len(X)}, {self.feature_dim}) float32 feature matrix",
                        "pool more, record fewer steps, or transform in batches")
        out = xp.empty((len(X), self.feature_dim), dtype=np.float32)
        # A failure in a later member must not leave earlier ones fixed to this input.
        with contextlib.ExitStack() as undo:
            for r in self.reservoirs:
                undo.enter_context(r.engine.first_use())
            start = 0
            for r in self.reservoirs:
                stop = start + r.feature_dim
                out[:, start:stop] = r.transform(X)
                start = stop
        return out

    def provenance(self) -> dict[str, Any]:
        paths = sorted({r.rule_path for r in self.reservoirs})
        return {**self.config.to_dict(), "backend": self.backend.name, "device": self.backend.describe(),
                "rule_path": paths[0] if len(paths) == 1 else "mixed",
                "rule_path_note": "; ".join(r.engine.rule_path_note for r in self.reservoirs)}


def make_reservoir(config, backend: str = "cpu", progress: bool | None = None):
    """A :class:`Reservoir` or :class:`ReservoirStack` for ``config``.

    Any other feature-map config with a ``make(backend, progress)`` method
    (the baselines of :mod:`pixelflow.baselines`) makes its own transformer.
    """
    if isinstance(config, StackConfig):
        return ReservoirStack(config, backend=backend, progress=progress)
    if is_feature_map(config):
        return config.make(backend=backend, progress=progress)
    return Reservoir(config, backend=backend, progress=progress)
