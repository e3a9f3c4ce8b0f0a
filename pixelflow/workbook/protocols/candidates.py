"""What the protocols try: a reservoir (or raw pixels) with a readout, and its description in results rows."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pixelflow.config import ReservoirConfig
from pixelflow.readouts import LogisticReadout, RidgeReadout
from pixelflow.stack import FEATURE_MAP_CONTRACT, StackConfig, is_feature_map
from pixelflow.workbook.tables import GREEK, format_value

__all__ = ["LOGISTIC_TOL", "Candidate", "candidates", "config_key", "describe_candidate", "logistic_grid",
           "readout_description", "readout_label", "ridge_grid", "with_seed"]

# Main hyperparameter of each known readout: (short name, parameter).
READOUT_PARAMS = {"RidgeReadout": ("ridge", "alpha"), "LogisticReadout": ("logistic", "C"),
                  "KNeighborsClassifier": ("kNN", "n_neighbors"), "ConvNetClassifier": ("CNN (trained)", "epochs")}


def readout_description(readout) -> tuple[str, str | None, Any]:
    """``(kind, hyperparameter name, value)``, e.g. ``("ridge", "alpha", 10.0)``."""
    cls = type(readout).__name__
    kind, param = READOUT_PARAMS.get(cls, (cls, None))
    params = readout.get_params(deep=False)
    if param is None:
        param = next((p for p in ("alpha", "C") if p in params), None)
    return kind, param, (params.get(param) if param else None)


def readout_label(readout) -> str:
    kind, param, value = readout_description(readout)
    if param is None:
        return kind
    return f"{kind} {GREEK.get(param, param)}={format_value(value)}"


@dataclass(frozen=True, eq=False)
class Candidate:
    """One thing to try: a reservoir (or raw pixels) plus a readout.

    Parameters
    ----------
    name : str
        Short name of the feature map, shared by candidates that differ only
        in the readout (e.g. ``"wave absorbing 8 steps"``).
    config : ReservoirConfig, StackConfig, a baseline config or None
        The reservoir (or several side by side), a fixed feature map of
        :mod:`pixelflow.baselines` (anything with ``to_dict``, ``n_features``,
        ``rule``, ``seed``, ``with_seed`` and ``make``); ``None`` means the
        raw pixels, flattened.
    readout : estimator
        An unfitted scikit-learn style classifier; it is cloned before every
        fit, so the same object may be shared.
    """

    name: str
    config: ReservoirConfig | StackConfig | None
    readout: Any

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"Candidate.name must be a non-empty string, got {self.name!r}")
        if self.config is not None and not isinstance(self.config, (ReservoirConfig, StackConfig)) and not (
                is_feature_map(self.config)):
            raise TypeError("Candidate.config must be a ReservoirConfig, StackConfig, a feature-map config with "
                            f"{', '.join(FEATURE_MAP_CONTRACT)}, or None; got {type(self.config).__name__}")
        if not (hasattr(self.readout, "fit") and hasattr(self.readout, "get_params")):
            raise TypeError(f"Candidate.readout must be a scikit-learn style estimator, got {self.readout!r}")

    @property
    def rule(self) -> str:
        """The config's rule, or ``"raw"`` for raw pixels."""
        return "raw" if self.config is None else self.config.rule

    @property
    def label(self) -> str:
        """``name · readout``, e.g. ``"raw · ridge α=10"``."""
        return f"{self.name} · {readout_label(self.readout)}"

    def with_seed(self, seed: int) -> Candidate:
        """The same candidate with the reservoir seed replaced (raw: unchanged)."""
        return dataclasses.replace(self, config=with_seed(self.config, seed))

    def __repr__(self) -> str:
        return f"Candidate({self.label!r})"


def with_seed(config, seed: int):
    if config is None:
        return None
    if isinstance(config, ReservoirConfig):
        return dataclasses.replace(config, seed=int(seed))
    return config.with_seed(int(seed))


