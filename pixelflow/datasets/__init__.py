"""Data sets for pixelflow experiments.

Image loaders (:func:`mnist`, :func:`fashion_mnist`, :func:`cifar10`) read the
standard on-disk formats from local directories first (``data_dir``,
``$PIXELFLOW_DATA``, system dataset folders, the user cache) and download
md5-verified official files only when nothing local is found. Every loader
returns a :class:`Dataset` whose ``split`` states exactly what was used, e.g.
``"MNIST 14k-train prefix / 10k test"``.
"""

from .cifar10 import cifar10
from .dataset import Dataset
from .digits import digits
from .files import DATA_ENV_VAR, cache_dir, find_data_dir, sha256_file
from .idx import read_idx
from .mnist import fashion_mnist, mnist
from .subset import stratified_subset
from .synthetic import checkerboard, make_checkerboard, make_two_moons, two_moons

__all__ = [
    "DATA_ENV_VAR",
    "Dataset",
    "cache_dir",
    "checkerboard",
    "cifar10",
    "digits",
    "fashion_mnist",
    "find_data_dir",
    "make_checkerboard",
    "make_two_moons",
    "mnist",
    "read_idx",
    "sha256_file",
    "stratified_subset",
    "two_moons",
]
