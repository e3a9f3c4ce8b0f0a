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
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

SCALES = ("smoke", "paper")
OUTPUT_ENV_VAR = "PIXELFLOW_OUTPUT"


def repository_root() -> Path:
    """The checkout this package was imported from."""
    return Path(__file__).resolve().parent.parent


def output_root() -> Path:
    """``$PIXELFLOW_OUTPUT`` if set, else the repository root."""
    env = os.environ.get(OUTPUT_ENV_VAR)
    return Path(env).resolve() if env else repository_root()


def check_scale(scale: str) -> str:
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    return scale


def results_path(notebook: str, scale: str) -> Path:
    """``results/<scale>/<notebook>.json`` under the output root."""
    return output_root() / "results" / check_scale(scale) / f"{notebook}.json"


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


def write_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_json(path: Path, obj: Any) -> Path:
    """Atomically write ``obj`` as indented JSON (NumPy values converted, NaN -> null)."""
    text = json.dumps(_jsonable(obj), indent=2, sort_keys=False, allow_nan=False)
    return write_atomic(Path(path), (text + "\n").encode())


def save_figure(fig, notebook: str, name: str, scale: str, dpi: int = 150) -> dict[str, Path]:
    """Save a matplotlib figure as PNG and PDF, each atomically.

    Returns
    -------
    dict with keys ``"png"`` and ``"pdf"``.
    """
    import io

    out = {}
    for fmt in ("png", "pdf"):
        buf = io.BytesIO()
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", metadata={"CreationDate": None} if fmt == "pdf" else None)
        out[fmt] = write_atomic(figure_dir(scale) / f"{notebook}_{name}.{fmt}", buf.getvalue())
    return out
