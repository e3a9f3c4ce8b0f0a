"""The local implicit decoder: parity of its interpolation with torch's, regions, sub-cell detail, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch.nn import functional as F  # noqa: E402

from pixelflow.nca.decoder import LocalPatternDecoder, cell_coordinates, interpolate_cells, render  # noqa: E402
from pixelflow.threads import torch_threads  # noqa: E402


def _states(n=2, c=5, h=6, w=7, seed=0):
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("factor", [1, 2, 3, 4])
def test_interpolation_is_torchs_bilinear_resampling_of_the_torus(factor):
    states = _states()
    _, _, h, w = states.shape
    ours = interpolate_cells(states, cell_coordinates(h * factor, h), cell_coordinates(w * factor, w))
    padded = F.pad(states, (1, 1, 1, 1), mode="circular")
    reference = F.interpolate(padded, scale_factor=factor, mode="bilinear", align_corners=False)
    reference = reference[..., factor : factor + h * factor, factor : factor + w * factor]
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)


def test_interpolation_is_exact_for_linear_fields_at_any_resolution():
    """Between cell centres, a field linear in the cell index is reproduced exactly (away from the seam)."""
    cells = 8
    ramp = torch.arange(cells, dtype=torch.float64)[None, None, :, None].expand(1, 1, cells, 3).clone()
    for size in (8, 13, 20, 37):
        low, high, u = cell_coordinates(size, cells)
        pixels = torch.arange(size, dtype=torch.float64)
        position = (pixels + 0.5) * cells / size - 0.5
        inside = (position >= 0) & (position <= cells - 1)
        out = interpolate_cells(ramp, (low, high, u), cell_coordinates(3, 3))[0, 0, :, 0]
        torch.testing.assert_close(out[inside], position[inside], atol=1e-6, rtol=0)


def test_a_region_is_the_same_window_of_the_whole_image_and_samples_are_rendered_alone():
    states = _states(n=3)
    decoder = LocalPatternDecoder(5, visible=3, hidden=8, seed=1)
    with torch.no_grad():
        whole = render(states, decoder, (30, 35))
        window = render(states, decoder, (30, 35), region=(7, 11, 9, 20))
        alone = render(states[1:2], decoder, (30, 35))
    assert whole.shape == (3, 3, 30, 35) and window.shape == (3, 3, 9, 20)
    assert 0.0 < whole.min() and whole.max() < 1.0
    torch.testing.assert_close(window, whole[:, :, 7:16, 11:31], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(alone[0], whole[1], atol=1e-6, rtol=1e-6)


def test_the_same_seed_gives_the_same_decoder():
    a, b = LocalPatternDecoder(4, seed=3), LocalPatternDecoder(4, seed=3)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(next(a.parameters()), next(LocalPatternDecoder(4, seed=4).parameters()))
    assert a.coordinate_features == 2 * (1 + 2 * 2) and LocalPatternDecoder(4, frequencies=0).coordinate_features == 2


def test_the_local_coordinate_lets_a_pixel_draw_detail_finer_than_a_cell():
    """A pixel checkerboard at 2x is invisible to interpolated states alone; with u, the decoder learns it."""
    torch.manual_seed(0)
    cells, factor = 6, 2
    states = torch.zeros(1, 2, cells, cells)
    states[:, 0] = 1.0  # every cell the same: all detail must come from the local coordinate
    size = cells * factor
    target = ((torch.arange(size)[:, None] + torch.arange(size)[None, :]) % 2).float()[None, None]

    def fit(frequencies):
        decoder = LocalPatternDecoder(2, visible=1, hidden=32, frequencies=frequencies, seed=0)
        opt = torch.optim.Adam(decoder.parameters(), lr=1e-2)
        with torch_threads(1):  # small tensors: one thread is the fast one (pixelflow.threads)
            for _ in range(200):
                loss = F.mse_loss(render(states, decoder, size), target)
                opt.zero_grad()
                loss.backward()
                opt.step()
        return float(loss.detach())

    assert fit(frequencies=2) < 0.01  # the best image without sub-cell information has error 0.25
    assert fit(frequencies=0) < 0.05  # u alone also separates the two pixels of a cell per axis


def test_the_inputs_a_user_will_type():
    states = _states(c=4)
    decoder = LocalPatternDecoder(4)
    with pytest.raises(ValueError, match=r"states must have shape \(N, 4, H, W\)"):
        render(states[:, :3], decoder, 12)
    with pytest.raises(ValueError, match=r"states must have shape"):
        render(states[0], decoder, 12)
    with pytest.raises(TypeError, match="LocalPatternDecoder"):
        render(states, torch.nn.Identity(), 12)
    with pytest.raises(ValueError, match="outside a 12-pixel axis"):
        render(states, decoder, 12, region=(10, 0, 4, 4))
    with pytest.raises(ValueError, match="size"):
        cell_coordinates(0, 4)
    with pytest.raises(ValueError, match="frequencies"):
        LocalPatternDecoder(4, frequencies=-1)
    with pytest.raises(ValueError, match=r"cells must have shape \(N, 4, h, w\)"):
        decoder(torch.zeros(1, 3, 2, 2), torch.zeros(2), torch.zeros(2))
    np.testing.assert_array_equal(cell_coordinates(4, 4)[0].numpy(), [0, 1, 2, 3])  # same resolution: the cells


# ------------------------------------------------------------------ a rule with a decoder, trained on a texture
def test_a_decoded_rule_evolves_exactly_as_its_rule_and_draws_at_any_resolution():
    from pixelflow.nca import texture_nca
    from pixelflow.nca.decoder import decoded_texture_nca

    model = decoded_texture_nca(channels=6, hidden=12, decoder_hidden=8, seed=2)
    plain = texture_nca(channels=6, hidden=12, seed=2)
    torch.nn.init.normal_(plain.update.net[-1].weight, std=0.1)
    model.update.load_state_dict(plain.update.state_dict())
    x = torch.rand(2, 6, 9, 9, generator=torch.Generator().manual_seed(0))
    a = model(x, 5, generator=torch.Generator().manual_seed(1))
    b = plain(x, 5, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b)
    assert model.image(a, 1).shape == (2, 1, 9, 9) and model.image(a, 2.5).shape == (2, 1, 22, 22)
    torch.testing.assert_close(model.image(a, 4, region=(3, 5, 10, 7)), model.image(a, 4)[:, :, 3:13, 5:12],
                               atol=1e-6, rtol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        model.image(a, 0)
    with pytest.raises(ValueError, match="6 channels"):
        from pixelflow.nca.decoder import DecodedNCA

        DecodedNCA(plain, LocalPatternDecoder(5))


def test_the_texture_loss_is_scored_on_a_window_of_the_fine_image_and_training_resumes_exactly(tmp_path):
    from pixelflow.nca import RandomFeatures, StyleLoss, Trainer
    from pixelflow.nca.decoder import decoded_texture_nca
    from pixelflow.nca.style import overflow_loss
    from pixelflow.nca.texture import DecodedTextureTask

    fine_target = torch.rand(32, 32, generator=torch.Generator().manual_seed(3))
    style = StyleLoss(fine_target, RandomFeatures(widths=(4, 8), seed=0))

    def setup():
        model = decoded_texture_nca(channels=6, hidden=12, decoder_hidden=8, seed=0)
        return model, DecodedTextureTask(style, model, size=8, factor=3, window=16)

    model, task = setup()
    x = torch.rand(2, 6, 8, 8, generator=torch.Generator().manual_seed(4)) - 0.5
    assert task.image(x).shape == (2, 1, 24, 24)
    expected = style(task.image(x)[:, :, :16, :16]) + 10.0 * overflow_loss(x)
    torch.testing.assert_close(task.loss(x), expected, atol=1e-6, rtol=1e-5)

    def train(iterations, model, task, checkpoint=None):
        return Trainer(model, task, iterations=iterations, batch_size=2, steps=(2, 3), pool_size=4, damage=1,
                       seed=0, checkpoint=checkpoint, checkpoint_every=2, progress=False).fit()

    straight, straight_task = setup()
    decoder_before = [p.clone() for p in straight.decoder.parameters()]
    train(4, straight, straight_task)
    assert any(not torch.equal(p, q) for p, q in zip(decoder_before, straight.decoder.parameters()))
    interrupted, interrupted_task = setup()
    path = tmp_path / "ckpt.pt"
    calls = {"n": 0}
    loss = interrupted_task.loss

    def dies_in_iteration_4(x, info=None):
        calls["n"] += 1
        if calls["n"] == 4:  # the checkpoint holds iteration 2
            raise KeyboardInterrupt
        return loss(x, info)

    interrupted_task.loss = dies_in_iteration_4
    with pytest.raises(KeyboardInterrupt):
        train(4, interrupted, interrupted_task, checkpoint=path)
    again, again_task = setup()  # a new process: fresh model, same settings
    train(4, again, again_task, checkpoint=path)
    for p, q in zip(straight.parameters(), again.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(TypeError, match="DecodedNCA"):
        DecodedTextureTask(style, torch.nn.Identity(), size=8, factor=2)
    with pytest.raises(ValueError, match="window"):
        DecodedTextureTask(style, model, size=8, factor=2, window=4)


def test_fit_decoded_texture_is_the_decoded_task_under_the_texture_recipe():
    from pixelflow.nca import RandomFeatures, StyleLoss, Trainer
    from pixelflow.nca.decoder import decoded_texture_nca
    from pixelflow.nca.resolution import fit_decoded_texture
    from pixelflow.nca.texture import DecodedTextureTask, TextureRecipe

    target = torch.rand(24, 24, generator=torch.Generator().manual_seed(5)).numpy()
    extractor = RandomFeatures(widths=(4, 8), seed=0)
    recipe = TextureRecipe(iterations=3, grid=8, channels=6, hidden=12, batch_size=2, steps=(2, 3), pool_size=4,
                           seed=1)

    def build():
        return decoded_texture_nca(channels=6, hidden=12, decoder_hidden=8, seed=1)

    fitted = fit_decoded_texture(build(), target, recipe, extractor, factor=3, window=16, progress=False)
    by_hand = build()
    task = DecodedTextureTask(StyleLoss(torch.as_tensor(target), extractor), by_hand, 8, 3, 16)
    Trainer(by_hand, task, iterations=3, batch_size=2, steps=(2, 3), lr=recipe.lr, pool_size=4, damage=recipe.damage,
            seed=1, progress=False).fit()
    assert len(fitted.history_) == 3
    for p, q in zip(fitted.model.parameters(), by_hand.parameters()):
        assert torch.equal(p, q)
    with pytest.raises(TypeError, match="model must be a DecodedNCA"):
        fit_decoded_texture(torch.nn.Identity(), target, recipe, extractor, factor=2)


def test_decoded_renders_draw_every_factor_and_say_what_it_cost():
    from pixelflow.nca.decoder import decoded_texture_nca
    from pixelflow.nca.resolution import decoded_renders, grow, grow_states

    model = decoded_texture_nca(channels=6, hidden=12, decoder_hidden=8, seed=0)
    states = grow_states(model, 8, 3, n=2, seed=4)
    np.testing.assert_array_equal(grow(model, 8, 3, n=2, seed=4), (states[:, 0] + 0.5).clamp(0, 1).numpy())
    renders = decoded_renders(model, states, (1, 4), repeats=2)
    assert set(renders) == {1, 4}
    for k, r in renders.items():
        with torch.no_grad(), torch_threads(1):  # as the renders ran: one thread, no graph
            expected = model.image(states, k)[:, 0].clamp(0, 1).numpy()
        np.testing.assert_array_equal(r["images"], expected)
        assert r["images"].shape == (2, 8 * k, 8 * k) and r["seconds"] > 0
        assert r["peak_bytes"] is None or r["peak_bytes"] >= 0
    with pytest.raises(ValueError, match="repeats must be an integer >= 1"):
        decoded_renders(model, states, (1,), repeats=0)


def test_the_true_finer_textures():
    from pixelflow.nca.resolution import radial_spectrum, spectrum_distance, true_texture
    from pixelflow.nca.textures import package_texture

    assert true_texture("gravel", 8) is None and true_texture("gravel", 3) is None
    np.testing.assert_array_equal(true_texture("gravel", 2), package_texture("gravel", 128, zoom_out=2))
    coarse, fine = true_texture("gray_scott", 1), true_texture("gray_scott", 2)
    assert coarse.shape == (128, 128) and fine.shape == (256, 256)
    # The finer solution is the same pattern at twice the pixels: its spectrum, on the axis of cycles per coarse
    # cell, sits where the coarse one does (a pattern of half the physical size would not).
    same = spectrum_distance(radial_spectrum(fine[None], 2), radial_spectrum(coarse[None], 1))
    shrunk = spectrum_distance(radial_spectrum(fine[None], 1), radial_spectrum(coarse[None], 1))
    assert same < 0.35 < shrunk
    with pytest.raises(ValueError, match="factor must be one of"):
        true_texture("gray_scott", 3)
    with pytest.raises(ValueError, match="unknown texture 'brick'"):
        true_texture("brick", 2)
