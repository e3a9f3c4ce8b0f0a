"""The time-series protocol of notebook 10: one comparison, every reservoir treated alike.

Every reservoir — a CA rule driven through a sparse random input mask, or an
echo state network from reservoirpy (with tanh units, or linear ones) — gets
the same data, the same splits, the same number of readout features and the
same ridge readout:

1. A :class:`Candidate` (reservoir kind, hyperparameters, weight seed) is
   built into a model with ``run(U, *, washout, state, return_state)``.
   Its readout features are the state, or (hyperparameter ``readout`` =
   ``"state+products"``, for scalar inputs) a reservoir of half the size
   and its state times the current input
   (:class:`pixelflow.timeseries.InputProducts`): the same feature count.
2. The whole task is run once; feature rows of the ``train`` part fit a
   ridge readout for every penalty in ``alphas``; the penalty with the best
   ``validation`` score is kept.
3. :func:`search` draws ``trials`` hyperparameter sets from the kind's
   search space (:data:`SPACES`, the same number of draws for every kind),
   screens them with one weight seed, scores the best ``finalists`` with
   several and keeps the best mean on validation; :func:`assess` then
   reports the ``test`` score of the chosen hyperparameters for more weight
   seeds.

The test part is touched only by :func:`assess`.

Scores are tuples compared lexicographically, lower is better:
``(nrmse,)`` for regression, ``(1 - success rate, nrmse)`` for the bit
memory task (the success rate is coarse, so output error breaks ties) and
``(-capacity,)`` for memory capacity. Forecasting in closed loop
(:class:`Forecast`) scores the free run against the true continuation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from tqdm.auto import tqdm

from pixelflow.checks import check_count
from pixelflow.config import ReservoirConfig
from pixelflow.readouts import RidgeReadout, ridge_path_readouts
from pixelflow.reservoir import Reservoir
from pixelflow.rules import get_rule
from pixelflow.timeseries.closed_loop import generate_each
from pixelflow.timeseries.input_products import InputProducts
from pixelflow.timeseries.metrics import memory_capacity, nrmse, success_rate

# Features are not standardised, and small penalties win often: the grid reaches far down.
ALPHAS = (1e-12, 1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 1e-1, 1.0, 10.0)
CA_CHANNELS = 4
ESN = "esn"
LINEAR_ESN = "linear_esn"
ESNS = (ESN, LINEAR_ESN)
# The readout features: the state alone, or half as large a reservoir's state and its products with the input.
READOUTS = ("state", "state+products")

# Search spaces: ("uniform", low, high), ("log", low, high), ("log1m", low, high)
# (one minus a log-uniform gap: values just below 1, such as a wave's damping,
# get as many draws per decade as values far from it) or ("choice", options).
# Shared by every reservoir: what the readout sees.
_READOUT = {"readout": ("choice", READOUTS)}
_ESN = {"sr": ("uniform", 0.1, 1.5), "lr": ("log", 0.05, 1.0), "input_scaling": ("log", 0.02, 3.0),
        "input_connectivity": ("uniform", 0.05, 1.0), "rc_connectivity": ("choice", (0.05, 0.1, 0.2)),
        "bias": ("uniform", 0.0, 1.0), **_READOUT}
# Shared by every CA rule: the input mask and the updates per input.
_MASK = {
    **_READOUT,
    "steps": ("choice", (1, 2, 4)),
    "density": ("uniform", 0.05, 0.5),
    "scale": ("log", 0.02, 2.0),
}
SPACES: dict[str, dict[str, tuple]] = {
    "wave": {**_MASK, "c": ("uniform", 0.1, 0.7), "damping": ("log1m", 1e-4, 0.2),
             "boundary": ("choice", ("periodic", "absorbing")), "write": ("choice", ("add", "replace"))},
    "diffusion_reaction": {**_MASK, "feed": ("uniform", 0.01, 0.08), "kill": ("uniform", 0.04, 0.07),
                           "scale": ("log", 0.02, 1.0), "write": ("choice", ("add", "replace"))},
    "life_like": {**_MASK, "rule": ("choice", ("B3/S23", "B36/S23", "B3678/S34678", "B1357/S1357", "B2/S")),
                  "write": ("choice", ("xor", "replace")), "steps": ("choice", (1, 2)), "scale": ("choice", (1.0,)),
                  "weights": ("choice", ("positive",))},
    "random_nca": {**_MASK, "gain": ("log", 0.3, 3.0), "leak": ("uniform", 0.05, 1.0),
                   "input_scale": ("log", 0.05, 3.0), "bias_scale": ("uniform", 0.0, 0.5), "steps": ("choice", (1, 2))},
    ESN: _ESN,
    # A linear network with a spectral radius above 1 grows without bound: the same space, stable radii only.
    LINEAR_ESN: {**_ESN, "sr": ("uniform", 0.1, 1.0)},
}
KINDS = tuple(SPACES)


def task_space(kind: str, task) -> dict[str, tuple]:
    """The search space of ``kind`` on ``task``: :data:`SPACES`, without the readout choice for vector inputs.

    Products with a ``d``-dimensional input would give ``d`` times the
    features; only scalar inputs keep the feature count equal.
    """
    space = dict(SPACES[kind])
    if task.inputs.shape[-1] != 1:
        space.pop("readout")
    return space


def sample(space: Mapping[str, tuple], rng: np.random.Generator) -> dict:
    """One draw of hyperparameters from ``space`` (names in sorted order, so a draw is reproducible)."""
    out = {}
    for name in sorted(space):
        kind, *args = space[name]
        if kind == "uniform":
            out[name] = float(rng.uniform(*args))
        elif kind in ("log", "log1m"):
            value = float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
            out[name] = value if kind == "log" else 1.0 - value
        elif kind == "choice":
            options = args[0]
            out[name] = options[int(rng.integers(len(options)))]
        else:
            raise ValueError(f"search space entry {name!r}: unknown kind {kind!r} (uniform, log, log1m or choice)")
    return out


def grid_side(features: int, channels: int = CA_CHANNELS) -> int:
    """The square grid side ``g`` with ``channels * g * g == features``."""
    g = math.isqrt(features // channels)
    if channels * g * g != features or g < 2:
        raise ValueError(f"features={features} is not {channels} x g x g for a whole g >= 2; "
                         f"pick e.g. {channels * max(2, g) ** 2}")
    return g


@dataclass(frozen=True)
class Candidate:
    """One reservoir to evaluate: its kind, hyperparameters, feature count, weight seed and array backend."""

    kind: str
    params: dict = field(default_factory=dict)
    features: int = 400
    seed: int = 0
    backend: str = "numpy"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown reservoir kind {self.kind!r}; valid: {', '.join(KINDS)}")

    def build(self):
        """``(model, run_params)``: the model and the keyword arguments of its ``run``.

        With ``readout="state+products"`` the reservoir has half the
        features (an ESN half the units, a CA grid the same size with half
        the channels) and the model is wrapped in
        :class:`~pixelflow.timeseries.InputProducts`: for a scalar input the
        readout sees ``features`` features either way.
        """
        p = dict(self.params)
        readout = p.pop("readout", "state")
        if readout not in READOUTS:
            raise ValueError(f"{self.kind}: readout must be one of {READOUTS}, got readout={readout!r}")
        products = readout == "state+products"
        model, run_params = self._reservoir(p, self.features // 2 if products else self.features,
                                            CA_CHANNELS // 2 if products else CA_CHANNELS)
        return (InputProducts(model) if products else model), run_params

    def _reservoir(self, p: dict, features: int, channels: int):
        if self.kind in ESNS:
            from pixelflow.timeseries.esn import EchoStateNetwork

            activation = "identity" if self.kind == LINEAR_ESN else "tanh"
            return EchoStateNetwork(units=features, seed=self.seed, activation=activation, **p), {}
        rule_params = {k: p.pop(k) for k in list(p) if k in get_rule(self.kind).params}
        write = p.pop("write", "add")
        encoder = {"density": p.pop("density", 0.1), "scale": p.pop("scale", 1.0),
                   "weights": p.pop("weights", "sign")}
        steps = p.pop("steps", 1)
        if p:
            raise ValueError(f"{self.kind}: unknown hyperparameter(s) {', '.join(sorted(p))}")
        g = grid_side(features, channels)
        cfg = ReservoirConfig(width=g, height=g, channels=channels, steps=steps, rule=self.kind,
                              rule_params=rule_params, input_encoding="mask", encoder_params=encoder, seed=self.seed)
        return Reservoir(cfg, backend=self.backend, progress=False), {"write": write}


@dataclass(frozen=True)
class Forecast:
    """Closed-loop scoring: free runs of ``horizon`` steps from ``windows`` start points per part.

    Each free run is warmed up by teacher forcing on the ``warmup`` true
    steps before its start; its predictions are compared with the true
    continuation of the input series (the readout is trained to predict the
    next input).
    """

    horizon: int = 84
    windows: int = 10
    warmup: int = 300

    def starts(self, part: slice) -> np.ndarray:
        """Evenly spaced start steps inside ``part`` (each run ends inside it)."""
        first, last = max(part.start, self.warmup), part.stop - self.horizon
        if last < first:
            raise ValueError(f"a part of {part.stop - part.start} steps cannot hold a {self.horizon}-step "
                             f"free run after {self.warmup} warm-up steps")
        return np.unique(np.linspace(first, last, self.windows).round().astype(int))


def _score(metric: str, y, yhat) -> tuple:
    if metric == "nrmse":
        return (nrmse(y, yhat),)
    if metric == "success":
        # Output channels are constant over parts of an episode, so the tie-break is the plain MSE.
        return (1.0 - success_rate(y, yhat)[0], float(np.mean((y - yhat) ** 2)))
    return (-memory_capacity(y, yhat)[1],)


def score_value(metric: str, score: tuple) -> float:
    """The task's own number from a score tuple: NRMSE, success rate or memory capacity."""
    return {"nrmse": score[0], "success": 1.0 - score[0], "memory_capacity": -score[0]}[metric]


