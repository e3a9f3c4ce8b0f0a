"""Self-classifying digits: a learned CA whose cells agree, by local messages alone, on what digit they form.

The task of Randazzo, Mordvintsev, Niklasson, Levin & Greydanus (2020,
"Self-classifying MNIST Digits", Distill): every pixel of a digit above
``threshold`` is a living cell; the rest of the grid is empty and stays so.
Each living cell sees only its 3×3 neighbourhood, yet after some steps every
one should hold the digit's class in its last ``classes`` channels. The
image is classified by the vote of its cells.

State layout: channel 0 is the pixel (written back after every step, so no
cell can forget what it is made of), the last ``classes`` channels are the
cell's class scores, the rest are hidden. :meth:`SelfClassifyingTask.constrain`
keeps the empty cells at zero and rewrites channel 0. The loss is the squared
error between each living cell's class scores and the one-hot label, averaged
over the living cells of an image (the article's choice over cross-entropy,
which lets the scores grow without bound and the rollout drift).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from pixelflow.checks import check_int
from pixelflow.nca.inpainting import check_images
from pixelflow.nca.model import NCA
from pixelflow.threads import torch_threads

__all__ = ["SelfClassifyingTask", "cell_votes", "classification_error", "classify", "living_cells"]

PIXEL = 0


def living_cells(images: torch.Tensor, threshold: float = 0.1) -> torch.Tensor:
    """Boolean ``(N, H, W)``: the pixels that are cells (value above ``threshold``)."""
    return images > threshold




class SelfClassifyingTask:
    """Train every living cell of a digit to hold the digit's class.

    Parameters
    ----------
    images : array, shape (N, H, W), values in [0, 1]
        Training images.
    labels : array of int, shape (N,)
        Their classes, ``0 .. classes - 1``.
    channels : int
        State channels of the NCA: the pixel, hidden channels and ``classes`` class channels.
    classes : int
        Number of classes.
    threshold : float
        Pixels above it are cells.

    Raises
    ------
    ValueError
        For labels outside ``0 .. classes - 1``, a label count that does not
        match the images, too few channels, an image without a cell, or images
        outside [0, 1].
    """

    def __init__(self, images, labels, channels: int, classes: int = 10, threshold: float = 0.1):
        self.images = check_images(images)
        self.classes = check_int(classes, "classes", low=2)
        self.channels = check_int(channels, "channels", low=classes + 2)
        labels = np.asarray(labels)
        if labels.shape != (len(self.images),) or labels.dtype.kind not in "iu":
            raise ValueError(f"labels must be {len(self.images)} integers, got shape {labels.shape} of "
                             f"{labels.dtype}")
        if labels.min() < 0 or labels.max() >= classes:
            raise ValueError(f"labels must lie in 0..{classes - 1}, got {labels.min()}..{labels.max()}")
        self.labels = torch.as_tensor(labels, dtype=torch.int64)
        self.threshold = float(threshold)
        empty = ~living_cells(self.images, self.threshold).flatten(1).any(1)
        if empty.any():
            raise ValueError(f"{int(empty.sum())} image(s) have no pixel above threshold={threshold} "
                             f"(first: index {int(empty.nonzero()[0])}): no cell could vote")

    def start(self, images: torch.Tensor) -> torch.Tensor:
        """Initial states of ``images``: the pixel in channel 0, everything else zero."""
        x = torch.zeros(len(images), self.channels, *images.shape[1:])
        x[:, PIXEL] = images
        return x

    def initial(self, n: int, generator: torch.Generator):
        idx = torch.randint(len(self.images), (n,), generator=generator)
        images = self.images[idx]
        return self.start(images), (images, living_cells(images, self.threshold), self.labels[idx])

    def constrain(self, states: torch.Tensor, info) -> torch.Tensor:
        images, alive = info[0], info[1]
        states = states * alive[:, None].to(states.dtype)
        return torch.cat([images[:, None], states[:, PIXEL + 1 :]], dim=1)

    def loss(self, states: torch.Tensor, info) -> torch.Tensor:
        _, alive, labels = info
        target = torch.nn.functional.one_hot(labels, self.classes).to(states.dtype)[:, :, None, None]
        error = ((states[:, -self.classes :] - target) ** 2).sum(1)  # (N, H, W)
        cells = alive.to(states.dtype)
        return (error * cells).flatten(1).sum(1) / cells.flatten(1).sum(1)


def cell_votes(states: torch.Tensor, alive: torch.Tensor, classes: int) -> torch.Tensor:
    """Votes per class ``(N, classes)``: how many living cells have that class as their largest score."""
    choice = states[:, -classes:].argmax(1)  # (N, H, W)
    onehot = torch.nn.functional.one_hot(choice, classes) * alive[..., None]
    return onehot.flatten(1, 2).sum(1)


@torch.no_grad()
def classify(model: NCA, task: SelfClassifyingTask, images, steps: int, seed: int = 0,
             threads: int | None = 1) -> dict:
    """Grow ``images`` for ``steps`` and read every image's class from its cells' vote.

    Each image is run with a generator of its own, seeded from ``seed`` and
    the image's own pixels, so its fire masks, and so its result, do not
    depend on the rest of the batch or on its place in it.

    Returns
    -------
    dict
        ``predicted`` (N,) the class with most votes (ties: the smaller class),
        ``agreement`` (N,) the fraction of an image's cells voting for the
        predicted class, ``votes`` (N, classes).
    """
    images = check_images(images)
    check_int(steps, "steps", low=1)
    alive = living_cells(images, task.threshold)
    if not alive.flatten(1).any(1).all():
        raise ValueError(f"an image has no pixel above threshold={task.threshold}: no cell could vote")
    info = (images, alive, None)
    generators = [torch.Generator().manual_seed(seed * 2**32 + zlib.crc32(image.numpy().tobytes()))
                  for image in images]
    with torch_threads(threads):
        x = model(task.start(images), steps, generator=generators, constrain=lambda s: task.constrain(s, info))
    votes = cell_votes(x, alive, task.classes)
    predicted = votes.argmax(1)
    agreement = votes.gather(1, predicted[:, None])[:, 0] / alive.flatten(1).sum(1)
    return {"predicted": predicted.numpy(), "agreement": agreement.numpy(), "votes": votes.numpy()}


def classification_error(task: SelfClassifyingTask, images, labels, steps: int, seed: int, model: NCA) -> float:
    """The fraction of ``images`` whose cells vote for a wrong class after ``steps`` (:func:`classify`).

    ``model`` comes last, so ``functools.partial(classification_error, task,
    images, labels, steps, seed)`` is a picklable held-out loss for
    :class:`~pixelflow.nca.training.Trainer`'s ``validate``. An error of 0 is
    reported as half an image's worth, ``0.5 / len(images)``: the trainer's
    plateau rule compares losses by ratio.
    """
    labels = np.asarray(labels)
    predicted = classify(model, task, images, steps, seed, threads=None)["predicted"]
    return max(float((predicted != labels).mean()), 0.5 / len(labels))
