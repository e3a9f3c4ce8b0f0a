"""Data sets for pixelflow experiments.

Image loaders (:func:`mnist`, :func:`fashion_mnist`, :func:`cifar10`) read the
standard on-disk formats from local directories first (``data_dir``,
``$PIXELFLOW_DATA``, system dataset folders, the user cache) and download
md5-verified official files only when nothing local is found. Every loader
returns a :class:`Dataset` whose ``split`` states exactly what was used, e.g.
``"MNIST 14k-train prefix / 10k test"``.

Sequence tasks for reservoir computing (:func:`narma_task`,
:func:`mackey_glass_task`, :func:`bit_memory_task`, :func:`delay_task`) are
generated from a seed and returned as a :class:`SequenceTask` whose ``split``
states what was generated; :mod:`pixelflow.timeseries` scores them.
"""

from .bit_memory import bit_memory, bit_memory_task
from .cifar10 import cifar10
from .dataset import Dataset
from .delay_line import delay_line, delay_task
from .digits import digits
from .files import DATA_ENV_VAR, cache_dir, find_data_dir, sha256_file
from .idx import read_idx
from .mackey_glass import mackey_glass, mackey_glass_task
from .mnist import fashion_mnist, mnist
from .narma import narma, narma_task
from .sequence import SequenceTask
from .subset import stratified_subset
from .synthetic import checkerboard, make_checkerboard, make_two_moons, two_moons

__all__ = [
    "DATA_ENV_VAR",
    "Dataset",
    "SequenceTask",
    "bit_memory",
    "bit_memory_task",
    "cache_dir",
    "checkerboard",
    "cifar10",
    "delay_line",
    "delay_task",
    "digits",
    "fashion_mnist",
    "find_data_dir",
    "mackey_glass",
    "mackey_glass_task",
    "make_checkerboard",
    "make_two_moons",
    "mnist",
    "narma",
    "narma_task",
    "read_idx",
    "sha256_file",
    "stratified_subset",
    "two_moons",
]
