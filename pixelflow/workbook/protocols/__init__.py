"""How the notebooks compare methods, one module per kind of experiment.

* the classification protocol of the image notebooks (01-03), importable
  from here: :mod:`.data` (validation split, augmentations),
  :mod:`.candidates` (what is tried), :mod:`.controls` (the selected design
  without its dynamics, and fixed-feature baselines), :mod:`.fitting`
  (features and readout fits), :mod:`.comparisons` (paired tests on the test
  set), :mod:`.kept_statistics` (the search's ridge statistics,
  reused by the final refit), :mod:`.classification` (search, selection, test
  evaluation per seed, steps curves), :mod:`.tables` (its tables);
* :mod:`.sequences` -- driven reservoirs against an echo state network on
  sequence tasks (notebook 10);
* :mod:`.fixed_vs_learned` -- the ``random_nca`` reservoir fixed vs trained
  end to end (notebook 09);
* :mod:`.out_of_core` and :mod:`.sweeps` -- the classification protocol on a
  Dask cluster (notebook 11).
"""

from pixelflow.workbook.protocols.candidates import (
    LOGISTIC_TOL,
    Candidate,
    candidates,
    logistic_grid,
    readout_description,
    ridge_grid,
)
from pixelflow.workbook.protocols.classification import best, evaluate, search, steps_curve, summary
from pixelflow.workbook.protocols.comparisons import compare, comparison_table
from pixelflow.workbook.protocols.controls import run_controls
from pixelflow.workbook.protocols.data import AUGMENTATIONS, validation_split
from pixelflow.workbook.protocols.fitting import features
from pixelflow.workbook.protocols.tables import data_table, edge_choices, final_table, search_table, validation_accuracy
from pixelflow.workbook.tables import text_table

__all__ = [
    "AUGMENTATIONS",
    "LOGISTIC_TOL",
    "Candidate",
    "best",
    "candidates",
    "compare",
    "comparison_table",
    "data_table",
    "edge_choices",
    "evaluate",
    "features",
    "final_table",
    "logistic_grid",
    "readout_description",
    "ridge_grid",
    "run_controls",
    "search",
    "search_table",
    "steps_curve",
    "summary",
    "text_table",
    "validation_accuracy",
    "validation_split",
]
