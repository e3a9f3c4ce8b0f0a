"""Dask as an optional dependency: recognised without importing it, imported only on use.

``import pixelflow`` must work where dask is not installed, and must not pay
dask's import time where it is, so a dask array is recognised by the module
its type comes from, and dask itself is imported by the code that computes
with one.
"""

from __future__ import annotations

import importlib

INSTALL_HINT = "pip install 'pixelflow[dask]'"


def is_dask_array(x) -> bool:
    """Whether ``x`` is a ``dask.array.Array``, decided without importing dask.

    Examples
    --------
    >>> import numpy as np
    >>> is_dask_array(np.zeros(3))
    False
    """
    cls = type(x)
    return cls.__module__.startswith("dask.") and cls.__name__ == "Array"


def require(module: str, purpose: str):
    """Import ``module`` (e.g. ``"dask.array"``), or explain how to install it.

    Parameters
    ----------
    module : str
        Dotted module name.
    purpose : str
        What it is needed for, completing "… needs dask: ".

    Raises
    ------
    ImportError
        Naming the missing module and ``pip install 'pixelflow[dask]'``.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(f"{purpose} needs {module.split('.')[0]} ({module} could not be imported: {exc}); "
                          f"install it with {INSTALL_HINT}") from exc
