"""Tests for pixelflow.datasets.

Most tests write small IDX / CIFAR pickle files into tmp_path. The tests at the
end read the real shared data when ``$PIXELFLOW_DATA`` points at it (and
Fashion-MNIST from /usr/share/datasets/fashion-mnist), and skip otherwise.
No test touches the network: pooch.retrieve is replaced for every test.
"""

from __future__ import annotations

import collections
import dataclasses
import gzip
import hashlib
import importlib
import io
import os
import pickle
import re
import struct
import tarfile
from pathlib import Path

import numpy as np
import pooch
import pytest

import pixelflow.datasets as pds
from pixelflow.datasets import (
    Dataset,
    checkerboard,
    cifar10,
    digits,
    fashion_mnist,
    make_checkerboard,
    make_two_moons,
    mnist,
    read_idx,
    sha256_file,
    stratified_subset,
    two_moons,
)
from pixelflow.datasets import files as files_module

# The package re-exports the functions mnist() and cifar10() under the same
# names as their modules, so attribute access gives the functions; the
# modules themselves come from the import system.
mnist_module = importlib.import_module("pixelflow.datasets.mnist")
cifar_module = importlib.import_module("pixelflow.datasets.cifar10")

# Captured before the isolation fixture clears the variable for each test.
_REAL_ENV = os.environ.get("PIXELFLOW_DATA")
REAL_DATA = Path(_REAL_ENV).resolve() if _REAL_ENV else None
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")

MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


class NetworkDisabled(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No env var, an empty private cache, no network, no system dirs."""
    monkeypatch.delenv("PIXELFLOW_DATA", raising=False)
    cache = tmp_path / "user-cache"
    monkeypatch.setattr(files_module, "cache_dir", lambda: cache)

    def no_network(*args, **kwargs):
        raise NetworkDisabled("network access is disabled in tests")

    monkeypatch.setattr(pooch, "retrieve", no_network)
    monkeypatch.setattr(
        mnist_module,
        "_FASHION_MNIST",
        dataclasses.replace(mnist_module._FASHION_MNIST, extra_dirs=()),
    )
    return cache


# --------------------------------------------------------------------------
# writers for synthetic files in the official formats


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data, compresslevel=1) if compress else data)
    return path


def write_mnist_dir(directory: Path, n_train: int, n_test: int, seed: int = 0, side: int = 28):
    """Write the four IDX files; every class appears, labels cycle 0..9."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, side, side), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        write_idx(directory / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(directory / f"{prefix}-labels-idx1-ubyte.gz", labels)
        arrays[prefix] = (images, labels)
    return arrays


CIFAR_NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer",
               b"dog", b"frog", b"horse", b"ship", b"truck"]


def write_cifar_dir(directory: Path, per_batch: int, n_test: int, str_keys: bool = False, seed: int = 0):
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    def key(k: str):
        return k if str_keys else k.encode()

    batches = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in names:
        n = n_test if name == "test_batch" else per_batch
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        with open(directory / name, "wb") as f:
            pickle.dump({key("batch_label"): name, key("data"): data, key("labels"): labels}, f, protocol=2)
        batches[name] = (data, np.array(labels))
    with open(directory / "batches.meta", "wb") as f:
        pickle.dump({key("label_names"): CIFAR_NAMES, key("num_vis"): 3072}, f, protocol=2)
    return batches


# --------------------------------------------------------------------------
# IDX reader


@pytest.mark.parametrize("compress", [True, False])
def test_read_idx_roundtrip(tmp_path, compress):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    out = read_idx(write_idx(tmp_path / "a.idx", arr, compress=compress))
    assert out.dtype == np.uint8 and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, arr)
    out[0, 0, 0] = 7  # writable


