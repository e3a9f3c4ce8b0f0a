"""The U-Net inpainting baseline: shapes, known pixels kept, matched size, batch independence, learning, bad input."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pixelflow.baselines.unet import InpaintingUNet, fit_inpainting_unet, unet_matching  # noqa: E402
from pixelflow.nca.inpainting import hidden_mse, neighbour_fill, random_known  # noqa: E402
from pixelflow.nca.model import count_parameters  # noqa: E402


def stripes(n, seed, size=16):
    """Vertical stripes two pixels wide at a random phase: a neighbour mean blurs them, a learned filler need not."""
    rng = np.random.default_rng(seed)
    x = np.arange(size)[None, None, :] + rng.integers(0, 4, (n, 1, 1))
    return ((x % 4) < 2).astype(np.float32).repeat(size, axis=1)


def _known(n, h, w, seed=0):
    return random_known(n, h, w, 0.5, torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("shape", [(28, 28), (13, 17), (8, 8)])
def test_any_image_size_comes_back_with_its_known_pixels_as_they_were(shape):
    images = torch.rand(3, *shape, generator=torch.Generator().manual_seed(1))
    known = _known(3, *shape)
    out = InpaintingUNet(width=3, levels=2, seed=0).inpaint(images, known)
    assert out.shape == (3, *shape)
    assert torch.equal(out[known], images[known])
    assert torch.all((out[~known] >= 0) & (out[~known] <= 1))


def test_an_image_is_filled_in_alone_and_the_same_seed_gives_the_same_network():
    images, known = torch.rand(4, 16, 16, generator=torch.Generator().manual_seed(2)), _known(4, 16, 16, 3)
    model = InpaintingUNet(width=4, seed=5)
    whole = model.inpaint(images, known)
    torch.testing.assert_close(model.inpaint(images[2:3], known[2:3])[0], whole[2], atol=1e-6, rtol=1e-6)
    torch.testing.assert_close(InpaintingUNet(width=4, seed=5).inpaint(images, known), whole, atol=0, rtol=0)


def test_the_matched_network_has_the_parameter_count_closest_to_the_target():
    for target in (2_000, 20_000, 60_000):
        model = unet_matching(target)
        best = abs(count_parameters(model) - target)
        for width in (model.width - 1, model.width + 1):
            if width >= 1:
                assert best <= abs(count_parameters(InpaintingUNet(width)) - target)
    assert count_parameters(InpaintingUNet(8)) > 3 * count_parameters(InpaintingUNet(4))


def test_training_learns_what_a_neighbour_mean_cannot():
    model = InpaintingUNet(width=4, seed=0)
    valid = (torch.from_numpy(stripes(8, 9)), _known(8, 16, 16, 9))
    out = fit_inpainting_unet(model, stripes(64, 0), iterations=150, batch_size=8, lr=3e-3, seed=0,
                              validation=valid, every=50)
    assert len(out["history"]) == 150 and [it for it, _ in out["validation"]] == [50, 100, 150]
    test = torch.from_numpy(stripes(16, 1))
    known = _known(16, 16, 16, 4)
    ours = hidden_mse(model.inpaint(test, known), test, known).mean()
    fill = hidden_mse(neighbour_fill(test, known), test, known).mean()
    assert ours < 0.1 * fill
    again = InpaintingUNet(width=4, seed=0)
    fit_inpainting_unet(again, stripes(64, 0), iterations=150, batch_size=8, lr=3e-3, seed=0)
    for p, q in zip(model.parameters(), again.parameters()):
        assert torch.equal(p, q)  # one seed behind every draw: the same weights


def test_training_stops_at_the_validation_plateau_and_a_process_can_train_and_test():
    from pixelflow.baselines.unet import fit_and_inpaint_unet

    valid = (torch.from_numpy(stripes(8, 9)), _known(8, 16, 16, 9))
    model = InpaintingUNet(width=4, seed=0)
    info = fit_inpainting_unet(model, stripes(64, 0), iterations=2000, batch_size=8, lr=3e-3, validation=valid,
                               every=25, patience=2, min_improvement=0.5)
    assert info["stopped_early"] and len(info["history"]) < 2000
    assert len(info["history"]) == info["validation"][-1][0]
    test, known = torch.from_numpy(stripes(4, 1)), _known(4, 16, 16, 1)
    again = InpaintingUNet(width=4, seed=0)
    trained, info2, estimates = fit_and_inpaint_unet(again, stripes(64, 0), test, known, iterations=2000,
                                                     batch_size=8, lr=3e-3, validation=valid, every=25, patience=2,
                                                     min_improvement=0.5)
    assert info2["validation"] == info["validation"] and torch.equal(estimates, model.inpaint(test, known))
    with pytest.raises(ValueError, match="patience needs validation"):
        fit_inpainting_unet(InpaintingUNet(width=2), stripes(8, 0), iterations=2, patience=1)


def test_the_inputs_a_user_will_type():
    model = InpaintingUNet(width=2)
    images, known = torch.rand(2, 8, 8), _known(2, 8, 8)
    with pytest.raises(ValueError, match="known must be a boolean mask of the images' shape"):
        model.inpaint(images, known[:, :4])
    with pytest.raises(ValueError, match="boolean mask"):
        model.inpaint(images, known.float())
    with pytest.raises(ValueError, match=r"\(N, H, W\)"):
        model.inpaint(images[0], known[0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.inpaint(images * 255, known)
    with pytest.raises(TypeError, match="InpaintingUNet"):
        fit_inpainting_unet(torch.nn.Identity(), images)
    with pytest.raises(ValueError, match="width"):
        InpaintingUNet(width=0)


def test_a_network_whose_output_starts_far_outside_the_range_still_learns():
    # Behind a sigmoid such a start gives no gradient and a constant fill for good; a linear output recovers.
    images, known = torch.from_numpy(stripes(8, 3)), _known(8, 16, 16, 5)
    model = InpaintingUNet(width=4, seed=0)
    with torch.no_grad():
        model.out.bias.fill_(-20.0)
    hidden_mse(model(torch.where(known, images, torch.zeros(())), known), images, known).mean().backward()
    assert model.out.bias.grad.abs() > 1.0  # a sigmoid's would be ~1e-8
    with torch.no_grad():
        model.out.bias.fill_(-1.0)  # every hidden pixel clipped to black, as a collapsed network fills them
    before = hidden_mse(model.inpaint(images, known), images, known).mean()
    fit_inpainting_unet(model, stripes(64, 0), iterations=100, batch_size=8, lr=3e-3, seed=0)
    assert hidden_mse(model.inpaint(images, known), images, known).mean() < 0.5 * before
