"""The NARMA benchmark (nonlinear auto-regressive moving average; Atiya &
Parlos 2000, as used for reservoirs by Jaeger 2003 and most since).

For order ``n`` the system is driven by i.i.d. input ``u(t) ~ U[low, high]``
(standard: ``U[0, 0.5]``) and produces

    y(t+1) = 0.3 y(t) + 0.05 y(t) sum_{i=0}^{n-1} y(t-i) + 1.5 u(t-n+1) u(t) + 0.1

with everything before ``t = 0`` taken as zero (``y(0) = 0``, and
``u(t) = y(t) = 0`` for ``t < 0``), so the first ``n - 1`` steps are a
start-up transient that a task's washout covers.
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_count, check_real, check_seed, check_steps

from .sequence import SequenceTask, consecutive_parts

ALPHA, BETA, GAMMA, DELTA = 0.3, 0.05, 1.5, 0.1

# A trajectory past this has run away: with the coefficients above, orbits
# that leave about [0.1, 1.3] grow roughly like y**2 within a few steps and
# in practice do not come back (the largest value in 1,000 standard NARMA-10 series of
# 4,200 steps that stayed bounded was 1.22), so the exact cut-off only decides
# how many steps of a doomed draw are wasted.
RUNAWAY = 100.0


def _narma_output(u: list[float], order: int) -> np.ndarray | None:
    """``y(t+1)`` for ``t = 0 .. len(u)-1``, or None if the orbit ran away."""
    # Plain Python floats: this loop is inherently sequential, and scalar
    # numpy arithmetic would be several times slower.
    y = [0.0] * (len(u) + 1)
    for t, u_t in enumerate(u):
        lagged = u[t - order + 1] if t >= order - 1 else 0.0
        window = sum(y[max(0, t - order + 1) : t + 1])
        y_next = ALPHA * y[t] + BETA * y[t] * window + GAMMA * lagged * u_t + DELTA
        # `not <` so that NaN counts as a runaway too.
        if not abs(y_next) < RUNAWAY:
            return None
        y[t + 1] = y_next
    return np.asarray(y[1:], dtype=np.float64)


def narma(
    length: int,
    order: int = 10,
    seed: int = 0,
    *,
    low: float = 0.0,
    high: float = 0.5,
    max_redraws: int = 100,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Draw a NARMA input series and the system's response to it.

    Alignment: ``y[t]`` is ``y(t+1)`` of the recurrence, the value the system
    produces *after* seeing ``u[0] .. u[t]``; it depends on ``u[t]`` itself,
    so a model must predict ``y[t]`` from the inputs up to and including
    step ``t``.

    Divergence: for rare input draws the recurrence runs away to infinity
    (standard NARMA-10 with ``U[0, 0.5]``: about 2.5 % of 4,200-step series).
    When the output leaves ``[-100, 100]`` or stops being finite, the whole
    input series is redrawn from the next child of ``SeedSequence(seed)``:
    attempt ``i`` (counting from 0) uses ``SeedSequence(seed).spawn(i + 1)[i]``
    for the input, so the result is still a deterministic function of the
    seed. This conditions the input on the output staying bounded, a bias
    that is negligible when redraws are rare. With these coefficients orders
    above 10 diverge almost always at ``U[0, 0.5]`` (order 11: about 70 % of
    4,200-step draws, order 12 and up: all), which ends in the error below.

    Parameters
    ----------
    length : int
        Number of steps.
    order : int, default 10
        ``n``, the memory of the system (NARMA-10 is ``order=10``).
    seed : int, default 0
        Seed of the input draws; same seed, same series.
    low, high : float, default 0.0, 0.5
        Range of the uniform input, ``low < high``.
    max_redraws : int, default 100
        How many times a diverged draw may be replaced before giving up.

    Returns
    -------
    u : numpy.ndarray
        float64, shape (length,), the input.
    y : numpy.ndarray
        float64, shape (length,), the output, ``y[t] = y(t+1)``.
    redraws : int
        How many diverged draws were discarded (0 almost always).

    Raises
    ------
    ValueError
        If an argument is out of range, or every one of the
        ``1 + max_redraws`` draws diverged (the parameters make the system
        unstable).
    """
    length = check_count(length, "length")
    order = check_count(order, "order")
    seed = check_seed(seed)
    low = check_real(low, "low")
    high = check_real(high, "high")
    if high <= low:
        raise ValueError(f"high must exceed low={low:g}, got high={high:g}")
    max_redraws = check_steps(max_redraws, "max_redraws")
    root = np.random.SeedSequence(seed)
    for attempt in range(max_redraws + 1):
        # spawn() hands out children in order, so attempt i always gets
        # child i however many attempts came before.
        rng = np.random.default_rng(root.spawn(1)[0])
        u = rng.uniform(low, high, size=length)
        y = _narma_output(u.tolist(), order)
        if y is not None:
            return u, y, attempt
    raise ValueError(
        f"NARMA-{order} with u~U[{low:g},{high:g}] diverged in all "
        f"{max_redraws + 1} draws of {length:,} steps (seed {seed}); the system is "
        "unstable for these parameters: use order <= 10 and high <= 0.5"
    )


