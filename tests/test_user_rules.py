"""A rule defined in a notebook: registered once, run like any built-in."""

import numpy as np
import pytest

from pixelflow import Param, Reservoir, ReservoirConfig, register_rule, stencils, unregister_rule
from pixelflow.rules import available_rules


@pytest.fixture
def blur_rule():
    @register_rule("test_blur", params={"rate": Param(0.2, low=0.0, high=0.25)})
    def blur(state, ctx):
        """Heat equation."""
        return state + ctx.params.rate * stencils.laplacian(state, "periodic", ctx.xp)

    yield blur
    unregister_rule("test_blur")


def test_decorated_rule_runs_and_matches_hand_computation(rng, blur_rule):
    X = rng.random((3, 8, 8))
    cfg = ReservoirConfig(width=8, height=8, channels=1, steps=2, rule="test_blur", rule_params={"rate": 0.1},
                          dtype="float64", encoder_params={"resize": "nearest"})
    got = Reservoir(cfg).transform(X).reshape(3, 8, 8)
    s = X.copy()
    for _ in range(2):
        lap = sum(np.roll(s, sh, axis=ax) for sh in (1, -1) for ax in (1, 2)) - 4 * s
        s = s + 0.1 * lap
    np.testing.assert_allclose(got, s, rtol=1e-6)
    assert "test_blur" in available_rules()


def test_user_rule_parameters_are_validated(blur_rule):
    with pytest.raises(ValueError, match=r"'rate' must be a float in \[0, 0.25\], got 0.5"):
        ReservoirConfig(rule="test_blur", channels=1, rule_params={"rate": 0.5})


def test_a_typo_in_a_parameter_name_names_the_rule_and_its_parameters(rng):
    @register_rule("test_typo", params={"rate": Param(0.2, low=0.0, high=0.25)}, overwrite=True)
    def typo(state, ctx):
        return state + ctx.params.rtae * stencils.laplacian(state, "periodic", ctx.xp)

    try:
        res = Reservoir(ReservoirConfig(width=4, height=4, channels=1, steps=1, rule="test_typo"))
        with pytest.raises(AttributeError, match=r"rule 'test_typo' has no parameter 'rtae' \(did you mean 'rate'\?\); "
                                                 r"its parameters: rate"):
            res.transform(rng.random((2, 4, 4)))
        # The resolved parameters still pickle (Dask workers receive them) and keep their owner.
        import pickle

        params = pickle.loads(pickle.dumps(res.engine.rule_params))
        with pytest.raises(KeyError, match="rule 'test_typo' has no parameter 'rat'"):
            params["rat"]
    finally:
        unregister_rule("test_typo")


def test_names_cannot_be_taken_twice(blur_rule):
    with pytest.raises(ValueError, match="already registered"):
        register_rule("test_blur", lambda s, ctx: s)


def test_functional_registration_and_float64_promotion(rng):
    # np.float64 scalars would silently promote a float32 state; the reservoir keeps float32.
    register_rule("test_scale", lambda s, ctx: s * np.float64(0.5), overwrite=True)
    try:
        res = Reservoir(ReservoirConfig(width=4, height=4, channels=1, steps=1, rule="test_scale"))
        F = res.transform(rng.random((2, 4, 4)))
        assert F.dtype == np.float32
        assert res.states(rng.random((2, 4, 4))).dtype == np.float32
    finally:
        unregister_rule("test_scale")


def test_rule_returning_wrong_shape_is_reported(rng):
    register_rule("test_bad", lambda s, ctx: s[:, :1], overwrite=True)
    try:
        with pytest.raises(ValueError, match="rule 'test_bad' step returned shape"):
            Reservoir(ReservoirConfig(width=4, height=4, channels=2, steps=1, rule="test_bad")).transform(
                np.ones((1, 4, 4))
            )
    finally:
        unregister_rule("test_bad")
