"""The fused cpu kernel for random_nca gives the numpy path's features bit for bit."""

import dataclasses
import os
import subprocess
import sys

import numba
import numpy as np
import pytest

from pixelflow import Encoder, Reservoir, ReservoirConfig, register_encoder
from pixelflow.backends.cpu import random_nca as kernel
from pixelflow.encoders import unregister_encoder
from pixelflow.engine import Engine
from pixelflow.stack import StackConfig
from pixelflow.workbook import presets


def bits(a):
    """The bits of a float array (+0.0 and -0.0 differ)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def reference(cfg, X):
    """The numpy path's features in the state's dtype (float64 states unrounded)."""
    engine = Engine(cfg, "numpy")
    engine.prepare(X.shape[1:])
    x = engine.backend.asarray(X, dtype=engine.dtype)
    rows = [cfg.recording.features(s, np) for t, s in engine.evolve(x) if t in cfg.recording.steps]
    want = np.concatenate(rows, axis=1)
    # What a reservoir returns is these, rounded to float32.
    assert_same_bits(want.astype(np.float32), Reservoir(cfg, backend="numpy").transform(X))
    return want


def fused(cfg, X):
    """The kernel's features (``run`` on one chunk of the whole batch), in the state's dtype, for any recording."""
    engine = Engine(cfg, "cpu")
    engine.prepare(X.shape[1:])
    ctx = engine.context(engine.backend.asarray(X, dtype=engine.dtype))
    out = np.full((len(X), cfg.n_features), np.nan, dtype=engine.dtype)
    kernel.run(ctx.drive, ctx, cfg.recording, out)
    return out


def assert_same_bits(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    mismatch = np.flatnonzero(bits(got) != bits(want))
    assert mismatch.size == 0, f"{mismatch.size} features differ, first at {mismatch[:5]}"


def nca(h=12, w=12, channels=4, steps=3, **kw):
    return ReservoirConfig(width=w, height=h, channels=channels, steps=steps, rule="random_nca", **kw)


# Pointwise recordings: the cpu backend takes the kernel through the engine.
POINTWISE = [
    nca(),
    nca(16, 16, 6, 5, record="all", pool=2),
    nca(13, 15, 5, 4, rule_params={"boundary": "zero", "gain": 2.0, "leak": 0.3}, input_encoding="project",
        record=(0, 2, 4)),
    nca(9, 7, 1, 2, record="all"),
    nca(3, 3, 2, 6, rule_params={"gain": 3.0}, record=(6,)),
    nca(2, 5, 3, 2, record="all"),
    nca(10, 10, 8, 3, input_encoding="phase", record=(1, 3), feature_maps=("state", ("square", 2), ("abs", 5),
                                                                           ("relu", 10))),
    nca(12, 8, 5, 3, input_encoding="mask", encoder_params={"density": 0.3, "planes": 2}, pool=4),
    nca(14, 14, 7, 4, rule_params={"input_scale": 0.0, "bias_scale": 0.5}, record="all", pool=7),
    nca(8, 8, 4, 2, rule_params={"leak": 1.0, "bias_scale": 0.0}, feature_maps=("state", "relu", "abs")),
    # gain 0 and no bias or input: every pre-activation is a signed zero.
    nca(6, 6, 3, 3, rule_params={"gain": 0.0, "bias_scale": 0.0, "input_scale": 0.0, "leak": 1.0}, record="all",
        feature_maps=("state", "relu", "square")),
    nca(12, 12, 4, 3, encoder_params={"normalize": "sample"}, chunk_size=4, record=(1, 2, 3)),
    # The full 3x3 neighbourhood: 9 C mixed planes, both boundaries, a channel count that pads the terms.
    nca(10, 14, 5, 4, rule_params={"perception": "random", "gain": 1.5}, record="all", pool=2),
    nca(9, 9, 1, 3, rule_params={"perception": "random", "boundary": "zero", "leak": 0.9}, record=(1, 3)),
    nca(3, 3, 2, 6, rule_params={"perception": "random", "gain": 3.0}, record=(6,)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("cfg", POINTWISE, ids=range(len(POINTWISE)))
def test_cpu_backend_features_equal_the_numpy_path_bit_for_bit(rng, cfg, dtype):
    cfg = dataclasses.replace(cfg, dtype=dtype)
    X = rng.random((13, 11, 9)) * 2 - 0.5
    res = Reservoir(cfg, backend="cpu")
    assert res.engine.kernel is kernel.run
    want = reference(cfg, X)
    assert_same_bits(res.transform(X), want.astype(np.float32))
    assert_same_bits(fused(cfg, X), want)


# The engine gives fused kernels pointwise recordings only, so recordings with channel
# products call the kernel's run directly.
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("maps, pool", [
    (("products",), 2),
    ((("state", 2), ("products", 6), ("relu", 3), "square", ("abs", 4)), 1),
    ((("products", 4), ("products", 12), "state"), 3),
])
@pytest.mark.parametrize("channels", [1, 3, 5, 8, 9])
@pytest.mark.parametrize("perception", ["sobel", "random"])
def test_channel_products_equal_the_numpy_path_bit_for_bit(rng, maps, pool, channels, dtype, perception):
    cfg = nca(12, 12, channels, 3, record=(0, 1, 3), pool=pool, feature_maps=maps, dtype=dtype,
              rule_params={"perception": perception})
    X = rng.random((7, 12, 12))
    assert_same_bits(fused(cfg, X), reference(cfg, X))


@pytest.mark.parametrize("shape", [(1, 9, 9), (5, 20, 20, 3), (17, 6, 5)])
def test_batches_of_one_and_of_any_size_and_rgb_input(rng, shape):
    cfg = nca(10, 10, 6, 3, record="all", feature_maps=("state", ("products", 5)))
    X = rng.random(shape)
    assert_same_bits(fused(cfg, X), reference(cfg, X))


def test_rows_do_not_depend_on_the_batch_or_on_the_blocks_and_threads(rng, monkeypatch):
    # Blocks of a few samples on several threads: a row equals the row computed alone.
    monkeypatch.setattr(kernel, "BLOCK_BYTES", 3 * 4 * 8 * 8 * 4)
    monkeypatch.setattr(kernel, "GROUP_CELLS", 160)
    monkeypatch.setattr(numba, "get_num_threads", lambda: 3)
    cfg = nca(8, 8, 4, 3, record="all", feature_maps=("state", ("products", 4)),
              rule_params={"perception": "random"})
    X = rng.random((23, 8, 8))
    full = fused(cfg, X)
    assert_same_bits(full, reference(cfg, X))
    for i in (0, 11, 22):
        assert_same_bits(fused(cfg, X[i : i + 1]), full[i : i + 1])
    order = rng.permutation(len(X))
    assert_same_bits(fused(cfg, X[order]), full[order])
    res = Reservoir(dataclasses.replace(cfg, feature_maps=("state", "abs")), backend="cpu")
    rows = res.transform(X)
    assert_same_bits(res.transform(X[5:6]), rows[5:6])


def preset_members():
    members = []
    for name in presets.available():
        reservoir = presets.get(name).reservoir
        for i, m in enumerate(reservoir.members if isinstance(reservoir, StackConfig) else (reservoir,)):
            members.append(pytest.param(m, id=f"{name}-{i}"))
    return members


@pytest.mark.parametrize("member", preset_members())
def test_preset_reservoirs_equal_the_numpy_path_bit_for_bit(rng, member):
    shape = (5, 32, 32, 3) if member.width == 32 else (5, 28, 28)
    X = rng.random(shape).astype(np.float32)
    assert_same_bits(fused(member, X), reference(member, X))


def test_a_drive_in_another_precision_runs_the_rule_function(rng):
    # A user encoder that hands a float32 reservoir a float64 drive: the kernel defers to the rule function.
    def wide(x, params, fixed, grid_hw, xp):
        return xp.asarray(x, dtype=np.float64).reshape(len(x), 1, *grid_hw)

    register_encoder(Encoder("wide", wide))
    try:
        cfg = nca(6, 6, 3, 3, input_encoding="wide", record="all", feature_maps=("state", ("products", 3)))
        X = rng.random((4, 36)).astype(np.float32)
        assert_same_bits(fused(cfg, X), reference(cfg, X))
        assert_same_bits(Reservoir(cfg, backend="cpu").transform(X), Reservoir(cfg, backend="numpy").transform(X))
    finally:
        unregister_encoder("wide")


def test_every_feature_map_is_recorded_by_the_kernel():
    from pixelflow.recording import FEATURE_MAPS

    assert set(kernel.MAPS) == set(FEATURE_MAPS)


def test_float64_sums_stay_uncontracted_whatever_was_compiled_first(tmp_path):
    # float32 states sum with fused multiply-adds, float64 states must not; the two compiled
    # copies share signatures, so a fresh on-disk cache must not hand one the other's code
    # (float64 features are compared before their rounding to float32, which would hide it).
    script = """
