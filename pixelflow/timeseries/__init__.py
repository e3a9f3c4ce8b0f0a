"""Sequence tasks for driven reservoirs (:mod:`pixelflow.datasets` generates them).

:func:`nrmse` for forecasting and system identification (NARMA,
Mackey-Glass), :func:`success_rate` for the bit-memory task, and
:func:`memory_capacity` for the delay-line task. :func:`generate` forecasts
in closed loop. :class:`EchoStateNetwork` is the reservoirpy baseline, with
the same driven-mode ``run`` as the CA reservoir
(``pip install 'pixelflow[timeseries]'``); :mod:`.protocol` is notebook 10's
comparison of the two.
"""

from .closed_loop import generate, generate_each
from .esn import EchoStateNetwork
from .metrics import memory_capacity, nrmse, success_rate

__all__ = ["EchoStateNetwork", "generate", "generate_each", "memory_capacity", "nrmse", "success_rate"]
