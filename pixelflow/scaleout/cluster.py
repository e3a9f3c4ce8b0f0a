"""A ``distributed`` cluster for the scale-out notebook: start or join one, compute on it, read its memory.

:func:`connect` joins a running scheduler (``"tcp://host:8786"``) or starts a
local cluster of worker processes, one thread each, with a memory limit per
worker; :func:`on` makes dask computations run there; :func:`memory_report`
reads each worker's memory limit, resident and peak memory, and what it
spilled to disk.

For example::

    client = connect(None, n_workers=2, memory_limit=2**30)   # a LocalCluster of 2 processes, 1 GiB each
    with on(client):
        F = reservoir.transform(by_rows(X, 2048))             # computed on the cluster
        readout = RidgeReadout(alpha=1.0).fit(F, y)
    memory_report(client)                                     # one dict per worker
    client.close()                                            # closes the LocalCluster too

Every function sent to the workers is importable from here (a worker process
cannot unpickle a function defined in a notebook).
"""

from __future__ import annotations

import contextlib

from pixelflow.checks import check_int
from pixelflow.scaleout.optional import require

__all__ = ["connect", "memory_report", "on", "worker_memory"]


def connect(scheduler: str | None = None, *, n_workers: int = 2, threads_per_worker: int = 1,
            memory_limit: int | str = "auto", numba_threads: int | None = 1, dashboard_address: str = ":0"):
    """A ``distributed.Client`` on a running scheduler, or on a new local cluster of worker processes.

    Parameters
    ----------
    scheduler : str or None
        Address of a running scheduler (``"tcp://host:8786"``); its workers
        keep the memory limits and threads they were started with, and the
        keyword arguments below are ignored. ``None`` starts a
        ``LocalCluster`` of worker processes that closes with the client.
    n_workers, threads_per_worker : int
        Local cluster only. Use one thread per worker: each worker process
        runs one reservoir call at a time anyway
        (:data:`pixelflow.scaleout.arrays.process_lock`).
    memory_limit : int or str
        Local cluster only: bytes per worker (or dask's ``"auto"``, a share of
        the machine). Dask spills stored results to disk above 60 % of it,
        pauses the worker above 80 % and restarts it above 95 %.
    numba_threads : int or None
        Local cluster only: ``NUMBA_NUM_THREADS`` of each worker (the ``cpu``
        backend's kernels); ``None`` leaves numba's default, one thread per
        core in every worker. BLAS already runs one thread per worker
        (``distributed``'s default).
    dashboard_address : str
        Local cluster only: where the scheduler serves its dashboard
        (``":0"``: any free port; ``client.dashboard_link`` says which).

    Returns
    -------
    distributed.Client
        Not set as dask's default: compute inside :func:`on`.
    """
    distributed = require("distributed", "pixelflow.scaleout.cluster.connect")
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler:
            raise TypeError(f"scheduler must be an address like 'tcp://host:8786' or None, got {scheduler!r}")
        return distributed.Client(scheduler, set_as_default=False)
    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        check_int(value, name, low=1)
    env = {} if numba_threads is None else {"NUMBA_NUM_THREADS": str(int(numba_threads))}
    return distributed.Client(n_workers=int(n_workers), threads_per_worker=int(threads_per_worker), processes=True,
                              memory_limit=memory_limit, env=env, dashboard_address=dashboard_address,
                              silence_logs=40, set_as_default=False)


@contextlib.contextmanager
def on(client):
    """Run dask computations (``.compute()``, ``RidgeReadout.fit`` of dask features) on ``client``.

    Not ``dask.config.set(scheduler=client)``: a nanny restarting a killed
    worker pickles the current dask config, and a Client does not pickle.
    """
    dask = require("dask", "pixelflow.scaleout.cluster.on")
    with dask.config.set(scheduler="dask.distributed"), client.as_current():
        yield client


def worker_memory(dask_worker=None) -> dict:
    """Memory of the worker process this runs in (``client.run(worker_memory)`` passes ``dask_worker``).

    Returns
    -------
    dict
        ``memory_limit`` (bytes, None without a limit), ``rss`` (resident
        now), ``peak_rss`` (the process's highest resident set so far:
        ``VmHWM`` of ``/proc/self/status``; None where there is no such
        file), ``spilled_now`` (bytes of results on disk now),
        ``spilled_bytes`` and ``spill_count`` (written to disk in all, and
        how many times).

    Notes
    -----
    Not ``getrusage``'s ``ru_maxrss``: Linux carries it over ``execve``, so a
    worker spawned from a client holding gigabytes reports the client's
    resident set as its own peak.
    """
    import psutil

    data = getattr(dask_worker, "data", None)
    try:
        spilled_now = int(data.spilled_total.disk)
    except AttributeError:  # spilling disabled, or no worker
        spilled_now = 0
    written = getattr(data, "cumulative_metrics", {})
    manager = getattr(dask_worker, "memory_manager", None)
    return {
        "memory_limit": getattr(manager, "memory_limit", None),
        "rss": int(psutil.Process().memory_info().rss),
        "peak_rss": _peak_rss(),
        "spilled_now": spilled_now,
        "spilled_bytes": int(written.get(("disk-write", "bytes"), 0)),
        "spill_count": int(written.get(("disk-write", "count"), 0)),
    }


def _peak_rss() -> int | None:
    """The high-water mark of this process's resident set, in bytes (Linux), else None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return None


def memory_report(client) -> list[dict]:
    """:func:`worker_memory` of every worker, in the order of their addresses (the address under ``worker``)."""
    report = client.run(worker_memory)
    return [{"worker": address, **report[address]} for address in sorted(report)]


def describe(client) -> str:
    """The dashboard link, workers, threads per worker and memory limits of a client's cluster, as text."""
    threads = client.nthreads()
    limits = ", ".join(
        f"{w['memory_limit'] / 1e6:,.0f} MB" if w["memory_limit"] else "none" for w in memory_report(client)
    )
    return (f"dashboard: {client.dashboard_link}\n"
            f"{len(threads)} workers, {sorted(set(threads.values()))} thread(s) each; "
            f"memory limit per worker: {limits}")
