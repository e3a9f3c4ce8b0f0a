"""The torch mirror of random_nca and its end-to-end training (pixelflow.nca.learned_reservoir)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.base import clone  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402

from pixelflow import Reservoir, ReservoirConfig  # noqa: E402
from pixelflow.datasets import digits  # noqa: E402
from pixelflow.nca.learned_reservoir import (  # noqa: E402
    TRANSFORM_BLOCK,
    LearnedReservoir,
    LearnedReservoirClassifier,
    mixed_kernel,
)
from pixelflow.stencils import perceive  # noqa: E402
from pixelflow.workbook.protocols import text_table  # noqa: E402
from pixelflow.workbook.protocols.fixed_vs_learned import comparison_table, evaluate  # noqa: E402


def nca(**kw):
    base = dict(width=8, height=8, channels=4, steps=2, rule="random_nca", record=(1, 2), seed=0)
    return ReservoirConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def data():
    ds = digits()
    return ds.X_train[:300], ds.y_train[:300], ds.X_test[:100], ds.y_test[:100]


def fitted(X, y, **kw):
    kw = {"epochs": 1, "batch_size": 32, "progress": False, **kw}
    return LearnedReservoirClassifier(kw.pop("config", nca()), **kw).fit(X, y)


# --- parity with the core reservoir ---------------------------------------------------------

PARITY = {
    "periodic, state, all steps": (nca(width=12, height=12, steps=3, record="all"), (12, 12)),
    "zero boundary, every map, own pools": (
        nca(width=12, height=12, channels=5, steps=4, record=(1, 4), seed=3,
            rule_params={"boundary": "zero", "gain": 2.0, "leak": 0.9, "bias_scale": 0.5},
            feature_maps=(("products", 3), ("state", 2), "square", "abs", ("relu", 4))),
        (12, 12)),
    "rgb, area resize, products pooled": (
        nca(width=16, height=16, channels=6, steps=3, record=(2, 3), pool=4, feature_maps=("products", "state"),
            rule_params={"input_scale": 0.5}), (10, 10, 3)),
    "vectors, phase encoding, float64": (
        nca(width=6, height=6, channels=3, steps=2, input_encoding="phase", dtype="float64", record=(0, 1, 2)), (30,)),
    "no input re-injection": (nca(rule_params={"input_scale": 0.0}, record="final"), (8, 8)),
}


@pytest.mark.parametrize("name", list(PARITY))
def test_untrained_features_equal_the_core_reservoir(name):
    config, shape = PARITY[name]
    X = np.random.default_rng(1).random((7, *shape)).astype(np.float32)
    expected = Reservoir(config).transform(X)
    module = LearnedReservoir(config, shape)
    got = module.transform_drive(module.encode(X))
    assert got.shape == expected.shape == (7, config.n_features)
    assert got.dtype == np.float32
    # float32 rounding (BLAS vs convolution order) grows over gain-2 steps to a few 1e-6.
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_weights_are_the_cores_for_the_seed():
    config = nca(seed=5)
    res = Reservoir(config)
    module = LearnedReservoir(config, (8, 8))
    for name, value in res.rule_weights((8, 8)).items():
        assert np.array_equal(getattr(module, name).detach().numpy(), value)
    other = Reservoir(nca(seed=6)).rule_weights((8, 8))
    assert not np.array_equal(other["mix"], module.mix.detach().numpy())


def test_reservoir_encode_is_the_drive_and_batch_invariant():
    config = nca(width=10, height=10, input_encoding="project", encoder_params={"planes": 2})
    X = np.random.default_rng(2).random((9, 8, 8))
    drive = Reservoir(config).encode(X)
    assert drive.shape == (9, 2, 10, 10) and drive.dtype == np.float32
    assert np.array_equal(Reservoir(config).encode(X[3:4])[0], drive[3])


def test_mixed_kernel_is_perception_then_mixing():
    g = torch.Generator().manual_seed(0)
    state = torch.randn(2, 3, 5, 6, generator=g, dtype=torch.float64)
    mix = torch.randn(3, 12, generator=g, dtype=torch.float64)
    conv = torch.nn.functional.conv2d(torch.nn.functional.pad(state, (1, 1, 1, 1), mode="circular"), mixed_kernel(mix))
    reference = np.matmul(mix.numpy(), perceive(state.numpy(), "periodic", np).reshape(2, 12, 30))
    np.testing.assert_allclose(conv.numpy().reshape(2, 3, 30), reference, rtol=1e-12, atol=1e-12)


# --- gradients and frozen weights --------------------------------------------------------------


def test_gradients_reach_trainable_weights_only():
    module = LearnedReservoir(nca(), (8, 8), train=("mix",))
    drive = module.encode(np.random.default_rng(0).random((4, 8, 8)))
    module(drive).square().sum().backward()
    assert module.mix.grad is not None and torch.count_nonzero(module.mix.grad) > 0
    assert module.bias.grad is None and module.inject.grad is None
    assert module.n_trainable() == 4 * 16

    full = LearnedReservoir(nca(), (8, 8))
    full(drive).square().sum().backward()
    for p in (full.mix, full.bias, full.inject):
        assert p.grad is not None and torch.count_nonzero(p.grad) > 0


def test_frozen_weights_do_not_change_in_training(data):
    X, y, _, _ = data
    initial = Reservoir(nca()).rule_weights((8, 8))
    clf = fitted(X, y, train=("mix",))
    assert np.array_equal(clf.module_.bias.detach().numpy(), initial["bias"])
    assert np.array_equal(clf.module_.inject.detach().numpy(), initial["inject"])
    assert not np.array_equal(clf.module_.mix.detach().numpy(), initial["mix"])
    assert clf.n_trained_params_ == 64


# --- determinism and batch invariance ---------------------------------------------------------


def test_same_seed_gives_bit_identical_weights(data):
    X, y, _, _ = data
    a, b, c = fitted(X, y, seed=3), fitted(X, y, seed=3), fitted(X, y, seed=4)
    for name in ("mix", "bias", "inject"):
        assert torch.equal(getattr(a.module_, name), getattr(b.module_, name))
    assert torch.equal(a.head_.linear.weight, b.head_.linear.weight)
    assert [h["train_loss"] for h in a.history_] == [h["train_loss"] for h in b.history_]
    assert not torch.equal(a.module_.mix, c.module_.mix)


def test_transform_does_not_depend_on_the_batch(data):
    X, y, X_test, _ = data
    clf = fitted(X, y)
    rows = X_test[: TRANSFORM_BLOCK + 7]
    F = clf.transform(rows)
    assert F.shape == (len(rows), clf.config.n_features)
    for i in (0, 5, TRANSFORM_BLOCK, len(rows) - 1):
        assert np.array_equal(clf.transform(rows[i : i + 1])[0], F[i])
    perm = np.random.default_rng(0).permutation(len(rows))
    assert np.array_equal(clf.transform(rows[perm]), F[perm])
    assert np.array_equal(clf.predict_head(rows[perm]), clf.predict_head(rows)[perm])


# --- training -------------------------------------------------------------------------------------


def test_training_lowers_the_loss_and_learns(data):
    X, y, X_test, y_test = data
    clf = LearnedReservoirClassifier(nca(), epochs=4, lr=3e-3, batch_size=32, readout_alpha=(0.1, 10.0),
                                     progress=False).fit(X, y, X_test, y_test)
    losses = [h["train_loss"] for h in clf.history_]
    assert losses[-1] < 0.7 * losses[0]
    assert [h["epoch"] for h in clf.history_] == [1, 2, 3, 4]
    assert clf.history_[-1]["val_accuracy"] > 0.8
    assert all(h2["wall_s"] >= h1["wall_s"] for h1, h2 in zip(clf.history_, clf.history_[1:]))
    assert clf.alpha_ in (0.1, 10.0) and set(clf.alpha_scores_) == {0.1, 10.0}
    assert clf.score(X_test, y_test) > 0.8
    assert np.mean(clf.predict_head(X_test) == y_test) > 0.8


def test_without_a_readout_the_same_reservoir_is_trained_and_the_head_predicts(data):
    X, y, X_test, _ = data
    with_readout = fitted(X, y, train=("mix",), readout_alpha=1.0)
    without = fitted(X, y, train=("mix",), readout_alpha=None)
    assert without.readout_ is None and without.alpha_ is None and with_readout.readout_ is not None
    for a, b in zip(with_readout.module_.parameters(), without.module_.parameters()):
        assert torch.equal(a, b)
    np.testing.assert_array_equal(without.transform(X_test), with_readout.transform(X_test))
    np.testing.assert_array_equal(without.predict(X_test), without.predict_head(X_test))
    assert without.score(X_test, data[3]) == np.mean(without.predict_head(X_test) == data[3])


def test_evaluate_fixed_and_learned_and_their_table(data):
    X, y, X_test, y_test = data
    fixed = evaluate(nca(), X, y, X_test, y_test, alphas=(1.0, 10.0), progress=False)
    learned = evaluate(nca(), X, y, X_test, y_test, train=("mix",), alphas=(1.0, 10.0), seeds=(0, 1), epochs=1,
                       progress=False)
    assert fixed["n_trained_params"] == 0 and fixed["head_test_accuracy"] == [None]
    assert fixed["n_fit"] + fixed["n_val"] == fixed["n_train"] == 300
    assert learned["n_trained_params"] == 64 and len(learned["test_accuracy"]) == 2
    assert len(learned["history"][1]) == 1 and learned["epochs"] == 1
    assert all(c >= t for c, t in zip(learned["cost_s"], learned["train_s"]))
    assert len(learned["cpu_s"]) == 2 and min(learned["cpu_s"]) > 0
    # The fixed protocol is the ridge readout on the core reservoir's features.
    from pixelflow.readouts import RidgeReadout
    from pixelflow.workbook.protocols import validation_split

    F, F_test = Reservoir(nca()).transform(X), Reservoir(nca()).transform(X_test)
    fit, val = validation_split(y, 0.2, 0)
    alpha = max((1.0, 10.0),
                key=lambda a: (RidgeReadout(a, standardize=True).fit(F[fit], y[fit]).score(F[val], y[val]), -a))
    assert fixed["alpha"] == [alpha]
    assert fixed["test_accuracy"][0] == RidgeReadout(alpha, standardize=True).fit(F, y).score(F_test, y_test)
    assert np.mean(np.asarray(fixed["y_pred"][0]) == y_test) == fixed["test_accuracy"][0]  # kept for paired tests
    assert len(learned["y_pred"]) == 2 and len(learned["y_pred"][1]) == len(y_test)
    table = comparison_table({"fixed": fixed, "learned (mix)": learned})
    assert len(table["rows"]) == 2 and all(len(r) == len(table["columns"]) for r in table["rows"])
    assert "learned (mix)" in text_table(**table)


# --- the estimator contract and bad inputs -----------------------------------------------------


def test_estimator_contract(data):
    X, y, _, _ = data
    clf = LearnedReservoirClassifier(nca(), epochs=0, progress=False)
    assert clone(clf).get_params() == clf.get_params()
    with pytest.raises(NotFittedError):
        clf.transform(X)
    clf.fit(X, y)
    assert clf.history_ == [] and clf.n_features_in_ == 64 and clf.input_shape_ == (8, 8)
    # Zero epochs: the fixed reservoir's features.
    np.testing.assert_allclose(clf.transform(X[:5]), Reservoir(nca()).transform(X[:5]), rtol=1e-5, atol=2e-6)
    assert torch.get_num_threads() >= 1


@pytest.mark.parametrize("kwargs, error, match", [
    ({"train": ("mixx",)}, ValueError, "'mixx'"),
    ({"train": "mix"}, TypeError, "'mix'"),
    ({"train": ("mix", "mix")}, ValueError, "repeated"),
    ({"epochs": -1}, ValueError, "-1"),
    ({"epochs": 1.5}, TypeError, "epochs must be an integer, got 1.5"),
    ({"lr": 0.0}, ValueError, "lr must be a finite number > 0"),
    ({"lr": float("nan")}, ValueError, "nan"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"seed": -2}, ValueError, "-2"),
    ({"threads": 0}, ValueError, "threads"),
    ({"readout_alpha": -1.0}, ValueError, "-1.0"),
    ({"readout_alpha": []}, ValueError, "non-empty"),
    ({"readout_alpha": (1.0, 10.0)}, ValueError, "needs X_val"),
])
def test_bad_parameters_are_named(data, kwargs, error, match):
    X, y, _, _ = data
    with pytest.raises(error, match=match):
        LearnedReservoirClassifier(nca(), progress=False, **kwargs).fit(X, y)


def test_bad_configs_and_data_are_named(data):
    X, y, _, _ = data
    wave = ReservoirConfig(8, 8, 2, 2, "wave")
    with pytest.raises(ValueError, match="'wave'"):
        LearnedReservoirClassifier(wave).fit(X, y)
    with pytest.raises(ValueError, match="'wave'"):
        LearnedReservoir(wave, (8, 8))
    with pytest.raises(TypeError, match="dict"):
        LearnedReservoirClassifier({"rule": "random_nca"}).fit(X, y)
    with pytest.raises(ValueError, match=r"\(299,\)"):
        LearnedReservoirClassifier(nca(), epochs=0).fit(X, y[:-1])
    with pytest.raises(ValueError, match="both X_val and y_val"):
        LearnedReservoirClassifier(nca(), epochs=0).fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LearnedReservoirClassifier(nca(), epochs=0).fit(X, np.zeros(len(X), dtype=int))
    with pytest.raises(TypeError, match="integer class labels"):
        LearnedReservoirClassifier(nca(), epochs=0).fit(X, y.astype(float))
    clf = LearnedReservoirClassifier(nca(), epochs=0, progress=False).fit(X, y)
    with pytest.raises(ValueError, match=r"\(7, 7\).*\(8, 8\)"):
        clf.transform(np.zeros((2, 7, 7)))
    with pytest.raises(ValueError, match="NaN"):
        clf.transform(np.full((2, 8, 8), np.nan))
    with pytest.raises(ValueError, match="seeds"):
        evaluate(nca(), X, y, X, y, seeds=(0, 0), progress=False)


def test_module_example_holds():
    """The usage example in the module docstring runs as written."""
    import doctest

    import pixelflow.nca.learned_reservoir as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_the_verdict_table_tests_every_model_against_the_fixed_reference_on_the_same_images():
    from pixelflow.workbook.protocols.fixed_vs_learned import verdict_table

    y = np.random.default_rng(0).integers(0, 10, 400)
    ref = y.copy()
    ref[:40] = (y[:40] + 1) % 10  # 90 % right
    strong = y.copy()
    strong[:4] = (y[:4] + 1) % 10  # 99 %: right wherever the reference is, and on 36 more
    close = ref.copy()
    close[40:42] = (y[40:42] + 1) % 10  # two more errors than the reference: no significant difference
    entries = [
        {"name": "fixed CA", "kind": "fixed", "params": 1000, "test_accuracy": [0.90, 0.91, 0.89], "n_test": 400,
         "cost_s": [10.0, 12.0, 11.0], "y_pred": ref},
        {"name": "learned A", "kind": "learned", "params": 5000, "test_accuracy": [0.99], "n_test": 400,
         "cost_s": [110.0], "y_pred": strong},
        {"name": "learned B", "kind": "learned", "params": 50, "test_accuracy": [0.895], "n_test": 400,
         "cost_s": [5.0], "y_pred": close},
    ]
    t = verdict_table(entries, y)
    assert [r[0] for r in t["rows"]] == ["fixed CA", "learned A", "learned B"]
    assert len(t["columns"]) == len(t["rows"][0])
    assert t["rows"][0][4] == pytest.approx([90.0, 1.0]) and t["rows"][0][6:8] == [None, None]
    assert t["rows"][1][6] == pytest.approx(9.0) and t["rows"][1][7] < 1e-6
    assert t["rows"][2][6] == pytest.approx(-0.5) and t["rows"][2][7] > 0.1
    assert t["verdict"].startswith("Learned beats fixed: learned A is significantly more accurate than fixed CA")
    assert "10.0x the cost" in t["verdict"]
    entries[1]["y_pred"] = close
    assert verdict_table(entries, y)["verdict"].startswith("No learned model is significantly more accurate")
    worse = (y + 1) % 10  # wrong everywhere
    entries[1]["y_pred"], entries[2]["y_pred"] = worse, worse
    assert "; learned A and learned B are significantly less accurate." in verdict_table(entries, y)["verdict"]
    with pytest.raises(ValueError, match="fixed feature map"):
        verdict_table(entries[1:], y)
    with pytest.raises(ValueError, match="at least one other"):
        verdict_table(entries[:1], y)
