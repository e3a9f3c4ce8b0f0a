"""Where notebooks write results and figures, written atomically.

Layout (``scale`` is ``"smoke"`` or ``"paper"``, kept apart so a smoke run
never overwrites full-scale numbers)::

    results/<scale>/<notebook>.json
    figures/<scale>/<notebook>_<name>.png   (for the notebook)
    figures/<scale>/<notebook>_<name>.pdf   (for the paper)

The repository root is found from this package; ``$PIXELFLOW_OUTPUT``
redirects everything to another root (the test suite uses a temporary one so
that re-executing the notebooks leaves the working tree untouched).
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from pixelflow.atomic import write_atomic

SCALES = ("smoke", "paper")
OUTPUT_ENV_VAR = "PIXELFLOW_OUTPUT"


def repository_root() -> Path:
    """The checkout this package was imported from."""
    return Path(__file__).resolve().parent.parent.parent


#: The folders under the output root that the workbook writes (results and executed notebooks; figures).
OUTPUT_DIRS = ("results", "figures")


def output_root() -> Path:
    """``$PIXELFLOW_OUTPUT`` if set, else the repository root."""
    env = os.environ.get(OUTPUT_ENV_VAR)
    return Path(env).resolve() if env else repository_root()


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    return scale


# A notebook or figure name becomes a file name under results/<scale>/ or
# figures/<scale>/: letters, digits, "_", "-" and ".", starting with a letter or
# digit, so it can neither climb out of that folder nor hide as a dot-file.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_notebook_name(notebook: str, what: str = "notebook") -> str:
    """``notebook`` if it is a plain file-name stem such as ``"01_mnist"``.

    Parameters
    ----------
    notebook : str
    what : str
        How the error message calls the value (``"notebook"``, ``"figure name"``).

    Raises
    ------
    TypeError
        If ``notebook`` is not a str.
    ValueError
        If it is empty, starts with anything but a letter or digit (e.g. a dot
        or a path separator), or holds characters other than letters, digits,
        ``_``, ``-`` and ``.``.
    """
    if not isinstance(notebook, str):
        raise TypeError(f"{what} must be a str such as '01_mnist', got {type(notebook).__name__} {notebook!r}")
    if not _PLAIN_NAME.fullmatch(notebook):
        raise ValueError(f"{what} must be a plain name such as '01_mnist' (letters, digits, '_', '-' and '.', "
                         f"starting with a letter or digit; no path), got {notebook!r}")
    return notebook


def results_path(notebook: str, scale: str) -> Path:
    """``results/<scale>/<notebook>.json`` under the output root (``notebook`` a plain name)."""
    return output_root() / "results" / check_scale(scale) / f"{check_notebook_name(notebook)}.json"


def figure_dir(scale: str) -> Path:
    return output_root() / "figures" / check_scale(scale)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        return _jsonable(obj.item())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN; null is honest about a missing number
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (NumPy values converted, NaN -> null)."""
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False, allow_nan=False)
    return write_atomic(Path(path), (text + "\n").encode())


def save_figure(fig, notebook: str, name: str, scale: str, dpi: int = 150) -> dict[str, Path]:
    """Save a matplotlib figure as PNG and PDF, each atomically, no wider than the paper's text.

    A wider figure is narrowed first (:func:`pixelflow.workbook.plotting.style.fit_to_text`): the paper prints
    figures at their natural size, so their type prints at the size it was set in. A figure that prints text
    over other text, or is taller than the paper prints a figure, is saved with a
    :class:`~pixelflow.workbook.plotting.style.FigureLayoutWarning` that says so.

    Returns
    -------
    dict with keys ``"png"`` and ``"pdf"``.
    """
    import io

    from pixelflow.workbook.plotting.style import MAX_HEIGHT_IN, FigureLayoutWarning, fit_to_text, overlapping_texts

    fit_to_text(fig)

    stem = f"{check_notebook_name(notebook)}_{check_notebook_name(name, 'figure name')}"
    height = float(fig.get_size_inches()[1])
    if height > MAX_HEIGHT_IN:
        warnings.warn(f"figure {stem} is {height:.1f} in tall: the paper prints it shrunk to {MAX_HEIGHT_IN:.1f} in, "
                      "and its type with it", FigureLayoutWarning, stacklevel=2)
    overlaps = overlapping_texts(fig)
    if overlaps:
        # Saved all the same (a long run's figure is still worth keeping); the warning stays in the executed
        # notebook, where a test looks for it.
        shown = "; ".join(f"{a!r} and {b!r}" for a, b in overlaps[:4])
        more = f" and {len(overlaps) - 4} more" if len(overlaps) > 4 else ""
        warnings.warn(f"figure {stem} prints text over other text: {shown}{more}", FigureLayoutWarning,
                      stacklevel=2)
    out = {}
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight",
                    metadata={"CreationDate": None} if fmt == "pdf" else None)
        out[fmt] = write_atomic(figure_dir(scale) / f"{stem}.{fmt}", buf.getvalue())
    return out
