"""pixelflow: cellular automata as computers.

Fixed CA reservoirs with linear readouts, and (in :mod:`pixelflow.nca`)
learned neural cellular automata. Extension points: :func:`register_rule`,
:func:`register_encoder`, :func:`register_backend`. The experiments of the
paper (protocols, presets, results, notebooks) are the workbook,
:mod:`pixelflow.workbook`, built on this library.

>>> from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
"""

from pixelflow import stencils
from pixelflow.backends import ArrayBackend, available_backends, register_backend
from pixelflow.config import ReservoirConfig
from pixelflow.encoders import Encoder, available_encoders, get_encoder, register_encoder
from pixelflow.params import Param
from pixelflow.readouts import LogisticReadout, RidgeReadout
from pixelflow.reservoir import Reservoir
from pixelflow.rules import Rule, StepContext, available_rules, get_rule, register_rule, unregister_rule
from pixelflow.stack import ReservoirStack, StackConfig

__version__ = "0.1.0"

__all__ = [
    "ArrayBackend",
    "Encoder",
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
    "get_encoder",
    "get_rule",
    "register_backend",
    "register_encoder",
    "register_rule",
    "stencils",
    "unregister_rule",
]