def _fits(F, Y, part: slice, alphas: Sequence[float]) -> list[RidgeReadout | None]:
    """A regression readout per penalty on the rows of ``part``, from one pass (None: not solvable)."""
    rows = F[:, part].reshape(-1, F.shape[-1])
    return ridge_path_readouts(alphas, rows, Y[:, part].reshape(len(rows), -1), task="regression")


def _predict(readout, F, part: slice, k: int) -> np.ndarray:
    rows = F[:, part].reshape(-1, F.shape[-1])
    return np.asarray(readout.predict(rows), dtype=np.float64).reshape(F.shape[0], -1, k)


def free_runs(model, run_params, readouts, series: np.ndarray, starts, forecast: Forecast):
    """Each readout's predictions ``(windows, horizon, d)``, and the truths, of free runs from ``starts``.

    The readouts share one teacher-forced warm-up on ``series`` ``(T, d)``
    (:func:`pixelflow.timeseries.generate_each`).
    """
    warm = np.stack([series[s - forecast.warmup : s] for s in starts])
    truth = np.stack([series[s : s + forecast.horizon] for s in starts])
    return generate_each(model, readouts, warm, forecast.horizon, **run_params), truth


def evaluate(candidate: Candidate, task, *, alphas: Sequence[float] = ALPHAS, forecast: Forecast | None = None,
             parts: Sequence[str] = ("validation",)) -> dict:
    """Scores of ``candidate`` on ``task`` with the penalty chosen on validation.

    Returns
    -------
    dict
        ``alpha`` (chosen), ``scores`` (part -> score tuple) and, for each
        part, ``outputs`` (part -> (truth, prediction)) for plots.
    """
    model, run_params = candidate.build()
    if isinstance(model, InputProducts) and task.inputs.shape[-1] != 1:
        raise ValueError(f"readout='state+products' keeps the feature count only for a scalar input; "
                         f"{task.name} has {task.inputs.shape[-1]} inputs (see task_space)")
    F = model.run(task.inputs, **run_params)
    Y = task.targets
    k = Y.shape[-1]
    best = None
    # A reservoir whose state blew up has no readout: it scores as never fitted.
    fitted = _fits(F, Y, task.train, alphas) if np.isfinite(F).all() else []
    # A penalty too small for this feature matrix to be solved is not a candidate.
    solved = [(alpha, readout) for alpha, readout in zip(alphas, fitted) if readout is not None]
    if forecast is not None and solved:
        preds, truth = free_runs(model, run_params, [r for _, r in solved], task.inputs[0],
                                 forecast.starts(task.validation), forecast)
        # Each penalty's validation free run, kept: the chosen one's is its validation output below.
        validation = [(truth, pred) for pred in preds]
    for i, (alpha, readout) in enumerate(solved):
        if forecast is None:
            score = _score(task.metric, Y[:, task.validation], _predict(readout, F, task.validation, k))
        else:
            truth, pred = validation[i]
            score = (nrmse(truth.reshape(-1, truth.shape[-1]), pred.reshape(-1, pred.shape[-1])),)
        if not all(math.isfinite(s) for s in score):
            continue
        if best is None or score < best[0]:
            best = (score, alpha, readout, i)
    if best is None:
        return {"alpha": None, "scores": {p: (math.inf,) for p in parts}, "outputs": {}}
    _, alpha, readout, chosen = best
    scores, outputs = {}, {}
    for name in parts:
        part = getattr(task, name)
        if forecast is None:
            truth, pred = Y[:, part], _predict(readout, F, part, k)
        elif name == "validation":
            truth, pred = validation[chosen]
        else:
            (pred,), truth = free_runs(model, run_params, [readout], task.inputs[0], forecast.starts(part), forecast)
        flat = truth.reshape(-1, truth.shape[-1]), pred.reshape(-1, pred.shape[-1])
        scores[name] = (nrmse(*flat),) if forecast is not None else _score(task.metric, truth, pred)
        outputs[name] = (truth, pred)
    return {"alpha": alpha, "scores": scores, "outputs": outputs}


