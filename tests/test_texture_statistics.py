"""Portilla–Simoncelli texture statistics and the distance built on them: analytic cases, invariances, bad input."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("plenoptic")

from pixelflow.nca.texture_statistics import TextureDistance, TextureStatistics, largest_scales  # noqa: E402

SIZE = 32


def stripes(n, rng, size=SIZE, period=8, noise=0.02):
    """Vertical stripes of random phase with a little white noise: a stationary texture."""
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    x = np.arange(size)[None, None, :]
    return 0.5 + 0.4 * np.sin(2 * np.pi * x / period + phase) + noise * rng.standard_normal((n, size, size))


@pytest.fixture(scope="module")
def statistics():
    return TextureStatistics(SIZE)


@pytest.fixture(scope="module")
def fitted(statistics):
    return TextureDistance(statistics).fit(stripes(24, np.random.default_rng(0)))


def test_the_scales_are_the_most_the_image_holds():
    assert [largest_scales(s, 7) for s in (16, 32, 48, 64, 128, 256)] == [1, 2, 2, 3, 4, 4]
    assert largest_scales(256, 7, most=5) == 5
    assert largest_scales(48, 5) == 3  # 48 / 8 = 6 >= 5
    with pytest.raises(ValueError, match="cannot hold one pyramid scale"):
        largest_scales(12, 7)
    with pytest.raises(ValueError, match="at most 2"):
        TextureStatistics(48, n_scales=3)
    assert TextureStatistics(64).n_scales == 3


def test_a_row_does_not_depend_on_the_rest_of_the_batch(statistics):
    images = stripes(5, np.random.default_rng(1))
    batch = statistics(images)
    assert batch.dtype == np.float64 and batch.shape == (5, statistics.n_statistics)
    for i in range(len(images)):
        np.testing.assert_array_equal(statistics(images[i : i + 1])[0], batch[i])
    np.testing.assert_array_equal(statistics(images[::-1]), batch[::-1])


def test_the_statistics_do_not_see_where_a_stationary_texture_was_cut(statistics):
    """The pyramid is periodic: a circular shift by whole pixels of its coarsest scale changes no statistic.

    (Shifts by other amounts move the grid the pyramid decimates on, which the moments of its
    reconstructed low-pass images see.)
    """
    image = stripes(1, np.random.default_rng(2))
    step = 2**statistics.n_scales
    for shift in ((step, 0), (0, 3 * step), (2 * step, step)):
        shifted = np.roll(image, shift, axis=(1, 2))
        np.testing.assert_allclose(statistics(shifted), statistics(image), rtol=1e-3, atol=1e-4)


def test_another_piece_of_the_texture_scores_about_one_and_other_textures_far_more(fitted):
    rng = np.random.default_rng(3)
    same = fitted.score_samples(stripes(6, rng))
    assert same.shape == (6,) and np.all(same < 2.0)
    horizontal = fitted.score_samples(np.swapaxes(stripes(4, rng), 1, 2))
    finer = fitted.score_samples(stripes(4, rng, period=4))
    noise = fitted.score_samples(0.5 + 0.3 * rng.standard_normal((4, SIZE, SIZE)))
    # The same grey levels in another order: the histogram is right, the structure is not.
    shuffled = fitted.score_samples(np.stack([rng.permutation(s.ravel()).reshape(SIZE, SIZE)
                                              for s in stripes(4, rng)]))
    for other in (horizontal, finer, noise, shuffled):
        assert other.min() > 5 * same.max()


def test_z_scores_are_measured_against_the_references_own_spread(fitted):
    reference = stripes(24, np.random.default_rng(0))
    z = fitted.z_scores(reference)
    assert z.shape == (24, int(fitted.kept_.sum()))
    np.testing.assert_allclose(z.mean(0), 0.0, atol=1e-8)
    np.testing.assert_allclose(z.std(0, ddof=1), 1.0, rtol=1e-8)
    assert fitted.n_reference_ == 24 and 0 < fitted.kept_.sum() <= fitted.kept_.size


def test_the_kinds_of_statistic_partition_a_row_and_say_what_is_unlike_the_texture(fitted, statistics):
    groups = statistics.groups()
    members = np.sort(np.concatenate(list(groups.values())))
    np.testing.assert_array_equal(members, np.arange(statistics.n_statistics))  # every column once
    assert "pixel_statistics" in groups and "auto_correlation_magnitude" in groups
    rng = np.random.default_rng(7)
    # Pixels of the texture in another order: the grey-level histogram is the texture's, the structure is not.
    shuffled = np.stack([rng.permutation(s.ravel()).reshape(SIZE, SIZE) for s in stripes(3, rng)])
    by_kind = fitted.group_scores(shuffled)
    assert set(by_kind) <= set(groups)
    assert np.all(by_kind["pixel_statistics"] < 3.0)
    assert np.all(by_kind["auto_correlation_reconstructed"] > 10 * by_kind["pixel_statistics"])


def test_a_constant_image_has_no_texture_and_scores_infinitely_far(fitted, statistics):
    flat = np.full((2, SIZE, SIZE), 0.5)
    assert np.isnan(statistics(flat)).all()
    scores = fitted.score_samples(np.concatenate([flat[:1], stripes(1, np.random.default_rng(4))]))
    assert scores[0] == np.inf and np.isfinite(scores[1])
    with pytest.raises(ValueError, match="constant"):
        TextureDistance(statistics).fit(np.concatenate([flat, stripes(3, np.random.default_rng(5))]))


def test_the_inputs_a_user_will_type(statistics):
    rng = np.random.default_rng(6)
    image = stripes(2, rng)
    torch = pytest.importorskip("torch")
    np.testing.assert_array_equal(statistics(image[:, None]), statistics(image))
    np.testing.assert_array_equal(statistics(torch.from_numpy(image.astype(np.float32))), statistics(image))
    with pytest.raises(ValueError, match=r"shape \(N, 32, 32\)"):
        statistics(image[0])
    with pytest.raises(ValueError, match=r"got \(2, 32, 16\)"):
        statistics(image[:, :, :16])
    with pytest.raises(ValueError, match="N >= 1"):
        statistics(image[:0])
    with pytest.raises(ValueError, match="NaN or infinite"):
        statistics(np.where(np.arange(SIZE) == 3, np.nan, image))
    with pytest.raises(TypeError, match="numbers"):
        statistics(np.full((1, SIZE, SIZE), "x"))
    with pytest.raises(ValueError, match="at least 3"):
        TextureDistance(statistics).fit(image)
    with pytest.raises(ValueError, match="not fitted"):
        TextureDistance(statistics).score_samples(image)
    with pytest.raises(TypeError, match="TextureStatistics"):
        TextureDistance("ps")
    with pytest.raises(ValueError, match="min_spread"):
        TextureDistance(statistics, min_spread=2.0)
