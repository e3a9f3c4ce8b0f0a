"""Scale out on Dask: the same numbers as in memory, from data that is not.

Dask is optional (``pip install 'pixelflow[dask]'``); nothing here imports it
until a dask array or a client is handed over.

* :mod:`~pixelflow.scaleout.arrays` -- ``Reservoir.transform`` (and
  ``ReservoirStack.transform``) of a dask array of samples: a lazy dask array
  of features, one task per row chunk, bit-identical to the in-memory
  transform.
* :mod:`~pixelflow.scaleout.ridge` -- ``RidgeReadout.fit`` of a dask array
  of features: sufficient statistics per row chunk summed by a tree of tasks,
  one solve; chunk-wise ``predict`` / ``decision_function`` / ``score``.
* :mod:`~pixelflow.scaleout.cluster` -- :func:`connect` to a scheduler or a
  new local cluster of worker processes, :func:`on` to compute there,
  :func:`memory_report` of the workers' limits, peak memory and spilling.
* :mod:`~pixelflow.scaleout.optional` -- importing dask where it is used, or
  saying how to install it.

For example, on a ``distributed`` cluster::

    from distributed import Client
    from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
    from pixelflow.scaleout import by_rows
    from pixelflow.workbook.protocols.sweeps import grid, sweep

    client = Client(n_workers=4, threads_per_worker=1)     # dask computations now run here
    reservoir = Reservoir(ReservoirConfig(16, 16, 2, 8, "wave"))
    F = reservoir.transform(by_rows(X_train, 2048))           # lazy, one task per 2048 images
    readout = RidgeReadout(alpha=10.0, standardize=True).fit(F, y_train)   # out of core
    accuracy = readout.score(reservoir.transform(by_rows(X_test, 2048)), y_test)

    configs = grid(reservoir.config, rule=["wave", "diffusion_reaction"], seed=[0, 1, 2])
    rows = sweep(client, configs, X_train, y_train, X_test, y_test)   # one task per config

The protocols that run on a cluster -- the refit-and-test step out of core
and sweeps over configurations -- belong to the workbook
(:mod:`pixelflow.workbook.protocols.out_of_core`,
:mod:`pixelflow.workbook.protocols.sweeps`).

Each worker process runs one reservoir call at a time
(:data:`~pixelflow.scaleout.arrays.process_lock`), so give workers one thread
each; a call may itself use several threads (numba's ``NUMBA_NUM_THREADS`` on
the ``cpu`` backend), so keep workers × those threads near the core count.
"""

from pixelflow.inputs import is_dask_array
from pixelflow.scaleout.arrays import by_rows
from pixelflow.scaleout.cluster import connect, describe, memory_report, on

__all__ = ["by_rows", "connect", "describe", "is_dask_array", "memory_report", "on"]

# Names that moved up to the workbook, with where they live now (the library
# never imports the workbook, so they are pointed to, not re-exported).
_MOVED = {"ALPHAS": "sweeps", "grid": "sweeps", "sweep": "sweeps", "agreement": "out_of_core",
          "evaluate_out_of_core": "out_of_core"}


def __getattr__(name):
    if name in _MOVED:
        raise ImportError(f"pixelflow.scaleout.{name} is now pixelflow.workbook.protocols.{_MOVED[name]}.{name}")
    raise AttributeError(f"module 'pixelflow.scaleout' has no attribute {name!r}")
