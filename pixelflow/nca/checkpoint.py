"""Saving and loading neural CA: models that reload and render, and resumable training state.

Both are written to a temporary file beside the target and renamed into
place, so an interrupted save never leaves a truncated file behind.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import torch

from pixelflow.nca.model import BUILDERS, NCA
from pixelflow.outputs import write_atomic

FORMAT = "pixelflow.nca/1"


def save(obj: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` atomically."""
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_atomic(Path(path), buf.getvalue())


def load(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no neural-CA file at {path}")
    obj = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} is not a pixelflow neural-CA file (format {FORMAT!r})")
    return obj


def save_model(model: NCA, path: str | os.PathLike, **extra) -> Path:
    """Save a model built by one of the builders, with its weights and any JSON-able ``extra`` metadata."""
    if not isinstance(model, NCA) or model.spec.get("builder") not in BUILDERS:
        raise TypeError("save_model needs an NCA made by texture_nca, attention_nca or conv_nca (it records model.spec)")
    return save({"format": FORMAT, "spec": model.spec, "weights": model.state_dict(), "extra": extra}, path)


def load_model(path: str | os.PathLike) -> tuple[NCA, dict]:
    """Rebuild a model saved by :func:`save_model`; returns ``(model, extra)``."""
    obj = load(path)
    spec = obj["spec"]
    model = BUILDERS[spec["builder"]](**spec["kwargs"])
    model.load_state_dict(obj["weights"])
    return model, obj.get("extra", {})
