"""The texture task: grow a texture from an empty grid and keep it, trained on a texture loss of a feature extractor."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from pixelflow.checks import check_int
from pixelflow.nca.checkpoint import load_model, save_model
from pixelflow.nca.model import texture_nca
from pixelflow.nca.style import TEXTURE_LOSSES, overflow_loss, texture_loss
from pixelflow.nca.textures import gray_scott_texture, package_texture, photograph_field
from pixelflow.nca.training import Trainer
from pixelflow.threads import torch_threads


class TextureTask:
    """Start from zeros; the first ``visible`` channels plus 0.5 are the image.

    Parameters
    ----------
    style : nn.Module
        A texture loss (:func:`~pixelflow.nca.style.texture_loss`) built on the target texture.
    channels : int
        State channels of the NCA.
    size : int
        Side of the square training grid.
    visible : int
        1 (grey) or 3 (RGB) image channels at the front of the state.
    overflow_weight : float
        Weight of :func:`~pixelflow.nca.style.overflow_loss` (keeps the state in [-1, 1]).
    damage_radius : float
        Radius, as a fraction of ``size``, of the disc :meth:`damage` clears.
    """

    def __init__(self, style: torch.nn.Module, channels: int, size: int, visible: int = 1,
                 overflow_weight: float = 10.0, damage_radius: float = 0.25):
        if visible not in (1, 3) or visible > channels:
            raise ValueError(f"visible must be 1 or 3 and at most channels={channels}, got {visible!r}")
        check_int(size, "size", low=8)
        self.style = style
        self.channels = channels
        self.size = size
        self.visible = visible
        self.overflow_weight = float(overflow_weight)
        self.damage_radius = float(damage_radius)

    def initial(self, n: int, generator: torch.Generator):
        return torch.zeros(n, self.channels, self.size, self.size), None

    def image(self, states: torch.Tensor) -> torch.Tensor:
        """The visible channels as images in [0, 1]."""
        return (states[:, : self.visible] + 0.5).clamp(0.0, 1.0)

    def loss(self, states: torch.Tensor, info=None) -> torch.Tensor:
        # The style loss sees the unclamped image so gradients reach out-of-range
        # cells; the overflow term pulls them back.
        return self.style(states[:, : self.visible] + 0.5) + self.overflow_weight * overflow_loss(states)

    def damage(self, states: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Zero a disc at a random centre in every sample (periodic distance)."""
        n, _, h, w = states.shape
        centre = torch.rand(n, 2, generator=generator) * torch.tensor([h, w])
        return states * (~disc_mask(h, w, centre, self.damage_radius * min(h, w)))[:, None].to(states.dtype)


class DecodedTextureTask(TextureTask):
    """The texture task of a :class:`~pixelflow.nca.decoder.DecodedNCA`, scored at ``factor`` times its resolution.

    The style is measured on the decoder's image of the cells, rendered
    ``factor`` times finer than the grid, against a target of that finer
    resolution. At most a ``window``-pixel square of the image is rendered
    for the loss: rendering and scoring cost then stay fixed however fine
    the image. The window sits at the grid's origin: the rule and decoder
    are the same at every cell and the pool's states are statistically alike
    everywhere, so where the window lies does not matter in expectation,
    and a fixed window keeps training deterministic and resumable.

    Parameters
    ----------
    style : nn.Module
        A texture loss (:func:`~pixelflow.nca.style.texture_loss`) built on the fine target.
    model : DecodedNCA
        Whose decoder draws the image.
    size : int
        Side of the square training grid (cells).
    factor : int
        Pixels per cell along each axis.
    window : int, optional
        Side of the rendered square (default: the whole image).
    overflow_weight, damage_radius : as :class:`TextureTask`.
    """

    def __init__(self, style: torch.nn.Module, model, size: int, factor: int, window: int | None = None,
                 overflow_weight: float = 10.0, damage_radius: float = 0.25):
        from pixelflow.nca.decoder import DecodedNCA

        if not isinstance(model, DecodedNCA):
            raise TypeError(f"model must be a DecodedNCA, got {type(model).__name__}")
        super().__init__(style, model.channels, size, model.decoder.visible, overflow_weight, damage_radius)
        self.model = model
        self.factor = check_int(factor, "factor", low=1)
        full = size * self.factor
        self.window = full if window is None else min(check_int(window, "window", low=8), full)

    def image(self, states: torch.Tensor) -> torch.Tensor:
        """The whole image, ``factor`` times finer than the grid, in [0, 1]."""
        return self.model.image(states, self.factor)

    def loss(self, states: torch.Tensor, info=None) -> torch.Tensor:
        w = self.window
        image = self.model.image(states, self.factor, region=(0, 0, w, w))
        return self.style(image) + self.overflow_weight * overflow_loss(states)