def _trial(candidate: Candidate, task, alphas, forecast) -> tuple[float | None, tuple]:
    result = evaluate(candidate, task, alphas=alphas, forecast=forecast)
    return result["alpha"], result["scores"]["validation"]


def mean_score(scores: Sequence[tuple]) -> tuple:
    """The element-wise mean of score tuples (infinite when any is: a seed that failed fails the draw)."""
    return tuple(float(np.mean(column)) for column in zip(*scores))


def search(kind: str, task, *, trials: int, features: int = 400, seed: int = 0, seeds: Sequence[int] | None = None,
           finalists: int | None = None, forecast: Forecast | None = None, alphas: Sequence[float] = ALPHAS,
           backend: str = "numpy", n_jobs: int = 1, progress: bool = True) -> list[dict]:
    """Random search of ``kind``'s hyperparameters on the validation part, the best draws scored over weight seeds.

    Every kind gets the same number of ``trials``, drawn from
    :func:`task_space` by a generator seeded with ``seed``. Each draw is
    built with the first weight seed of ``seeds`` (default: ``seed`` alone)
    and its penalty chosen on validation: the screen. The ``finalists`` best
    of the screen (default: every draw) are built with the other seeds too
    and ranked by the mean of their seeds' validation scores
    (:func:`mean_score`), so the chosen draw is good for several weight
    draws, not for one; screening first buys many draws for the cost of a
    few more runs. The runs go to ``n_jobs`` processes (the draws are made
    first, so the result does not depend on ``n_jobs``).

    Returns
    -------
    list of dict
        One record per trial, the finalists first (by mean), then the rest
        of the screen (stable for ties): ``params``, ``score`` (the mean over
        the seeds it was scored with), ``scores`` and ``alphas`` (per seed).
    """
    seeds = (seed,) if seeds is None else tuple(int(s) for s in seeds)
    if not seeds:
        raise ValueError("seeds must name at least one weight seed")
    finalists = trials if finalists is None else min(check_count(finalists, "finalists"), trials)
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    space = task_space(kind, task)
    draws = [sample(space, rng) for _ in range(trials)]
    screen = _runs(kind, [(params, seeds[0]) for params in draws], task, features, alphas, forecast, backend, n_jobs,
                   progress)
    records = [{"params": params, "scores": [score], "alphas": [alpha]}
               for params, (alpha, score) in zip(draws, screen)]
    order = sorted(range(trials), key=lambda i: records[i]["scores"][0])
    best, rest = order[:finalists], order[finalists:]
    later = [(i, s) for i in best for s in seeds[1:]]
    more = _runs(kind, [(draws[i], s) for i, s in later], task, features, alphas, forecast, backend, n_jobs, progress)
    for (i, _), (alpha, score) in zip(later, more, strict=True):
        records[i]["scores"].append(score)
        records[i]["alphas"].append(alpha)
    for r in records:
        r["score"] = mean_score(r["scores"])
    return ([records[i] for i in sorted(best, key=lambda i: records[i]["score"])]
            + [records[i] for i in rest])


