"""The :class:`Dataset` container returned by every loader in this package."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np


# eq=False: the generated __eq__ would compare numpy arrays element-wise and
# then fail on the ambiguous truth value; identity comparison is the honest one.
@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test split plus a record of where it came from.

    Parameters
    ----------
    X_train, X_test : numpy.ndarray
        Inputs, one sample per leading index. Image loaders return float32
        in [0, 1] with shape (N, H, W) for gray or (N, H, W, 3) for RGB
        (channels-last).
    y_train, y_test : numpy.ndarray
        Integer class labels (int64), shape (N,).
    meta : dict
        Provenance and description: at least ``name`` and ``split``; file
        loaders add source directory, file hashes, counts and class names.

    Examples
    --------
    >>> X_train, y_train, X_test, y_test = ds  # doctest: +SKIP
    >>> ds.split  # doctest: +SKIP
    'MNIST 14k-train prefix / 10k test'
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for part in ("train", "test"):
            X = getattr(self, f"X_{part}")
            y = getattr(self, f"y_{part}")
            if not isinstance(X, np.ndarray) or not isinstance(y, np.ndarray):
                raise TypeError(
                    f"X_{part} and y_{part} must be numpy arrays, got "
                    f"{type(X).__name__} and {type(y).__name__}"
                )
            if y.ndim != 1:
                raise ValueError(f"y_{part} must be 1-D, got shape {y.shape}")
            if X.shape[:1] != y.shape:
                raise ValueError(
                    f"X_{part} has {X.shape[0] if X.ndim else 0} samples but "
                    f"y_{part} has {y.shape[0]}; they must match"
                )
        if not isinstance(self.meta, dict):
            raise TypeError(f"meta must be a dict, got {type(self.meta).__name__}")

    def __iter__(self) -> Iterator[np.ndarray]:
        """Yield ``X_train, y_train, X_test, y_test`` for tuple unpacking."""
        return iter((self.X_train, self.y_train, self.X_test, self.y_test))

    @property
    def split(self) -> str:
        """Human description of the split actually used, e.g.
        ``"MNIST 14k-train prefix / 10k test"``."""
        return str(self.meta.get("split", "unspecified split"))

    def __repr__(self) -> str:
        # The default dataclass repr would print the full arrays.
        return (
            f"Dataset({self.split!r}, X_train={self.X_train.shape} "
            f"{self.X_train.dtype}, X_test={self.X_test.shape} {self.X_test.dtype})"
        )