def disc_mask(h: int, w: int, centres: torch.Tensor, radius: float) -> torch.Tensor:
    """Boolean ``(N, H, W)``: cells within ``radius`` of each centre on the torus."""
    ys = torch.arange(h, dtype=torch.float32)[None, :, None]
    xs = torch.arange(w, dtype=torch.float32)[None, None, :]
    dy = (ys - centres[:, 0, None, None]).abs()
    dx = (xs - centres[:, 1, None, None]).abs()
    dy = torch.minimum(dy, h - dy)
    dx = torch.minimum(dx, w - dx)
    return dy**2 + dx**2 <= radius**2


# The gravel target: the photograph's centre, ``_GRAVEL_SIZE`` pixels after block-averaging by ``_GRAVEL_ZOOM``.
_GRAVEL_SIZE, _GRAVEL_ZOOM = 64, 4

# Target textures by name: (loader, what the paper calls it).
TEXTURES = {
    "gray_scott": (
        lambda: gray_scott_texture(128), "Gray-Scott labyrinth (our diffusion_reaction rule, F=0.055, k=0.062)"
    ),
    "gravel": (
        lambda: package_texture("gravel", _GRAVEL_SIZE, zoom_out=_GRAVEL_ZOOM),
        "gravel photograph (scikit-image data.gravel, 4x reduced)",
    ),
}


def target_texture(name: str) -> np.ndarray:
    """A named target texture of :data:`TEXTURES`, ``(H, W)`` in [0, 1]."""
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}; available: {', '.join(TEXTURES)}")
    return TEXTURES[name][0]()


def texture_title(name: str) -> str:
    """What a figure calls the texture ``name`` of :data:`TEXTURES`: its description without the details in
    brackets.

    >>> texture_title("gray_scott")
    'Gray-Scott labyrinth'
    """
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}; available: {', '.join(TEXTURES)}")
    return TEXTURES[name][1].split(" (")[0]


def independent_pieces(name: str, size: int, n: int, seed: int = 0, max_shared: float = 0.25) -> np.ndarray:
    """``n`` pieces of a named texture, ``(n, size, size)`` in [0, 1], not cut from its training image.

    A texture metric needs pieces of the *texture* to read a score against:
    crops of the training image itself favour a model that copies that image.

    - ``gray_scott``: each piece is a random crop of a field grown by the same
      rule and rates from other random spots (spot seeds drawn from ``seed``;
      the training image uses spot seed 0, which is never drawn).
    - ``gravel``: random crops of the whole photograph at the training zoom,
      mapped to grey levels as the training crop was; each shares at most
      ``max_shared`` of its pixels with the training crop (the photograph is
      all there is of this texture).
    """
    if name not in TEXTURES:
        raise ValueError(f"unknown texture {name!r}; available: {', '.join(TEXTURES)}")
    check_int(size, "size", low=8)
    check_int(n, "n", low=1)
    if not 0.0 <= max_shared <= 1.0:
        raise ValueError(f"max_shared must be a fraction in [0, 1], got {max_shared!r}")
    rng = np.random.default_rng(seed)
    if name == "gray_scott":
        field_side = target_texture(name).shape[0]
        out = []
        spot_seeds: list[int] = []
        while len(spot_seeds) < n:  # distinct, and never the training image's 0
            draw = int(rng.integers(1, 2**31 - 1))
            if draw not in spot_seeds:
                spot_seeds.append(draw)
        for spot_seed in spot_seeds:
            field = gray_scott_texture(field_side, seed=spot_seed)
            i, j = rng.integers(0, field_side - size + 1, 2)
            out.append(field[i : i + size, j : j + size])
        return np.stack(out).astype(np.float32)
    field, (top, left, side) = photograph_field("gravel", _GRAVEL_SIZE, _GRAVEL_ZOOM)
    h, w = field.shape
    if size > min(h, w):
        raise ValueError(f"size {size} exceeds the {field.shape} photograph at the training zoom")
    rows, cols = np.meshgrid(np.arange(h - size + 1), np.arange(w - size + 1), indexing="ij")
    shared_rows = np.clip(np.minimum(rows + size, top + side) - np.maximum(rows, top), 0, None)
    shared_cols = np.clip(np.minimum(cols + size, left + side) - np.maximum(cols, left), 0, None)
    allowed = np.flatnonzero((shared_rows * shared_cols).ravel() <= max_shared * size * size)
    if allowed.size == 0:
        raise ValueError(f"no {size}-pixel piece of the photograph shares at most {max_shared:.0%} of its pixels "
                         "with the training crop; lower size or raise max_shared")
    picks = rng.choice(allowed, size=n, replace=allowed.size < n)
    return np.stack([field[r : r + size, c : c + size]
                     for r, c in zip(rows.ravel()[picks], cols.ravel()[picks])]).astype(np.float32)


