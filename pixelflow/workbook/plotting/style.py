"""How the workbook's figures look in print: one width, readable type, one colour per rule.

A figure is drawn in inches and its type in points, and the paper prints each figure at its own width
(``\\pffigure`` includes it at its natural size, never wider than the text). So a figure wider than the text
would be shrunk, and its 8-point labels with it: :func:`fit_to_text` narrows such a figure to
:data:`TEXT_WIDTH_IN` before it is saved, so that its type prints at the size it was set in. Every figure of
a rule takes its colour from :data:`RULE_COLORS`.
"""

from __future__ import annotations

#: The paper's text width: US letter (8.5 in) less two margins of 2.2 cm (``paper/pixelflow.tex``).
TEXT_WIDTH_IN = 8.5 - 2 * 2.2 / 2.54

#: The smallest type the figures use (tick labels, legends), in points.
SMALL_PT = 8

#: One fixed colour per rule (and for raw pixels), so a rule looks the same in every figure.
RULE_COLORS = {
    "raw": "#7f7f7f",
    "wave": "#1f77b4",
    "diffusion_reaction": "#2ca02c",
    "random_nca": "#d62728",
    "life_like": "#9467bd",
}

#: Colours for series that are not a rule (echo state networks, trained models), in order of appearance; none of
#: them is a rule's colour.
OTHER_COLORS = ("#ff7f0e", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#000080")


def series_colors(names) -> dict[str, str]:
    """A colour per series: its rule's own colour when the name is a rule or starts with one and a space
    (``"diffusion_reaction (best CA)"``), else the next of :data:`OTHER_COLORS`.

    >>> series_colors(["wave", "ESN", "random_nca (best CA)", "linear ESN"])
    {'wave': '#1f77b4', 'ESN': '#ff7f0e', 'random_nca (best CA)': '#d62728', 'linear ESN': '#8c564b'}
    """
    names = list(names)
    others = iter(OTHER_COLORS)
    colours = {}
    for name in names:
        rule = str(name).split(" ", 1)[0]
        if rule in RULE_COLORS:
            colours[name] = RULE_COLORS[rule]
        else:
            try:
                colours[name] = next(others)
            except StopIteration:
                raise ValueError(f"series_colors: more than {len(OTHER_COLORS)} series that are not rules "
                                 f"in {names}") from None
    return colours


def fit_to_text(fig) -> None:
    """Narrow ``fig`` to the text width when it is wider, keeping its height (in place).

    The type keeps its size in points, so the height is kept too: shrunk in proportion, the axes of a wide row of
    panels would leave no room for their labels. The layout engine (constrained or tight) places everything again
    at the new size.

    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(10.0, 4.0))
    >>> fit_to_text(fig)
    >>> [round(float(x), 2) for x in fig.get_size_inches()]
    [6.77, 4.0]
    """
    from matplotlib.layout_engine import PlaceHolderLayoutEngine

    width, height = fig.get_size_inches()
    if width > TEXT_WIDTH_IN:
        fig.set_size_inches(TEXT_WIDTH_IN, height)
        # Constrained layout places everything again when drawn; a figure laid out once by tight_layout (or not
        # at all) is laid out again here.
        if fig.get_layout_engine() is None or isinstance(fig.get_layout_engine(), PlaceHolderLayoutEngine):
            fig.tight_layout()
