"""Backends: every rule gives the numpy reference's features on every array backend."""

import importlib.util

import numpy as np
import pytest

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.backends import get_backend

RULES = [("wave", 4, {"boundary": "absorbing"}), ("diffusion_reaction", 4, {}), ("life_like", 2, {}), ("random_nca", 6, {})]


def _cuda_usable() -> str | None:
    """None if a CUDA device is usable through CuPy, else the reason to skip."""
    if importlib.util.find_spec("cupy") is None:
        return "CuPy is not installed"
    try:
        get_backend("cuda")
    except (ImportError, RuntimeError) as exc:
        return str(exc)
    return None


CUDA_SKIP = _cuda_usable()


def test_cpu_and_numpy_agree_exactly(rng):
    X = rng.random((9, 20, 20))
    for rule, channels, params in RULES:
        cfg = ReservoirConfig(width=16, height=16, channels=channels, steps=3, rule=rule, rule_params=params, record="all")
        np.testing.assert_array_equal(Reservoir(cfg, backend="cpu").transform(X), Reservoir(cfg, backend="numpy").transform(X))


def test_numpy_backend_describes_itself():
    assert "numpy" in get_backend("numpy").describe()


@pytest.mark.skipif(CUDA_SKIP is None, reason="CuPy with a CUDA device is present")
def test_cuda_without_a_device_says_what_is_missing():
    with pytest.raises((ImportError, RuntimeError), match="cuda"):
        Reservoir(ReservoirConfig(), backend="cuda")


@pytest.mark.skipif(CUDA_SKIP is not None, reason=f"no CUDA backend: {CUDA_SKIP}")
@pytest.mark.parametrize("rule, channels, params", RULES)
@pytest.mark.parametrize("encoding", ["tile", "phase", "project"])
def test_cuda_matches_numpy(rng, rule, channels, params, encoding):
    X = rng.random((37, 28, 28)).astype(np.float32)
    cfg = ReservoirConfig(width=32, height=32, channels=channels, steps=4, rule=rule, rule_params=params,
                          input_encoding=encoding, record="all", pool=2)
    ref = Reservoir(cfg, backend="numpy").transform(X)
    got = Reservoir(cfg, backend="cuda").transform(X)
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)
