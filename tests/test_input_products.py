"""InputProducts: a driven model's state and its products with the current input, same run contract."""

import numpy as np
import pytest

from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
from pixelflow.timeseries import InputProducts, generate

pytest.importorskip("reservoirpy")
from pixelflow.timeseries import EchoStateNetwork  # noqa: E402


@pytest.fixture
def wave():
    cfg = ReservoirConfig(width=6, height=6, channels=2, steps=2, rule="wave", input_encoding="mask",
                          encoder_params={"density": 0.3, "scale": 0.5}, seed=1)
    return Reservoir(cfg, progress=False)


def test_features_are_the_state_then_each_feature_times_each_input(rng):
    esn = EchoStateNetwork(units=10, seed=2)
    U = rng.uniform(-1, 1, size=(40, 3))
    F = InputProducts(esn).run(U, washout=5)
    state = esn.run(U, washout=5)
    assert F.shape == (35, 10 * 4)
    np.testing.assert_array_equal(F[:, :10], state)
    # Feature 10 + 3 i + j is x_i(t) u_j(t).
    np.testing.assert_array_equal(F[:, 10 + 3 * 4 + 2], state[:, 4] * U[5:, 2])


def test_run_contract_is_kept_split_runs_and_batches(wave, rng):
    model = InputProducts(wave)
    U = rng.uniform(0, 0.5, size=(3, 30, 1))
    whole, final = model.run(U, write="replace", return_state=True)
    a, s = model.run(U[:, :12], write="replace", return_state=True)
    b = model.run(U[:, 12:], write="replace", state=s)
    np.testing.assert_array_equal(np.concatenate([a, b], axis=1), whole)
    np.testing.assert_array_equal(final, wave.run(U, write="replace", return_state=True)[1])
    np.testing.assert_array_equal(whole[1], model.run(U[1], write="replace"))


def test_products_let_a_linear_reservoir_read_out_a_product_of_inputs(wave, rng):
    # A damped wave is linear in its input: a linear readout of its state cannot
    # form u(t-2) u(t); the products with the input can.
    u = rng.uniform(0, 1, size=(1500, 1))
    y = np.zeros(1500)
    y[2:] = u[:-2, 0] * u[2:, 0]
    train, test = slice(50, 1000), slice(1000, 1500)
    errors = {}
    for name, model in (("state", wave), ("products", InputProducts(wave))):
        F = model.run(u, write="replace")
        pred = RidgeReadout(alpha=1e-8, task="regression").fit(F[train], y[train]).predict(F[test])
        errors[name] = np.sqrt(np.mean((pred - y[test]) ** 2)) / y[test].std()
    assert errors["products"] < 0.01 and errors["state"] > 0.3


def test_closed_loop_generation_uses_the_wrapper(rng):
    esn = InputProducts(EchoStateNetwork(units=20, seed=0))
    series = np.sin(np.arange(400) * 0.2)[:, None]
    F = esn.run(series[:-1])
    readout = RidgeReadout(alpha=1e-6, task="regression").fit(F[50:], series[51:, 0])
    out = generate(esn, readout, series[:300], 20)
    assert out.shape == (20, 1)
    np.testing.assert_allclose(out[:, 0], series[300:320, 0], atol=0.05)


def test_a_model_without_run_is_refused():
    with pytest.raises(TypeError, match="model must have a driven-mode run"):
        InputProducts(np.zeros(3))
