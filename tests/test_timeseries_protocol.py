"""Notebook 10's protocol: equal feature counts, one readout, validation-only choices."""

import numpy as np
import pytest

from pixelflow import Reservoir, RidgeReadout
from pixelflow.datasets import bit_memory_task, mackey_glass_task, narma_task
from pixelflow.timeseries import EchoStateNetwork, InputProducts, nrmse
from pixelflow.workbook.protocols.sequences import (
    ESN,
    KINDS,
    LINEAR_ESN,
    SPACES,
    Candidate,
    Forecast,
    assess,
    evaluate,
    grid_side,
    mean_score,
    sample,
    score_value,
    search,
    task_space,
)

pytest.importorskip("reservoirpy")

SMALL = dict(n_train=300, n_validation=150, n_test=150, washout=50)


@pytest.fixture(scope="module")
def narma():
    return narma_task(**SMALL)


def test_draws_are_reproducible_and_inside_their_ranges():
    for kind in KINDS:
        a = [sample(SPACES[kind], np.random.default_rng(5)) for _ in range(3)]
        b = [sample(SPACES[kind], np.random.default_rng(5)) for _ in range(3)]
        assert a == b
    rng = np.random.default_rng(0)
    space = {"u": ("uniform", 2.0, 3.0), "l": ("log", 1e-3, 1e-1), "g": ("log1m", 1e-4, 0.2), "c": ("choice", (7, 8))}
    draws = [sample(space, rng) for _ in range(500)]
    assert all(2 <= d["u"] <= 3 and 1e-3 <= d["l"] <= 1e-1 and 0.8 <= d["g"] <= 1 - 1e-4 and d["c"] in (7, 8)
               for d in draws)
    # log1m spreads draws evenly over decades of the gap to 1
    gaps = np.log10([1 - d["g"] for d in draws])
    assert abs(np.mean(gaps < -2.15) - 0.5) < 0.08
    with pytest.raises(ValueError, match="unknown kind 'normal'"):
        sample({"x": ("normal", 0, 1)}, rng)


def test_every_reservoir_gets_the_same_feature_count():
    assert grid_side(400) == 10 and grid_side(200, channels=2) == 10
    u = np.linspace(0.0, 0.5, 30)[:, None]
    for kind in KINDS:
        params = sample(SPACES[kind], np.random.default_rng(0))
        for readout in ("state", "state+products"):
            model, run = Candidate(kind, {**params, "readout": readout}, features=64).build()
            assert isinstance(model, InputProducts) == (readout == "state+products")
            assert model.run(u, **run).shape == (30, 64), (kind, readout)
    with pytest.raises(ValueError, match="features=50 is not 4 x g x g"):
        grid_side(50)


def test_the_linear_esn_is_the_esn_without_its_nonlinearity():
    params = {"sr": 0.9, "input_scaling": 0.5, "readout": "state"}
    linear, _ = Candidate(LINEAR_ESN, params, features=16).build()
    tanh, _ = Candidate(ESN, params, features=16).build()
    assert isinstance(linear, EchoStateNetwork) and (linear.activation, tanh.activation) == ("identity", "tanh")
    assert {k: v for k, v in SPACES[LINEAR_ESN].items() if k != "sr"} == {k: v for k, v in SPACES[ESN].items()
                                                                         if k != "sr"}
    assert SPACES[LINEAR_ESN]["sr"] == ("uniform", 0.1, 1.0)  # stable: a linear network with sr > 1 blows up


def test_products_with_the_input_only_for_scalar_inputs():
    memory = bit_memory_task(distractor=10)
    assert "readout" in task_space("wave", narma_task(**SMALL)) and "readout" not in task_space("wave", memory)
    with pytest.raises(ValueError, match="only for a scalar input; 5-bit memory has 4 inputs"):
        evaluate(Candidate(ESN, {"readout": "state+products"}, features=16), memory)
    with pytest.raises(ValueError, match="readout must be one of"):
        Candidate(ESN, {"readout": "products"}, features=16).build()


def test_candidates_refuse_unknown_kinds_and_hyperparameters():
    with pytest.raises(ValueError, match="unknown reservoir kind 'lstm'"):
        Candidate("lstm")
    with pytest.raises(ValueError, match="unknown hyperparameter\\(s\\) gain"):
        Candidate("wave", {"gain": 1.0}, features=16).build()


def test_ca_candidates_use_the_mask_encoder_and_the_drawn_write():
    model, run = Candidate("life_like", {"rule": "B36/S23", "write": "xor", "density": 0.2, "steps": 2},
                           features=64, seed=3).build()
    assert isinstance(model, Reservoir) and run == {"write": "xor"}
    c = model.config
    assert (c.input_encoding, c.encoder_params["density"], c.steps, c.seed) == ("mask", 0.2, 2, 3)
    assert c.rule_params == {"rule": "B36/S23"}


def test_the_validation_score_is_the_chosen_penalty_refitted_by_hand(narma):
    cand = Candidate("random_nca", {"gain": 1.0, "density": 0.3}, features=64)
    result = evaluate(cand, narma, alphas=(1e-6, 1e-2, 1.0), parts=("validation", "test"))
    model, run = cand.build()
    F = model.run(narma.inputs[0], **run)
    y = narma.targets[0]
    by_hand = {a: nrmse(y[narma.validation], RidgeReadout(alpha=a, task="regression").fit(
        F[narma.train], y[narma.train]).predict(F[narma.validation])) for a in (1e-6, 1e-2, 1.0)}
    assert result["alpha"] == min(by_hand, key=by_hand.get)
    # One pass for all penalties gives each the coefficients of its own fit: the same number, not a close one.
    assert result["scores"]["validation"][0] == by_hand[result["alpha"]]
    truth, pred = result["outputs"]["test"]
    assert truth.shape == pred.shape == (1, 150, 1)


