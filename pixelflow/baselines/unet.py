"""A small U-Net inpainter: the convolutional baseline of the inpainting comparison, at a matched parameter count.

The neural CAs of the inpainting notebook see the masked image and the mask
and must fill in the hidden pixels. The standard learned alternative is an
encoder-decoder with skip connections (Ronneberger, Fischer & Brox, 2015,
"U-Net"): it sees the whole image at once through its downsampling path,
where a CA sees only its neighbours and must pass information step by step.
:func:`unet_matching` sizes it to a CA's parameter count, so the comparison
is between architectures, not between model sizes.

Input: the masked image (hidden pixels at 0) and the mask; output: the
image, with the known pixels written back (as the CA does after every step).
The last layer is linear and the image is clipped to [0, 1] only when it is
used, not in training: behind a sigmoid a network whose output has saturated
gets no gradient and stays a constant fill (one of three seeds did, trained
so, on MNIST).

>>> import torch
>>> model = InpaintingUNet(width=4, seed=0)
>>> known = torch.rand(2, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5
>>> model.inpaint(torch.rand(2, 28, 28), known).shape
torch.Size([2, 28, 28])
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pixelflow.checks import check_int
from pixelflow.nca.inpainting import check_images, hidden_mse, random_known
from pixelflow.nca.model import count_parameters, seeded
from pixelflow.nca.training import plateaued
from pixelflow.threads import torch_threads

__all__ = ["InpaintingUNet", "fit_and_inpaint_unet", "fit_inpainting_unet", "unet_matching"]


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())




def _known(known, targets: torch.Tensor) -> torch.Tensor:
    known = torch.as_tensor(known)
    if known.dtype != torch.bool or known.shape != targets.shape:
        raise ValueError(f"known must be a boolean mask of the images' shape {tuple(targets.shape)}, got "
                         f"{known.dtype} of shape {tuple(known.shape)}")
    return known


class InpaintingUNet(nn.Module):
    """Encoder-decoder with skip connections: (masked image, mask) -> image (clipped to [0, 1] by :meth:`inpaint`).

    Parameters
    ----------
    width : int
        Channels of the first level; each level down doubles them.
    levels : int
        Downsampling steps (2× average pooling each); inputs are padded to a
        multiple of ``2**levels`` and the output cropped back.
    seed : int
        Seeds the initial weights.
    """

    def __init__(self, width: int = 8, levels: int = 2, seed: int = 0):
        super().__init__()
        self.width = check_int(width, "width", low=1)
        self.levels = check_int(levels, "levels", low=1)
        with seeded(seed):
            widths = [width * 2**i for i in range(levels + 1)]
            self.down = nn.ModuleList([_block(2, widths[0])]
                                      + [_block(widths[i], widths[i + 1]) for i in range(levels)])
            self.up = nn.ModuleList([_block(widths[i + 1] + widths[i], widths[i]) for i in reversed(range(levels))])
            self.out = nn.Conv2d(widths[0], 1, 1)
        self.spec = {"width": width, "levels": levels, "seed": seed}

    def forward(self, masked: torch.Tensor, known: torch.Tensor) -> torch.Tensor:
        """The network's image ``(N, H, W)``, unclipped, before the known pixels are written back."""
        n, h, w = masked.shape
        if known.shape != masked.shape:
            raise ValueError(f"known must have the images' shape {tuple(masked.shape)}, got {tuple(known.shape)}")
        m = 2**self.levels
        pad = (0, (-w) % m, 0, (-h) % m)
        x = F.pad(torch.stack([masked, known.to(masked.dtype)], dim=1), pad)
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.avg_pool2d(x, 2))
            skips.append(x)
        x = skips.pop()
        for block in self.up:
            skip = skips.pop()
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False),
                                 skip], dim=1))
        return self.out(x)[:, 0, :h, :w]

    def inpaint(self, targets, known: torch.Tensor, threads: int | None = 1) -> torch.Tensor:
        """Estimates ``(N, H, W)`` of ``targets`` shown at ``known``: known pixels as they are, others in [0, 1]."""
        targets = check_images(targets)
        known = _known(known, targets)
        masked = torch.where(known, targets, torch.zeros(()))
        with torch.no_grad(), torch_threads(threads):
            return torch.where(known, targets, self(masked, known).clamp(0.0, 1.0))


