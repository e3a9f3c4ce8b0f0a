"""Driven mode (Reservoir.run), the input mask encoder and closed-loop generation."""

import numpy as np
import pytest
from test_backends import CUDA_SKIP

from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
from pixelflow.timeseries.closed_loop import generate

# (rule, channels, rule params, writes the rule supports)
RULES = [
    ("wave", 4, {"boundary": "absorbing"}, ("add", "replace", "xor")),
    ("diffusion_reaction", 4, {}, ("add", "replace", "xor")),
    ("life_like", 2, {}, ("add", "replace", "xor")),
    ("random_nca", 6, {}, ("add",)),
]
CASES = [(rule, ch, params, write) for rule, ch, params, writes in RULES for write in writes]


def config(rule="wave", channels=4, params=None, steps=2, seed=0, **kw):
    kw.setdefault("encoder_params", {"density": 0.3})
    return ReservoirConfig(width=8, height=8, channels=channels, steps=steps, rule=rule, rule_params=params or {},
                           input_encoding="mask", seed=seed, **kw)


@pytest.fixture
def U(rng):
    return rng.random((3, 40, 2))


@pytest.mark.parametrize("rule, channels, params, write", CASES)
def test_a_batch_equals_each_sequence_alone(U, rule, channels, params, write):
    cfg = config(rule, channels, params, record="all", encoder_params={"density": 0.3, "weights": "positive"})
    batch = Reservoir(cfg, backend="numpy").run(U, write=write)
    for n in range(len(U)):
        alone = Reservoir(cfg, backend="numpy").run(U[n], write=write)
        np.testing.assert_array_equal(batch[n], alone)


@pytest.mark.parametrize("rule, channels, params, write", CASES)
def test_a_run_continued_from_its_state_equals_one_run(U, rule, channels, params, write):
    res = Reservoir(config(rule, channels, params), backend="numpy")
    first, state = res.run(U[:, :13], write=write, return_state=True)
    rest = res.run(U[:, 13:], write=write, state=state)
    np.testing.assert_array_equal(np.concatenate([first, rest], axis=1), res.run(U, write=write))
    # and for a single sequence, whose state has no batch axis
    first, state = res.run(U[0, :13], write=write, return_state=True)
    assert state.shape == (channels, 8, 8)
    np.testing.assert_array_equal(np.concatenate([first, res.run(U[0, 13:], write=write, state=state)]),
                                  res.run(U[0], write=write))


@pytest.mark.parametrize("rule, channels, params, write", CASES)
def test_inputs_encoded_in_blocks_give_the_states_of_one_step_at_a_time(U, monkeypatch, rule, channels, params,
                                                                          write):
    import pixelflow.driven

    monkeypatch.setattr(pixelflow.driven, "ENCODE_BLOCK", 7)  # 40 steps: five full blocks and a partial one
    res = Reservoir(config(rule, channels, params, encoder_params={"density": 0.3, "weights": "positive"}),
                    backend="numpy")
    whole, final = res.run(U, write=write, return_state=True)
    state, rows = None, []
    for t in range(U.shape[1]):
        row, state = res.run(U[:, t : t + 1], write=write, state=state, return_state=True)
        rows.append(row)
    np.testing.assert_array_equal(whole, np.concatenate(rows, axis=1))
    np.testing.assert_array_equal(final, state)


@pytest.mark.parametrize("rule, channels, params", [r[:3] for r in RULES])
def test_one_time_step_from_rest_is_transform_of_that_input(rng, rule, channels, params):
    # From the rest state, "add" leaves init(drive): the same start as the
    # image path, which the backend tests tie to the fused kernels.
    cfg = config(rule, channels, params, steps=3, record="all")
    u = rng.random((5, 1, 3))
    np.testing.assert_array_equal(Reservoir(cfg, backend="numpy").run(u)[:, 0],
                                  Reservoir(cfg, backend="numpy").transform(u[:, 0]))


