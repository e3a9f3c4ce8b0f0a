"""What becomes a feature: which steps are recorded, which pointwise maps of the state, and pooling.

Average pooling of an odd function of the state (``tanh`` cells, wave
amplitudes) cancels positive against negative values inside a block; pooling
an even map such as ``square`` or ``abs`` as well keeps that energy. The
feature row of a sample is laid out ``[recorded step][map][channel][row][col]``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Codes are what the fused kernels see; keep them in sync with
# pixelflow.backends.cpu.recording.apply_map.
MAP_CODES = {"state": 0, "square": 1, "abs": 2, "relu": 3}
FEATURE_MAPS = tuple(MAP_CODES)


def apply_map(x, name: str, xp):
    """The pointwise feature map ``name`` of ``x`` (a scalar or an array)."""
    if name == "state":
        return x
    if name == "square":
        return x * x
    if name == "abs":
        return xp.abs(x)
    if name == "relu":
        return xp.maximum(x, 0)
    raise ValueError(f"unknown feature map {name!r}; valid: {', '.join(FEATURE_MAPS)}")


def avg_pool(x, p: int, xp):
    """Mean over non-overlapping ``p × p`` blocks of the last two axes.

    A fixed-order sum of strided views: per-sample, so batch-invariant.
    """
    if p == 1:
        return x
    total = None
    for i in range(p):
        for j in range(p):
            view = x[..., i::p, j::p]
            total = view if total is None else total + view
    return total * (1.0 / (p * p))


@dataclass(frozen=True)
class Recording:
    """Recorded steps, feature maps and pooling of a reservoir (from its config).

    Attributes
    ----------
    steps : tuple of int
        Sorted step indices.
    pool : int
    maps : tuple of str
        Names from :data:`FEATURE_MAPS`, in feature order.
    """

    steps: tuple
    pool: int
    maps: tuple = ("state",)

    @property
    def codes(self) -> np.ndarray:
        """The maps as integer codes, for the fused kernels."""
        return np.asarray([MAP_CODES[m] for m in self.maps], dtype=np.int64)

    def features(self, state, xp):
        """Pooled feature maps of one recorded batch state ``(N, C, H, W)`` -> ``(N, maps * C * H' * W')``."""
        n = len(state)
        parts = [avg_pool(apply_map(state, m, xp), self.pool, xp).reshape(n, -1) for m in self.maps]
        return parts[0] if len(parts) == 1 else xp.concatenate(parts, axis=1)
