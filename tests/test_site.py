"""The website: the article converted from the paper's LaTeX, and every page checked in a real browser."""

import shutil
from pathlib import Path

import pytest

from pixelflow.workbook.article_markdown import article_markdown, bib_labels, inline_markdown, markdown_table

ROOT = Path(__file__).resolve().parent.parent

TEX = r"""\documentclass{article}
\title{A test,\\ of the converter}
\begin{document}
\maketitle
\begin{abstract}
We reach \pfAcc\,\% on MNIST \citep{a}.
\end{abstract}
\section{Results}\label{sec:results}
The rule reads $H \times W$ cells % a comment that must go
(Figure~\ref{fig:01_x}, Table~\ref{tab:01_t}); \citet{b} did it first---with \emph{less}.

\paragraph{Speed.} See Section~\ref{sec:results}\IfFileExists{generated/profile.tex}{, and the profile}{}.
\pffigure[0.5\linewidth]{01_x}{Accuracy of \texttt{random\_nca} against steps.}
\pffigure{02_missing}{Not made.}
\pftable{01_t}
\bibliographystyle{plainnat}
\end{document}
"""
TABLE = {"caption": "Peer numbers.", "label": "tab:01_t",
         "columns": [{"name": "Method"}, {"name": "Acc.", "format": ".2f"}], "rows": [["wave (pixelflow-rc)", 92.805]]}
MADE_BY = "*Made by [notebook 01_mnist](notebooks/01_mnist.ipynb).*"


def test_the_article_keeps_text_numbers_citations_figures_and_tables():
    labels = {"a": ("Jaeger", "2001"), "b": ("Maass et al.", "2002")}
    md = article_markdown(TEX, numbers={"pfAcc": "98.76"}, labels=labels, tables={"01_t": TABLE}, figures={"01_x"},
                          notebooks=["01_mnist"], pdf="paper.pdf")
    lines = md.splitlines()
    assert lines[0] == "# A test, of the converter"
    assert "**Abstract.** We reach 98.76\u2009% on MNIST (Jaeger 2001)." in lines
    assert lines.index("(sec-results)=") + 2 == lines.index("## Results")  # a target for \ref{sec:results}
    assert ("The rule reads $H \\times W$ cells ({numref}`Figure %s <fig-01_x>`, {numref}`Table %s <tab-01_t>`); "
            "Maass et al. (2002) did it first—with *less*.") in lines
    assert "comment" not in md and "maketitle" not in md and "plainnat" not in md
    # No profile table in these results: the conditional text is left out.
    assert "**Speed.** See Section\xa0{ref}`sec-results`." in lines  # ~ is a non-breaking space
    fig = lines.index("```{figure} figures/01_x.png")
    assert lines[fig + 1:fig + 6] == [":name: fig-01_x", ":width: 90%", "",
                                      "Accuracy of `random_nca` against steps. " + MADE_BY,
                                      "```"]
    assert ("*Figure `02_missing` has not been made at this scale (run the paper's build, from several "
            "notebooks).*") in lines
    assert "| wave (pixelflow-rc) | 92.81 |" in lines and ":name: tab-01_t" in lines
    assert md.count(MADE_BY) == 2  # the figure and the table


def test_inline_conversion_of_what_the_paper_writes():
    latex = r"``fit rows'' -- 4{,}660 \ensuremath{\pm} 3 nca\textsuperscript{2}"
    assert inline_markdown(latex) == "“fit rows” – 4,660 ± 3 nca²"
    assert inline_markdown(r"$\sigma = 1.5$ cells, $50\%$") == r"$\sigma = 1.5$ cells, $50\%$"  # mathematics untouched
    assert inline_markdown(r"\pfUnknown{} points") == "?? points"  # as the PDF prints a missing number
    assert inline_markdown(r"\citep{x,y}", labels={"x": ("A", "2001")}) == "(A 2001; y)"
    # A number macro may hold LaTeX of its own: a grid factor keeps its sign, a reference becomes a role.
    factors = {"pfAt": r"at \ensuremath{2\times} and \ensuremath{4\times}", "pfSee": r"Table~\ref{tab:x}"}
    assert inline_markdown(r"closest \pfAt{} ($8\times$, \pfSee)", factors) == (
        "closest at 2× and 4× ($8\\times$, {numref}`Table %s <tab-x>`)")


def test_bib_labels_name_one_two_or_many_authors():
    bib = (ROOT / "paper" / "references.bib").read_text(encoding="utf-8")
    labels = bib_labels(bib)
    assert labels["jaeger2001echo"] == ("Jaeger", "2001")
    assert labels["lukosevicius2009reservoir"] == ("Lukoševičius and Jaeger", "2009")
    assert labels["maass2002realtime"] == ("Maass et al.", "2002")


def test_a_table_cell_with_a_bar_does_not_split_the_row():
    md = markdown_table({**TABLE, "rows": [["a|b", [97.0, 0.1]]]})
    assert "| a\\|b | $97.00 \\pm 0.10$ |" in md.splitlines()


def _chromium():
    if shutil.which("chromium") is None or shutil.which("chromedriver") is None:
        pytest.skip("needs Debian's chromium and chromium-driver (make test installs them)")
    pytest.importorskip("selenium")


def test_the_page_check_catches_each_kind_of_defect(tmp_path):
    _chromium()
    from pixelflow.workbook.site import check_pages

    (tmp_path / "index.html").write_text(
        '<html><head><link rel="icon" href="data:,"></head><body><a href="other.html">ok</a>'
        '<a href="gone.html">broken</a><img src="missing.png">'
        '<script>throw new Error("boom")</script></body></html>')
    (tmp_path / "other.html").write_text('<html><head><link rel="icon" href="data:,"></head>'
                                         '<body><span class="math">\\(x\\)</span></body></html>')
    problems = check_pages(tmp_path, screenshots=tmp_path / "shots")
    assert any("index.html: link gone.html leads to nothing" == p for p in problems)
    assert any(p.startswith("index.html: image missing.png did not load") for p in problems)
    assert any("index.html: console error" in p and "boom" in p for p in problems)
    assert "other.html: 1 formula(s) not typeset" in problems
    assert not any("other.html" in p and "link" in p for p in problems)
    assert sorted(p.name for p in (tmp_path / "shots").iterdir()) == ["index.png", "other.png"]


def test_the_site_of_the_committed_paper_results_has_no_defect(tmp_path):
    _chromium()
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    from pixelflow.workbook.site import build_site, check_pages

    site = build_site("paper", tmp_path / "site")
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    assert {"index.html", "article.html", "notebooks/01_mnist.html", "notebooks/11_scale_out.html"} <= pages
    article = (site / "article.html").read_text(encoding="utf-8")
    # Every figure of the article links to the notebook that made it.
    assert article.count("Made by") >= 40 and 'href="notebooks/04_eikonal.html"' in article
    assert check_pages(site, tmp_path / "shots") == []
