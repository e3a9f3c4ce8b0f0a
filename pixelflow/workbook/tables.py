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


#: The format of a column whose pairs are written to the precision of their spread: the spread with two
#: significant digits, the mean to the same decimal place (``0.2522 ± 0.0018``, ``30.00 ± 0.77``); means below
#: 0.001 in scientific notation.
SPREAD = "spread"


def _to_spread(mean: float, spread: float) -> tuple[str, str]:
    if not (math.isfinite(spread) and spread > 0):
        return format(mean, ".4g"), format(spread, "g")
    place = 1 - math.floor(math.log10(spread))  # decimals that keep two significant digits of the spread
    if place <= 0:
        return format(round(mean, place), ".0f"), format(round(spread, place), ".0f")
    if abs(mean) >= 1e-3 or mean == 0:
        return f"{mean:.{place}f}", f"{spread:.{place}f}"
    return format(mean, ".2e"), format(spread, ".2e")


def cell(value, fmt: str | None = None) -> tuple[str, ...]:
    """What a table cell shows, before it is written as text or LaTeX.

    Returns
    -------
    tuple
        ``("missing",)`` for None or NaN; ``("pair", mean, std)`` for a
        two-number list (mean ± std), each formatted with ``fmt`` (or
        ``g``; with :data:`SPREAD`, to the spread's precision); ``("number",
        text)`` for a number with a format; else ``("text", str(value))``.

    Examples
    --------
    >>> cell([98.214, 0.08], ".2f"), cell(None), cell(3, "d"), cell("ridge")
    (('pair', '98.21', '0.08'), ('missing',), ('number', '3'), ('text', 'ridge'))
    >>> cell([0.2522, 0.001839], SPREAD), cell([30, 0.7655], SPREAD), cell([130.1, 2.496], SPREAD)
    (('pair', '0.2522', '0.0018'), ('pair', '30.00', '0.77'), ('pair', '130.1', '2.5'))
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ("missing",)
    if (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)):
        if fmt == SPREAD:
            return ("pair", *_to_spread(float(value[0]), float(value[1])))
        return ("pair", format(value[0], fmt or "g"), format(value[1], fmt or "g"))
    if fmt == SPREAD and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return ("number", format(value, ".4g"))
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