@dataclass(frozen=True)
class TextureRecipe:
    """How a texture NCA is trained (the settings both the texture and the resolution notebooks use)."""

    iterations: int = 1500
    grid: int = 48
    channels: int = 12
    hidden: int = 96
    batch_size: int = 4
    steps: tuple = (24, 48)
    pool_size: int = 256
    lr: float = 1e-3
    damage: int = 1
    seed: int = 0
    loss: str = "gram"

    def __post_init__(self):
        if self.loss not in TEXTURE_LOSSES:
            raise ValueError(f"loss must be one of {', '.join(TEXTURE_LOSSES)}, got {self.loss!r}")

    @property
    def label(self) -> str:
        """Names the trained model among the recipe's variants: the loss and the seed, e.g. ``"gram_seed0"``."""
        return f"{self.loss}_seed{self.seed}"


def fit_texture(target: np.ndarray, recipe: TextureRecipe, extractor, checkpoint=None,
                progress: bool = True) -> Trainer:
    """Train a :func:`~pixelflow.nca.model.texture_nca` on ``target``; returns the fitted trainer.

    With ``checkpoint``, an interrupted run resumes and a finished one is
    loaded instead of retrained.
    """
    model = texture_nca(recipe.channels, recipe.hidden, seed=recipe.seed)
    task = TextureTask(texture_loss(recipe.loss, target, extractor), recipe.channels, recipe.grid)
    return Trainer(model, task, iterations=recipe.iterations, batch_size=recipe.batch_size, steps=recipe.steps,
                   lr=recipe.lr, pool_size=recipe.pool_size, damage=recipe.damage, seed=recipe.seed,
                   checkpoint=checkpoint, checkpoint_every=100, progress=progress).fit()


def model_path(root, name: str, recipe: TextureRecipe) -> Path:
    """Where the texture model of ``recipe`` is kept under a results folder (one file per loss and seed)."""
    return Path(root) / "models" / f"texture_nca_{name}_{recipe.label}.pt"


def saved_recipe(info: dict) -> dict:
    """The recipe a saved model records, as :func:`dataclasses.asdict` gives it today.

    Recipes saved before the loss was a setting name none: those models were
    trained with the Gram loss.
    """
    return {"loss": "gram", **info.get("recipe", {})}


def fit_and_save(name: str, recipe: TextureRecipe, extractor, root, resume: bool = False,
                 progress: bool = True) -> tuple:
    """Train on the named texture and save the model (with its recipe, extractor and loss history) under ``root``.

    The training checkpoint lives in ``root/checkpoints``; with ``resume`` an
    interrupted run continues from it, otherwise training starts afresh.

    Returns
    -------
    (model, info)
        ``info`` holds ``recipe``, ``extractor``, ``history`` and ``wall_time_s``.
    """
    ckpt = Path(root) / "checkpoints" / f"texture_nca_{name}_{recipe.label}.pt"
    if not resume:
        ckpt.unlink(missing_ok=True)
    trainer = fit_texture(target_texture(name), recipe, extractor, checkpoint=ckpt, progress=progress)
    info = {"recipe": asdict(recipe), "extractor": extractor.name, "history": trainer.history_,
            "wall_time_s": trainer.wall_time_s_}
    save_model(trainer.model, model_path(root, name, recipe), **info)
    return trainer.model, info


