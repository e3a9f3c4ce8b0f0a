r"""The numbers the paper's prose quotes, as LaTeX macros generated from the results files.

The tables are generated (:mod:`pixelflow.workbook.latex`), and so is every
number in the text: :func:`number_macros` turns the notebooks' results
records into ``numbers.tex``, one ``\newcommand`` per number the prose quotes
(data sizes, accuracies, errors, ratios), named ``\pf...`` in letters only and
formatted as the paper prints it (``14{,}000``, ``98.21``), plus one per
published number of other work (:mod:`pixelflow.workbook.peers`).

A number whose results file, key or value is missing is never guessed: its
macro prints a bold ``??`` and :attr:`NumberMacros.missing` says which and why,
so a build from fewer results (the smoke scale) still compiles and shows what
it lacks.

``python -m pixelflow.workbook.numbers results/paper paper/generated`` writes
``numbers.tex`` on its own.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from pixelflow.atomic import write_atomic
from pixelflow.workbook.peers import check_peer, load_peers
from pixelflow.workbook.tex_escape import escape

__all__ = ["MISSING_MARK", "NUMBERS", "NumberMacros", "format_count", "format_fixed", "format_tally", "number_macros",
           "read_records", "write_numbers"]

#: What a macro prints when its number could not be read.
MISSING_MARK = r"\textbf{??}"

#: The published numbers of other work, with their sources.



class NumberMacros(NamedTuple):
    """What :func:`number_macros` returns.

    Attributes
    ----------
    text : str
        The LaTeX file: one ``\\newcommand`` per number.
    missing : list of str
        One line per number that could not be read (its macro prints
        :data:`MISSING_MARK`): the macro, the notebook and why.
    """

    text: str
    missing: list[str]


class _Absent(LookupError):
    """A number's results file, key or value is not there; the message says which."""


# ---------------------------------------------------------------- formatting


def format_count(n: int) -> str:
    """A whole number as the paper prints it, thousands separated by ``{,}``.

    Examples
    --------
    >>> format_count(14000), format_count(846), format_count(1234567)
    ('14{,}000', '846', '1{,}234{,}567')
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"format_count: n must be an int, got {n!r} ({type(n).__name__})")
    return f"{n:,}".replace(",", "{,}")


_SMALL_WORDS = ("none", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def format_tally(n: int) -> str:
    """How many of a few things, as the prose says it: in words below ten (``"none"`` for zero, so that "on
    none of the three data sets" reads as English), in figures from ten on.

    Examples
    --------
    >>> format_tally(0), format_tally(3), format_tally(12)
    ('none', 'three', '12')
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"format_tally: n must be an int >= 0, got {n!r}")
    return _SMALL_WORDS[n] if n < len(_SMALL_WORDS) else format_count(n)


def format_fixed(x: float, decimals: int) -> str:
    """``x`` with ``decimals`` digits after the point, as the paper prints it.

    Examples
    --------
    >>> format_fixed(98.20667, 2), format_fixed(0.3871, 3), format_fixed(4.34, 1)
    ('98.21', '0.387', '4.3')
    """
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"format_fixed: x must be a finite number, got {x!r}")
    if isinstance(decimals, bool) or not isinstance(decimals, int) or decimals < 0:
        raise ValueError(f"format_fixed: decimals must be an int >= 0, got {decimals!r}")
    return f"{x:.{decimals}f}"


def _short_count(n: int) -> str:
    """``14000`` as ``14k`` (how split names say it); other numbers as :func:`format_count`."""
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else format_count(n)


# ---------------------------------------------------------------- reading a record


def _where(path) -> str:
    return "/".join(map(str, path))


def _at(record, *path):
    """``record[path[0]][path[1]]...``; a missing key or index raises :class:`_Absent` naming it."""
    node = record
    for i, key in enumerate(path):
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and -len(node) <= key < len(node):
            node = node[key]
        elif i and not isinstance(node, (Mapping, list)):
            raise _Absent(f"{_where(path[:i])} is {node!r}, which has no {key!r}")
        else:
            raise _Absent(f"no {_where(path[:i + 1])}")
    return node