def test_without_updates_a_wave_integrates_its_drive(U):
    # steps=0: nothing evolves, each write adds the masked input to the amplitudes.
    res = Reservoir(config("wave", 2, steps=0), backend="numpy")
    got = res.run(U[0])
    matrix = res.engine.prepared.encoder_fixed["matrix"]
    amplitude = np.cumsum(U[0] @ matrix, axis=0)
    np.testing.assert_allclose(got[:, :64], amplitude, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(got[:, 64:], 0.0)


def test_without_updates_gray_scott_moves_away_from_its_rest_state(U):
    res = Reservoir(config("diffusion_reaction", 2, steps=0), backend="numpy")
    got = res.run(U[0])
    drive = np.cumsum(U[0] @ res.engine.prepared.encoder_fixed["matrix"], axis=0)
    np.testing.assert_allclose(got[:, :64], 1.0 - 0.5 * drive, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[:, 64:], 0.25 * drive, rtol=1e-5, atol=1e-5)


def test_xor_flips_the_cells_the_input_reaches_and_twice_flips_back():
    res = Reservoir(config("life_like", 1, steps=0, encoder_params={"density": 0.4, "weights": "positive"}),
                    backend="numpy")
    ones = np.ones((2, 1))
    got = res.run(ones, write="xor")
    touched = res.engine.prepared.encoder_fixed["matrix"][0] > 0
    np.testing.assert_array_equal(got[0], touched.astype(np.float32))
    np.testing.assert_array_equal(got[1], 0.0)


def test_replace_overwrites_only_the_cells_the_input_reaches():
    res = Reservoir(config("wave", 2, steps=0, encoder_params={"density": 0.4, "weights": "positive"}),
                    backend="numpy")
    got = res.run(np.array([[1.0], [1.0], [0.5]]), write="replace")
    touched = res.engine.prepared.encoder_fixed["matrix"][0] > 0
    np.testing.assert_array_equal(got[1, :64], got[0, :64])  # replaced, not accumulated
    np.testing.assert_allclose(got[2, :64][touched], 0.5)
    np.testing.assert_array_equal(got[2, :64][~touched], 0.0)


def test_washout_drops_the_leading_rows(U):
    res = Reservoir(config(), backend="numpy")
    np.testing.assert_array_equal(res.run(U, washout=7), res.run(U)[:, 7:])


def test_same_seed_same_features_other_seed_other_features(U):
    a = Reservoir(config("random_nca", 6, seed=3), backend="numpy").run(U)
    b = Reservoir(config("random_nca", 6, seed=3), backend="numpy").run(U)
    c = Reservoir(config("random_nca", 6, seed=4), backend="numpy").run(U)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_cpu_backend_gives_the_reference_path_features(U):
    # A driven run on the cpu backend takes its compiled single updates, equal bit for bit to the rule functions.
    cfg = config("diffusion_reaction", 4)
    np.testing.assert_array_equal(Reservoir(cfg, backend="cpu").run(U), Reservoir(cfg, backend="numpy").run(U))


def test_features_depend_on_the_past_of_the_input(U):
    res = Reservoir(config(steps=1), backend="numpy")
    changed = U[0].copy()
    changed[5] += 0.5
    a, b = res.run(U[0]), res.run(changed)
    np.testing.assert_array_equal(a[:5], b[:5])  # causal
    assert not np.allclose(a[6:], b[6:])  # remembered


@pytest.mark.parametrize("bad, error, match", [
    (np.zeros(10), ValueError, r"U.reshape\(-1, 1\)"),
    (np.zeros((2, 2, 2, 2)), ValueError, "shape"),
    (np.zeros((0, 2)), ValueError, "empty"),
    (np.array([["a", "b"]]), TypeError, "numeric"),
    (np.array([[0.0], [np.nan], [1.0]]), ValueError, "first bad time step is 1"),
    (np.array([[0.0], [1.0], [1e39]]), ValueError, "first bad time step is 2"),  # inf in float32
    ([[1.0, 2.0], [3.0]], ValueError, "U is ragged"),
])
def test_bad_sequences_are_refused(bad, error, match):
    with pytest.raises(error, match=match):
        Reservoir(config(), backend="numpy").run(bad)


def test_bad_run_arguments_are_refused(U):
    res = Reservoir(config(), backend="numpy")
    with pytest.raises(ValueError, match=r"washout must be in \[0, T\) = \[0, 40\), got 40"):
        res.run(U, washout=40)
    with pytest.raises(TypeError, match="washout must be an integer"):
        res.run(U, washout=1.5)
    with pytest.raises(ValueError, match="write must be one of 'add', 'replace', 'xor', got 'or'"):
        res.run(U, write="or")
    with pytest.raises(ValueError, match=r"state has shape \(3, 4, 8, 8\), expected \(2, 4, 8, 8\)"):
        res.run(U[:2], state=np.zeros((3, 4, 8, 8)))
    assert res.input_shape_ is None  # failed calls fix nothing
    res.run(U[:1])
    with pytest.raises(ValueError, match="first used with"):
        res.run(np.zeros((5, 3)))
    with pytest.raises(ValueError, match="rule 'random_nca' takes its input otherwise"):
        Reservoir(config("random_nca", 4), backend="numpy").run(U, write="xor")


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_a_state_to_continue_from_is_checked(U, backend):
    res = Reservoir(config(), backend=backend)
    _, state = res.run(U[0], return_state=True)
    bad = state.copy()
    bad[1, 2, 3] = np.nan
    with pytest.raises(ValueError, match="state contains NaN or infinite values"):
        res.run(U[0], state=bad)
    big = state.astype(np.float64)
    big[0, 0, 0] = 1e39
    with pytest.raises(ValueError, match="state contains NaN or infinite values"):
        res.run(U[0], state=big)
    with pytest.raises(TypeError, match="state must be numeric"):
        res.run(U[0], state=np.full(state.shape, "a"))
    # A nested list is an array like any other.
    np.testing.assert_array_equal(res.run(U[0], state=state.tolist()), res.run(U[0], state=state))


def test_an_empty_batch_of_sequences_gives_empty_rows(U):
    res = Reservoir(config(), backend="numpy")
    F, state = res.run(np.zeros((0, 12, 3)), washout=2, return_state=True)
    assert F.shape == (0, 10, res.feature_dim) and F.dtype == np.float32
    assert state.shape == (0, 4, 8, 8)
    with pytest.raises(ValueError, match="washout must be in"):
        res.run(np.zeros((0, 12, 3)), washout=12)


def test_ragged_input_has_one_message_for_transform_and_run():
    msgs = []
    for call in (lambda r: r.transform([[1.0, 2.0], [3.0]]), lambda r: r.run([[1.0, 2.0], [3.0]])):
        with pytest.raises(ValueError) as info:
            call(Reservoir(config(), backend="numpy"))
        msgs.append(str(info.value).split(":")[0])
    assert msgs == ["X is ragged", "U is ragged"]


def test_mask_encoder_draws_a_sparse_seeded_mask(rng):
    res = Reservoir(config(encoder_params={"density": 0.25, "scale": 0.5, "planes": 2}, channels=4, seed=1),
                    backend="numpy")
    res.run(rng.random((10, 3)))
    m = res.engine.prepared.encoder_fixed["matrix"]
    assert m.shape == (3, 2 * 64)
    assert set(np.unique(m)) <= {-0.5, 0.0, 0.5}
    assert 0.15 < np.mean(m != 0) < 0.35
    assert 0.3 < np.mean(m[m != 0] > 0) < 0.7
    again = Reservoir(config(encoder_params={"density": 0.25, "scale": 0.5, "planes": 2}, channels=4, seed=1),
                      backend="numpy")
    np.testing.assert_array_equal(again.encode(np.eye(3)).reshape(3, -1), m)
    positive = Reservoir(config(encoder_params={"density": 0.25, "weights": "positive"}, seed=1), backend="numpy")
    assert (positive.encode(np.eye(3)) >= 0).all()


def test_mask_encoder_refuses_a_bad_density():
    with pytest.raises(ValueError, match="density"):
        config(encoder_params={"density": 0.0})


class _Echo:
    """A 'reservoir' whose features are its inputs: closed loop is then iterating the readout."""

    def run(self, U, *, washout=0, state=None, return_state=False):
        U = np.asarray(U, dtype=float)
        return (U, U[:, -1]) if return_state else U


class _Doubler:
    def predict(self, X):
        return 2.0 * X


class _FirstColumn:
    def predict(self, X):
        return X[:, :1]


def test_closed_loop_iterates_the_readout():
    warm = np.array([[[1.0, -1.0], [0.5, 3.0]]])
    got = generate(_Echo(), _Doubler(), warm, horizon=4)
    np.testing.assert_allclose(got[0], [[1.0, 6.0], [2.0, 12.0], [4.0, 24.0], [8.0, 48.0]])
    np.testing.assert_allclose(generate(_Echo(), _Doubler(), warm[0], horizon=2), got[0, :2])


def test_closed_loop_equals_teacher_forcing_on_its_own_predictions(rng):
    t = np.arange(300)
    series = (0.5 + 0.4 * np.sin(2 * np.pi * t / 25))[:, None]
    res = Reservoir(config("random_nca", 6, steps=1), backend="numpy")
    F = res.run(series[:-1], washout=20)
    readout = RidgeReadout(alpha=1e-4).fit(F, series[21:, 0])
    forecast = generate(res, readout, series[:200], horizon=5)
    assert forecast.shape == (5, 1)
    driven = np.concatenate([series[:200], forecast[:-1]])
    np.testing.assert_allclose(forecast[:, 0], readout.predict(res.run(driven)[-5:]), rtol=1e-6, atol=1e-6)
    # a sine is easy: the free run follows it for a few steps
    np.testing.assert_allclose(forecast[:, 0], series[200:205, 0], atol=0.05)


@pytest.mark.parametrize("kind", ["ca", "esn"])
def test_readouts_sharing_a_warm_up_forecast_as_each_alone(kind):
    from pixelflow.timeseries import generate_each

    t = np.arange(400)
    series = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * t / 25), 0.5 + 0.3 * np.cos(2 * np.pi * t / 17)], axis=1)
    if kind == "ca":
        model = Reservoir(config("diffusion_reaction", 4, steps=2), backend="numpy")
    else:
        esn_module = pytest.importorskip("pixelflow.timeseries.esn")
        model = esn_module.EchoStateNetwork(units=40, seed=0)
    F = model.run(series[:-1], washout=20)
    readouts = [RidgeReadout(alpha=a).fit(F, series[21:]) for a in (1e-8, 1e-2, 10.0)]
    warm = np.stack([series[s - 100 : s] for s in (150, 220, 300)])
    shared = generate_each(model, readouts, warm, horizon=12)
    alone = [generate(model, r, warm, horizon=12) for r in readouts]
    for a, b in zip(shared, alone):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(alone[0], alone[2])  # the readouts do differ: the check is not vacuous
    # One sequence: shaped like generate's output too.
    np.testing.assert_array_equal(generate_each(model, readouts[:1], warm[0], horizon=3)[0],
                                  generate(model, readouts[0], warm[0], horizon=3))


