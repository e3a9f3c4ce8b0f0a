"""Tests for pixelflow.stack (several reservoirs side by side) and its use in the protocol."""

import dataclasses

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
from pixelflow.datasets import digits
from pixelflow.stack import ReservoirStack, StackConfig, config_from_dict, make_reservoir
from pixelflow.workbook.protocols import Candidate, evaluate, search, steps_curve

FINE = ReservoirConfig(8, 8, 4, 3, "random_nca", record=(1, 3), pool=2,
                       feature_maps=(("products", 4), ("state", 2)), seed=0)
COARSE = ReservoirConfig(4, 4, 4, 3, "random_nca", record=(1, 2, 3), pool=4,
                         feature_maps=(("products", 4),), seed=5)
STACK = StackConfig((FINE, COARSE))


@pytest.fixture(scope="module")
def ds():
    return digits(seed=0)


def test_features_are_the_members_side_by_side(ds):
    X = ds.X_train[:20]
    got = ReservoirStack(STACK).transform(X)
    want = np.concatenate([Reservoir(FINE).transform(X), Reservoir(COARSE).transform(X)], axis=1)
    assert got.shape == (20, STACK.n_features) and got.dtype == np.float32
    assert_array_equal(got, want)


def test_batch_invariant(ds):
    X = ds.X_train[:9]
    r = ReservoirStack(STACK)
    full = r.transform(X)
    assert_array_equal(np.concatenate([r.transform(X[i : i + 1]) for i in range(len(X))]), full)


def test_a_member_that_refuses_the_input_leaves_every_member_usable(rng):
    # The second member takes at most one input channel (wave on 2 channels).
    stack = ReservoirStack(StackConfig((ReservoirConfig(8, 8, 8, 2, "wave"), ReservoirConfig(8, 8, 2, 2, "wave"))))
    with pytest.raises(ValueError, match="gives 3 input channel"):
        stack.transform(rng.random((2, 6, 6, 3)))
    assert [r.input_shape_ for r in stack.reservoirs] == [None, None]
    X = rng.random((2, 6, 6))
    np.testing.assert_array_equal(stack.transform(X)[:, :stack.reservoirs[0].feature_dim],
                                  Reservoir(ReservoirConfig(8, 8, 8, 2, "wave")).transform(X))


def test_a_failure_inside_a_later_member_unlocks_the_earlier_ones(rng, monkeypatch):
    stack = ReservoirStack(
        StackConfig((ReservoirConfig(8, 8, 4, 2, "wave"), ReservoirConfig(8, 8, 4, 2, "random_nca")))
    )

    def broken(X):
        raise MemoryError("no room")

    monkeypatch.setattr(stack.reservoirs[1], "transform", broken)
    with pytest.raises(MemoryError):
        stack.transform(rng.random((2, 6, 6)))
    assert stack.reservoirs[0].input_shape_ is None
    monkeypatch.undo()
    assert stack.transform(rng.random((2, 7, 7))).shape == (2, stack.feature_dim)


def test_with_seed_moves_every_member_and_keeps_offsets():
    moved = STACK.with_seed(10)
    assert [m.seed for m in moved.members] == [10, 15]
    assert moved.with_seed(0) == STACK
    assert moved.replace_members(steps=4).members[1].steps == 4


def test_rule_joins_distinct_member_rules():
    wave = ReservoirConfig(8, 8, 2, 2, "wave")
    assert STACK.rule == "random_nca"
    assert StackConfig((FINE, wave, COARSE)).rule == "random_nca+wave"


def test_round_trip_through_dict():
    for cfg in (STACK, FINE, dataclasses.replace(FINE, encoder_params={"normalize": "sample"})):
        assert config_from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="unknown ReservoirConfig fields"):
        config_from_dict({"widht": 8})


@pytest.mark.parametrize("bad", [(), FINE, (FINE, "wave"), "abc"])
def test_bad_members_are_rejected(bad):
    with pytest.raises(TypeError, match="StackConfig.members"):
        StackConfig(bad)


def test_make_reservoir_dispatches():
    assert isinstance(make_reservoir(STACK), ReservoirStack)
    assert isinstance(make_reservoir(FINE), Reservoir)
    with pytest.raises(TypeError, match="StackConfig"):
        ReservoirStack(FINE)


def test_protocol_searches_and_evaluates_a_stack(ds):
    cand = Candidate("stack", STACK, RidgeReadout(alpha=1.0, standardize=True))
    row = search([cand], ds.X_train, ds.y_train, progress=False)[0]
    assert row["grid"] == "8x8+4x4" and row["channels"] == 4 and row["rule"] == "random_nca"
    assert row["seed"] == 0 and len(row["rule_params"]) == 2
    result = evaluate(cand, *ds, seeds=(0, 3), progress=False)
    assert result["seeds"] == [0, 3] and not result["deterministic"]
    assert [c["stack"][1]["seed"] for c in result["configs"]] == [5, 8]
    assert result["n_features"] == STACK.n_features


def test_steps_curve_of_a_stack_uses_each_members_step_block(ds):
    """The step-t features of a stack are its members' step-t blocks, as if each member recorded only t."""
    cand = Candidate("stack", STACK, RidgeReadout(alpha=1.0, standardize=True))
    rows = steps_curve(cand, ds.X_train, ds.y_train, steps=(1, 3), progress=False)
    for row in rows:
        single = StackConfig(tuple(dataclasses.replace(m, steps=row["steps"], record="final") for m in STACK.members))
        ref = search([Candidate("one step", single, cand.readout)], ds.X_train, ds.y_train, progress=False)[0]
        assert row["n_features"] == single.n_features
        assert row["val_accuracy"] == ref["val_accuracy"]


def test_module_examples_hold():
    """The usage examples in the docstrings of the stack, presets and protocol modules run as written."""
    import doctest

    import pixelflow.stack
    import pixelflow.workbook.presets
    import pixelflow.workbook.protocols.classification

    for module in (pixelflow.stack, pixelflow.workbook.presets, pixelflow.workbook.protocols.classification):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0 and result.failed == 0, module.__name__
