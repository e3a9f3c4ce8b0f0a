"""Closed-loop (free-running) generation with a driven reservoir and a trained readout.

Teacher forcing drives the reservoir with the true sequence; free running
feeds each prediction back as the next input. Both reservoir kinds of the
workbook — :class:`pixelflow.Reservoir` and
:class:`pixelflow.timeseries.EchoStateNetwork` — offer the same
``run(U, *, washout, state, return_state)``, which is all this needs.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from pixelflow.checks import check_int

# A prediction beyond this has left any range a reservoir was driven with; fed
# back into a float32 CA state it would overflow. Such a free run has diverged.
DIVERGED = 1e30


def _next_inputs(readout, features, n: int, d: int, diverged: np.ndarray) -> np.ndarray:
    """The readout's next input vectors; rows that diverge are marked in ``diverged`` and set to NaN."""
    diverged |= ~np.isfinite(features).all(axis=1)
    y = np.asarray(readout.predict(np.where(diverged[:, None], 0.0, features)), dtype=np.float64)
    if y.size != n * d:
        raise ValueError(f"the readout predicts {y.size // max(n, 1)} value(s) per step, but the reservoir takes "
                         f"d={d} inputs: train it to predict the next input vector")
    y = y.reshape(n, d)
    with np.errstate(invalid="ignore"):
        diverged |= ~(np.abs(y) <= DIVERGED).all(axis=1)
    y[diverged] = np.nan
    return y


def generate(model, readout, warmup, horizon: int, *, progress: bool = False, **run_params) -> np.ndarray:
    """Forecast ``horizon`` steps by feeding the readout's predictions back as inputs.

    Parameters
    ----------
    model : Reservoir or EchoStateNetwork
        Anything with ``run(U, *, washout, state, return_state)``.
    readout : fitted estimator
        ``predict(features)`` gives the next input vector (trained on
        teacher-forced features to predict ``u(t + 1)`` from row ``t``).
    warmup : array, shape (T, d) or (N, T, d)
        The true sequence that drives the reservoir first (teacher forcing);
        the first prediction is for the step after its last one.
    horizon : int
        Free-running steps (>= 1).
    progress : bool
        Show a progress bar over the free-running steps.
    **run_params
        Passed to every ``model.run`` call (e.g. ``write`` for a CA reservoir).

    Returns
    -------
    ndarray, shape (horizon, d) or (N, horizon, d)
        Prediction ``h`` is the forecast of ``warmup``'s step ``T + h``. A
        free run that diverges (a non-finite prediction or feature, or a
        prediction beyond ``DIVERGED``) is NaN from that step on; the other
        sequences of the batch run on unaffected.
    """
    return generate_each(model, [readout], warmup, horizon, progress=progress, **run_params)[0]


def generate_each(model, readouts, warmup, horizon: int, *, progress: bool = False, **run_params) -> list[np.ndarray]:
    """:func:`generate` for each of several readouts of one model, sharing the teacher-forced warm-up.

    The warm-up does not depend on the readout, so it runs once; each
    readout's free run then starts from its own copy of the warmed-up state.
    Each result is the one :func:`generate` gives for that readout, bit for
    bit: the free runs are the same calls on the same batch. A regularisation
    path (one readout per ridge penalty) costs one warm-up instead of one per
    penalty.
    """
    check_int(horizon, "horizon", low=1)
    warmup = np.asarray(warmup, dtype=np.float64)
    if warmup.ndim not in (2, 3):
        raise ValueError(f"warmup must have shape (T, d) or (N, T, d); got shape {warmup.shape}")
    single = warmup.ndim == 2
    batch = warmup[None] if single else warmup
    n, _, d = batch.shape
    warm_features, warm_state = model.run(batch, state=None, return_state=True, **run_params)
    results = []
    for readout in readouts:
        state = warm_state.copy()
        out = np.empty((n, horizon, d))
        diverged = np.zeros(n, dtype=bool)
        out[:, 0] = _next_inputs(readout, warm_features[:, -1], n, d, diverged)
        for h in tqdm(range(1, horizon), desc="free running", unit="step", disable=not progress, leave=False):
            # A diverged sequence is driven by zeros from then on, only so that the batch can go on.
            fed = np.where(diverged[:, None], 0.0, out[:, h - 1])
            features, state = model.run(fed[:, None], state=state, return_state=True, **run_params)
            out[:, h] = _next_inputs(readout, features[:, -1], n, d, diverged)
        results.append(out[0] if single else out)
    return results
