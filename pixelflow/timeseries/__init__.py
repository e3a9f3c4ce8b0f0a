"""Sequence tasks for driven reservoirs (:mod:`pixelflow.datasets` generates them).

:func:`nrmse` for forecasting and system identification (NARMA,
Mackey-Glass), :func:`success_rate` for the bit-memory task, and
:func:`memory_capacity` for the delay-line task. :func:`generate` forecasts
in closed loop. :class:`EchoStateNetwork` is the reservoirpy baseline, with
the same driven-mode ``run`` as the CA reservoir
(``pip install 'pixelflow[timeseries]'``); :class:`InputProducts` adds the
state's products with the current input to either's features.
"""

from .closed_loop import generate, generate_each
from .esn import EchoStateNetwork
from .input_products import InputProducts
from .metrics import memory_capacity, nrmse, success_rate

__all__ = ["EchoStateNetwork", "InputProducts", "generate", "generate_each", "memory_capacity", "nrmse", "success_rate"]
