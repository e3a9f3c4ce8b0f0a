"""The core ``random_nca`` reservoir in PyTorch, with its weights trainable end to end.

Fixed vs learned is the workbook's central comparison: the same reservoir,
once with its random weights frozen (:class:`pixelflow.Reservoir`), once with
them trained through a linear head by backpropagation. This module holds

- :class:`LearnedReservoir`, an exact torch mirror of ``random_nca`` as
  :class:`pixelflow.Reservoir` runs it: the drive comes from the core's own
  (fixed, numpy) encoder via :meth:`pixelflow.Reservoir.encode`, the weights
  ``mix``, ``bias`` and ``inject`` start from :meth:`pixelflow.Reservoir.rule_weights`
  (so the same seed gives the same reservoir), and perception (identity,
  Sobel, Laplacian with the rule's boundary), the leaky ``tanh`` update and
  the recording (steps, feature maps, pooling, feature order) compute what
  :mod:`pixelflow.stencils`, :mod:`pixelflow.rules.random_nca` and
  :mod:`pixelflow.recording` compute. Perception followed by the 1×1 mixing
  runs as one 3×3 convolution (:func:`mixed_kernel`) and pooling as
  ``avg_pool2d``, which are cheap to differentiate; so untrained, its
  features equal ``Reservoir(config).transform(X)`` to float32 rounding;
- :class:`LearnedReservoirClassifier`, a scikit-learn style estimator that
  trains the chosen weights jointly with a softmax head, then fits the same
  ridge readout as the fixed reservoir on the learned features;
- argument checks (:func:`check_config`, :func:`check_train`, ...) shared
  with the workbook's fixed-vs-learned protocol
  (:mod:`pixelflow.workbook.protocols.fixed_vs_learned`).

>>> from pixelflow import ReservoirConfig
>>> from pixelflow.datasets import digits
>>> ds = digits()
>>> cfg = ReservoirConfig(8, 8, 4, 2, "random_nca", record=(1, 2))
>>> clf = LearnedReservoirClassifier(cfg, epochs=1, progress=False).fit(ds.X_train, ds.y_train)
>>> clf.transform(ds.X_test).shape, len(clf.history_)
((450, 512), 1)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from types import SimpleNamespace

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from pixelflow.checks import check_int, check_real
from pixelflow.config import ReservoirConfig
from pixelflow.inputs import check_batch
from pixelflow.nca.perceive import circular_pad
from pixelflow.readouts import RidgeReadout, ridge_path_accuracy
from pixelflow.recording import apply_map
from pixelflow.reservoir import Reservoir
from pixelflow.rules import get_rule
from pixelflow.stencils import LAPLACIAN_9, SOBEL_X, SOBEL_Y
from pixelflow.threads import torch_threads

__all__ = ["TRAINABLE", "LearnedReservoir", "LearnedReservoirClassifier", "check_alphas", "check_config",
           "check_labels", "check_train", "mixed_kernel", "pooled_products", "select_alpha"]

#: The rule weights that can be trained, as named by ``random_nca``'s ``build``.
TRAINABLE = ("mix", "bias", "inject")

# Inference always runs blocks of exactly this many samples (the last one
# zero-padded), so a sample's features never depend on the rest of the batch,
# whatever the BLAS kernel chooses for a given matrix size.
TRANSFORM_BLOCK = 64
# The head's fixed standardisation is estimated from at most this many
# training samples of the untrained reservoir.
SCALER_SAMPLES = 4096

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def check_config(config) -> ReservoirConfig:
    if not isinstance(config, ReservoirConfig):
        raise TypeError(f"config must be a ReservoirConfig, got {type(config).__name__}")
    if config.rule != "random_nca":
        raise ValueError(f"config.rule must be 'random_nca' (the rule this module mirrors), got {config.rule!r}")
    if config.rule_params.get("perception", "sobel") != "sobel":
        raise ValueError("the learned reservoir mirrors random_nca's Sobel perception; got rule_params "
                         f"perception={config.rule_params['perception']!r}")
    return config


def check_train(train) -> tuple[str, ...]:
    if isinstance(train, str) or not isinstance(train, Sequence):
        raise TypeError(f"train must be a sequence of weight names from {TRAINABLE}, got {train!r}")
    for name in train:
        if name not in TRAINABLE:
            raise ValueError(f"train: unknown weight {name!r}; valid: {', '.join(TRAINABLE)}")
    if len(set(train)) != len(train):
        raise ValueError(f"train has repeated names: {list(train)}")
    return tuple(train)


def check_alphas(readout_alpha) -> tuple[float, ...]:
    """``readout_alpha`` as a tuple of positive numbers (empty for None: no ridge readout)."""
    if readout_alpha is None:
        return ()
    if isinstance(readout_alpha, Sequence) and not isinstance(readout_alpha, str):
        if not readout_alpha:
            raise ValueError("readout_alpha must be a positive number, a non-empty sequence of them or None, got []")
        return tuple(check_real(a, "readout_alpha", low=0.0, low_open=True) for a in readout_alpha)
    return (check_real(readout_alpha, "readout_alpha", low=0.0, low_open=True),)


def check_labels(y, n: int, what: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"y{what} must be 1-D with one label per sample of X{what} ({n}), got shape {y.shape}")
    if y.dtype.kind not in "iub":
        raise TypeError(f"y{what} must hold integer class labels, got dtype {y.dtype}")
    return y


# ---------------------------------------------------------------------------
# The torch mirror of random_nca
# ---------------------------------------------------------------------------


# Perception kernels in the order of pixelflow.stencils.perceive's channel blocks.
_STENCILS = np.stack([np.pad([[1.0]], 1), SOBEL_X, SOBEL_Y, LAPLACIAN_9])  # (4, 3, 3)


def mixed_kernel(mix: torch.Tensor) -> torch.Tensor:
    """The 3×3 convolution equal to :func:`pixelflow.stencils.perceive` followed by the 1×1 mixing ``mix``.

    Perception is linear, so ``mix @ perceive(s)`` is one cross-correlation
    of ``s`` with ``K[o, i] = sum_k mix[o, k C + i] * stencil_k`` (identity,
    Sobel-x, Sobel-y, 9-point Laplacian): the neural-CA form, with one
    convolution in place of the perception's shifted copies.

    Parameters
    ----------
    mix : tensor, shape (C, 4 C)

    Returns
    -------
    tensor, shape (C, C, 3, 3)
    """
    c = mix.shape[0]
    stencils = torch.as_tensor(_STENCILS, dtype=mix.dtype)
    return torch.einsum("okc,kij->ocij", mix.reshape(c, 4, c), stencils)


def _pad(x: torch.Tensor, boundary: str) -> torch.Tensor:
    """One-cell border as in :func:`pixelflow.stencils.pad1` (``periodic``: wrap, ``zero``: zeros)."""
    if boundary == "periodic":
        return circular_pad(x)
    if boundary == "zero":
        return F.pad(x, (1, 1, 1, 1), mode="constant", value=0.0)
    raise ValueError(f"boundary must be 'periodic' or 'zero' (random_nca's), got {boundary!r}")


def pooled_products(x: torch.Tensor, p: int) -> torch.Tensor:
    """Torch mirror of :func:`pixelflow.recording.pooled_products` (pairs in ``triu_indices`` order)."""
    n, c, h, w = x.shape
    hp, wp = h // p, w // p
    blocks = x.reshape(n, c, hp, p, wp, p).permute(0, 2, 4, 1, 3, 5).reshape(n, hp * wp, c, p * p)
    gram = torch.matmul(blocks, blocks.transpose(2, 3)) * (1.0 / (p * p))
    iu, ju = np.triu_indices(c)
    pairs = gram[:, :, torch.as_tensor(iu), torch.as_tensor(ju)]  # (N, blocks, pairs)
    return pairs.permute(0, 2, 1).reshape(n, len(iu), hp, wp)


# The array namespace pixelflow.recording.apply_map needs, for torch tensors.
_TORCH_MAPS = SimpleNamespace(abs=torch.abs, maximum=torch.clamp_min)


class LearnedReservoir(nn.Module):
    """``random_nca`` as :class:`pixelflow.Reservoir` runs it, with trainable weights.

    Each step::

        z = gain * mix @ perceive(s) + bias + input_scale * inject @ u
        s <- (1 - leak) * s + leak * tanh(z)

    from ``s = 0``, where ``u`` is the encoded input (:meth:`encode`), and the
    recorded states become features exactly as in :mod:`pixelflow.recording`.

    Parameters
    ----------
    config : ReservoirConfig
        A ``random_nca`` config; its seed, encoder, rule parameters, grid,
        recorded steps and feature maps are used as they are.
    sample_shape : tuple of int
        Shape of one input sample (e.g. ``(28, 28)``); fixes the encoder and
        the number of input channels, as the first ``transform`` call does
        for a :class:`~pixelflow.Reservoir`.
    train : sequence of {"mix", "bias", "inject"}
        Weights that are ``nn.Parameter`` with ``requires_grad=True``; the
        others are parameters too but frozen.

    Attributes
    ----------
    mix : nn.Parameter, shape (C, 4 C)
    bias : nn.Parameter, shape (C, 1)
    inject : nn.Parameter, shape (C, input channels)
        Initialised from the core's weights for ``config.seed``.
    reservoir : pixelflow.Reservoir
        The fixed reservoir it mirrors (used for the encoder).
    """

    def __init__(self, config: ReservoirConfig, sample_shape: tuple, train: Sequence[str] = TRAINABLE):
        super().__init__()
        self.config = check_config(config)
        self.train_names = check_train(train)
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.reservoir = Reservoir(config, backend="numpy", progress=False)
        self.params = get_rule("random_nca").resolve(config.rule_params)
        self.dtype = _DTYPES[config.dtype]
        weights = self.reservoir.rule_weights(self.sample_shape)
        for name in TRAINABLE:
            tensor = torch.as_tensor(weights[name], dtype=self.dtype)
            setattr(self, name, nn.Parameter(tensor.clone(), requires_grad=name in self.train_names))
        self.recording = config.recording

    @property
    def n_features(self) -> int:
        """Length of a feature row (``config.n_features``)."""
        return self.config.n_features

    def n_trainable(self) -> int:
        """Number of scalar weights that training updates."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def encode(self, X) -> torch.Tensor:
        """The drive of every sample, from the core's fixed encoder, as a tensor ``(N, C_in, H, W)``."""
        X = check_batch(X)
        if X.shape[1:] != self.sample_shape:
            raise ValueError(f"X has samples of shape {X.shape[1:]}, but this reservoir was built for "
                             f"{self.sample_shape}")
        return torch.from_numpy(np.ascontiguousarray(self.reservoir.encode(X))).to(self.dtype)

    def _features(self, state: torch.Tensor) -> torch.Tensor:
        n = state.shape[0]
        parts = []
        for name, pool in self.recording.maps:
            if name == "products":
                parts.append(pooled_products(state, pool).reshape(n, -1))
            else:
                mapped = apply_map(state, name, _TORCH_MAPS)
                # Block means as in pixelflow.recording.avg_pool (one op, cheap to differentiate).
                parts.append((F.avg_pool2d(mapped, pool) if pool > 1 else mapped).reshape(n, -1))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)

    def forward(self, drive: torch.Tensor) -> torch.Tensor:
        """Features of an encoded batch.

        Parameters
        ----------
        drive : tensor, shape (N, C_in, H, W)
            From :meth:`encode`.

        Returns
        -------
        tensor, shape (N, n_features)
            In the config's dtype, ordered ``[recorded step][feature map][channel or pair][row][col]``.
        """
        c, p = self.config, self.params
        n, cin, h, w = drive.shape
        state = drive.new_zeros((n, c.channels, h, w))
        kernel = mixed_kernel(self.mix)
        bias = self.bias.reshape(1, c.channels, 1, 1)
        # The re-injected input is the same at every step: computed once (the core recomputes it).
        injected = None
        if p.input_scale:
            injected = p.input_scale * torch.matmul(self.inject, drive.reshape(n, cin, h * w)).reshape(n, -1, h, w)
        rows = [self._features(state)] if 0 in self.recording.steps else []
        for t in range(1, c.steps + 1):
            z = p.gain * F.conv2d(_pad(state, p.boundary), kernel) + bias
            if injected is not None:
                z = z + injected
            state = (1.0 - p.leak) * state + p.leak * torch.tanh(z)
            if t in self.recording.steps:
                rows.append(self._features(state))
        return rows[0] if len(rows) == 1 else torch.cat(rows, dim=1)

    @torch.no_grad()
    def transform_drive(self, drive: torch.Tensor) -> np.ndarray:
        """Float32 features of encoded samples, in fixed-size blocks (batch-invariant)."""
        n = drive.shape[0]
        out = np.empty((n, self.n_features), dtype=np.float32)
        block = drive.new_zeros((TRANSFORM_BLOCK, *drive.shape[1:]))
        for start in range(0, n, TRANSFORM_BLOCK):
            stop = min(n, start + TRANSFORM_BLOCK)
            block.zero_()
            block[: stop - start] = drive[start:stop]
            out[start:stop] = self(block)[: stop - start].to(torch.float32).numpy()
        return out


