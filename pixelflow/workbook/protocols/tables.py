"""The classification protocol's tables: the search, the final test accuracies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pixelflow.significance import wilson_interval
from pixelflow.workbook.protocols.candidates import Candidate
from pixelflow.workbook.tables import GREEK, column, format_value, interval_text

__all__ = ["accuracy_cells", "at_edge", "edge_choices", "final_table", "search_table", "validation_accuracy"]


def search_table(rows: Sequence[dict]) -> dict[str, Any]:
    """The search as a compact table: one row per feature map and readout kind.

    Shows the hyperparameter values tried, the one chosen on validation
    (marked "(edge)" when it is the smallest or largest tried, see
    :func:`at_edge`) and its validation accuracy (%). Returns ``{"columns": ..., "rows": ...}``
    for :meth:`ResultsRecord.add_table` and :func:`text_table`.
    """
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["name"], r["readout"]), []).append(r)
    out = []
    for (name, kind), rs in groups.items():
        top = min(rs, key=lambda r: (-r["val_accuracy"], r["index"]))
        param = top["hyperparameter"]
        symbol = GREEK.get(param, param) if param else ""
        tried = ", ".join(format_value(r["value"]) for r in rs) if param else "-"
        chosen = f"{symbol}={format_value(top['value'])}" if param else "-"
        if param and at_edge(top, rs):
            chosen += " (edge)"
        out.append([
            name, top["rule"], top["steps"], top["channels"], top["record"], top["pool"], top["n_features"],
            kind, f"{symbol} ∈ {{{tried}}}" if param else "-", chosen, 100.0 * top["val_accuracy"],
        ])
    columns = [column("Features from"), column("Rule"), column("Steps", "d"), column("Ch.", "d"), column("Record"),
               column("Pool", "d"), column("Dim.", "d"), column("Readout"), column("Tried"), column("Chosen"),
               column("Val. acc. (%)", ".2f")]
    return {"columns": columns, "rows": out}


def at_edge(row: dict, group: Sequence[dict]) -> bool:
    """Whether ``row``'s hyperparameter value is the smallest or largest tried in ``group`` (of several).

    A choice at the edge of its grid may be a grid too narrow: the best value
    could lie beyond it.

    >>> g = [{"value": v} for v in (0.1, 1.0, 10.0)]
    >>> at_edge(g[0], g), at_edge(g[1], g), at_edge(g[0], g[:1])
    (True, False, False)
    """
    values = sorted({r["value"] for r in group if r["value"] is not None})
    return len(values) > 1 and row["value"] in (values[0], values[-1])


def edge_choices(rows: Sequence[dict]) -> list[str]:
    """Labels of the chosen readouts (best per feature map and readout kind) that sit at the edge of their grid."""
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["name"], r["readout"]), []).append(r)
    out = []
    for rs in groups.values():
        top = min(rs, key=lambda r: (-r["val_accuracy"], r["index"]))
        if top["hyperparameter"] and at_edge(top, rs):
            out.append(top["label"])
    return out


def final_table(
    results: Sequence[dict],
    methods: Sequence[str] | None = None,
    *,
    validation: Sequence[float] | None = None,
    extra: Mapping[str, Sequence] | None = None,
) -> dict[str, Any]:
    """Test accuracies from :func:`evaluate` as a table.

    Parameters
    ----------
    results : evaluate() outputs
    methods : row labels (default: each result's ``name``)
    validation : optional validation accuracies (fractions) of the chosen
        candidates, shown in % before the test accuracy.
    extra : optional additional columns, ``{header: values}`` (one value per
        result, numbers formatted with ``.2f``).

    Cells: method, rule, readout with its chosen hyperparameter, feature
    dimension, the number of seeds run (one when the features do not depend on
    the seed), test accuracy in % as ``[mean, std]`` over seeds (sample standard
    deviation; a single number when only one run was made) and its 95 %
    Wilson interval over the test images (of the mean's count of correct
    images; it does not include the spread over seeds).
    """
    methods = list(methods) if methods is not None else [r["name"] for r in results]
    if len(methods) != len(results) or (validation is not None and len(validation) != len(results)):
        raise ValueError("one method label (and validation accuracy) per result is needed")
    extra = dict(extra or {})
    rows = []
    for i, (m, r) in enumerate(zip(methods, results)):
        param = r["hyperparameter"]
        readout = r["readout"] + (f" {GREEK.get(param, param)}={format_value(r['value'])}" if param else "")
        val = [] if validation is None else [None if validation[i] is None else 100.0 * validation[i]]
        rows.append([m, r["rule"], readout, r["n_features"], str(len(r["test_accuracy"])), *val, *accuracy_cells(r),
                     *(vals[i] for vals in extra.values())])
    columns = [column("Method"), column("Rule"), column("Readout"), column("Dim.", "d"), column("Seeds"),
               *([column("Val. acc. (%)", ".2f")] if validation is not None else []),
               column("Test acc. (%)", ".2f"), column("95 % CI (%)"), *(column(h, ".2f") for h in extra)]
    return {"columns": columns, "rows": rows}


def accuracy_cells(result: Mapping) -> tuple:
    """An :func:`evaluate` result's test accuracy cell and its 95 % Wilson interval cell, in %.

    The accuracy is ``[mean, std]`` over seeds (sample standard deviation),
    a single number when only one run was made; the interval is over the test
    images, of the mean's count of correct images (it does not include the
    spread over seeds).

    >>> accuracy_cells({"test_accuracy": [0.9], "mean": 0.9, "std": 0.0, "n_test": 1000})
    (90.0, '[87.98, 91.71]')
    """
    runs = len(result["test_accuracy"])
    acc = 100.0 * result["mean"] if runs == 1 else [100.0 * result["mean"], 100.0 * result["std"]]
    low, high = wilson_interval(round(result["mean"] * result["n_test"]), result["n_test"])
    return acc, interval_text(low, high)


def validation_accuracy(rows: Sequence[dict], candidates: Sequence[Candidate], candidate: Candidate) -> float:
    """The validation accuracy :func:`search` measured for ``candidate``, one of ``candidates``."""
    if len(rows) != len(candidates):
        raise ValueError(f"rows ({len(rows)}) and candidates ({len(candidates)}) do not belong together")
    for i, c in enumerate(candidates):
        if c is candidate:
            return rows[i]["val_accuracy"]
    raise ValueError(f"{candidate!r} is not one of these candidates")


def _span(counts) -> str:
    return f"{min(counts):,}–{max(counts):,}" if counts else "-"


def construction(meta: Mapping) -> str:
    """How a loader's split was cut from the official files, in words, from its metadata.

    >>> construction({"n_train_available": 14000, "official_n_train": 60000, "n_test_available": 10000,
    ...               "official_n_test": 10000, "n_train": 14000, "n_test": 10000})
    'first 14,000 of the 60,000 official training images; the full official test set'
    """
    parts = []
    records = meta.get("records_per_file")
    for role in ("train", "test"):
        available, official = meta.get(f"n_{role}_available"), meta.get(f"official_n_{role}")
        word = "training" if role == "train" else "test"
        if records:
            files = {name: n for name, n in records.items() if ("test" in name) == (role == "test")}
            sizes = set(files.values())
            each = f"of each of the {len(files)} {word} files" if len(files) > 1 else f"of the {word} file"
            text = (f"first {sizes.pop():,} records {each}" if len(sizes) == 1
                    else ", ".join(f"{n:,} of {name}" for name, n in files.items()))
            whole = official is not None and available == official
            parts.append(f"the full official {word} set" if whole else f"{text} (official order)")
        elif available is not None and official is not None and available < official:
            parts.append(f"first {available:,} of the {official:,} official {word} images")
        else:
            parts.append(f"the full official {word} set")
        if meta.get(f"n_{role}") is not None and available is not None and meta[f"n_{role}"] < available:
            parts[-1] += f", of which a stratified subset of {meta[f'n_{role}']:,}"
    return "; ".join(parts)


def data_table(datasets: Sequence[Mapping]) -> dict[str, Any]:
    """The data each notebook actually used, from the loaders' metadata (``Dataset.meta``).

    One row per dataset: its split, training and test images, how they were
    cut from the official files (:func:`construction`) and the smallest and
    largest class, training and test.
    """
    rows = [[m.get("split", "-"), m.get("n_train"), m.get("n_test"), construction(m),
             _span(m.get("class_counts_train")), _span(m.get("class_counts_test"))] for m in datasets]
    columns = [column("Split"), column("Train", ",d"), column("Test", ",d"), column("Cut from the official files"),
               column("Per class, train"), column("Per class, test")]
    return {"columns": columns, "rows": rows}


def peer_gap_table(bench: Mapping) -> dict[str, Any]:
    """The peer's MNIST gap located: features × readout, from ``results/peer_accuracy_mnist.json``.

    One row per feature map (the peer's wave features, ours, raw pixels): the
    test accuracy (%) under the peer's readout (unscaled logistic regression,
    C = 1) and under ours (standardised ridge, alpha chosen on validation),
    and, for raw pixels, our logistic readout. Written by
    ``benchmarks/peer_accuracy.py`` (``make bench-peer-accuracy``).
    """
    rows = []
    for name, cell in bench["features_x_readout"].items():
        logistic = cell.get("our_logistic_readout", {}).get("accuracy")
        rows.append([name, 100.0 * cell["peer_readout"]["accuracy"], 100.0 * cell["our_readout"]["accuracy"],
                     None if logistic is None else 100.0 * logistic])
    columns = [column("Features"), column("Peer readout: logistic, C=1 (%)", ".2f"),
               column("Our ridge readout (%)", ".2f"), column("Our logistic readout (%)", ".2f")]
    return {"columns": columns, "rows": rows}


#: Fixed-feature marks each image notebook's design is measured against (test accuracy, %), with where
#: they come from. MNIST: set below the best published fixed-feature number, 99.63 % with a 60,000-image
#: training set (McDonnell & Vladusich 2015), because our training set is its first 14,000 images.
#: Fashion-MNIST: HOG features + SVM, the best fixed-feature entry of the benchmark in the Fashion-MNIST
#: repository's README. CIFAR-10: without augmentation; first-order scattering (J=2) + a linear layer
#: reaches 64 % on the full 50,000 images with flips and crops (kymatio's example), our subset is 4,660.
FIXED_FEATURE_MARKS: dict[str, tuple[str, float, str]] = {
    "01_mnist": ("MNIST", 99.0, "below 99.63 % on 60k (McDonnell & Vladusich)"),
    "02_fashion_mnist": ("Fashion-MNIST", 92.6, "HOG + SVM, Fashion-MNIST benchmark"),
    "03_cifar10": ("CIFAR-10 subset", 62.0, "no augmentation; 1st-order scattering 64 % on 50k, augmented"),
}


def fixed_feature_table(records: Mapping[str, Mapping], marks: Mapping[str, tuple] | None = None) -> dict[str, Any]:
    """Each image notebook's random_nca design against scattering and against a fixed-feature mark.

    For every notebook of ``marks`` (default :data:`FIXED_FEATURE_MARKS`)
    with a results record in ``records`` (notebook → record), the design of
    its paired comparisons (``metrics.comparisons``, the design named
    ``"<name> (design)"``; no augmentation), its test accuracy (mean ± sample
    std over seeds, from ``metrics.final``) and 95 % Wilson interval, the
    scattering baseline's accuracy, the paired difference with its bootstrap
    interval and the Holm-adjusted McNemar p-value, the mark and the gap to
    it (design − mark, points: negative = missed). A record without
    comparisons (a run from before the controls) gives no row.

    Raises
    ------
    ValueError
        When a record's comparisons hold none against scattering, or its
        design is not among its final results: the table would be silently
        incomplete.
    """
    marks = FIXED_FEATURE_MARKS if marks is None else marks
    rows = []
    for notebook, (dataset, mark, source) in marks.items():
        record = records.get(notebook)
        if record is None:
            continue
        metrics = record.get("metrics", {})
        if "comparisons" not in metrics:
            continue  # a run from before the controls existed: no row rather than a guessed one
        comparisons = metrics["comparisons"]
        scattering = [c for c in comparisons if c["method"].startswith("scattering")]
        if not scattering:
            raise ValueError(f"{notebook}: metrics.comparisons holds no comparison with scattering; rerun the "
                             "notebook's controls")
        versus = scattering[0]
        design = versus["reference"].removesuffix(" (design)")
        final = [r for r in metrics.get("final", {}).values() if r.get("name") == design]
        if len(final) != 1:
            raise ValueError(f"{notebook}: the design {design!r} of the comparisons is not exactly one of the "
                             f"final results ({len(final)} found)")
        r = final[0]
        rows.append([dataset, design, *accuracy_cells(r), 100.0 * versus["accuracy_method"],
                     100.0 * versus["difference"], interval_text(versus["low"], versus["high"], signed=True),
                     versus["p_holm"], mark, 100.0 * r["mean"] - mark, source])
    columns = [column("Data"), column("Design"), column("Test acc. (%)", ".2f"), column("95 % CI (%)"),
               column("Scattering (%)", ".2f"), column("Diff. (pp)", "+.2f"), column("95 % CI (pp)"),
               column("Holm p", ".2g"), column("Mark (%)", ".1f"), column("Gap (pp)", "+.2f"),
               column("Mark from")]
    return {"columns": columns, "rows": rows}
