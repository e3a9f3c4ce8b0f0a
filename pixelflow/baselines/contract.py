"""What a baseline's config shares with the others: rebuilding it from its ``to_dict()``."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["FixedFeatures", "fields_from_dict"]


def fields_from_dict(cls, kind: str, d) -> dict:
    """The constructor arguments of ``cls`` in ``d`` (a ``to_dict()`` of kind ``kind``), checked.

    Raises
    ------
    TypeError
        ``d`` is not a dict.
    ValueError
        ``d`` names another kind, or fields ``cls`` does not have.
    """
    if not isinstance(d, dict):
        raise TypeError(f"expected a dict from {cls.__name__}.to_dict(), got {type(d).__name__}")
    d = dict(d)
    found = d.pop("kind", kind)
    if found != kind:
        raise ValueError(f"expected a dict with kind {kind!r}, got kind {found!r}")
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(d) - fields
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; valid: {sorted(fields)}")
    return d


class FixedFeatures:
    """What a baseline's transformer shares: the checked config and backend, the feature count under both names.

    A subclass names its ``config_type`` and the ``backends`` it runs on.
    """

    config_type: type = object
    backends: tuple = ()

    def __init__(self, config, backend: str = "cpu", progress: bool | None = None):
        name = type(self).__name__
        if not isinstance(config, self.config_type):
            raise TypeError(f"config must be a {self.config_type.__name__}, got {type(config).__name__}")
        if backend not in self.backends:
            raise ValueError(f"{name} runs on backend {' or '.join(map(repr, self.backends))}, got {backend!r}")
        self.config: Any = config
        self.backend = backend
        self.progress = progress

    @property
    def n_features(self) -> int:
        """Length of a feature row."""
        return self.config.n_features

    @property
    def feature_dim(self) -> int:
        """:attr:`n_features`, the name :class:`pixelflow.Reservoir` uses."""
        return self.config.n_features
