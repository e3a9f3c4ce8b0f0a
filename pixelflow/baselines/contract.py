"""What a baseline's config shares with the others: rebuilding it from its ``to_dict()``."""

from __future__ import annotations

import dataclasses

__all__ = ["fields_from_dict"]


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
