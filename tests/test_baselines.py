"""The baselines: scattering and random convolutional features, and the small trained CNN."""

import json

import numpy as np
import pytest
from scipy import ndimage

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.baselines import (
    ConvNetClassifier,
    RandomConvConfig,
    RandomConvFeatures,
    ScatteringConfig,
    ScatteringFeatures,
    config_from_dict,
    random_conv,
)
from pixelflow.baselines.scattering import n_coefficients
from pixelflow.stack import StackConfig


def kymatio():
    return pytest.importorskip("kymatio")


def torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------- scattering


def expected_coefficients(J, L, max_order):
    return 1 + J * L + (L * L * J * (J - 1) // 2 if max_order == 2 else 0)


@pytest.mark.parametrize("J, L, max_order, channels, size", [
    (2, 8, 2, 1, (28, 28)), (2, 8, 1, 1, (28, 28)), (1, 4, 2, 1, (8, 12)), (3, 2, 2, 3, (16, 8)),
])
def test_scattering_feature_count_is_that_of_the_real_output(rng, J, L, max_order, channels, size):
    kymatio()
    cfg = ScatteringConfig(*size, J=J, L=L, max_order=max_order, channels=channels)
    K = expected_coefficients(J, L, max_order)
    assert n_coefficients(J, L, max_order) == K
    assert cfg.n_features == channels * K * (size[0] // 2**J) * (size[1] // 2**J)
    X = rng.random((3, *size) + ((channels,) if channels > 1 else ())).astype(np.float32)
    F = cfg.make(progress=False).transform(X)
    assert F.shape == (3, cfg.n_features) and F.dtype == np.float32


def test_scattering_rows_are_kymatio_output_channel_major(rng):
    kymatio()
    from kymatio.scattering2d.frontend.torch_frontend import ScatteringTorch2D

    t = torch()
    cfg = ScatteringConfig(16, 16, J=2, L=4, channels=3)
    X = rng.random((4, 16, 16, 3)).astype(np.float32)
    F = cfg.make(progress=False).transform(X).reshape(4, 3, cfg.coefficients, 4, 4)
    direct = ScatteringTorch2D(J=2, shape=(16, 16), L=4, max_order=2)
    for c in range(3):
        with t.no_grad():
            S = direct(t.from_numpy(np.ascontiguousarray(X[..., c]))).numpy()
        np.testing.assert_allclose(F[:, c], S, rtol=1e-6, atol=1e-7)


def test_scattering_rows_do_not_depend_on_the_batch_bit_for_bit(rng):
    kymatio()
    from pixelflow.baselines.scattering import BLOCK

    f = ScatteringConfig(16, 16, J=2, L=4).make(progress=False)
    n = BLOCK + 22  # two blocks, the second zero-padded
    X = rng.random((n, 16, 16)).astype(np.float32)
    F = f.transform(X)
    for i in (0, 1, 77, BLOCK, n - 1):
        assert np.array_equal(F[i], f.transform(X[i:i + 1])[0]), i
    perm = rng.permutation(n)
    assert np.array_equal(f.transform(X[perm]), F[perm])
    for threads in (1, 2):
        assert np.array_equal(ScatteringFeatures(f.config, progress=False, n_threads=threads).transform(X), F)
    # Deterministic: a fresh transformer, another config object with another seed (the maths has no seed).
    assert np.array_equal(ScatteringConfig(16, 16, J=2, L=4).with_seed(7).make(progress=False).transform(X), F)


def test_scattering_of_a_constant_image_is_its_value_at_order_zero_only():
    kymatio()
    cfg = ScatteringConfig(28, 28)
    S = cfg.make(progress=False).transform(np.full((2, 28, 28), 0.7, dtype=np.float32)).reshape(2, 81, 7, 7)
    np.testing.assert_allclose(S[:, 0], 0.7, rtol=1e-4)
    assert np.abs(S[:, 1:]).max() < 1e-6


def test_scattering_restores_torch_threads():
    kymatio()
    t = torch()
    before = t.get_num_threads()
    f = ScatteringFeatures(ScatteringConfig(8, 8, J=1, L=2), progress=False, n_threads=1)
    f.transform(np.zeros((1, 8, 8)))
    assert t.get_num_threads() == before


def test_scattering_config_contract():
    cfg = ScatteringConfig(28, 28, L=4, seed=3)
    d = cfg.to_dict()
    assert d == {"kind": "scattering", "height": 28, "width": 28, "J": 2, "L": 4, "max_order": 2, "channels": 1,
                 "seed": 3}
    assert config_from_dict(json.loads(json.dumps(d))) == cfg
    assert cfg.with_seed(5).seed == 5 and cfg.with_seed(5).n_features == cfg.n_features
    assert cfg.rule == "scattering"


@pytest.mark.parametrize("kwargs, error, match", [
    ({"J": 3}, ValueError, "divisible by 2\\*\\*J = 8"),
    ({"J": 0}, ValueError, "J must be an integer >= 1"),
    ({"max_order": 3}, ValueError, "max_order"),
    ({"L": 2.0}, TypeError, "L must be an integer"),
])
def test_scattering_config_refuses_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        ScatteringConfig(28, 28, **kwargs)


@pytest.mark.parametrize("X, match", [
    (np.zeros((2, 27, 28)), r"shape \(2, 27, 28\).*\(N, 28, 28\)"),
    (np.zeros((2, 28, 28, 3)), r"\(N, 28, 28, 1\)"),
    (np.zeros(784), "dimension"),
    (np.zeros((2, 784)), r"\(N, 28, 28\)"),
    (np.full((2, 28, 28), np.nan), "NaN"),
])
def test_scattering_refuses_bad_input(X, match):
    f = ScatteringConfig(28, 28).make(progress=False)
    with pytest.raises(ValueError, match=match):
        f.transform(X)


def test_scattering_refuses_other_backends():
    with pytest.raises(ValueError, match="backend 'cpu'"):
        ScatteringConfig(8, 8, J=1).make(backend="cuda")


# ---------------------------------------------------------------- random convolutional features


def reference_random_conv(cfg, X, weights):
    """Straightforward: the reservoir's drive, scipy's correlation per channel, float64 throughout."""
    u = Reservoir(ReservoirConfig(cfg.width, cfg.height, cfg.channels, 0, "random_nca",
                                  encoder_params=cfg.encoder_params)).encode(X).astype(np.float64)
    mode = "wrap" if cfg.boundary == "periodic" else "constant"
    states = []
    for W, b in weights:
        z = np.zeros((len(u), cfg.channels, cfg.height, cfg.width))
        for n in range(len(u)):
            for o in range(cfg.channels):
                for c in range(u.shape[1]):
                    z[n, o] += ndimage.correlate(u[n, c], W[o, c].astype(np.float64), mode=mode)
        states.append(cfg.leak * np.tanh(cfg.input_scale * z + b.astype(np.float64)[:, None, None]))
    return states


@pytest.mark.parametrize("boundary", ["periodic", "zero"])
def test_random_conv_matches_a_reference_implementation(rng, boundary):
    cfg = RandomConvConfig(8, 10, channels=3, kernel_sizes=(3, 5, 9), gain=1.5, bias_scale=0.3, input_scale=0.8,
                           leak=0.7, encoder_params={"resize": "nearest"}, seed=4, boundary=boundary)
    X = rng.random((5, 12, 12, 3))  # RGB, resized into the grid: 3 input channels
    f = cfg.make(progress=False)
    F = f.transform(X)
    weights = f.weights(3)
    assert [W.shape for W, _ in weights] == [(3, 3, k, k) for k in (3, 5, 9)]
    ref = np.concatenate([s.reshape(5, -1) for s in reference_random_conv(cfg, X, weights)], axis=1)
    np.testing.assert_allclose(F, ref, rtol=0, atol=2e-6)


def test_random_conv_feature_maps_are_pooled_as_in_the_reference(rng):
    cfg = RandomConvConfig(8, 8, channels=3, kernel_sizes=(3, 5), feature_maps=(("state", 4), ("products", 2)))
    X = rng.random((4, 8, 8))
    f = cfg.make(progress=False)
    F = f.transform(X)
    blocks = []
    for x in reference_random_conv(cfg, X, f.weights(1)):
        state = x.reshape(4, 3, 2, 4, 2, 4).mean(axis=(3, 5))
        i, j = np.triu_indices(3)
        products = (x[:, i] * x[:, j]).reshape(4, 6, 4, 2, 4, 2).mean(axis=(3, 5))
        blocks += [state.reshape(4, -1), products.reshape(4, -1)]
    np.testing.assert_allclose(F, np.concatenate(blocks, axis=1), rtol=0, atol=2e-6)
    assert F.shape[1] == cfg.n_features == 2 * (3 * 2 * 2 + 6 * 4 * 4)


def test_random_conv_rows_do_not_depend_on_the_batch_bit_for_bit(rng, monkeypatch):
    monkeypatch.setattr(random_conv, "MAX_CHUNK", 7)  # several chunks, on threads
    cfg = RandomConvConfig(14, 14, channels=4, feature_maps=(("state", 7), ("products", 7), "abs"))
    X = rng.random((30, 28, 28)).astype(np.float32)
    f = cfg.make(progress=False)
    F = f.transform(X)
    for i in (0, 6, 7, 29):
        assert np.array_equal(F[i], f.transform(X[i:i + 1])[0]), i
    perm = rng.permutation(30)
    assert np.array_equal(f.transform(X[perm]), F[perm])
    assert np.array_equal(cfg.make(backend="numpy", progress=False).transform(X), F)


def test_random_conv_seeds(rng):
    cfg = RandomConvConfig(8, 8, channels=4, kernel_sizes=(3, 5))
    X = rng.random((3, 8, 8))
    F = cfg.make(progress=False).transform(X)
    assert np.array_equal(RandomConvConfig(8, 8, channels=4, kernel_sizes=(3, 5)).make().transform(X), F)
    G = cfg.with_seed(1).make(progress=False).transform(X)
    assert not np.allclose(F, G, atol=1e-3)


@pytest.mark.parametrize("channels, pool, maps", [
    (4, 1, ("state",)), (8, 7, ("products", "state")), (3, 2, (("state", 7), ("square", 2), ("products", 14))),
])
def test_random_conv_matches_the_reservoir_feature_count(channels, pool, maps):
    res = ReservoirConfig(14, 14, channels, 4, "random_nca", rule_params={"gain": 1.7, "boundary": "zero"},
                          record=(1, 2, 3, 4), pool=pool, feature_maps=maps, encoder_params={"resize": "nearest"},
                          seed=9)
    conv = RandomConvConfig(14, 14, channels, feature_maps=res.recording.maps)
    assert conv.n_features == res.n_features
    matched = RandomConvConfig.matching(res)
    assert matched.n_features == res.n_features
    assert (matched.kernel_sizes, matched.gain, matched.leak, matched.bias_scale, matched.input_scale) == \
        ((3, 5, 7, 9), 1.7, 0.5, 0.1, 1.0)
    assert (matched.boundary, matched.seed, matched.encoder_params) == ("zero", 9, {"resize": "nearest"})
    X = np.random.default_rng(0).random((2, 28, 28))
    assert matched.make(progress=False).transform(X).shape == Reservoir(res).transform(X).shape


def test_random_conv_matching_takes_the_recorded_steps():
    res = ReservoirConfig(7, 7, 2, 6, "random_nca", record=(2, 6))
    assert RandomConvConfig.matching(res).kernel_sizes == (5, 13)


@pytest.mark.parametrize("config, error, match", [
    (ReservoirConfig(8, 8, 2, 2, "wave"), ValueError, "rule 'random_nca'.*'wave'"),
    (ReservoirConfig(8, 8, 2, 2, "random_nca", input_encoding="phase"), ValueError, "'tile'.*'phase'"),
    ({"rule": "random_nca"}, TypeError, "ReservoirConfig"),
])
def test_random_conv_matching_refuses_other_reservoirs(config, error, match):
    with pytest.raises(error, match=match):
        RandomConvConfig.matching(config)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"kernel_sizes": (3, 4)}, ValueError, "odd"),
    ({"kernel_sizes": 3}, TypeError, "sequence"),
    ({"kernel_sizes": ()}, TypeError, "sequence"),
    ({"leak": 0.0}, ValueError, "leak"),
    ({"gain": -1.0}, ValueError, "gain"),
    ({"feature_maps": ("cube",)}, ValueError, "RandomConvConfig.feature_maps: unknown map 'cube'"),
    ({"feature_maps": (("state", 3),)}, ValueError, "pool 3"),
    ({"encoder_params": {"scale": 2.0}}, ValueError, "scale"),
    ({"boundary": "edge"}, ValueError, "boundary"),
])
def test_random_conv_config_refuses_bad_values(kwargs, error, match):
    with pytest.raises(error, match=match):
        RandomConvConfig(8, 8, 2, **kwargs)