def load_or_fit(name: str, recipe: TextureRecipe, extractor, root, progress: bool = True) -> tuple:
    """The saved model for this texture and recipe if there is one, else :func:`fit_and_save`.

    Returns
    -------
    (model, info, trained)
        ``trained`` says whether it was trained now.
    """
    path = model_path(root, name, recipe)
    if path.exists():
        model, info = load_model(path)
        if saved_recipe(info) == asdict(recipe) and info.get("extractor") == extractor.name:
            return model, info, False
    return (*fit_and_save(name, recipe, extractor, root, progress=progress), True)


@torch.no_grad()
def trajectory(model, task: TextureTask, steps: int, score, n: int = 4, size: int | None = None,
               damage_at: int | None = None, every: int = 8, seed: int = 0, scale: float = 1.0,
               threads: int | None = 1) -> dict:
    """Grow ``n`` textures from zeros, optionally damage them, and score every step.

    Parameters
    ----------
    score : callable
        Per-sample loss of images in [0, 1] (e.g. a :class:`StyleLoss` on a
        held-out extractor).
    size : int, optional
        Grid side (default: the task's training size).
    damage_at : int, optional
        Step after which :meth:`TextureTask.damage` clears a disc in every sample.
    every : int
        Keep the first sample's image every ``every`` steps.
    scale : float
        Grid refinement for the perception (resolution transfer).
    threads : int or None
        Torch CPU threads meanwhile (see :mod:`pixelflow.threads`).

    Returns
    -------
    dict
        ``loss`` (steps + 1,) mean score per step (index 0 = the empty grid),
        ``frames`` (F, H, W), ``frame_steps`` (F,), ``final`` (n, H, W) images.
    """
    with torch_threads(threads):
        return _trajectory(model, task, steps, score, n, size or task.size, damage_at, every, seed, scale)


def _trajectory(model, task, steps, score, n, side, damage_at, every, seed, scale) -> dict:
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, task.channels, side, side)
    losses, frames, frame_steps = [float(score(task.image(x)).mean())], [task.image(x)[0, 0]], [0]
    for t in range(1, steps + 1):
        x = model.step(x, g, scale=scale)
        if damage_at is not None and t == damage_at:
            x = task.damage(x, g)
        img = task.image(x)
        losses.append(float(score(img).mean()))
        if t % every == 0 or t == damage_at:
            frames.append(img[0, 0])
            frame_steps.append(t)
    return {"loss": np.asarray(losses), "frames": torch.stack(frames).numpy(),
            "frame_steps": np.asarray(frame_steps), "final": task.image(x)[:, 0].numpy()}


@torch.no_grad()
def reference_scores(target: np.ndarray, size: int, score, seed: int = 0, n: int = 8) -> dict:
    """What ``score`` gives images that are not NCA outputs, to read its values against.

    ``crops``: ``n`` random ``size``-pixel crops of the target itself (the floor
    a perfect texture of that size reaches); ``noise``: uniform white noise with
    the target's mean; ``flat``: a uniform image at the target's mean.
    """
    rng = np.random.default_rng(seed)
    t = np.asarray(target, dtype=np.float32)
    h, w = t.shape
    if size > min(h, w):
        raise ValueError(f"size {size} exceeds the {t.shape} target")
    corners = rng.integers(0, [h - size + 1, w - size + 1], (n, 2))
    crops = np.stack([t[i : i + size, j : j + size] for i, j in corners])
    mean = float(t.mean())
    noise = np.clip(rng.random((n, size, size)) + (mean - 0.5), 0, 1).astype(np.float32)
    flat = np.full((n, size, size), mean, np.float32)
    return {name: float(score(torch.from_numpy(imgs)[:, None]).mean())
            for name, imgs in (("crops", crops), ("noise", noise), ("flat", flat))}
