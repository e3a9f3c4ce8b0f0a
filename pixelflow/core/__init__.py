"""``pixelflow.core``: pixelflow-rc's module layout for the reservoir and its rules.

Code written for pixelflow-rc 0.3 imports from here; new code should import
from :mod:`pixelflow` directly. Nothing here is a second implementation:

* :class:`Reservoir`, :class:`ReservoirConfig` are this package's classes
  (see :mod:`pixelflow.core.reservoir` for where their contract differs from
  pixelflow-rc's);
* :class:`RuleSpec` and :func:`register_rule` run a rule written in
  pixelflow-rc's form (a NumPy step on one ``(H, W, C)`` state) in this
  package's reservoir, and :func:`list_rules` names every registered rule
  (see :mod:`pixelflow.core.rules`).

Not provided: pixelflow-rc's ``get_rule(name) -> RuleSpec`` (this package's
rules have no single-state ``step(state, params, rng)``; use
:func:`pixelflow.get_rule`) and ``pixelflow.core.encoding`` (encoders work on
batches here; see :mod:`pixelflow.encoders`).
"""

from pixelflow.core.reservoir import Reservoir, ReservoirConfig
from pixelflow.core.rules import RuleSpec, list_rules, register_rule

__all__ = [
    "Reservoir",
    "ReservoirConfig",
    "RuleSpec",
    "list_rules",
    "register_rule",
]