def test_random_conv_config_contract():
    cfg = RandomConvConfig(8, 8, 2, kernel_sizes=[3, 5], feature_maps=("state", ("products", 4)),
                           encoder_params={"normalize": "sample"}, seed=2)
    d = cfg.to_dict()
    assert d["kind"] == "random_conv" and d["kernel_sizes"] == [3, 5]
    assert d["feature_maps"] == [["state", 1], ["products", 4]]
    assert set(d) == {"kind", "height", "width", "channels", "kernel_sizes", "gain", "bias_scale", "input_scale",
                      "leak", "feature_maps", "encoder_params", "seed", "boundary"}
    assert config_from_dict(json.loads(json.dumps(d))) == cfg
    assert cfg.rule == "random_conv" and cfg.with_seed(4).seed == 4


def test_random_conv_refuses_bad_input():
    f = RandomConvConfig(8, 8, 2).make(progress=False)
    with pytest.raises(ValueError, match="NaN"):
        f.transform(np.full((2, 8, 8), np.nan))
    with pytest.raises(ValueError, match="dimension"):
        f.transform(np.zeros(64))
    with pytest.raises(ValueError, match="backend"):
        RandomConvFeatures(RandomConvConfig(8, 8, 2), backend="cuda")


def test_config_from_dict_rebuilds_reservoirs_and_refuses_unknown_kinds():
    res = ReservoirConfig(8, 8, 2, 1, "wave", record=(0, 1))
    assert config_from_dict(res.to_dict()) == res
    stack = StackConfig((res, res.__class__(4, 4, 2, 1, "wave")))
    assert config_from_dict(stack.to_dict()) == stack
    with pytest.raises(ValueError, match="unknown config kind 'pca'"):
        config_from_dict({"kind": "pca"})


