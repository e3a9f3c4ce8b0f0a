"""Validation of reservoir inputs at the public boundary."""

from __future__ import annotations

import numpy as np


def array_module(X):
    """CuPy for a CuPy array (data already on a GPU), numpy for anything else."""
    if isinstance(X, np.ndarray) or not hasattr(X, "__cuda_array_interface__"):
        return np
    import cupy

    return cupy if isinstance(X, cupy.ndarray) else np


def is_dask_array(x) -> bool:
    """Whether ``x`` is a ``dask.array.Array``, decided without importing dask.

    ``import pixelflow`` must work where dask is not installed and not pay
    its import time where it is, so the type's module decides.

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_array(np.zeros(3))
    False
    """
    cls = type(x)
    return cls.__module__.startswith("dask.") and cls.__name__ == "Array"


def as_numeric(X, name: str = "X"):
    """``X`` as a numeric array (host or CuPy), with one message for ragged and non-numeric input.

    Raises
    ------
    TypeError
        Non-numeric (object, string, complex) data.
    ValueError
        Ragged rows (nested sequences of different lengths).
    """
    xp = array_module(X)
    if xp is np and not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(f"{name} is ragged: its rows have different lengths ({exc})") from None
    if X.dtype == object:
        raise TypeError(f"{name} must be a numeric array; got dtype object (ragged rows or mixed types?)")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric (bool, integer or float); got dtype {X.dtype}")
    return X


def finite_after_cast(X, dtype, axis: int = 0):
    """Whether each index along ``axis`` holds only values that stay finite once cast to ``dtype``.

    A float64 value beyond the float32 range (e.g. ``1e39``) is finite but
    becomes ``inf`` in a float32 reservoir, so finiteness is judged after the
    cast the reservoir will make.
    """
    xp = array_module(X)
    others = tuple(a for a in range(X.ndim) if a != axis)
    if X.dtype.kind != "f":
        # Every bool and integer value is finite in float32 and float64.
        return xp.ones(X.shape[axis], dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        return xp.isfinite(X.astype(dtype, copy=False)).all(axis=others)


def check_batch(X, dtype=None):
    """Check a batch of samples and return it as a numeric array.

    Accepted shapes: ``(N, F)`` vectors, ``(N, H, W)`` grey images and
    ``(N, H, W, C)`` channels-last images. A CuPy array is checked where it
    is, on its GPU, and returned as it is.

    Parameters
    ----------
    X : array-like
    dtype : numpy dtype, optional
        The precision the samples will be cast to: values must stay finite
        after that cast (``1e39`` is refused for a float32 reservoir).

    Raises
    ------
    TypeError
        Non-numeric (object, string, complex) data.
    ValueError
        Ragged rows, a wrong number of dimensions, empty samples, or NaN /
        infinite values (the first bad row is named).
    """
    xp = array_module(X)
    X = as_numeric(X)
    if X.ndim not in (2, 3, 4):
        hint = " (use X.reshape(1, -1) for one sample)" if X.ndim == 1 else ""
        raise ValueError(
            f"X must have shape (N, features), (N, H, W) or (N, H, W, C); got {X.ndim} dimension(s) "
            f"with shape {X.shape}{hint}"
        )
    if any(s == 0 for s in X.shape[1:]):
        raise ValueError(f"X has empty samples: shape {X.shape}")
    if len(X):
        finite = finite_after_cast(X, X.dtype if dtype is None else dtype)
        if not bool(finite.all()):
            bad = int(xp.argmin(finite))
            beyond = "" if dtype is None or not bool(finite_after_cast(X[bad:bad + 1], X.dtype).all()) else (
                f" once cast to {np.dtype(dtype).name}, the reservoir's dtype (values beyond its range)")
            raise ValueError(f"X contains NaN or infinite values{beyond}; first bad row is {bad}")
    return X
