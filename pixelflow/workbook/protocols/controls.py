"""What the CA steps contribute: controls of a selected design and fixed-feature baselines beside it.

A reservoir's accuracy mixes what its dynamics do with what the rest of the
design does (the encoder, a random channel lift, the feature maps and their
pooling). The controls keep everything but the dynamics:

:func:`zero_step`
    Each ``random_nca`` member run for a single update and recording it.
    Its state starts empty, so after one update it is ``leak * tanh(b +
    W_in u)``: the input lifted channel by channel with the design's own
    weights (the same seed draws the same ``b`` and ``W_in``), nothing from
    the neighbours, then the same feature maps and pooling.
:func:`zero_step_matched`
    As many independent lifts per member as the design records steps, side
    by side: the same feature count as the design.
:func:`random_conv_matched`
    Fixed random convolutions with the receptive fields of the recorded
    steps (``2t + 1``), the same nonlinearity, feature maps and pooling, and
    no recurrence (:class:`pixelflow.baselines.RandomConvConfig`): the same
    feature count again.

:func:`baseline_candidates` puts these with the literature's fixed-feature
baselines (wavelet scattering with the same ridge readout, k nearest
neighbours on the pixels) and a trained CNN (the learned upper reference),
ready for :func:`~pixelflow.workbook.protocols.search`.

>>> from pixelflow import ReservoirConfig
>>> design = ReservoirConfig(14, 14, 8, 4, "random_nca", record=(1, 2, 3, 4), pool=7,
...                          feature_maps=(("products", 7), ("state", 7)))
>>> zero_step(design).n_features * 4 == zero_step_matched(design).n_features == design.n_features
True
>>> random_conv_matched(design).n_features == design.n_features
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sklearn.neighbors import KNeighborsClassifier

from pixelflow.baselines import ConvNetClassifier, RandomConvConfig, ScatteringConfig
from pixelflow.config import ReservoirConfig
from pixelflow.stack import StackConfig
from pixelflow.workbook.protocols.candidates import Candidate, candidates, ridge_grid
from pixelflow.workbook.protocols.classification import best, evaluate, search, steps_curve

__all__ = ["LIFT_SEED_STEP", "baseline_candidates", "random_conv_matched", "run_controls", "zero_step",
           "zero_step_matched"]

# Seed offset between the independent lifts of zero_step_matched (a prime, far from the stacks' member offsets).
LIFT_SEED_STEP = 7919


def _members(config) -> tuple:
    members = config.members if isinstance(config, StackConfig) else (config,)
    for m in members:
        if not isinstance(m, ReservoirConfig) or m.rule != "random_nca":
            raise ValueError(f"the controls are defined for random_nca reservoirs, got a member {m!r}")
    return members


def _stack(members):
    return members[0] if len(members) == 1 else StackConfig(tuple(members))


def zero_step(config: ReservoirConfig | StackConfig):
    """The design with one update recorded per member: the input lift without dynamics (see the module notes)."""
    return _stack([dataclasses.replace(m, steps=1, record=(1,)) for m in _members(config)])


def zero_step_matched(config: ReservoirConfig | StackConfig):
    """:func:`zero_step` with one independent lift per recorded step of each member: the design's feature count.

    The first lift of each member has the member's seed; the others are
    offset by multiples of :data:`LIFT_SEED_STEP`.
    """
    lifts = []
    for m in _members(config):
        lifts += [dataclasses.replace(m, steps=1, record=(1,), seed=m.seed + LIFT_SEED_STEP * k)
                  for k in range(len(m.record_steps))]
    return _stack(lifts)


def random_conv_matched(config: ReservoirConfig | StackConfig):
    """Random convolutions matched member by member (:meth:`pixelflow.baselines.RandomConvConfig.matching`)."""
    return _stack([RandomConvConfig.matching(m) for m in _members(config)])


def baseline_candidates(design: ReservoirConfig | StackConfig, image_shape: Sequence[int], alphas: Sequence[float],
                        *, knn_neighbors: Sequence[int] = (1, 3, 5, 7), cnn_epochs: int = 10,
                        cnn_batch_size: int = 128, cnn_threads: int | None = 1, seed: int = 0) -> list[Candidate]:
    """The controls of ``design`` and the baselines, each with its readout grid, for one search.

    Parameters
    ----------
    design : the selected random_nca reservoir (or stack)
    image_shape : ``(H, W)`` or ``(H, W, C)`` of the images
    alphas : the ridge grid of the design's own search (the same budget)
    knn_neighbors : the k tried for k nearest neighbours on the pixels
    cnn_epochs : the CNN is scored after every epoch up to this (one run);
        validation picks the epoch count
    cnn_batch_size, cnn_threads : the CNN's mini-batch and torch threads (one
        thread: notebooks run side by side; mini-batches of 128 train an epoch
        ~1.8x faster than 64 on one CPU thread)
    seed : of the CNN's initialisation and shuffling

    Returns
    -------
    list of Candidate
        Named ``"0 steps (lift)"``, ``"0 steps, same dim."``, ``"random conv, same dim."``,
        ``"scattering J=2 L=8"`` (ridge over ``alphas`` each), ``"pixels, kNN"``
        and ``"pixels, CNN (trained)"``.
    """
    shape = tuple(int(s) for s in image_shape)
    height, width = shape[:2]
    channels = shape[2] if len(shape) == 3 else 1
    ridge = ridge_grid(alphas)
    cnn = [ConvNetClassifier(shape, epochs=e, batch_size=cnn_batch_size, seed=seed, n_threads=cnn_threads,
                             progress=False) for e in range(1, int(cnn_epochs) + 1)]
    return (candidates({"0 steps (lift)": zero_step(design), "0 steps, same dim.": zero_step_matched(design),
                        "random conv, same dim.": random_conv_matched(design),
                        "scattering J=2 L=8": ScatteringConfig(height, width, J=2, L=8, channels=channels)}, ridge)
            + candidates({"pixels, kNN": None}, [KNeighborsClassifier(int(k)) for k in knn_neighbors])
            + candidates({"pixels, CNN (trained)": None}, cnn))


def run_controls(design: Candidate, X_train, y_train, X_test, y_test, *, alphas: Sequence[float],
                 seeds: Sequence[int] = (0,), steps: Sequence[int] | None = None, cnn_epochs: int = 10,
                 knn_neighbors: Sequence[int] = (1, 3, 5, 7), seed: int = 0, backend: str = "cpu",
                 progress: bool = True) -> dict:
    """The controls and baselines of a selected design: searched, chosen and tested like the design.

    One :func:`~pixelflow.workbook.protocols.search` over
    :func:`baseline_candidates` (the validation split of ``seed``, the same
    ``alphas``), the best readout of each on validation, its test accuracy
    over ``seeds`` (:func:`~pixelflow.workbook.protocols.evaluate`, test
    predictions kept for paired comparisons), and, when ``steps`` are given,
    the design's validation accuracy against the number of steps (the state
    after ``t`` steps alone, :func:`~pixelflow.workbook.protocols.steps_curve`).

    Returns
    -------
    dict
        ``candidates``, ``rows`` (the search), ``chosen`` (name → Candidate),
        ``final`` (name → evaluate() output), ``steps_curve`` (rows; empty
        without ``steps``).
    """
    cands = baseline_candidates(design.config, X_train.shape[1:], alphas, knn_neighbors=knn_neighbors,
                                cnn_epochs=cnn_epochs, seed=seed)
    rows = search(cands, X_train, y_train, seed=seed, backend=backend, progress=progress)
    chosen = {name: best(rows, cands, {"name": name}) for name in dict.fromkeys(c.name for c in cands)}
    final = {name: evaluate(c, X_train, y_train, X_test, y_test, seeds=seeds, backend=backend, progress=progress,
                            split_seed=seed) for name, c in chosen.items()}
    curve = [] if steps is None else steps_curve(design, X_train, y_train, steps=steps, seed=seed, backend=backend,
                                                 progress=progress)
    return {"candidates": cands, "rows": rows, "chosen": chosen, "final": final, "steps_curve": curve}