def candidates(configs: Mapping[str, ReservoirConfig | StackConfig | None], readouts: Sequence) -> list[Candidate]:
    """Every combination of the named configs with the readouts (configs outer)."""
    return [Candidate(name, cfg, r) for name, cfg in configs.items() for r in readouts]


def ridge_grid(alphas: Sequence[float], standardize: bool = True) -> list[RidgeReadout]:
    """Ridge readouts, one per ``alpha``."""
    return [RidgeReadout(alpha=float(a), standardize=standardize) for a in alphas]


# The solver's stopping tolerance for the protocol's logistic readouts. At
# scikit-learn's default (1e-4) lbfgs stops early enough that the rounding of
# the machine's BLAS kernels moves predictions (measured: one of 400 smoke
# validation images flips between OpenBLAS's Haswell and SkylakeX kernels);
# at 1e-6 both give the same predictions, for ~1.5x the iterations.
LOGISTIC_TOL = 1e-6


def logistic_grid(Cs: Sequence[float], standardize: bool = True, max_iter: int = 1000,
                  tol: float = LOGISTIC_TOL) -> list[LogisticReadout]:
    """Logistic readouts, one per ``C``, converged to ``tol`` (:data:`LOGISTIC_TOL`)."""
    return [LogisticReadout(C=float(c), standardize=standardize, max_iter=max_iter, tol=tol) for c in Cs]


def config_key(config: ReservoirConfig | StackConfig | None) -> str:
    return "raw" if config is None else json.dumps(config.to_dict(), sort_keys=True, default=str)


def record_text(config: ReservoirConfig) -> str:
    rec = config.record
    if isinstance(rec, str):
        return rec
    steps = config.record_steps
    return ",".join(map(str, steps))


def describe_config(cfg: ReservoirConfig) -> dict[str, Any]:
    enc = cfg.input_encoding + "".join(f" {k}={v}" for k, v in sorted(cfg.encoder_params.items()))
    return dict(grid=f"{cfg.height}x{cfg.width}", channels=cfg.channels, steps=cfg.steps, record=record_text(cfg),
                pool=cfg.pool, encoding=enc, rule_params=dict(cfg.to_dict()["rule_params"]))


def describe_feature_map(cfg) -> dict[str, Any]:
    """The row columns of a baseline feature map (no steps, record or pooling of a reservoir)."""
    d = cfg.to_dict()
    params = {k: v for k, v in d.items() if k not in ("kind", "height", "width", "channels", "seed")}
    return dict(grid=f"{d.get('height')}x{d.get('width')}", channels=d.get("channels"), steps=None, record=None,
                pool=None, encoding=cfg.rule, rule_params=params)


def describe_candidate(c: Candidate) -> dict[str, Any]:
    """The JSON-friendly columns of a row that come from the candidate."""
    kind, param, value = readout_description(c.readout)
    cfg = c.config
    base = {"name": c.name, "label": c.label, "rule": c.rule}
    if cfg is None:
        base.update(grid=None, channels=None, steps=None, record=None, pool=None, encoding="raw pixels",
                    rule_params={}, seed=None)
    elif not isinstance(cfg, (ReservoirConfig, StackConfig)):
        base.update(describe_feature_map(cfg), seed=cfg.seed)
    else:
        members = cfg.members if isinstance(cfg, StackConfig) else (cfg,)
        described = [describe_config(m) if isinstance(m, ReservoirConfig) else describe_feature_map(m)
                     for m in members]
        if len(described) == 1:
            base.update(described[0])
        else:
            # A stack's columns join its members' values with "+" (one value where they agree).
            for key in ("grid", "channels", "steps", "record", "pool", "encoding"):
                values = [d[key] for d in described]
                base[key] = values[0] if len(set(values)) == 1 else "+".join(map(str, values))
            base["rule_params"] = [d["rule_params"] for d in described]
        base["seed"] = cfg.seed
    base.update(readout=kind, hyperparameter=param, value=value)
    return base
