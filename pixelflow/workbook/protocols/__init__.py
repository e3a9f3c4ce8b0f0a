"""How the notebooks compare methods, one module per kind of experiment.

* :mod:`.classification` -- images: validation split, candidates, search,
  selection, test evaluation per seed, steps curves, tables (its public
  names are also importable from here);
* :mod:`.sequences` -- driven reservoirs against an echo state network on
  sequence tasks (notebook 10);
* :mod:`.fixed_vs_learned` -- the ``random_nca`` reservoir fixed vs trained
  end to end (notebook 09);
* :mod:`.out_of_core` and :mod:`.sweeps` -- the classification protocol on a
  Dask cluster (notebook 11).
"""

from pixelflow.workbook.protocols.classification import (
    AUGMENTATIONS,
    LOGISTIC_TOL,
    Candidate,
    best,
    candidates,
    evaluate,
    features,
    final_table,
    logistic_grid,
    readout_description,
    ridge_grid,
    search,
    search_table,
    steps_curve,
    summary,
    text_table,
    validation_accuracy,
    validation_split,
)

__all__ = [
    "AUGMENTATIONS",
    "LOGISTIC_TOL",
    "Candidate",
    "best",
    "candidates",
    "evaluate",
    "features",
    "final_table",
    "logistic_grid",
    "readout_description",
    "ridge_grid",
    "search",
    "search_table",
    "steps_curve",
    "summary",
    "text_table",
    "validation_accuracy",
    "validation_split",
]
