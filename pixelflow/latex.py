"""LaTeX tables generated from results files (nothing in the paper is typed by hand).

``python -m pixelflow.latex results/smoke paper/generated`` writes one
``<table>.tex`` per table found in the results files, plus ``scale.tex``
defining ``\\pfscale`` and ``\\pfcommit`` so the PDF says what it was built
from.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from pixelflow.outputs import write_atomic

_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
            "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


# Symbols that notebooks write in captions and cells (pdfLaTeX has no glyphs for them).
_UNICODE = {"α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}", "γ": r"\ensuremath{\gamma}",
            "λ": r"\ensuremath{\lambda}", "μ": r"\ensuremath{\mu}", "σ": r"\ensuremath{\sigma}",
            "τ": r"\ensuremath{\tau}", "Δ": r"\ensuremath{\Delta}", "∈": r"\ensuremath{\in}",
            "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "≤": r"\ensuremath{\leq}",
            "≥": r"\ensuremath{\geq}", "≈": r"\ensuremath{\approx}", "→": r"\ensuremath{\to}",
            "−": r"\ensuremath{-}", "∞": r"\ensuremath{\infty}", "·": r"\ensuremath{\cdot}",
            "²": r"\textsuperscript{2}", "³": r"\textsuperscript{3}", "⁻": r"\textsuperscript{\textminus}", "–": "--", "—": "---", "…": r"\ldots{}",
            "√": r"\ensuremath{\surd}", "✓": r"\ensuremath{\checkmark}"}


def escape(text: str) -> str:
    """Escape LaTeX's special characters and common math symbols in plain text."""
    return "".join(_SPECIAL.get(ch) or _UNICODE.get(ch, ch) for ch in str(text))


def _math_number(value, fmt: str) -> str:
    """A formatted number for math mode: ``2.3e-05`` becomes ``2.3\\times10^{-5}``."""
    text = format(value, fmt)
    mantissa, e, exponent = text.partition("e")
    if not e or not math.isfinite(value):
        return text
    return f"{mantissa}\\times10^{{{int(exponent)}}}"


def format_cell(value, fmt: str | None) -> str:
    """One cell: formatted number, ``mean \\pm std`` for pairs, en dash for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "--"
    if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
        mean, std = value
        return f"${_math_number(mean, fmt or 'g')} \\pm {_math_number(std, fmt or 'g')}$"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(value)
    if not fmt:
        return escape(value)
    text = format(value, fmt)
    return f"${_math_number(value, fmt)}$" if "e" in text and math.isfinite(value) else text


def render_table(table: dict) -> str:
    """A booktabs ``table`` environment from a results-file table entry."""
    cols = table["columns"]
    # adjustbox shrinks a table wider than the text (search tables can be) and
    # leaves narrower ones alone.
    lines = [
        r"\begin{table}[htbp]",
        r"\centering",
        r"\small",
        rf"\caption{{{escape(table['caption'])}}}",
        rf"\label{{{table['label']}}}",
        r"\begin{adjustbox}{max width=\linewidth}",
        r"\begin{tabular}{" + "".join(c.get("align") or "l" for c in cols) + "}",
        r"\toprule",
        " & ".join(escape(c["name"]) for c in cols) + r" \\",
        r"\midrule",
    ]
    for row in table["rows"]:
        lines.append(" & ".join(format_cell(v, c.get("format")) for v, c in zip(row, cols)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{adjustbox}", r"\end{table}", ""]
    return "\n".join(lines)


def write_tables(results_dir: Path, out_dir: Path, figures_dir: str | None = None) -> list[Path]:
    """Render every table of every ``results_dir/*.json`` into ``out_dir``.

    Also writes ``scale.tex`` defining ``\\pfscale`` (the scale the results
    came from), ``\\pfcommit`` (their git commits) and ``\\pffigdir``
    (``figures_dir``, as the paper should reference it), so the PDF says what
    it was built from.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    written, names, scales, commits = [], [], set(), set()
    out_dir.mkdir(parents=True, exist_ok=True)
    for path in sorted(results_dir.glob("*.json")):
        record = json.loads(path.read_text())
        if "tables" not in record:
            continue
        scales.add(record.get("scale", results_dir.name))
        commits.add((record.get("provenance", {}).get("git") or {}).get("commit") or "unknown")
        for name, table in record["tables"].items():
            if name in names:
                raise ValueError(f"table {name!r} is produced by more than one notebook (again in {path.name})")
            names.append(name)
            written.append(write_atomic(out_dir / f"{name}.tex", render_table(table).encode()))
    scale = ", ".join(sorted(scales)) or results_dir.name
    commit = ", ".join(c[:10] for c in sorted(commits)) or "unknown"
    figdir = figures_dir if figures_dir is not None else f"../figures/{scale}"
    write_atomic(
        out_dir / "scale.tex",
        (
            rf"\newcommand{{\pfscale}}{{{escape(scale)}}}" + "\n"
            + rf"\newcommand{{\pfcommit}}{{{escape(commit)}}}" + "\n"
            + rf"\newcommand{{\pffigdir}}{{{figdir}}}" + "\n"
        ).encode(),
    )
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--figures", help="figure folder as the paper references it (default ../figures/<scale>)")
    args = parser.parse_args(argv)
    written = write_tables(args.results_dir, args.out_dir, args.figures)
    print(f"wrote {len(written)} table(s) to {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
