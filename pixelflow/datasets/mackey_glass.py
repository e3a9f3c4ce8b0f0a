"""The Mackey-Glass delay differential equation (Mackey & Glass 1977), the
standard chaotic series for reservoir forecasting (Jaeger & Haas 2004):

    dx/dt = beta x(t - tau) / (1 + x(t - tau)**n) - gamma x(t)

With ``beta = 0.2, gamma = 0.1, n = 10`` the solution settles to the fixed
point ``x = 1`` for small ``tau`` (``tau = 2`` and ``4``), oscillates on a
limit cycle for moderate ``tau`` (``tau = 5``: period about 17 time units,
x in about [0.92, 1.08]) and is chaotic at the usual ``tau = 17`` (x in about
[0.42, 1.32], quasi-period 50 time units: the spectral peak and the first
autocorrelation maximum both sit at 50).
"""

from __future__ import annotations

import math

import numpy as np

from pixelflow.checks import check_count, check_real, check_seed, check_steps

from .sequence import SequenceTask, consecutive_parts

TRANSFORMS = ("none", "tanh")


def _whole_steps(value: float, dt: float, name: str) -> int:
    """``value / dt`` as an int, refusing values that are not multiples of dt."""
    steps = round(value / dt)
    # A relative tolerance, so that tau=17, dt=0.1 (170.00000000000003) passes.
    if not math.isclose(steps * dt, value, rel_tol=1e-9, abs_tol=1e-12):
        raise ValueError(
            f"{name}={value:g} must be a whole multiple of dt={dt:g}; "
            f"pick dt so that {name} / dt is an integer"
        )
    return steps


def mackey_glass(
    length: int,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    n: float = 10.0,
    x0: float = 1.2,
    dt: float = 0.1,
    sample_every: float = 1.0,
    seed: int = 0,
    discard: float = 1000.0,
    *,
    perturbation: float = 1e-3,
    transform: str = "none",
) -> np.ndarray:
    """Integrate the Mackey-Glass equation and sample the solution.

    Scheme: classical 4th-order Runge-Kutta with step ``dt``, where ``dt``
    must divide ``tau`` (and ``sample_every`` and ``discard``) exactly, so
    the delayed value at the start and end of every step is a stored grid
    value, ``x(t - tau)`` and ``x(t + dt - tau)``. The two half-step stages
    use their average, i.e. linear interpolation at ``t + dt/2 - tau``.
    That interpolation is second-order accurate, so the scheme as a whole
    converges with order 2 in ``dt`` (halving ``dt`` divides the error by
    about 4), not 4. At the default ``dt = 0.1`` the error over the first 300
    time units is about 2e-4 (measured against ``dt = 0.0125``); past that,
    chaos (at ``tau = 17``) amplifies any such difference, so two step sizes
    give different trajectories on the same attractor after about 1,000 time
    units.

    History: ``x(t)`` for ``t`` in ``[-tau, 0]`` is ``x0`` plus independent
    ``U[-perturbation, perturbation]`` noise on each grid point, drawn with
    ``seed``. Different seeds therefore give different (for chaotic ``tau``,
    after a while unrelated) trajectories on the same attractor;
    ``perturbation=0`` gives the classic constant history, and the seed then
    has no effect.

    Sampling: integration runs from ``t = 0``; the first ``discard`` time
    units are dropped as transient and the returned samples are
    ``x(discard + i * sample_every)`` for ``i = 0 .. length-1``.

    Parameters
    ----------
    length : int
        Number of samples returned.
    tau : float, default 17.0
        Delay, > 0.
    beta, gamma, n : float, default 0.2, 0.1, 10.0
        Production rate, decay rate and nonlinearity exponent (all > 0).
    x0 : float, default 1.2
        History level, > 0.
    dt : float, default 0.1
        Integration step, > 0; ``tau``, ``sample_every`` and ``discard``
        must be whole multiples of it.
    sample_every : float, default 1.0
        Time between returned samples.
    seed : int, default 0
        Seed of the history perturbation.
    discard : float, default 1000.0
        Initial time span dropped as transient (>= 0).
    perturbation : float, default 1e-3
        Half-width of the uniform noise on the history (>= 0).
    transform : {"none", "tanh"}, default "none"
        Scaling applied to the samples: ``"none"`` returns ``x`` itself;
        ``"tanh"`` returns ``tanh(x - 1)``, the squashing of Jaeger & Haas
        (2004), which maps the tau=17 attractor to about [-0.53, 0.31].

    Returns
    -------
    numpy.ndarray
        float64, shape (length,).

    Raises
    ------
    TypeError, ValueError
        If an argument is not a number of the allowed kind and range, or a
        time is not a whole multiple of ``dt``.
    """
    length = check_count(length, "length")
    tau = check_real(tau, "tau", low=0.0, low_open=True)
    beta = check_real(beta, "beta", low=0.0, low_open=True)
    gamma = check_real(gamma, "gamma", low=0.0, low_open=True)
    n = check_real(n, "n", low=0.0, low_open=True)
    x0 = check_real(x0, "x0", low=0.0, low_open=True)
    dt = check_real(dt, "dt", low=0.0, low_open=True)
    sample_every = check_real(sample_every, "sample_every", low=0.0, low_open=True)
    seed = check_seed(seed)
    discard = check_real(discard, "discard", low=0.0)
    perturbation = check_real(perturbation, "perturbation", low=0.0)
    if transform not in TRANSFORMS:
        raise ValueError(f"transform must be one of {TRANSFORMS}, got {transform!r}")
    delay = _whole_steps(tau, dt, "tau")
    every = _whole_steps(sample_every, dt, "sample_every")
    skip = _whole_steps(discard, dt, "discard")
    if delay < 1 or every < 1:
        raise ValueError(f"dt={dt:g} must not exceed tau={tau:g} or sample_every={sample_every:g}")

    rng = np.random.default_rng(seed)
    history = x0 + rng.uniform(-perturbation, perturbation, size=delay + 1)
    # x[j] is x at time (j - delay) * dt: the history fills x[0 .. delay].
    x = history.tolist()
    n_steps = skip + (length - 1) * every
    x.extend([0.0] * n_steps)
    half = 0.5 * dt

    def rate(now: float, delayed: float) -> float:
        return beta * delayed / (1.0 + delayed**n) - gamma * now

    # Plain Python floats: the recurrence is sequential, and scalar numpy
    # arithmetic would be several times slower.
    for j in range(delay, delay + n_steps):
        lag_start = x[j - delay]
        lag_end = x[j - delay + 1]
        lag_mid = 0.5 * (lag_start + lag_end)
        now = x[j]
        k1 = rate(now, lag_start)
        k2 = rate(now + half * k1, lag_mid)
        k3 = rate(now + half * k2, lag_mid)
        k4 = rate(now + dt * k3, lag_end)
        x[j + 1] = now + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)

    samples = np.asarray(x[delay + skip :: every], dtype=np.float64)
    if transform == "tanh":
        samples = np.tanh(samples - 1.0)
    return samples


