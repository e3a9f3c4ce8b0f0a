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
* :mod:`~pixelflow.scaleout.evaluation` -- :func:`evaluate_out_of_core`, the
  protocol's refit-and-test step with features and readout out of core, and
  :func:`agreement` with the in-memory result.
* :mod:`~pixelflow.scaleout.sweeps` -- :func:`grid` of configurations and
  :func:`sweep`, one ``distributed`` task per configuration (or in-process).
* :mod:`~pixelflow.scaleout.cluster` -- :func:`connect` to a scheduler or a
  new local cluster of worker processes, :func:`on` to compute there,
  :func:`memory_report` of the workers' limits, peak memory and spilling.
* :mod:`~pixelflow.scaleout.optional` -- recognising dask arrays without
  importing dask.

For example, on a ``distributed`` cluster::

    from distributed import Client
    from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
    from pixelflow.scaleout import by_rows, grid, sweep

    client = Client(n_workers=4, threads_per_worker=1)     # dask computations now run here
    reservoir = Reservoir(ReservoirConfig(16, 16, 2, 8, "wave"))
    F = reservoir.transform(by_rows(X_train, 2048))           # lazy, one task per 2048 images
    readout = RidgeReadout(alpha=10.0, standardize=True).fit(F, y_train)   # out of core
    accuracy = readout.score(reservoir.transform(by_rows(X_test, 2048)), y_test)

    configs = grid(reservoir.config, rule=["wave", "diffusion_reaction"], seed=[0, 1, 2])
    rows = sweep(client, configs, X_train, y_train, X_test, y_test)   # one task per config

Each worker process runs one reservoir call at a time
(:data:`~pixelflow.scaleout.arrays.process_lock`), so give workers one thread
each; a call may itself use several threads (numba's ``NUMBA_NUM_THREADS`` on
the ``cpu`` backend), so keep workers × those threads near the core count.
"""

from pixelflow.scaleout.arrays import by_rows
from pixelflow.scaleout.cluster import connect, memory_report, on
from pixelflow.scaleout.evaluation import agreement, evaluate_out_of_core
from pixelflow.scaleout.optional import is_dask_array
from pixelflow.scaleout.sweeps import ALPHAS, grid, sweep

__all__ = ["ALPHAS", "agreement", "by_rows", "connect", "evaluate_out_of_core", "grid", "is_dask_array",
           "memory_report", "on", "sweep"]
