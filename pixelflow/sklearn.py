"""scikit-learn adapter: a reservoir as a transformer for ``Pipeline``.

>>> from sklearn.pipeline import make_pipeline
>>> from pixelflow.sklearn import ReservoirTransformer
>>> from pixelflow import RidgeReadout
>>> model = make_pipeline(ReservoirTransformer(rule="wave", steps=4), RidgeReadout(alpha=1.0))
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from pixelflow.config import ReservoirConfig
from pixelflow.inputs import check_batch
from pixelflow.reservoir import Reservoir

_CONFIG_FIELDS = tuple(f.name for f in fields(ReservoirConfig))


class ReservoirTransformer(TransformerMixin, BaseEstimator):
    """A fixed CA reservoir with the scikit-learn transformer contract.

    The parameters are those of :class:`pixelflow.ReservoirConfig` plus
    ``backend``; ``fit`` builds the reservoir (nothing is learned from the
    data but the input shape), ``transform`` returns float32 features.

    Attributes
    ----------
    reservoir_ : Reservoir
    config_ : ReservoirConfig
    n_features_in_ : int
        Values per input sample.
    input_shape_ : tuple
        Shape of one input sample.
    """

    def __init__(
        self,
        width=32,
        height=32,
        channels=4,
        steps=4,
        rule="wave",
        rule_params=None,
        input_encoding="tile",
        seed=0,
        dtype="float32",
        encoder_params=None,
        record="final",
        pool=1,
        chunk_size=None,
        feature_maps=("state",),
        backend="cpu",
    ):
        self.width = width
        self.height = height
        self.channels = channels
        self.steps = steps
        self.rule = rule
        self.rule_params = rule_params
        self.input_encoding = input_encoding
        self.seed = seed
        self.dtype = dtype
        self.encoder_params = encoder_params
        self.record = record
        self.pool = pool
        self.chunk_size = chunk_size
        self.feature_maps = feature_maps
        self.backend = backend

    def fit(self, X, y=None):
        """Validate parameters and input shape; build the reservoir."""
        X = check_batch(X)
        self.config_ = ReservoirConfig(**{name: getattr(self, name) for name in _CONFIG_FIELDS})
        self.reservoir_ = Reservoir(self.config_, backend=self.backend, progress=False)
        self.input_shape_ = tuple(X.shape[1:])
        self.n_features_in_ = int(np.prod(self.input_shape_))
        return self

    def transform(self, X):
        """Reservoir features, shape ``(N, config_.n_features)``, float32."""
        check_is_fitted(self, "reservoir_")
        X = check_batch(X)
        if tuple(X.shape[1:]) != self.input_shape_:
            if X.ndim == 2 and len(self.input_shape_) == 1:
                raise ValueError(
                    f"X has {X.shape[1]} features, but ReservoirTransformer is expecting "
                    f"{self.n_features_in_} features as input"
                )
            raise ValueError(
                f"X has samples of shape {X.shape[1:]}, but the transformer was fitted on {self.input_shape_}"
            )
        return self.reservoir_.transform(X)

    def get_feature_names_out(self, input_features=None):
        """Names ``t{step}_c{channel}_y{row}_x{col}`` of the output columns.

        With more than one feature map the map is named too
        (``t{step}_{map}_c{channel}_y{row}_x{col}``); channel products are
        named by their pair (``t{step}_products_c{i}x{j}_y{row}_x{col}``).
        """
        check_is_fitted(self, "reservoir_")
        cfg = self.config_
        blocks = cfg.recording.blocks(cfg.channels, cfg.height, cfg.width)
        pairs = [f"c{i}x{j}" for i, j in zip(*np.triu_indices(cfg.channels))]
        names = []
        for t in cfg.record_steps:
            for name, planes, rows, cols in blocks:
                prefix = f"t{t}_" if len(blocks) == 1 else f"t{t}_{name}_"
                labels = pairs if name == "products" else [f"c{k}" for k in range(planes)]
                names += [f"{prefix}{lab}_y{i}_x{j}" for lab in labels for i in range(rows) for j in range(cols)]
        return np.asarray(names, dtype=object)
