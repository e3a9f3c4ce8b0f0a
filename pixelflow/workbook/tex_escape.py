"""Plain text made safe for pdfLaTeX: its special characters escaped, the symbols notebooks write set in math.

One home for the escaping that the generated tables (:mod:`pixelflow.workbook.latex`) and the generated prose
(:mod:`pixelflow.workbook.numbers`) both need.
"""

from __future__ import annotations

__all__ = ["escape"]

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


# Symbols that notebooks write in captions and cells (pdfLaTeX has no glyphs for them).
_UNICODE = {"α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}", "γ": r"\ensuremath{\gamma}",
            "λ": r"\ensuremath{\lambda}", "μ": r"\ensuremath{\mu}", "σ": r"\ensuremath{\sigma}",
            "τ": r"\ensuremath{\tau}", "Δ": r"\ensuremath{\Delta}", "∈": r"\ensuremath{\in}",
            "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "≤": r"\ensuremath{\leq}",
            "≥": r"\ensuremath{\geq}", "≈": r"\ensuremath{\approx}", "→": r"\ensuremath{\to}",
            "−": r"\ensuremath{-}", "∞": r"\ensuremath{\infty}", "·": r"\ensuremath{\cdot}",
            "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}", "⁻": r"\textsuperscript{\textminus}",
            "–": "--", "—": "---", "…": r"\ldots{}",
            "√": r"\ensuremath{\surd}", "✓": r"\ensuremath{\checkmark}"}


def escape(text: str) -> str:
    """Escape LaTeX's special characters and common math symbols in plain text."""
    return "".join(_SPECIAL.get(ch) or _UNICODE.get(ch, ch) for ch in str(text))
