"""Validation of reservoir inputs at the public boundary."""

from __future__ import annotations

import numpy as np


def array_module(X):
    """CuPy for a CuPy array (data already on a GPU), numpy for anything else."""
    if isinstance(X, np.ndarray) or not hasattr(X, "__cuda_array_interface__"):
        return np
    import cupy

    return cupy if isinstance(X, cupy.ndarray) else np


def check_batch(X) -> np.ndarray:
    """Check a batch of samples and return it as a numeric array.

    Accepted shapes: ``(N, F)`` vectors, ``(N, H, W)`` grey images and
    ``(N, H, W, C)`` channels-last images. A CuPy array is checked where it
    is, on its GPU, and returned as it is.

    Raises
    ------
    TypeError
        Non-numeric (object, string, complex) data.
    ValueError
        Ragged rows, a wrong number of dimensions, empty samples, or NaN /
        infinite values (the first bad row is named).
    """
    xp = array_module(X)
    if xp is np and not isinstance(X, np.ndarray):
        try:
            X = np.asarray(X)
        except ValueError as exc:
            raise ValueError(f"X is ragged: its rows have different lengths ({exc})") from None
    if X.dtype == object:
        raise TypeError("X must be a numeric array; got dtype object (ragged rows or mixed types?)")
    if X.dtype.kind not in "biuf":
        raise TypeError(f"X must be numeric (bool, integer or float); got dtype {X.dtype}")
    if X.ndim not in (2, 3, 4):
        hint = " (use X.reshape(1, -1) for one sample)" if X.ndim == 1 else ""
        raise ValueError(
            f"X must have shape (N, features), (N, H, W) or (N, H, W, C); got {X.ndim} dimension(s) "
            f"with shape {X.shape}{hint}"
        )
    if any(s == 0 for s in X.shape[1:]):
        raise ValueError(f"X has empty samples: shape {X.shape}")
    if X.dtype.kind == "f" and len(X):
        finite = xp.isfinite(X.reshape(len(X), -1)).all(axis=1)
        if not bool(finite.all()):
            bad = int(xp.argmin(finite))
            raise ValueError(f"X contains NaN or infinite values; first bad row is {bad}")
    return X