class _Head(nn.Module):
    """Softmax head on features standardised with fixed (buffered) statistics."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray, n_classes: int, dtype):
        super().__init__()
        self.register_buffer("mean", torch.as_tensor(mean, dtype=dtype))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=dtype))
        self.linear = nn.Linear(len(mean), n_classes, dtype=dtype)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.linear((features - self.mean) / self.scale)


def _standardisation(F_init: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = F_init.mean(axis=0, dtype=np.float64)
    std = F_init.std(axis=0, dtype=np.float64)
    # Constant features (e.g. a recorded step 0, all zeros) keep scale 1.
    return mean, np.where(std > 1e-8 * (1.0 + np.abs(mean)), std, 1.0)


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------


class LearnedReservoirClassifier(ClassifierMixin, BaseEstimator):
    """A ``random_nca`` reservoir trained end to end, read out by the fixed reservoir's ridge readout.

    ``fit`` trains the weights named in ``train`` jointly with a linear
    softmax head (cross-entropy, Adam, shuffled mini-batches) on the
    training samples. The head sees the features standardised by a fixed
    mean and scale per feature, estimated once from the *untrained*
    reservoir's features of (up to ``SCALER_SAMPLES``) training samples and
    kept as buffers: no batch statistics, so a sample's features and scores
    never depend on the rest of its batch, at training or at inference, and
    the head starts from the same scale the ridge readout of the fixed
    reservoir sees. After training a
    :class:`~pixelflow.readouts.RidgeReadout` (``standardize=True``, as in the
    notebooks) is fitted on the learned features; ``alpha`` is chosen on the
    validation data when ``readout_alpha`` is a sequence. ``predict`` and
    ``score`` use that ridge readout, :meth:`predict_head` the jointly trained
    head.

    Parameters
    ----------
    config : ReservoirConfig
        A ``random_nca`` config; the weights start from its seed.
    epochs : int, default 5
        Passes over the training data (0: the fixed reservoir, head only untrained).
    lr : float, default 1e-3
        Adam learning rate (reservoir weights and head alike).
    batch_size : int, default 64
    seed : int, default 0
        Seeds the shuffling (a ``torch.Generator``); the same seed and data
        give bit-identical weights on the same machine.
    train : sequence of {"mix", "bias", "inject"}, default all three
        Reservoir weights that are trained; ``()`` trains the head alone.
    readout_alpha : float, sequence of float or None, default 1.0
        Ridge regularisation; a sequence is searched on ``(X_val, y_val)``.
        None fits no ridge readout (a caller that fits its own readout on
        :meth:`transform` saves the features and the fit): ``predict`` and
        ``score`` then use the head.
    threads : int, default 1
        Torch and BLAS threads while fitting and transforming (restored
        afterwards); see ``_threads`` for why one is the default.
    progress : bool, default True
        A tqdm bar over the training batches with the running loss.

    Attributes
    ----------
    module_ : LearnedReservoir
        The trained reservoir.
    head_ : torch.nn.Module
        The jointly trained softmax head (fixed standardisation + linear layer).
    readout_ : RidgeReadout or None
        The ridge readout fitted on the learned features of the training data
        (None with ``readout_alpha=None``).
    alpha_ : float or None
        Its ``alpha``.
    alpha_scores_ : dict or None
        Validation accuracy of the ridge readout for each ``alpha`` tried.
    history_ : list of dict
        Per epoch: ``epoch``, ``train_loss`` (mean over the epoch's batches),
        ``val_accuracy`` (head, if validation data was given, else None) and
        ``wall_s`` (seconds since training began).
    train_s_ : float
        Wall seconds of end-to-end training (without the readout).
    classes_ : ndarray
    n_features_in_ : int
        Values per input sample.
    input_shape_ : tuple
        Shape of one input sample.
    n_trained_params_ : int
        Reservoir weights that training updated.
    """

    def __init__(self, config, epochs=5, lr=1e-3, batch_size=64, seed=0, train=TRAINABLE, readout_alpha=1.0,
                 threads=1, progress=True):
        self.config = config
        self.epochs = epochs
        self.lr = lr
        self.batch_size = batch_size
        self.seed = seed
        self.train = train
        self.readout_alpha = readout_alpha
        self.threads = threads
        self.progress = progress

    def _validate(self):
        check_config(self.config)
        train = check_train(self.train)
        epochs = check_int(self.epochs, "epochs", low=0)
        batch_size = check_int(self.batch_size, "batch_size", low=1)
        seed = check_int(self.seed, "seed", low=0)
        lr = check_real(self.lr, "lr", low=0.0, low_open=True)
        check_int(self.threads, "threads", low=1)
        return train, epochs, batch_size, seed, lr, check_alphas(self.readout_alpha)

    def fit(self, X, y, X_val=None, y_val=None):
        """Train the reservoir end to end, then fit the ridge readout on its features.

        Parameters
        ----------
        X : array-like, shape (N, F), (N, H, W) or (N, H, W, C)
        y : array-like of int, shape (N,)
        X_val, y_val : optional validation data
            Scored after every epoch (``history_``) and used to choose
            ``alpha`` when ``readout_alpha`` is a sequence. Never trained on.

        Returns
        -------
        self
        """
        train, epochs, batch_size, seed, lr, alphas = self._validate()
        X = check_batch(X)
        y = check_labels(y, len(X), "")
        if (X_val is None) != (y_val is None):
            raise ValueError("pass both X_val and y_val, or neither")
        if X_val is not None:
            X_val = check_batch(X_val)
            if X_val.shape[1:] != X.shape[1:]:
                raise ValueError(f"X_val has samples of shape {X_val.shape[1:]}, but X has {X.shape[1:]}")
            y_val = check_labels(y_val, len(X_val), "_val")
        if len(alphas) > 1 and X_val is None:
            raise ValueError(f"readout_alpha={list(alphas)} is a search: it needs X_val and y_val")
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least 2 classes, got {len(self.classes_)}")
        self.input_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))

        with torch_threads(self.threads):
            module = LearnedReservoir(self.config, self.input_shape_, train)
            drive = module.encode(X)
            drive_val = module.encode(X_val) if X_val is not None else None
            generator = torch.Generator().manual_seed(seed)
            probe = torch.randperm(len(X), generator=generator)[:SCALER_SAMPLES].sort().values
            head = _Head(*_standardisation(module.transform_drive(drive[probe])), len(self.classes_), module.dtype)
            t0 = time.perf_counter()
            self.history_ = self._train(module, head, drive, torch.as_tensor(y_index), (drive_val, y_val),
                                        generator, epochs, batch_size, lr)
            self.train_s_ = time.perf_counter() - t0
            module.eval()
            head.eval()
            self.module_, self.head_ = module, head
            self.n_trained_params_ = module.n_trainable()
            self.alpha_scores_ = None
            self.alpha_ = alphas[0] if alphas else None
            self.readout_ = None
            if not alphas:
                return self
            F_fit = module.transform_drive(drive)
            if len(alphas) > 1:
                self.alpha_, scores = select_alpha(alphas, F_fit, y, module.transform_drive(drive_val), y_val)
                self.alpha_scores_ = dict(zip(alphas, scores))
            self.readout_ = RidgeReadout(alpha=self.alpha_, standardize=True).fit(F_fit, y)
        return self

    def _train(self, module, head, drive, targets, val, generator, epochs, batch_size, lr) -> list[dict]:
        """The training loop: shuffled mini-batches, cross-entropy, Adam; returns the history."""
        params = [p for p in module.parameters() if p.requires_grad] + list(head.parameters())
        optimiser = torch.optim.Adam(params, lr=lr)
        drive_val, y_val = val
        history = []
        t0 = time.perf_counter()
        n_batches = -(-len(drive) // batch_size)
        with tqdm(total=epochs * n_batches, desc="train reservoir", unit="batch", file=sys.stderr,
                  disable=not self.progress, leave=False) as bar:
            for epoch in range(1, epochs + 1):
                order = torch.randperm(len(drive), generator=generator)
                total, running = 0.0, None
                for start in range(0, len(drive), batch_size):
                    idx = order[start : start + batch_size]
                    loss = F.cross_entropy(head(module(drive[idx])), targets[idx])
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    value = loss.item()
                    total += value * len(idx)
                    running = value if running is None else 0.95 * running + 0.05 * value
                    bar.set_postfix(epoch=epoch, loss=f"{running:.4f}")
                    bar.update()
                val_acc = None
                if drive_val is not None:
                    val_acc = float(np.mean(self.classes_[_head_predict(module, head, drive_val)] == y_val))
                history.append({"epoch": epoch, "train_loss": total / len(drive), "val_accuracy": val_acc,
                                "wall_s": time.perf_counter() - t0})
        return history

    def _drive(self, X) -> torch.Tensor:
        check_is_fitted(self, "module_")
        X = check_batch(X)
        if X.shape[1:] != self.input_shape_:
            raise ValueError(f"X has samples of shape {X.shape[1:]}, but the reservoir was fitted on "
                             f"{self.input_shape_}")
        return self.module_.encode(X)

    def transform(self, X) -> np.ndarray:
        """Features of the learned reservoir, float32 ``(N, config.n_features)``; row ``i`` depends on ``X[i]`` only."""
        drive = self._drive(X)
        with torch_threads(self.threads):
            return self.module_.transform_drive(drive)

    def predict(self, X) -> np.ndarray:
        """Labels from the ridge readout on the learned features (from the head without a readout)."""
        check_is_fitted(self, "module_")
        if self.readout_ is None:
            return self.predict_head(X)
        F_ = self.transform(X)
        with torch_threads(self.threads):
            return self.readout_.predict(F_)

    def predict_head(self, X) -> np.ndarray:
        """Labels from the jointly trained softmax head."""
        drive = self._drive(X)
        with torch_threads(self.threads):
            return self.classes_[_head_predict(self.module_, self.head_, drive)]


def select_alpha(alphas, F_fit, y_fit, F_val, y_val) -> tuple[float, list[float]]:
    """The ``alpha`` of standardised ridge readouts fitted on the fit rows with the best validation accuracy.

    One shared pass over the features for all ``alpha``
    (:func:`pixelflow.readouts.ridge_path_accuracy`); returns the best
    ``alpha`` (ties: the first) and every score.
    """
    scores = ridge_path_accuracy(alphas, F_fit, y_fit, F_val, y_val, standardize=True)
    return alphas[int(np.argmax(scores))], scores


@torch.no_grad()
def _head_predict(module: LearnedReservoir, head: nn.Module, drive: torch.Tensor) -> np.ndarray:
    out = np.empty(len(drive), dtype=np.int64)
    block = drive.new_zeros((TRANSFORM_BLOCK, *drive.shape[1:]))
    for start in range(0, len(drive), TRANSFORM_BLOCK):
        stop = min(len(drive), start + TRANSFORM_BLOCK)
        block.zero_()
        block[: stop - start] = drive[start:stop]
        out[start:stop] = head(module(block))[: stop - start].argmax(dim=1).numpy()
    return out
