"""EchoStateNetwork: reservoirpy's Reservoir behind the driven-mode contract."""

import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("reservoirpy")

from reservoirpy.nodes import Reservoir as RpyReservoir

import pixelflow.timeseries.esn as esn_module
from pixelflow.timeseries.esn import EchoStateNetwork

PARAMS = {"units": 80, "sr": 0.8, "lr": 0.4, "input_scaling": 0.7, "input_connectivity": 0.3,
          "rc_connectivity": 0.2, "bias": 0.1, "seed": 7}


@pytest.fixture
def U(rng):
    return rng.normal(size=(250, 3))


def test_equals_reservoirpy_run_on_same_seed(U):
    ref = RpyReservoir(**PARAMS).run(U)
    got = EchoStateNetwork(**PARAMS).run(U)
    assert got.dtype == np.float64 and got.shape == (250, 80)
    np.testing.assert_array_equal(got, ref)


def test_row_t_has_seen_inputs_up_to_t(U):
    esn = EchoStateNetwork(**PARAMS)
    full = esn.run(U)
    # Changing u(t) leaves rows before t untouched and changes row t.
    V = U.copy()
    V[100] += 1.0
    changed = esn.run(V)
    np.testing.assert_array_equal(changed[:100], full[:100])
    assert not np.allclose(changed[100], full[100])


def test_batch_rows_equal_single_runs_exactly(rng):
    esn = EchoStateNetwork(**PARAMS)
    batch = rng.normal(size=(4, 60, 3))
    states = rng.uniform(-0.5, 0.5, size=(4, 80))
    feats, final = esn.run(batch, washout=5, state=states, return_state=True)
    assert feats.shape == (4, 55, 80) and final.shape == (4, 80)
    for n in range(4):
        f_n, s_n = esn.run(batch[n], washout=5, state=states[n], return_state=True)
        np.testing.assert_array_equal(feats[n], f_n)
        np.testing.assert_array_equal(final[n], s_n)
    np.testing.assert_array_equal(esn.run(batch)[2], esn.run(batch[2]))


def test_split_run_with_state_equals_one_run(U):
    esn = EchoStateNetwork(**PARAMS)
    whole, whole_final = esn.run(U, return_state=True)
    a, s = esn.run(U[:97], return_state=True)
    np.testing.assert_array_equal(s, a[-1])
    b, s_end = esn.run(U[97:], state=s, return_state=True)
    np.testing.assert_array_equal(np.concatenate([a, b]), whole)
    np.testing.assert_array_equal(s_end, whole_final)


def test_one_step_calls_reproduce_a_full_run(U):
    # What closed-loop generation does: one input at a time, state carried over.
    esn = EchoStateNetwork(**PARAMS)
    whole = esn.run(U[:40])
    s = None
    for t in range(40):
        row, s = esn.run(U[t:t + 1], state=s, return_state=True)
        np.testing.assert_array_equal(row[0], whole[t])


def test_batch_split_run_with_state_equals_one_run(rng):
    esn = EchoStateNetwork(**PARAMS)
    batch = rng.normal(size=(3, 50, 3))
    a, s = esn.run(batch[:, :20], return_state=True)
    b = esn.run(batch[:, 20:], state=s)
    np.testing.assert_array_equal(np.concatenate([a, b], axis=1), esn.run(batch))


def test_washout_drops_the_first_rows(U):
    esn = EchoStateNetwork(**PARAMS)
    np.testing.assert_array_equal(esn.run(U, washout=30), esn.run(U)[30:])
    feats, final = esn.run(U, washout=len(U) - 1, return_state=True)
    assert feats.shape == (1, 80)
    np.testing.assert_array_equal(feats[0], final)


def test_calls_without_state_are_independent(U):
    esn = EchoStateNetwork(**PARAMS)
    first = esn.run(U)
    esn.run(U[::-1])  # leaves a different state on the node
    np.testing.assert_array_equal(esn.run(U), first)


def test_same_seed_bit_identical_different_seed_different(U):
    a = EchoStateNetwork(**PARAMS).run(U)
    b = EchoStateNetwork(**PARAMS).run(U)
    c = EchoStateNetwork(**{**PARAMS, "seed": 8}).run(U)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("units, seed, arpack", [(100, 1, False), (300, 1, False), (300, 1, True)])
def test_spectral_radius_is_that_of_the_actual_w(units, seed, arpack, monkeypatch):
    if arpack:
        monkeypatch.setattr(esn_module, "DENSE_EIGVALS_MAX_UNITS", 50)
    esn = EchoStateNetwork(units=units, sr=0.9, seed=seed)
    esn.run(np.zeros((1, 2)))
    dense = np.max(np.abs(np.linalg.eigvals(esn.reservoir_.W.toarray())))
    assert abs(esn.spectral_radius_ - dense) < 1e-10
    # Not exactly sr: reservoirpy rescales W with a k=1 ARPACK estimate that
    # can miss the largest eigenvalue (units=300, seed=1 gives 0.9024 here).
    assert abs(esn.spectral_radius_ - 0.9) < 0.02


def test_spectral_radius_of_zero_w_is_zero():
    esn = EchoStateNetwork(units=30, sr=0.0, seed=0)
    esn.run(np.zeros((1, 1)))
    assert esn.spectral_radius_ == 0.0


def test_echo_state_property_forgets_the_initial_state(rng):
    esn = EchoStateNetwork(units=100, sr=0.5, lr=0.5, seed=2)
    U = rng.normal(size=(300, 1))
    from_zero = esn.run(U, washout=200)
    from_random = esn.run(U, washout=200, state=rng.uniform(-1, 1, size=100))
    assert np.abs(from_zero[0] - from_random[0]).max() < 1e-6
    assert np.abs(from_zero[-1] - from_random[-1]).max() < 1e-10