# ---------------------------------------------------------------- the CNN


@pytest.fixture(scope="module")
def small_digits():
    from pixelflow.datasets import digits

    ds = digits()
    return ds.X_train[:240], ds.y_train[:240], ds.X_test[:90], ds.y_test[:90]


def net(**kwargs):
    return ConvNetClassifier(**{"image_shape": (8, 8), "epochs": 2, "progress": False, "n_threads": 1, **kwargs})


def test_epoch_curve_equals_fresh_fits(small_digits):
    torch()
    X, y, Xv, yv = small_digits
    curve = net().epoch_curve(X, y, Xv, yv, 3)
    assert len(curve) == 3
    for E in (1, 3):
        predicted = net(epochs=E).fit(X, y).predict(Xv)
        assert curve[E - 1] == float(np.mean(predicted == yv))


def test_convnet_is_deterministic_and_leaves_torch_as_it_was(small_digits):
    t = torch()
    X, y, Xv, _ = small_digits
    state, threads = t.random.get_rng_state(), t.get_num_threads()
    a = net().fit(X, y).predict_proba(Xv)
    assert t.equal(state, t.random.get_rng_state()) and t.get_num_threads() == threads
    assert np.array_equal(net().fit(X, y).predict_proba(Xv), a)
    assert not np.array_equal(net(seed=1).fit(X, y).predict_proba(Xv), a)


