"""The workbook: what runs the paper's experiments on top of the library.

Nothing in the library (:mod:`pixelflow` outside this package) imports it.

* :mod:`~pixelflow.workbook.protocols` -- how the notebooks compare methods:
  validation splits, candidates, searches, test evaluation, tables; for
  classification, sequences, fixed vs learned reservoirs and out of core.
* :mod:`~pixelflow.workbook.presets` -- the validation-chosen configurations
  behind the paper's numbers.
* :mod:`~pixelflow.workbook.results`, :mod:`~pixelflow.workbook.outputs`,
  :mod:`~pixelflow.workbook.provenance` -- results files, figures and where a
  number came from.
* :mod:`~pixelflow.workbook.notebooks` (``python -m
  pixelflow.workbook.notebooks``), :mod:`~pixelflow.workbook.latex` (``python
  -m pixelflow.workbook.latex``) -- running notebooks and turning their
  results into the paper's tables.
* :mod:`~pixelflow.workbook.bench`, :mod:`~pixelflow.workbook.speed` -- the
  benchmark suite and its numbers; :mod:`~pixelflow.workbook.plotting` -- the
  notebooks' figures.
"""
