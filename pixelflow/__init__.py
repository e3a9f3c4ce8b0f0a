"""pixelflow: cellular automata as computers.

Fixed CA reservoirs with linear readouts, and (in :mod:`pixelflow.nca`)
learned neural cellular automata.

>>> from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
"""

from pixelflow import stencils
from pixelflow.config import ReservoirConfig
from pixelflow.encoders import available_encoders
from pixelflow.params import Param
from pixelflow.readouts import LogisticReadout, RidgeReadout
from pixelflow.reservoir import Reservoir
from pixelflow.rules import Rule, StepContext, available_rules, get_rule, register_rule, unregister_rule
from pixelflow.backends import available_backends
from pixelflow.stack import ReservoirStack, StackConfig

__version__ = "0.1.0"

__all__ = [
    "LogisticReadout",
    "Param",
    "Reservoir",
    "ReservoirConfig",
    "ReservoirStack",
    "RidgeReadout",
    "Rule",
    "StackConfig",
    "StepContext",
    "__version__",
    "available_backends",
    "available_encoders",
    "available_rules",
    "get_rule",
    "register_rule",
    "stencils",
    "unregister_rule",
]