def unet_matching(target: int, levels: int = 2, seed: int = 0) -> InpaintingUNet:
    """The :class:`InpaintingUNet` whose parameter count is closest to ``target`` (only ``width`` varies)."""
    check_int(target, "target", low=1)
    # The count grows with width², so the closest width lies below sqrt(target) / 2 + 2.
    candidates = range(1, int(np.sqrt(target)) // 2 + 3)
    width = min(candidates, key=lambda w: abs(count_parameters(InpaintingUNet(w, levels)) - target))
    return InpaintingUNet(width, levels, seed)


def fit_inpainting_unet(model: InpaintingUNet, images, *, hidden: float = 0.5, iterations: int = 800,
                        batch_size: int = 8, lr: float = 1e-3, seed: int = 0, threads: int | None = 1,
                        validation=None, every: int = 50, patience: int | None = None,
                        min_improvement: float = 0.01) -> dict:
    """Train on random training images with a fresh random mask each, on the hidden pixels' squared error.

    The inpainting CAs' recipe: the same images, the same fraction of pixels
    hidden, drawn the same way (:func:`pixelflow.nca.inpainting.random_known`),
    Adam, one generator seeded by ``seed`` behind every draw.

    Parameters
    ----------
    validation : (targets, known), optional
        Scored every ``every`` iterations and after the last (hidden-pixel
        MSE, mean over images).
    patience, min_improvement : optional
        Stop at the validation loss's plateau, by the rule the rules' trainer
        uses (:func:`pixelflow.nca.training.plateaued`); ``iterations`` is then the cap.

    Returns
    -------
    dict
        ``history`` (loss per iteration), ``validation`` (list of
        ``(iteration, mse)``), ``stopped_early``, ``wall_time_s``.
    """
    if not isinstance(model, InpaintingUNet):
        raise TypeError(f"model must be an InpaintingUNet, got {type(model).__name__}")
    images = check_images(images)
    check_int(iterations, "iterations", low=1)
    check_int(batch_size, "batch_size", low=1)
    check_int(every, "every", low=1)
    if patience is not None:
        check_int(patience, "patience", low=1)
        if validation is None:
            raise ValueError("patience needs validation images to tell when training has stopped improving")
    if validation is not None:
        v_targets = check_images(validation[0])
        v_known = _known(validation[1], v_targets)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history, scores, stopped = [], [], False
    t0 = time.perf_counter()
    with torch_threads(threads):
        for it in range(1, iterations + 1):
            targets = images[torch.randint(len(images), (batch_size,), generator=g)]
            known = random_known(batch_size, *targets.shape[1:], hidden, g)
            estimate = model(torch.where(known, targets, torch.zeros(())), known)
            loss = hidden_mse(estimate, targets, known).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            history.append(float(loss.detach()))
            if validation is not None and (it % every == 0 or it == iterations):
                with torch.no_grad():
                    v = model(torch.where(v_known, v_targets, torch.zeros(())), v_known)
                scores.append((it, float(hidden_mse(v, v_targets, v_known).mean())))
                if patience is not None and plateaued([m for _, m in scores], patience, min_improvement):
                    stopped = True
                    break
    return {"history": history, "validation": scores, "stopped_early": stopped,
            "wall_time_s": time.perf_counter() - t0}


def fit_and_inpaint_unet(model: InpaintingUNet, images, targets, known, **fit_options) -> tuple:
    """:func:`fit_inpainting_unet`, then :meth:`InpaintingUNet.inpaint` of ``targets``: ``(model, info, estimates)``.

    One picklable call for a process that trains a U-Net and tests it.
    """
    info = fit_inpainting_unet(model, images, **fit_options)
    return model, info, model.inpaint(targets, known)
