r"""The paper's LaTeX as MyST Markdown, for the website: prose, figures, tables, citations and references.

The paper (``paper/pixelflow.tex``) is written in a small part of LaTeX: sections, paragraphs, inline
mathematics, ``\texttt``/``\emph``, citations, cross-references, and the workbook's own commands
``\pffigure``, ``\pftable`` and the ``\pf...`` number macros. :func:`article_markdown` converts exactly that
part, so that the website shows the same article as the PDF, with its numbers, figures and tables, from the
same results; :func:`markdown_table` renders a results table as the PDF's generated table would show it.
Anything else is dropped with its braces kept as text, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pixelflow.workbook.latex import format_cell

__all__ = ["article_markdown", "bib_labels", "inline_markdown", "markdown_table", "number_values"]

_NUMBER = re.compile(r"\\newcommand\{\\(pf[A-Za-z]+)\}\{((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*)\}")
_ACCENTS = {r"\v{s}": "š", r"\v{c}": "č", r"\"a": "ä", r"\"o": "ö", r"\"u": "ü", r"\o": "ø", r"\'\i": "í",
            r"\'e": "é", r"\'a": "á", r"\`e": "è", r"\ss": "ß"}
_SUPERSCRIPT = str.maketrans("0123456789+-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻")


def number_values(*tex_files: str) -> dict[str, str]:
    r"""``{macro name: its LaTeX}`` of generated macro files (``\newcommand{\pfX}{body}``).

    >>> number_values(r"\newcommand{\pfMnistTestAcc}{98.76}% selected")
    {'pfMnistTestAcc': '98.76'}
    """
    return {name: body for text in tex_files for name, body in _NUMBER.findall(text)}


def _group(text: str, i: int) -> tuple[str, int]:
    """The brace group opening at ``text[i]`` (its content) and the index after it; escaped braces are text."""
    if i >= len(text) or text[i] != "{":
        raise ValueError(f"expected '{{' at {i}: {text[i:i + 30]!r}")
    depth, j = 0, i
    while j < len(text):
        ch = text[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1:j], j + 1
        j += 1
    raise ValueError(f"unbalanced braces from {i}: {text[i:i + 40]!r}")


def _optional(text: str, i: int) -> int:
    """The index after an optional ``[...]`` argument at ``i`` (``i`` itself when there is none)."""
    if i < len(text) and text[i] == "[":
        return text.index("]", i) + 1
    return i


def _plain(latex: str) -> str:
    """Bibliography text (names, titles) without LaTeX accents and braces."""
    for accent, letter in _ACCENTS.items():
        latex = latex.replace("{" + accent + "}", letter).replace(accent, letter)
    return re.sub(r"[{}]", "", latex).strip()


def bib_labels(bib: str) -> dict[str, tuple[str, str]]:
    """``{key: (authors as cited, year)}`` of a BibTeX file: "Jaeger", "Lukoševičius and Jaeger", "Maass et al.".

    >>> bib_labels('@article{k, author = {Maass, W. and Natschl{\\\\"a}ger, T. and Markram, H.}, year = {2002}}')
    {'k': ('Maass et al.', '2002')}
    """
    labels = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,", bib):
        key, start = m.group(1), m.end()
        end = bib.find("\n@", start)
        entry = bib[start:end if end >= 0 else len(bib)]
        fields = {}
        for f in re.finditer(r"(\w+)\s*=\s*", entry):
            value_start = f.end()
            if value_start < len(entry) and entry[value_start] == "{":
                fields.setdefault(f.group(1).lower(), _group(entry, value_start)[0])
            else:
                fields.setdefault(f.group(1).lower(), entry[value_start:].split(",")[0].strip().strip('"'))
        people = [p.strip() for p in re.split(r"\s+and\s+", fields.get("author", "")) if p.strip()]
        last = [_plain(p.split(",")[0] if "," in p else p.split()[-1]) for p in people]
        who = (last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2
               else f"{last[0]} et al." if last else key)
        labels[key] = (who, _plain(fields.get("year", "")))
    return labels


def _cite(keys: str, labels: Mapping[str, tuple[str, str]], textual: bool) -> str:
    found = [labels.get(k.strip(), (k.strip(), "")) for k in keys.split(",")]
    if textual:
        return "; ".join(f"{who} ({year})" for who, year in found)
    return "(" + "; ".join(f"{who} {year}".strip() for who, year in found) + ")"


def _target(label: str) -> str:
    """A LaTeX label as a MyST target name (``fig:04_x`` -> ``fig-04_x``)."""
    return label.replace(":", "-")


def _numref(m) -> str:
    return f"{{numref}}`{m.group(1)} %s <{_target(m.group(2))}>`"


_INLINE = (
    (re.compile(r"(Figure|Table)~?\\ref\{([^{}]*)\}"), _numref),
    (re.compile(r"\\ref\{([^{}]*)\}"), lambda m: f"{{ref}}`{_target(m.group(1))}`"),
    (re.compile(r"\\label\{[^{}]*\}"), ""),
    (re.compile(r"\\(?:texttt|textsc)\{([^{}]*)\}"), r"`\1`"),
    (re.compile(r"\\(?:emph|textit)\{([^{}]*)\}"), r"*\1*"),
    (re.compile(r"\\textbf\{([^{}]*)\}"), r"**\1**"),
    (re.compile(r"\\textsuperscript\{([^{}]*)\}"), lambda m: m.group(1).translate(_SUPERSCRIPT)),
    (re.compile(r"\\ensuremath\{\\pm\}"), "±"),
    (re.compile(r"\\times(?![A-Za-z])"), "×"),  # outside mathematics, as in \ensuremath{4\times}
    (re.compile(r"``([^`']*)''"), "“\\1”"),
    (re.compile(r"---"), "—"),
    (re.compile(r"(?<![-!<])--(?![->])"), "–"),
    (re.compile(r"\\([%&_#])"), r"\1"),  # escaped characters
    (re.compile(r"\\,"), "\u2009"),
    (re.compile(r"\\ "), " "),
    (re.compile(r"~"), "\u00a0"),
    (re.compile(r"\{,\}"), ","),
)


def inline_markdown(text: str, numbers: Mapping[str, str] | None = None,
                    labels: Mapping[str, tuple[str, str]] | None = None) -> str:
    r"""A run of the paper's prose as MyST Markdown: number macros filled in, citations as (Author year),
    cross-references as Sphinx roles, mathematics between ``$`` kept for MathJax.

    >>> latex = r"The \emph{wave} rule \citep{j}, \texttt{04\_eikonal}: \pfX~s---see Figure~\ref{fig:a}."
    >>> inline_markdown(latex, {"pfX": "0.98"}, {"j": ("Jaeger", "2001")})
    'The *wave* rule (Jaeger 2001), `04_eikonal`: 0.98\xa0s—see {numref}`Figure %s <fig-a>`.'
    """
    numbers, labels = numbers or {}, labels or {}
    for _ in range(3):  # a macro's LaTeX may hold another macro
        text = re.sub(r"\\(pf[A-Za-z]+)(?:\{\})?", lambda m: numbers.get(m.group(1), "??"), text)
    text = re.sub(r"\\cite([pt]?)\{([^{}]*)\}", lambda m: _cite(m.group(2), labels, m.group(1) == "t"), text)
    pieces = re.split(r"((?<!\\)\$[^$]*\$)", text)
    out = []
    for k, piece in enumerate(pieces):
        if k % 2:  # mathematics: as written
            out.append(piece)
            continue
        for _ in range(2):  # nested markup
            for pattern, replacement in _INLINE:
                piece = pattern.sub(replacement, piece)
        # Any other command keeps its argument's text and loses its name.
        piece = re.sub(r"\\[A-Za-z]+\*?(?=\{)", "", piece)
        piece = re.sub(r"\\[A-Za-z]+\*?\s?", "", piece)
        piece = re.sub(r"\{(?!(?:num)?ref\})|(?<!\{numref)(?<!\{ref)\}", "", piece)  # a role's braces stay
        out.append(piece)
    return re.sub(r"[ \t\r\n]+", " ", "".join(out)).strip()


def markdown_table(table: Mapping, labels: Mapping[str, tuple[str, str]] | None = None) -> str:
    """A results table (caption, label, columns, rows) as a MyST ``table`` directive, cells formatted as in the PDF.

    >>> print(markdown_table({"caption": "Two rows.", "label": "tab:x", "columns": [
    ...     {"name": "Rule"}, {"name": "Acc. (%)", "format": ".1f"}], "rows": [["wave", 92.81], ["a|b", [97.0, 0.1]]]}))
    ```{table} Two rows.
    :name: tab-x
    <BLANKLINE>
    | Rule | Acc. (%) |
    | --- | --- |
    | wave | 92.8 |
    | a\\|b | $97.0 \\pm 0.1$ |
    ```
    """
    def cell(text: str) -> str:
        return inline_markdown(text, labels=labels).replace("|", "\\|") or " "

    columns = [c["name"] for c in table["columns"]]
    lines = [f"```{{table}} {inline_markdown(table['caption'].replace(chr(10), ' '), labels=labels)}",
             f":name: {_target(table['label'])}", "",
             "| " + " | ".join(cell(name.replace('%', r'\%')) for name in columns) + " |",
             "| " + " | ".join("---" for _ in columns) + " |"]
    for row in table["rows"]:
        lines.append("| " + " | ".join(cell(format_cell(v, c.get("format")))
                                       for v, c in zip(row, table["columns"], strict=True)) + " |")
    return "\n".join(lines + ["```"])


def _notebook_of(name: str, notebooks: list[str]) -> str | None:
    prefix = name[:3]
    return next((nb for nb in notebooks if re.fullmatch(r"\d\d_", prefix) and nb.startswith(prefix)), None)


def article_markdown(tex: str, *, numbers: Mapping[str, str], labels: Mapping[str, tuple[str, str]],
                     tables: Mapping[str, Mapping], figures: set[str], notebooks: list[str],
                     pdf: str | None = None) -> str:
    r"""The paper as one MyST Markdown page.

    Parameters
    ----------
    tex : str
        The paper's LaTeX source.
    numbers : mapping
        The ``\pf...`` macros' LaTeX (:func:`number_values` of the generated macro files).
    labels : mapping
        Citation labels (:func:`bib_labels`).
    tables : mapping
        The results tables by name (:func:`pixelflow.workbook.latex.collect_tables`).
    figures : set of str
        The figures that exist as ``figures/<name>.png`` beside the page.
    notebooks : list of str
        The notebook pages (stems), to link each figure and table to the notebook that made it.
    pdf : str, optional
        The PDF's file name under ``_static/``.
    """
    title = re.search(r"\\title\{(.*?)\}\s*\n", tex, re.S)
    heading = inline_markdown(title.group(1).replace(r"\\", " "), numbers, labels) if title else "The article"
    body = tex.split(r"\begin{document}", 1)[-1]
    body = re.split(r"\\bibliographystyle|\\end\{document\}", body)[0]
    body = re.sub(r"(?<!\\)%.*", "", body)  # comments
    lines = [f"# {heading}", ""]
    if pdf:
        lines += [f"*The same article as a PDF: [{pdf}](_static/{pdf}). Each figure and table below links to the "
                  "notebook that made it.*", ""]
    m = re.search(r"\\begin\{abstract\}(.*?)\\end\{abstract\}", body, re.S)
    if m:
        lines += ["**Abstract.** " + inline_markdown(m.group(1), numbers, labels), ""]
        body = body[:m.start()] + body[m.end():]

    def made_by(name):
        nb = _notebook_of(name, notebooks)
        return f"[notebook {nb}](notebooks/{nb}.ipynb)" if nb else "the paper's build, from several notebooks"

    prose: list[str] = []

    def flush():
        text = "".join(prose)
        prose.clear()
        for paragraph in re.split(r"\n\s*\n", text):
            md = inline_markdown(paragraph, numbers, labels)
            if md:
                lines.extend([md, ""])

    def table(name):
        if name in tables:
            lines.extend([markdown_table(tables[name], labels), f"*Made by {made_by(name)}.*", ""])
        else:
            lines.extend([f"*Table `{name}` is not in these results (run {made_by(name)}).*", ""])

    i = 0
    command = re.compile(r"\\(section|subsection|paragraph|pffigure|pftable|IfFileExists|input|maketitle|"
                         r"pfdraftnotice|nocite|FloatBarrier)\b\*?")
    while True:
        m = command.search(body, i)
        if m is None:
            prose.append(body[i:])
            break
        prose.append(body[i:m.start()])
        name, j = m.group(1), m.end()
        if name in ("maketitle", "pfdraftnotice", "FloatBarrier"):
            i = j
            continue
        if name == "nocite":
            i = _group(body, j)[1]
            continue
        if name == "IfFileExists":  # {generated/<name>.tex}{yes}{no}: inline text that depends on a table
            path, j = _group(body, j)
            yes, j = _group(body, j)
            no, j = _group(body, j)
            found = re.fullmatch(r"generated/(\w+)\.tex", path)
            body = body[:j] + (yes if found and found.group(1) in tables else no) + body[j:]
            i = j
            continue
        if name in ("section", "subsection", "paragraph"):
            text, j = _group(body, j)
            label = re.match(r"\s*\\label\{([^{}]*)\}", body[j:])
            if label:
                j += label.end()
            if name == "paragraph":
                flush()
                prose.append(f"**{text}** ")
            else:
                flush()
                if label:
                    lines.extend([f"({_target(label.group(1))})=", ""])
                lines.extend([("## " if name == "section" else "### ") + inline_markdown(text, numbers, labels), ""])
            i = j
            continue
        flush()
        if name == "pffigure":
            j = _optional(body, j)
            fig, j = _group(body, j)
            caption, j = _group(body, j)
            text = inline_markdown(caption, numbers, labels)
            if fig in figures:
                lines.extend([f"```{{figure}} figures/{fig}.png", f":name: fig-{fig}", ":width: 90%", "",
                              f"{text} *Made by {made_by(fig)}.*", "```", ""])
            else:
                lines.extend([f"*Figure `{fig}` has not been made at this scale (run {made_by(fig)}).*", ""])
        elif name == "pftable":
            tab, j = _group(body, j)
            table(tab)
        else:  # \input{generated/<name>.tex}: a generated table
            path, j = _group(body, j)
            found = re.fullmatch(r"generated/(\w+)\.tex", path)
            if found:
                table(found.group(1))
        i = j
    flush()
    return "\n".join(lines) + "\n"
