"""Axis scales chosen from the data they show."""

from __future__ import annotations

import numpy as np

__all__ = ["log_if_wide"]


def log_if_wide(ax, values, axis: str = "y") -> bool:
    """Give ``ax`` a logarithmic ``axis`` when the positive ``values`` span at least a decade; otherwise keep it
    linear. Returns whether it is logarithmic.

    On less than a decade a log axis has no power of ten to label, and matplotlib labels its minor ticks
    instead (3×10⁻¹, 4×10⁻¹, ...), which run into each other in a narrow panel.

    >>> from matplotlib.figure import Figure
    >>> ax = Figure().subplots()
    >>> log_if_wide(ax, [0.25, 0.45]), log_if_wide(ax, [0.01, 0.5])
    (False, True)
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v) & (v > 0)]
    wide = len(v) > 0 and v.max() >= 10 * v.min()
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log" if wide else "linear")
    return bool(wide)
