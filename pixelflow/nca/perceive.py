"""What a cell sees of its 3×3 neighbourhood: the perception half of a neural CA.

Three interchangeable modules map a state ``(N, C, H, W)`` to a perception
``(N, P, H, W)``; every one reads only the Moore neighbourhood with circular
(toroidal) padding, so a rule trained on one grid size runs on any other.

- :class:`FixedPerceive` — per-channel identity, Sobel-x, Sobel-y and
  Laplacian, the filters of the core ``random_nca`` rule
  (:data:`pixelflow.stencils.SOBEL_X` etc.). Its ``scale`` argument ``s``
  multiplies the gradients by ``s`` and the Laplacian by ``s**2`` (divides them
  by the grid spacing ``1/s``), so on a grid ``s`` times finer the filters
  estimate the same spatial derivatives as on the training grid (resolution
  transfer).
- :class:`ConvPerceive` — a learned 3×3 convolution.
- :class:`NeighbourhoodAttention` — multi-head self-attention of each cell over
  its 9 neighbours, with a learned embedding per neighbour offset. Keys and
  values of the 9 neighbours are read as shifted windows (of one padded copy
  in the tensor form, across the torus in the compiled kernels), so the cost
  is O(H·W·9), not the O((H·W)²) of a dense masked attention matrix.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from pixelflow.checks import check_int
from pixelflow.nca import attention_kernel, stencil_kernel

# Neighbour offsets (dy, dx) in row-major order; index 4 is the cell itself.
OFFSETS = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
_DY = np.array([dy for dy, _ in OFFSETS], dtype=np.int64)
_DX = np.array([dx for _, dx in OFFSETS], dtype=np.int64)


def _check_scale(scale) -> float:
    scale = float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale (grid refinement) must be a positive number, got {scale!r}")
    return scale


def circular_pad(x: torch.Tensor) -> torch.Tensor:
    """``x`` with a one-cell toroidal border on its last two axes."""
    return F.pad(x, (1, 1, 1, 1), mode="circular")


def neighbours(x: torch.Tensor) -> torch.Tensor:
    """The 9 Moore neighbours of every cell: ``(N, C, H, W)`` -> ``(N, C, 9, H, W)`` in :data:`OFFSETS` order."""
    h, w = x.shape[-2:]
    p = circular_pad(x)
    return torch.stack([p[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in OFFSETS], dim=-3)


def attend(q, kp, vp, pos_k, pos_v):
    """Neighbourhood attention in tensor operations: the reference the compiled kernels match.

    Per cell and head, the scores over the 9 offsets are ``q · (k_o + pos_k_o) / sqrt(d)``
    and the output is ``Σ_o softmax(scores)_o (v_o + pos_v_o)``, with ``k_o``, ``v_o`` the
    neighbour's key and value at offset ``o``.

    Parameters
    ----------
    q : Tensor (N, heads, d, H, W)
        Queries.
    kp, vp : Tensor (N, heads * d, H + 2, W + 2)
        Keys and values, circularly padded by one cell (:func:`circular_pad`).
    pos_k, pos_v : Tensor (heads, d, 9)
        Offset embeddings of keys and values, in :data:`OFFSETS` order.

    Returns
    -------
    out : Tensor (N, heads, d, H, W)
    weights : Tensor (N, heads, 9, H, W)
    """
    n, heads, d, h, w = q.shape
    # One offset at a time, each a shifted window of the padded copy: no nine-fold copy of keys or values.
    windows = [(slice(1 + dy, 1 + dy + h), slice(1 + dx, 1 + dx + w)) for dy, dx in OFFSETS]
    flat = q.reshape(n, heads * d, h, w)
    scores = torch.stack([(flat * kp[..., r, c]).reshape(n, heads, d, h, w).sum(2) for r, c in windows], dim=2)
    scores = scores + torch.einsum("nhdyx,hdo->nhoyx", q, pos_k)
    weights = torch.softmax(scores / math.sqrt(d), dim=2)
    out = torch.einsum("nhoyx,hdo->nhdyx", weights, pos_v)
    for o, (r, c) in enumerate(windows):
        out = out + weights[:, :, o, None] * vp[..., r, c].reshape(n, heads, d, h, w)
    return out, weights


class _NeighbourhoodAttend(torch.autograd.Function):
    """:func:`attend` on compiled kernels (:mod:`pixelflow.nca.attention_kernel`), forward and backward.

    Takes the keys and values unpadded: ``apply(q, k, v, pos_k, pos_v)`` with
    ``q`` (N, heads, d, H, W), ``k``, ``v`` (N, heads * d, H, W) and ``pos_k``,
    ``pos_v`` (heads, d, 9) gives ``attend(q, circular_pad(k), circular_pad(v),
    pos_k, pos_v)``, outputs ``out`` (N, heads, d, H, W) and ``weights``
    (N, heads, 9, H, W); the weights are not differentiable. The kernels wrap
    round the torus themselves, so neither the padded copies nor their
    gradients exist: the backward returns the gradients of the unpadded ``k``
    and ``v``. Written as tensor operations, each offset costs several passes
    over state-sized arrays, and autograd zero-fills and copies a padded
    gradient per offset and per pad; the kernels loop over a cell's 9 offsets
    instead. The tests hold values and gradients to :func:`attend` through
    :func:`circular_pad`, to a dense masked attention, and to finite
    differences in float64.
    """

    @staticmethod
    def forward(ctx, q, k, v, pos_k, pos_v):
        n, heads, d, h, w = q.shape
        arrays = [t.detach().contiguous() for t in (q, k, v, pos_k, pos_v)]
        arrays[1:3] = [t.reshape(n, heads, d, h, w) for t in arrays[1:3]]
        out = q.new_empty((n, heads, d, h, w))
        weights = q.new_empty((n, heads, len(OFFSETS), h, w))
        attention_kernel.forward(*(t.numpy() for t in arrays), _DY, _DX, out.numpy(), weights.numpy())
        ctx.save_for_backward(*arrays, weights)
        ctx.mark_non_differentiable(weights)
        return out, weights

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, _grad_weights):
        q, k, v, pos_k, pos_v, weights = ctx.saved_tensors
        n, heads, d, h, w = q.shape
        grad_q, grad_k, grad_v = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        part_k = q.new_empty((n, heads, d, len(OFFSETS)))
        part_v = torch.empty_like(part_k)
        attention_kernel.backward(grad_out.contiguous().numpy(), q.numpy(), k.numpy(), v.numpy(), pos_k.numpy(),
                                  pos_v.numpy(), weights.numpy(), _DY, _DX, grad_q.numpy(), grad_k.numpy(),
                                  grad_v.numpy(), part_k.numpy(), part_v.numpy())
        flat = (n, heads * d, h, w)
        return grad_q, grad_k.reshape(flat), grad_v.reshape(flat), part_k.sum(0), part_v.sum(0)


def fixed_perceive(x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    """Identity, Sobel-x, Sobel-y and 9-point Laplacian of every channel of ``x``, in tensor operations.

    The reference for :class:`FixedPerceive`'s compiled kernels
    (:mod:`pixelflow.nca.stencil_kernel`), and its form off the CPU.
    Evaluated in separable form from one padded copy, as
    :func:`pixelflow.stencils.perceive` does (a grouped convolution is several
    times slower on the CPU).

    Parameters
    ----------
    x : Tensor (N, C, H, W)
    scale : float
        Multiplies the gradients by ``scale`` and the Laplacian by ``scale**2``.

    Returns
    -------
    Tensor (N, 4 C, H, W)
        Channel blocks ``[identity, sobel_x, sobel_y, laplacian]``.
    """
    s = float(scale)
    p = circular_pad(x)
    rows = p[..., :-2, :] + 2 * p[..., 1:-1, :] + p[..., 2:, :]  # smoothed down the rows, (N, C, H, W + 2)
    cols = p[..., :, :-2] + 2 * p[..., :, 1:-1] + p[..., :, 2:]  # smoothed along the rows, (N, C, H + 2, W)
    grad_x = (rows[..., 2:] - rows[..., :-2]) * (s / 8)
    grad_y = (cols[..., 2:, :] - cols[..., :-2, :]) * (s / 8)
    both = rows[..., :-2] + 2 * rows[..., 1:-1] + rows[..., 2:]
    lap = (both - 16 * x) * (s * s / 4)
    return torch.cat([x, grad_x, grad_y, lap], dim=1)


def _compiled(x: torch.Tensor) -> bool:
    """Whether the compiled kernels take ``x``: CPU tensors of float32 or float64."""
    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)


class _FixedPerceive(torch.autograd.Function):
    """:func:`fixed_perceive` on compiled kernels (:mod:`pixelflow.nca.stencil_kernel`), forward and backward.

    The forward values are :func:`fixed_perceive`'s bit for bit; the backward
    is the map's adjoint, one pass over the gradient where autograd of the
    tensor form zero-fills and copies a padded gradient per shifted slice.
    The tests hold it to autograd of :func:`fixed_perceive` and to finite
    differences in float64.
    """

    @staticmethod
    def forward(ctx, x, scale):
        out = x.new_empty((x.shape[0], 4 * x.shape[1], *x.shape[2:]))
        stencil_kernel.forward(x.detach().contiguous().numpy(), scale, out.numpy())
        ctx.scale = scale
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        g = grad_out.contiguous()
        grad = g.new_empty((g.shape[0], g.shape[1] // 4, *g.shape[2:]))
        stencil_kernel.adjoint(g.numpy(), ctx.scale, grad.numpy())
        return grad, None


class FixedPerceive(nn.Module):
    """Per-channel identity, Sobel-x, Sobel-y and 9-point Laplacian (not learned).

    On the CPU in float32 or float64 it runs compiled kernels, forward and
    backward (:class:`_FixedPerceive`); elsewhere :func:`fixed_perceive`, the
    tensor-operation reference they are tested against.

    Parameters
    ----------
    channels : int
        State channels ``C``; the output has ``4 C`` channels ordered
        ``[identity, sobel_x, sobel_y, laplacian]`` (the core ``random_nca``
        layout).
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.out_channels = 4 * channels

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        """Perceive ``x``; on a grid ``scale`` times finer the differences are divided by the spacing ``1/scale``."""
        s = _check_scale(scale)
        if _compiled(x):
            return _FixedPerceive.apply(x, s)
        return fixed_perceive(x, s)


