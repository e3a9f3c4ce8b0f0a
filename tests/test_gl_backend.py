"""backend="moderngl": batched fragment shaders give the numpy reference's features.

Runs wherever moderngl can open an OpenGL 3.3 context through EGL (on a
machine without a GPU: Mesa's llvmpipe, from the Debian packages libegl1,
libegl-mesa0 and libgl1-mesa-dri); skipped otherwise.
"""

import numpy as np
import pytest

pytest.importorskip("moderngl", reason="backend 'moderngl' needs moderngl (pip install 'pixelflow[gl]')")

from pixelflow import Reservoir, ReservoirConfig, register_rule, unregister_rule  # noqa: E402
from pixelflow.backends import get_backend  # noqa: E402
from pixelflow.rules import get_rule  # noqa: E402


def _gl_unusable() -> str | None:
    try:
        get_backend("moderngl")
    except (ImportError, RuntimeError) as exc:
        return str(exc)
    return None


_SKIP = _gl_unusable()
if _SKIP is not None:
    pytest.skip(f"no OpenGL context for backend 'moderngl': {_SKIP}", allow_module_level=True)

from pixelflow.backends.gl import atlas  # noqa: E402
from pixelflow.backends.gl.context import get_gl  # noqa: E402

SIZE = dict(height=16, width=16)
WIDE = dict(height=12, width=20)  # non-square: rows and columns must not be swapped

# rule, channels, rule params, config extras, input shape per sample
CASES = [
    ("wave", 4, {}, {"record": "all"}, (20, 20)),
    ("wave", 5, {"boundary": "absorbing", "sponge": 3, "clip": 0.0}, {"record": "all", "pool": 2}, (20, 20)),
    ("wave", 6, {"c": 0.3, "damping": 0.9}, {"input_encoding": "phase", "record": (0, 3, 5)}, (20, 20)),
    ("wave", 4, {"boundary": "absorbing"}, {"input_encoding": "project", "encoder_params": {"planes": 2},
                                            "record": "all", **WIDE}, (30,)),
    ("diffusion_reaction", 4, {}, {"record": (0, 2, 5)}, (20, 20)),
    ("diffusion_reaction", 5, {"input_species": "u", "boundary": "zero"}, {"record": "all", "pool": 2}, (20, 20)),
    ("diffusion_reaction", 6, {"feed": 0.03, "kill": 0.05}, {"input_encoding": "phase", "record": "all"}, (20, 20)),
    ("diffusion_reaction", 9, {"boundary": "zero", "dt": 0.5}, {"record": "all", "pool": 2}, (20, 20, 3)),
    ("life_like", 3, {"rule": "B36/S23", "threshold": 0.4}, {"record": "all"}, (20, 20)),
    ("life_like", 2, {"boundary": "zero"}, {"record": "all", "pool": 2}, (20, 20)),
    ("life_like", 5, {"rule": "B0/S8", "boundary": "zero", "threshold": 0.7}, {"record": "all"}, (20, 20, 3)),
    ("random_nca", 6, {}, {"record": "all", "pool": 2}, (20, 20)),
    ("random_nca", 4, {"gain": 2.0, "leak": 0.3, "boundary": "zero"}, {"input_encoding": "project", "record": "all"},
     (30,)),
    ("random_nca", 16, {"gain": 1.5}, {"input_encoding": "phase", "record": "all", "pool": 2}, (20, 20, 3)),
    ("random_nca", 3, {"input_scale": 0.0}, {"record": (1, 5)}, (20, 20)),
    ("random_nca", 5, {"boundary": "zero"}, {"record": "all", **WIDE}, (20, 20)),
    # feature maps, including those of channels a kernel fills with a constant
    ("wave", 5, {}, {"record": "all", "pool": 2, "feature_maps": ("state", "square", "relu")}, (20, 20)),
    ("diffusion_reaction", 5, {}, {"record": (0, 3), "feature_maps": ("abs", "square")}, (20, 20)),
    ("random_nca", 4, {}, {"record": "all", "pool": 2, "feature_maps": ("state", ("square", 4))}, (20, 20)),
]


