"""Inpainting: images with a random fraction of their pixels hidden, reconstructed by a neural CA.

State layout of the rule: channel 0 is the image estimate (known pixels hold
their value, hidden ones start at 0), channel 1 says which pixels are known
(1) or hidden (0), the rest are hidden state starting at 0. After every step
:meth:`InpaintingTask.constrain` writes the known pixels and the mask back, so
the rule can only change what it was not shown. The score is the mean squared
error over the hidden pixels alone.

Baselines: :func:`masked_input` (hidden pixels left at 0),
:func:`neighbour_fill` (each hidden pixel takes the mean of its known 3×3
neighbours, repeated outwards until every pixel is filled) and
:func:`biharmonic_fill` (the smoothest fill: hidden pixels solve the
biharmonic equation with the known ones as boundary values, scikit-image's
``inpaint_biharmonic``).

Scores besides the hidden-pixel error: :func:`psnr` and :func:`ssim` of the
whole restored image, as the inpainting literature reports them.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional as F

from pixelflow.checks import check_int
from pixelflow.threads import torch_threads

IMAGE, MASK = 0, 1


def check_images(images) -> torch.Tensor:
    """Grey images ``(N, H, W)``, ``N >= 1``, of finite values in [0, 1], as a contiguous float32 tensor.

    Raises
    ------
    ValueError
        For another shape, an empty batch, or values that are not finite or outside [0, 1].
    """
    t = torch.as_tensor(np.ascontiguousarray(images, dtype=np.float32))  # views of any stride
    if t.ndim != 3 or len(t) == 0:
        raise ValueError(f"images must have shape (N, H, W) with N >= 1, got {tuple(t.shape)}")
    if not torch.isfinite(t).all() or t.min() < 0 or t.max() > 1:
        raise ValueError("images must hold finite values in [0, 1]")
    return t


def _fraction(hidden) -> float:
    hidden = float(hidden)
    if not (0.0 < hidden < 1.0):
        raise ValueError(f"hidden (the fraction of pixels hidden) must lie in (0, 1), got {hidden!r}")
    return hidden


def random_known(n: int, h: int, w: int, hidden: float, generator: torch.Generator) -> torch.Tensor:
    """Boolean ``(N, H, W)``: each pixel known independently with probability ``1 - hidden``."""
    return torch.rand(n, h, w, generator=generator) >= _fraction(hidden)


class InpaintingTask:
    """Reconstruct the hidden pixels of random training images.

    Parameters
    ----------
    images : array, shape (N, H, W), values in [0, 1]
        The training images.
    channels : int
        State channels of the NCA (at least 3: image, mask and one hidden).
    hidden : float
        Fraction of pixels hidden, drawn anew for every sample.
    """

    def __init__(self, images, channels: int, hidden: float = 0.5):
        self.images = check_images(images)
        # Three at least: the image, the mask and one hidden channel.
        check_int(channels, "channels", low=3)
        self.channels = channels
        self.hidden = _fraction(hidden)

    def initial(self, n: int, generator: torch.Generator):
        idx = torch.randint(len(self.images), (n,), generator=generator)
        targets = self.images[idx]
        known = random_known(n, *targets.shape[1:], self.hidden, generator)
        return start_state(targets, known, self.channels), (targets, known)

    def constrain(self, states: torch.Tensor, info) -> torch.Tensor:
        return write_known(states, *info)

    def loss(self, states: torch.Tensor, info) -> torch.Tensor:
        targets, known = info
        return hidden_mse(states[:, IMAGE], targets, known)


def write_known(states: torch.Tensor, targets: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """``states`` with the known pixels and the mask channel written back."""
    image = torch.where(known, targets, states[:, IMAGE])
    return torch.cat([image[:, None], known[:, None].to(states.dtype), states[:, MASK + 1 :]], dim=1)


def start_state(targets: torch.Tensor, known: torch.Tensor, channels: int) -> torch.Tensor:
    """The rule's start state for images ``targets`` with pixels ``known``."""
    n, h, w = targets.shape
    state = torch.zeros(n, channels, h, w)
    state[:, IMAGE] = torch.where(known, targets, torch.zeros(()))
    state[:, MASK] = known.to(state.dtype)
    return state


