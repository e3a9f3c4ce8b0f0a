"""Training a neural CA by gradient descent through its rollout.

A *task* says where a rollout starts and what it is scored on::

    class Task:
        def initial(self, n, generator) -> (states, info): ...   # fresh start states, per-batch info
        def loss(self, states, info) -> Tensor of shape (n,): ...  # per-sample losses
        # optional:
        def constrain(self, states, info) -> states: ...          # after every step (e.g. clamp known pixels)
        def damage(self, states, generator) -> states: ...        # pool training: damage some samples

:class:`Trainer` runs the loop: a batch (from a :class:`~pixelflow.nca.pool.SamplePool`
or fresh from the task), a random number of steps, the loss, per-parameter
gradient normalisation and clipping, Adam, and a checkpoint every so often
that holds the weights, the optimiser, the pool and the random generator, so
an interrupted run resumes exactly where it stopped: same seed, same result,
interrupted or not (on the CPU).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import torch
from tqdm.auto import tqdm

from pixelflow.checks import check_int
from pixelflow.nca import checkpoint as ckpt
from pixelflow.nca.model import NCA
from pixelflow.nca.pool import SamplePool
from pixelflow.threads import torch_threads


def _step_range(steps) -> tuple[int, int]:
    if isinstance(steps, int) and not isinstance(steps, bool):
        steps = (steps, steps)
    try:
        lo, hi = (int(s) for s in steps)
    except (TypeError, ValueError):
        raise ValueError(f"steps must be an int or a (min, max) pair, got {steps!r}") from None
    if not (1 <= lo <= hi):
        raise ValueError(f"steps must satisfy 1 <= min <= max, got {steps!r}")
    return lo, hi


def plateaued(values, patience: int, min_improvement: float = 0.01) -> bool:
    """Whether the last ``patience`` of a series of held-out losses all failed to improve on the best before them.

    Improving means falling below that best by at least the fraction
    ``min_improvement``. The losses must be positive.

    >>> plateaued([1.0, 0.5, 0.45], patience=1, min_improvement=0.2), plateaued([1.0, 0.5, 0.45], 2, 0.2)
    (True, False)
    """
    values = list(values)
    if len(values) <= patience:
        return False
    return min(values[-patience:]) > min(values[:-patience]) * (1.0 - min_improvement)


def signature_differences(old: dict, new: dict, prefix: str = "") -> list[tuple[str, object, object]]:
    """``(key, old value, new value)`` of every setting that differs between two training signatures.

    Nested settings (the model's ``spec``) are compared key by key and named with dots; a setting only one
    side has is given as ``None`` on the other.

    >>> signature_differences({"lr": 0.002, "spec": {"hidden": 96, "channels": 12}},
    ...                       {"lr": 0.001, "spec": {"hidden": 128, "channels": 12}})
    [('lr', 0.002, 0.001), ('spec.hidden', 96, 128)]
    """
    out = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += signature_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append((f"{prefix}{key}", a, b))
    return out


class Trainer:
    """Fits an NCA's parameters to a task.

    Parameters
    ----------
    model : NCA
        Trained in place.
    task : object
        See the module docstring.
    iterations : int
        Total optimiser steps (a resumed run continues up to this number).
    batch_size : int
    steps : int or (int, int)
        Rollout length per iteration, drawn uniformly from the inclusive range.
    lr : float
        Adam learning rate.
    lr_drop_at : float or None
        Fraction of ``iterations`` after which the learning rate is divided by 10.
    normalize_gradients : bool
        Divide each parameter's gradient by its norm (keeps the update size
        independent of the very uneven gradient scales through long rollouts).
    clip : float or None
        Clip the total gradient norm (after normalisation) to this value.
    pool_size : int
        With ``pool_size > 0`` batches come from a :class:`SamplePool` of that
        size filled with ``task.initial``; the highest-loss member of each batch
        is reset to a fresh start state. The task's ``info`` must be None.
    damage : int
        In pool training, how many of the lowest-loss samples of each batch the
        task's ``damage`` hits (teaches regeneration).
    seed : int
        Seeds the one generator behind every random choice of the loop.
    checkpoint : path or None
        Where to save and resume the training state. A file already there is
        resumed from: it is read with ``torch.load(weights_only=True)``, so it
        cannot run code, and one that is unreadable, of another set-up or not
        a training checkpoint raises ValueError naming it.
    checkpoint_every : int
        Iterations between checkpoints (one is always written at the end).
    progress : bool
        Show a tqdm bar with the running loss.
    threads : int or None
        CPU threads while training (restored afterwards; None leaves the
        setting alone); see :mod:`pixelflow.threads` for why one.
    validate : callable or None
        ``validate(model) -> float``, a held-out loss (lower is better), called
        without gradients every ``validate_every`` iterations and after the
        last; it must draw its randomness from its own generator.
    validate_every : int
    patience : int or None
        With ``validate``, stop early once ``patience`` validations in a row
        have not improved on the best before them by at least
        ``min_improvement`` (a fraction): the validation loss has reached its
        plateau. ``iterations`` is then the cap (and the learning-rate drop
        happens at its fraction of the cap, if training gets there).
    min_improvement : float

    Attributes
    ----------
    history_ : list of float
        Mean batch loss of every iteration.
    iteration_ : int
        Iterations done so far.
    wall_time_s_ : float
        Training time, summed over resumed sessions.
    validation_ : list of (int, float)
        ``(iteration, validate(model))`` pairs.
    stopped_early_ : bool
        Whether ``patience`` ended training before ``iterations``.
    pool_ : SamplePool or None
    """

    def __init__(self, model: NCA, task, *, iterations: int, batch_size: int = 8, steps=(32, 64),
                 lr: float = 2e-3, lr_drop_at: float | None = 0.7, normalize_gradients: bool = True,
                 clip: float | None = 1.0, pool_size: int = 0, damage: int = 0, seed: int = 0,
                 checkpoint: str | os.PathLike | None = None, checkpoint_every: int = 100, progress: bool = True,
                 threads: int | None = 1, validate=None, validate_every: int = 100, patience: int | None = None,
                 min_improvement: float = 0.01):
        self.model = model
        self.task = task
        self.iterations = iterations
        self.batch_size = batch_size
        self.steps = steps
        self.lr = lr
        self.lr_drop_at = lr_drop_at
        self.normalize_gradients = normalize_gradients
        self.clip = clip
        self.pool_size = pool_size
        self.damage = damage
        self.seed = seed
        self.checkpoint = checkpoint
        self.checkpoint_every = checkpoint_every
        self.progress = progress
        self.threads = threads
        self.validate = validate
        self.validate_every = validate_every
        self.patience = patience
        self.min_improvement = min_improvement

    # ------------------------------------------------------------ set-up
    def _validate(self):
        if not isinstance(self.model, NCA):
            raise TypeError(f"model must be a pixelflow.nca.NCA, got {type(self.model).__name__}")
        for name in ("initial", "loss"):
            if not callable(getattr(self.task, name, None)):
                raise TypeError(f"task must have a callable {name}(); got {type(self.task).__name__}")
        check_int(self.iterations, "iterations", low=1)
        check_int(self.batch_size, "batch_size", low=1)
        check_int(self.checkpoint_every, "checkpoint_every", low=1)
        if self.threads is not None:
            check_int(self.threads, "threads", low=1)
        self._steps = _step_range(self.steps)
        if not (self.lr > 0):
            raise ValueError(f"lr must be positive, got {self.lr!r}")
        if self.lr_drop_at is not None and not (0.0 < self.lr_drop_at < 1.0):
            raise ValueError(f"lr_drop_at must lie in (0, 1) or be None, got {self.lr_drop_at!r}")
        if self.clip is not None and not (self.clip > 0):
            raise ValueError(f"clip must be positive or None, got {self.clip!r}")
        if self.pool_size:
            check_int(self.pool_size, "pool_size", low=1)
            if self.pool_size < self.batch_size:
                raise ValueError(f"pool_size ({self.pool_size}) must be at least batch_size ({self.batch_size})")
        if not (0 <= self.damage < self.batch_size) or (self.damage and not self.pool_size):
            raise ValueError(f"damage must lie in 0..batch_size-1 and needs pool training, got {self.damage!r}")
        if self.damage and not callable(getattr(self.task, "damage", None)):
            raise TypeError("damage > 0 needs a task with a damage(states, generator) method")
        if self.validate is not None and not callable(self.validate):
            raise TypeError(f"validate must be callable (model -> float) or None, got {type(self.validate).__name__}")
        check_int(self.validate_every, "validate_every", low=1)
        if self.patience is not None:
            check_int(self.patience, "patience", low=1)
            if self.validate is None:
                raise ValueError("patience needs a validate function to tell when training has stopped improving")
        if not 0.0 <= self.min_improvement < 1.0:
            raise ValueError(f"min_improvement must be a fraction in [0, 1), got {self.min_improvement!r}")

    def _signature(self) -> dict:
        # What must match for a checkpoint to be resumed by this trainer.
        out = {"spec": self.model.spec, "iterations": self.iterations, "batch_size": self.batch_size,
               "steps": list(self._steps), "lr": self.lr, "lr_drop_at": self.lr_drop_at,
               "normalize_gradients": self.normalize_gradients, "clip": self.clip, "pool_size": self.pool_size,
               "damage": self.damage, "seed": self.seed}
        if self.validate is not None:  # (checkpoints of trainings without validation keep their signature)
            out.update(validate_every=self.validate_every, patience=self.patience,
                       min_improvement=self.min_improvement)
        return out

    def _setup(self):
        self.generator_ = torch.Generator().manual_seed(self.seed)
        self.optimizer_ = torch.optim.Adam(self.model.parameters(), lr=self.lr)
        milestones = [] if self.lr_drop_at is None else [int(self.lr_drop_at * self.iterations)]
        self.scheduler_ = torch.optim.lr_scheduler.MultiStepLR(self.optimizer_, milestones, gamma=0.1)
        self.pool_ = None
        if self.pool_size:
            start, info = self.task.initial(self.pool_size, self.generator_)
            if info is not None:
                raise ValueError("pool training needs a task whose initial() returns info=None")
            self.pool_ = SamplePool(start)
        self.history_: list[float] = []
        self.iteration_ = 0
        self.wall_time_s_ = 0.0
        self.validation_: list[tuple[int, float]] = []
        self.stopped_early_ = False

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """The training state a checkpoint holds: plain tensors, numbers, strings, lists and dicts only."""
        scheduler = self.scheduler_.state_dict()
        # MultiStepLR keeps its milestones in a Counter; stored as a plain dict
        # so the file loads under weights_only=True, and made a Counter again on resume.
        scheduler["milestones"] = dict(scheduler["milestones"])
        return {
            "format": ckpt.FORMAT, "signature": self._signature(), "model": self.model.state_dict(),
            "optimizer": self.optimizer_.state_dict(), "scheduler": scheduler,
            "generator": self.generator_.get_state(), "pool": self.pool_.state_dict() if self.pool_ else None,
            "history": list(self.history_), "iteration": self.iteration_, "wall_time_s": self.wall_time_s_,
            "validation": [[int(i), float(v)] for i, v in self.validation_], "stopped_early": self.stopped_early_,
        }

    def _resume(self, path: Path) -> None:
        state = ckpt.load(path, "training")
        if state["signature"] != self._signature():
            changed = "; ".join(f"{key}: {old!r} there, {new!r} here"
                                for key, old, new in signature_differences(state["signature"], self._signature()))
            free = next(path.with_name(f"{path.stem}_{k}{path.suffix}") for k in range(2, 10**6)
                        if not path.with_name(f"{path.stem}_{k}{path.suffix}").exists())
            raise ValueError(f"checkpoint {path} was written by a different training set-up ({changed}); to train "
                             f"this one, pass another checkpoint path (e.g. checkpoint={str(free)!r}), or delete "
                             f"{path} to start it over")
        # Only the model outlives a failed resume (optimiser, scheduler, generator
        # and pool are rebuilt by _setup), so it alone is put back on failure.
        before = {k: v.clone() for k, v in self.model.state_dict().items()}
        try:
            history, iteration, wall_time_s = state["history"], state["iteration"], state["wall_time_s"]
            if not (isinstance(history, list) and isinstance(iteration, int) and len(history) == iteration
                    and 0 <= iteration <= self.iterations and isinstance(wall_time_s, float)):
                raise ValueError(f"inconsistent progress (iteration {iteration!r}, {type(history).__name__} "
                                 f"history, wall time {wall_time_s!r})")
            self.model.load_state_dict(state["model"])
            self.optimizer_.load_state_dict(state["optimizer"])
            scheduler = dict(state["scheduler"])
            scheduler["milestones"] = Counter(scheduler["milestones"])
            self.scheduler_.load_state_dict(scheduler)
            self.generator_.set_state(state["generator"])
            if self.pool_ is not None:
                self.pool_.load_state_dict(state["pool"])
        except (RuntimeError, TypeError, ValueError, KeyError, IndexError, AttributeError) as exc:
            self.model.load_state_dict(before)
            raise ValueError(f"checkpoint {path} cannot be resumed: {' '.join(str(exc).split())}; "
                             f"delete it or change `checkpoint`") from exc
        self.history_ = list(history)
        self.iteration_ = iteration
        self.wall_time_s_ = wall_time_s
        self.validation_ = [(int(i), float(v)) for i, v in state.get("validation", [])]
        self.stopped_early_ = bool(state.get("stopped_early", False))

    def _save(self) -> None:
        if self.checkpoint is not None:
            ckpt.save(self.state_dict(), self.checkpoint)

    # ------------------------------------------------------------ the loop
    def _batch(self):
        g, task = self.generator_, self.task
        if self.pool_ is None:
            x, info = task.initial(self.batch_size, g)
            return None, x, info
        idx, x = self.pool_.sample(self.batch_size, g)
        x[:1] = task.initial(1, g)[0]
        if self.damage:
            x[-self.damage:] = task.damage(x[-self.damage:], g)
        return idx, x, None

    def _iterate(self) -> float:
        g = self.generator_
        idx, x, info = self._batch()
        lo, hi = self._steps
        steps = int(torch.randint(lo, hi + 1, (1,), generator=g))
        constrain = None
        if callable(getattr(self.task, "constrain", None)):
            def constrain(s):
                return self.task.constrain(s, info)
        x = self.model(x, steps, generator=g, constrain=constrain)
        losses = self.task.loss(x, info)
        if losses.ndim != 1 or len(losses) != len(x):
            raise ValueError(f"task.loss must return one loss per sample, shape ({len(x)},); got {tuple(losses.shape)}")
        loss = losses.mean()
        self.optimizer_.zero_grad(set_to_none=True)
        loss.backward()
        params = [p for p in self.model.parameters() if p.grad is not None]
        if self.normalize_gradients:
            for p in params:
                p.grad.div_(p.grad.norm() + 1e-8)
        if self.clip is not None:
            torch.nn.utils.clip_grad_norm_(params, self.clip)
        self.optimizer_.step()
        self.scheduler_.step()
        if self.pool_ is not None:
            self.pool_.commit(idx, x, losses)
        return loss.item()

    def _validation_step(self) -> None:
        self.model.eval()
        with torch.no_grad():
            value = float(self.validate(self.model))
        self.model.train()
        self.validation_.append((self.iteration_, value))
        if self.patience is not None:
            self.stopped_early_ = plateaued([v for _, v in self.validation_], self.patience, self.min_improvement)

    def fit(self, resume: bool = True) -> Trainer:
        """Train up to ``iterations``, resuming from ``checkpoint`` when it exists and ``resume`` is true.

        Raises
        ------
        ValueError
            If the file at ``checkpoint`` cannot be resumed (see ``checkpoint``);
            the model is left as it was.
        """
        self._validate()
        self._setup()
        path = None if self.checkpoint is None else Path(self.checkpoint)
        if resume and path is not None and path.exists():
            self._resume(path)
        self.model.train()
        with torch_threads(self.threads):
            self._loop()
        self._save()
        self.model.eval()
        return self

    def _loop(self) -> None:
        bar = tqdm(total=self.iterations, initial=self.iteration_, disable=not self.progress, desc="training",
                   unit="it")
        running = self.history_[-1] if self.history_ else None
        try:
            while self.iteration_ < self.iterations and not self.stopped_early_:
                t0 = time.perf_counter()
                loss = self._iterate()
                self.wall_time_s_ += time.perf_counter() - t0
                self.history_.append(loss)
                self.iteration_ += 1
                if self.validate is not None and (self.iteration_ % self.validate_every == 0
                                                  or self.iteration_ == self.iterations):
                    self._validation_step()
                running = loss if running is None else 0.95 * running + 0.05 * loss
                bar.set_postfix(loss=f"{running:.4g}", refresh=False)
                bar.update()
                if self.iteration_ % self.checkpoint_every == 0 and self.iteration_ < self.iterations:
                    self._save()
        finally:
            bar.close()

