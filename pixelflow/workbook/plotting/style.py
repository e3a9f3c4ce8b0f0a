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

#: The paper's text height (US letter, 11 in, less the same margins); a figure prints at most
#: :data:`MAX_HEIGHT_IN` tall (``\\pffigure`` shrinks a taller one, and its type with it).
TEXT_HEIGHT_IN = 11.0 - 2 * 2.2 / 2.54
MAX_HEIGHT_IN = 0.8 * TEXT_HEIGHT_IN

#: The smallest type the figures use (tick labels, legends), in points.
SMALL_PT = 8

class FigureLayoutWarning(UserWarning):
    """A figure prints some of its text over other text (:func:`overlapping_texts`)."""


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


def _drawn_texts(fig) -> list:
    """The texts ``fig`` draws with something to read: tick labels only of ticks inside their axis' view (an axis
    keeps labelled ticks beyond its limits that are never drawn), every other visible text as it is."""
    from matplotlib.text import Text

    tick_labels, drawn = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            pad = 1e-9 * max(1.0, abs(lo), abs(hi))
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update((id(tick.label1), id(tick.label2)))
                if lo - pad <= tick.get_loc() <= hi + pad and tick.get_visible():
                    drawn += [label for label in (tick.label1, tick.label2) if label.get_visible()]
    drawn += [t for t in fig.findobj(Text) if id(t) not in tick_labels and t.get_visible()]
    return [t for t in drawn if t.get_text().strip()]


def _corners(text, renderer):
    """The four corners (pixels) of ``text``'s box as printed, turned by its rotation."""
    import numpy as np

    box = text.get_window_extent(renderer)
    angle = text.get_rotation()
    if angle % 90 == 0:
        return np.array([[box.x0, box.y0], [box.x1, box.y0], [box.x1, box.y1], [box.x0, box.y1]])
    # The box of a turned text is the upright bounding box of the turned rectangle; the rectangle's own size is
    # the text's box at no rotation, and both boxes share their centre.
    text.set_rotation(0)
    try:
        upright = text.get_window_extent(renderer)
    finally:
        text.set_rotation(angle)
    half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [upright.width / 2, upright.height / 2]
    c, s = np.cos(np.radians(angle)), np.sin(np.radians(angle))
    return half @ np.array([[c, s], [-s, c]]) + [(box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2]


def _overlap(a, b, margin: float) -> bool:
    """Whether two convex quadrilaterals overlap by more than ``margin`` pixels (separating axes)."""
    import numpy as np

    for quad in (a, b):
        for i in range(4):
            edge = quad[(i + 1) % 4] - quad[i]
            normal = np.array([-edge[1], edge[0]]) / (np.hypot(*edge) or 1.0)
            pa, pb = a @ normal, b @ normal
            if min(pa.max(), pb.max()) - max(pa.min(), pb.min()) <= margin:
                return False
    return True


def overlapping_texts(fig, margin: float = 1.0) -> list[tuple[str, str]]:
    """Pairs of texts that ``fig`` prints on top of each other: titles, tick labels, annotations, legend entries.

    The figure is drawn first, so its layout engine has placed everything. Rotated tick labels are compared as
    the turned rectangles they are, not their upright bounding boxes, which overlap for neighbours that do not.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    margin : float
        How far (pixels at the figure's dpi) two boxes must reach into each other to count.

    Returns
    -------
    list of (str, str)
        The two texts of each overlapping pair, in drawing order.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fig = Figure(figsize=(2.0, 1.0))
    >>> ax = fig.subplots()
    >>> _ = ax.text(0.1, 0.5, "first label"), ax.text(0.15, 0.5, "second label")
    >>> overlapping_texts(fig)
    [('first label', 'second label')]
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    fig.draw(renderer)
    texts = _drawn_texts(fig)
    quads = [_corners(t, renderer) for t in texts]
    return [(texts[i].get_text(), texts[j].get_text())
            for i in range(len(texts)) for j in range(i + 1, len(texts)) if _overlap(quads[i], quads[j], margin)]
