"""``pixelflow.core.reservoir``: the module path pixelflow-rc documents for the reservoir.

:class:`Reservoir` and :class:`ReservoirConfig` here are the package's own
classes (:mod:`pixelflow.reservoir`, :mod:`pixelflow.config`), not copies, so
``pixelflow.core.reservoir.Reservoir is pixelflow.Reservoir``.

What code written for pixelflow-rc can rely on:

* ``ReservoirConfig(width, height, channels, steps, rule, rule_params,
  input_encoding, seed, dtype)`` keeps pixelflow-rc's field order and
  defaults; the rule names ``diffusion_reaction``, ``life_like`` and ``wave``,
  their parameter names and the encodings ``tile``, ``phase`` and ``project``
  are accepted.
* ``Reservoir(config, backend="cpu")`` (also ``"cuda"`` and ``"moderngl"``);
  ``transform(X)`` takes ``(N, D)`` inputs and returns float32 features of
  shape ``(N, feature_dim)`` with ``feature_dim == height * width * channels``
  for the default recording of the final state.

Where the contract differs from pixelflow-rc's:

* A feature row is flattened channel-major (``[channel][row][col]``), not
  ``[row][col][channel]``; reshape it with
  ``F.reshape(N, channels, height, width)``.
* A single 1-D sample is refused; pass ``x.reshape(1, -1)``.
* Settings are checked when the config is built, and unknown rule or encoder
  names raise ``ValueError`` (pixelflow-rc raises ``KeyError`` when the
  reservoir is built).
* There is no ``Reservoir.step``: some rules read the encoded input at every
  step, so a bare state does not define one step. ``Reservoir.states(X)``
  returns every state of the evolution instead.
* The dynamics are this package's rules, so feature values differ from
  pixelflow-rc's for the same config.
"""

from pixelflow.config import ReservoirConfig
from pixelflow.reservoir import Reservoir

__all__ = ["Reservoir", "ReservoirConfig"]
