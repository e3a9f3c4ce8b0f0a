"""Reservoir contract: shapes, batch and chunk invariance, determinism, recording, bad input."""

import pickle

import numpy as np
import pytest

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.reservoir import avg_pool

RULES = [("wave", 4), ("diffusion_reaction", 4), ("life_like", 3), ("random_nca", 6)]


def make(rule="wave", channels=4, backend="cpu", **kw):
    kw.setdefault("width", 16)
    kw.setdefault("height", 16)
    kw.setdefault("steps", 4)
    return Reservoir(ReservoirConfig(channels=channels, rule=rule, **kw), backend=backend)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("rule, channels", RULES)
@pytest.mark.parametrize("encoding", ["tile", "phase", "project"])
def test_rows_do_not_depend_on_batch_or_chunk(rng, rule, channels, encoding, backend):
    X = rng.random((23, 28, 28)).astype(np.float32)
    kw = dict(rule=rule, channels=channels, input_encoding=encoding, record="all", pool=2, backend=backend)
    full = make(chunk_size=5, **kw).transform(X)
    assert full.shape == (23, 5 * channels * 8 * 8) and full.dtype == np.float32
    np.testing.assert_array_equal(full, make(chunk_size=23, **kw).transform(X))
    np.testing.assert_array_equal(full, make(chunk_size=1, **kw).transform(X))
    for i in (0, 7, 22):
        np.testing.assert_array_equal(full[i], make(**kw).transform(X[i : i + 1])[0])
    # a different companion batch around the same sample
    mixed = np.concatenate([rng.random((9, 28, 28)), X[7:8], rng.random((4, 28, 28))]).astype(np.float32)
    np.testing.assert_array_equal(full[7], make(chunk_size=5, **kw).transform(mixed)[9])


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("encoder_params", [{}, {"normalize": "sample"}])
@pytest.mark.parametrize("encoding", ["tile", "phase", "project", "mask"])
def test_rows_do_not_depend_on_how_the_batch_lies_in_memory(rng, encoding, encoder_params, backend):
    # RGB images stored channels-first and viewed channels-last, as data sets are often read: a strided view.
    planes = rng.random((9, 3, 20, 20)).astype(np.float32)
    view = planes.transpose(0, 2, 3, 1)
    assert not view.flags["C_CONTIGUOUS"]
    if encoding != "tile" and encoder_params:
        return  # normalisation belongs to the tile encoder
    kw = dict(rule="random_nca", channels=6, input_encoding=encoding, encoder_params=encoder_params, pool=2,
              backend=backend)
    strided = make(**kw).transform(view)
    np.testing.assert_array_equal(strided, make(**kw).transform(np.ascontiguousarray(view)))
    np.testing.assert_array_equal(strided[4], make(**kw).transform(view[4:5])[0])


def test_project_rows_do_not_depend_on_position_in_block(rng):
    X = rng.random((150, 40)).astype(np.float32)  # more than two 64-row blocks
    res = make(input_encoding="project", steps=0)
    full = res.transform(X)
    for i in (0, 63, 64, 130, 149):
        np.testing.assert_array_equal(full[i], make(input_encoding="project", steps=0).transform(X[i : i + 1])[0])
    np.testing.assert_array_equal(full[64:], make(input_encoding="project", steps=0).transform(X[64:]))


def test_same_config_is_bit_identical_and_seed_matters(rng):
    X = rng.random((10, 12, 12))
    a = make("random_nca", 4, seed=3).transform(X)
    b = make("random_nca", 4, seed=3).transform(X)
    c = make("random_nca", 4, seed=4).transform(X)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_projection_matrix_is_fixed_per_reservoir(rng):
    # pixelflow-rc drew a new matrix per sample; here two identical samples
    # must give identical features, wherever they sit in the batch.
    x = rng.random((1, 30))
    X = np.concatenate([x, rng.random((5, 30)), x])
    F = make(input_encoding="project", steps=2).transform(X)
    np.testing.assert_array_equal(F[0], F[-1])


def test_record_and_pool_layout(rng):
    X = rng.random((3, 16, 16))
    res = make("random_nca", 4, record=(0, 2, -1), pool=4)
    states = res.states(X)
    F = res.transform(X)
    assert F.shape == (3, 3 * 4 * 4 * 4)
    expected = np.concatenate(
        [states[:, t].reshape(3, 4, 4, 4, 4, 4).mean(axis=(3, 5)).reshape(3, -1) for t in (0, 2, 4)], axis=1
    )
    np.testing.assert_allclose(F, expected, rtol=1e-6, atol=1e-7)


def test_default_features_are_the_final_state(rng):
    X = rng.random((2, 16, 16))
    res = make("wave", 4, backend="numpy")  # states() always runs the numpy step loop
    np.testing.assert_array_equal(res.transform(X), res.states(X)[:, -1].reshape(2, -1))


