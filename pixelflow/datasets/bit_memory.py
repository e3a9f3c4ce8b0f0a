"""The n-bit memory task in the form of Jaeger (2012, "Long short-term memory
in echo state networks: details of a simulation study", Jacobs University
tech. report 27), the benchmark that the cellular-automaton reservoir papers
use (Yilmaz 2014; Nichele & Molund 2017).

A model sees a pattern of ``bits`` binary digits, then a long stretch of
distractor input, then a cue, and must reproduce the pattern after the cue.
With ``bits = 5`` and ``distractor = T0`` this is Jaeger's 5-bit task, whose
timing in his 1-based steps is:

* ``t = 1 .. 5``: the pattern, ``a1(t) = bit``, ``a2(t) = 1 - bit``;
* ``t = 6 .. T0 + 4``: distractor, ``a3 = 1``;
* ``t = T0 + 5``: cue, ``a4 = 1``;
* ``t = T0 + 6 .. T0 + 10``: recall period, ``a3 = 1`` again;

so every input step is one-hot over ``a1 .. a4``, and a sequence has
``T0 + 10`` steps. The target is one-hot over ``y1 .. y3``: ``y3 = 1``
("waiting") for ``t = 1 .. T0 + 5``, and during the recall period
``y1(t) = a1(t - T0 - 5)``, ``y2(t) = a2(t - T0 - 5)``, ``y3 = 0``.
``distractor`` counts the steps from the end of the pattern through the cue
(``T0 - 1`` distractor steps plus the cue step).
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_count
from pixelflow.memory import ensure_fits

from .sequence import SequenceTask

N_INPUTS = 4  # a1, a2: the bit and its complement; a3: distractor; a4: cue
N_OUTPUTS = 3  # y1, y2: the recalled bit and its complement; y3: waiting


def bit_memory(bits: int = 5, distractor: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """All ``2**bits`` episodes of the bit-memory task.

    Sequence ``i`` carries the binary digits of ``i``, most significant
    first, so the patterns are ``00000, 00001, ..., 11111`` for ``bits = 5``.
    In 0-based steps, with ``T = 2 * bits + distractor``: the pattern fills
    steps ``[0, bits)``, the distractor ``[bits, bits + distractor - 1)``,
    the cue is step ``bits + distractor - 1``, and the recall period is
    ``[bits + distractor, T)`` (the last ``bits`` steps). See the module
    docstring for Jaeger's 1-based statement of the same timing.

    Parameters
    ----------
    bits : int, default 5
        Pattern length, >= 1.
    distractor : int, default 200
        Jaeger's ``T0``: steps from the end of the pattern up to and
        including the cue, >= 1 (200 in Jaeger 2012 and the CA-reservoir
        papers; ``distractor = 1`` puts the cue right after the pattern).

    Returns
    -------
    inputs : numpy.ndarray
        float64, shape (2**bits, T, 4), channels ``a1 .. a4``; one-hot at
        every step.
    targets : numpy.ndarray
        float64, shape (2**bits, T, 3), channels ``y1 .. y3``; one-hot at
        every step.
    """
    bits = check_count(bits, "bits")
    distractor = check_count(distractor, "distractor")
    n_sequences = 2**bits
    n_steps = 2 * bits + distractor
    ensure_fits(
        n_sequences * n_steps * (N_INPUTS + N_OUTPUTS) * 8,
        f"the {bits}-bit memory task ({n_sequences:,} sequences of {n_steps:,} steps)",
        "use fewer bits",
    )
    shifts = np.arange(bits - 1, -1, -1)
    pattern = ((np.arange(n_sequences)[:, None] >> shifts) & 1).astype(np.float64)
    cue = bits + distractor - 1
    recall = slice(bits + distractor, n_steps)

    inputs = np.zeros((n_sequences, n_steps, N_INPUTS))
    inputs[:, :bits, 0] = pattern
    inputs[:, :bits, 1] = 1.0 - pattern
    inputs[:, bits:, 2] = 1.0
    inputs[:, cue, 2] = 0.0
    inputs[:, cue, 3] = 1.0

    targets = np.zeros((n_sequences, n_steps, N_OUTPUTS))
    targets[:, : recall.start, 2] = 1.0
    targets[:, recall, 0] = pattern
    targets[:, recall, 1] = 1.0 - pattern
    return inputs, targets


def bit_memory_task(bits: int = 5, distractor: int = 200) -> SequenceTask:
    """The bit-memory task as a :class:`SequenceTask` scored by success rate.

    All ``2**bits`` episodes from :func:`bit_memory`, each an independent
    sequence: a model should start every episode from the same initial state.
    Train, validation and test are all the same ``2**bits`` sequences over
    their whole length (``washout = 0``), because the task is one of
    memory, not generalisation, and Jaeger (2012) and the CA-reservoir papers
    train and test on the full set. Scoring the whole length means the
    readout must also hold ``y3 = 1`` through the distractor, as in the
    CA-reservoir papers, where a sequence counts only if every time step is
    right; ``params["recall_start"]`` gives the first recall step for scoring
    the recall period alone.

    Parameters
    ----------
    bits : int, default 5
        Pattern length.
    distractor : int, default 200
        Steps from the end of the pattern through the cue (Jaeger's ``T0``).

    Returns
    -------
    SequenceTask
        ``inputs`` (2**bits, T, 4), ``targets`` (2**bits, T, 3),
        ``metric="success"``.
    """
    inputs, targets = bit_memory(bits, distractor)
    n_sequences, n_steps = inputs.shape[:2]
    everything = slice(0, n_steps)
    return SequenceTask(
        name=f"{bits}-bit memory",
        inputs=inputs,
        targets=targets,
        metric="success",
        washout=0,
        train=everything,
        validation=everything,
        test=everything,
        params={
            "bits": bits,
            "distractor": distractor,
            "recall_start": bits + distractor,
        },
        split=(
            f"{bits}-bit memory, distractor {distractor}: all {n_sequences:,} patterns "
            f"x {n_steps:,} steps, train = validation = test (same sequences)"
        ),
    )
