"""The :class:`SequenceTask` container returned by every sequence-task builder.

A sequence task is a set of ``N`` input sequences of equal length ``T`` with
their target sequences. One representation covers both kinds of task in this
package:

* single long series (NARMA, Mackey-Glass, delay line): ``N = 1``, and
  ``train``, ``validation`` and ``test`` are consecutive, disjoint time
  ranges of that one series;
* sets of short episodes (the bit-memory task): ``N = 2**bits`` independent
  sequences, and each part is a time range applied to every sequence.

So a part is always a ``slice`` over the time axis, applied to all ``N``
sequences: ``task.targets[:, task.test]`` are the test targets.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pixelflow.checks import check_steps

METRICS = ("memory_capacity", "nrmse", "success")
PARTS = ("train", "validation", "test")


def consecutive_parts(
    washout: int, n_train: int, n_validation: int, n_test: int
) -> tuple[slice, slice, slice]:
    """Train, validation and test as consecutive time ranges after a washout.

    Parameters
    ----------
    washout : int
        Leading steps that belong to no part.
    n_train, n_validation, n_test : int
        Lengths of the three parts.

    Returns
    -------
    train, validation, test : slice
        ``[washout, washout + n_train)``, then the next ``n_validation``
        steps, then the next ``n_test``.
    """
    a = washout + n_train
    b = a + n_validation
    return slice(washout, a), slice(a, b), slice(b, b + n_test)


# eq=False: the generated __eq__ would compare numpy arrays element-wise and
# then fail on the ambiguous truth value; identity comparison is the honest one.
@dataclass(frozen=True, eq=False)
class SequenceTask:
    """One generated sequence task: inputs, targets, how to split and score.

    Parameters
    ----------
    name : str
        Short task name, e.g. ``"NARMA-10"``.
    inputs : numpy.ndarray
        float64, shape (N, T, d): ``N`` sequences of ``T`` steps with ``d``
        input channels. Single-series tasks have ``N = 1``.
    targets : numpy.ndarray
        float64, shape (N, T, k): ``targets[n, t]`` is what a model should
        output at step ``t`` of sequence ``n`` having seen ``inputs[n, :t + 1]``
        (its inputs up to and including step ``t``).
    metric : {"nrmse", "success", "memory_capacity"}
        How the task is scored: :func:`pixelflow.timeseries.nrmse`,
        :func:`pixelflow.timeseries.success_rate` or
        :func:`pixelflow.timeseries.memory_capacity`.
    washout : int
        Leading steps of every sequence that are never trained on or scored
        (they let the model forget its initial state, or hold targets that
        are undefined there). ``0 <= washout < T``.
    train, validation, test : slice
        Time ranges ``slice(start, stop)`` with ``washout <= start < stop <= T``
        (step None or 1), each applied to all ``N`` sequences. Single-series
        builders make them consecutive and disjoint, so a model driven
        through the whole series sees train, then validation, then test.
        They may coincide: the bit-memory task trains and tests on the same
        32 episodes, as the literature does.
    params : dict
        The generator parameters that produced the arrays, including
        ``seed`` where the task is random; enough to regenerate them.
    split : str
        Exactly what was generated, e.g. ``"NARMA-10, u~U[0,0.5], seed 0:
        2,000 train / 1,000 validation / 1,000 test steps after 200
        washout"``.

    Raises
    ------
    TypeError
        If a field has the wrong type (arrays must be float64 numpy arrays).
    ValueError
        If shapes disagree, values are not finite, the metric is unknown, or
        a part lies outside ``[washout, T]``.

    Examples
    --------
    >>> from pixelflow.datasets import narma_task
    >>> task = narma_task(n_train=200, n_validation=100, n_test=100, washout=50)
    >>> task.inputs.shape, task.targets[:, task.test].shape
    ((1, 450, 1), (1, 100, 1))
    """

    name: str
    inputs: np.ndarray
    targets: np.ndarray
    metric: str
    washout: int
    train: slice
    validation: slice
    test: slice
    params: dict[str, Any] = field(default_factory=dict)
    split: str = ""

    def __post_init__(self) -> None:
        for text in ("name", "split"):
            if not isinstance(getattr(self, text), str):
                raise TypeError(f"{text} must be a str, got {getattr(self, text)!r}")
        if not isinstance(self.params, dict):
            raise TypeError(f"params must be a dict, got {type(self.params).__name__}")
        for part in ("inputs", "targets"):
            a = getattr(self, part)
            if not isinstance(a, np.ndarray) or a.dtype != np.float64:
                what = f"{a.dtype} array" if isinstance(a, np.ndarray) else type(a).__name__
                raise TypeError(f"{part} must be a float64 numpy array, got {what}")
            if a.ndim != 3 or 0 in a.shape:
                raise ValueError(
                    f"{part} must have shape (N, T, channels) with no empty axis, "
                    f"got shape {a.shape}"
                )
            if not np.isfinite(a).all():
                raise ValueError(f"{part} holds non-finite values")
        if self.inputs.shape[:2] != self.targets.shape[:2]:
            raise ValueError(
                f"inputs {self.inputs.shape} and targets {self.targets.shape} must "
                "agree on (N, T), the sequence and time axes"
            )
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, got {self.metric!r}")
        n_steps = self.inputs.shape[1]
        washout = check_steps(self.washout, "washout")
        if washout >= n_steps:
            raise ValueError(
                f"washout={washout} leaves nothing of the {n_steps} steps; "
                f"it must be below {n_steps}"
            )
        for part in PARTS:
            s = getattr(self, part)
            if not isinstance(s, slice):
                raise TypeError(f"{part} must be a slice over the time axis, got {s!r}")
            ok_ints = all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool)
                for v in (s.start, s.stop)
            )
            if not ok_ints or s.step not in (None, 1):
                raise ValueError(
                    f"{part} must be slice(start, stop) with int bounds and step "
                    f"None or 1, got {s!r}"
                )
            if not washout <= s.start < s.stop <= n_steps:
                raise ValueError(
                    f"{part}={s!r} must satisfy washout ({washout}) <= start < stop "
                    f"<= T ({n_steps})"
                )

    def __repr__(self) -> str:
        # The default dataclass repr would print the full arrays.
        return (
            f"SequenceTask({self.split!r}, inputs={self.inputs.shape}, "
            f"targets={self.targets.shape}, metric={self.metric!r})"
        )
