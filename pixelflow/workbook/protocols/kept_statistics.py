"""Ridge statistics of a search's fit rows, kept so that the final fit on all training rows adds only the rest.

:func:`~pixelflow.workbook.protocols.search` fits each ridge readout on the
fit rows of a validation split, and
:func:`~pixelflow.workbook.protocols.evaluate` refits the chosen one on all
training rows, a superset. Ridge sufficient statistics of disjoint row sets
merge exactly (:meth:`pixelflow.linalg.ridge.RidgeStats.merge`), so the refit
for the search's seed needs the statistics of the validation rows only: for
Fashion-MNIST's 14,016 features, a product over 12,000 rows instead of
60,000. The coefficients are those of a fit from scratch up to the order of
the float64 sums (tested).

Statistics are kept for the features they came from: the reservoir
configuration (seed included), the backend, and digests of the training
images and labels; with the fit rows and class labels they were built on.
A D × D float64 matrix takes gigabytes for tens of thousands of features,
so they are written to a temporary folder of this process, deleted when the
process ends; at most :data:`LIMIT_BYTES` are kept, the oldest dropped first.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import json
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelflow.linalg import ridge

__all__ = ["LIMIT_BYTES", "Kept", "clear", "data_digest", "get", "key", "keep"]

# Enough for every configuration of one search at paper scale (Fashion-MNIST:
# 3.3 GB); disk, not memory.
LIMIT_BYTES = 16 * 2**30


@dataclass(frozen=True)
class Kept:
    """Statistics of ``rows`` of the training set, targets coded by :func:`pixelflow.linalg.ridge.one_vs_all`."""

    rows: np.ndarray
    classes: np.ndarray
    stats: ridge.RidgeStats


_entries: OrderedDict[str, tuple[Path, int, np.ndarray, np.ndarray, ridge.RidgeStats]] = OrderedDict()
_folder: Path | None = None
_serial = itertools.count()


def data_digest(X, y) -> str:
    """sha256 of the training images and labels (dtype, shape and bytes of each)."""
    digest = hashlib.sha256()
    for a in (np.asarray(X), np.asarray(y)):
        a = np.ascontiguousarray(a)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.reshape(-1).view(np.uint8))
    return digest.hexdigest()


def key(config, backend: str, digest: str) -> str:
    """The key of a reservoir configuration's features on the data of ``digest`` (:func:`data_digest`)."""
    return json.dumps([config.to_dict(), str(backend), digest], sort_keys=True)


def _storage() -> Path:
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="pixelflow-ridge-statistics-"))
        atexit.register(shutil.rmtree, _folder, True)
    return _folder


def keep(name: str, rows, classes, stats: ridge.RidgeStats) -> None:
    """Keep ``stats`` of training ``rows`` (targets coded for ``classes``) under the key ``name``."""
    rows = np.array(rows, dtype=np.int64)
    nbytes = stats.xx.nbytes
    if nbytes > LIMIT_BYTES:
        return
    if name in _entries:
        _drop(name)
    while _entries and sum(e[1] for e in _entries.values()) + nbytes > LIMIT_BYTES:
        _drop(next(iter(_entries)))
    path = _storage() / f"{next(_serial)}.npy"
    np.save(path, np.asfortranarray(stats.xx))
    small = ridge.RidgeStats(stats.n_samples, stats.x_mean.copy(), stats.y_mean.copy(), np.empty((0, 0)),
                             stats.xy.copy())
    _entries[name] = (path, nbytes, rows, np.array(classes), small)


def get(name: str) -> Kept | None:
    """The statistics kept under ``name``, or None."""
    entry = _entries.get(name)
    if entry is None:
        return None
    path, _, rows, classes, small = entry
    xx = np.load(path)
    return Kept(rows.copy(), classes.copy(), ridge.RidgeStats(small.n_samples, small.x_mean.copy(),
                                                              small.y_mean.copy(), np.asfortranarray(xx),
                                                              small.xy.copy()))


def _drop(name: str) -> None:
    path = _entries.pop(name)[0]
    path.unlink(missing_ok=True)


def clear() -> None:
    """Forget every kept statistic and delete its file."""
    for name in list(_entries):
        _drop(name)