def _real(value, path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _Absent(f"{_where(path)} is {value!r}, not a finite number")
    return float(value)


def _whole(value, path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Absent(f"{_where(path)} is {value!r}, not a whole number")
    return value


def _column_indices(record, table: str, *names: str) -> list[int]:
    """The positions of ``names`` among a results table's columns; a missing column raises :class:`_Absent`."""
    path = ("tables", table)
    columns = [c.get("name") if isinstance(c, Mapping) else None for c in _at(record, *path, "columns")]
    for name in names:
        if name not in columns:
            raise _Absent(f"no column {name!r} in {_where(path)}")
    return [columns.index(name) for name in names]


def _table_cell(record, table: str, row_label: str, column: str):
    """The cell of a results table in the row whose first cell is ``row_label``."""
    path = ("tables", table)
    columns, rows = _at(record, *path, "columns"), _at(record, *path, "rows")
    if not isinstance(columns, list) or not isinstance(rows, list):
        raise _Absent(f"{_where(path)} has no list of columns and rows")
    columns = [c.get("name") if isinstance(c, Mapping) else None for c in columns]
    if column not in columns:
        raise _Absent(f"no column {column!r} in {_where(path)}")
    j = columns.index(column)
    for row in rows:
        if isinstance(row, list) and len(row) == len(columns) and row[0] == row_label:
            return row[j]
    raise _Absent(f"no row {row_label!r} in {_where(path)}")


# ---------------------------------------------------------------- what the prose quotes

Reader = Callable[[Mapping], str]


def _count(*path) -> Reader:
    return lambda r: format_count(_whole(_at(r, *path), path))


def _short(*path) -> Reader:
    return lambda r: _short_count(_whole(_at(r, *path), path))


def _fixed(decimals: int, *path, factor: float = 1.0) -> Reader:
    return lambda r: format_fixed(factor * _real(_at(r, *path), path), decimals)


def _table_count(table: str, row: str, column: str) -> Reader:
    where = ("tables", table, row, column)
    return lambda r: format_count(_whole(_table_cell(r, table, row, column), where))


def _table_ratio(decimals: int, table: str, column: str, numerator: str, denominator: str,
                 factor: float = 1.0) -> Reader:
    """The ratio of two rows' cells in one column (times ``factor``: 100 for a percentage)."""
    def read(r):
        num = _real(_table_cell(r, table, numerator, column), ("tables", table, numerator, column))
        den = _real(_table_cell(r, table, denominator, column), ("tables", table, denominator, column))
        if den == 0:
            raise _Absent(f"tables/{table}/{denominator}/{column} is 0, the ratio is undefined")
        return format_fixed(factor * num / den, decimals)
    return read


def _table_fixed(decimals: int, table: str, row: str, column: str, sign: float = 1.0) -> Reader:
    """A table cell as a fixed-point number; ``sign=-1`` states a negative difference as a gap."""
    where = ("tables", table, row, column)
    return lambda r: format_fixed(sign * _real(_table_cell(r, table, row, column), where), decimals)


def _table_mean(decimals: int, table: str, row: str, column: str) -> Reader:
    """The mean of a ``[mean, s.d.]`` table cell (or the cell itself when it is one number)."""
    where = ("tables", table, row, column)

    def read(r):
        cell = _table_cell(r, table, row, column)
        return format_fixed(_real(cell[0] if isinstance(cell, list) and cell else cell, where), decimals)
    return read


def _table_p(table: str, row: str, column: str) -> Reader:
    """A p-value cell with two significant digits, as the tables print it."""
    where = ("tables", table, row, column)
    return lambda r: f"{_real(_table_cell(r, table, row, column), where):.2g}"


def _preset_whole(r, *keys: str) -> int:
    """A whole-number parameter of the run's scale, ``presets[<scale>][key]`` (or ``[key][sub]``...)."""
    path = ("presets", _at(r, "scale"), *keys)
    return _whole(_at(r, *path), path)


def _preset(*keys: str, count=format_count) -> Reader:
    """A parameter of the run's scale, ``presets[<scale>][key]`` (nested knobs: ``presets[<scale>][key][sub]``)."""
    return lambda r: count(_preset_whole(r, *keys))


def _preset_length(key: str) -> Reader:
    def read(r):
        path = ("presets", _at(r, "scale"), key)
        value = _at(r, *path)
        if not isinstance(value, list) or not value:
            raise _Absent(f"{_where(path)} is {value!r}, not a non-empty list")
        return format_count(len(value))
    return read


def _mean_sd(decimals: int, *path) -> Reader:
    """``mean ± s.d.`` of a ``{"mean", "sd"}`` entry."""
    def read(r):
        entry = _at(r, *path)
        mean, sd = (_real(_at(entry, k), (*path, k)) for k in ("mean", "sd"))
        return rf"{format_fixed(mean, decimals)}\ensuremath{{\pm}}{format_fixed(sd, decimals)}"
    return read


_LOSS_NAMES = {"gram": "Gram", "sliced_wasserstein": "sliced Wasserstein"}


def _loss_name(*path) -> Reader:
    """The name of a texture loss as the prose writes it."""
    def read(r):
        value = _at(r, *path)
        if value not in _LOSS_NAMES:
            raise _Absent(f"{_where(path)} is {value!r}, not one of {', '.join(_LOSS_NAMES)}")
        return _LOSS_NAMES[value]
    return read


def _subset_note(r) -> str:
    """Empty when the run used the whole split; else a sentence giving the subset it used."""
    used = [_whole(_at(r, "data", 0, k), ("data", 0, k)) for k in ("n_train", "n_test")]
    whole = [_whole(_at(r, "data", 0, k), ("data", 0, k)) for k in ("n_train_available", "n_test_available")]
    if used == whole:
        return ""
    seed = _at(r, "data", 0).get("subset_seed")
    seeded = f" (seed {seed})" if isinstance(seed, int) and not isinstance(seed, bool) else ""
    return (f" This build uses a subset of {format_count(used[0])} training and {format_count(used[1])} "
            f"test images{seeded}.")


_TEXTURE_NAMES = {"gray_scott": "Gray--Scott", "gravel": "gravel"}  # 06's and 08's textures, as prose names them


def _chosen_loss_ps(texture: str) -> Reader:
    """``mean ± s.d.`` over seeds of 06's PS distance for ``texture`` with the loss validation chose."""
    def read(r):
        path = ("metrics", texture, "chosen_loss")
        loss = _at(r, *path)
        if not isinstance(loss, str):
            raise _Absent(f"{_where(path)} is {loss!r}, not the name of a loss")
        return _mean_sd(2, "metrics", texture, "by_loss", loss, "PS")(r)
    return read


_TEXTURE_METRIC = "06_texture_nca_metric"


def _gram_below_pieces(r) -> str:
    """Of 06's two-metric table, the textures whose held-out Gram distance puts the NCA (step 384) below
    independent pieces of the texture, as the sentence that says what that means for the Gram score."""
    path = ("tables", _TEXTURE_METRIC)
    target, images, gram = _column_indices(r, _TEXTURE_METRIC, "Target", "Images", "Held-out Gram distance")
    means: dict[str, dict[str, float]] = {}
    for row in _at(r, *path, "rows"):
        cell = row[gram]
        value = cell[0] if isinstance(cell, list) and cell else cell
        means.setdefault(row[target], {})[row[images]] = _real(value, (*path, row[target], row[images]))
    below, textures = [], []
    for texture, by_images in means.items():
        if "NCA, step 384" not in by_images or "independent pieces" not in by_images:
            raise _Absent(f"{_where(path)} has no 'NCA, step 384' and 'independent pieces' rows for {texture!r}")
        textures.append(texture)
        if by_images["NCA, step 384"] < by_images["independent pieces"]:
            below.append(texture)
    if not below:
        return ("The Gram score places the NCA's output above independent pieces of its target for every texture, as a "
                "texture metric should.")
    where = "for both textures" if len(below) == len(textures) == 2 else f"for the {escape(_and_list(below))}"
    return (f"The Gram score places the NCA's output below independent pieces of its own target {where}: it rewards "
            r"closeness to the training image, and its low values in Table~\ref{tab:06_texture_nca} do not show that "
            "the textures were reproduced.")


def _texture_ratios(r) -> list[float]:
    """06's PS distance of every trained texture model (each texture, loss and seed) over that of another piece
    of its texture (which scores about 1)."""
    ratios = []
    for texture in _TEXTURE_NAMES:
        path = ("metrics", texture)
        pieces = _real(_at(r, *path, "pieces_ps"), (*path, "pieces_ps"))
        if pieces <= 0:
            raise _Absent(f"{_where((*path, 'pieces_ps'))} is {pieces!r}, not a positive distance")
        by_loss = _at(r, *path, "by_loss")
        if not isinstance(by_loss, Mapping) or not by_loss:
            raise _Absent(f"{_where((*path, 'by_loss'))} is not a mapping of loss to scores")
        for loss in by_loss:
            where = (*path, "by_loss", loss, "PS", "seeds")
            values = _at(r, *where)
            if not isinstance(values, list) or not values:
                raise _Absent(f"{_where(where)} is {values!r}, not a non-empty list")
            ratios += [_real(v, where) / pieces for v in values]
    return ratios


def _texture_versus_pieces(form: str) -> Reader:
    """Whether every texture model of 06 (each texture, loss and seed) stays further from its texture, by the PS
    distance, than another piece of the texture: as a clause (``form="clause"``) or as a predicate after "The
    texture NCAs" (``"short"``)."""
    def read(r):
        ratios = _texture_ratios(r)
        n, closer = format_count(len(ratios)), format_count(sum(ratio <= 1 for ratio in ratios))
        if form == "short":
            if closer == "0":
                return "stay further from their textures than another piece of the texture"
            return f"come as close to their texture as another piece of it in {closer} of {n} models"
        if closer == "0":
            return (f"neither loss makes the rules reproduce their textures at this budget: every one of the {n} "
                    f"models stays further from its texture than another piece of it, the closest at "
                    f"{format_fixed(min(ratios), 1)} times the pieces' distance")
        return f"{closer} of the {n} models come as close to their texture as another piece of it"
    return read


def _texture_loss_overlap(r) -> str:
    """For which textures of 06 the two losses' ranges of one s.d. about the mean PS distance overlap."""
    overlapping = []
    for texture in _TEXTURE_NAMES:
        path = ("metrics", texture, "by_loss")
        by_loss = _at(r, *path)
        if not isinstance(by_loss, Mapping) or len(by_loss) != 2:
            raise _Absent(f"{_where(path)} is not a mapping of two losses to scores")
        (mean_a, sd_a), (mean_b, sd_b) = ([_real(_at(r, *path, loss, "PS", k), (*path, loss, "PS", k))
                                           for k in ("mean", "sd")] for loss in by_loss)
        if abs(mean_a - mean_b) < sd_a + sd_b:
            overlapping.append(texture)
    if len(overlapping) == len(_TEXTURE_NAMES):
        return "overlap for both textures"
    if not overlapping:
        return "overlap for neither texture"
    return f"overlap for {_TEXTURE_NAMES[overlapping[0]]} only"


def _factor_list(factors: Sequence[int]) -> str:
    r"""Grid factors as prose lists them: ``\ensuremath{2\times} and \ensuremath{4\times}``."""
    return _and_list([rf"\ensuremath{{{k}\times}}" for k in factors])


_RESCALED = re.compile(r"\S+ (\d+)x rescaled(?: perception|, dt=1/k)")


def _diverged_factors(r) -> str:
    """The grid factors at which a rescaled rule with the random fire mask diverged, e.g. ``4×``."""
    metrics = _at(r, "metrics")
    runs = {key: value for key, value in metrics.items() if _RESCALED.fullmatch(key)} if isinstance(
        metrics, Mapping) else {}
    if not runs:
        raise _Absent("no rescaled-perception runs ('<texture> <k>x rescaled perception') in metrics")
    factors = sorted({int(_RESCALED.fullmatch(key)[1]) for key, value in runs.items() if value == "diverged"})
    if not factors:
        return "none of the tested factors"
    return _factor_list(factors)


_SCORED = re.compile(r"(?P<texture>\S+) (?P<k>\d+)x (?P<method>.+)")
_DECODED = "decoded NCA"


def _finer_scores(r, measure: str) -> dict[str, dict[int, dict[str, float]]]:
    """08's runs at a grid finer than training that have a finite ``measure``:
    ``{texture: {factor: {method: value}}}``; diverged runs and unscored ones (no truth there) are left out."""
    metrics = _at(r, "metrics")
    if not isinstance(metrics, Mapping):
        raise _Absent("metrics is not a mapping")
    out: dict[str, dict[int, dict[str, float]]] = {}
    for key, value in metrics.items():
        match = _SCORED.fullmatch(key)
        if not match or int(match["k"]) < 2 or not isinstance(value, Mapping):
            continue
        score = value.get(measure)
        if isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score):
            out.setdefault(match["texture"], {}).setdefault(int(match["k"]), {})[match["method"]] = float(score)
    return out


def _decoded_factors(r, measure: str, texture: str, against: str | None = None) -> tuple[list[int], list[int]]:
    """Of the finer grids where 08's decoded NCA was scored by ``measure`` beside another method (or beside
    ``against``): all of them, and those where the decoded NCA is strictly the closest (or ``against`` is
    strictly closer than it)."""
    by_factor = _finer_scores(r, measure).get(texture, {})
    scored, wins = [], []
    for k in sorted(by_factor):
        scores = by_factor[k]
        others = [v for m, v in scores.items() if m != _DECODED and (against is None or m == against)]
        if _DECODED not in scores or not others:
            continue
        scored.append(k)
        if (scores[_DECODED] < min(others)) if against is None else (others[0] < scores[_DECODED]):
            wins.append(k)
    if not scored:
        rival = f"'{texture} <k>x {against}'" if against else "another method"
        raise _Absent(f"no '{texture} <k>x {_DECODED}' run with a {measure} beside {rival} at k >= 2")
    return scored, wins


def _decoded_closest_everywhere(measure: str) -> Reader:
    """Where 08's decoded NCA is the closest of all methods by ``measure``, for both textures, as a phrase after
    "closest to the truth": every finer resolution, or the factors texture by texture."""
    def read(r):
        parts, everywhere = [], True
        for texture, name in _TEXTURE_NAMES.items():
            scored, wins = _decoded_factors(r, measure, texture)
            everywhere &= wins == scored
            if wins:
                parts.append(f"at {_factor_list(wins)} for {name}")
        if everywhere:
            return "at every finer resolution for both textures"
        return " and ".join(parts) if parts else "at no finer resolution"
    return read


def _decoded_factors_phrase(measure: str, texture: str, against: str | None = None) -> Reader:
    """The finer grids at which 08's decoded NCA is the closest by ``measure`` (or ``against`` is closer than it),
    as a phrase: ``at 2× and 4×`` or ``at no finer resolution``."""
    def read(r):
        _, wins = _decoded_factors(r, measure, texture, against)
        return f"at {_factor_list(wins)}" if wins else "at no finer resolution"
    return read


_FAMILIES = "04_eikonal_families"


def _family_mean(row: str) -> Reader:
    return _table_mean(3, _FAMILIES, row, "Mean (± s.d. over draws)")


def _largest_family_mean(r) -> str:
    """The largest mean relative error of 04's families of media, scored over the cells a path can use (the
    ``(all cells)`` row of a family with obstacles left out)."""
    column = "Mean (± s.d. over draws)"
    rows = _at(r, "tables", _FAMILIES, "rows")
    if not isinstance(rows, list) or not rows:
        raise _Absent(f"tables/{_FAMILIES}/rows is not a non-empty list")
    means = [_table_mean(3, _FAMILIES, row[0], column)(r) for row in rows
             if isinstance(row, list) and row and not str(row[0]).endswith("(all cells)")]
    return max(means, key=float)


def _solve_seconds(what: str, at: int) -> Reader:
    """From the timing of one solve per grid size: the grid side (``"grid"``), the wave's seconds (``"wave"``), fast
    marching's (``"fmm"``) or their ratio (``"ratio"``), at position ``at`` of the sizes (0: smallest, -1: largest)."""
    path = ("metrics", "solve seconds")

    def read(r):
        sizes, wave, fmm = (_at(r, *path, key) for key in ("sizes", "wave reservoir", "fast marching"))
        if not (isinstance(sizes, list) and isinstance(wave, list) and isinstance(fmm, list)
                and len(sizes) == len(wave) == len(fmm) > 0):
            raise _Absent(f"{_where(path)} does not hold one time per grid size")
        if what == "grid":
            return format_count(_whole(sizes[at], path + ("sizes", at)))
        w, f = _real(wave[at], path + ("wave reservoir", at)), _real(fmm[at], path + ("fast marching", at))
        if what == "ratio":
            return format_fixed(w / f, 0)
        return format_fixed(w if what == "wave" else f, 1 if what == "wave" else 3)
    return read


def _best_learned(what: str) -> Reader:
    """Of the learned reservoirs (every ``metrics/summary`` entry but ``fixed``), the most accurate one's test
    accuracy (``"accuracy"``, %), its gain over the fixed reservoir (``"gain"``, points) or its cost over the fixed
    one's (``"cost"``, a ratio)."""
    path = ("metrics", "summary")

    def read(r):
        summary = _at(r, *path)
        if not isinstance(summary, Mapping) or "fixed" not in summary or len(summary) < 2:
            raise _Absent(f"{_where(path)} has no fixed and learned reservoirs")
        acc = {name: _real(_at(entry, "test_accuracy_mean"), (*path, name, "test_accuracy_mean"))
               for name, entry in summary.items()}
        best = max((name for name in summary if name != "fixed"), key=acc.__getitem__)
        if what == "accuracy":
            return format_fixed(100.0 * acc[best], 2)
        if what == "gain":
            return format_fixed(100.0 * (acc[best] - acc["fixed"]), 2)
        cost = [_real(_at(summary, name, "cost_s_mean"), (*path, name, "cost_s_mean")) for name in (best, "fixed")]
        if cost[1] <= 0:
            raise _Absent(f"{_where(path)}/fixed/cost_s_mean is {cost[1]}, the ratio is undefined")
        return format_fixed(cost[0] / cost[1], 1)
    return read


def _verdict_entry(name_start: str, what: str) -> Reader:
    """A model of the fixed-versus-learned verdict (the first whose name starts with ``name_start``): its mean test
    accuracy (``"accuracy"``, %) or trainable weights (``"params"``)."""
    path = ("metrics", "verdict", "entries")

    def read(r):
        entries = _at(r, *path)
        if not isinstance(entries, list):
            raise _Absent(f"{_where(path)} is not a list")
        for i, entry in enumerate(entries):
            if isinstance(entry, Mapping) and str(entry.get("name", "")).startswith(name_start):
                if what == "params":
                    return format_count(_whole(_at(entry, "params"), (*path, i, "params")))
                scores = _at(entry, "test_accuracy")
                if not isinstance(scores, list) or not scores:
                    raise _Absent(f"{_where((*path, i, 'test_accuracy'))} is not a list of accuracies")
                return format_fixed(100.0 * sum(_real(v, (*path, i)) for v in scores) / len(scores), 2)
        raise _Absent(f"no entry of {_where(path)} named {name_start}...")
    return read


def _user_rules(what: str) -> Reader:
    """Of the users' rules timed by the backend suite (05's ``metrics/user_rules``): the largest time of the compiled
    kernel over the hand-fused one (``"worst"``), whether the compiled kernel is slower than the hand-fused one
    for none, some or all of the rules (``"versus"``, a phrase that a sentence follows with the hand-fused kernel),
    or the smallest and largest time of the rule function over the compiled kernel (``"function low"``,
    ``"function high"``)."""
    path = ("metrics", "user_rules")

    def read(r):
        rows = _at(r, *path)
        if not isinstance(rows, list) or not rows:
            raise _Absent(f"{_where(path)} is not a list of timed rules")
        ratios = []
        for i, row in enumerate(rows):
            t = {k: _real(_at(row, "seconds", k), (*path, i, "seconds", k)) for k in ("compiled", "hand", "function")}
            if min(t.values()) <= 0:
                raise _Absent(f"{_where((*path, i, 'seconds'))} holds a time that is not positive")
            ratios.append((t["compiled"] / t["hand"], t["function"] / t["compiled"]))
        if what == "worst":
            return format_fixed(max(a for a, _ in ratios), 2)
        if what == "versus":
            slower = sum(a > 1.0 for a, _ in ratios)
            return ("is no slower than" if slower == 0 else "is slower than" if slower == len(ratios)
                    else "is sometimes slower than")
        pick = min if what == "function low" else max
        return format_fixed(pick(b for _, b in ratios), 1)
    return read


def _peer_rate(r, implementation: str) -> float:
    """05's median samples per second of ``implementation`` in the peer benchmark (``bench_peer_mnist.json``)."""
    path = ("metrics", f"samples_per_s {implementation} cpu (bench_peer_mnist.json)")
    rate = _real(_at(r, *path), path)
    if rate <= 0:
        raise _Absent(f"{_where(path)} is not positive")
    return rate


def _speed_rate(where: str, rule: str, grid: int, backend: str = "cpu") -> Reader:
    """Samples per second of ``rule`` on a ``grid``² grid at the largest batch of 05's backend suite
    (``where="suite"``) or of its scaling sweep (``"sweep"``), as a whole number."""
    path = ("metrics", where)

    def read(r):
        rows = _at(r, *path)
        if not isinstance(rows, list):
            raise _Absent(f"{_where(path)} is not a list of rows")
        hits = [row for row in rows if isinstance(row, Mapping) and row.get("rule") == rule
                and row.get("grid") == grid and row.get("backend") == backend]
        if not hits:
            raise _Absent(f"{_where(path)} has no {rule} row on a {grid}x{grid} grid on {backend}")
        row = max(hits, key=lambda h: h.get("batch", 0))
        return format_count(round(_real(row.get("samples_per_s"), (*path, rule, grid, "samples_per_s"))))
    return read


_IMAGE_SETS = ("01_mnist", "02_fashion_mnist", "03_cifar10")  # each with a "<notebook>_comparisons" table


def _paired(r, table: str, row: str) -> tuple[bool, float]:
    """Of a paired comparison table's ``row``: whether the difference is significant (its "Significant" column,
    Holm-adjusted) and the difference in points."""
    where = ("tables", table, row)
    significant = _table_cell(r, table, row, "Significant")
    if significant not in ("yes", "no"):
        raise _Absent(f"{_where((*where, 'Significant'))} is {significant!r}, not yes or no")
    return significant == "yes", _real(_table_cell(r, table, row, "Difference (pp)"), (*where, "Difference (pp)"))


def _significant_count(row: str, direction: int) -> Callable[..., str]:
    """Of the image notebooks' comparison tables (the selected design, paired image by image against every other
    method), on how many the design is significantly more (``direction=1``) or less (``-1``) accurate than
    ``row``: Holm-adjusted, as the table's "Significant" column says."""
    def read(*records):
        hits = 0
        for notebook, r in zip(_IMAGE_SETS, records, strict=True):
            significant, difference = _paired(r, f"{notebook}_comparisons", row)
            hits += significant and difference * direction > 0
        return format_tally(hits)
    return read


_PEER_TABLE, _PEER_GAP_TABLE = "01_mnist_peer", "01_mnist_peer_gap"
_PUBLISHED = "pixelflow-rc, 60k/10k (%)"  # 01's column of the peer's published numbers


def _peer_shortfall(row: str) -> Reader:
    """How far 01's run of a ``pixelflow-rc`` configuration on our split is from the peer's published number,
    as prose: ``6.2 points below`` (or above)."""
    def read(r):
        ours, published = (_real(_table_cell(r, _PEER_TABLE, row, c), ("tables", _PEER_TABLE, row, c))
                           for c in ("Test acc. (%)", _PUBLISHED))
        return f"{format_fixed(abs(published - ours), 1)} points {'below' if ours < published else 'above'}"
    return read


def _peer_feature_gap(r) -> str:
    """The largest difference, in points, between the peer's wave features and ours under any readout of 01's
    peer-gap table (both computed on our split)."""
    rows = ("peer features (wave, pixelflow-rc)", "our features (wave, pixelflow)")
    gaps = []
    for column in ("Peer readout: logistic, C=1 (%)", "Our ridge readout (%)"):
        a, b = (_real(_table_cell(r, _PEER_GAP_TABLE, row, column), ("tables", _PEER_GAP_TABLE, row, column))
                for row in rows)
        gaps.append(abs(a - b))
    return format_fixed(max(gaps), 2)


_FIXED_MAPS = ("random conv, same dim.", "scattering J=2 L=8")  # the other fixed feature maps of the comparisons


def _fixed_map_verdict(*records) -> str:
    """The selected design against the other fixed feature maps (:data:`_FIXED_MAPS`) over the three image sets,
    as a predicate after "a random neural CA is": how often it is significantly more or less accurate
    (Holm-adjusted, as the comparison tables' "Significant" column says)."""
    better = worse = 0
    for notebook, r in zip(_IMAGE_SETS, records, strict=True):
        for row in _FIXED_MAPS:
            significant, difference = _paired(r, f"{notebook}_comparisons", row)
            better += significant and difference > 0
            worse += significant and difference < 0
    n = format_tally(len(_IMAGE_SETS) * len(_FIXED_MAPS))
    if not better and not worse:
        return "neither significantly better nor significantly worse than the other fixed feature maps of its size"
    if not worse:
        return (f"significantly better than the other fixed feature maps of its size in {format_tally(better)} of "
                f"{n} comparisons and never significantly worse")
    if not better:
        return (f"significantly worse than the other fixed feature maps of its size in {format_tally(worse)} of "
                f"{n} comparisons and never significantly better")
    return (f"significantly better than the other fixed feature maps of its size in {format_tally(better)} of {n} "
            f"comparisons and significantly worse in {format_tally(worse)}")


def _comparison_verdict(table: str, row: str) -> Reader:
    """The selected design against ``row`` of an image notebook's comparison table, as a sentence continues it:
    significantly more or less accurate (Holm-adjusted, as the table's "Significant" column says) or not
    significantly different, with the difference in points and the Holm-adjusted p."""
    def read(r):
        significant, difference = _paired(r, table, row)
        holm = _real(_table_cell(r, table, row, "Holm p"), ("tables", table, row, "Holm p"))
        detail = f"Holm $p$ {holm:.2g}"
        if not significant:
            return f"not significantly different (${difference:+.2f}$ points, {detail})"
        better = "more" if difference > 0 else "less"
        return f"significantly {better} accurate, by {format_fixed(abs(difference), 2)} points ({detail})"
    return read


_HIDDEN_MSE = "test hidden MSE "  # 07's metrics: one key per inpainting method


def _inpainting_ranking(r) -> str:
    """07's inpainting methods ordered by their mean hidden-pixel error on the test digits, best first."""
    metrics = _at(r, "metrics")
    if not isinstance(metrics, Mapping):
        raise _Absent("metrics is not a mapping")
    errors = {key[len(_HIDDEN_MSE):]: _real(_at(value, "mean"), ("metrics", key, "mean"))
              for key, value in metrics.items() if key.startswith(_HIDDEN_MSE)}
    if len(errors) < 2:
        raise _Absent(f"metrics holds fewer than two '{_HIDDEN_MSE}<method>' entries")
    return escape(_and_list(sorted(errors, key=errors.get)))


_ATTENTION_MINUS_CONVOLUTION = ("metrics", "attention minus convolution, hidden MSE ×10³")
_INPAINT_NCAS = ("attention NCA", "convolution NCA")


def _attention_versus_convolution(r) -> str:
    """07's attention NCA against the convolution NCA, as a comparative before "the convolution NCA": from the 95 %
    interval of their difference in hidden-pixel error over the training seeds."""
    low, high = (_real(_at(r, *_ATTENTION_MINUS_CONVOLUTION, k), (*_ATTENTION_MINUS_CONVOLUTION, k))
                 for k in ("low", "high"))
    if high < 0:
        return "consistently better than"
    if low > 0:
        return "consistently worse than"
    return "neither consistently better nor consistently worse than"


def _inpainting_versus(method: str, other: str) -> Reader:
    """07's ``method`` against ``other`` by their mean hidden-pixel error on the test digits, as a comparative."""
    def read(r):
        a, b = (_real(_at(r, "metrics", _HIDDEN_MSE + m, "mean"), ("metrics", _HIDDEN_MSE + m, "mean"))
                for m in (method, other))
        return "better than" if a < b else "worse than" if a > b else "as good as"
    return read


def _iterations_run(r, method: str) -> list[int]:
    path = ("metrics", method, "iterations")
    runs = _at(r, *path)
    if not isinstance(runs, list) or not runs:
        raise _Absent(f"{_where(path)} is {runs!r}, not a non-empty list")
    return [_whole(n, path) for n in runs]


def _inpainting_caps(form: str) -> Reader:
    """How 07's learned models ended their training: the NCAs against their iteration cap (``form="ncas"``, a
    clause; ``"ncas short"``, a clause that continues a sentence after a comma, or nothing), the U-Net against
    its own (``"unet"``, a clause)."""
    def read(r):
        if form == "unet":
            runs, cap = _iterations_run(r, "U-Net"), _preset_whole(r, "unet_iterations")
            capped = sum(n >= cap for n in runs)
            if not capped:
                return "it met the plateau rule within that cap on every seed"
            return f"it ran into that cap on {format_count(capped)} of its {format_count(len(runs))} seeds"
        cap = _preset_whole(r, "iterations")
        runs = [n for method in _INPAINT_NCAS for n in _iterations_run(r, method)]
        capped, total = sum(n >= cap for n in runs), len(runs)
        if form == "ncas short":
            if not capped:
                return ""
            if capped == total:
                return (", though every NCA training stopped at the iteration cap before its validation loss "
                        "levelled off")
            return (f", though {format_count(capped)} of the {format_count(total)} NCA trainings stopped at the "
                    "iteration cap before their validation loss levelled off")
        limit = f"the cap of {format_count(cap)} iterations"
        if capped == total:
            return (f"every NCA training ran into {limit} before its validation loss met the plateau rule (the "
                    "caption lists the iterations run), so both rules are undertrained by the standard the "
                    "notebook sets itself")
        if not capped:
            return f"every NCA training met the plateau rule within {limit} (the caption lists the iterations run)"
        return (f"{format_count(capped)} of the {format_count(total)} NCA trainings ran into {limit} before their "
                "validation loss met the plateau rule (the caption lists the iterations run)")
    return read


_SEQUENCE_NAMES = {"esn": "the tanh ESN", "linear_esn": "the linear ESN"}  # protocols.sequences.ESNS


def _task_name(task: str) -> str:
    """A time-series task as prose lists it: ``"Mackey-Glass, 1 step"`` becomes ``"Mackey-Glass (1 step)"``."""
    head, _, tail = task.partition(", ")
    return escape(f"{head} ({tail})" if tail else head)


def _and_list(items: Sequence[str], none: str = "none") -> str:
    """Items as a sentence lists them (``a, b and c``), or ``none`` when there are none."""
    return none if not items else items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _sequence_verdicts(kind: str, winner: str) -> Reader:
    """The tasks on which 10's verdict against the reservoirpy ESN ``kind`` names ``winner`` (``"CA"``, or the
    ESN's short name) as better by more than twice the combined standard error, listed for prose."""
    path = ("metrics", "verdicts")

    def read(r):
        verdicts = _at(r, *path)
        if not isinstance(verdicts, Mapping):
            raise _Absent(f"{_where(path)} is not a mapping of 'task | reservoir' to a verdict")
        tasks = []
        for key, verdict in verdicts.items():
            task, _, against = str(key).partition(" | ")
            if against == kind and verdict == f"{winner} better":
                tasks.append(_task_name(task))
        return _and_list(tasks, none="no task")
    return read


def _largest_memory(r) -> str:
    """The reservoir of 10 with the largest mean memory capacity over its weight seeds, as prose names it."""
    path = ("metrics", "test")
    test = _at(r, *path)
    if not isinstance(test, Mapping):
        raise _Absent(f"{_where(path)} is not a mapping")
    means = {key.partition(" | ")[2]: _real(_at(entry, "mean"), (*path, key, "mean"))
             for key, entry in test.items() if key.startswith("memory capacity | ")}
    if not means:
        raise _Absent(f"{_where(path)} holds no memory capacity")
    best = max(means, key=means.get)
    return _SEQUENCE_NAMES.get(best, rf"the \texttt{{{escape(best)}}} reservoir")


_FAULTY = 1000  # page faults per call from which a sweep point counts as faulting its memory in afresh


class _SweepPoint(NamedTuple):
    grid: int
    batch: int
    faults: float  # minor page faults per call
    values: int  # feature values one call returns
    rate: float  # samples per second


def _sweep_faults(what: str) -> Reader:
    """Of 05's scaling sweep, the points whose calls fault at least ``_FAULTY`` pages each (the first point of each
    grid left out: its warm-up also builds the reservoir): how many (``"count"``), how many feature values one
    of their calls returns (``"values"``; one number when they agree), their fewest and most faults per call
    (``"low"``, ``"high"``), the most faults per call of any other point (``"other"``), and whether their
    throughput falls below that of a smaller batch on the same grid that does not fault (``"drops"``, a clause)."""
    path = ("metrics", "sweep")

    def read(r):
        rows = _at(r, *path)
        if not isinstance(rows, list) or not rows:
            raise _Absent(f"{_where(path)} is not a list of rows")
        seen, points = set(), []
        for i, row in enumerate(rows):
            where = (*path, i)
            grid = _whole(_at(row, "grid"), (*where, "grid"))
            faults = _at(row, "minor_faults_per_call")
            if faults is None:
                raise _Absent(f"{_where((*where, 'minor_faults_per_call'))} is null: no page-fault counts")
            if grid in seen:
                batch = _whole(_at(row, "batch"), (*where, "batch"))
                values = batch * grid * row.get("width", grid) * _whole(_at(row, "channels"), (*where, "channels"))
                points.append(_SweepPoint(grid, batch, _real(faults, (*where, "minor_faults_per_call")), values,
                                          _real(_at(row, "samples_per_s"), (*where, "samples_per_s"))))
            seen.add(grid)
        faulty = [p for p in points if p.faults >= _FAULTY]
        others = [p for p in points if p.faults < _FAULTY]
        if not faulty or not others:
            raise _Absent(f"{_where(path)}: no point faults {_FAULTY} pages per call, or every point does")
        if what == "count":
            return format_count(len(faulty))
        if what == "values":
            sizes = sorted({p.values for p in faulty})
            return format_count(sizes[0]) + ("" if len(sizes) == 1 else f" to {format_count(sizes[-1])}")
        if what == "drops":
            return _fault_drops(faulty, others)
        pick = {"low": min(p.faults for p in faulty), "high": max(p.faults for p in faulty),
                "other": max(p.faults for p in others)}[what]
        return format_count(round(pick))
    return read


def _fault_drops(faulty: list[_SweepPoint], others: list[_SweepPoint]) -> str:
    """Whether throughput at the faulting sweep points falls below that of a smaller batch on the same grid that does
    not fault, as the clause that ends the paper's sentence on them."""
    compared = dropped = 0
    for p in faulty:
        before = [q.rate for q in others if q.grid == p.grid and q.batch < p.batch]
        if before:
            compared += 1
            dropped += p.rate < max(before)
    if not compared:
        return "no smaller batch on the same grid is free of faults to compare their throughput with"
    cause = (", as it would if the memory of a call's feature array went back to the system after the call and "
             "the next call faulted it in afresh")
    below = "below that of a smaller batch on the same grid that does not fault"
    if dropped == len(faulty):
        return f"throughput at every one of them is {below}{cause}"
    if dropped:
        return f"throughput at {format_count(dropped)} of them is {below}{cause}"
    return f"throughput at none of them is {below}"


def _self_classifying_stop(r) -> str:
    """How the self-classifying NCA's training ended, as the paper's sentence continues it."""
    path = ("metrics", "self_classifying", "stopped_early")
    stopped = _at(r, *path)
    if not isinstance(stopped, bool):
        raise _Absent(f"{_where(path)} is {stopped!r}, not true or false")
    return "when its error on the validation images stopped improving" if stopped else "at its iteration cap"


_VERDICT = "09_fixed_vs_learned_verdict"
_VERDICT_LEVEL = 0.01  # the level the notebook's verdict is drawn at (protocols.fixed_vs_learned.verdict_table)


def _verdict_counts(r) -> tuple[int, int]:
    """How many learned models the verdict table holds, and how many of them are significantly more accurate
    than the fixed design (Holm-adjusted p below the verdict's level)."""
    path = ("tables", _VERDICT)
    kind, diff, p = _column_indices(r, _VERDICT, "Kind", "vs. fixed (pp)", "Holm p")
    rows = _at(r, *path, "rows")
    learned = [row for row in rows if isinstance(row, list) and row[kind] == "learned"]
    better = sum(1 for row in learned if _real(row[p], (*path, "Holm p")) < _VERDICT_LEVEL
                 and _real(row[diff], (*path, "vs. fixed (pp)")) > 0)
    return len(learned), better


def _verdict_count(which: str) -> Reader:
    """:func:`_verdict_counts`' ``"learned"`` or ``"better"`` count, as the prose says it."""
    at = ("learned", "better").index(which)
    return lambda r: format_tally(_verdict_counts(r)[at])


def _learned_cost_verdict(r) -> str:
    """What the verdict of 09 says of the learned models' cost, as a closing sentence."""
    learned, better = _verdict_counts(r)
    if better == 0:
        return "None of them earns its cost on this task; where learned rules earn theirs is elsewhere."
    verb = "buys" if better == 1 else "buy"
    return (f"Here {format_tally(better)} of the {format_tally(learned)} learned models {verb} significantly higher "
            "accuracy with training.")


_INPAINT_MSE = "test hidden MSE {} NCA"
_INPAINT_FILL = ("metrics", "test hidden MSE mean-of-neighbours fill", "mean")
_RES = "metrics", "{} rescaled PDE, dt=1/k²"

#: ``(macro name without \pf, notebook, reader)`` for every number the prose quotes, in the file's order.
NUMBERS: tuple[tuple[str, str | tuple[str, ...], Reader], ...] = (
    # Data sets: the split's size, how the tables name it, and the subset a smaller run used.
    ("MnistTrainN", "01_mnist", _count("data", 0, "n_train_available")),
    ("MnistTestN", "01_mnist", _count("data", 0, "n_test_available")),
    ("MnistTrainShort", "01_mnist", _short("data", 0, "n_train_available")),
    ("MnistTestShort", "01_mnist", _short("data", 0, "n_test_available")),
    ("MnistSubsetNote", "01_mnist", _subset_note),
    ("MnistTestAcc", "01_mnist", _fixed(2, "metrics", "test_accuracy_selected", factor=100.0)),
    ("FashionTrainN", "02_fashion_mnist", _count("data", 0, "n_train_available")),
    ("FashionTestN", "02_fashion_mnist", _count("data", 0, "n_test_available")),
    ("FashionSubsetNote", "02_fashion_mnist", _subset_note),
    ("FashionTestAcc", "02_fashion_mnist", _fixed(2, "metrics", "test_accuracy_selected", factor=100.0)),
    ("CifarTrainN", "03_cifar10", _count("data", 0, "n_train_available")),
    ("CifarTestN", "03_cifar10", _count("data", 0, "n_test_available")),
    ("CifarSubsetNote", "03_cifar10", _subset_note),
    ("CifarTestAcc", "03_cifar10", _fixed(2, "metrics", "test_accuracy_selected", factor=100.0)),
    # What the dynamics add over the lift alone, and the gaps to the fixed-feature baselines (points).
    # The selected design against the other fixed feature maps and the CNN, over the three image sets.
    ("RandomConvBetterCount", _IMAGE_SETS, _significant_count("random conv, same dim.", 1)),
    ("RandomConvWorseCount", _IMAGE_SETS, _significant_count("random conv, same dim.", -1)),
    ("ScatteringBetterCount", _IMAGE_SETS, _significant_count("scattering J=2 L=8", 1)),
    ("ScatteringWorseCount", _IMAGE_SETS, _significant_count("scattering J=2 L=8", -1)),
    ("CnnBetterCount", _IMAGE_SETS, _significant_count("pixels, CNN (trained)", 1)),
    ("CnnWorseCount", _IMAGE_SETS, _significant_count("pixels, CNN (trained)", -1)),
    ("FixedMapVerdict", _IMAGE_SETS, _fixed_map_verdict),
    ("MnistRandomConvVerdict", "01_mnist", _comparison_verdict("01_mnist_comparisons", "random conv, same dim.")),
    ("MnistScatteringVerdict", "01_mnist", _comparison_verdict("01_mnist_comparisons", "scattering J=2 L=8")),
    ("MnistCnnVerdict", "01_mnist", _comparison_verdict("01_mnist_comparisons", "pixels, CNN (trained)")),
    ("FashionRandomConvVerdict", "02_fashion_mnist",
     _comparison_verdict("02_fashion_mnist_comparisons", "random conv, same dim.")),
    ("FashionScatteringVerdict", "02_fashion_mnist",
     _comparison_verdict("02_fashion_mnist_comparisons", "scattering J=2 L=8")),
    ("FashionCnnVerdict", "02_fashion_mnist",
     _comparison_verdict("02_fashion_mnist_comparisons", "pixels, CNN (trained)")),
    ("CifarRandomConvVerdict", "03_cifar10", _comparison_verdict("03_cifar10_comparisons", "random conv, same dim.")),
    ("CifarScatteringVerdict", "03_cifar10", _comparison_verdict("03_cifar10_comparisons", "scattering J=2 L=8")),
    ("CifarCnnVerdict", "03_cifar10", _comparison_verdict("03_cifar10_comparisons", "pixels, CNN (trained)")),
    ("CifarHflipVerdict", "03_cifar10", _comparison_verdict("03_cifar10_hflip", "rgb: random_nca")),
    ("MnistPeerWaveShortfall", "01_mnist", _peer_shortfall("wave (pixelflow-rc)")),
    ("MnistPeerPixelsShortfall", "01_mnist", _peer_shortfall("raw pixels, logistic")),
    ("MnistPeerFeatureGap", "01_mnist", _peer_feature_gap),
    ("MnistLiftGain", "01_mnist", _table_fixed(1, "01_mnist_comparisons", "0 steps (lift)", "Difference (pp)")),
    ("FashionLiftGain", "02_fashion_mnist",
     _table_fixed(1, "02_fashion_mnist_comparisons", "0 steps (lift)", "Difference (pp)")),
    ("CifarLiftGain", "03_cifar10", _table_fixed(1, "03_cifar10_comparisons", "0 steps (lift)", "Difference (pp)")),
    ("CifarScatteringGap", "03_cifar10",
     _table_fixed(1, "03_cifar10_comparisons", "scattering J=2 L=8", "Difference (pp)", sign=-1.0)),
    ("CifarScatteringP", "03_cifar10", _table_p("03_cifar10_comparisons", "scattering J=2 L=8", "McNemar p")),
    ("CifarScatteringHolm", "03_cifar10", _table_p("03_cifar10_comparisons", "scattering J=2 L=8", "Holm p")),
    # Time series: the consecutive ranges, the search budget and the feature count.
    ("TsEsnBetter", "10_time_series", _sequence_verdicts("esn", "ESN")),
    ("TsCaBetterThanEsn", "10_time_series", _sequence_verdicts("esn", "CA")),
    ("TsLinearBetter", "10_time_series", _sequence_verdicts("linear_esn", "linear ESN")),
    ("TsCaBetterThanLinear", "10_time_series", _sequence_verdicts("linear_esn", "CA")),
    ("TsLargestMemory", "10_time_series", _largest_memory),
    ("TsNarmaWave", "10_time_series", _fixed(3, "metrics", "test", "NARMA-10 | wave", "mean")),
    ("TsNarmaLinearEsn", "10_time_series", _fixed(3, "metrics", "test", "NARMA-10 | linear_esn", "mean")),
    ("TsNarmaEsn", "10_time_series", _fixed(3, "metrics", "test", "NARMA-10 | esn", "mean")),
    ("TsTrainN", "10_time_series", _preset("n_train")),
    ("TsValidationN", "10_time_series", _preset("n_validation")),
    ("TsTestN", "10_time_series", _preset("n_test")),
    ("TsWashout", "10_time_series", _preset("washout")),
    ("TsTrials", "10_time_series", _preset("trials")),
    ("TsSeeds", "10_time_series", _preset_length("seeds")),
    ("TsFeatures", "10_time_series", _count("metrics", "features")),
    # Scale out: the local cluster.
    ("ScaleOutWorkers", "11_scale_out", _preset("n_workers")),
    # First arrivals on the media families: mean relative error (mean over draws) and the worst draw.
    ("EikonalDraws", "04_eikonal", _table_count(_FAMILIES, "smooth random", "n")),
    ("EikonalEdgeMean", "04_eikonal", _family_mean("edge or corner source")),
    ("EikonalLayersMean", "04_eikonal", _family_mean("two layers")),
    ("EikonalLayersWorst", "04_eikonal", _table_fixed(3, _FAMILIES, "two layers", "Worst draw")),
    ("EikonalDiscMean", "04_eikonal", _family_mean("slow disc")),
    ("EikonalWallMean", "04_eikonal", _family_mean("wall with a gap (free cells)")),
    ("EikonalWallWorst", "04_eikonal", _table_fixed(3, _FAMILIES, "wall with a gap (free cells)", "Worst draw")),
    ("EikonalWallAllMean", "04_eikonal", _family_mean("wall with a gap (all cells)")),
    ("EikonalSmoothMean", "04_eikonal", _family_mean("smooth random")),
    ("EikonalLargestMean", "04_eikonal", _largest_family_mean),
    # Time per solve: the smallest and the largest grid timed, wave reading against fast marching.
    ("EikonalSpeedGridSmall", "04_eikonal", _solve_seconds("grid", 0)),
    ("EikonalSpeedRatioSmall", "04_eikonal", _solve_seconds("ratio", 0)),
    ("EikonalSpeedGrid", "04_eikonal", _solve_seconds("grid", -1)),
    ("EikonalSpeedWave", "04_eikonal", _solve_seconds("wave", -1)),
    ("EikonalSpeedFmm", "04_eikonal", _solve_seconds("fmm", -1)),
    ("EikonalSpeedRatio", "04_eikonal", _solve_seconds("ratio", -1)),
    # Texture: the PS distance (another piece of the texture scores about 1) per loss, over training seeds.
    ("TextureSeeds", "06_texture_nca", lambda r: format_count(len(_at(r, "metrics", "training", "seeds")))),
    ("TextureGrayScottLoss", "06_texture_nca", _loss_name("metrics", "gray_scott", "chosen_loss")),
    ("TextureGravelLoss", "06_texture_nca", _loss_name("metrics", "gravel", "chosen_loss")),
    ("TextureGrayScottGramPs", "06_texture_nca", _mean_sd(2, "metrics", "gray_scott", "by_loss", "gram", "PS")),
    ("TextureGrayScottSwdPs", "06_texture_nca",
     _mean_sd(2, "metrics", "gray_scott", "by_loss", "sliced_wasserstein", "PS")),
    ("TextureGravelGramPs", "06_texture_nca", _mean_sd(2, "metrics", "gravel", "by_loss", "gram", "PS")),
    ("TextureGravelSwdPs", "06_texture_nca", _mean_sd(2, "metrics", "gravel", "by_loss", "sliced_wasserstein", "PS")),
    ("TextureGrayScottPiecesPs", "06_texture_nca", _fixed(2, "metrics", "gray_scott", "pieces_ps")),
    ("TextureGravelPiecesPs", "06_texture_nca", _fixed(2, "metrics", "gravel", "pieces_ps")),
    ("TextureGrayScottChosenPs", "06_texture_nca", _chosen_loss_ps("gray_scott")),
    ("TextureGramBelowPieces", "06_texture_nca", _gram_below_pieces),
    ("TextureVersusPieces", "06_texture_nca", _texture_versus_pieces("clause")),
    ("TextureVersusPiecesShort", "06_texture_nca", _texture_versus_pieces("short")),
    ("TextureLossOverlap", "06_texture_nca", _texture_loss_overlap),
    # Inpainting: hidden-pixel MSE in units of 1e-3, as the table prints it.
    ("InpaintAttentionMse", "07_attention_inpainting",
     _fixed(2, "metrics", _INPAINT_MSE.format("attention"), "mean", factor=1e3)),
    ("InpaintConvolutionMse", "07_attention_inpainting",
     _fixed(2, "metrics", _INPAINT_MSE.format("convolution"), "mean", factor=1e3)),
    ("InpaintFillMse", "07_attention_inpainting", _fixed(2, *_INPAINT_FILL, factor=1e3)),
    ("InpaintAttentionParams", "07_attention_inpainting",
     _table_count("07_attention_inpainting", "attention NCA", "Parameters")),
    ("InpaintConvolutionParams", "07_attention_inpainting",
     _table_count("07_attention_inpainting", "convolution NCA", "Parameters")),
    ("InpaintTrainRatio", "07_attention_inpainting",
     _table_ratio(1, "07_attention_inpainting", "Train s", "attention NCA", "convolution NCA")),
    ("InpaintBiharmonicMse", "07_attention_inpainting",
     _fixed(2, "metrics", "test hidden MSE biharmonic fill", "mean", factor=1e3)),
    ("InpaintUnetParams", "07_attention_inpainting", _table_count("07_attention_inpainting", "U-Net", "Parameters")),
    ("InpaintUnetMse", "07_attention_inpainting", _fixed(2, "metrics", "test hidden MSE U-Net", "mean", factor=1e3)),
    ("InpaintUnetPsnr", "07_attention_inpainting", _fixed(2, "metrics", "U-Net", "psnr", "mean")),
    ("InpaintUnetIterations", "07_attention_inpainting", _preset("unet_iterations")),
    ("InpaintAttentionPsnr", "07_attention_inpainting", _fixed(2, "metrics", "attention NCA", "psnr", "mean")),
    ("InpaintConvolutionPsnr", "07_attention_inpainting", _fixed(2, "metrics", "convolution NCA", "psnr", "mean")),
    ("InpaintBiharmonicPsnr", "07_attention_inpainting", _fixed(2, "metrics", "biharmonic fill", "psnr", "mean")),
    ("InpaintAttentionSsim", "07_attention_inpainting", _fixed(3, "metrics", "attention NCA", "ssim", "mean")),
    ("InpaintConvolutionSsim", "07_attention_inpainting", _fixed(3, "metrics", "convolution NCA", "ssim", "mean")),
    ("InpaintDiffLow", "07_attention_inpainting",
     _fixed(2, "metrics", "attention minus convolution, hidden MSE ×10³", "low")),
    ("InpaintDiffHigh", "07_attention_inpainting",
     _fixed(2, "metrics", "attention minus convolution, hidden MSE ×10³", "high")),
    ("InpaintRanking", "07_attention_inpainting", _inpainting_ranking),
    ("InpaintSeeds", "07_attention_inpainting", _preset("seeds")),
    ("InpaintIterationCap", "07_attention_inpainting", _preset("iterations")),
    ("InpaintAttentionVersusConvolution", "07_attention_inpainting", _attention_versus_convolution),
    ("InpaintAttentionVersusBiharmonic", "07_attention_inpainting",
     _inpainting_versus("attention NCA", "biharmonic fill")),
    ("InpaintNcaCaps", "07_attention_inpainting", _inpainting_caps("ncas")),
    ("InpaintNcaCapsShort", "07_attention_inpainting", _inpainting_caps("ncas short")),
    ("InpaintUnetCap", "07_attention_inpainting", _inpainting_caps("unet")),
    ("InpaintUnetTrainShare", "07_attention_inpainting",
     _table_ratio(0, "07_attention_inpainting", "Train s", "U-Net", "attention NCA", factor=100.0)),
    # A user's rule on the cpu backend: the compiled kernel against a hand-fused one, and the function against both.
    ("UserRuleCompiledOverHand", "05_speedups", _user_rules("worst")),
    ("UserRuleCompiledVersusHand", "05_speedups", _user_rules("versus")),
    ("UserRuleFunctionLow", "05_speedups", _user_rules("function low")),
    ("UserRuleFunctionHigh", "05_speedups", _user_rules("function high")),
    # One workload (wave, 32² grid, 4 channels, 4 steps) timed three ways, and the rule behind the accuracy claims.
    ("PeerSpeedup", "05_speedups",
     lambda r: format_fixed(_peer_rate(r, "pixelflow") / _peer_rate(r, "pixelflow-rc"), 1)),
    ("PeerCpuRate", "05_speedups", lambda r: format_count(round(_peer_rate(r, "pixelflow")))),
    ("SuiteWaveRate", "05_speedups", _speed_rate("suite", "wave", 32)),
    ("SweepWaveRate", "05_speedups", _speed_rate("sweep", "wave", 32)),
    ("SweepFaultPoints", "05_speedups", _sweep_faults("count")),
    ("SweepFaultValues", "05_speedups", _sweep_faults("values")),
    ("SweepFaultsLow", "05_speedups", _sweep_faults("low")),
    ("SweepFaultsHigh", "05_speedups", _sweep_faults("high")),
    ("SweepFaultsOther", "05_speedups", _sweep_faults("other")),
    ("SweepFaultDrops", "05_speedups", _sweep_faults("drops")),
    ("SuiteRandomNcaRate", "05_speedups", _speed_rate("suite", "random_nca", 32)),
    ("SuiteRandomNcaLargeRate", "05_speedups", _speed_rate("suite", "random_nca", 64)),
    # Resolution transfer: spectral distance (Gray-Scott) and style distance to the true photograph (gravel).
    ("ResolutionDivergedAt", "08_resolution_transfer", _diverged_factors),
    ("ResolutionGrayScottPdeTwo", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 2x rescaled PDE, dt=1/k²", "spectral_distance")),
    ("ResolutionGrayScottPdeFour", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 4x rescaled PDE, dt=1/k²", "spectral_distance")),
    ("ResolutionGrayScottBilinearTwo", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 2x bilinear upsampling", "spectral_distance")),
    ("ResolutionGrayScottBilinearFour", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 4x bilinear upsampling", "spectral_distance")),
    ("ResolutionGravelPdeStyleTwo", "08_resolution_transfer",
     _fixed(3, "metrics", "gravel 2x rescaled PDE, dt=1/k²", "style_distance_to_truth")),
    ("ResolutionGravelPdeStyleFour", "08_resolution_transfer",
     _fixed(3, "metrics", "gravel 4x rescaled PDE, dt=1/k²", "style_distance_to_truth")),
    ("ResolutionGravelBilinearStyleTwo", "08_resolution_transfer",
     _fixed(3, "metrics", "gravel 2x bilinear upsampling", "style_distance_to_truth")),
    ("ResolutionGravelBilinearStyleFour", "08_resolution_transfer",
     _fixed(3, "metrics", "gravel 4x bilinear upsampling", "style_distance_to_truth")),
    ("ResolutionGrayScottTraining", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 1x training resolution", "spectral_distance")),
    ("ResolutionGrayScottDecodedTwo", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 2x decoded NCA", "spectral_distance")),
    ("ResolutionGrayScottDecodedFour", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 4x decoded NCA", "spectral_distance")),
    ("ResolutionGrayScottDecodedEight", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 8x decoded NCA", "spectral_distance")),
    ("ResolutionGrayScottBilinearEight", "08_resolution_transfer",
     _fixed(3, "metrics", "gray_scott 8x bilinear upsampling", "spectral_distance")),
    ("ResolutionGravelDecodedStyleTwo", "08_resolution_transfer",
     _fixed(3, "metrics", "gravel 2x decoded NCA", "style_distance_to_truth")),
    ("ResolutionGravelDecodedStyleFour", "08_resolution_transfer",
     _fixed(3, "metrics", "gravel 4x decoded NCA", "style_distance_to_truth")),
    ("ResolutionSpectrumClosest", "08_resolution_transfer", _decoded_closest_everywhere("spectral_distance")),
    ("ResolutionGravelStyleClosest", "08_resolution_transfer",
     _decoded_factors_phrase("style_distance_to_truth", "gravel")),
    ("ResolutionGrayScottUpsamplingStyleCloser", "08_resolution_transfer",
     _decoded_factors_phrase("style_distance_to_truth", "gray_scott", against="bilinear upsampling")),
    ("ResolutionDecodedEightMs", "08_resolution_transfer",
     _fixed(0, "metrics", "render cost", "gray_scott: decoded NCA (grow + draw)", "384", "seconds", factor=1e3)),
    ("ResolutionPdeFourS", "08_resolution_transfer",
     _fixed(1, "metrics", "render cost", "gray_scott: rescaled PDE, dt=1/k²", "192", "seconds")),
    # Fixed against learned: the first-order reservoir with its weights fixed and trained, the self-classifying
    # NCA, and the verdict against the fixed design of 01_mnist.
    ("FvlFixedAcc", "09_fixed_vs_learned",
     _fixed(2, "metrics", "summary", "fixed", "test_accuracy_mean", factor=100.0)),
    ("FvlLearnedAcc", "09_fixed_vs_learned", _best_learned("accuracy")),
    ("FvlLearnedGain", "09_fixed_vs_learned", _best_learned("gain")),
    ("FvlLearnedCostRatio", "09_fixed_vs_learned", _best_learned("cost")),
    ("SelfClassAcc", "09_fixed_vs_learned", _fixed(2, "metrics", "self_classifying", "test_accuracy", 0, factor=100.0)),
    ("SelfClassParams", "09_fixed_vs_learned", _count("metrics", "self_classifying", "params")),
    ("SelfClassIterations", "09_fixed_vs_learned", _count("metrics", "self_classifying", "iterations")),
    ("SelfClassBatch", "09_fixed_vs_learned", _preset("self_classifying", "batch_size")),
    ("SelfClassStop", "09_fixed_vs_learned", _self_classifying_stop),
    ("SelfClassAgreement", "09_fixed_vs_learned", _fixed(1, "metrics", "self_classifying", "agreement", factor=100.0)),
    ("SelfClassTrainMinutes", "09_fixed_vs_learned",
     _fixed(0, "metrics", "self_classifying", "train_s", factor=1 / 60)),
    ("VerdictFixedAcc", "09_fixed_vs_learned", _verdict_entry("fixed", "accuracy")),
    ("VerdictFixedParams", "09_fixed_vs_learned", _verdict_entry("fixed", "params")),
    ("VerdictCnnAcc", "09_fixed_vs_learned", _verdict_entry("CNN", "accuracy")),
    ("VerdictCnnParams", "09_fixed_vs_learned", _verdict_entry("CNN", "params")),
    ("VerdictLearnedCount", "09_fixed_vs_learned", _verdict_count("learned")),
    ("VerdictBetterCount", "09_fixed_vs_learned", _verdict_count("better")),
    ("LearnedCostVerdict", "09_fixed_vs_learned", _learned_cost_verdict),
    # The machine the learned rules were trained on.
    ("LearnedCpuCores", "09_fixed_vs_learned", _count("provenance", "cpu_count")),
)


# ---------------------------------------------------------------- published numbers of other work


def _peer_macros(entry: Mapping) -> list[tuple[str, str, str]]:
    """``(macro name, body, comment)`` of a peer number: its value and the size of its data."""
    name = f"Peer{entry['id']}"
    about = f"% {entry['bibkey']}: {entry['metric']}, {entry['dataset']}"
    out = [(name, format_fixed(entry["value"], entry["decimals"]), about)]
    out += [(name + suffix, format_count(entry[key]), f"% {entry['bibkey']}: {key}")
            for key, suffix in (("n_train", "TrainN"), ("n_test", "TestN")) if key in entry]
    return out


# ---------------------------------------------------------------- the file


def _newcommand(name: str, body: str) -> str:
    return rf"\newcommand{{\pf{name}}}{{{body}}}"


def number_macros(records: Mapping[str, Mapping], peers: Sequence[Mapping] | None = None) -> NumberMacros:
    r"""``numbers.tex``: a macro for every number the paper's prose quotes.

    Parameters
    ----------
    records : mapping
        ``{notebook name: results record}``, the JSON objects of
        ``results/<scale>/*.json`` keyed by file stem (``"01_mnist"``).
    peers : sequence of dict, optional
        Published numbers of other work (see :func:`pixelflow.workbook.peers.load_peers`); default:
        those of :data:`pixelflow.workbook.peers.PEERS_FILE`.

    Returns
    -------
    NumberMacros
        ``text``: one ``\newcommand{\pf<Name>}{<number>}`` per number of
        :data:`NUMBERS` and per peer number (``\pfPeer<id>``, and
        ``\pfPeer<id>TrainN``/``TestN`` where the data's size is given).
        ``missing``: the numbers whose notebook has no record here or whose
        record lacks the key or holds no number there; their macros print
        :data:`MISSING_MARK`.

    Raises
    ------
    TypeError
        ``records`` is not a mapping of names to records.
    ValueError
        A peer entry is malformed, or two macros would share a name.

    Examples
    --------
    >>> record = {"data": [{"n_train": 14000, "n_test": 10000,
    ...                     "n_train_available": 14000, "n_test_available": 10000}]}
    >>> macros = number_macros({"01_mnist": record}, peers=[])
    >>> print(macros.text.splitlines()[2])
    \newcommand{\pfMnistTrainN}{14{,}000}
    >>> macros.missing[0]
    '\\pfMnistTestAcc (01_mnist: no metrics)'
    """
    if not isinstance(records, Mapping):
        raise TypeError(f"number_macros: records must be a mapping of notebook name to results record, "
                        f"got {type(records).__name__}")
    for notebook, record in records.items():
        if not isinstance(record, Mapping):
            raise TypeError(f"number_macros: the record of {notebook!r} must be a mapping (a results file's "
                            f"JSON object), got {type(record).__name__}")
    peers = load_peers() if peers is None else [check_peer(p, f"peers[{i}]") for i, p in enumerate(peers)]
    lines, missing, names = [], [], set()
    for name, notebook, read in NUMBERS:
        try:
            if isinstance(notebook, tuple):  # a number drawn from several notebooks' results at once
                absent = [nb for nb in notebook if nb not in records]
                if absent:
                    raise _Absent(f"no results file for {', '.join(absent)}")
                lines.append(_newcommand(name, read(*(records[nb] for nb in notebook))))
            elif notebook not in records:
                raise _Absent("no results file")
            else:
                lines.append(_newcommand(name, read(records[notebook])))
        except _Absent as exc:
            reason = str(exc).replace("\n", " ")
            source = notebook if isinstance(notebook, str) else "+".join(notebook)
            lines.append(_newcommand(name, MISSING_MARK) + f"% missing: {source}: {reason}")
            missing.append(rf"\pf{name} ({source}: {reason})")
        names.add(name)
    for entry in peers:
        for name, body, comment in _peer_macros(entry):
            if name in names:
                raise ValueError(f"peer id {entry['id']!r} gives the macro \\pf{name}, which is already defined")
            names.add(name)
            lines.append(_newcommand(name, body) + comment)
    header = ["% Numbers quoted in the paper's text, generated by pixelflow.workbook.numbers from the results",
              "% records and pixelflow/workbook/peers.json; " + (f"{len(missing)} missing, printed as ??."
                                                                 if missing else "none missing.")]
    return NumberMacros("\n".join(header + lines) + "\n", missing)


def read_records(results_dir: str | Path) -> dict[str, dict]:
    """``{file stem: record}`` of every ``results_dir/*.json``.

    Raises
    ------
    ValueError
        ``results_dir`` is not a directory, or a file there is not a JSON
        object; the message names the file.
    """
    results_dir = Path(results_dir)
    if not results_dir.is_dir():
        what = "is not a directory" if results_dir.exists() else "does not exist"
        raise ValueError(f"results directory {results_dir} {what}")
    records = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path}: not a readable JSON results file ({exc}); rerun its notebook") from None
        if not isinstance(record, dict):
            raise ValueError(f"{path}: a results file holds a JSON object, got {type(record).__name__}")
        records[path.stem] = record
    return records


def write_numbers(records: Mapping[str, Mapping], out_dir: str | Path) -> Path:
    """Write ``out_dir/numbers.tex`` (:func:`number_macros`) atomically and return its path.

    The numbers that could not be read are listed on standard error; their
    macros print :data:`MISSING_MARK`, so the paper still compiles.
    """
    macros = number_macros(records)
    path = write_atomic(Path(out_dir) / "numbers.tex", macros.text.encode())
    if macros.missing:
        print(f"{path}: {len(macros.missing)} number(s) missing, printed as ?? in the paper:", file=sys.stderr)
        for line in macros.missing:
            print(f"  {line}", file=sys.stderr)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results_dir", type=Path)
    parser.add_argument("out_dir", type=Path)
    args = parser.parse_args(argv)
    try:
        path = write_numbers(read_records(args.results_dir), args.out_dir)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
