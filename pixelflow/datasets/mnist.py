"""MNIST and Fashion-MNIST loaders (IDX files, gzip-compressed)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pixelflow.checks import check_count, check_seed

from .dataset import Dataset
from .files import RemoteFile, fetch_remote_files, find_data_dir, sha256_file
from .idx import read_idx
from .subset import subset_split

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
_FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist"

FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)


@dataclass(frozen=True)
class _IdxDatasetSpec:
    name: str
    subfolders: tuple[str, ...]
    base_url: str
    md5: dict[str, str]
    class_names: tuple[str, ...]
    official_n_train: int
    official_n_test: int
    extra_dirs: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()


_MNIST = _IdxDatasetSpec(
    name="MNIST",
    subfolders=("mnist", "MNIST/raw"),
    base_url="https://ossci-datasets.s3.amazonaws.com/mnist/",
    md5={
        TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
        TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
        TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
    },
    class_names=tuple(str(d) for d in range(10)),
    official_n_train=60_000,
    official_n_test=10_000,
)

_FASHION_MNIST = _IdxDatasetSpec(
    name="Fashion-MNIST",
    subfolders=("fashion-mnist", "fashion_mnist", "FashionMNIST/raw"),
    base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    md5={
        TRAIN_IMAGES: "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        TRAIN_LABELS: "25c81989df183df01b3e8a0aad5dffbe",
        TEST_IMAGES: "bef4ecab320f06d8554ea6380940ec79",
        TEST_LABELS: "bb300cfdad3c16e7a12a480ee83cd310",
    },
    class_names=FASHION_MNIST_CLASSES,
    official_n_train=60_000,
    official_n_test=10_000,
    extra_dirs=(FASHION_MNIST_SYSTEM_DIR,),
    hints=(
        "install the Debian package dataset-fashion-mnist "
        f"(apt-get install dataset-fashion-mnist), which fills {FASHION_MNIST_SYSTEM_DIR}",
    ),
)


def _count(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else f"{n:,}"


def _side_phrase(n_available: int, official: int, side: str) -> str:
    # A file with fewer records than the official one is (by how these copies
    # are made) its leading records; saying "60k" for it would misreport the
    # experiment, so the phrase always comes from the count actually read.
    if n_available < official:
        return f"{_count(n_available)}-{side} prefix"
    return f"{_count(n_available)} {side}"


def split_description(
    name: str,
    n_train_available: int,
    n_test_available: int,
    official_n_train: int = 60_000,
    official_n_test: int = 10_000,
) -> str:
    """Human description of an MNIST-style split from the counts read.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"MNIST"``.
    n_train_available, n_test_available : int
        Records in the train and test files.
    official_n_train, official_n_test : int
        Sizes of the official files.

    Returns
    -------
    str
        E.g. ``"MNIST 60k train / 10k test"`` or
        ``"MNIST 14k-train prefix / 10k test"``.
    """
    train = _side_phrase(n_train_available, official_n_train, "train")
    test = _side_phrase(n_test_available, official_n_test, "test")
    return f"{name} {train} / {test}"


def _read_pair(directory: Path, images_name: str, labels_name: str, n_classes: int):
    images = read_idx(directory / images_name)
    labels = read_idx(directory / labels_name)
    if images.ndim != 3:
        raise ValueError(
            f"{directory / images_name}: expected a 3-D image array (N, H, W), "
            f"got shape {images.shape}"
        )
    if labels.ndim != 1:
        raise ValueError(
            f"{directory / labels_name}: expected a 1-D label array, got shape {labels.shape}"
        )
    if labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{directory}: {images_name} holds {images.shape[0]} images but "
            f"{labels_name} holds {labels.shape[0]} labels"
        )
    if labels.size and labels.max() >= n_classes:
        raise ValueError(
            f"{directory / labels_name}: label {int(labels.max())} is outside "
            f"0..{n_classes - 1}"
        )
    return images, labels.astype(np.int64)


def _load_idx_dataset(
    spec: _IdxDatasetSpec,
    data_dir: str | os.PathLike | None,
    n_train: int | None,
    n_test: int | None,
    seed: int,
    download: bool,
) -> Dataset:
    n_train = check_count(n_train, "n_train", allow_none=True)
    n_test = check_count(n_test, "n_test", allow_none=True)
    seed = check_seed(seed)

    def fetch(cache_root: Path) -> Path:
        remotes = {name: RemoteFile(spec.base_url + name, md5) for name, md5 in spec.md5.items()}
        return fetch_remote_files(remotes, cache_root / spec.subfolders[0])

    directory = find_data_dir(
        spec.name,
        spec.subfolders,
        _FILES,
        data_dir=data_dir,
        extra_dirs=spec.extra_dirs,
        download=download,
        fetch=fetch,
        hints=spec.hints,
    )
    n_classes = len(spec.class_names)
    X_train, y_train = _read_pair(directory, TRAIN_IMAGES, TRAIN_LABELS, n_classes)
    X_test, y_test = _read_pair(directory, TEST_IMAGES, TEST_LABELS, n_classes)
    if X_train.shape[1:] != X_test.shape[1:]:
        raise ValueError(
            f"{directory}: train images are {X_train.shape[1:]} but test images "
            f"are {X_test.shape[1:]}"
        )
    n_train_available, n_test_available = len(y_train), len(y_test)

    split = split_description(
        spec.name,
        n_train_available,
        n_test_available,
        spec.official_n_train,
        spec.official_n_test,
    )
    # Subset the uint8 arrays so the float copy is only as big as needed.
    X_train, y_train, X_test, y_test, note = subset_split(
        X_train, y_train, X_test, y_test, n_train=n_train, n_test=n_test, seed=seed
    )
    split += note

    meta = {
        "name": spec.name,
        "split": split,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "n_train_available": n_train_available,
        "n_test_available": n_test_available,
        "official_n_train": spec.official_n_train,
        "official_n_test": spec.official_n_test,
        "image_shape": tuple(int(s) for s in X_train.shape[1:]),
        "n_classes": n_classes,
        "class_names": list(spec.class_names),
        "class_counts_train": np.bincount(y_train, minlength=n_classes).tolist(),
        "class_counts_test": np.bincount(y_test, minlength=n_classes).tolist(),
        "source_dir": str(directory),
        "files": {name: sha256_file(directory / name) for name in _FILES},
        "subset_seed": seed if note else None,
    }
    return Dataset(
        X_train=X_train.astype(np.float32) / np.float32(255),
        y_train=y_train,
        X_test=X_test.astype(np.float32) / np.float32(255),
        y_test=y_test,
        meta=meta,
    )


def mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Load MNIST handwritten digits.

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding the four IDX ``.gz`` files, directly or in a
        ``mnist/`` subfolder. Searched before ``$PIXELFLOW_DATA`` and the
        user cache (see :mod:`pixelflow.datasets.files`).
    n_train, n_test : int, optional
        Take a seeded stratified subset of this size (see
        :func:`~pixelflow.datasets.stratified_subset`); None keeps all.
    seed : int, default 0
        Seed for the subsets.
    download : bool, default True
        Download from the official mirror (md5-verified) into the cache if the
        files are not found locally.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1] with shape (N, 28, 28); ``y`` int64 in 0..9.
        ``meta["split"]`` states the split used, derived from the record
        counts, e.g. ``"MNIST 14k-train prefix / 10k test"`` for a copy whose
        train files hold the first 14,000 official images.

    Raises
    ------
    FileNotFoundError
        If the files are not found and cannot be downloaded.
    ValueError
        If a file is corrupt or a requested subset is larger than available.
    """
    return _load_idx_dataset(_MNIST, data_dir, n_train, n_test, seed, download)


