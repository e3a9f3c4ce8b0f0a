"""Every built-in rule against the cell-by-cell references in reference_rules.py."""

import numpy as np
import pytest
import reference_rules as ref

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.rules.life_like import normalise_life_rule, parse_life_rule


def trajectory(rule, channels, X, steps=3, **kw):
    cfg = ReservoirConfig(width=X.shape[2], height=X.shape[1], channels=channels, steps=steps, rule=rule,
                          dtype="float64", encoder_params={"resize": "nearest"}, **kw)
    return Reservoir(cfg, backend="numpy").states(X)


@pytest.mark.parametrize("boundary", ["periodic", "absorbing"])
@pytest.mark.parametrize("channels", [2, 5])
def test_wave_matches_reference(rng, boundary, channels):
    X = rng.random((2, 7, 9))
    params = {"c": 0.6, "damping": 0.97, "dt": 0.9, "boundary": boundary, "sponge": 2, "clip": 0.8}
    got = trajectory("wave", channels, X, rule_params=params)
    sp = ref.sponge(7, 9, 2) if boundary == "absorbing" else None
    for n in range(len(X)):
        s = np.zeros((channels, 7, 9))
        s[0] = X[n]
        for t in range(4):
            np.testing.assert_allclose(got[n, t], s, atol=1e-12)
            s = ref.wave_step(s, c=0.6, damping=0.97, dt=0.9, boundary=boundary, sponge=sp, clip=0.8)


def test_wave_speed_field_matches_reference(rng):
    X = rng.random((1, 6, 6)) * 0.3
    c = 0.3 + 0.3 * rng.random((6, 6))
    got = trajectory("wave", 2, X, rule_params={"c": c, "clip": 0.0})
    s = np.zeros((2, 6, 6))
    s[0] = X[0]
    for t in range(4):
        np.testing.assert_allclose(got[0, t], s, atol=1e-12)
        s = ref.wave_step(s, c=c, clip=0.0)


def test_wave_refuses_unstable_time_step():
    with pytest.raises(ValueError, match="CFL"):
        Reservoir(ReservoirConfig(rule="wave", rule_params={"c": 1.0, "dt": 1.0})).transform(np.zeros((1, 8, 8)))


@pytest.mark.parametrize("species", ["v", "u"])
@pytest.mark.parametrize("boundary", ["periodic", "zero"])
def test_gray_scott_matches_reference(rng, species, boundary):
    X = rng.random((2, 6, 8))
    params = {"feed": 0.04, "kill": 0.06, "du": 0.2, "dv": 0.1, "dt": 1.0, "input_species": species,
              "boundary": boundary}
    got = trajectory("diffusion_reaction", 4, X, rule_params=params)
    for n in range(len(X)):
        s = np.zeros((4, 6, 8))
        s[0] = 1 - X[n] / 2 if species == "v" else X[n]
        s[1] = X[n] / 4 if species == "v" else 0
        s[2] = 1.0  # the pair without input starts at the steady state U=1, V=0
        for t in range(4):
            np.testing.assert_allclose(got[n, t], s, atol=1e-12)
            s = ref.gray_scott_step(s, feed=0.04, kill=0.06, du=0.2, dv=0.1, boundary=boundary)


def test_gray_scott_reacts_only_when_v_is_seeded(rng):
    X = rng.random((1, 16, 16))
    reacting = trajectory("diffusion_reaction", 2, X, steps=4)
    diffusing = trajectory("diffusion_reaction", 2, X, steps=4, rule_params={"input_species": "u"})
    assert np.all(diffusing[0, :, 1] == 0)  # V never appears: pure diffusion of U
    assert reacting[0, -1, 1].max() > 0.05


@pytest.mark.parametrize("rule", ["B3/S23", "B36/S23", "B2/S", "B0123/S8"])
@pytest.mark.parametrize("boundary", ["periodic", "zero"])
def test_life_like_matches_reference(rng, rule, boundary):
    X = rng.random((2, 7, 7))
    got = trajectory("life_like", 2, X, steps=4, rule_params={"rule": rule, "threshold": 0.6, "boundary": boundary})
    birth, survive = parse_life_rule(rule)
    for n in range(len(X)):
        s = np.zeros((2, 7, 7))
        s[0] = X[n]
        for t in range(5):
            np.testing.assert_array_equal(got[n, t], s)
            s = ref.life_step(s, birth, survive, threshold=0.6, boundary=boundary)


