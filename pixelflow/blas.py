"""Limits on the host BLAS's threads, cheap enough to set around every reservoir call.

``threadpoolctl.threadpool_limits`` finds the loaded thread pools afresh on
each call by reading the process's memory map: about 0.4 ms on an idle
machine and several on a busy one with torch loaded. A closed-loop forecast
enters the reservoir once per generated step, thousands of times, and that
search used to dominate its cost. The pools are therefore found once and
found again only after new modules were imported (a new BLAS comes with an
import: numpy, scipy, torch).
"""

from __future__ import annotations

import sys
import threading

from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_cached: tuple[int, ThreadpoolController] | None = None


def controller() -> ThreadpoolController:
    """threadpoolctl's view of the process's thread pools, refreshed when ``sys.modules`` has grown."""
    global _cached
    with _lock:
        if _cached is None or _cached[0] != len(sys.modules):
            _cached = (len(sys.modules), ThreadpoolController())
        return _cached[1]


def limit_blas(threads: int):
    """A context manager that runs its block with ``threads`` BLAS threads, restored afterwards.

    >>> import numpy as np
    >>> with limit_blas(1):
    ...     float(np.ones((2, 2)) @ np.ones(2) @ np.ones(2))
    4.0
    """
    return controller().limit(limits=threads, user_api="blas")