@pytest.fixture
def on_gl(monkeypatch):
    """Fail if a kernel gives up and runs the numpy path (which would make a parity test vacuous)."""
    from pixelflow.backends.gl import runner

    def refuse(*args, **kwargs):
        raise AssertionError("the GL kernel fell back to the numpy path")

    monkeypatch.setattr(runner, "numpy_path", refuse)


def _config(rule, channels, params, extra, steps=5, **more):
    kw = {**SIZE, **extra, **more}
    return ReservoirConfig(channels=channels, steps=steps, rule=rule, rule_params=params, **kw)


def _ids(case):
    rule, channels, params, extra, shape = case
    return f"{rule}-{channels}-{'-'.join(f'{k}={v}' for k, v in params.items())}-{len(shape)}d"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_gl_matches_numpy(rng, case, on_gl):
    rule, channels, params, extra, shape = case
    X = rng.random((7, *shape))
    cfg = _config(rule, channels, params, extra, chunk_size=4)
    gl = Reservoir(cfg, backend="moderngl")
    assert gl.backend.fused_kernel(gl.engine.rule) is not None
    got = gl.transform(X)
    ref = Reservoir(cfg, backend="numpy").transform(X)
    if rule == "life_like":
        np.testing.assert_array_equal(got, ref)
    else:
        np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)


def test_gl_handles_speed_fields_and_rgb(rng, on_gl):
    X = rng.random((5, 16, 16, 3))
    speed = 0.2 + 0.4 * rng.random((16, 16))
    cfg = _config("wave", 7, {"c": speed}, {"record": "all"}, steps=6)
    np.testing.assert_allclose(Reservoir(cfg, backend="moderngl").transform(X),
                               Reservoir(cfg, backend="numpy").transform(X), atol=1e-5, rtol=0)


