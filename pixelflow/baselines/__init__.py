"""Baselines from the literature that the CA reservoirs are compared against, under the same protocol.

Fixed feature maps, each described by a frozen config with the contract of
:class:`pixelflow.ReservoirConfig` that the protocols use (``seed``,
``with_seed``, ``to_dict``, ``n_features``, ``rule``, and ``make(backend,
progress)`` giving an object whose ``transform(X)`` returns the float32
feature rows):

- :class:`ScatteringConfig`: the wavelet scattering transform (Bruna &
  Mallat 2013), computed by kymatio;
- :class:`RandomConvConfig`: fixed random convolutions with the receptive
  fields of a ``random_nca`` reservoir's recorded steps, without its
  recurrence, recorded by the reservoir's own feature code;

and a trained network as the upper reference:

- :class:`ConvNetClassifier`: a LeNet-style CNN trained end to end (PyTorch),
  a scikit-learn classifier.

:func:`config_from_dict` rebuilds any of these configs, or a reservoir's or a
stack's, from its ``to_dict()``. The scattering transform and the CNN need the
``baselines`` extra (kymatio and torch).

>>> from pixelflow import ReservoirConfig
>>> cfg = RandomConvConfig(8, 8, 2, kernel_sizes=(3,))
>>> config_from_dict(cfg.to_dict()) == cfg
True
>>> config_from_dict(ReservoirConfig(8, 8, 2, 1, "wave").to_dict()).rule
'wave'
"""

from __future__ import annotations

from pixelflow.baselines import random_conv, scattering
from pixelflow.baselines.convnet import ConvNetClassifier
from pixelflow.baselines.random_conv import RandomConvConfig, RandomConvFeatures
from pixelflow.baselines.scattering import ScatteringConfig, ScatteringFeatures
from pixelflow.config import ReservoirConfig
from pixelflow.stack import StackConfig
from pixelflow.stack import config_from_dict as reservoir_config_from_dict

__all__ = ["ConvNetClassifier", "RandomConvConfig", "RandomConvFeatures", "ScatteringConfig", "ScatteringFeatures",
           "config_from_dict"]

_KINDS = {scattering.KIND: scattering.config_from_dict, random_conv.KIND: random_conv.config_from_dict}


def config_from_dict(d: dict) -> ScatteringConfig | RandomConvConfig | ReservoirConfig | StackConfig:
    """Rebuild a config from its ``to_dict()``: a baseline's (by its ``"kind"``), else a reservoir's or a stack's.

    Raises
    ------
    TypeError
        ``d`` is not a dict.
    ValueError
        An unknown ``"kind"`` or unknown fields.
    """
    if not isinstance(d, dict):
        raise TypeError(f"expected a dict from a config's to_dict(), got {type(d).__name__}")
    if "stack" in d and isinstance(d["stack"], list):  # members of any kind
        return StackConfig(tuple(config_from_dict(m) for m in d["stack"]))
    if "kind" not in d:
        return reservoir_config_from_dict(d)
    try:
        rebuild = _KINDS[d["kind"]]
    except (KeyError, TypeError):
        raise ValueError(f"unknown config kind {d['kind']!r}; known: {', '.join(sorted(_KINDS))}") from None
    return rebuild(d)