def _corrupt_cases():
    good = idx_bytes(np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    return {
        "truncated payload": gzip.compress(good[:-5]),
        "trailing bytes": gzip.compress(good + b"\x00\x01"),
        "bad magic": gzip.compress(b"\x01\x00" + good[2:]),
        "float type code": gzip.compress(good[:2] + b"\x0d" + good[3:]),
        "truncated header": gzip.compress(good[:9]),
        "too short": gzip.compress(good[:2]),
        "truncated gzip stream": gzip.compress(good)[:-12],
        "zero dims": gzip.compress(b"\x00\x00\x08\x00"),
    }


@pytest.mark.parametrize("case", sorted(_corrupt_cases()))
def test_read_idx_corrupt_names_file(tmp_path, case):
    path = tmp_path / "broken-images-idx3-ubyte.gz"
    path.write_bytes(_corrupt_cases()[case])
    with pytest.raises(ValueError, match=re.escape(str(path))):
        read_idx(path)


def test_mnist_loader_rejects_truncated_file(tmp_path):
    write_mnist_dir(tmp_path, 30, 20)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(ValueError, match=re.escape(str(path))):
        mnist(tmp_path, download=False)


def test_mnist_loader_rejects_label_count_mismatch(tmp_path):
    write_mnist_dir(tmp_path, 30, 20)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", np.zeros(19, dtype=np.uint8))
    with pytest.raises(ValueError, match="20 images but .* 19 labels"):
        mnist(tmp_path, download=False)


# --------------------------------------------------------------------------
# MNIST / Fashion-MNIST loaders


def test_mnist_reads_files_exactly(tmp_path):
    arrays = write_mnist_dir(tmp_path / "mnist", n_train=50, n_test=30)
    ds = mnist(tmp_path, download=False)
    assert ds.X_train.shape == (50, 28, 28) and ds.X_test.shape == (30, 28, 28)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    np.testing.assert_array_equal(ds.X_train, arrays["train"][0].astype(np.float32) / np.float32(255))
    np.testing.assert_array_equal(ds.X_test * 255, arrays["t10k"][0].astype(np.float32))
    np.testing.assert_array_equal(ds.y_train, arrays["train"][1])
    np.testing.assert_array_equal(ds.y_test, arrays["t10k"][1])
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0

    meta = ds.meta
    assert meta["name"] == "MNIST"
    assert meta["source_dir"] == str(tmp_path / "mnist")
    assert (meta["n_train"], meta["n_test"]) == (50, 30)
    assert (meta["n_train_available"], meta["n_test_available"]) == (50, 30)
    assert meta["image_shape"] == (28, 28)
    assert meta["n_classes"] == 10 and meta["class_names"] == [str(d) for d in range(10)]
    assert meta["subset_seed"] is None
    assert set(meta["files"]) == set(MNIST_FILES)
    for name, digest in meta["files"].items():
        assert digest == hashlib.sha256((tmp_path / "mnist" / name).read_bytes()).hexdigest()


def test_mnist_accepts_flat_data_dir(tmp_path):
    write_mnist_dir(tmp_path, 20, 10)
    ds = mnist(tmp_path, download=False)
    assert ds.meta["source_dir"] == str(tmp_path)


def test_split_string_for_14k_prefix(tmp_path):
    # Mostly-zero images keep the 14,000-image file quick to write and read.
    directory = tmp_path / "mnist"
    directory.mkdir()
    write_idx(directory / "train-images-idx3-ubyte.gz", np.zeros((14000, 28, 28), np.uint8))
    write_idx(directory / "train-labels-idx1-ubyte.gz", (np.arange(14000) % 10).astype(np.uint8))
    write_idx(directory / "t10k-images-idx3-ubyte.gz", np.zeros((100, 28, 28), np.uint8))
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", (np.arange(100) % 10).astype(np.uint8))
    ds = mnist(tmp_path, download=False)
    assert ds.split == "MNIST 14k-train prefix / 100-test prefix"
    assert "60k" not in ds.split
    assert ds.meta["n_train_available"] == 14000


@pytest.mark.parametrize(
    "n_train, n_test, expected",
    [
        (60000, 10000, "MNIST 60k train / 10k test"),
        (14000, 10000, "MNIST 14k-train prefix / 10k test"),
        (14321, 10000, "MNIST 14,321-train prefix / 10k test"),
        (60000, 5000, "MNIST 60k train / 5k-test prefix"),
    ],
)
def test_mnist_split_description(n_train, n_test, expected):
    assert mnist_module.split_description("MNIST", n_train, n_test) == expected


def test_mnist_stratified_subset_loader(tmp_path):
    arrays = write_mnist_dir(tmp_path, 200, 100)
    ds = mnist(tmp_path, n_train=50, n_test=20, seed=3, download=False)
    assert ds.X_train.shape == (50, 28, 28) and ds.X_test.shape == (20, 28, 28)
    assert ds.meta["n_train"] == 50 and ds.meta["n_train_available"] == 200
    assert ds.meta["subset_seed"] == 3
    assert ds.split == "MNIST 200-train prefix / 100-test prefix (stratified subset: 50 train / 20 test, seed 3)"
    # The subset is exactly the rows stratified_subset picks.
    idx = stratified_subset(arrays["train"][1].astype(np.int64), 50, 3)
    np.testing.assert_array_equal(ds.X_train * 255, arrays["train"][0][idx].astype(np.float32))
    again = mnist(tmp_path, n_train=50, n_test=20, seed=3, download=False)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    only_train = mnist(tmp_path, n_train=50, download=False)
    assert only_train.meta["n_test"] == 100
    assert "50 train / 100 test" in only_train.split


def test_mnist_subset_too_large(tmp_path):
    write_mnist_dir(tmp_path, 40, 20)
    with pytest.raises(ValueError, match=r"n_train=41 exceeds the 40 train"):
        mnist(tmp_path, n_train=41, download=False)
    with pytest.raises(ValueError, match=r"n_test=21 exceeds the 20 test"):
        mnist(tmp_path, n_test=21, download=False)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"n_train": 0}, ValueError),
        ({"n_train": -5}, ValueError),
        ({"n_test": 1.5}, TypeError),
        ({"n_train": True}, TypeError),
        ({"seed": -1}, ValueError),
        ({"seed": None}, TypeError),
        ({"download": "no"}, TypeError),
    ],
)
def test_mnist_argument_validation(tmp_path, kwargs, exc):
    write_mnist_dir(tmp_path, 20, 10)
    name = next(iter(kwargs))
    with pytest.raises(exc, match=name):
        mnist(tmp_path, **kwargs)


