"""Texture statistics of a fixed feature extractor, and the losses built on them: Gram matrices, sliced Wasserstein.

Two extractors:

- :class:`VGG16Features` — the convolutional part of VGG16 with ImageNet
  weights, the extractor of the texture-synthesis literature. Its weights are
  read from a local file only (``$PIXELFLOW_VGG16`` or torch's hub cache,
  e.g. ``vgg16-397923af.pth`` as distributed for torchvision); nothing is
  downloaded and torchvision is not needed.
- :class:`RandomFeatures` — a fixed, randomly initialised multi-scale
  convolutional network. Random networks give usable texture statistics
  (Ustyuzhaninov et al., 2017, "What does it take to generate natural
  textures?"); it is the default when no VGG16 weights are present.

:func:`feature_extractor` picks one and says which, so a notebook can report it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from pixelflow.nca.model import seeded

VGG16_ENV_VAR = "PIXELFLOW_VGG16"
VGG16_FILE = "vgg16-397923af.pth"
# Layer indices of torchvision's vgg16().features: conv widths, "M" = max pool.
_VGG16_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
# The ReLU outputs whose Gram matrices describe style (block1..block5 first convs).
_VGG16_STYLE_LAYERS = (1, 6, 11, 18, 25)
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _as_rgb(images: torch.Tensor) -> torch.Tensor:
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


class VGG16Features(nn.Module):
    """VGG16's convolutional layers with pretrained weights from a local file.

    Parameters
    ----------
    weights : path
        A state dict with torchvision's ``vgg16`` key names (``features.0.weight`` ...).
    """

    name = "VGG16 (ImageNet weights)"

    def __init__(self, weights: str | os.PathLike):
        super().__init__()
        layers, width = [], 3
        for entry in _VGG16_LAYOUT:
            if entry == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(width, entry, 3, padding=1), nn.ReLU()]
                width = entry
        self.features = nn.Sequential(*layers[: max(_VGG16_STYLE_LAYERS) + 1])
        state = torch.load(weights, map_location="cpu", weights_only=True)
        state = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        self.features.load_state_dict({k: v for k, v in state.items() if k in self.features.state_dict()})
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN)[None, :, None, None], persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD)[None, :, None, None], persistent=False)
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Style-layer activations of images in [0, 1], shape (N, 1 or 3, H, W)."""
        x = (_as_rgb(images) - self.mean) / self.std
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in _VGG16_STYLE_LAYERS:
                out.append(x)
        return out


class RandomFeatures(nn.Module):
    """A fixed random convolutional pyramid: 3×3 conv + ReLU, then 2× average pooling, repeated.

    Each level sees a receptive field twice as wide as the one before, so the
    Gram matrices of all levels together describe the texture from single
    pixels up to ``2**levels``-pixel structures.

    Parameters
    ----------
    widths : tuple of int
        Channels per level.
    seed : int
        Seeds the weights (He-normal), so the same seed gives the same statistics.
    """

    name = "random multi-scale convolutional network"

    def __init__(self, widths: tuple[int, ...] = (32, 64, 96, 128, 128), seed: int = 0):
        super().__init__()
        with seeded(seed):
            convs, width = [], 3
            for w in widths:
                conv = nn.Conv2d(width, w, 3, padding=1, padding_mode="reflect")
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
                nn.init.uniform_(conv.bias, -0.1, 0.1)
                convs.append(conv)
                width = w
        self.convs = nn.ModuleList(convs)
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        """Activations of every level for images in [0, 1], shape (N, 1 or 3, H, W)."""
        x = _as_rgb(images) * 2.0 - 1.0
        out = []
        for i, conv in enumerate(self.convs):
            if i:
                x = F.avg_pool2d(x, 2)
            x = F.relu(conv(x))
            out.append(x)
        return out


def vgg16_weights_path() -> Path | None:
    """The local VGG16 weights file, if any: ``$PIXELFLOW_VGG16``, else torch's hub cache."""
    env = os.environ.get(VGG16_ENV_VAR)
    if env:
        return Path(env) if Path(env).is_file() else None
    cached = Path(torch.hub.get_dir()) / "checkpoints" / VGG16_FILE
    return cached if cached.is_file() else None


def feature_extractor(prefer: str = "vgg16", seed: int = 0) -> nn.Module:
    """VGG16 when its weights are on disk and ``prefer="vgg16"``, else :class:`RandomFeatures`.

    The returned module's ``name`` says which one it is.
    """
    if prefer not in ("vgg16", "random"):
        raise ValueError(f"prefer must be 'vgg16' or 'random', got {prefer!r}")
    path = vgg16_weights_path() if prefer == "vgg16" else None
    return VGG16Features(path) if path is not None else RandomFeatures(seed=seed)


def gram(features: torch.Tensor) -> torch.Tensor:
    """Channel Gram matrices ``(N, C, C)`` of ``(N, C, H, W)`` activations, averaged over positions."""
    n, c, h, w = features.shape
    f = features.reshape(n, c, h * w)
    return f @ f.transpose(1, 2) / (h * w)


