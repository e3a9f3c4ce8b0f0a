"""``pixelflow.core.rules``: pixelflow-rc's rule registry calls over this package's registry.

pixelflow-rc describes a rule as a :class:`RuleSpec`: a name, a NumPy step
function ``step(state, params, rng) -> state`` on one ``(H, W, C)`` state, a
GLSL shader, default parameters and a validation function. This module lets
such a rule run in this package's :class:`~pixelflow.Reservoir`:

* :func:`register_rule` adapts a :class:`RuleSpec` into a
  :class:`pixelflow.rules.Rule` and registers it, so
  ``ReservoirConfig(rule=spec.name)`` uses it;
* :func:`list_rules` lists every registered rule name (built-in, registered
  here or with :func:`pixelflow.register_rule`).

pixelflow-rc's ``get_rule(name) -> RuleSpec`` is deliberately not provided:
this package's rules are written for a batch ``(N, C, H, W)`` and may read
fixed weights and the encoded input at every step, so they have no faithful
``step(state, params, rng)`` on a single state. Use
:func:`pixelflow.get_rule` for this package's :class:`~pixelflow.rules.Rule`.
"""

from __future__ import annotations

import hashlib
import numbers
from collections.abc import Mapping
from typing import Any, Callable

import numpy as np

from pixelflow.params import Param, Params
from pixelflow.rules import Grid, Rule, StepContext, available_rules
from pixelflow.rules import register_rule as _register

__all__ = ["RuleSpec", "list_rules", "register_rule"]

# Key of the adapted rule's fixed weights that holds its random seed.
_SEED_KEY = "rulespec_seed"


class RuleSpec:
    """A cellular-automaton rule in pixelflow-rc's form.

    Parameters
    ----------
    name : str
        Name used in ``ReservoirConfig(rule=...)``; an identifier.
    step_fn : callable ``(state, params, rng) -> state``
        One update of a single float state of shape ``(H, W, C)``; ``params``
        is a dict of the rule's parameters (defaults filled in) and ``rng`` a
        :class:`numpy.random.Generator`. Must return an array of the same
        shape.
    glsl : str
        Fragment-shader source. Kept for reference; this package runs the
        NumPy ``step_fn`` on every backend.
    default_params : mapping
        Parameter names and default values.
    validate_fn : callable ``(params) -> None``
        Raises ``ValueError`` for invalid parameters.

    Attributes
    ----------
    name, glsl, default_params
        As given.
    step : callable
        ``step_fn``.
    validate : callable
        ``validate_fn``.
    """

    def __init__(
        self,
        name: str,
        step_fn: Callable[[np.ndarray, dict, np.random.Generator], np.ndarray],
        glsl: str,
        default_params: Mapping[str, Any],
        validate_fn: Callable[[dict], None],
    ) -> None:
        self.name = name
        self.step = step_fn
        self.glsl = glsl
        self.default_params = default_params
        self.validate = validate_fn

    def __repr__(self) -> str:
        return f"RuleSpec(name={self.name!r}, default_params={self.default_params!r})"


def _declare(value: Any) -> Param:
    """A parameter declaration whose type follows the default value."""
    if isinstance(value, (bool, np.bool_)):
        return Param(bool(value))
    if isinstance(value, numbers.Integral):
        return Param(int(value))
    if isinstance(value, numbers.Real):
        return Param(float(value))
    if isinstance(value, str):
        return Param(value)
    # Arrays, lists and other objects: the rule's own validate_fn judges them.
    return Param(value, kind=object)


def _state_words(state: np.ndarray) -> np.ndarray:
    """Four 32-bit words hashed from a state's bytes (seed material for its generator)."""
    digest = hashlib.blake2b(np.ascontiguousarray(state).tobytes(), digest_size=16).digest()
    return np.frombuffer(digest, dtype=np.uint32)


