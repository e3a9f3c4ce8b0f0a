"""Independent calls run side by side, one process each, with the same results as one after another.

The neural-CA notebooks train and evaluate on one torch thread (see
:mod:`pixelflow.threads`: a fixed thread count keeps the results
bit-identical, and spinning OpenMP threads made small kernels many times
slower on a busy machine). Their independent jobs — the two textures of
06, the two models of 07, the learned variants of 09 — therefore leave the
other cores idle when run one after another; run here, each in its own
process on its own core, they finish in the time of the longest. Each call
does exactly what it would do in the notebook's process (same arguments,
same seeds, same single thread), so the results are the same bit for bit;
its own timings are those of a job with a core to itself.

Processes are started with ``spawn``: a forked child of a process whose
torch or OpenMP thread pools are running can deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm.auto import tqdm

from pixelflow.checks import check_count


def default_jobs(n_calls: int) -> int:
    """As many processes as calls, but no more than the machine's cores."""
    return max(1, min(n_calls, os.cpu_count() or 1))


def run_side_by_side(calls: Mapping[str, Callable[[], Any]], jobs: int | None = None,
                     progress: bool = True) -> dict[str, Any]:
    """Run each of ``calls`` (name -> callable taking no arguments) and return ``{name: result}`` in their order.

    Parameters
    ----------
    calls : mapping of str to callable
        Each a picklable callable, e.g. ``functools.partial`` of a function of
        the package or a bound method of a picklable object; its arguments and
        result are pickled to and from its process.
    jobs : int, optional
        Processes at a time (default: :func:`default_jobs`). With one, the
        calls run here, one after another, and need not be picklable.
    progress : bool, default True
        A bar of the calls finished (the calls' own bars would print in
        their processes, out of sight of a notebook: pass them
        ``progress=False``).

    Raises
    ------
    TypeError
        ``calls`` is not a mapping of names to callables.
    Exception
        The first failure in the order of ``calls``, re-raised with a note
        naming its call, after the calls already running have ended.

    Examples
    --------
    >>> from functools import partial
    >>> run_side_by_side({"a": partial(divmod, 7, 2), "b": partial(pow, 2, 10)}, jobs=1)
    {'a': (3, 1), 'b': 1024}
    """
    if not isinstance(calls, Mapping):
        raise TypeError(f"calls must map names (str) to callables taking no arguments, got {type(calls).__name__}")
    for name, call in calls.items():
        if not isinstance(name, str) or not callable(call):
            raise TypeError(f"calls must map names (str) to callables taking no arguments; got {name!r} "
                            f"({type(name).__name__}) -> {type(call).__name__}")
    jobs = default_jobs(len(calls)) if jobs is None else check_count(jobs, "jobs")
    if jobs == 1 or len(calls) <= 1:
        return {name: _named(name, call) for name, call in calls.items()}
    context = multiprocessing.get_context("spawn")
    bar = tqdm(total=len(calls), desc="side by side", unit="call", disable=not progress, leave=False)
    with bar, ProcessPoolExecutor(max_workers=min(jobs, len(calls)), mp_context=context) as pool:
        futures = {name: pool.submit(call) for name, call in calls.items()}
        for future in futures.values():
            future.add_done_callback(lambda _: bar.update())
        try:
            return {name: _named(name, future.result) for name, future in futures.items()}
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)  # calls not yet started do not start
            raise


def _named(name: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:
        exc.add_note(f"(in the call {name!r} of run_side_by_side)")
        raise
