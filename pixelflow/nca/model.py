"""A neural CA: a perception module and an update module, iterated on a state.

>>> import torch
>>> from pixelflow.nca import texture_nca
>>> model = texture_nca(channels=8, hidden=32, seed=0)
>>> model(torch.zeros(2, 8, 16, 16), steps=4, generator=torch.Generator().manual_seed(0)).shape
torch.Size([2, 8, 16, 16])

The builders (:func:`texture_nca`, :func:`attention_nca`, :func:`conv_nca`)
draw the initial weights from their ``seed`` alone, whatever the global torch
RNG holds, and record their arguments in ``model.spec`` so that
:func:`pixelflow.nca.checkpoint.load_model` can rebuild a saved model.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn import functional as F

from pixelflow.checks import check_int
from pixelflow.nca.perceive import ConvPerceive, FixedPerceive, NeighbourhoodAttention
from pixelflow.nca.update import CellUpdate


def _check_fraction(value, name: str) -> float:
    value = float(value)
    if not (0.0 < value <= 1.0):
        raise ValueError(f"{name} must lie in (0, 1], got {value!r}")
    return value


class NCA(nn.Module):
    """Perceive, update, and add the update to the cells chosen this step.

    Parameters
    ----------
    perceive : nn.Module
        Maps ``(N, C, H, W)`` to ``(N, P, H, W)``; called as ``perceive(x, scale)``.
    update : nn.Module
        Maps the perception to the increment ``(N, C, H, W)``.
    fire_rate : float in (0, 1]
        Probability that a cell applies its update at a step (stochastic,
        asynchronous updates; 1 updates every cell).
    alive_channel : int or None
        With a channel index, a cell whose 3×3 neighbourhood has no value of
        that channel above ``alive_threshold`` before and after the step is
        reset to zero (the growing-NCA alive masking).
    alive_threshold : float
    """

    def __init__(self, perceive: nn.Module, update: nn.Module, fire_rate: float = 0.5,
                 alive_channel: int | None = None, alive_threshold: float = 0.1):
        super().__init__()
        self.perceive = perceive
        self.update = update
        self.fire_rate = _check_fraction(fire_rate, "fire_rate")
        if alive_channel is not None and not (0 <= alive_channel < perceive.channels):
            raise ValueError(f"alive_channel must index one of {perceive.channels} channels, got {alive_channel!r}")
        self.alive_channel = alive_channel
        self.alive_threshold = float(alive_threshold)
        self.spec: dict = {}

    @property
    def channels(self) -> int:
        return self.perceive.channels

    def _alive(self, x):
        a = x[:, self.alive_channel : self.alive_channel + 1]
        return F.max_pool2d(F.pad(a, (1, 1, 1, 1), mode="circular"), 3, stride=1) > self.alive_threshold

    def step(self, x: torch.Tensor, generator: torch.Generator | None = None, scale: float = 1.0,
             dt: float = 1.0, mean_field: bool = False) -> torch.Tensor:
        """One update of every cell chosen by the fire mask.

        Parameters
        ----------
        x : Tensor, shape (N, C, H, W)
        generator : torch.Generator or sequence of them, optional
            Source of the fire mask (pass one for reproducible rollouts); with
            one generator per sample, each sample's mask is drawn from its
            own, so its rollout does not depend on the rest of the batch.
        scale : float
            Grid refinement passed to the perception (see :class:`FixedPerceive`).
        dt : float
            Multiplies the increment (smaller steps on refined grids).
        mean_field : bool
            Update every cell by the expected increment ``fire_rate * update``
            instead of a random fire mask: the deterministic, spatially smooth
            version of the stochastic rule, which a refined grid needs (a
            per-cell random mask is noise at the finest scale, and rescaled
            derivative filters amplify it).
        """
        delta = self.update(self.perceive(x, scale))
        if mean_field:
            delta = delta * self.fire_rate
        elif self.fire_rate < 1.0:
            n, _, h, w = x.shape
            if isinstance(generator, (list, tuple)):
                if len(generator) != n:
                    raise ValueError(f"got {len(generator)} generators for a batch of {n} samples; pass one per sample")
                draws = torch.cat([torch.rand((1, 1, h, w), generator=g, device=x.device) for g in generator])
            else:
                draws = torch.rand((n, 1, h, w), generator=generator, device=x.device)
            fire = draws < self.fire_rate
            delta = delta * fire.to(delta.dtype)
        # dt = 1 (every grid but refined ones): the product would only copy delta.
        new = x + delta if dt == 1.0 else x + dt * delta
        if self.alive_channel is not None:
            new = new * (self._alive(x) & self._alive(new)).to(new.dtype)
        return new

    def forward(self, x: torch.Tensor, steps: int, generator: torch.Generator | None = None, scale: float = 1.0,
                dt: float = 1.0, constrain: Callable[[torch.Tensor], torch.Tensor] | None = None,
                mean_field: bool = False) -> torch.Tensor:
        """Iterate :meth:`step` ``steps`` times; ``constrain`` is applied after every step."""
        for x in self.rollout(x, steps, generator=generator, scale=scale, dt=dt, constrain=constrain,
                              mean_field=mean_field):
            pass
        return x

    def rollout(self, x: torch.Tensor, steps: int, generator: torch.Generator | None = None, scale: float = 1.0,
                dt: float = 1.0, constrain: Callable[[torch.Tensor], torch.Tensor] | None = None,
                mean_field: bool = False):
        """Yield the state after each of ``steps`` steps (for frames and step-wise measurements)."""
        check_int(steps, "steps", low=0)
        if x.ndim != 4 or x.shape[1] != self.channels:
            raise ValueError(f"state must have shape (N, {self.channels}, H, W), got {tuple(x.shape)}")
        if steps == 0:
            yield x
        for _ in range(steps):
            x = self.step(x, generator, scale, dt, mean_field)
            if constrain is not None:
                x = constrain(x)
            yield x


@contextmanager
def seeded(seed: int):
    """Run a block with the global torch RNG seeded, restoring it afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _spec(builder: str, **kwargs) -> dict:
    return {"builder": builder, "kwargs": kwargs}