class _SpecBuild:
    """``build`` hook: checks the parameters with ``validate_fn`` and draws the rule's seed."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec

    def __call__(self, params: Params, grid: Grid, rng: np.random.Generator) -> dict:
        self.spec.validate(dict(params))
        return {_SEED_KEY: tuple(int(w) for w in rng.integers(0, 2**32, size=2))}


class _SpecStep:
    """Batched ``step(state, ctx)`` running a pixelflow-rc ``step_fn`` on each sample."""

    def __init__(self, spec: RuleSpec) -> None:
        self.spec = spec

    def __call__(self, state, ctx: StepContext):
        xp = ctx.xp
        host = state if xp is np else xp.asnumpy(state)
        params = dict(ctx.params)
        seed = ctx.weights[_SEED_KEY]
        out = np.empty_like(host)
        for i, sample in enumerate(host):
            hwc = np.ascontiguousarray(np.moveaxis(sample, 0, -1))
            # The generator is derived from the reservoir's seed and this
            # state alone, so a sample's features never depend on the other
            # samples of the batch or on how it is split into chunks.
            rng = np.random.default_rng([*seed, *_state_words(hwc)])
            new = np.asarray(self.spec.step(hwc, params, rng))
            if new.shape != hwc.shape:
                raise ValueError(
                    f"rule {self.spec.name!r}: step_fn returned shape {new.shape} for a state of shape "
                    f"{hwc.shape}; it must return an array of the same (H, W, C) shape"
                )
            out[i] = np.moveaxis(new, -1, 0)
        return out if xp is np else xp.asarray(out)


def register_rule(spec: RuleSpec) -> None:
    """Register a pixelflow-rc :class:`RuleSpec` under ``spec.name``.

    As in pixelflow-rc, a rule already registered under that name (a
    built-in one included) is replaced.

    The rule then runs in :class:`~pixelflow.Reservoir` like any other:
    each step calls ``spec.step`` on every sample's ``(H, W, C)`` state, with
    the config's ``rule_params`` merged over ``spec.default_params`` and a
    generator derived from the config's seed and the current state (so
    features are reproducible and do not depend on the batch).
    ``ReservoirConfig`` checks each given parameter's type against its
    default and refuses unknown names; ``spec.validate`` is called with the
    merged parameters when the reservoir first transforms data.

    Parameters
    ----------
    spec : RuleSpec

    Raises
    ------
    TypeError
        ``spec`` is not a :class:`RuleSpec`, its step or validate function is
        not callable, or its default parameters are not a mapping with string
        keys.
    ValueError
        ``spec.name`` is not an identifier.
    """
    if not isinstance(spec, RuleSpec):
        raise TypeError(f"spec must be a pixelflow.core.RuleSpec, got {type(spec).__name__}")
    if not isinstance(spec.name, str) or not spec.name.isidentifier():
        raise ValueError(f"RuleSpec name must be an identifier-like string, got {spec.name!r}")
    for attr in ("step", "validate"):
        if not callable(getattr(spec, attr)):
            raise TypeError(f"RuleSpec {spec.name!r}: {attr} must be callable, got {getattr(spec, attr)!r}")
    if not isinstance(spec.default_params, Mapping) or not all(isinstance(k, str) for k in spec.default_params):
        raise TypeError(
            f"RuleSpec {spec.name!r}: default_params must be a dict with string keys, got {spec.default_params!r}"
        )
    params = {key: _declare(value) for key, value in spec.default_params.items()}
    rule = Rule(
        name=spec.name,
        step=_SpecStep(spec),
        params=params,
        build=_SpecBuild(spec),
        # One sample's state, its channels-last copy and the result per step.
        working_copies=4,
        doc=(getattr(spec.step, "__doc__", None) or "").strip(),
    )
    _register(rule, overwrite=True)


def list_rules() -> list[str]:
    """Names of all registered rules, sorted.

    Returns
    -------
    list of str
        Built-in rules and every rule registered since (through
        :func:`register_rule` or :func:`pixelflow.register_rule`).
    """
    return available_rules()