def test_avg_pool_matches_mean(rng):
    x = rng.random((2, 3, 12, 12))
    np.testing.assert_allclose(avg_pool(x, 3, np), x.reshape(2, 3, 4, 3, 4, 3).mean(axis=(3, 5)))


def test_steps_zero_gives_the_encoded_input(rng):
    X = rng.random((2, 16, 16))
    F = make("wave", 2, steps=0, encoder_params={"resize": "nearest"}).transform(X)
    np.testing.assert_allclose(F.reshape(2, 2, 16, 16)[:, 0], X, rtol=1e-7)


def test_input_layouts(rng):
    imgs = rng.random((4, 16, 16)).astype(np.float32)
    res = make("wave", 2, steps=1, encoder_params={"resize": "nearest"})
    as_images = res.transform(imgs)
    as_vectors = make("wave", 2, steps=1, encoder_params={"resize": "nearest"}).transform(imgs.reshape(4, -1))
    as_channels_last = make("wave", 2, steps=1, encoder_params={"resize": "nearest"}).transform(imgs[..., None])
    np.testing.assert_array_equal(as_images, as_vectors)  # 256 = 16 x 16: same square layout
    np.testing.assert_array_equal(as_images, as_channels_last)


def test_rgb_goes_into_three_channels(rng):
    X = rng.random((2, 8, 8, 3))
    states = make("life_like", 3, width=8, height=8, steps=0, encoder_params={"resize": "nearest"}).states(X)
    np.testing.assert_allclose(states[:, 0], np.moveaxis(X, -1, 1), rtol=1e-7)
    with pytest.raises(ValueError, match="increase channels"):
        make("wave", 4).transform(X)


def test_integer_and_bool_inputs_are_accepted(rng):
    X = rng.random((3, 16, 16)) > 0.5
    np.testing.assert_array_equal(make().transform(X), make().transform(X.astype(np.float32)))


def test_empty_input_returns_zero_rows():
    F = make("random_nca", 4, record="all").transform(np.zeros((0, 28, 28)))
    assert F.shape == (0, 5 * 4 * 16 * 16) and F.dtype == np.float32


def test_pickle_round_trip(rng):
    X = rng.random((3, 10, 10))
    res = make("random_nca", 4)
    F = res.transform(X)
    clone = pickle.loads(pickle.dumps(res))
    np.testing.assert_array_equal(clone.transform(X), F)
    assert clone.input_shape_ == (10, 10)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad_value", [np.nan, np.inf, -np.inf])
def test_non_finite_rows_are_named(rng, bad_value):
    X = rng.random((6, 16))
    X[4, 3] = bad_value
    with pytest.raises(ValueError, match="first bad row is 4"):
        make().transform(X)


@pytest.mark.parametrize("X, exc, match", [
    (np.zeros(10), ValueError, r"reshape\(1, -1\)"),
    (np.zeros((2, 3, 4, 5, 6)), ValueError, "5 dimension"),
    ([[1.0, 2.0], [3.0]], ValueError, "ragged"),
    (np.array([["a", "b"]]), TypeError, "numeric"),
    (np.zeros((2, 3), dtype=complex), TypeError, "numeric"),
    (np.zeros((2, 0)), ValueError, "empty samples"),
])
def test_malformed_inputs(X, exc, match):
    with pytest.raises(exc, match=match):
        make().transform(X)


def test_values_beyond_float32_are_refused_after_the_cast(rng):
    X = rng.random((4, 16))
    X[2, 5] = 1e39  # finite in float64, inf in the float32 reservoir
    with pytest.raises(ValueError, match="first bad row is 2") as info:
        make().transform(X)
    assert "float32" in str(info.value)
    for method in ("states", "encode"):
        with pytest.raises(ValueError, match="first bad row is 2"):
            getattr(make(), method)(X)
    # A float64 reservoir takes the same value (its float32 features would overflow, and say so).
    assert np.isfinite(make(dtype="float64").states(X)).all()
    with pytest.raises(ValueError, match="features of sample 2 are not finite although X is"):
        make(dtype="float64").transform(X)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("maps", [("square",), ("products",), ("state", ("products", 2))])
def test_features_that_overflow_are_an_error_not_inf(backend, maps):
    X = np.zeros((3, 8, 8), dtype=np.float32)
    X[1] = 1e30  # finite in float32; its square is not
    res = make(feature_maps=maps, record="all", backend=backend)
    with pytest.raises(ValueError, match="features of sample 1 are not finite although X is"):
        res.transform(X)
    # The failed first call left the reservoir usable.
    assert res.input_shape_ is None
    assert np.isfinite(res.transform(X[[0, 2]])).all()