def narma_task(
    n_train: int = 2000,
    n_validation: int = 1000,
    n_test: int = 1000,
    washout: int = 200,
    *,
    order: int = 10,
    seed: int = 0,
    low: float = 0.0,
    high: float = 0.5,
) -> SequenceTask:
    """NARMA as a one-series :class:`SequenceTask` scored by NRMSE.

    One series of ``washout + n_train + n_validation + n_test`` steps is drawn
    with :func:`narma`; train, validation and test are consecutive time
    ranges after the washout. ``inputs[0, t, 0] = u[t]`` and
    ``targets[0, t, 0] = y[t] = y(t+1)``, the next output given inputs up to
    and including ``t``.

    Parameters
    ----------
    n_train, n_validation, n_test : int, default 2000, 1000, 1000
        Lengths of the three parts, in steps.
    washout : int, default 200
        Leading steps in no part (at least ``order`` covers the start-up
        transient of the recurrence; more lets a reservoir forget its
        initial state).
    order : int, default 10
        NARMA order.
    seed : int, default 0
        Seed of the input draw.
    low, high : float, default 0.0, 0.5
        Range of the uniform input.

    Returns
    -------
    SequenceTask
        ``inputs`` and ``targets`` of shape (1, T, 1), ``metric="nrmse"``;
        ``params["redraws"]`` counts diverged draws that were replaced.
    """
    n_train = check_count(n_train, "n_train")
    n_validation = check_count(n_validation, "n_validation")
    n_test = check_count(n_test, "n_test")
    washout = check_steps(washout, "washout")
    length = washout + n_train + n_validation + n_test
    u, y, redraws = narma(length, order, seed, low=low, high=high)
    train, validation, test = consecutive_parts(washout, n_train, n_validation, n_test)
    redrawn = f" ({redraws} diverged draw{'s' * (redraws > 1)} replaced)" if redraws else ""
    return SequenceTask(
        name=f"NARMA-{order}",
        inputs=u.reshape(1, -1, 1),
        targets=y.reshape(1, -1, 1),
        metric="nrmse",
        washout=washout,
        train=train,
        validation=validation,
        test=test,
        params={
            "order": order,
            "seed": seed,
            "low": float(low),
            "high": float(high),
            "redraws": redraws,
            "coefficients": {"alpha": ALPHA, "beta": BETA, "gamma": GAMMA, "delta": DELTA},
        },
        split=(
            f"NARMA-{order}, u~U[{low:g},{high:g}], seed {seed}: {n_train:,} train / "
            f"{n_validation:,} validation / {n_test:,} test steps after "
            f"{washout:,} washout{redrawn}"
        ),
    )
