"""Backends: every rule gives the numpy reference's features on every array backend."""

import importlib.util

import numpy as np
import pytest

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.backends import get_backend

RULES = [
    ("wave", 4, {"boundary": "absorbing"}), ("diffusion_reaction", 4, {}), ("life_like", 2, {}), ("random_nca", 6, {})
]


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


CPU_CASES = [
    ("wave", 4, {}, {}),
    ("wave", 5, {"boundary": "absorbing", "sponge": 3, "clip": 0.0}, {"record": "all", "pool": 2}),
    ("wave", 6, {"c": 0.3, "damping": 0.9}, {"input_encoding": "phase"}),
    ("diffusion_reaction", 4, {}, {"record": (0, 2, 5)}),
    ("diffusion_reaction", 5, {"input_species": "u", "boundary": "zero"}, {"pool": 4}),
    ("diffusion_reaction", 6, {"feed": 0.03, "kill": 0.05}, {"input_encoding": "phase", "record": "all"}),
    ("life_like", 3, {"rule": "B36/S23", "threshold": 0.4}, {"record": "all"}),
    ("life_like", 2, {"boundary": "zero"}, {"pool": 2}),
    ("random_nca", 6, {}, {"record": "all", "pool": 2}),
    ("random_nca", 4, {"gain": 2.0, "leak": 0.3, "boundary": "zero"}, {"input_encoding": "project"}),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rule, channels, params, extra", CPU_CASES)
def test_fused_cpu_kernels_match_numpy(rng, rule, channels, params, extra, dtype):
    X = rng.random((13, 20, 20))
    cfg = ReservoirConfig(width=16, height=16, channels=channels, steps=5, rule=rule, rule_params=params,
                          dtype=dtype, chunk_size=4, **extra)
    fused = Reservoir(cfg, backend="cpu")
    assert fused.engine.kernel is not None
    np.testing.assert_allclose(fused.transform(X), Reservoir(cfg, backend="numpy").transform(X), atol=1e-5, rtol=0)


def test_fused_cpu_handles_rgb_and_speed_fields(rng):
    X = rng.random((5, 16, 16, 3))
    speed = 0.2 + 0.4 * rng.random((16, 16))
    cfg = ReservoirConfig(width=16, height=16, channels=7, steps=6, rule="wave", rule_params={"c": speed}, record="all")
    np.testing.assert_allclose(Reservoir(cfg, backend="cpu").transform(X),
                               Reservoir(cfg, backend="numpy").transform(X), atol=1e-5, rtol=0)


def test_fused_cpu_rows_do_not_depend_on_batch(rng):
    X = rng.random((9, 16, 16))
    cfg = ReservoirConfig(width=16, height=16, channels=6, steps=3, rule="random_nca", record="all")
    full = Reservoir(cfg, backend="cpu").transform(X)
    np.testing.assert_array_equal(full[4], Reservoir(cfg, backend="cpu").transform(X[4:5])[0])


def test_user_rules_and_overridden_builtins_use_the_numpy_path(rng):
    from pixelflow import register_rule
    from pixelflow.rules import get_rule

    original = get_rule("wave")
    register_rule("wave", lambda s, ctx: s * 0.5, overwrite=True)
    try:
        res = Reservoir(ReservoirConfig(width=8, height=8, channels=2, steps=1, rule="wave"), backend="cpu")
        assert res.backend.fused_kernel(res.engine.rule) is None
        X = rng.random((2, 8, 8))
        np.testing.assert_allclose(res.transform(X), Reservoir(res.config, backend="numpy").transform(X))
    finally:
        register_rule(original, overwrite=True)
    assert Reservoir(ReservoirConfig(rule="wave"), backend="cpu").backend.fused_kernel(get_rule("wave")) is not None


def test_backends_describe_their_device():
    assert "numpy" in get_backend("numpy").describe()
    assert "numba" in get_backend("cpu").describe()


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


@pytest.mark.parametrize("boards", [1, 64])  # one board: row-parallel path; many: one board per thread
def test_fused_life_glider_travels_across_a_large_periodic_board(boards):
    # A glider moves one cell diagonally every 4 steps; after 4 * 200 steps on a
    # 200-cell torus it is back where it started, having crossed both seams.
    size, steps = 200, 800
    glider = np.zeros((size, size))
    for i, j in [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)]:
        glider[i + 50, j + 120] = 1
    cfg = ReservoirConfig(width=size, height=size, channels=1, steps=steps, rule="life_like",
                          input_encoding="tile", record=(steps // 2, steps))
    feats = Reservoir(cfg, backend="cpu").transform(np.repeat(glider[None], boards, axis=0))
    half, end = feats[:, : size * size], feats[:, size * size :]
    np.testing.assert_array_equal(end, np.broadcast_to(glider.ravel(), end.shape))
    np.testing.assert_array_equal(half, np.broadcast_to(np.roll(glider, (100, 100), axis=(0, 1)).ravel(), half.shape))


def test_numpy_path_runs_chunks_on_threads_with_identical_rows(rng, monkeypatch):
    from pixelflow.backends import cpu

    monkeypatch.setattr(cpu, "chunk_threads", lambda: 3)
    X = rng.random((23, 12, 12))
    # Channel products of life_like have no fused kernel: the numpy path, on threads.
    cfg = ReservoirConfig(width=12, height=12, channels=6, steps=3, rule="life_like", record="all", chunk_size=2,
                          feature_maps=("state", "products"))
    threaded = Reservoir(cfg, backend="cpu")
    assert threaded.engine.kernel is None and threaded.backend.chunk_threads() == 3
    np.testing.assert_array_equal(threaded.transform(X), Reservoir(cfg, backend="numpy").transform(X))
    # A rule with a fused kernel is multi-threaded inside the kernel instead.
    wave = Reservoir(ReservoirConfig(width=12, height=12, channels=6, steps=3, rule="wave"), backend="cpu")
    assert wave.engine.kernel is not None


@pytest.mark.parametrize(
    "rule, channels", [("wave", 4), ("diffusion_reaction", 4), ("life_like", 2), ("random_nca", 4)]
)
def test_feature_maps_match_the_numpy_path_and_their_definition(rng, rule, channels):
    X = rng.random((9, 16, 16)) * 2 - 0.5
    maps = ("state", "square", "abs", "relu")
    cfg = ReservoirConfig(width=16, height=16, channels=channels, steps=3, rule=rule, record=(0, 3), pool=2,
                          feature_maps=maps)
    got = Reservoir(cfg, backend="cpu").transform(X)
    np.testing.assert_allclose(got, Reservoir(cfg, backend="numpy").transform(X), atol=1e-5, rtol=0)
    # each map block is the pooled map of the recorded state
    states = Reservoir(cfg, backend="numpy").states(X)[:, [0, 3]]
    fns = {"state": lambda s: s, "square": np.square, "abs": np.abs, "relu": lambda s: np.maximum(s, 0)}
    want = np.stack([fns[m](states) for m in maps], axis=2)  # (N, step, map, C, H, W)
    want = want.reshape(*want.shape[:-2], 8, 2, 8, 2).mean(axis=(-3, -1))
    np.testing.assert_allclose(got, want.reshape(len(X), -1), atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_channel_products_are_block_means_of_every_pair(rng, backend):
    X = rng.random((7, 12, 12))
    cfg = ReservoirConfig(width=12, height=12, channels=3, steps=2, rule="random_nca", record=(1, 2),
                          feature_maps=(("state", 2), ("products", 6)))
    got = Reservoir(cfg, backend=backend).transform(X)
    states = Reservoir(cfg, backend="numpy").states(X)
    want = []
    for t in (1, 2):
        s = states[:, t].astype(np.float64)
        want.append(s.reshape(7, 3, 6, 2, 6, 2).mean(axis=(3, 5)).reshape(7, -1))
        pairs = [s[:, i] * s[:, j] for i in range(3) for j in range(i, 3)]  # triu order
        want.append(np.stack(pairs, 1).reshape(7, 6, 2, 6, 2, 6).mean(axis=(3, 5)).reshape(7, -1))
    assert got.shape == (7, cfg.n_features) == (7, 2 * (3 * 36 + 6 * 4))
    np.testing.assert_allclose(got, np.concatenate(want, axis=1), atol=1e-6, rtol=0)
    # batch invariance holds for the products too
    np.testing.assert_array_equal(got[3], Reservoir(cfg, backend=backend).transform(X[3:4])[0])


def test_per_map_pooling_on_fused_kernels_matches_numpy(rng):
    X = rng.random((6, 16, 16))
    cfg = ReservoirConfig(width=16, height=16, channels=4, steps=3, rule="wave", record="all", pool=4,
                          feature_maps=("state", ("square", 2), ("abs", 8)))
    fused = Reservoir(cfg, backend="cpu")
    assert fused.engine.kernel is not None
    np.testing.assert_allclose(fused.transform(X), Reservoir(cfg, backend="numpy").transform(X), atol=1e-5, rtol=0)
    # cross-channel maps make every backend take the numpy path
    products = ReservoirConfig(width=16, height=16, channels=4, steps=3, rule="wave", feature_maps=("products",))
    assert Reservoir(products, backend="cpu").engine.kernel is None