def test_search_draws_the_same_trials_whatever_the_number_of_processes(narma):
    one = search("wave", narma, trials=3, features=16, seeds=(0, 1), n_jobs=1, progress=False)
    two = search("wave", narma, trials=3, features=16, seeds=(0, 1), n_jobs=2, progress=False)
    assert one == two
    assert [r["score"] for r in one] == sorted(r["score"] for r in one)


def test_a_draw_is_scored_by_the_mean_over_weight_seeds(narma):
    records = search(ESN, narma, trials=2, features=16, seed=3, seeds=(3, 8), progress=False)
    for r in records:
        by_hand = [evaluate(Candidate(ESN, r["params"], 16, s), narma) for s in (3, 8)]
        assert r["scores"] == [b["scores"]["validation"] for b in by_hand]
        assert r["alphas"] == [b["alpha"] for b in by_hand]
        assert r["score"] == (np.mean([b["scores"]["validation"][0] for b in by_hand]),)
    # Without seeds the draw generator's seed is the one weight seed.
    alone = search(ESN, narma, trials=2, features=16, seed=3, progress=False)
    assert [len(r["scores"]) for r in alone] == [1, 1]
    assert {repr(r["params"]) for r in alone} == {repr(r["params"]) for r in records}
    assert mean_score([(1.0, 2.0), (3.0, float("inf"))]) == (2.0, float("inf"))


def test_the_screen_sends_its_best_draws_to_be_scored_over_every_seed(narma):
    every = search("wave", narma, trials=4, features=16, seeds=(0, 1), progress=False)
    screened = search("wave", narma, trials=4, features=16, seeds=(0, 1), finalists=2, progress=False)
    screen = {repr(r["params"]): r["scores"][0] for r in every}  # the first seed's score of every draw
    assert [len(r["scores"]) for r in screened] == [2, 2, 1, 1]
    assert {repr(r["params"]) for r in screened[:2]} == set(sorted(screen, key=screen.get)[:2])
    for r in screened:
        assert r["scores"][0] == screen[repr(r["params"])]
    full = {repr(r["params"]): r for r in every}
    for r in screened[:2]:  # a finalist is scored exactly as without the screen
        assert r["scores"] == full[repr(r["params"])]["scores"] and r["score"] == full[repr(r["params"])]["score"]
    assert screened[0]["score"] <= screened[1]["score"] and screened[2]["score"] <= screened[3]["score"]
    with pytest.raises(ValueError, match="finalists"):
        search("wave", narma, trials=2, features=16, finalists=0, progress=False)
    with pytest.raises(ValueError, match="at least one weight seed"):
        search(ESN, narma, trials=1, features=16, seeds=(), progress=False)


def test_assess_reports_the_task_metric_per_seed():
    task = bit_memory_task(distractor=10)
    r = assess(ESN, {"sr": 0.9, "input_scaling": 0.5}, task, seeds=(0, 1), features=64)
    assert len(r["test"]) == 2 and all(0.0 <= v <= 1.0 for v in r["test"])
    assert r["mean"] == pytest.approx(np.mean(r["test"]))
    assert score_value("success", (0.25, 0.1)) == 0.75
    assert score_value("memory_capacity", (-12.0,)) == 12.0


def test_assess_gives_the_same_seeds_whatever_the_number_of_processes(narma):
    params = {"steps": 2, "density": 0.3, "scale": 0.5, "c": 0.4, "damping": 0.95, "boundary": "periodic",
              "write": "add"}
    one = assess("wave", params, narma, seeds=(0, 1, 2), features=64, n_jobs=1)
    two = assess("wave", params, narma, seeds=(0, 1, 2), features=64, n_jobs=2)
    assert one["test"] == two["test"] and one["alphas"] == two["alphas"] and len(set(one["test"])) == 3
    for (t1, p1), (t2, p2) in zip(one["outputs"].values(), two["outputs"].values()):
        np.testing.assert_array_equal(t1, t2)
        np.testing.assert_array_equal(p1, p2)


def test_forecasts_start_inside_the_part_and_run_closed_loop():
    task = mackey_glass_task(**SMALL)
    fc = Forecast(horizon=20, windows=4, warmup=50)
    starts = fc.starts(task.validation)
    assert len(starts) == 4 and starts[0] == task.validation.start and starts[-1] + 20 == task.validation.stop
    result = evaluate(Candidate(ESN, {"sr": 0.9}, features=64), task, forecast=fc, parts=("test",))
    pred, truth = result["outputs"]["test"][1], result["outputs"]["test"][0]
    assert pred.shape == truth.shape == (4, 20, 1)
    np.testing.assert_array_equal(truth[0, :, 0], task.inputs[0, task.test.start : task.test.start + 20, 0])
    with pytest.raises(ValueError, match="cannot hold a 200-step free run"):
        Forecast(horizon=200, warmup=50).starts(task.validation)


def test_a_penalty_too_small_to_solve_is_skipped(narma, monkeypatch):
    from pixelflow.linalg import ridge

    fit = ridge.RidgePath.fit

    def fragile(self, alpha):
        if alpha < 1e-3:
            raise np.linalg.LinAlgError("not positive definite")
        return fit(self, alpha)

    monkeypatch.setattr(ridge.RidgePath, "fit", fragile)
    result = evaluate(Candidate("wave", {"density": 0.3}, features=16), narma, alphas=(1e-9, 1e-2, 1.0))
    assert result["alpha"] in (1e-2, 1.0)
