"""CIFAR-10 loader for the official "python version" pickle batches."""

from __future__ import annotations

import math
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pooch

from pixelflow.checks import check_count, check_seed

from .dataset import Dataset
from .files import extract_tar_folder, find_data_dir, sha256_file
from .subset import subset_split

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
_ARCHIVE_FOLDER = "cifar-10-batches-py"

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
META_FILE = "batches.meta"
# The official split: five training batches of 10,000 records and a test batch of 10,000.
OFFICIAL_N_TRAIN, OFFICIAL_N_TEST = 50_000, 10_000
_FILES = (*TRAIN_BATCHES, TEST_BATCH, META_FILE)

_SIDE = 32
_PIXELS = _SIDE * _SIDE
# ITU-R BT.601 luma weights for R, G, B.
_LUMA = (0.299, 0.587, 0.114)
_COLORS = ("rgb", "gray")

# The batches are pickles, and unpickling can run arbitrary code; these are
# the only globals the official files (Python 2 era) and re-pickled copies
# (Python 3, NumPy 1 or 2) need, so nothing else is let through. NumPy's
# array and scalar constructors are swapped for checked ones below: a tiny
# file can declare an array of any size, which NumPy would try to allocate.
_ALLOWED_GLOBALS = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}
_FORMAT = (f"a CIFAR-10 batch holds a uint8 'data' array of shape (N, {3 * _PIXELS}), integer labels "
           "and label names")


def _check_dtype(dtype: Any) -> np.dtype:
    # Plain integers only: an object dtype would have NumPy allocate the whole
    # declared array before filling it, and structured or sub-array dtypes can
    # hide a huge shape inside one element.
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biu" or dtype.fields or dtype.subdtype:
        raise pickle.UnpicklingError(f"declares a numpy value of dtype {dtype!r}; {_FORMAT}")
    return dtype


def _checked_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    # NumPy pickles an array as an empty (0,) array filled in by __setstate__;
    # any other shape here would be allocated before anything else is checked.
    if subtype is not _CheckedArray or shape != (0,):
        raise pickle.UnpicklingError(f"declares a numpy array of shape {shape!r} before its contents; {_FORMAT}")
    return np.ndarray.__new__(_CheckedArray, (0,), dtype="u1")


# How NumPy unpickles a scalar (its module moved in NumPy 2), found without naming it.
_numpy_scalar = np.int64(0).__reduce__()[0]


def _checked_scalar(dtype: Any, *args: Any) -> Any:
    return _numpy_scalar(_check_dtype(dtype), *args)


class _CheckedArray(np.ndarray):
    """The array type the batch unpickler builds: its declared shape and dtype are checked before NumPy allocates."""

    def __setstate__(self, state: Any) -> None:
        # (version, shape, dtype, is_fortran, raw) since NumPy 1.0; older pickles omit the version.
        fields = state[1:] if isinstance(state, tuple) and len(state) == 5 else state
        if not (isinstance(fields, tuple) and len(fields) == 4):
            raise pickle.UnpicklingError(f"holds a malformed numpy array state; {_FORMAT}")
        shape, dtype, _, raw = fields
        if not (isinstance(shape, tuple) and all(type(n) is int and n >= 0 for n in shape)):
            raise pickle.UnpicklingError(f"declares a numpy array of shape {shape!r}; {_FORMAT}")
        dtype = _check_dtype(dtype)
        is_data = len(shape) == 2 and shape[1] == 3 * _PIXELS and dtype == np.uint8
        if not (is_data or len(shape) == 1):
            raise pickle.UnpicklingError(f"declares a numpy array of shape {shape!r} and dtype {dtype}; {_FORMAT}")
        # The raw bytes are already in memory, so a size that matches them
        # bounds the allocation by the file's own size.
        expected = math.prod(shape) * dtype.itemsize
        if not isinstance(raw, bytes) or len(raw) != expected:
            got = f"{len(raw)} bytes" if isinstance(raw, bytes) else type(raw).__name__
            raise pickle.UnpicklingError(f"declares a numpy array of shape {shape!r} and dtype {dtype} "
                                         f"({expected} bytes) but stores {got}; {_FORMAT}")
        super().__setstate__(state)


