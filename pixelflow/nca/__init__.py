"""Learned rules: neural cellular automata in PyTorch (``pip install pixelflow[nca]``).

A neural CA is a perception module (:mod:`~pixelflow.nca.perceive`: fixed
Sobel/Laplacian filters, a learned convolution, or local self-attention over
the 3×3 neighbourhood) and an update module (:mod:`~pixelflow.nca.update`: a
per-cell MLP), composed and iterated by :class:`~pixelflow.nca.model.NCA`.
:class:`~pixelflow.nca.training.Trainer` fits one to a task (textures,
inpainting) with pool training, gradient normalisation and resumable
checkpoints; :mod:`~pixelflow.nca.render` turns rollouts into GIF/MP4 and
figures. :mod:`~pixelflow.nca.learned_reservoir` is the core ``random_nca``
reservoir with its weights trainable end to end (fixed vs learned).
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError("pixelflow.nca needs PyTorch: pip install 'pixelflow[nca]' (CPU: pip install torch)") from exc

from pixelflow.nca.checkpoint import load_model, save_model
from pixelflow.nca.learned_reservoir import LearnedReservoir, LearnedReservoirClassifier
from pixelflow.nca.model import NCA, attention_nca, conv_nca, conv_nca_matching, count_parameters, texture_nca
from pixelflow.nca.perceive import ConvPerceive, FixedPerceive, NeighbourhoodAttention
from pixelflow.nca.pool import SamplePool
from pixelflow.nca.render import save_animation, strip_figure
from pixelflow.nca.style import RandomFeatures, StyleLoss, VGG16Features, feature_extractor, gram, overflow_loss
from pixelflow.nca.texture import TextureTask
from pixelflow.nca.training import Trainer
from pixelflow.nca.update import CellUpdate

__all__ = [
    "NCA",
    "CellUpdate",
    "ConvPerceive",
    "FixedPerceive",
    "LearnedReservoir",
    "LearnedReservoirClassifier",
    "NeighbourhoodAttention",
    "RandomFeatures",
    "SamplePool",
    "StyleLoss",
    "TextureTask",
    "Trainer",
    "VGG16Features",
    "attention_nca",
    "conv_nca",
    "conv_nca_matching",
    "count_parameters",
    "feature_extractor",
    "gram",
    "load_model",
    "overflow_loss",
    "save_animation",
    "save_model",
    "strip_figure",
    "texture_nca",
]