def fashion_mnist(
    data_dir: str | os.PathLike | None = None,
    *,
    n_train: int | None = None,
    n_test: int | None = None,
    seed: int = 0,
    download: bool = True,
) -> Dataset:
    """Load Fashion-MNIST (Zalando clothing images).

    Parameters
    ----------
    data_dir : str or os.PathLike, optional
        Directory holding the four IDX ``.gz`` files, directly or in a
        ``fashion-mnist/`` subfolder. After it and ``$PIXELFLOW_DATA``,
        ``/usr/share/datasets/fashion-mnist`` (Debian package
        ``dataset-fashion-mnist``) and the user cache are searched.
    n_train, n_test : int, optional
        Take a seeded stratified subset of this size; None keeps all.
    seed : int, default 0
        Seed for the subsets.
    download : bool, default True
        Download from the official source (md5-verified) into the cache if the
        files are not found locally.

    Returns
    -------
    Dataset
        ``X`` float32 in [0, 1] with shape (N, 28, 28); ``y`` int64 in 0..9;
        ``meta["class_names"]`` holds the ten official class names.

    Raises
    ------
    FileNotFoundError
        If the files are not found and cannot be downloaded.
    ValueError
        If a file is corrupt or a requested subset is larger than available.
    """
    return _load_idx_dataset(_FASHION_MNIST, data_dir, n_train, n_test, seed, download)
