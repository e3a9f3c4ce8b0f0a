"""A small trained convolutional network: the upper reference for fixed features with a linear readout.

:class:`ConvNetClassifier` is a LeNet-style network (LeCun et al.,
"Gradient-based learning applied to document recognition", Proc. IEEE 86(11),
1998) with the channel widths of the common MNIST example networks::

    conv 5×5, 32 channels, 'same' padding → ReLU → max-pool 2×2
    conv 5×5, 64 channels, 'same' padding → ReLU → max-pool 2×2
    dense 128 → ReLU → dense (classes)

32 and 64 channels rather than LeNet-5's 6 and 16: the reference should show
what end-to-end training reaches, and the wider network is the stronger one
(about 99 % on MNIST) at a cost that still suits two CPU cores; the padded
convolutions let the same layers take any image of at least 4 × 4 pixels,
grey or RGB. It trains with cross-entropy and Adam at a constant learning rate
on shuffled mini-batches, in PyTorch on the CPU.

Training is reproducible and prefix-consistent: one ``torch.Generator``
seeded with ``seed`` draws the initial weights (PyTorch's default
initialisation, drawn from that generator) and then each epoch's shuffling,
and nothing depends on the total number of epochs, so the weights after
``E`` epochs are those after the first ``E`` epochs of a longer run;
:meth:`ConvNetClassifier.epoch_curve` gives the validation accuracy after
every epoch from one run. The global torch random state is left as it was.
Scores are computed in blocks of exactly :data:`EVAL_BLOCK` samples (the last
one zero-padded), so a sample's prediction does not depend on the rest of the
batch.

Needs torch (the ``baselines`` extra).

>>> from pixelflow.datasets import digits
>>> ds = digits()
>>> clf = ConvNetClassifier(image_shape=(8, 8), epochs=5, n_threads=1, progress=False)
>>> clf.fit(ds.X_train, ds.y_train).predict(ds.X_test).shape, clf.score(ds.X_test, ds.y_test) > 0.8
((450,), True)
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted
from tqdm import tqdm

from pixelflow.checks import check_int, check_real
from pixelflow.inputs import check_batch

__all__ = ["CHANNELS", "EVAL_BLOCK", "HIDDEN", "KERNEL", "ConvNetClassifier", "check_image_shape"]

# Channels of the two convolutions, their kernel size, and the hidden dense width.
CHANNELS = (32, 64)
KERNEL = 5
HIDDEN = 128
# Samples scored per forward pass at inference (the last block zero-padded).
EVAL_BLOCK = 128


def check_image_shape(image_shape) -> tuple[int, int, int]:
    """``image_shape`` ``(H, W)`` or ``(H, W, C)`` as ``(H, W, C)``; H and W at least 4 (two 2×2 poolings).

    >>> check_image_shape((28, 28)), check_image_shape((32, 32, 3))
    ((28, 28, 1), (32, 32, 3))
    """
    if (isinstance(image_shape, str) or not isinstance(image_shape, Sequence) or len(image_shape) not in (2, 3)
            or not all(isinstance(s, numbers.Integral) and not isinstance(s, bool) for s in image_shape)):
        raise TypeError(f"image_shape must be (height, width) or (height, width, channels) integers, "
                        f"got {image_shape!r}")
    h, w, c = (*image_shape, 1) if len(image_shape) == 2 else image_shape
    if h < 4 or w < 4 or c < 1:
        raise ValueError(f"image_shape needs height and width >= 4 and channels >= 1, got {tuple(image_shape)}")
    return int(h), int(w), int(c)


def _network(shape: tuple[int, int, int], n_classes: int, generator):
    """The network, initialised from ``generator`` as PyTorch initialises these layers by default."""
    import torch
    from torch import nn

    h, w, c = shape
    c1, c2 = CHANNELS
    # Built under a forked global random state (the layers draw their own
    # initial weights from it), then initialised again from the generator.
    with torch.random.fork_rng(devices=[]):
        net = nn.Sequential(
            nn.Conv2d(c, c1, KERNEL, padding=KERNEL // 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, KERNEL, padding=KERNEL // 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(c2 * (h // 4) * (w // 4), HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, n_classes),
        )
    with torch.no_grad():
        for layer in net:
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                fan_in = layer.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
    return net


class ConvNetClassifier(ClassifierMixin, BaseEstimator):
    """A small LeNet-style CNN trained end to end (see the module's notes), as a scikit-learn classifier.

    Parameters
    ----------
    image_shape : (int, int) or (int, int, int), default (28, 28)
        ``(H, W)`` for grey images or ``(H, W, C)`` for ``C`` channels
        (channels last). ``X`` may be images of that shape or their rows
        flattened, ``(N, H·W·C)``.
    epochs : int, default 10
        Passes over the training data.
    batch_size : int, default 64
    learning_rate : float, default 1e-3
        Adam's learning rate, constant.
    weight_decay : float, default 0.0
        Adam's L2 penalty.
    seed : int, default 0
        Seeds the initial weights and the shuffling.
    n_threads : int or None, default None
        Torch and BLAS threads while fitting and predicting, restored
        afterwards (None: as they are). Results are reproducible for a given
        thread count. An epoch of 11,200 MNIST images took 4.1 s on two
        threads and 9.0 s on one on an idle two-core machine, but 42.9 s on
        two and 16.5 s on one while another process kept both cores busy.
    progress : bool, default True
        A tqdm bar over the epochs on stderr.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen by :meth:`fit`, sorted.
    model_ : torch.nn.Module
        The trained network.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    n_features_in_ : int
        ``H·W·C``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).random((20, 6, 6, 3))
    >>> y = np.array(["a", "b"] * 10)
    >>> clf = ConvNetClassifier(image_shape=(6, 6, 3), epochs=1, n_threads=1, progress=False).fit(X.reshape(20, -1), y)
    >>> clf.classes_, clf.predict_proba(X).shape
    (array(['a', 'b'], dtype='<U1'), (20, 2))
    """

    def __init__(self, image_shape=(28, 28), epochs=10, batch_size=64, learning_rate=1e-3, weight_decay=0.0, seed=0,
                 n_threads=None, progress=True):
        self.image_shape = image_shape
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.seed = seed
        self.n_threads = n_threads
        self.progress = progress

    # ------------------------------------------------------------ validation

    def _check_params(self) -> None:
        check_image_shape(self.image_shape)
        check_int(self.epochs, "epochs", low=0)
        check_int(self.batch_size, "batch_size", low=1)
        check_real(self.learning_rate, "learning_rate", low=0.0, low_open=True)
        check_real(self.weight_decay, "weight_decay", low=0.0)
        check_int(self.seed, "seed", low=0, high=2**63 - 1)
        if self.n_threads is not None:
            check_int(self.n_threads, "n_threads", low=1)

    def _images(self, X, name: str = "X"):
        """``X`` as a float32 torch tensor ``(N, C, H, W)``; refuses other shapes, and NaN or inf."""
        import torch

        h, w, c = check_image_shape(self.image_shape)
        X = check_batch(X, np.float32)
        if X.ndim == 2 and X.shape[1] == h * w * c:
            X = X.reshape(len(X), h, w, c)
        elif X.ndim == 3 and c == 1 and X.shape[1:] == (h, w):
            X = X[..., None]
        elif not (X.ndim == 4 and X.shape[1:] == (h, w, c)):
            grey = f", (N, {h}, {w})" if c == 1 else ""
            raise ValueError(f"{name} has shape {X.shape}, but image_shape={tuple(self.image_shape)} takes "
                             f"(N, {h * w * c}){grey} or (N, {h}, {w}, {c})")
        # A fresh (N, C, H, W) array: its strides are the standard ones even for C = 1 (a moved axis of size
        # one keeps other strides, which torch may take for channels-last and convolve in another order).
        images = np.empty((len(X), c, h, w), dtype=np.float32)
        images[...] = np.moveaxis(X, -1, 1)
        return torch.from_numpy(images)

    def _labels(self, y, n: int, name: str = "y") -> np.ndarray:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n:
            raise ValueError(f"{name} must be 1-D with one label per sample ({n}), got shape {y.shape}")
        check_classification_targets(y)
        return y

    # ------------------------------------------------------------ training

    def _training(self, X, y, epochs: int, what: str):
        """Yield ``(epoch, network, mean loss)`` for the initial network (epoch 0, loss None) and after each epoch.

        Sets ``classes_``; the caller runs it inside the thread limits.
        """
        import torch
        from torch.nn import functional as F

        images = self._images(X)
        y = self._labels(y, len(images))
        self.classes_, index = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"y needs at least 2 classes, got {len(self.classes_)}: {self.classes_.tolist()}")
        targets = torch.from_numpy(index.astype(np.int64))
        generator = torch.Generator().manual_seed(int(self.seed))
        net = _network(check_image_shape(self.image_shape), len(self.classes_), generator)
        optimiser = torch.optim.Adam(net.parameters(), lr=float(self.learning_rate),
                                     weight_decay=float(self.weight_decay))
        n = len(images)
        net.eval()
        yield 0, net, None
        with tqdm(total=epochs, desc=what, unit="epoch", file=sys.stderr, disable=not self.progress,
                  leave=False) as bar:
            for epoch in range(1, epochs + 1):
                net.train()
                order = torch.randperm(n, generator=generator)
                total = 0.0
                for start in range(0, n, self.batch_size):
                    idx = order[start:start + self.batch_size]
                    loss = F.cross_entropy(net(images[idx]), targets[idx])
                    optimiser.zero_grad(set_to_none=True)
                    loss.backward()
                    optimiser.step()
                    total += loss.item() * len(idx)
                net.eval()
                bar.set_postfix(loss=f"{total / n:.4f}")
                bar.update()
                yield epoch, net, total / n

    def fit(self, X, y):
        """Train the network from its seed for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like, shape (N, H·W·C), (N, H, W) or (N, H, W, C)
        y : array-like, shape (N,)
            Class labels of any dtype.

        Returns
        -------
        self
        """
        from pixelflow.threads import torch_threads

        self._check_params()
        losses = []
        with torch_threads(self.n_threads):
            for epoch, net, loss in self._training(X, y, int(self.epochs), "convnet"):
                if epoch:
                    losses.append(loss)
        self.model_ = net
        self.loss_curve_ = losses
        h, w, c = check_image_shape(self.image_shape)
        self.n_features_in_ = h * w * c
        return self

    def epoch_curve(self, X_fit, y_fit, X_val, y_val, max_epochs: int) -> list[float]:
        """Validation accuracy after each of ``max_epochs`` epochs, from one training run.

        Entry ``E - 1`` equals the validation accuracy of
        ``ConvNetClassifier(epochs=E, ...)`` (the other parameters as here)
        fitted on ``(X_fit, y_fit)``, exactly. The estimator itself is left
        as it was (neither fitted nor changed).

        Parameters
        ----------
        X_fit, y_fit : training data
        X_val, y_val : validation data, never trained on
        max_epochs : int

        Returns
        -------
        list of float

        Examples
        --------
        >>> import numpy as np
        >>> from pixelflow.datasets import digits
        >>> ds = digits()
        >>> clf = ConvNetClassifier(image_shape=(8, 8), n_threads=1, progress=False)
        >>> curve = clf.epoch_curve(ds.X_train[:300], ds.y_train[:300], ds.X_test, ds.y_test, 2)
        >>> len(curve), all(0.0 <= a <= 1.0 for a in curve)
        (2, True)
        """
        from pixelflow.threads import torch_threads

        self._check_params()
        max_epochs = check_int(max_epochs, "max_epochs", low=1)
        val = self._images(X_val, "X_val")
        y_val = self._labels(y_val, len(val), "y_val")
        # A scratch copy trains, so that this estimator's fitted state stays as it was.
        run = type(self)(**self.get_params(deep=False))
        curve = []
        with torch_threads(self.n_threads):
            for epoch, net, _ in run._training(X_fit, y_fit, max_epochs, "convnet curve"):
                if not epoch:
                    continue
                predicted = run.classes_[_scores(net, val).argmax(axis=1)]
                curve.append(float(np.mean(predicted == y_val)))
        return curve

    # ------------------------------------------------------------ inference

    def decision_function(self, X) -> np.ndarray:
        """The network's class scores (logits), float32 ``(N, n_classes)``; row ``i`` depends on ``X[i]`` only."""
        from pixelflow.threads import torch_threads

        check_is_fitted(self, "model_")
        images = self._images(X)
        with torch_threads(self.n_threads):
            return _scores(self.model_, images)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax of the scores), float64 ``(N, n_classes)`` in ``classes_`` order."""
        scores = self.decision_function(X).astype(np.float64)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class of the highest score, for every sample."""
        scores = self.decision_function(X)
        return self.classes_[scores.argmax(axis=1)]


def _scores(net, images) -> np.ndarray:
    """Logits of ``images`` ``(N, C, H, W)`` in blocks of exactly ``EVAL_BLOCK`` samples."""
    import torch

    n = len(images)
    out = np.empty((n, net[-1].out_features), dtype=np.float32)
    block = images.new_zeros((EVAL_BLOCK, *images.shape[1:]))
    with torch.inference_mode():
        for start in range(0, n, EVAL_BLOCK):
            stop = min(n, start + EVAL_BLOCK)
            block.zero_()
            block[: stop - start] = images[start:stop]
            out[start:stop] = net(block)[: stop - start].numpy()
    return out
