"""Tables as the workbook writes them: columns, cells, plain text (LaTeX in :mod:`pixelflow.workbook.latex`).

A table is ``{"columns": [column(...), ...], "rows": [[cell, ...], ...]}``;
:func:`cell` decides once what a value shows (missing, ``mean ± std``, a
formatted number, text), and :func:`text_table` and the LaTeX writer render
that the same way.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

__all__ = ["GREEK", "cell", "cell_text", "column", "format_value", "interval_text", "text_table"]


def column(name: str, fmt: str | None = None, align: str | None = None) -> dict:
    """A table column: header ``name``, number format (e.g. ``".2f"``) and LaTeX alignment."""
    return {"name": name, "format": fmt, "align": align or ("r" if fmt else "l")}


# Hyperparameter names shown as symbols.
GREEK = {"alpha": "α"}


def format_value(v) -> str:
    """Hyperparameter value as ``%g`` with a plain exponent: ``0.1``, ``10000``, ``1e6``, ``1e-5``."""
    if not isinstance(v, numbers.Real) or isinstance(v, bool):
        return str(v)
    text = f"{v:g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text


def interval_text(low: float, high: float, signed: bool = False) -> str:
    """An interval of fractions as a cell, in percent (points) with two decimals; ``signed`` for a difference.

    >>> interval_text(0.9712, 0.9801), interval_text(-0.004, 0.0125, signed=True)
    ('[97.12, 98.01]', '[-0.40, +1.25]')
    """
    fmt = "+.2f" if signed else ".2f"
    return f"[{format(100.0 * low, fmt)}, {format(100.0 * high, fmt)}]"


def cell(value, fmt: str | None = None) -> tuple[str, ...]:
    """What a table cell shows, before it is written as text or LaTeX.

    Returns
    -------
    tuple
        ``("missing",)`` for None or NaN; ``("pair", mean, std)`` for a
        two-number list (mean ± std), each formatted with ``fmt`` (or
        ``g``); ``("number", text)`` for a number with a format; else
        ``("text", str(value))``.

    Examples
    --------
    >>> cell([98.214, 0.08], ".2f"), cell(None), cell(3, "d"), cell("ridge")
    (('pair', '98.21', '0.08'), ('missing',), ('number', '3'), ('text', 'ridge'))
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ("missing",)
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        return ("pair", format(value[0], fmt or "g"), format(value[1], fmt or "g"))
    if fmt and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return ("number", format(value, fmt))
    return ("text", str(value))


def cell_text(value, fmt: str | None = None) -> str:
    """A cell as plain text: ``-`` when missing, ``mean ± std`` for a pair."""
    kind, *parts = cell(value, fmt)
    if kind == "missing":
        return "-"
    return f"{parts[0]} ± {parts[1]}" if kind == "pair" else parts[0]


def text_table(columns: Sequence[dict], rows: Sequence[Sequence]) -> str:
    """A fixed-width plain-text rendering of a table (for printing in notebooks)."""
    cells = [[c["name"] for c in columns]] + [[cell_text(v, c.get("format")) for v, c in zip(r, columns)] for r in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(columns))]
    right = [(c.get("align") or "l") == "r" for c in columns]

    def line(row):
        return "  ".join(s.rjust(w) if r else s.ljust(w) for s, w, r in zip(row, widths, right)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), sep, *(line(r) for r in cells[1:])])