def hidden_mse(estimate: torch.Tensor, targets: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
    """Per-sample mean squared error over the hidden pixels, shape (N,)."""
    hidden = (~known).to(estimate.dtype)
    return ((estimate - targets) ** 2 * hidden).flatten(1).sum(1) / hidden.flatten(1).sum(1).clamp_min(1.0)


def image_generators(seed: int, first: int, n: int) -> list[torch.Generator]:
    """One generator per image, for images ``first`` to ``first + n - 1``, each seeded by ``(seed, index)``.

    >>> a = image_generators(3, 0, 4)[2]; b = image_generators(3, 2, 1)[0]
    >>> torch.equal(torch.rand(5, generator=a), torch.rand(5, generator=b))
    True
    """
    check_int(seed, "seed", low=0)
    check_int(first, "first", low=0)
    states = [np.random.SeedSequence([seed, first + i]).generate_state(1)[0] for i in range(n)]
    return [torch.Generator().manual_seed(int(state)) for state in states]


@torch.no_grad()
def inpaint(model, targets, known: torch.Tensor, steps: int, seed: int, batch_size: int = 8,
            every: int | None = None, threads: int | None = 1, first: int = 0):
    """Run ``model`` on masked images; return the estimates ``(N, H, W)`` (and frames with ``every``).

    Estimates are clipped to [0, 1], the image range. Every image draws its
    fire masks from its own generator (:func:`image_generators` of ``seed``
    and its index ``first + i``), so its estimate depends neither on the
    batch it ran in nor on how the images were split: the estimates of
    ``targets[a:b]`` run with ``first=a`` are rows ``a:b`` of those of all.
    That lets a notebook spread the images over processes. The default
    ``batch_size``, 8, is the fastest on a CPU: a larger batch's states fall
    out of cache (for the attention NCA, 256 images took 2x longer in batches
    of 256 than in batches of 8, measured). With ``every``, also returns the first image's
    estimate every ``every`` steps, ``(T, H, W)``. ``threads`` sets the torch
    CPU threads meanwhile (see :mod:`pixelflow.threads`).
    """
    targets = check_images(targets)
    if known.shape != targets.shape:
        raise ValueError(f"known must have the images' shape {tuple(targets.shape)}, got {tuple(known.shape)}")
    check_int(batch_size, "batch_size", low=1)
    generators = image_generators(seed, first, len(targets))
    with torch_threads(threads):
        return _inpaint(model, targets, known, steps, generators, batch_size, every)


def inpainting_mse(targets, known: torch.Tensor, steps: int, seed: int, model) -> float:
    """Mean hidden-pixel MSE of ``model`` on masked images (:func:`inpaint` with ``seed``): a held-out loss.

    ``model`` comes last, so ``functools.partial(inpainting_mse, images, known,
    steps, seed)`` is a picklable ``validate`` for :class:`~pixelflow.nca.training.Trainer`.
    """
    estimates = inpaint(model, targets, known, steps, seed, threads=None)
    return float(hidden_mse(estimates, check_images(targets), known).mean())


def fit_and_inpaint(trainer, targets, known: torch.Tensor, steps: int, seed: int, **options):
    """``trainer.fit()``, then :func:`inpaint` with the trained model: ``(trainer, estimates)``.

    One picklable call for a process that trains a model and then tests it
    (``options`` as :func:`inpaint`'s); the estimates are those of
    ``inpaint(trainer.model, ...)`` after a separate fit.
    """
    trainer.fit()
    return trainer, inpaint(trainer.model, targets, known, steps, seed, **options)


def _inpaint(model, targets, known, steps, generators, batch_size, every):
    out, frames = [], []
    for start in range(0, len(targets), batch_size):
        t, k = targets[start : start + batch_size], known[start : start + batch_size]
        x = start_state(t, k, model.channels)
        if every and start == 0:
            frames.append(x[0, IMAGE].clone())
        for i, x in enumerate(model.rollout(x, steps, generator=generators[start : start + batch_size],
                                            constrain=lambda s, t=t, k=k: write_known(s, t, k)), 1):
            if every and start == 0 and i % every == 0:
                frames.append(x[0, IMAGE].clamp(0, 1).clone())
        out.append(x[:, IMAGE].clamp(0, 1))
    estimates = torch.cat(out)
    return (estimates, torch.stack(frames)) if every else estimates


def masked_input(targets, known: torch.Tensor) -> torch.Tensor:
    """Baseline: the known pixels, hidden ones at 0."""
    return torch.where(known, check_images(targets), torch.zeros(()))


def neighbour_fill(targets, known: torch.Tensor, max_rounds: int = 64) -> torch.Tensor:
    """Baseline: hidden pixels take the mean of their filled 3×3 neighbours, growing outwards from the known ones.

    Each round fills every hidden pixel that has at least one filled
    neighbour (zero padding: outside the image counts as not filled).
    """
    targets = check_images(targets)
    value = torch.where(known, targets, torch.zeros(()))[:, None]
    filled = known[:, None].to(value.dtype)
    ones = torch.ones(1, 1, 3, 3)
    for _ in range(max_rounds):
        if bool(filled.all()):
            break
        total = F.conv2d(value * filled, ones, padding=1)
        count = F.conv2d(filled, ones, padding=1)
        new = (filled == 0) & (count > 0)
        value = torch.where(new, total / count.clamp_min(1.0), value)
        filled = torch.where(new, torch.ones(()), filled)
    return value[:, 0]


def biharmonic_fill(targets, known: torch.Tensor) -> torch.Tensor:
    """Baseline: every hidden pixel from the biharmonic equation, the known pixels as boundary values.

    scikit-image's ``restoration.inpaint_biharmonic``, one image at a time.
    """
    from skimage.restoration import inpaint_biharmonic

    targets = check_images(targets)
    if known.shape != targets.shape:
        raise ValueError(f"known must have the images' shape {tuple(targets.shape)}, got {tuple(known.shape)}")
    out = [inpaint_biharmonic(np.where(k, t, 0.0).astype(np.float64), ~k)
           for t, k in zip(targets.numpy(), known.numpy())]
    return torch.as_tensor(np.clip(np.stack(out), 0.0, 1.0), dtype=torch.float32)


def psnr(estimates, targets) -> np.ndarray:
    """Per-image peak signal-to-noise ratio (dB) of estimates in [0, 1] against the true images.

    ``10 log10(1 / MSE)`` over all pixels; an exact image scores ``inf``.

    >>> psnr(np.full((1, 2, 2), 0.5), np.full((1, 2, 2), 0.6)).round(6).tolist()
    [20.0]
    """
    e, t = np.asarray(estimates, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    if e.shape != t.shape or e.ndim != 3:
        raise ValueError(f"estimates and targets must both have shape (N, H, W), got {e.shape} and {t.shape}")
    mse = ((e - t) ** 2).mean(axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(1.0 / mse)


def ssim(estimates, targets) -> np.ndarray:
    """Per-image structural similarity of estimates in [0, 1] with the true images (scikit-image, 7×7 windows)."""
    from skimage.metrics import structural_similarity

    e, t = np.asarray(estimates, dtype=np.float64), np.asarray(targets, dtype=np.float64)
    if e.shape != t.shape or e.ndim != 3:
        raise ValueError(f"estimates and targets must both have shape (N, H, W), got {e.shape} and {t.shape}")
    return np.array([structural_similarity(a, b, data_range=1.0) for a, b in zip(e, t)])