def mackey_glass_task(
    horizon: int = 1,
    n_train: int = 2000,
    n_validation: int = 1000,
    n_test: int = 1000,
    washout: int = 200,
    *,
    tau: float = 17.0,
    beta: float = 0.2,
    gamma: float = 0.1,
    n: float = 10.0,
    x0: float = 1.2,
    dt: float = 0.1,
    sample_every: float = 1.0,
    seed: int = 0,
    discard: float = 1000.0,
    perturbation: float = 1e-3,
    transform: str = "none",
) -> SequenceTask:
    """Mackey-Glass forecasting as a one-series :class:`SequenceTask`.

    A series ``s`` of ``T + horizon`` samples, ``T = washout + n_train +
    n_validation + n_test``, is drawn with :func:`mackey_glass`; the input is
    ``inputs[0, t, 0] = s[t]`` and the target ``targets[0, t, 0] = s[t +
    horizon]``, the value ``horizon`` samples (``horizon * sample_every`` time
    units) ahead. Train, validation and test are consecutive ranges after the
    washout.

    Multi-step (closed-loop) forecasting feeds predictions back as inputs and
    is left to the caller, who needs the raw series ``s``: it is
    ``inputs[0, :, 0]`` followed by ``targets[0, -horizon:, 0]``, and
    ``params`` minus ``"horizon"`` are the keyword arguments that make
    :func:`mackey_glass` regenerate it (a longer one, too: the samples do not
    depend on ``length``).

    Parameters
    ----------
    horizon : int, default 1
        Prediction distance in samples (1 = one-step-ahead).
    n_train, n_validation, n_test : int, default 2000, 1000, 1000
        Lengths of the three parts, in samples.
    washout : int, default 200
        Leading samples in no part.
    tau, beta, gamma, n, x0, dt, sample_every, seed, discard, perturbation, transform
        Passed to :func:`mackey_glass` (same defaults) and recorded in
        ``params``.

    Returns
    -------
    SequenceTask
        ``inputs`` and ``targets`` of shape (1, T, 1), ``metric="nrmse"``.
    """
    horizon = check_count(horizon, "horizon")
    n_train = check_count(n_train, "n_train")
    n_validation = check_count(n_validation, "n_validation")
    n_test = check_count(n_test, "n_test")
    washout = check_steps(washout, "washout")
    n_steps = washout + n_train + n_validation + n_test
    mg = {
        "tau": tau,
        "beta": beta,
        "gamma": gamma,
        "n": n,
        "x0": x0,
        "dt": dt,
        "sample_every": sample_every,
        "seed": seed,
        "discard": discard,
        "perturbation": perturbation,
        "transform": transform,
    }
    series = mackey_glass(n_steps + horizon, **mg)
    train, validation, test = consecutive_parts(washout, n_train, n_validation, n_test)
    scaling = "" if transform == "none" else ", tanh(x-1)"
    return SequenceTask(
        name=f"Mackey-Glass tau={tau:g}",
        inputs=series[:n_steps].reshape(1, -1, 1),
        targets=series[horizon:].reshape(1, -1, 1),
        metric="nrmse",
        washout=washout,
        train=train,
        validation=validation,
        test=test,
        params={"horizon": horizon, **mg},
        split=(
            f"Mackey-Glass tau={tau:g}{scaling}, {horizon}-step-ahead "
            f"(dt {dt:g}, sampled every {sample_every:g}, first {discard:g} discarded), "
            f"seed {seed}: {n_train:,} train / {n_validation:,} validation / "
            f"{n_test:,} test samples after {washout:,} washout"
        ),
    )
