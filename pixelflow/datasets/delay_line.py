"""The linear memory-capacity task (Jaeger 2002, "Short term memory in echo
state networks"): drive a model with i.i.d. input and ask it to output the
input of ``k`` steps ago, for every ``k = 1 .. max_delay`` at once. The
score is the memory capacity, the sum over ``k`` of the squared correlation
between ``u(t - k)`` and the model's ``k``-th output.
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_count, check_real, check_seed, check_steps

from .sequence import SequenceTask, consecutive_parts


def delay_line(
    length: int,
    max_delay: int,
    seed: int = 0,
    *,
    low: float = -1.0,
    high: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """I.i.d. uniform input and its delayed copies.

    Parameters
    ----------
    length : int
        Number of steps.
    max_delay : int
        Largest delay ``K``; the target has one channel per delay 1 .. K.
    seed : int, default 0
        Seed of :func:`numpy.random.default_rng`; same seed, same input.
    low, high : float, default -1.0, 1.0
        Range of the uniform input, ``low < high`` (``[-1, 1]`` is Jaeger's
        choice up to scale; ``[0, 1]`` suits inputs that must be
        non-negative).

    Returns
    -------
    u : numpy.ndarray
        float64, shape (length,).
    delayed : numpy.ndarray
        float64, shape (length, max_delay): ``delayed[t, k - 1] = u[t - k]``
        for ``t >= k`` and 0 for ``t < k``, where the delayed input would
        come from before the series began (those steps must not be scored).
    """
    length = check_count(length, "length")
    max_delay = check_count(max_delay, "max_delay")
    seed = check_seed(seed)
    low = check_real(low, "low")
    high = check_real(high, "high")
    if high <= low:
        raise ValueError(f"high must exceed low={low:g}, got high={high:g}")
    u = np.random.default_rng(seed).uniform(low, high, size=length)
    delayed = np.zeros((length, max_delay))
    for k in range(1, max_delay + 1):  # k >= length leaves an all-zero channel
        delayed[k:, k - 1] = u[:-k]
    return u, delayed


def delay_task(
    max_delay: int,
    n_train: int = 2000,
    n_validation: int = 1000,
    n_test: int = 1000,
    washout: int = 200,
    *,
    seed: int = 0,
    low: float = -1.0,
    high: float = 1.0,
) -> SequenceTask:
    """The memory-capacity task as a one-series :class:`SequenceTask`.

    ``inputs[0, t, 0] = u[t]`` and ``targets[0, t, k - 1] = u[t - k]``
    (:func:`delay_line`); train, validation and test are consecutive ranges
    after the washout, which must cover the first ``max_delay`` steps where
    some delayed targets do not exist.

    Parameters
    ----------
    max_delay : int
        Largest delay ``K`` (``K`` target channels).
    n_train, n_validation, n_test : int, default 2000, 1000, 1000
        Lengths of the three parts, in steps.
    washout : int, default 200
        Leading steps in no part, ``>= max_delay``.
    seed : int, default 0
        Seed of the input draw.
    low, high : float, default -1.0, 1.0
        Range of the uniform input.

    Returns
    -------
    SequenceTask
        ``inputs`` (1, T, 1), ``targets`` (1, T, max_delay),
        ``metric="memory_capacity"``.
    """
    max_delay = check_count(max_delay, "max_delay")
    n_train = check_count(n_train, "n_train")
    n_validation = check_count(n_validation, "n_validation")
    n_test = check_count(n_test, "n_test")
    washout = check_steps(washout, "washout")
    if washout < max_delay:
        raise ValueError(
            f"washout={washout} must be >= max_delay={max_delay}: before step "
            f"{max_delay} the delayed targets reach back before the series began"
        )
    length = washout + n_train + n_validation + n_test
    u, delayed = delay_line(length, max_delay, seed, low=low, high=high)
    train, validation, test = consecutive_parts(washout, n_train, n_validation, n_test)
    return SequenceTask(
        name=f"delay line 1..{max_delay}",
        inputs=u.reshape(1, -1, 1),
        targets=delayed.reshape(1, length, max_delay),
        metric="memory_capacity",
        washout=washout,
        train=train,
        validation=validation,
        test=test,
        params={
            "max_delay": max_delay,
            "seed": seed,
            "low": float(low),
            "high": float(high),
        },
        split=(
            f"delay line, delays 1..{max_delay}, u~U[{low:g},{high:g}], seed {seed}: "
            f"{n_train:,} train / {n_validation:,} validation / {n_test:,} test "
            f"steps after {washout:,} washout"
        ),
    )