def test_fashion_mnist_reads_files(tmp_path):
    arrays = write_mnist_dir(tmp_path / "fashion-mnist", 40, 20, seed=5)
    ds = fashion_mnist(tmp_path, download=False)
    assert ds.meta["name"] == "Fashion-MNIST"
    assert ds.meta["class_names"][0] == "T-shirt/top"
    assert ds.meta["class_names"][-1] == "Ankle boot"
    assert len(ds.meta["class_names"]) == 10
    assert ds.split == "Fashion-MNIST 40-train prefix / 20-test prefix"
    np.testing.assert_array_equal(ds.y_test, arrays["t10k"][1])


def test_missing_files_message(tmp_path, isolated):
    empty = tmp_path / "nothing-here"
    empty.mkdir()
    with pytest.raises(FileNotFoundError) as info:
        mnist(empty, download=False)
    msg = str(info.value)
    for name in MNIST_FILES:
        assert name in msg
    assert str(empty) in msg
    assert str(empty / "mnist") in msg
    assert str(isolated / "mnist") in msg  # the user cache was searched too
    assert "download=False" in msg
    assert "PIXELFLOW_DATA" in msg and "data_dir" in msg


def test_missing_files_message_mentions_partial_and_env(tmp_path, monkeypatch):
    root = tmp_path / "root"
    write_mnist_dir(root / "mnist", 20, 10)
    (root / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    monkeypatch.setenv("PIXELFLOW_DATA", str(root))
    with pytest.raises(FileNotFoundError) as info:
        mnist(download=False)
    msg = str(info.value)
    assert f"{root / 'mnist'}  ($PIXELFLOW_DATA; has only" in msg
    assert "t10k-labels-idx1-ubyte.gz" in msg


def test_fashion_missing_message_suggests_debian_package(tmp_path):
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        fashion_mnist(tmp_path, download=False)


def test_env_var_is_honoured(tmp_path, monkeypatch):
    write_mnist_dir(tmp_path / "root" / "mnist", 20, 10, seed=1)
    monkeypatch.setenv("PIXELFLOW_DATA", str(tmp_path / "root"))
    ds = mnist(download=False)
    assert ds.meta["source_dir"] == str(tmp_path / "root" / "mnist")
    # Several roots separated by os.pathsep; the first without data is skipped.
    monkeypatch.setenv("PIXELFLOW_DATA", os.pathsep.join([str(tmp_path / "none"), str(tmp_path / "root")]))
    assert mnist(download=False).meta["source_dir"] == str(tmp_path / "root" / "mnist")


def test_data_dir_takes_precedence_over_env(tmp_path, monkeypatch):
    write_mnist_dir(tmp_path / "env" / "mnist", 20, 10)
    write_mnist_dir(tmp_path / "arg", 30, 10)
    monkeypatch.setenv("PIXELFLOW_DATA", str(tmp_path / "env"))
    assert mnist(tmp_path / "arg", download=False).meta["n_train_available"] == 30


def test_env_root_flat_files_not_taken_for_another_dataset(tmp_path, monkeypatch):
    # MNIST and Fashion-MNIST share file names; flat files in a shared root
    # must not be loaded as Fashion-MNIST.
    write_mnist_dir(tmp_path, 20, 10)
    monkeypatch.setenv("PIXELFLOW_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError):
        fashion_mnist(download=False)


def test_system_dir_searched_after_env(tmp_path, monkeypatch):
    system = tmp_path / "usr-share-fashion"
    write_mnist_dir(system, 20, 10)
    monkeypatch.setattr(
        mnist_module,
        "_FASHION_MNIST",
        dataclasses.replace(mnist_module._FASHION_MNIST, extra_dirs=(str(system),)),
    )
    assert fashion_mnist(download=False).meta["source_dir"] == str(system)
    write_mnist_dir(tmp_path / "env" / "fashion-mnist", 30, 10)
    monkeypatch.setenv("PIXELFLOW_DATA", str(tmp_path / "env"))
    assert fashion_mnist(download=False).meta["n_train_available"] == 30


def test_failed_download_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="download failed: NetworkDisabled") as info:
        mnist(tmp_path, download=True)
    assert isinstance(info.value.__cause__, NetworkDisabled)
    for name in MNIST_FILES:
        assert name in str(info.value)


def test_download_uses_official_urls_and_md5(tmp_path, monkeypatch, isolated):
    source = tmp_path / "official"
    write_mnist_dir(source, 20, 10)
    calls = []

    def fake_retrieve(url, known_hash, fname, path, progressbar=False, **kwargs):
        calls.append((url, known_hash, fname))
        Path(path).mkdir(parents=True, exist_ok=True)
        target = Path(path) / fname
        target.write_bytes((source / fname).read_bytes())
        return str(target)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    ds = mnist(tmp_path / "empty")
    assert ds.meta["source_dir"] == str(isolated / "mnist")
    assert dict((f, (u, h)) for u, h, f in calls) == {
        "train-images-idx3-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz",
            "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
        ),
        "train-labels-idx1-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/train-labels-idx1-ubyte.gz",
            "md5:d53e105ee54ea40749a09fcbcd1e9432",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz",
            "md5:9fb629c4189551a2d022fa330f9573f3",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-labels-idx1-ubyte.gz",
            "md5:ec29112dd5afa0611ce80d1b7f02629c",
        ),
    }
    # Now cached: found without the network.
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("network used"))
    assert mnist(download=False).meta["source_dir"] == str(isolated / "mnist")