_CHECKED_GLOBALS = {"ndarray": _CheckedArray, "_reconstruct": _checked_reconstruct, "scalar": _checked_scalar}


class _BatchUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}; a CIFAR-10 batch only "
                "holds numpy arrays, lists, strings and numbers"
            )
        if module.startswith("numpy") and name in _CHECKED_GLOBALS:
            return _CHECKED_GLOBALS[name]
        return super().find_class(module, name)


def _load_pickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            # encoding="bytes": the official batches were written by Python 2,
            # whose str objects would otherwise be decoded as ASCII text.
            obj = _BatchUnpickler(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"{path}: not a readable CIFAR-10 pickle batch ({exc})") from exc
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a pickled dict, got {type(obj).__name__}")
    return obj


def _field(batch: dict, key: str, path: Path) -> Any:
    # Python 2 pickles give bytes keys, Python 3 re-pickles give str keys.
    for k in (key, key.encode()):
        if k in batch:
            return batch[k]
    raise ValueError(f"{path}: missing key {key!r}; found keys {sorted(map(str, batch))}")


def _read_batch(path: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    batch = _load_pickle(path)
    data = np.asarray(_field(batch, "data", path))
    labels = np.asarray(_field(batch, "labels", path))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * _PIXELS:
        raise ValueError(
            f"{path}: 'data' must be uint8 of shape (N, {3 * _PIXELS}), got "
            f"{data.dtype} {data.shape}"
        )
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise ValueError(
            f"{path}: {data.shape[0]} images but 'labels' has shape {labels.shape}"
        )
    if labels.size and (
        not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= n_classes
    ):
        raise ValueError(f"{path}: labels must be integers in 0..{n_classes - 1}")
    return data, labels.astype(np.int64)


def _read_class_names(path: Path) -> list[str]:
    names = _field(_load_pickle(path), "label_names", path)
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def _to_images(data: np.ndarray, color: str) -> np.ndarray:
    # Each row is the R plane, then G, then B, each 32x32 row-major.
    planes = data.reshape(-1, 3, _SIDE, _SIDE)
    if color == "rgb":
        return planes.transpose(0, 2, 3, 1).astype(np.float32) / np.float32(255)
    wr, wg, wb = (np.float32(w) for w in _LUMA)
    r, g, b = (planes[:, c].astype(np.float32) for c in range(3))
    gray = (wr * r + wg * g + wb * b) / np.float32(255)
    # float32 rounding can push pure white a hair above 1.
    return np.clip(gray, 0.0, 1.0, out=gray)


def split_description(n_train_available: int, n_test_available: int) -> str:
    """Human description of a CIFAR-10 split from the record counts read.

    Parameters
    ----------
    n_train_available, n_test_available : int
        Records found in the training batches and the test batch.

    Returns
    -------
    str
        ``"CIFAR-10 50k train / 10k test"`` for the official sizes, otherwise
        e.g. ``"CIFAR-10 subset: 4,660 train / 846 test"``.
    """
    if (n_train_available, n_test_available) == (OFFICIAL_N_TRAIN, OFFICIAL_N_TEST):
        return "CIFAR-10 50k train / 10k test"
    return f"CIFAR-10 subset: {n_train_available:,} train / {n_test_available:,} test"


def _fetch(cache_root: Path) -> Path:
    target = cache_root / "cifar10"
    archive = pooch.retrieve(
        url=CIFAR10_URL,
        known_hash=f"md5:{CIFAR10_MD5}",
        fname="cifar-10-python.tar.gz",
        path=target,
        progressbar=False,
    )
    return extract_tar_folder(archive, _ARCHIVE_FOLDER, target)


def cifar10(
    data_dir: str | os.PathLike | None = None,
    *,
    color: str = "rgb",
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Load CIFAR-10 from the official python pickle batches.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding ``data_batch_1`` .. ``data_batch_5``, ``test_batch``
        and ``batches.meta``, directly or in ``cifar-10-batches-py/`` or
        ``cifar10/cifar-10-batches-py/`` below it. Searched before
        ``$PIXELFLOW_DATA`` and the user cache.
    color : {"rgb", "gray"}, default "rgb"
        ``"rgb"`` gives (N, 32, 32, 3) channels-last; ``"gray"`` gives
        (N, 32, 32) ITU-R BT.601 luma ``0.299 R + 0.587 G + 0.114 B``.
    n_train, n_test : int, optional
        Take a seeded stratified subset of this size; None keeps all.
    seed : int, default 0
        Seed for the subsets.
    download : bool, default True
        Download the official archive (md5-verified) into the cache if the
        batches are not found locally.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1]; ``y`` int64 in 0..9; ``meta["split"]`` is
        ``"CIFAR-10 50k train / 10k test"`` for the full set, otherwise e.g.
        ``"CIFAR-10 subset: 4,660 train / 846 test"``; ``meta`` also holds
        ``records_per_file`` (the records each batch file holds, before any
        subsetting) and ``class_counts_train`` / ``class_counts_test`` (of the
        images returned).

    Raises
    ------
    FileNotFoundError
        If the batches are not found and cannot be downloaded.
    ValueError
        If ``color`` is unknown, a batch is malformed, or a requested subset
        is larger than available.
    """
    if color not in _COLORS:
        raise ValueError(f"color must be one of {_COLORS}, got {color!r}")
    n_train = check_count(n_train, "n_train", allow_none=True)
    n_test = check_count(n_test, "n_test", allow_none=True)
    seed = check_seed(seed)

    directory = find_data_dir(
        "CIFAR-10",
        ("cifar10/" + _ARCHIVE_FOLDER, _ARCHIVE_FOLDER),
        _FILES,
        data_dir=data_dir,
        download=download,
        fetch=_fetch,
    )
    class_names = _read_class_names(directory / META_FILE)
    n_classes = len(class_names)
    if n_classes != 10:
        raise ValueError(
            f"{directory / META_FILE}: expected 10 label names, got {n_classes}"
        )
    train = [_read_batch(directory / name, n_classes) for name in TRAIN_BATCHES]
    # The records each file holds, in official order: says how a subset was cut (e.g. the first 932 of each).
    records = {name: int(len(y)) for name, (_, y) in zip(TRAIN_BATCHES, train)}
    data_train = np.concatenate([d for d, _ in train])
    y_train = np.concatenate([y for _, y in train])
    data_test, y_test = _read_batch(directory / TEST_BATCH, n_classes)
    records[TEST_BATCH] = int(len(y_test))
    n_train_available, n_test_available = len(y_train), len(y_test)

    split = split_description(n_train_available, n_test_available)

    # Subset the uint8 rows so the float copy is only as big as needed.
    data_train, y_train, data_test, y_test, note = subset_split(
        data_train, y_train, data_test, y_test, n_train=n_train, n_test=n_test, seed=seed
    )
    split += note

    X_train = _to_images(data_train, color)
    X_test = _to_images(data_test, color)
    meta = {
        "name": "CIFAR-10",
        "split": split,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_train_available": n_train_available,
        "n_test_available": n_test_available,
        "official_n_train": OFFICIAL_N_TRAIN,
        "official_n_test": OFFICIAL_N_TEST,
        "image_shape": tuple(int(s) for s in X_train.shape[1:]),
        "color": color,
        "n_classes": n_classes,
        "class_names": class_names,
        "class_counts_train": np.bincount(y_train, minlength=n_classes).tolist(),
        "class_counts_test": np.bincount(y_test, minlength=n_classes).tolist(),
        "records_per_file": records,
        "source_dir": str(directory),
        "files": {name: sha256_file(directory / name) for name in _FILES},
        "subset_seed": seed if note else None,
    }
    return Dataset(X_train, y_train, X_test, y_test, meta)
