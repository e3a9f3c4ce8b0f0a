"""Scores for sequence tasks: NRMSE, bit-memory success rate, memory capacity.

Shapes: :func:`nrmse` and :func:`memory_capacity` take ``(T,)`` for one
output or ``(..., k)`` for ``k`` outputs, every leading axis counting as
samples (so ``task.targets[:, task.test]`` of shape (N, T, k) can be passed
as it is); :func:`success_rate` takes (N, T, k) episodes.
"""

from __future__ import annotations

import numpy as np

DECISIONS = ("argmax", "threshold")


def _as_array(y: object, name: str) -> np.ndarray:
    try:
        return np.asarray(y, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of numbers, got {type(y).__name__}") from err


def _samples_by_output(y_true: object, y_pred: object) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays as (samples, outputs), after checking they match."""
    y_true = _as_array(y_true, "y_true")
    y_pred = _as_array(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "they must match"
        )
    if y_true.ndim == 0 or y_true.size == 0:
        raise ValueError(
            f"y_true must be (T,) or (..., outputs) with no empty axis, got shape {y_true.shape}"
        )
    if not np.isfinite(y_true).all():
        raise ValueError("y_true holds non-finite values")
    outputs = 1 if y_true.ndim == 1 else y_true.shape[-1]
    return y_true.reshape(-1, outputs), y_pred.reshape(-1, outputs)


def _check_varies(y_true: np.ndarray, what: str) -> np.ndarray:
    """Per-output variance of y_true, refusing constant outputs."""
    var = y_true.var(axis=0)
    flat = np.flatnonzero(var == 0)
    if flat.size:
        raise ValueError(
            f"y_true output {int(flat[0])} is constant over its {y_true.shape[0]} "
            f"samples, so {what} is undefined; score a longer or different window"
        )
    return var


def nrmse(y_true: object, y_pred: object) -> float:
    """Root-mean-square error normalised by the target's standard deviation.

    For each output ``j``: ``sqrt(mean((y_pred_j - y_true_j)**2)) /
    std(y_true_j)``, with the population standard deviation (``ddof=0``) of
    the same samples; with several outputs the result is the mean of these
    per-output values. Predicting the target's mean therefore scores exactly
    1, a perfect prediction 0.

    Parameters
    ----------
    y_true, y_pred : array_like
        Same shape: (T,) or (..., k) with every leading axis as samples.
        ``y_true`` must be finite and vary over the samples in every output.

    Returns
    -------
    float
        The NRMSE; ``inf`` or ``nan`` if ``y_pred`` is not finite (a
        diverged closed-loop forecast stays visible instead of raising).

    Raises
    ------
    ValueError
        If the shapes differ or are empty, or an output of ``y_true`` is
        constant or not finite.
    """
    y_true, y_pred = _samples_by_output(y_true, y_pred)
    var = _check_varies(y_true, "the NRMSE")
    mse = np.mean((y_pred - y_true) ** 2, axis=0)
    return float(np.mean(np.sqrt(mse / var)))


def memory_capacity(y_true: object, y_pred: object) -> tuple[np.ndarray, float]:
    """Linear memory capacity (Jaeger 2002): per-delay squared correlation.

    For each output ``k`` (delay ``k + 1`` in
    :func:`pixelflow.datasets.delay_task`), ``r2[k]`` is the squared Pearson
    correlation between ``y_true[:, k] = u(t - k - 1)`` and ``y_pred[:, k]``;
    the capacity is their sum. An output that ``y_pred`` holds constant has
    no linear information and scores 0. Over ``S`` samples, an unrelated
    prediction scores about ``1 / S`` per delay rather than 0, a bias that
    adds up over many delays.

    Parameters
    ----------
    y_true, y_pred : array_like
        Same shape: (T,) for one delay or (..., K) for ``K`` delays.

    Returns
    -------
    r2 : numpy.ndarray
        float64, shape (K,), each in [0, 1] (``nan`` where ``y_pred`` is not
        finite).
    capacity : float
        ``r2.sum()``; ``K`` for a perfect delay line.

    Raises
    ------
    ValueError
        If the shapes differ or are empty, or an output of ``y_true`` is
        constant or not finite.
    """
    y_true, y_pred = _samples_by_output(y_true, y_pred)
    var_true = _check_varies(y_true, "the correlation")
    dt = y_true - y_true.mean(axis=0)
    dp = y_pred - y_pred.mean(axis=0)
    cov = np.mean(dt * dp, axis=0)
    var_pred = np.mean(dp * dp, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(var_pred == 0, 0.0, cov**2 / (var_true * var_pred))
    # Rounding can push a perfect correlation a hair past 1.
    r2 = np.minimum(r2, 1.0)
    return r2, float(r2.sum())


def success_rate(
    y_true: object,
    y_pred: object,
    scored: slice | np.ndarray | None = None,
    *,
    decision: str = "argmax",
) -> tuple[float, np.ndarray]:
    """Fraction of episodes recalled without error (bit-memory task).

    At each scored step the prediction is turned into a decision and
    compared with the target's:

    * ``"argmax"`` (winner-take-all, the default): the output channel with
      the largest value must be the target's hot channel (ties go to the
      lower channel);
    * ``"threshold"``: every channel thresholded at 0.5 must equal the
      target thresholded at 0.5, the rule of the CA-reservoir code of
      Nichele & Molund (2017).

    A step whose prediction is not finite is wrong under either rule. An
    episode succeeds when every scored step is right. With ``scored`` the
    whole episode (as :func:`pixelflow.datasets.bit_memory_task` sets its
    ``test`` part), the readout must also signal "waiting" (``y3``) through
    the distractor; ``slice(task.params["recall_start"], None)`` scores the
    recall period only.

    Parameters
    ----------
    y_true, y_pred : array_like
        Same shape (N, T, k): ``N`` episodes of ``T`` steps, ``k >= 2``
        output channels. Under ``"argmax"`` every scored target step must
        have one largest channel (one-hot targets do).
    scored : slice, array of int or bool, or None, default None
        The time steps that count (None: all ``T``); a bool array must have
        length ``T``.
    decision : {"argmax", "threshold"}, default "argmax"
        How outputs become decisions.

    Returns
    -------
    rate : float
        Fraction of the ``N`` episodes with no wrong scored step.
    errors : numpy.ndarray
        int64, one entry per scored step (in order): how many of the ``N``
        episodes are wrong at that step. ``errors.sum()`` is the number of
        mispredicted steps over all episodes.

    Raises
    ------
    ValueError
        If the shapes differ or are not (N, T, k >= 2), ``scored`` selects
        no step, ``decision`` is unknown, or an argmax target is ambiguous.
    """
    y_true = _as_array(y_true, "y_true")
    y_pred = _as_array(y_pred, "y_pred")
    if y_true.shape != y_pred.shape:
        raise ValueError(
            f"y_true has shape {y_true.shape} but y_pred has shape {y_pred.shape}; "
            "they must match"
        )
    if y_true.ndim != 3 or 0 in y_true.shape or y_true.shape[-1] < 2:
        raise ValueError(
            f"y_true and y_pred must have shape (N, T, k) with k >= 2 output "
            f"channels, got {y_true.shape}"
        )
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, got {decision!r}")
    n_steps = y_true.shape[1]
    if scored is None:
        steps = np.arange(n_steps)
    else:
        if isinstance(scored, np.ndarray) and scored.dtype == bool and scored.shape != (n_steps,):
            raise ValueError(
                f"a bool scored mask must have shape ({n_steps},), got {scored.shape}"
            )
        try:
            steps = np.arange(n_steps)[scored]
        except (IndexError, TypeError) as err:
            raise ValueError(
                f"scored must be a slice, int indices below {n_steps} or a bool mask "
                f"of length {n_steps}, got {scored!r}"
            ) from err
        if steps.ndim != 1:
            raise ValueError(f"scored must select a 1-D set of steps, got {scored!r}")
    if steps.size == 0:
        raise ValueError(f"scored={scored!r} selects none of the {n_steps} steps")
    y_true = y_true[:, steps]
    y_pred = y_pred[:, steps]

    if decision == "argmax":
        top = y_true.max(axis=-1, keepdims=True)
        if not ((y_true == top).sum(axis=-1) == 1).all():
            raise ValueError(
                "y_true has steps with more than one largest channel; argmax "
                "decisions need one-hot targets (use decision='threshold')"
            )
        wrong = np.argmax(y_pred, axis=-1) != np.argmax(y_true, axis=-1)
    else:
        wrong = ((y_pred > 0.5) != (y_true > 0.5)).any(axis=-1)
    wrong |= ~np.isfinite(y_pred).all(axis=-1)
    rate = float(np.mean(~wrong.any(axis=1)))
    return rate, wrong.sum(axis=0).astype(np.int64)
