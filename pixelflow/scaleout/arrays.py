"""Dask arrays of samples: reservoir features one row chunk at a time.

A reservoir's features of a sample never depend on the rest of the batch
(``transform(X)[i] == transform(X[i:i+1])[0]`` exactly), so features of a
dask array are the in-memory transform of each row chunk, stacked: the same
bits, on any backend, wherever the chunks are computed. Nothing runs when
the graph is built. The same holds for a
:class:`~pixelflow.stack.ReservoirStack` (its members side by side) and for
any transformer with ``transform`` and ``feature_dim`` whose rows are
independent (see :func:`transform`).

For example (with dask installed)::

    X = by_rows(np.zeros((10, 28, 28), np.float32), 4)          # chunks of 4, 4, 2 images
    F = Reservoir(ReservoirConfig(16, 16, 2, 4, "wave")).transform(X)
    F.chunks, F.dtype    # (((4, 4, 2), (512,)), dtype('float32')); nothing computed yet
"""

from __future__ import annotations

import numbers
import threading

import numpy as np

from pixelflow.checks import check_int
from pixelflow.inputs import is_dask_array
from pixelflow.scaleout.optional import require

__all__ = ["by_rows", "map_rows", "sample_rows", "shared", "transform"]

#: One reservoir call at a time per process. A call already uses the whole
#: machine (numba threads, chunk threads or a GPU), its BLAS thread limit is
#: process-global (threadpoolctl) so overlapping calls could lift each other's
#: limit mid-product and change the bits, and numba's workqueue threading layer
#: aborts on concurrent parallel launches. Dask's parallelism comes from worker
#: processes.
process_lock = threading.Lock()


def by_rows(X, rows: int):
    """``X`` as a dask array of whole samples, ``rows`` samples per chunk.

    Parameters
    ----------
    X : array-like, shape (N, ...)
        Anything ``dask.array.from_array`` reads lazily (numpy array,
        memory map, HDF5 or Zarr dataset).
    rows : int
        Samples per chunk (the last chunk may be shorter).

    Returns
    -------
    dask.array.Array
        Chunked along the first axis only.

    Notes
    -----
    A numpy array in memory travels inside the task graph, which dask warns
    about above a few MB ("Sending large graph"). That keeps every chunk
    recomputable when a worker dies (scattered data would be lost with it);
    for data larger than a worker's share of memory, pass a Zarr or HDF5
    dataset on storage every worker reads.
    """
    da = require("dask.array", "pixelflow.scaleout.by_rows")
    check_int(rows, "rows", low=1)
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    if len(X.shape) < 1:
        raise ValueError("X must have a sample axis, got a 0-dimensional array")
    chunks = (int(rows),) + (-1,) * (len(X.shape) - 1)
    return X.rechunk(chunks) if is_dask_array(X) else da.from_array(X, chunks=chunks)


def sample_rows(X, *, ndims=(2, 3, 4), what="X must have shape (N, features), (N, H, W) or (N, H, W, C)"):
    """Check a dask array of samples and rechunk it to whole samples per chunk.

    Parameters
    ----------
    X : dask.array.Array
    ndims : tuple of int
        Accepted numbers of dimensions.
    what : str
        The sentence naming the accepted shapes, for the error message.

    Returns
    -------
    dask.array.Array
        ``X`` with one chunk along every axis but the first (a no-op when it
        already has that).

    Raises
    ------
    TypeError
        Non-numeric data.
    ValueError
        A wrong number of dimensions, empty samples, or unknown sample shape.
    """
    if not is_dask_array(X):
        raise TypeError(f"expected a dask array, got {type(X).__name__}")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must be numeric (bool, integer or float); got dtype {X.dtype}")
    if X.ndim not in ndims:
        raise ValueError(f"{what}; got a dask array with {X.ndim} dimension(s) and shape {X.shape}")
    if any(not np.isfinite(s) for s in X.shape[1:]):
        raise ValueError(f"X has unknown sample shape {X.shape}; call X.compute_chunk_sizes() first")
    if any(s == 0 for s in X.shape[1:]):
        raise ValueError(f"X has empty samples: shape {X.shape}")
    whole = {axis: -1 for axis in range(1, X.ndim) if len(X.chunks[axis]) > 1}
    return X.rechunk(whole) if whole else X


def shared(obj, name: str):
    """``obj`` as one graph key, so each worker receives (and unpickles) it once, not once per task."""
    dask = require("dask", "pixelflow.scaleout")
    return dask.delayed(obj, name=name, pure=True)