def test_sha256_file_chunked(tmp_path):
    path = tmp_path / "blob"
    payload = bytes(range(256)) * 41
    path.write_bytes(payload)
    assert sha256_file(path, chunk_size=100) == hashlib.sha256(payload).hexdigest()
    with pytest.raises(ValueError, match="chunk_size"):
        sha256_file(path, chunk_size=0)


# --------------------------------------------------------------------------
# CIFAR-10


@pytest.mark.parametrize("str_keys", [False, True])
def test_cifar10_rgb_channel_order(tmp_path, str_keys):
    batches = write_cifar_dir(tmp_path / "cifar-10-batches-py", per_batch=6, n_test=4, str_keys=str_keys)
    ds = cifar10(tmp_path, download=False)
    assert ds.X_train.shape == (30, 32, 32, 3) and ds.X_test.shape == (4, 32, 32, 3)
    assert ds.X_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    data_train = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    labels_train = np.concatenate([batches[f"data_batch_{i}"][1] for i in range(1, 6)])
    # Pixel (row r, col c) of channel ch sits at ch*1024 + r*32 + c.
    for i, r, c, ch in [(0, 0, 0, 0), (3, 5, 7, 1), (29, 31, 31, 2), (12, 0, 31, 2), (7, 31, 0, 0)]:
        assert ds.X_train[i, r, c, ch] == np.float32(data_train[i, ch * 1024 + r * 32 + c]) / np.float32(255)
    expected = data_train.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(ds.X_train, expected)
    np.testing.assert_array_equal(ds.y_train, labels_train)
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][1])
    assert ds.meta["class_names"] == [n.decode() for n in CIFAR_NAMES]
    assert ds.meta["color"] == "rgb" and ds.meta["image_shape"] == (32, 32, 3)
    assert ds.split == "CIFAR-10 subset: 30 train / 4 test"
    assert len(ds.meta["files"]) == 7