def _runs(kind, jobs, task, features, alphas, forecast, backend, n_jobs, progress) -> list:
    """``(alpha, validation score)`` of each ``(params, weight seed)`` of ``jobs`` in order, on ``n_jobs`` processes."""
    from joblib import Parallel, delayed

    calls = (delayed(_trial)(Candidate(kind, params, features, s, backend), task, alphas, forecast)
             for params, s in jobs)
    out = []
    with tqdm(total=len(jobs), desc=f"search {kind}", unit="run", disable=not progress, leave=False) as bar:
        for result in Parallel(n_jobs=n_jobs, return_as="generator")(calls):
            out.append(result)
            bar.update()
    return out


def assess(kind: str, params: dict, task, *, seeds: Sequence[int], features: int = 400,
           forecast: Forecast | None = None, alphas: Sequence[float] = ALPHAS, backend: str = "numpy",
           n_jobs: int = 1) -> dict:
    """Test scores of fixed hyperparameters over reservoir weight seeds (penalty re-chosen on validation per seed).

    The seeds run in ``n_jobs`` processes (each seed's result does not
    depend on where it ran). Returns ``test`` (each seed's test value of the
    task's metric, see :func:`score_value`; NRMSE for forecasts), their
    ``mean`` and standard error ``sem``, and the first seed's ``outputs``.
    """
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=n_jobs)(
        delayed(evaluate)(Candidate(kind, params, features, s, backend), task, alphas=alphas, forecast=forecast,
                          parts=("validation", "test")) for s in seeds)
    metric = "nrmse" if forecast is not None else task.metric
    test = np.array([score_value(metric, r["scores"]["test"]) for r in results])
    return {"test": test.tolist(), "mean": float(test.mean()),
            "sem": float(test.std(ddof=1) / np.sqrt(len(test))) if len(test) > 1 else float("nan"),
            "alphas": [r["alpha"] for r in results], "outputs": results[0]["outputs"]}


def verdict(ca: dict, esn: dict, higher_is_better: bool) -> str:
    """Which of two :func:`assess` results is better on the test parts, and whether by more than 2 s.e.

    Returns ``"CA better"``, ``"ESN better"`` or ``"tie"``; a difference
    within twice the combined standard error of the two means is marked
    ``" (< 2 s.e.)"`` (only when both have several seeds).
    """
    diff = (ca["mean"] - esn["mean"]) * (1 if higher_is_better else -1)
    se = float(np.hypot(ca["sem"], esn["sem"])) if len(ca["test"]) > 1 else float("nan")
    out = "tie" if diff == 0 else ("CA better" if diff > 0 else "ESN better")
    if diff != 0 and np.isfinite(se) and abs(diff) <= 2 * se:
        out += " (< 2 s.e.)"
    return out