def _frames_and_blanks(n, h, w):
    """Samples 0-3 and 8-11 a bright frame on every edge, 4-7 and 12-... zero."""
    X = np.zeros((n, h, w))
    for i in range(n):
        if (i // 4) % 2 == 0:
            X[i, 0, :] = X[i, -1, :] = X[i, :, 0] = X[i, :, -1] = 1.0
    return X


@pytest.mark.parametrize("rule, channels, params", [
    ("wave", 2, {"c": 0.7}),
    ("diffusion_reaction", 2, {}),
    ("life_like", 1, {"rule": "B1/S012345678"}),
    ("random_nca", 4, {}),
])
def test_tiles_do_not_bleed_and_rows_do_not_depend_on_the_batch(rule, channels, params, on_gl):
    # One plane per sample: samples 0-3 fill tile 0, 4-7 tile 1 (its neighbour), ...
    X = _frames_and_blanks(13, 16, 16)
    cfg = _config(rule, channels, params, {"record": "all"}, steps=6)
    res = Reservoir(cfg, backend="moderngl")
    full = res.transform(X)
    for i in (0, 4, 7, 12):
        np.testing.assert_array_equal(full[i], Reservoir(cfg, backend="moderngl").transform(X[i:i + 1])[0])
    if rule in ("wave", "life_like"):
        # A zero sample stays exactly zero under these rules, wherever its neighbours' waves go.
        assert not full[4:8].any()
        assert full[0:4].any()


def test_batches_split_by_the_memory_budget_give_the_same_rows(rng, monkeypatch, on_gl):
    X = rng.random((9, 16, 16))
    for rule, channels in [("wave", 4), ("random_nca", 6), ("life_like", 2)]:
        cfg = _config(rule, channels, {}, {"record": "all"})
        whole = Reservoir(cfg, backend="moderngl").transform(X)
        with monkeypatch.context() as m:
            m.setattr(atlas, "MAX_BATCH_BYTES", 3 * 16 * 16 * 16 * 4)  # a few tiles per batch
            split = Reservoir(cfg, backend="moderngl").transform(X)
        np.testing.assert_array_equal(split, whole)


def test_float64_runs_on_the_numpy_path(rng):
    X = rng.random((3, 16, 16))
    cfg = _config("wave", 4, {}, {"record": "all"}, dtype="float64")
    np.testing.assert_array_equal(Reservoir(cfg, backend="moderngl").transform(X),
                                  Reservoir(cfg, backend="numpy").transform(X))


def test_configs_beyond_the_driver_limits_run_on_the_numpy_path(rng, monkeypatch):
    gl = get_gl()
    monkeypatch.setattr(gl, "max_ubo_bytes", 1024)  # no room for the mixing matrix
    X = rng.random((3, 16, 16))
    cfg = _config("random_nca", 8, {}, {"record": "all"})
    np.testing.assert_array_equal(Reservoir(cfg, backend="moderngl").transform(X),
                                  Reservoir(cfg, backend="numpy").transform(X))


def test_user_rules_and_overridden_builtins_use_the_numpy_path(rng):
    original = get_rule("wave")
    register_rule("wave", lambda s, ctx: s * 0.5, overwrite=True)
    try:
        res = Reservoir(ReservoirConfig(width=8, height=8, channels=2, steps=1, rule="wave"), backend="moderngl")
        assert res.backend.fused_kernel(res.engine.rule) is None
        X = rng.random((2, 8, 8))
        np.testing.assert_array_equal(res.transform(X), Reservoir(res.config, backend="numpy").transform(X))
        # The built-in step with another init is not the built-in rule either.
        register_rule("wave", original.step, params=original.params, build=original.build,
                      init=lambda drive, ctx: original.init(drive, ctx) * 2, min_channels=2,
                      input_capacity=original.input_capacity, overwrite=True)
        assert get_backend("moderngl").fused_kernel(get_rule("wave")) is None
    finally:
        register_rule(original, overwrite=True)
    assert get_backend("moderngl").fused_kernel(get_rule("wave")) is not None

    @register_rule("gl_test_heat", params={"rate": 0.2})
    def heat(state, ctx):
        from pixelflow import stencils
        return state + ctx.params.rate * stencils.laplacian(state, "periodic", ctx.xp)

    try:
        cfg = ReservoirConfig(width=8, height=8, channels=1, steps=3, rule="gl_test_heat", record="all")
        X = rng.random((4, 8, 8))
        np.testing.assert_array_equal(Reservoir(cfg, backend="moderngl").transform(X),
                                      Reservoir(cfg, backend="numpy").transform(X))
    finally:
        unregister_rule("gl_test_heat")


def test_missing_moderngl_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "moderngl", None)  # import moderngl now raises ImportError
    with pytest.raises(ImportError, match=r"pixelflow\[gl\]"):
        get_backend("moderngl")


def test_reservoirs_work_from_other_threads(rng):
    import threading

    X = rng.random((5, 16, 16))
    cfg = _config("wave", 4, {}, {"record": "all"})
    res = Reservoir(cfg, backend="moderngl")
    expected = res.transform(X)
    results = []
    threads = [threading.Thread(target=lambda: results.append(res.transform(X))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    for got in results:
        np.testing.assert_array_equal(got, expected)


def _transform_in_child(res, X):
    import warnings

    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        return res.transform(X)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # fork() of a multi-threaded process (Python >= 3.12)
def test_a_process_forked_after_the_context_falls_back_to_numpy(rng):
    import multiprocessing

    X = rng.random((3, 16, 16))
    cfg = _config("wave", 4, {}, {"record": "all"})
    res = Reservoir(cfg, backend="moderngl")
    res.transform(X)  # the context exists before the fork
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_transform_in_child, (res, X)).get(timeout=120)  # a GL call there would hang
    np.testing.assert_array_equal(got, Reservoir(cfg, backend="numpy").transform(X))