def test_convnet_takes_flattened_or_image_input_alike(small_digits, rng):
    torch()
    X, y, Xv, _ = small_digits
    images = net().fit(X, y)
    flat = net().fit(X.reshape(len(X), -1), y)
    assert np.array_equal(images.predict_proba(Xv), flat.predict_proba(Xv.reshape(len(Xv), -1)))
    assert np.array_equal(images.predict_proba(Xv), images.predict_proba(Xv[..., None]))
    # RGB, string labels, a batch's predictions row by row
    Xc = rng.random((24, 6, 6, 3)).astype(np.float32)
    yc = np.array(["cat", "dog", "eel"] * 8)
    rgb = net(image_shape=(6, 6, 3), epochs=1).fit(Xc.reshape(24, -1), yc)
    assert list(rgb.classes_) == ["cat", "dog", "eel"] and rgb.predict(Xc).dtype == yc.dtype
    proba = rgb.predict_proba(Xc)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.array_equal(np.concatenate([rgb.predict_proba(Xc[i:i + 1]) for i in range(24)]), proba)


def test_convnet_clone_and_get_params(small_digits):
    torch()
    from sklearn.base import clone

    X, y, Xv, _ = small_digits
    clf = net(learning_rate=3e-3, weight_decay=1e-4)
    params = clf.get_params()
    assert params == {"image_shape": (8, 8), "epochs": 2, "batch_size": 64, "learning_rate": 3e-3,
                      "weight_decay": 1e-4, "seed": 0, "n_threads": 1, "progress": False}
    fitted = clf.fit(X, y)
    copy = clone(fitted)
    assert not hasattr(copy, "model_") and copy.get_params() == params
    assert np.array_equal(copy.fit(X, y).predict(Xv), fitted.predict(Xv))
    assert len(fitted.loss_curve_) == 2 and fitted.n_features_in_ == 64