def test_feature_dim_attributes_and_provenance(U):
    esn = EchoStateNetwork(**PARAMS)
    assert esn.feature_dim == 80
    assert not hasattr(esn, "input_dim_")
    esn.run(U)
    assert esn.input_dim_ == 3
    prov = esn.provenance()
    assert prov == {**PARAMS, "activation": "tanh", "library": prov["library"]}
    assert prov["library"].startswith("reservoirpy 0.")
    assert "units=80" in repr(esn)


def test_identity_activation_is_the_linear_leaky_recursion(U):
    esn = EchoStateNetwork(**PARAMS, activation="identity")
    got = esn.run(U)
    node = esn.reservoir_
    W, Win = node.W.toarray(), node.Win.toarray()
    x, lr, expected = np.zeros(80), PARAMS["lr"], []
    for u in U:
        x = (1 - lr) * x + lr * (W @ x + Win @ u + PARAMS["bias"])
        expected.append(x)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    # Linear in the input (affine through the bias): superposition holds, and tanh breaks it.
    zero = esn.run(np.zeros_like(U))
    np.testing.assert_allclose(esn.run(2 * U) - zero, 2 * (got - zero), rtol=1e-9, atol=1e-12)
    tanh = EchoStateNetwork(**PARAMS)
    assert not np.allclose(tanh.run(2 * U) - tanh.run(np.zeros_like(U)), 2 * (tanh.run(U) - tanh.run(np.zeros_like(U))))


def test_list_input_is_accepted():
    esn = EchoStateNetwork(units=20, seed=0)
    np.testing.assert_array_equal(esn.run([[0.5], [1.0]]), esn.run(np.array([[0.5], [1.0]])))


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"units": 0}, ValueError, "units must be an integer >= 1, got 0"),
        ({"units": 10.0}, TypeError, "units must be an integer, got 10.0"),
        ({"units": True}, TypeError, "units must be an integer"),
        ({"sr": -0.1}, ValueError, "sr must be a finite number >= 0, got -0.1"),
        ({"sr": float("nan")}, ValueError, "sr must be a finite number >= 0, got nan"),
        ({"lr": 0.0}, ValueError, r"lr must be a finite number in \(0, 1\], got 0.0"),
        ({"lr": 1.5}, ValueError, r"lr must be a finite number in \(0, 1\], got 1.5"),
        ({"lr": "0.3"}, TypeError, r"lr must be a finite number in \(0, 1\], got '0.3'"),
        ({"input_scaling": float("inf")}, ValueError, "input_scaling must be a finite number >= 0, got inf"),
        ({"input_connectivity": 0.0}, ValueError, "input_connectivity must be a finite number in"),
        ({"rc_connectivity": 1.1}, ValueError, "rc_connectivity must be a finite number in"),
        ({"bias": None}, TypeError, "bias must be a finite number, got None"),
        ({"seed": None}, TypeError, "seed must be an integer, got None"),
        ({"seed": -1}, ValueError, "seed must be an integer >= 0, got -1"),
        ({"activation": "relu"}, ValueError,
         r"activation must be one of \('tanh', 'identity'\), got activation='relu'"),
        ({"activation": None}, ValueError, "activation must be one of"),
    ],
)
def test_bad_constructor_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        EchoStateNetwork(**kwargs)


def test_bad_run_arguments(U):
    esn = EchoStateNetwork(units=20, seed=0)
    with pytest.raises(ValueError, match=r"shape \(T, d\) or \(N, T, d\), got shape \(250,\)"):
        esn.run(U[:, 0])
    with pytest.raises(ValueError, match="non-empty"):
        esn.run(np.zeros((0, 3)))
    bad = U.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="U contains NaN"):
        esn.run(bad)
    with pytest.raises(TypeError, match="U must be a real-valued array"):
        esn.run(np.array([["a"]]))
    with pytest.raises(ValueError, match=r"washout must be in \[0, T\) = \[0, 250\), got 250"):
        esn.run(U, washout=250)
    with pytest.raises(ValueError, match="washout must be an integer >= 0, got -1"):
        esn.run(U, washout=-1)
    with pytest.raises(TypeError, match="washout must be an integer, got 1.5"):
        esn.run(U, washout=1.5)
    with pytest.raises(TypeError, match="return_state must be a bool"):
        esn.run(U, return_state=1)
    with pytest.raises(ValueError, match=r"state has shape \(19,\), but one sequence with 20 units needs \(20,\)"):
        esn.run(U, state=np.zeros(19))
    with pytest.raises(ValueError, match=r"batch of 2 sequence\(s\) with 20 units needs \(2, 20\)"):
        esn.run(U[None].repeat(2, axis=0), state=np.zeros(20))
    with pytest.raises(ValueError, match="state contains NaN"):
        esn.run(U, state=np.full(20, np.nan))
    esn.run(U)
    with pytest.raises(ValueError, match="U has 2 input feature.*first run with 3"):
        esn.run(U[:, :2])


def test_missing_reservoirpy_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "reservoirpy", None)
    monkeypatch.setitem(sys.modules, "reservoirpy.nodes", None)
    esn = EchoStateNetwork(units=10)
    with pytest.raises(ImportError, match=r"pip install 'pixelflow\[timeseries\]'"):
        esn.run(np.zeros((3, 1)))


def test_module_imports_without_reservoirpy():
    code = (
        "import sys; sys.modules['reservoirpy'] = None\n"
        "from pixelflow.timeseries.esn import EchoStateNetwork\n"
        "print(EchoStateNetwork().feature_dim)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "500"
