"""Cellular-automaton rules: the registry and the built-in rules.

Importing this package registers ``diffusion_reaction``, ``life_like``,
``wave`` and ``random_nca``.
"""

from pixelflow.rules import diffusion_reaction, life_like, random_nca, wave  # noqa: F401  (registers)
from pixelflow.rules.registry import (
    Grid,
    Rule,
    StepContext,
    available_rules,
    default_init,
    get_rule,
    register_rule,
    unregister_rule,
)

__all__ = [
    "Grid",
    "Rule",
    "StepContext",
    "available_rules",
    "default_init",
    "get_rule",
    "register_rule",
    "unregister_rule",
]
