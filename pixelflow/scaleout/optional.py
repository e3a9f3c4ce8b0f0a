"""Dask as an optional dependency, imported only by the code that computes with it.

``import pixelflow`` must work where dask is not installed, and must not pay
dask's import time where it is: a dask array is recognised without dask
(:func:`pixelflow.inputs.is_dask_array`), and :func:`require` imports it, or
says how to install it, where it is used.
"""

from __future__ import annotations

import importlib

from pixelflow.inputs import is_dask_array  # noqa: F401  (where it was first public)

INSTALL_HINT = "pip install 'pixelflow[dask]'"


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
