"""Encoders against direct references: resampling, phase, projection."""

import numpy as np
import pytest
import reference_rules as ref

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.encoders import image_layout
from pixelflow.resize import resize_matrix


def drive(X, encoding, width=32, height=32, channels=8, **params):
    cfg = ReservoirConfig(width=width, height=height, channels=channels, steps=0, rule="life_like",
                          input_encoding=encoding, encoder_params=params, dtype="float64")
    res = Reservoir(cfg, backend="numpy")
    res.engine.prepare(np.asarray(X).shape[1:])
    return res.engine.context(np.asarray(X, dtype=np.float64)).drive


@pytest.mark.parametrize(
    "shape_in, shape_out", [((28, 28), (32, 32)), ((28, 28), (14, 7)), ((5, 9), (12, 4)), ((8, 8), (8, 8))]
)
@pytest.mark.parametrize("method", ["nearest", "area"])
def test_tile_resize_matches_reference(rng, shape_in, shape_out, method):
    X = rng.random((3, *shape_in))
    got = drive(X, "tile", width=shape_out[1], height=shape_out[0], resize=method)
    resize = ref.nearest_resize if method == "nearest" else ref.area_resize
    for n in range(3):
        np.testing.assert_allclose(got[n, 0], resize(X[n], *shape_out), atol=1e-12)


def test_area_resize_preserves_the_mean_and_constants(rng):
    m = resize_matrix(28, 32, "area")
    np.testing.assert_allclose(m.sum(axis=1), 1.0)
    img = rng.random((28, 28))
    out = drive(img[None], "tile", resize="area")[0, 0]
    np.testing.assert_allclose(out.mean(), img.mean(), rtol=1e-12)
    np.testing.assert_allclose(drive(np.full((1, 28, 28), 0.7), "tile")[0, 0], 0.7)


def test_identity_resize_is_exact(rng):
    X = rng.random((2, 32, 32))
    for method in ("area", "nearest"):
        np.testing.assert_array_equal(drive(X, "tile", resize=method)[:, 0], X)


def test_vectors_are_laid_out_on_the_most_square_grid(rng):
    assert image_layout((784,)) == (28, 28, 1)
    assert image_layout((10,)) == (3, 4, 1)
    x = rng.random((1, 10))
    got = drive(x, "tile", width=4, height=3, resize="nearest")[0, 0]
    np.testing.assert_array_equal(got.ravel(), np.concatenate([x[0], [0, 0]]))
    # Many vectors of a length that is no square are welcome: only a square batch of them looks like one image.
    assert Reservoir(ReservoirConfig(width=4, height=3, channels=2, steps=1, rule="wave")).transform(
        rng.random((5, 10))).shape[0] == 5


@pytest.mark.parametrize("encoding", ["tile", "phase"])
def test_one_image_without_its_sample_axis_is_refused_with_the_fix(rng, encoding):
    # A 28x28 image given alone reads as 28 vectors of 28 features: it used to give 28 rows of features.
    res = Reservoir(ReservoirConfig(width=28, height=28, channels=4, steps=1, rule="wave", input_encoding=encoding))
    image = rng.random((28, 28))
    with pytest.raises(ValueError, match=r"X of shape \(28, 28\) reads as 28 vectors of 28 features, which encoder '"
                                         + encoding + r"' would lay out as 5x6 images: one H x W image is passed "
                                         r"with its sample axis, X\[None\] \(shape \(1, H, W\)\)"):
        res.transform(image)
    with pytest.raises(ValueError, match="reads as 28 vectors"):
        res.states(image)
    assert res.transform(image[None]).shape == (1, res.config.n_features)  # the refusal fixed nothing in place
    # Vectors are welcome where the encoder reads vectors.
    vectors = ReservoirConfig(width=8, height=8, channels=4, steps=1, rule="wave", input_encoding="project")
    assert Reservoir(vectors).transform(image).shape[0] == 28


def test_sample_normalisation_standardises_each_image_alone(rng):
    X = rng.random((4, 32, 32, 3)) * np.array([1.0, 0.5, 0.2, 0.0])[:, None, None, None] + 0.3
    got = drive(X, "tile", normalize="sample")
    for n in range(4):
        x = X[n]
        want = (x - x.mean()) / (x.std() + 0.05)
        np.testing.assert_allclose(got[n], np.moveaxis(want, -1, 0), atol=1e-12)
    # A constant image is centred to zero, not blown up; contrast and brightness no longer matter.
    np.testing.assert_allclose(got[3], 0.0, atol=1e-12)
    np.testing.assert_allclose(drive(2.0 * X[:1] + 1.0, "tile", normalize="sample")[0],
                               (2.0 * (X[0] - X[0].mean()) / (2.0 * X[0].std() + 0.05)).transpose(2, 0, 1), atol=1e-12)
    # Batch invariance: one image alone gives the same drive.
    np.testing.assert_array_equal(drive(X[1:2], "tile", normalize="sample")[0], got[1])
    with pytest.raises(ValueError, match="normalize"):
        drive(X, "tile", normalize="global")


def test_phase_writes_cos_and_sin_of_pi_x(rng):
    X = rng.random((2, 32, 32, 3))
    got = drive(X, "phase")
    assert got.shape == (2, 6, 32, 32)
    theta = np.pi * np.moveaxis(X, -1, 1)
    np.testing.assert_allclose(got[:, 0::2], np.cos(theta), atol=1e-12)
    np.testing.assert_allclose(got[:, 1::2], np.sin(theta), atol=1e-12)


def test_project_is_one_seeded_gaussian_matrix(rng):
    X = rng.random((5, 6, 6))
    got = drive(X, "project", width=8, height=8, scale=2.0, planes=3)
    g = np.random.default_rng([0, 1])  # the encoder stream of seed 0
    matrix = g.standard_normal((36, 3 * 64)) * (2.0 / 6.0)
    np.testing.assert_allclose(got.reshape(5, -1), X.reshape(5, -1) @ matrix, atol=1e-12)
    assert got.std() > 0.5  # scale 2 over 36 inputs of mean square ~1/3: std ~ 1.15
