"""The published numbers of other work that the workbook compares with, and where each comes from.

``peers.json`` beside this module holds one entry per number: its value, the
metric, data split and protocol it was measured under, its source and its
bibliography key. The notebooks that show those numbers beside ours read them
with :func:`peer_numbers`; the paper quotes them through macros
(:mod:`pixelflow.workbook.numbers`). This module is separate from the macros
so that a notebook reading a published number does not depend on how the
paper's prose is generated.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path

__all__ = ["PEERS_FILE", "check_peer", "load_peers", "peer_numbers"]

#: The published numbers of other work, with their protocols and citations.
PEERS_FILE = Path(__file__).with_name("peers.json")

_LETTERS = re.compile(r"[A-Za-z]+")

_PEER_TEXT = ("id", "metric", "dataset", "split", "protocol", "source", "bibkey")
_PEER_OPTIONAL = ("notebook", "label", "unit", "n_train", "n_test")


def check_peer(entry, where: str) -> dict:
    """One entry of the peers file, checked; a ValueError names ``where`` and what is wrong."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{where} must be an object, got {type(entry).__name__}")
    allowed = {*_PEER_TEXT, "value", "decimals", *_PEER_OPTIONAL}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise ValueError(f"{where} has unknown field(s) {', '.join(map(repr, unknown))}; "
                         f"allowed: {', '.join(sorted(allowed))}")
    for key in _PEER_TEXT:
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ValueError(f"{where}: {key!r} must be a non-empty string, got {entry.get(key)!r}")
    if not _LETTERS.fullmatch(entry["id"]):
        raise ValueError(f"{where}: id {entry['id']!r} must be letters only (it names the macro \\pfPeer<id>)")
    value = entry.get("value")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{where}: 'value' must be a finite number, got {value!r}")
    decimals = entry.get("decimals")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"{where}: 'decimals' must be an int >= 0, got {decimals!r}")
    if ("notebook" in entry) != ("label" in entry):
        raise ValueError(f"{where}: 'notebook' and 'label' go together (the notebook and the row that shows it)")
    for key in ("notebook", "label", "unit"):
        if key in entry and not isinstance(entry[key], str):
            raise ValueError(f"{where}: {key!r} must be a string, got {entry[key]!r}")
    for key in ("n_train", "n_test"):
        n = entry.get(key)
        if key in entry and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"{where}: {key!r} must be an int >= 1, got {n!r}")
    return dict(entry)


def load_peers(path: str | Path | None = None) -> list[dict]:
    """The published numbers of other work, each checked.

    Parameters
    ----------
    path : str or Path, optional
        A peers file; default :data:`PEERS_FILE`. It holds an object whose
        ``numbers`` list has one entry per number: ``id`` (letters; names the
        macro ``\\pfPeer<id>``), ``value`` and ``decimals`` (how many digits it
        is printed with), ``metric``, ``dataset``, ``split``, ``protocol``,
        ``source`` and ``bibkey`` (its entry in ``paper/references.bib``);
        optionally ``unit``, ``n_train`` and ``n_test`` (the size of the data
        it was measured on), and ``notebook`` with ``label`` (the notebook and
        row that show it).

    Returns
    -------
    list of dict
        The entries, in file order.

    Raises
    ------
    ValueError
        The file cannot be read or is not such an object; an entry lacks a
        field or has a wrong one; two entries share an id, or a notebook's
        label. The message names the file and the entry.

    Examples
    --------
    >>> sorted({p["bibkey"] for p in load_peers()})
    ['angulo2026pixelflow']
    """
    path = PEERS_FILE if path is None else Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: the peers file cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: the peers file is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("numbers"), list):
        raise ValueError(f"{path}: a peers file holds an object with a list 'numbers', got "
                         f"{type(data).__name__}{' without one' if isinstance(data, dict) else ''}")
    entries = [check_peer(entry, f"{path}: numbers[{i}]") for i, entry in enumerate(data["numbers"])]
    seen: dict = {}
    for i, entry in enumerate(entries):
        keys = [("id", entry["id"])] + ([("row", entry["notebook"], entry["label"])] if "notebook" in entry else [])
        for key in keys:
            if key in seen:
                raise ValueError(f"{path}: numbers[{i}] repeats the {key[0]} {key[1:]!r} of numbers[{seen[key]}]")
            seen[key] = i
    return entries


def peer_numbers(notebook: str, path: str | Path | None = None) -> dict[str, float]:
    """``{row label: published value}`` of the numbers of other work that ``notebook`` shows.

    Parameters
    ----------
    notebook : str
        The notebook's name, e.g. ``"01_mnist"``.
    path : str or Path, optional
        A peers file (see :func:`load_peers`); default :data:`PEERS_FILE`.

    Raises
    ------
    ValueError
        The peers file holds no number for ``notebook`` (the message lists
        the notebooks it has numbers for), or is malformed.

    Examples
    --------
    >>> peer_numbers("01_mnist")["wave (pixelflow-rc)"]
    92.81
    """
    entries = load_peers(path)
    found = {e["label"]: e["value"] for e in entries if e.get("notebook") == notebook}
    if not found:
        known = sorted({e["notebook"] for e in entries if "notebook" in e})
        raise ValueError(f"{PEERS_FILE if path is None else path}: no published numbers for notebook "
                         f"{notebook!r}; it has numbers for {', '.join(known) or 'no notebook'}")
    return found
