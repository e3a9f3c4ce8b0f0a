"""Saving and loading neural CA: models that reload and render, and resumable training state.

Both are written to a temporary file beside the target and renamed into
place, so an interrupted save never leaves a truncated file behind.

A file holds only tensors, numbers, strings, booleans, None and lists,
tuples and dicts of them, and is read with ``torch.load(weights_only=True)``:
a general pickle can run arbitrary code when it is loaded, and training
resumes from whatever file sits at ``checkpoint=``, so a planted or shared
file must not be able to do more than fail to load.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from collections import OrderedDict
from pathlib import Path

import torch

from pixelflow.atomic import write_atomic
from pixelflow.nca.model import BUILDERS, NCA

FORMAT = "pixelflow.nca/1"

# What a saved model and a training checkpoint each hold. Both kinds share
# FORMAT and are told apart by these keys, so files already written still load.
_KINDS = {
    "model": ("spec", "weights"),
    "training": ("signature", "model", "optimizer", "scheduler", "generator", "pool", "history", "iteration",
                 "wall_time_s"),
}

_SCALARS = (str, int, float, bool, type(None))
_PLAIN = "tensors, numbers, strings, booleans, None and lists, tuples and dicts of them"


def _plain(value, where: str):
    """``value`` with NumPy scalars made Python numbers; TypeError naming ``where`` for anything else not plain.

    Everything written must load under ``weights_only=True``; checking before
    writing turns a file that could never be reloaded into an error now.
    """
    if type(value) in _SCALARS or isinstance(value, torch.Tensor):
        return value
    if type(value) in (dict, OrderedDict):  # module state dicts are OrderedDicts
        out = type(value)()
        for k, v in value.items():
            if type(k) not in (str, int):
                raise TypeError(f"{where} has key {k!r} of type {type(k).__name__}; keys must be str or int")
            out[k] = _plain(v, f"{where}[{k!r}]")
        if hasattr(value, "_metadata"):
            out._metadata = value._metadata
        return out
    if type(value) in (list, tuple):
        return type(value)(_plain(v, f"{where}[{i}]") for i, v in enumerate(value))
    item = getattr(value, "item", None)
    if type(value).__module__ == "numpy" and callable(item) and getattr(value, "ndim", None) == 0:
        return _plain(item(), where)
    raise TypeError(f"{where} is a {type(value).__module__}.{type(value).__qualname__}; a neural-CA file stores "
                    f"only {_PLAIN} (so that loading it cannot run code)")


def _unreadable(path: Path, exc: Exception) -> ValueError:
    """The ValueError naming ``path`` for whatever ``torch.load(weights_only=True)`` raised on it."""
    text = " ".join(str(exc).split())
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return ValueError(f"{path} refused: it holds objects such as {found.group(1)} beyond the {_PLAIN} a "
                          f"neural-CA file is made of, and loading them could run code; nothing in it was loaded")
    if isinstance(exc, pickle.UnpicklingError):
        # torch's own text around a refusal suggests weights_only=False, exactly
        # what must not be done with an untrusted file, so only its reason is kept.
        reason = text.split("WeightsUnpickler error:")[-1].split(" Check the documentation")[0].strip()
    else:
        reason = text.split(". ")[0]
    return ValueError(f"{path} is not a readable neural-CA file (truncated, corrupt or of another format; "
                      f"nothing in it was run): {type(exc).__name__}: {reason or 'no details'}")


def save(obj: dict, path: str | os.PathLike) -> Path:
    """``torch.save`` ``obj`` atomically, after checking it holds only plain values.

    Raises
    ------
    TypeError
        If ``obj`` holds anything :func:`load` would refuse; nothing is written then.
    """
    obj = _plain(obj, "the saved object")
    buf = io.BytesIO()
    torch.save(obj, buf)
    return write_atomic(Path(path), buf.getvalue())


def load(path: str | os.PathLike, kind: str) -> dict:
    """Read a neural-CA file of ``kind`` (``"model"`` or ``"training"``) without running any code it may hold.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming ``path`` and the reason, if the file is empty, truncated, not
        written by pixelflow, holds objects other than plain values, or is the
        other kind of neural-CA file.
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {', '.join(_KINDS)}, got {kind!r}")
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no neural-CA file at {path}")
    if not path.is_file():
        raise ValueError(f"{path} is not a file (a neural-CA file was expected there)")
    if path.stat().st_size == 0:
        raise ValueError(f"{path} is empty, not a neural-CA file (an interrupted copy?)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch reports corrupt files as RuntimeError, EOFError, KeyError, ...
        raise _unreadable(path, exc) from (None if isinstance(exc, pickle.UnpicklingError) else exc)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise ValueError(f"{path} is not a pixelflow neural-CA file (format {FORMAT!r})")
    if kind == "model" and "signature" in obj and "spec" not in obj:
        raise ValueError(f"{path} is a Trainer checkpoint (training state), not a saved model; resume it with "
                         f"Trainer(..., checkpoint=path).fit(), or save the trained model with save_model")
    if kind == "training" and "spec" in obj and "signature" not in obj:
        raise ValueError(f"{path} is a saved model (save_model), not a Trainer checkpoint; load it with "
                         f"load_model, or point `checkpoint` at another file")
    missing = [k for k in _KINDS[kind] if k not in obj]
    if missing:
        raise ValueError(f"{path} is an incomplete neural-CA {kind} file: it lacks {', '.join(missing)}")
    return obj


def save_model(model: NCA, path: str | os.PathLike, **extra) -> Path:
    """Save a model built by one of the builders, with its weights and any ``extra`` metadata.

    Parameters
    ----------
    model : NCA
        Made by :func:`~pixelflow.nca.model.texture_nca`, ``attention_nca`` or ``conv_nca``.
    path : path
    **extra
        Metadata returned again by :func:`load_model`: numbers, strings,
        booleans, None, tensors, and lists, tuples and dicts of them (NumPy
        scalars are stored as Python numbers).

    Raises
    ------
    TypeError
        If ``model`` was not made by a builder, or ``extra`` holds other
        objects (e.g. NumPy arrays or dataclasses); nothing is written then.
    """
    if not isinstance(model, NCA) or model.spec.get("builder") not in BUILDERS:
        raise TypeError(
            "save_model needs an NCA made by texture_nca, attention_nca or conv_nca (it records model.spec)"
        )
    extra = _plain(extra, "save_model extra")
    return save({"format": FORMAT, "spec": model.spec, "weights": model.state_dict(), "extra": extra}, path)


def load_model(path: str | os.PathLike) -> tuple[NCA, dict]:
    """Rebuild a model saved by :func:`save_model`; returns ``(model, extra)``.

    The file is read with ``torch.load(weights_only=True)``, so a file that
    holds anything but plain values is refused without running it.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        Naming ``path`` and what is wrong: unreadable (empty, truncated,
        garbage), refused (holds code-running objects), a Trainer checkpoint
        instead of a model, an unknown builder, or weights that do not fit the
        recorded architecture.
    """
    obj = load(path, "model")
    spec, weights, extra = obj["spec"], obj["weights"], obj.get("extra", {})
    if not (isinstance(spec, dict) and isinstance(spec.get("kwargs"), dict)):
        raise ValueError(f"{path} records a malformed model spec {spec!r}; "
                         f"expected {{'builder': ..., 'kwargs': {{...}}}}")
    builder = spec.get("builder")
    if builder not in BUILDERS:
        raise ValueError(f"{path} names an unknown builder {builder!r}; known builders: {', '.join(BUILDERS)}")
    if not isinstance(weights, dict) or not isinstance(extra, dict):
        raise ValueError(f"{path} holds malformed weights or extra metadata (each must be a dict)")
    try:
        model = BUILDERS[builder](**spec["kwargs"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {builder} rejects the recorded arguments {spec['kwargs']!r}: {exc}") from exc
    try:
        model.load_state_dict(weights)
    except (RuntimeError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path} holds weights that do not fit the recorded architecture "
                         f"{builder}({spec['kwargs']!r}): {' '.join(str(exc).split())}") from exc
    return model, extra
