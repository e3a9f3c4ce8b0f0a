"""Typed, validated parameters for rules and encoders.

A rule or encoder declares its parameters once as a mapping of names to
:class:`Param`; :func:`resolve_params` checks what a user passed against that
declaration, fills in defaults and returns a read-only :class:`Params`.
Every error names the owner, the parameter and the allowed values, so a typo
in a notebook fails loudly instead of silently using a default.
"""

from __future__ import annotations

import difflib
import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Param:
    """Declaration of one parameter.

    Parameters
    ----------
    default : Any
        Value used when the parameter is not given. Its type fixes the kind
        (float, int, bool or str) unless ``kind`` is given.
    doc : str
        One-line description, shown by :func:`describe_params`.
    low, high : float, optional
        Inclusive bounds, unless ``low_open`` / ``high_open`` make them
        exclusive.
    choices : tuple, optional
        Allowed values for a string parameter.
    convert : callable, optional
        Called on the type-checked value; returns the stored (normalised)
        value or raises ``ValueError`` with a message.
    array_ok : bool
        A float parameter may also be an array (for example a spatially
        varying wave speed); every element is range-checked.
    """

    default: Any
    doc: str = ""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple | None = None
    convert: Callable[[Any], Any] | None = None
    array_ok: bool = False
    kind: type | None = None

    @property
    def type_(self) -> type:
        return self.kind if self.kind is not None else type(self.default)

    def allowed(self) -> str:
        """Human description of the allowed values."""
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.low is None and self.high is None:
            return f"a {self.type_.__name__}"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low_open or self.low is None else "["
        right = ")" if self.high_open or self.high is None else "]"
        return f"a {self.type_.__name__} in {left}{lo}, {hi}{right}"

    def in_range(self, value) -> bool:
        v = np.asarray(value, dtype=np.float64)
        ok = np.isfinite(v) if self.type_ is float else np.ones(v.shape, bool)
        if self.low is not None:
            ok &= (v > self.low) if self.low_open else (v >= self.low)
        if self.high is not None:
            ok &= (v < self.high) if self.high_open else (v <= self.high)
        return bool(np.all(ok))


class Params(Mapping):
    """Read-only resolved parameters with attribute access (``p.feed``).

    A name that is not a parameter (a typo in a rule written in a notebook, say) is an error that names the
    owner, the parameters it has and the closest one:

    >>> p = Params({"rate": 0.1}, owner="rule 'heat'")
    >>> p.rtae
    Traceback (most recent call last):
    ...
    AttributeError: rule 'heat' has no parameter 'rtae' (did you mean 'rate'?); its parameters: rate
    """

    __slots__ = ("_values", "_owner")

    def __init__(self, values: Mapping[str, Any], owner: str = "this"):
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_owner", owner)

    def _unknown(self, name) -> str:
        close = difflib.get_close_matches(str(name), list(self._values), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        names = ", ".join(self._values) or "none"
        return f"{self._owner} has no parameter {name!r}{hint}; its parameters: {names}"

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy, pickle and friends probe for special names
            raise AttributeError(name)
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(self._unknown(name)) from None

    def __setattr__(self, name, value):
        raise AttributeError("Params are read-only")

    def __getitem__(self, key: str) -> Any:
        try:
            return self._values[key]
        except KeyError:
            raise KeyError(self._unknown(key)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self._values.items())
        return f"Params({inner})"

    def __getstate__(self):
        return {"values": self._values, "owner": self._owner}

    def __setstate__(self, state):
        object.__setattr__(self, "_values", state["values"])
        object.__setattr__(self, "_owner", state["owner"])


def _check_kind(owner: str, name: str, spec: Param, value: Any) -> Any:
    kind = spec.type_
    where = f"{owner} parameter {name!r}"
    if spec.array_ok and isinstance(value, np.ndarray):
        if not np.issubdtype(value.dtype, np.number) or np.issubdtype(value.dtype, np.complexfloating):
            raise TypeError(f"{where} must be {spec.allowed()} or a real array, got dtype {value.dtype}")
        return value
    if kind is bool:
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise TypeError(f"{where} must be True or False, got {value!r}")
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{where} must be {spec.allowed()}, got the bool {value!r}")
    if kind is int:
        if isinstance(value, numbers.Integral):
            return int(value)
        raise TypeError(f"{where} must be {spec.allowed()}, got {value!r}")
    if kind is float:
        if isinstance(value, numbers.Real):
            return float(value)
        raise TypeError(f"{where} must be {spec.allowed()}, got {value!r}")
    if kind is str:
        if isinstance(value, str):
            return value
        raise TypeError(f"{where} must be {spec.allowed()}, got {value!r}")
    if not isinstance(value, kind):
        raise TypeError(f"{where} must be a {kind.__name__}, got {value!r}")
    return value


def resolve_params(owner: str, spec: Mapping[str, Param], given: Mapping[str, Any] | None) -> Params:
    """Validate ``given`` against ``spec`` and fill in defaults.

    Parameters
    ----------
    owner : str
        Used in messages, e.g. ``"rule 'wave'"``.
    spec : mapping of str to Param
        The declaration.
    given : mapping or None
        What the user passed.

    Returns
    -------
    Params

    Raises
    ------
    ValueError
        Unknown name, value out of range, or rejected by ``convert``.
    TypeError
        Value of the wrong type, or ``given`` is not a mapping.
    """
    if given is None:
        given = {}
    if not isinstance(given, Mapping):
        raise TypeError(f"{owner} parameters must be a dict, got {type(given).__name__}")
    unknown = sorted(set(given) - set(spec))
    if unknown:
        valid = ", ".join(spec) if spec else "(none)"
        raise ValueError(f"unknown {owner} parameter(s) {', '.join(map(repr, unknown))}; valid: {valid}")
    values = {}
    for name, p in spec.items():
        value = _check_kind(owner, name, p, given.get(name, p.default))
        if p.choices is not None and value not in p.choices:
            raise ValueError(f"{owner} parameter {name!r} must be {p.allowed()}, got {value!r}")
        if p.type_ in (int, float) and not p.in_range(value):
            shown = "an array with values outside the range" if isinstance(value, np.ndarray) else repr(value)
            raise ValueError(f"{owner} parameter {name!r} must be {p.allowed()}, got {shown}")
        if p.convert is not None:
            try:
                value = p.convert(value)
            except ValueError as exc:
                raise ValueError(f"{owner} parameter {name!r}: {exc}") from None
        values[name] = value
    return Params(values, owner=owner)


def describe_params(spec: Mapping[str, Param]) -> str:
    """One line per parameter: name, default, allowed values and doc."""
    return "\n".join(f"{n} = {p.default!r}  ({p.allowed()})  {p.doc}" for n, p in spec.items())