def test_convnet_refuses_bad_input(small_digits):
    torch()
    from sklearn.exceptions import NotFittedError

    X, y, _, _ = small_digits
    with pytest.raises(NotFittedError):
        net().predict(X)
    with pytest.raises(ValueError, match=r"shape \(240, 63\).*\(N, 64\), \(N, 8, 8\) or \(N, 8, 8, 1\)"):
        net().fit(X.reshape(240, -1)[:, :63], y)
    with pytest.raises(ValueError, match="dimension"):
        net().fit(X.reshape(-1), y)
    bad = X.copy()
    bad[3, 2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN.*row is 3"):
        net().fit(bad, y)
    with pytest.raises(ValueError, match="one label per sample"):
        net().fit(X, y[:-1])
    with pytest.raises(ValueError, match="at least 2 classes"):
        net().fit(X, np.zeros(len(X)))
    with pytest.raises(ValueError, match="image_shape"):
        net(image_shape=(2, 8)).fit(X, y)
    with pytest.raises(ValueError, match="max_epochs"):
        net().epoch_curve(X, y, X, y, 0)


def test_a_stack_may_hold_baseline_members_computed_member_by_member():
    import numpy as np
    import pytest

    from pixelflow import ReservoirConfig
    from pixelflow.baselines import RandomConvConfig, config_from_dict
    from pixelflow.stack import ReservoirStack, StackConfig, make_reservoir
    from pixelflow.workbook.feature_cache import features

    members = (ReservoirConfig(8, 8, 2, 2, "random_nca", record=(1, 2)),
               ReservoirConfig(4, 4, 3, 2, "random_nca", record=(1, 2), seed=5))
    conv = StackConfig(tuple(RandomConvConfig.matching(m) for m in members))
    assert conv.n_features == StackConfig(members).n_features and not conv.reservoirs_only
    assert config_from_dict(conv.to_dict()) == conv
    assert [m.seed for m in conv.with_seed(3).members] == [3, 8]
    X = np.random.default_rng(0).random((5, 8, 8), dtype=np.float32)
    expected = np.concatenate([make_reservoir(m).transform(X) for m in conv.members], axis=1)
    assert np.array_equal(features(conv, X), expected)
    with pytest.raises(TypeError, match="member by member"):
        ReservoirStack(conv)
    with pytest.raises(TypeError, match="feature-map configs"):
        StackConfig((members[0], object()))