def test_closed_loop_refuses_a_readout_of_the_wrong_width():
    with pytest.raises(ValueError, match="d=2 inputs"):
        generate(_Echo(), _FirstColumn(), np.ones((1, 3, 2)), 2)
    with pytest.raises(ValueError, match="horizon must be an integer >= 1, got 0"):
        generate(_Echo(), _Doubler(), np.ones((3, 2)), 0)


@pytest.mark.skipif(CUDA_SKIP is not None, reason=f"no CUDA backend: {CUDA_SKIP}")
@pytest.mark.parametrize("rule, channels, params, write", CASES)
def test_cuda_run_matches_numpy(U, rule, channels, params, write):
    cfg = config(rule, channels, params, record="all", encoder_params={"density": 0.3, "weights": "positive"})
    ref = Reservoir(cfg, backend="numpy").run(U, write=write)
    got = Reservoir(cfg, backend="cuda").run(U, write=write)
    np.testing.assert_allclose(got, ref, atol=1e-4, rtol=0)


def test_a_mask_that_reaches_no_cell_writes_nothing():
    # 2x2 cells at density 0.01: the seeded mask is empty, which a search over densities can draw.
    cfg = ReservoirConfig(width=2, height=2, channels=2, steps=1, rule="wave", input_encoding="mask",
                          encoder_params={"density": 0.01}, seed=0)
    res = Reservoir(cfg, backend="numpy")
    assert not res.encode(np.eye(1)).any()
    np.testing.assert_array_equal(res.run(np.ones((5, 1)), write="replace"), 0.0)


class _Exploding:
    def predict(self, X):
        return 1e10 * X


def test_a_diverging_free_run_turns_nan_and_leaves_the_others_alone():
    warm = np.array([[[1.0]], [[0.0]]])  # the second sequence stays at 0 forever
    got = generate(_Echo(), _Exploding(), warm, horizon=4)
    np.testing.assert_array_equal(got[0, :, 0], [1e10, 1e20, 1e30, np.nan])
    np.testing.assert_array_equal(got[1], 0.0)
