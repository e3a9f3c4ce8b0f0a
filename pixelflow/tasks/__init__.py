"""pixelflow-rc's task modules, as thin layers over this package.

* :mod:`pixelflow.tasks.synthetic`: ``two_moons``, ``checkerboard``
  (over :mod:`pixelflow.datasets.synthetic`);
* :mod:`pixelflow.tasks.mnist`: ``load`` (over :func:`pixelflow.datasets.mnist`;
  warns when the files are not the full 60k training set);
* :mod:`pixelflow.tasks.eikonal`: ``solve_reference`` (over
  :func:`pixelflow.eikonal.reference_arrival_times`).

New code should use :mod:`pixelflow.datasets` and :mod:`pixelflow.eikonal`.
"""

from . import eikonal, mnist, synthetic

__all__ = ["eikonal", "mnist", "synthetic"]