def map_rows(func, X, *args, width, dtype, token):
    """Lazy ``func(block, *args)`` over the row chunks of ``X``.

    Parameters
    ----------
    func : callable
        ``func(block, *args, block_info=None)`` returns the rows of one chunk:
        shape ``(len(block),)`` when ``width`` is None, else
        ``(len(block), width)``.
    X : dask.array.Array
        Whole samples per chunk (see :func:`sample_rows`).
    *args
        Further arguments, e.g. a :func:`shared` object.
    width : int or None
        Columns of the output (None: one value per row).
    dtype : numpy dtype
    token : str
        Prefix of the output's keys (the rest is a hash of the inputs, so
        the same inputs give the same keys).

    Returns
    -------
    dask.array.Array
        One output chunk per input row chunk.
    """
    chunks = (X.chunks[0],) if width is None else (X.chunks[0], (int(width),))
    drop = [axis for axis in range(len(chunks), X.ndim)]
    # ``meta`` is given so dask never calls func on dummy data to infer it.
    return X.map_blocks(func, *args, chunks=chunks, drop_axis=drop, dtype=dtype,
                        meta=np.empty((0,) * len(chunks), dtype=dtype), token=token)


def _first_row(block_info) -> int | None:
    location = (block_info or {}).get(0, {}).get("array-location")
    start = location[0][0] if location else None
    return int(start) if start is not None and np.isfinite(start) else None


def _features_of_rows(block, model, block_info=None):
    """The in-memory transform of one row chunk (rows named by their index in the whole array)."""
    if block.dtype.kind == "f" and len(block):
        finite = np.isfinite(block.reshape(len(block), -1)).all(axis=1)
        if not finite.all():
            start = _first_row(block_info)
            bad = int(np.argmin(finite))
            where = f"first bad row is {start + bad}" if start is not None else f"row {bad} of a chunk"
            raise ValueError(f"X contains NaN or infinite values; {where}")
    with process_lock:
        return np.asarray(model.transform(block), dtype=np.float32)


def _for_workers(model, tokenize):
    """What the workers receive for ``model``, and the name of its graph key.

    A model with ``for_workers()`` (a pixelflow reservoir or stack) travels
    as the fresh copy that method makes, named by the identity it returns,
    so equal reservoirs share a key; any other transformer travels as it is.
    """
    kind = type(model).__name__
    if callable(getattr(model, "for_workers", None)):
        fresh, identity = model.for_workers()
        return fresh, f"pixelflow-{kind.lower()}-" + tokenize(*identity)
    return model, f"pixelflow-{kind.lower()}-" + tokenize(model)


def transform(model, X):
    """Features of a dask array of samples, lazily: what ``model.transform(X)`` returns for one.

    Parameters
    ----------
    model : Reservoir, ReservoirStack, or any transformer
        Anything with ``transform(ndarray) -> (n, feature_dim)`` and an
        integer ``feature_dim``, whose output row ``i`` depends on input row
        ``i`` only (pixelflow's reservoirs guarantee it; the result is
        otherwise not the in-memory transform).
    X : dask.array.Array, shape (N, F), (N, H, W) or (N, H, W, C)
        Chunked along samples (chunks along other axes are merged).

    Returns
    -------
    dask.array.Array of float32, shape (N, feature_dim)
        One chunk per row chunk of ``X``; computed, bit-identical to
        ``model.transform(X.compute())`` (cast to float32 for a transformer
        that returns another dtype).

    Notes
    -----
    For a reservoir or stack the sample shape is checked (and fixes its
    ``input_shape_``) now, so a wrong shape fails here rather than on a
    worker. Workers receive the model once each; a reservoir as its config
    and backend name (its pickled form), the fixed weights rebuilt from the
    seeds. Each worker process runs one chunk at a time (:data:`process_lock`):
    use worker processes, not threads, for parallelism.
    """
    require("dask.array", f"{type(model).__name__}.transform of a dask array")
    width = getattr(model, "feature_dim", None)
    if not callable(getattr(model, "transform", None)) or isinstance(width, bool) \
            or not isinstance(width, numbers.Integral) or width < 1:
        raise TypeError(f"{type(model).__name__} is not a transformer with transform() and a positive integer "
                        f"feature_dim (got feature_dim={width!r})")
    X = sample_rows(X)
    if callable(getattr(model, "check_input", None)):
        model.check_input(tuple(int(s) for s in X.shape[1:]))
    from dask.base import tokenize

    worker, name = _for_workers(model, tokenize)
    # Keys "pixelflow-transform-<hash>": dask groups tasks by that prefix (dashboard, task streams).
    return map_rows(_features_of_rows, X, shared(worker, name), width=int(width),
                    dtype=np.float32, token="pixelflow-transform")