class StyleLoss(nn.Module):
    """Per-sample distance between an image's Gram matrices and a target texture's.

    Each level's squared Frobenius distance is divided by the squared norm of
    the target's Gram matrix at that level, so every scale counts alike
    whatever its activation magnitude.

    Parameters
    ----------
    target : Tensor, shape (1 or 3, H, W) or (H, W)
        The texture, values in [0, 1].
    extractor : nn.Module
        From :func:`feature_extractor`.
    """

    def __init__(self, target: torch.Tensor, extractor: nn.Module):
        super().__init__()
        target = torch.as_tensor(target, dtype=torch.float32)
        if target.ndim == 2:
            target = target[None]
        self.extractor = extractor
        with torch.no_grad():
            grams = [gram(f)[0] for f in extractor(target[None])]
        self.targets = nn.ParameterList([nn.Parameter(g, requires_grad=False) for g in grams])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for f, g in zip(self.extractor(images), self.targets):
            total = total + ((gram(f) - g) ** 2).sum((1, 2)) / (g**2).sum()
        return total / len(self.targets)


class SlicedWassersteinLoss(nn.Module):
    """Per-sample sliced Wasserstein distance between an image's feature distributions and a target texture's.

    At each level of the extractor an image is a cloud of points, one per
    position, in the space of its channels. Gram matrices compare only the
    clouds' second moments; the sliced Wasserstein distance compares their
    whole distributions along many directions (Heitz, Vanhoey, Chambon &
    Belcour, 2021, "A sliced Wasserstein loss for neural texture synthesis"):
    project both clouds on a direction, sort, and take the mean squared
    difference of the sorted values, where the target's sorted values are
    read at the image's quantiles when the two have different sizes.

    The ``projections`` unit directions per level are drawn once from ``seed``
    (a fixed set rather than fresh ones every step: training stays
    deterministic and resumable); each level's distance is divided by the
    target's mean projected variance, so every scale counts alike.

    Parameters
    ----------
    target : Tensor, shape (1 or 3, H, W) or (H, W)
        The texture, values in [0, 1].
    extractor : nn.Module
        From :func:`feature_extractor`.
    projections : int, optional
        Directions per level (default: twice the level's channels).
    seed : int
        Seeds the directions.
    """

    def __init__(self, target: torch.Tensor, extractor: nn.Module, projections: int | None = None, seed: int = 0):
        super().__init__()
        target = torch.as_tensor(target, dtype=torch.float32)
        if target.ndim == 2:
            target = target[None]
        self.extractor = extractor
        g = torch.Generator().manual_seed(seed)
        directions, sorted_targets, scales = [], [], []
        with torch.no_grad():
            for f in extractor(target[None]):
                c = f.shape[1]
                d = torch.randn(c, projections or 2 * c, generator=g)
                d = d / d.norm(dim=0, keepdim=True)
                projected = f[0].reshape(c, -1).T @ d  # (positions, projections)
                directions.append(d)
                sorted_targets.append(projected.sort(dim=0).values)
                scales.append(projected.var(dim=0).mean().clamp_min(1e-12))
        self.directions = nn.ParameterList([nn.Parameter(d, requires_grad=False) for d in directions])
        self.targets = nn.ParameterList([nn.Parameter(t, requires_grad=False) for t in sorted_targets])
        self.register_buffer("scales", torch.stack(scales))

    @staticmethod
    def _at_quantiles(sorted_values: torch.Tensor, n: int) -> torch.Tensor:
        """``sorted_values`` (m, P) read at the mid-quantiles of ``n`` points, by linear interpolation."""
        m = sorted_values.shape[0]
        if m == n:
            return sorted_values
        position = ((torch.arange(n, dtype=torch.float32) + 0.5) * (m / n) - 0.5).clamp(0, m - 1)
        low = position.floor().long()
        high = (low + 1).clamp_max(m - 1)
        w = (position - low)[:, None]
        return sorted_values[low] * (1 - w) + sorted_values[high] * w

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        total = 0.0
        for f, d, t, scale in zip(self.extractor(images), self.directions, self.targets, self.scales):
            n, c, h, w = f.shape
            projected = f.reshape(n, c, h * w).transpose(1, 2) @ d  # (N, positions, projections)
            ours = projected.sort(dim=1).values
            total = total + ((ours - self._at_quantiles(t, h * w)) ** 2).mean((1, 2)) / scale
        return total / len(self.targets)


#: The texture losses by name: each built from a target texture and an extractor, each a per-sample distance.
TEXTURE_LOSSES = {"gram": StyleLoss, "sliced_wasserstein": SlicedWassersteinLoss}


def texture_loss(kind: str, target, extractor: nn.Module) -> nn.Module:
    """The texture loss named ``kind`` (a key of :data:`TEXTURE_LOSSES`) built on ``target``.

    >>> import torch
    >>> extractor = RandomFeatures(widths=(4, 8), seed=0)
    >>> type(texture_loss("sliced_wasserstein", torch.rand(16, 16), extractor)).__name__
    'SlicedWassersteinLoss'
    """
    if kind not in TEXTURE_LOSSES:
        raise ValueError(f"unknown texture loss {kind!r}; valid: {', '.join(TEXTURE_LOSSES)}")
    return TEXTURE_LOSSES[kind](torch.as_tensor(target), extractor)


def overflow_loss(states: torch.Tensor, bound: float = 1.0) -> torch.Tensor:
    """Per-sample mean amount by which cell values leave ``[-bound, bound]`` (keeps the state in range)."""
    return (states - states.clamp(-bound, bound)).abs().flatten(1).mean(1)