import numpy as np
from pixelflow import ReservoirConfig
from pixelflow.backends.cpu.random_nca import run
from pixelflow.engine import Engine
X = np.random.default_rng(0).random((3, 8, 8))
for dtype in ("float32", "float64"):
    cfg = ReservoirConfig(8, 8, 5, 2, "random_nca", dtype=dtype, feature_maps=("state", ("products", 4)))
    engine = Engine(cfg, "cpu")
    engine.prepare(X.shape[1:])
    ctx = engine.context(X.astype(dtype))
    got = np.empty((3, cfg.n_features), dtype)
    run(ctx.drive, ctx, cfg.recording, got)
    ref = Engine(cfg, "numpy")
    ref.prepare(X.shape[1:])
    want = [cfg.recording.features(s, np) for t, s in ref.evolve(X.astype(dtype)) if t in cfg.recording.steps]
    assert got.tobytes() == np.concatenate(want, axis=1).tobytes(), dtype
"""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_preset_reservoirs_run_the_fused_kernel_and_equal_the_numpy_path(rng):
    from pixelflow.stack import make_reservoir
    from pixelflow.workbook import presets

    for name, shape in (("mnist", (5, 28, 28)), ("cifar10", (5, 32, 32, 3))):
        cfg = presets.get(name).reservoir
        fused = make_reservoir(cfg, backend="cpu", progress=False)
        members = getattr(fused, "reservoirs", [fused])
        assert all(r.engine.kernel is not None for r in members), name
        X = rng.random(shape).astype(np.float32)
        np.testing.assert_array_equal(fused.transform(X),
                                      make_reservoir(cfg, backend="numpy", progress=False).transform(X))