def test_life_glider_moves_one_cell_diagonally_in_four_steps():
    board = np.zeros((1, 8, 8))
    for i, j in [(0, 1), (1, 2), (2, 0), (2, 1), (2, 2)]:
        board[0, i, j] = 1
    got = trajectory("life_like", 1, board, steps=4, rule_params={"rule": "B3/S23"})
    np.testing.assert_array_equal(got[0, 4, 0], np.roll(board[0], (1, 1), axis=(0, 1)))


@pytest.mark.parametrize(
    "text, expected",
    [("B3/S23", "B3/S23"), ("b3s23", "B3/S23"), ("S23/B3", "B3/S23"), ("23/3", "B3/S23"), ("B63/S32", "B36/S23"),
     ("B/S", "B/S")],
)
def test_life_rule_notation(text, expected):
    assert normalise_life_rule(text) == expected


@pytest.mark.parametrize("bad", ["B9/S23", "conway", "B3/S2x", ""])
def test_life_rule_notation_rejects_garbage(bad):
    with pytest.raises(ValueError, match="B/S notation"):
        ReservoirConfig(rule="life_like", rule_params={"rule": bad})


@pytest.mark.parametrize("boundary", ["periodic", "zero"])
def test_random_nca_matches_reference(rng, boundary):
    X = rng.random((2, 6, 7, 3))  # RGB: three input channels
    params = {"gain": 1.7, "leak": 0.4, "input_scale": 0.8, "bias_scale": 0.3, "boundary": boundary}
    c, seed = 5, 11
    got = trajectory("random_nca", c, X, rule_params=params, seed=seed)
    # The documented draw order from the reservoir seed.
    g = np.random.default_rng([seed, 0])
    mix = g.standard_normal((c, 4 * c)) / np.sqrt(4 * c)
    bias = g.standard_normal(c) * 0.3
    inject = g.standard_normal((c, 3))
    for n in range(len(X)):
        u = np.moveaxis(X[n], -1, 0)
        s = np.zeros((c, 6, 7))
        for t in range(4):
            np.testing.assert_allclose(got[n, t], s, atol=1e-12)
            s = ref.random_nca_step(s, u, mix, bias, inject, gain=1.7, leak=0.4, input_scale=0.8, boundary=boundary)


@pytest.mark.parametrize(
    "rule, channels", [("wave", 4), ("diffusion_reaction", 4), ("life_like", 2), ("random_nca", 6)]
)
def test_float32_tracks_float64(rng, rule, channels):
    X = rng.random((3, 12, 12))
    cfg = dict(width=12, height=12, channels=channels, steps=6, rule=rule, record="all")
    lo = Reservoir(ReservoirConfig(**cfg)).transform(X)
    hi = Reservoir(ReservoirConfig(**cfg, dtype="float64")).transform(X)
    np.testing.assert_allclose(lo, hi, atol=1e-5)


@pytest.mark.parametrize("boundary, mode", [("periodic", "wrap"), ("zero", "constant"), ("edge", "edge")])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (2, 3, 20, 20), (3, 2, 1, 7)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8, bool])
def test_pad1_copies_the_border_as_numpy_pad_does(boundary, mode, shape, dtype):
    from pixelflow.stencils import pad1

    x = (np.random.default_rng(0).standard_normal(shape) * 5).astype(dtype)
    expected = np.pad(x, [(0, 0)] * (x.ndim - 2) + [(1, 1), (1, 1)], mode=mode)
    for view in (x, np.swapaxes(np.swapaxes(x, -1, -2).copy(), -1, -2)):  # also a non-contiguous layout
        got = pad1(view, boundary, np)
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_pad1_names_an_unknown_boundary():
    from pixelflow.stencils import pad1

    with pytest.raises(ValueError, match="'wrap'.*periodic, zero, edge"):
        pad1(np.zeros((3, 3)), "wrap", np)