class ConvPerceive(nn.Module):
    """A learned 3×3 convolution with circular padding.

    Parameters
    ----------
    channels, out_channels : int
    """

    def __init__(self, channels: int, out_channels: int):
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.out_channels = check_int(out_channels, "out_channels", low=1)
        self.conv = nn.Conv2d(channels, out_channels, 3, padding=1, padding_mode="circular")

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        if _check_scale(scale) != 1.0:
            raise ValueError("a learned convolution has no grid-refinement form; use FixedPerceive for scale != 1")
        return self.conv(x)


class NeighbourhoodAttention(nn.Module):
    """Multi-head self-attention of each cell over its 3×3 Moore neighbourhood.

    The cell's query attends to the keys of its 9 neighbours (itself
    included); a learned embedding per neighbour offset is added to keys and
    values, so the rule can tell directions apart. The output is the cell's
    own state followed by the projected attention result.

    Parameters
    ----------
    channels : int
        State channels ``C``.
    heads : int
        Attention heads.
    head_dim : int
        Width of each head's queries, keys and values.

    Attributes
    ----------
    out_channels : int
        ``C + heads * head_dim``.
    """

    def __init__(self, channels: int, heads: int = 4, head_dim: int = 8):
        super().__init__()
        self.channels = check_int(channels, "channels", low=1)
        self.heads = check_int(heads, "heads", low=1)
        self.head_dim = check_int(head_dim, "head_dim", low=1)
        inner = heads * head_dim
        self.out_channels = channels + inner
        self.qkv = nn.Conv2d(channels, 3 * inner, 1)
        self.position = nn.Parameter(torch.randn(2, heads, head_dim, len(OFFSETS)) * 0.1)
        self.project = nn.Conv2d(inner, inner, 1)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights ``(N, heads, 9, H, W)`` of every cell over its neighbours."""
        return self._attend(x)[1]

    def _attend(self, x):
        n, _, h, w = x.shape
        q, k, v = self.qkv(x).chunk(3, dim=1)
        q = q.reshape(n, self.heads, self.head_dim, h, w)
        if _compiled(x):  # the kernels wrap round the torus themselves
            out, weights = _NeighbourhoodAttend.apply(q, k, v, *self.position)
        else:
            out, weights = attend(q, circular_pad(k), circular_pad(v), *self.position)
        return out.reshape(n, self.heads * self.head_dim, h, w), weights

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        if _check_scale(scale) != 1.0:
            raise ValueError("neighbourhood attention has no grid-refinement form; use FixedPerceive for scale != 1")
        return torch.cat([x, self.project(self._attend(x)[0])], dim=1)