def test_empty_batch_is_checked_like_one_sample():
    res = make("wave", 4)  # takes at most 2 input channels
    with pytest.raises(ValueError, match="gives 5 input channel"):
        res.transform(np.zeros((1, 28, 28, 5)))
    with pytest.raises(ValueError, match="gives 5 input channel"):
        res.transform(np.zeros((0, 28, 28, 5)))
    with pytest.raises(ValueError, match="gives 5 input channel"):
        res.states(np.zeros((0, 28, 28, 5)))
    assert res.input_shape_ is None  # an empty batch fixes nothing
    res.transform(np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match="first used with"):
        res.transform(np.zeros((0, 20, 20)))


def test_a_failed_first_call_leaves_the_reservoir_usable(rng, monkeypatch):
    res = make("random_nca", 4)
    original = res.engine.features

    def broken(*args):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(res.engine, "features", broken)
    with pytest.raises(RuntimeError, match="interrupted"):
        res.transform(rng.random((2, 10, 10)))
    assert res.input_shape_ is None
    monkeypatch.setattr(res.engine, "features", original)
    assert res.transform(rng.random((2, 12, 12))).shape == (2, 4 * 16 * 16)


def test_input_shape_is_locked_after_first_use(rng):
    res = make(input_encoding="project")
    res.transform(rng.random((2, 784)))
    with pytest.raises(ValueError, match=r"\(783,\).*\(784,\)"):
        res.transform(rng.random((2, 783)))


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"rule": "nope"}, ValueError, "registered rules: .*wave"),
    ({"input_encoding": "nope"}, ValueError, "valid: mask, phase, project, tile"),
    ({"rule": "wave", "rule_params": {"damping": 1.5}}, ValueError, r"'damping' must be a float in \(0, 1\], got 1.5"),
    ({"rule": "wave", "rule_params": {"speed": 1}}, ValueError,
     "unknown rule 'wave' parameter.*'speed'.*valid: c, damping"),
    ({"rule": "wave", "rule_params": {"c": "fast"}}, TypeError, "'c' must be"),
    ({"rule": "wave", "channels": 1}, ValueError, "channels >= 2"),
    ({"width": 1}, ValueError, "width must be an integer >= 2"),
    ({"steps": -1}, ValueError, "steps must be an integer >= 0"),
    ({"steps": 2.5}, TypeError, "steps must be an integer"),
    ({"channels": True}, TypeError, "channels must be an integer"),
    ({"pool": 3, "width": 16, "height": 16}, ValueError, "must divide"),
    ({"record": (0, 9), "steps": 4}, ValueError, r"record step 9 is outside \[0, steps=4\]"),
    ({"record": "last"}, ValueError, "record must be"),
    ({"dtype": "float16"}, ValueError, "dtype must be one of"),
    ({"encoder_params": {"resize": "bicubic"}}, ValueError, "'resize' must be one of 'area', 'nearest'"),
    ({"feature_maps": "square"}, TypeError, "feature_maps must be a non-empty sequence"),
    ({"feature_maps": ()}, TypeError, "feature_maps must be a non-empty sequence"),
    ({"feature_maps": ("state", "cube")}, ValueError, "unknown map 'cube'; valid: state, square, abs, relu, products"),
    ({"feature_maps": (("state", 3),), "width": 16, "height": 16}, ValueError, "pool 3 of map 'state' must be"),
    ({"feature_maps": (("state", "big"),)}, TypeError, r"a name or \(name, pool\)"),
    ({"feature_maps": ("abs", "abs")}, ValueError, "repeated maps"),
    ({"rule_params": "x"}, TypeError, "ReservoirConfig.rule_params must be a dict .* got str 'x'"),
    ({"encoder_params": [("resize", "area")]}, TypeError, "ReservoirConfig.encoder_params must be a dict"),
    ({"steps": 10**12, "record": "all"}, ValueError, r"record='all' with steps=1000000000000 would record"),
])
def test_invalid_configs(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ReservoirConfig(**kwargs)


def test_unknown_backend_lists_valid_ones():
    with pytest.raises(ValueError, match="valid: cpu, cuda, moderngl, numpy"):
        Reservoir(ReservoirConfig(), backend="opencl")


def test_huge_grid_is_refused_before_allocating():
    with pytest.raises(ValueError, match="needs .* GiB but only"):
        Reservoir(ReservoirConfig(width=200_000, height=200_000, channels=4, rule="wave"))


def test_huge_output_is_refused_before_allocating(monkeypatch, rng):
    import pixelflow.memory

    res = make()
    # 100 rows x 1024 float32 features = 400 kB: more than the pretend 100 kB free.
    monkeypatch.setattr(pixelflow.memory, "available_bytes", lambda: 100_000)
    with pytest.raises(ValueError, match="feature matrix needs"):
        res.transform(rng.random((100, 16, 16)))


def test_config_is_copied_and_serialisable():
    params = {"c": 0.3}
    cfg = ReservoirConfig(rule="wave", rule_params=params)
    params["c"] = 0.9
    assert cfg.rule_params == {"c": 0.3}
    d = cfg.to_dict()
    assert d["rule"] == "wave" and d["rule_params"] == {"c": 0.3}