def texture_nca(channels: int = 12, hidden: int = 96, fire_rate: float = 0.5, seed: int = 0) -> NCA:
    """Fixed Sobel/Laplacian perception + MLP update (the texture NCA of Mordvintsev et al.).

    The first channels are the visible image; the rest are hidden. Its fixed
    perception gives it a grid-refinement form (``scale``), which the
    resolution-transfer notebook uses.
    """
    with seeded(seed):
        perceive = FixedPerceive(channels)
        model = NCA(perceive, CellUpdate(perceive.out_channels, channels, hidden), fire_rate=fire_rate)
    model.spec = _spec("texture_nca", channels=channels, hidden=hidden, fire_rate=fire_rate, seed=seed)
    return model


def attention_nca(channels: int = 16, heads: int = 4, head_dim: int = 8, hidden: int = 96,
                  fire_rate: float = 0.5, seed: int = 0) -> NCA:
    """Localized multi-head self-attention perception + MLP update."""
    with seeded(seed):
        perceive = NeighbourhoodAttention(channels, heads, head_dim)
        model = NCA(perceive, CellUpdate(perceive.out_channels, channels, hidden), fire_rate=fire_rate)
    model.spec = _spec("attention_nca", channels=channels, heads=heads, head_dim=head_dim, hidden=hidden,
                       fire_rate=fire_rate, seed=seed)
    return model


def conv_nca(channels: int = 16, perception: int = 48, hidden: int = 96, fire_rate: float = 0.5,
             seed: int = 0) -> NCA:
    """Learned 3×3 convolution perception + MLP update."""
    with seeded(seed):
        perceive = ConvPerceive(channels, perception)
        model = NCA(perceive, CellUpdate(perception, channels, hidden), fire_rate=fire_rate)
    model.spec = _spec("conv_nca", channels=channels, perception=perception, hidden=hidden, fire_rate=fire_rate,
                       seed=seed)
    return model


BUILDERS = {"texture_nca": texture_nca, "attention_nca": attention_nca, "conv_nca": conv_nca}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def conv_nca_matching(target: int, channels: int, hidden: int, fire_rate: float = 0.5, seed: int = 0) -> NCA:
    """A :func:`conv_nca` whose parameter count is as close as possible to ``target``.

    Only the perception width varies, so the comparison with another rule of
    the same state size and hidden width isolates the perception module.
    """
    check_int(target, "target", low=1)
    # params(p) = (9 C + 1) p + (p + 1) hidden + hidden C + C, linear in p.
    per_p = 9 * channels + 1 + hidden
    fixed = hidden + hidden * channels + channels
    p = max(1, round((target - fixed) / per_p))
    best = min((max(1, q) for q in (p - 1, p, p + 1)),
               key=lambda q: abs(per_p * q + fixed - target))
    return conv_nca(channels, best, hidden, fire_rate, seed)