def test_cifar10_gray_luma(tmp_path):
    batches = write_cifar_dir(tmp_path / "cifar10" / "cifar-10-batches-py", per_batch=3, n_test=5)
    ds = cifar10(tmp_path, color="gray", download=False)
    assert ds.X_test.shape == (5, 32, 32) and ds.X_test.dtype == np.float32
    planes = batches["test_batch"][0].reshape(-1, 3, 32, 32).astype(np.float64)
    luma = (0.299 * planes[:, 0] + 0.587 * planes[:, 1] + 0.114 * planes[:, 2]) / 255
    np.testing.assert_allclose(ds.X_test, luma, atol=1e-6)
    assert ds.meta["image_shape"] == (32, 32) and ds.meta["color"] == "gray"


def test_cifar10_gray_white_stays_in_range(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    write_cifar_dir(directory, per_batch=2, n_test=2)
    with open(directory / "test_batch", "wb") as f:
        pickle.dump({b"data": np.full((2, 3072), 255, np.uint8), b"labels": [0, 1]}, f)
    ds = cifar10(directory, color="gray", download=False)
    assert ds.X_test.max() <= 1.0
    np.testing.assert_allclose(ds.X_test, 1.0, atol=1e-6)


def test_cifar10_subset_and_split(tmp_path):
    write_cifar_dir(tmp_path / "cifar-10-batches-py", per_batch=300, n_test=60)
    ds = cifar10(tmp_path, n_train=100, n_test=30, seed=2, download=False)
    assert ds.X_train.shape == (100, 32, 32, 3)
    assert ds.split == "CIFAR-10 subset: 1,500 train / 60 test (stratified subset: 100 train / 30 test, seed 2)"
    assert ds.meta["n_train_available"] == 1500 and ds.meta["subset_seed"] == 2
    with pytest.raises(ValueError, match="n_test=61"):
        cifar10(tmp_path, n_test=61, download=False)


def test_cifar10_split_description():
    assert cifar_module.split_description(50000, 10000) == "CIFAR-10 50k train / 10k test"
    assert cifar_module.split_description(4660, 846) == "CIFAR-10 subset: 4,660 train / 846 test"


def test_cifar10_bad_color(tmp_path):
    with pytest.raises(ValueError, match="color.*'RGB'"):
        cifar10(tmp_path, color="RGB", download=False)


def test_cifar10_refuses_foreign_pickle(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    write_cifar_dir(directory, per_batch=2, n_test=2)
    with open(directory / "data_batch_3", "wb") as f:
        pickle.dump({b"data": collections.OrderedDict(), b"labels": []}, f)
    with pytest.raises(ValueError, match=re.escape(str(directory / "data_batch_3"))):
        cifar10(directory, download=False)


def test_cifar10_malformed_batch(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    write_cifar_dir(directory, per_batch=2, n_test=2)
    with open(directory / "test_batch", "wb") as f:
        pickle.dump({b"data": np.zeros((2, 100), np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ValueError, match="test_batch.*3072"):
        cifar10(directory, download=False)


def test_cifar10_missing_message(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        cifar10(tmp_path, download=False)
    msg = str(info.value)
    for name in ["data_batch_1", "data_batch_5", "test_batch", "batches.meta"]:
        assert name in msg
    assert str(tmp_path / "cifar-10-batches-py") in msg


def test_cifar10_download_extracts_archive(tmp_path, monkeypatch, isolated):
    staging = tmp_path / "staging"
    batches = write_cifar_dir(staging / "cifar-10-batches-py", per_batch=2, n_test=3)
    archive = tmp_path / "cifar-10-python.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(staging / "cifar-10-batches-py", arcname="cifar-10-batches-py")
        info = tarfile.TarInfo("unrelated.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    seen = {}

    def fake_retrieve(url, known_hash, fname, path, progressbar=False, **kwargs):
        seen.update(url=url, known_hash=known_hash, path=Path(path))
        return str(archive)

    monkeypatch.setattr(pooch, "retrieve", fake_retrieve)
    ds = cifar10(tmp_path / "empty")
    assert seen["url"] == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert seen["known_hash"] == "md5:c58f30108f718f92721af3b95e74349a"
    assert ds.meta["source_dir"] == str(isolated / "cifar10" / "cifar-10-batches-py")
    assert not (isolated / "cifar10" / "unrelated.txt").exists()
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][1])


def test_extract_refuses_unsafe_member(tmp_path):
    archive = tmp_path / "evil.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/../../escape.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="unsafe"):
        files_module.extract_tar_folder(archive, "cifar-10-batches-py", tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


# --------------------------------------------------------------------------
# stratified subsets


def test_stratified_subset_deterministic_sorted_unique():
    y = np.repeat(np.arange(5), [100, 50, 30, 15, 5])
    a = stratified_subset(y, 40, seed=7)
    b = stratified_subset(y, 40, seed=7)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.int64 and a.size == 40
    assert np.all(np.diff(a) > 0)
    assert not np.array_equal(a, stratified_subset(y, 40, seed=8))


@pytest.mark.parametrize("n", [1, 7, 40, 99, 150, 199])
def test_stratified_subset_proportions(n):
    rng = np.random.default_rng(0)
    y = rng.permutation(np.repeat(np.arange(4), [90, 60, 40, 10]))
    idx = stratified_subset(y, n, seed=1)
    assert idx.size == n
    counts = np.bincount(y[idx], minlength=4)
    exact = n * np.bincount(y) / y.size
    assert np.all(np.abs(counts - exact) < 1)


def test_stratified_subset_all_and_errors():
    y = np.array([0, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(stratified_subset(y, 6, 0), np.arange(6))
    with pytest.raises(ValueError, match="n=7 exceeds the 6"):
        stratified_subset(y, 7, 0)
    with pytest.raises(ValueError, match="n must be a positive int"):
        stratified_subset(y, 0, 0)
    with pytest.raises(TypeError, match="n must be"):
        stratified_subset(y, 2.0, 0)
    with pytest.raises(TypeError, match="integer class labels"):
        stratified_subset(y.astype(float), 2, 0)
    with pytest.raises(ValueError, match="1-D"):
        stratified_subset(y.reshape(2, 3), 2, 0)


# --------------------------------------------------------------------------
# synthetic data and digits


def test_make_two_moons_deterministic_and_labelled():
    X, y = make_two_moons(101, noise=0.0, seed=4)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    X2, y2 = make_two_moons(101, noise=0.0, seed=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    # Noiseless: label 0 on the unit circle's upper half, label 1 on the
    # circle centred (1, 0.5) lower half.
    r0 = np.hypot(X[y == 0, 0], X[y == 0, 1])
    r1 = np.hypot(X[y == 1, 0] - 1, X[y == 1, 1] - 0.5)
    np.testing.assert_allclose(r0, 1, atol=1e-5)
    np.testing.assert_allclose(r1, 1, atol=1e-5)
    assert not np.array_equal(make_two_moons(101, 0.1, seed=5)[0], make_two_moons(101, 0.1, seed=4)[0])


def test_make_checkerboard_parity():
    X, y = make_checkerboard(500, n_per_side=5, seed=2)
    assert X.shape == (500, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert X.min() >= 0 and X.max() < 5
    np.testing.assert_array_equal(y, (np.floor(X[:, 0]).astype(int) + np.floor(X[:, 1]).astype(int)) % 2)
    assert set(np.unique(y)) == {0, 1}
    X2, y2 = make_checkerboard(500, n_per_side=5, seed=2)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_two_moons_dataset_fixed_map():
    ds = two_moons(n_train=200, n_test=100, noise=0.0, seed=1)
    assert ds.X_train.shape == (200, 2) and ds.X_test.shape == (100, 2)
    eps = 1e-6
    for X in (ds.X_train, ds.X_test):
        assert X.min() >= -eps and X.max() <= 1 + eps
    assert not np.array_equal(ds.X_train[:100], ds.X_test)
    again = two_moons(n_train=200, n_test=100, noise=0.0, seed=1)
    np.testing.assert_array_equal(ds.X_train, again.X_train)
    # The map is fixed: a single train point maps the same whatever else is drawn.
    train_seed = np.random.SeedSequence(1).spawn(2)[0].generate_state(1)[0]
    raw, _ = make_two_moons(200, 0.0, int(train_seed))
    np.testing.assert_allclose(ds.X_train, (raw + [1.0, 0.5]) / [3.0, 1.5], atol=1e-6)
    assert ds.split == "two moons 200 train / 100 test (noise 0, seed 1)"


def test_checkerboard_dataset():
    ds = checkerboard(n_train=300, n_test=200, n_per_side=3, seed=0)
    assert ds.X_train.min() >= 0 and ds.X_train.max() < 1
    cells = np.floor(ds.X_test * 3 + 1e-6).astype(int)
    agree = np.mean((cells.sum(axis=1) % 2) == ds.y_test)
    assert agree > 0.99  # exact up to float rounding at cell edges
    assert not np.array_equal(ds.X_train[:200], ds.X_test)
    assert ds.meta["n_per_side"] == 3


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_two_moons(10, noise=-0.1), "noise"),
        (lambda: make_two_moons(10, noise=float("nan")), "noise"),
        (lambda: make_two_moons(0), "n must be"),
        (lambda: make_checkerboard(10, n_per_side=0), "n_per_side"),
        (lambda: two_moons(n_train=0), "n_train"),
        (lambda: checkerboard(n_test=2.5), "n_test"),
        (lambda: checkerboard(seed=-3), "seed"),
        (lambda: digits(test_size=1.0), "test_size"),
        (lambda: digits(test_size="0.2"), "test_size"),
    ],
)
def test_argument_errors(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_digits():
    ds = digits(test_size=0.25, seed=0)
    assert ds.X_train.shape[1:] == (8, 8) and ds.X_train.dtype == np.float32
    assert ds.X_train.shape[0] + ds.X_test.shape[0] == 1797
    assert ds.X_test.shape[0] == 450
    assert 0 <= ds.X_train.min() and ds.X_train.max() <= 1
    assert ds.y_train.dtype == np.int64
    # Stratified: each class's test share within one sample of 25 %.
    for k in range(10):
        total = np.sum(ds.y_train == k) + np.sum(ds.y_test == k)
        assert abs(np.sum(ds.y_test == k) - 0.25 * total) <= 1
    np.testing.assert_array_equal(ds.X_test, digits(test_size=0.25, seed=0).X_test)


# --------------------------------------------------------------------------
# Dataset container


def test_dataset_unpacking_and_split():
    Xtr, ytr = np.zeros((3, 2), np.float32), np.array([0, 1, 0])
    Xte, yte = np.ones((2, 2), np.float32), np.array([1, 1])
    ds = Dataset(Xtr, ytr, Xte, yte, {"name": "toy", "split": "toy 3 / 2"})
    a, b, c, d = ds
    assert a is Xtr and b is ytr and c is Xte and d is yte
    assert ds.split == "toy 3 / 2"
    assert "toy 3 / 2" in repr(ds)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ds.X_train = Xte


def test_dataset_validates_lengths():
    with pytest.raises(ValueError, match="X_test has 2 samples but y_test has 3"):
        Dataset(np.zeros((3, 2)), np.zeros(3, int), np.zeros((2, 2)), np.zeros(3, int), {})
    with pytest.raises(TypeError, match="numpy arrays"):
        Dataset([1], np.zeros(1, int), np.zeros((1, 2)), np.zeros(1, int), {})


def test_public_api():
    for name in pds.__all__:
        assert hasattr(pds, name)


# --------------------------------------------------------------------------
# real data (skipped when absent)

needs_real = pytest.mark.skipif(
    REAL_DATA is None or not (REAL_DATA / "mnist").is_dir(),
    reason="set PIXELFLOW_DATA to the shared data folder (with mnist/ and cifar10/) to run",
)


@needs_real
def test_real_mnist_14k_prefix(monkeypatch):
    monkeypatch.setenv("PIXELFLOW_DATA", str(REAL_DATA))
    ds = mnist(download=False)
    assert ds.X_train.shape == (14000, 28, 28)
    assert ds.X_test.shape == (10000, 28, 28)
    assert ds.split == "MNIST 14k-train prefix / 10k test"
    assert "60k" not in ds.split
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert set(np.unique(ds.y_test)) == set(range(10))
    assert ds.X_train.dtype == np.float32 and 0 <= ds.X_train.min() and ds.X_train.max() <= 1
    assert ds.X_train.max() == 1.0  # /255 scaling, not /256
    # The shared test files are byte-identical to the official ones.
    md5 = mnist_module._MNIST.md5
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        digest = hashlib.md5((REAL_DATA / "mnist" / name).read_bytes()).hexdigest()
        assert digest == md5[name]


@needs_real
def test_real_mnist_subset(monkeypatch):
    monkeypatch.setenv("PIXELFLOW_DATA", str(REAL_DATA))
    ds = mnist(n_train=1000, n_test=500, seed=0, download=False)
    assert ds.split == "MNIST 14k-train prefix / 10k test (stratified subset: 1,000 train / 500 test, seed 0)"
    assert np.bincount(ds.y_train, minlength=10).min() >= 80


@pytest.mark.skipif(
    REAL_DATA is None or not (REAL_DATA / "cifar10" / "cifar-10-batches-py").is_dir(),
    reason="set PIXELFLOW_DATA to the shared data folder with cifar10/cifar-10-batches-py to run",
)
def test_real_cifar10_subset(monkeypatch):
    monkeypatch.setenv("PIXELFLOW_DATA", str(REAL_DATA))
    ds = cifar10(download=False)
    assert ds.X_train.shape == (4660, 32, 32, 3)
    assert ds.X_test.shape == (846, 32, 32, 3)
    assert ds.split == "CIFAR-10 subset: 4,660 train / 846 test"
    assert set(np.unique(ds.y_train)) == set(range(10))
    assert ds.meta["class_names"][0] == "airplane" and ds.meta["class_names"][-1] == "truck"
    gray = cifar10(download=False, color="gray")
    assert gray.X_test.shape == (846, 32, 32)
    luma = ds.X_test @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    np.testing.assert_allclose(gray.X_test, luma, atol=1e-5)


@pytest.mark.skipif(
    not (FASHION_SYSTEM_DIR / "train-images-idx3-ubyte.gz").is_file(),
    reason=f"{FASHION_SYSTEM_DIR} absent (apt-get install dataset-fashion-mnist)",
)
def test_real_fashion_mnist_system_package(monkeypatch):
    monkeypatch.setattr(
        mnist_module,
        "_FASHION_MNIST",
        dataclasses.replace(mnist_module._FASHION_MNIST, extra_dirs=(str(FASHION_SYSTEM_DIR),)),
    )
    ds = fashion_mnist(download=False)
    assert ds.meta["source_dir"] == str(FASHION_SYSTEM_DIR)
    assert ds.X_train.shape == (60000, 28, 28) and ds.X_test.shape == (10000, 28, 28)
    assert ds.split == "Fashion-MNIST 60k train / 10k test"
    # Official Fashion-MNIST is exactly balanced.
    assert np.all(np.bincount(ds.y_train, minlength=10) == 6000)
    assert np.all(np.bincount(ds.y_test, minlength=10) == 1000)
