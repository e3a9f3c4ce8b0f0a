"""Reader for IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the data in C order.
Only the unsigned-byte type (0x08) is supported, which is all these datasets
use.
"""

from __future__ import annotations

import gzip
import os
import zlib
from math import prod

import numpy as np

_UBYTE = 0x08
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: str | os.PathLike) -> bytes:
    with open(path, "rb") as f:
        raw = f.read()
    # Sniff rather than trust the extension: some mirrors ship .gz names for
    # plain files and vice versa.
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(
            f"{os.fspath(path)}: corrupt or truncated gzip data ({exc}); "
            "delete the file and fetch it again"
        ) from exc


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (gzip-compressed or plain) of unsigned bytes.

    Parameters
    ----------
    path : str or os.PathLike
        The file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        uint8 array with the shape given in the header, e.g. (N, 28, 28) for
        images and (N,) for labels.

    Raises
    ------
    ValueError
        If the file is not valid IDX: bad magic number, unsupported type code,
        truncated header, or a data size that does not match the header. The
        message names the file.
    """
    name = os.fspath(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{name}: too short to be an IDX file ({len(data)} bytes)")
    if data[0] != 0 or data[1] != 0:
        raise ValueError(
            f"{name}: bad IDX magic number {data[:4].hex()} "
            "(the first two bytes must be zero)"
        )
    type_code, ndim = data[2], data[3]
    if type_code != _UBYTE:
        raise ValueError(
            f"{name}: unsupported IDX type code 0x{type_code:02x}; "
            f"only 0x{_UBYTE:02x} (unsigned byte) is supported"
        )
    if ndim == 0:
        raise ValueError(f"{name}: IDX header declares zero dimensions")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{name}: truncated IDX header: {ndim} dimensions need {header_len} "
            f"bytes, the file has {len(data)}"
        )
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected = prod(shape)
    actual = len(data) - header_len
    if actual != expected:
        problem = "truncated" if actual < expected else "has trailing bytes"
        raise ValueError(
            f"{name}: IDX data {problem}: header shape {shape} needs {expected} "
            f"bytes, found {actual}"
        )
    # Copy so callers get a writable array that does not pin the raw buffer.
    return np.frombuffer(data, dtype=np.uint8, offset=header_len).reshape(shape).copy()
