"""The rule registry: what a CA rule is, and how users add their own.

A rule is written once, as a function of the batched state ``(N, C, H, W)``
and a :class:`StepContext` whose ``xp`` is the array module (numpy or cupy).
The same function therefore runs on every array backend; hand-fused kernels
elsewhere are optimisations tested against it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelflow.params import Param, Params, resolve_params


@dataclass(frozen=True)
class Grid:
    """Shape information a rule needs to build its fixed weights."""

    channels: int
    height: int
    width: int
    input_channels: int


@dataclass(frozen=True)
class StepContext:
    """Everything a step may read besides the state.

    Attributes
    ----------
    xp : module
        numpy or cupy.
    params : Params
        The rule's resolved parameters.
    weights : dict
        Fixed arrays built once per reservoir by the rule's ``build`` hook
        (random weights, lookup tables, damping profiles), already on the
        backend's device.
    drive : array, shape (N, C_in, H, W)
        The encoded input, for rules that re-inject it every step.
    grid : Grid
    """

    xp: Any
    params: Params
    weights: Mapping[str, Any]
    drive: Any
    grid: Grid


StepFn = Callable[[Any, StepContext], Any]
InitFn = Callable[[Any, StepContext], Any]
BuildFn = Callable[[Params, Grid, np.random.Generator], dict]


@dataclass(frozen=True)
class Rule:
    """A registered cellular-automaton rule.

    Attributes
    ----------
    name : str
    step : callable ``(state, ctx) -> state``
        One update of the whole batch.
    params : mapping of str to Param
        Declared parameters with defaults and allowed ranges.
    init : callable ``(drive, ctx) -> state``, optional
        Builds the initial state from the encoded input; the default writes
        input channel ``k`` into state channel ``k`` and zeros elsewhere.
    build : callable ``(params, grid, rng) -> dict``, optional
        Makes fixed host arrays once per reservoir (drawn from ``rng``, which
        is seeded from the reservoir's seed). May raise ``ValueError`` for
        settings that only make sense once the grid is known.
    min_channels : int
    input_capacity : callable ``(channels) -> int``
        How many input channels a state of ``channels`` channels can take.
    working_copies : int
        About how many state-sized arrays a step keeps alive; sizes the
        automatic chunk so a chunk's working set stays in cache.
    doc : str
    """

    name: str
    step: StepFn
    params: Mapping[str, Param] = field(default_factory=dict)
    init: InitFn | None = None
    build: BuildFn | None = None
    min_channels: int = 1
    input_capacity: Callable[[int], int] = lambda channels: channels
    working_copies: int = 12
    doc: str = ""

    def resolve(self, given: Mapping[str, Any] | None) -> Params:
        """Validate user parameters for this rule."""
        return resolve_params(f"rule {self.name!r}", self.params, given)


_RULES: dict[str, Rule] = {}


def default_init(drive, ctx: StepContext):
    """Input channel ``k`` into state channel ``k``; the other channels start at 0."""
    xp = ctx.xp
    n, cin, h, w = drive.shape
    state = xp.zeros((n, ctx.grid.channels, h, w), dtype=drive.dtype)
    state[:, :cin] = drive
    return state


def register_rule(
    name: str | Rule,
    step: StepFn | None = None,
    *,
    params: Mapping[str, Param | Any] | None = None,
    init: InitFn | None = None,
    build: BuildFn | None = None,
    min_channels: int = 1,
    input_capacity: Callable[[int], int] | None = None,
    working_copies: int = 12,
    doc: str = "",
    overwrite: bool = False,
):
    """Register a rule, directly or as a decorator.

    Parameters
    ----------
    name : str or Rule
        The name used in ``ReservoirConfig(rule=...)``, or a ready
        :class:`Rule`.
    step : callable, optional
        ``step(state, ctx) -> new_state``; omit to use as a decorator.
    params : mapping, optional
        Parameter declarations. A plain value instead of a :class:`Param` is
        taken as the default, with its type enforced.
    init, build, min_channels, input_capacity, working_copies, doc
        See :class:`Rule`.
    overwrite : bool
        Replace an existing rule of the same name (built-ins included);
        otherwise registering a taken name is an error.

    Returns
    -------
    Rule, or a decorator returning the undecorated function.

    Examples
    --------
    >>> from pixelflow import register_rule, stencils
    >>> @register_rule("blur", params={"rate": 0.2}, overwrite=True)
    ... def blur(state, ctx):
    ...     return state + ctx.params.rate * stencils.laplacian(state, "periodic", ctx.xp)
    """
    if isinstance(name, Rule):
        return _add(name, overwrite)
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"rule name must be an identifier-like string, got {name!r}")
    declared = {k: v if isinstance(v, Param) else Param(v) for k, v in (params or {}).items()}

    def make(fn: StepFn) -> Rule:
        if not callable(fn):
            raise TypeError(f"rule {name!r}: step must be callable, got {fn!r}")
        rule = Rule(
            name=name,
            step=fn,
            params=declared,
            init=init,
            build=build,
            min_channels=min_channels,
            input_capacity=input_capacity or (lambda channels: channels),
            working_copies=working_copies,
            doc=doc or (fn.__doc__ or "").strip(),
        )
        return _add(rule, overwrite)

    if step is not None:
        return make(step)

    def decorator(fn: StepFn) -> StepFn:
        make(fn)
        return fn

    return decorator


def _add(rule: Rule, overwrite: bool) -> Rule:
    if rule.name in _RULES and not overwrite:
        raise ValueError(f"a rule named {rule.name!r} is already registered; pass overwrite=True to replace it")
    _RULES[rule.name] = rule
    return rule


def unregister_rule(name: str) -> None:
    """Remove a registered rule (mainly for notebooks and tests)."""
    get_rule(name)
    del _RULES[name]


def get_rule(name: str) -> Rule:
    """Look up a rule by name; unknown names list the registered ones."""
    if not isinstance(name, str):
        raise TypeError(f"rule must be a string name, got {type(name).__name__}")
    try:
        return _RULES[name]
    except KeyError:
        raise ValueError(f"unknown rule {name!r}; registered rules: {', '.join(sorted(_RULES))}") from None


def _defined_in_pixelflow(fn) -> bool:
    return fn is None or (getattr(fn, "__module__", "") or "").split(".")[0] == "pixelflow"


def shipped_rules(names) -> dict[str, Rule]:
    """The rules among ``names`` that another process may not know: those defined outside pixelflow.

    A reservoir sent to another process (a Dask worker) rebuilds its rule by name there; a rule registered
    in a notebook or script exists only where it was registered, so it travels with the reservoir
    (:func:`adopt_rules`). Built-in rules are registered by importing pixelflow and are not sent.
    """
    out = {}
    for name in names:
        rule = get_rule(name)
        if not all(_defined_in_pixelflow(f) for f in (rule.step, rule.init, rule.build)):
            out[name] = rule
    return out


def adopt_rules(rules: Mapping[str, Rule]) -> None:
    """Register rules sent from another process, replacing same-named ones: the sender's definition made the config."""
    for rule in rules.values():
        _RULES[rule.name] = rule


def check_shippable(rules: Mapping[str, Rule]) -> None:
    """Refuse, before any task is sent, a rule that cannot travel to other processes, saying what to do."""
    if not rules:
        return
    import cloudpickle

    for name, rule in rules.items():
        try:
            cloudpickle.dumps(rule)
        except Exception as exc:  # whatever pickling raises: the message says what to change
            raise ValueError(
                f"rule {name!r} cannot be sent to other processes ({type(exc).__name__}: {exc}); define its "
                f"functions without references to open files, locks, clients or other live objects, or run "
                f"in one process"
            ) from exc


def available_rules() -> list[str]:
    """Names of all registered rules, sorted."""
    return sorted(_RULES)
