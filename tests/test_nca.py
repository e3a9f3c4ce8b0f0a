"""Neural CA: perception parity and analytic cases, update/model behaviour, training, checkpoints, rendering."""

import math
from functools import partial

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pixelflow.nca import (  # noqa: E402
    NCA,
    CellUpdate,
    ConvPerceive,
    FixedPerceive,
    NeighbourhoodAttention,
    SamplePool,
    StyleLoss,
    TextureTask,
    Trainer,
    attention_nca,
    conv_nca_matching,
    count_parameters,
    gram,
    load_model,
    overflow_loss,
    save_animation,
    save_model,
    texture_nca,
)
from pixelflow.nca.inpainting import (  # noqa: E402
    InpaintingTask,
    fit_and_inpaint,
    hidden_mse,
    image_generators,
    inpaint,
    masked_input,
    neighbour_fill,
    random_known,
)
from pixelflow.nca.perceive import (  # noqa: E402
    OFFSETS,
    _NeighbourhoodAttend,
    attend,
    circular_pad,
    fixed_perceive,
    neighbours,
)
from pixelflow.nca.resolution import radial_spectrum, spectrum_distance, upsample  # noqa: E402
from pixelflow.nca.style import RandomFeatures, feature_extractor  # noqa: E402
from pixelflow.nca.texture import disc_mask  # noqa: E402
from pixelflow.stencils import perceive as core_perceive  # noqa: E402


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# ------------------------------------------------------------------ perception
def test_fixed_perceive_equals_core_stencils():
    x = np.random.default_rng(0).standard_normal((2, 3, 9, 7))
    ours = FixedPerceive(3)(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, core_perceive(x, "periodic", np), atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(2, 3, 9, 7), (1, 1, 1, 5), (3, 2, 2, 1), (4, 12, 16, 16)])
@pytest.mark.parametrize("scale", [1.0, 2.0, 0.7])
def test_fixed_perceive_kernels_match_the_tensor_reference(dtype, shape, scale):
    # Forward: the same expressions in the same order, so the same values bit for bit. Backward: the adjoint,
    # equal to autograd of the reference up to the order of the sums.
    x = torch.randn(shape, generator=gen(1), dtype=dtype)
    g = torch.randn((shape[0], 4 * shape[1], *shape[2:]), generator=gen(2), dtype=dtype)
    x_ref, x_new = x.clone().requires_grad_(), x.clone().requires_grad_()
    ref = fixed_perceive(x_ref, scale)
    new = FixedPerceive(shape[1])(x_new, scale)
    assert new.grad_fn is not None and "FixedPerceive" in type(new.grad_fn).__name__  # the compiled path ran
    assert torch.equal(new, ref)
    ref.backward(g)
    new.backward(g)
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    torch.testing.assert_close(x_new.grad, x_ref.grad, rtol=tol, atol=tol * float(g.abs().max()))


def test_fixed_perceive_kernel_gradient_matches_finite_differences():
    x = torch.randn(2, 3, 5, 4, generator=gen(3), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: FixedPerceive(3)(t, 1.3), (x,))


def test_fixed_perceive_kernels_take_non_contiguous_states_and_leave_them_unchanged():
    x = torch.randn(2, 5, 6, 3, generator=gen(4)).permute(0, 3, 1, 2)  # (2, 3, 5, 6), not contiguous
    before = x.clone()
    torch.testing.assert_close(FixedPerceive(3)(x), fixed_perceive(x), rtol=0, atol=0)
    assert torch.equal(x, before)


def test_fixed_perceive_falls_back_to_the_reference_for_other_dtypes():
    x = torch.randn(1, 2, 6, 6, generator=gen(5)).to(torch.bfloat16)
    out = FixedPerceive(2)(x)
    assert out.dtype == torch.bfloat16 and torch.equal(out, fixed_perceive(x))


@pytest.mark.parametrize("s", [2, 4])
def test_fixed_perceive_scale_estimates_the_same_derivatives_on_a_finer_grid(s):
    # sin(2 pi x / P) sampled with spacing 1 and with spacing 1/s: the scaled
    # filters must give the same physical derivatives at the shared points.
    period = 32
    coarse_x = np.arange(period)
    fine_x = np.arange(period * s) / s

    def field(xs):
        return torch.tensor(np.sin(2 * math.pi * xs / period)[None, None, None, :].repeat(4, axis=2))

    coarse = FixedPerceive(1)(field(coarse_x))[0, :, 0]
    fine = FixedPerceive(1)(field(fine_x), scale=s)[0, :, 0, ::s]
    k = 2 * math.pi / period
    np.testing.assert_allclose(fine[1].numpy(), k * np.cos(k * coarse_x), atol=2e-3)  # sobel-x -> d/dx
    np.testing.assert_allclose(fine[3].numpy(), -k * k * np.sin(k * coarse_x), atol=2e-3)  # laplacian
    # the coarse grid's estimates agree with the fine ones to discretisation error
    np.testing.assert_allclose(coarse[1].numpy(), fine[1].numpy(), atol=2e-3)


def test_neighbours_follow_offsets_on_the_torus():
    x = torch.arange(20.0).reshape(1, 1, 4, 5)
    nb = neighbours(x)
    for i, (dy, dx) in enumerate(OFFSETS):
        np.testing.assert_array_equal(nb[0, 0, i].numpy(), torch.roll(x, (-dy, -dx), (2, 3))[0, 0].numpy())


def dense_attention(module, x):
    """Reference: full (HW x HW) attention with every non-neighbour masked out."""
    n, c, h, w = x.shape
    heads, d = module.heads, module.head_dim
    q, k, v = module.qkv(x).reshape(n, 3, heads, d, h * w).unbind(1)
    cells = torch.arange(h * w)
    ys, xs = cells // w, cells % w
    logits = torch.full((n, heads, h * w, h * w), -math.inf)
    values = torch.zeros(n, heads, h * w, h * w, d)
    for j, (dy, dx) in enumerate(OFFSETS):
        other = ((ys + dy) % h) * w + (xs + dx) % w
        key = k[..., other] + module.position[0][:, :, j, None]  # (n, heads, d, hw)
        logits[:, :, cells, other] = (q * key).sum(2) / math.sqrt(d)
        values[:, :, cells, other] = (v[..., other] + module.position[1][:, :, j, None]).transpose(2, 3)
    weights = torch.softmax(logits, dim=-1)
    out = (weights[..., None] * values).sum(3)  # (n, heads, hw, d)
    out = out.permute(0, 1, 3, 2).reshape(n, heads * d, h, w)
    return torch.cat([x, module.project(out)], dim=1)


def test_neighbourhood_attention_equals_dense_masked_attention():
    torch.manual_seed(0)
    module = NeighbourhoodAttention(5, heads=2, head_dim=3)
    x = torch.randn(2, 5, 6, 7)
    with torch.no_grad():
        np.testing.assert_allclose(module(x).numpy(), dense_attention(module, x).numpy(), atol=1e-5)
    # Training sees the same gradients too (for the state and every weight, offset embeddings included).
    x.requires_grad_(True)
    weights = torch.randn(2, module.out_channels, 6, 7)
    grads = [torch.autograd.grad((f(x) * weights).sum(), [x, *module.parameters()])
             for f in (module, partial(dense_attention, module))]
    for fast, dense in zip(*grads):
        np.testing.assert_allclose(fast.numpy(), dense.numpy(), atol=1e-5)


def _attention_inputs(dtype, n=2, heads=2, d=3, h=5, w=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    shapes = [(n, heads, d, h, w), (n, heads * d, h, w), (n, heads * d, h, w), (heads, d, 9), (heads, d, 9)]
    return [torch.randn(s, generator=g, dtype=dtype, requires_grad=True) for s in shapes]


def _compiled(q, k, v, pos_k, pos_v):
    return _NeighbourhoodAttend.apply(q, k, v, pos_k, pos_v)  # unpadded keys and values: the kernels wrap round


def _reference(q, k, v, pos_k, pos_v):
    return attend(q, circular_pad(k), circular_pad(v), pos_k, pos_v)


@pytest.mark.parametrize("h, w", [(5, 6), (1, 1), (1, 4), (4, 1), (2, 2), (2, 5), (3, 2), (1, 2)])
@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_compiled_attention_equals_the_tensor_reference(dtype, tol, h, w):
    # Values, and gradients for the unpadded keys and values against autograd through circular_pad and attend,
    # on grids where one row or column is its own neighbour (1) or both neighbours are the same cell (2).
    inputs = _attention_inputs(dtype, h=h, w=w)
    weight = torch.randn(2, 2, 3, h, w, dtype=dtype, generator=gen(1))
    results = []
    for f in (_compiled, _reference):
        out, attn = f(*inputs)
        results.append((out, attn, torch.autograd.grad((out * weight).sum(), inputs)))
    (out, attn, grads), (ref_out, ref_attn, ref_grads) = results
    np.testing.assert_allclose(out.detach().numpy(), ref_out.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(attn.numpy(), ref_attn.detach().numpy(), rtol=tol, atol=tol)
    for name, g, r in zip(("q", "k", "v", "pos_k", "pos_v"), grads, ref_grads):
        assert g.shape == r.shape and g.dtype == dtype, name
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=tol, atol=tol, err_msg=name)


@pytest.mark.parametrize("h, w", [(4, 3), (1, 3), (2, 1), (2, 2)])
def test_compiled_attention_gradients_match_finite_differences(h, w):
    assert torch.autograd.gradcheck(lambda *a: _compiled(*a)[0], _attention_inputs(torch.float64, h=h, w=w))


def test_compiled_attention_makes_no_padded_copy(monkeypatch):
    from pixelflow.nca import perceive

    torch.manual_seed(0)
    module = NeighbourhoodAttention(3, heads=2, head_dim=2)
    x = torch.randn(2, 3, 4, 5, requires_grad=True)
    expected = module(x)
    monkeypatch.setattr(perceive, "circular_pad", lambda t: pytest.fail("the compiled path padded a tensor"))
    out = module(x)
    assert torch.equal(out, expected)
    out.sum().backward()
    assert x.grad is not None and module.position.grad is not None


def test_attention_is_translation_equivariant_and_normalised():
    torch.manual_seed(1)
    module = NeighbourhoodAttention(4, heads=2, head_dim=4)
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        shifted = module(torch.roll(x, (3, -2), (2, 3)))
        np.testing.assert_allclose(shifted.numpy(), torch.roll(module(x), (3, -2), (2, 3)).numpy(), atol=1e-5)
        weights = module.attention(x)
    assert weights.shape == (1, 2, 9, 8, 8)
    np.testing.assert_allclose(weights.sum(2).numpy(), 1.0, atol=1e-6)


def test_perception_rejects_bad_arguments():
    with pytest.raises(ValueError, match="channels"):
        FixedPerceive(0)
    with pytest.raises(ValueError, match="scale"):
        FixedPerceive(2)(torch.zeros(1, 2, 4, 4), scale=0)
    with pytest.raises(ValueError, match="grid-refinement"):
        ConvPerceive(2, 4)(torch.zeros(1, 2, 4, 4), scale=2)
    with pytest.raises(ValueError, match="heads"):
        NeighbourhoodAttention(4, heads=0)


# ------------------------------------------------------------------ update and model
def test_untrained_rule_is_the_identity():
    model = attention_nca(channels=6, heads=2, head_dim=2, hidden=8)
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        np.testing.assert_array_equal(model(x, 5, generator=gen()).numpy(), x.numpy())


@pytest.mark.parametrize("hidden_layers", [1, 2])
def test_cell_update_without_gradients_equals_the_convolutions(monkeypatch, hidden_layers):
    import pixelflow.nca.update as update

    torch.manual_seed(0)
    module = CellUpdate(10, 4, hidden=12, hidden_layers=hidden_layers)
    torch.nn.init.normal_(module.net[-1].weight)  # the zero start would hide a wrong last layer
    torch.nn.init.normal_(module.net[-1].bias)
    x = torch.randn(3, 10, 7, 9)
    monkeypatch.setattr(update, "CELL_BLOCK", 16)  # 63 cells: three full blocks and a partial one per sample
    with torch.no_grad():
        fast = module(x)
    slow = module(x)  # gradients on: the 1x1 convolutions
    assert slow.requires_grad and not fast.requires_grad
    np.testing.assert_allclose(fast.numpy(), slow.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_cell_update_last_layer_starts_at_zero():
    upd = CellUpdate(8, 4, hidden=16, hidden_layers=2)
    last = upd.net[-1]
    assert not last.weight.any() and not last.bias.any()
    assert len([m for m in upd.net if isinstance(m, torch.nn.ReLU)]) == 2


def test_mean_field_step_adds_the_expected_increment_to_every_cell():
    model = texture_nca(channels=3, hidden=8, fire_rate=0.25)
    torch.nn.init.normal_(model.update.net[-1].weight, std=0.1, generator=gen())
    x = torch.randn(2, 3, 6, 6, generator=gen(1))
    with torch.no_grad():
        full = x + model.update(model.perceive(x))
        np.testing.assert_allclose(model.step(x, mean_field=True, dt=0.5).numpy(),
                                   (x + 0.125 * (full - x)).numpy(), atol=1e-6)


def test_fire_mask_selects_about_fire_rate_of_the_cells_and_is_reproducible():
    model = texture_nca(channels=4, hidden=8, fire_rate=0.3)
    torch.nn.init.constant_(model.update.net[-1].bias, 1.0)  # every firing cell grows by exactly 1
    x = torch.zeros(4, 4, 32, 32)
    with torch.no_grad():
        a = model.step(x, gen(5))
        b = model.step(x, gen(5))
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    fired = (a[:, 0] == 1).float().mean().item()
    assert abs(fired - 0.3) < 0.03
    assert torch.equal(a[:, :1].expand_as(a), a)  # a cell fires in all its channels or none


def test_alive_masking_clears_cells_with_no_living_neighbour():
    model = NCA(FixedPerceive(2), CellUpdate(8, 2, hidden=4), fire_rate=1.0, alive_channel=1, alive_threshold=0.1)
    x = torch.zeros(1, 2, 8, 8)
    x[0, :, 4, 4] = 1.0
    x[0, 0, 0, 0] = 0.7  # dead: its alive channel is 0 everywhere around
    out = model.step(x)
    assert out[0, 0, 4, 4] == 1.0 and out[0, 0, 0, 0] == 0.0


def test_same_seed_builds_same_model_whatever_the_global_rng():
    torch.manual_seed(123)
    a = attention_nca(channels=6, heads=2, head_dim=2, hidden=8, seed=3)
    torch.manual_seed(999)
    b = attention_nca(channels=6, heads=2, head_dim=2, hidden=8, seed=3)
    c = attention_nca(channels=6, heads=2, head_dim=2, hidden=8, seed=4)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_conv_nca_matching_is_closest_in_parameter_count():
    target = count_parameters(attention_nca(channels=16, heads=4, head_dim=8, hidden=96))
    model = conv_nca_matching(target, channels=16, hidden=96)
    per_channel = 9 * 16 + 1 + 96
    assert abs(count_parameters(model) - target) <= per_channel / 2
    assert model.spec["builder"] == "conv_nca"


def test_rollout_validates_state_and_steps():
    model = texture_nca(channels=4, hidden=8)
    with pytest.raises(ValueError, match=r"shape \(N, 4, H, W\)"):
        model(torch.zeros(1, 3, 8, 8), 2)
    with pytest.raises(ValueError, match="steps"):
        model(torch.zeros(1, 4, 8, 8), -1)
    with pytest.raises(ValueError, match="fire_rate"):
        texture_nca(channels=4, fire_rate=0)


# ------------------------------------------------------------------ pool
def test_pool_puts_highest_loss_first_and_commits():
    pool = SamplePool(torch.zeros(6, 1, 2, 2))
    pool.commit(torch.arange(6), torch.arange(6.0)[:, None, None, None].expand(6, 1, 2, 2),
                torch.tensor([0.1, 0.5, 0.3, 0.9, 0.2, 0.4]))
    idx, batch = pool.sample(6, gen())
    assert idx.tolist() == [3, 1, 5, 2, 4, 0]
    np.testing.assert_array_equal(batch[:, 0, 0, 0].numpy(), idx.float().numpy())
    batch[:] = -1  # a sampled batch is a copy
    assert pool.states.min() == 0
    with pytest.raises(ValueError, match="pool size"):
        pool.sample(7, gen())


# ------------------------------------------------------------------ training
class ConstantImage:
    """Grow a uniform value in channel 0 (a smooth loss any working trainer lowers)."""

    def __init__(self, channels=4, size=8, value=0.3):
        self.channels, self.size, self.value = channels, size, value

    def initial(self, n, generator):
        return torch.zeros(n, self.channels, self.size, self.size), None

    def loss(self, x, info=None):
        return ((x[:, 0] - self.value) ** 2).flatten(1).mean(1)

    def damage(self, x, generator):
        return torch.zeros_like(x)


def make_trainer(tmp_path=None, iterations=12, **kw):
    model = texture_nca(channels=4, hidden=16, seed=0)
    args = dict(iterations=iterations, batch_size=4, steps=(2, 5), pool_size=16, lr=1e-2, seed=7, progress=False,
                checkpoint=None if tmp_path is None else tmp_path / "ckpt.pt", checkpoint_every=4)
    args.update(kw)
    return Trainer(model, ConstantImage(), **args)


def weights(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_lowers_the_loss():
    tr = make_trainer(iterations=60, damage=1).fit()
    assert len(tr.history_) == 60 and tr.iteration_ == 60
    assert np.mean(tr.history_[-10:]) < 0.2 * np.mean(tr.history_[:3])


def test_training_is_deterministic_under_a_seed():
    a, b = make_trainer().fit(), make_trainer().fit()
    assert a.history_ == b.history_
    for k, v in weights(a.model).items():
        assert torch.equal(v, b.model.state_dict()[k])
    c = make_trainer(seed=8).fit()
    assert c.history_ != a.history_


class Interrupt(Exception):
    pass


def test_interrupted_training_resumes_to_the_same_result(tmp_path):
    straight = make_trainer().fit()

    tr = make_trainer(tmp_path)
    calls = {"n": 0}
    loss = tr.task.loss

    def failing_loss(x, info=None):
        calls["n"] += 1
        if calls["n"] == 10:  # dies in iteration 10; the checkpoint holds iteration 8
            raise Interrupt
        return loss(x, info)

    tr.task.loss = failing_loss
    with pytest.raises(Interrupt):
        tr.fit()
    resumed = make_trainer(tmp_path)  # a new process: fresh model, same settings
    resumed.fit()
    assert resumed.history_ == straight.history_
    for k, v in weights(straight.model).items():
        assert torch.equal(v, resumed.model.state_dict()[k])
    assert torch.equal(resumed.pool_.states, straight.pool_.states)


def test_validation_is_measured_on_schedule_and_patience_stops_at_the_plateau(tmp_path):
    seen = []

    def validate(model):
        seen.append(model.training)
        return 1.0  # never improves: a plateau from the start

    tr = make_trainer(iterations=12, validate=validate, validate_every=3).fit()
    assert [i for i, _ in tr.validation_] == [3, 6, 9, 12] and not tr.stopped_early_ and seen == [False] * 4
    stopped = make_trainer(iterations=40, validate=validate, validate_every=3, patience=2).fit()
    assert stopped.stopped_early_ and stopped.iteration_ == 9 and len(stopped.history_) == 9
    improving = iter([1.0, 0.5, 0.25, 0.2, 0.199, 0.1985, 0.5, 0.6])

    def better_then_flat(model):
        return next(improving)

    tr = make_trainer(iterations=40, validate=better_then_flat, validate_every=4, patience=2,
                      min_improvement=0.05).fit()
    # 0.2 improved on 0.25 by 20 %; 0.199 and then 0.1985 by less than 5 % on 0.2: stop after the sixth.
    assert tr.stopped_early_ and tr.iteration_ == 24


def test_a_training_stopped_early_resumes_as_stopped_and_validation_survives_interruption(tmp_path):
    def validate(model):
        return float(sum(p.abs().sum() for p in model.parameters())) + 1.0

    straight = make_trainer(validate=validate, validate_every=2).fit()
    tr = make_trainer(tmp_path, validate=validate, validate_every=2)
    calls = {"n": 0}
    loss = tr.task.loss

    def failing_loss(x, info=None):
        calls["n"] += 1
        if calls["n"] == 10:
            raise Interrupt
        return loss(x, info)

    tr.task.loss = failing_loss
    with pytest.raises(Interrupt):
        tr.fit()
    resumed = make_trainer(tmp_path, validate=validate, validate_every=2).fit()
    assert resumed.validation_ == straight.validation_ and resumed.history_ == straight.history_

    def flat(model):
        return 1.0

    early = make_trainer(tmp_path / "e", iterations=30, validate=flat, validate_every=2, patience=1).fit()
    assert early.stopped_early_ and early.iteration_ == 4
    again = make_trainer(tmp_path / "e", iterations=30, validate=flat, validate_every=2, patience=1).fit()
    assert again.stopped_early_ and again.iteration_ == 4 and again.history_ == early.history_


@pytest.mark.parametrize("kw, error", [({"validate": 3}, TypeError), ({"patience": 2}, ValueError),
                                       ({"validate": len, "validate_every": 0}, ValueError),
                                       ({"validate": len, "min_improvement": 1.5}, ValueError)])
def test_validation_settings_a_user_can_get_wrong(kw, error):
    with pytest.raises(error):
        make_trainer(**kw).fit()


def test_resume_refuses_a_checkpoint_of_another_setup(tmp_path):
    make_trainer(tmp_path).fit()
    # Only what differs is named, with a free path to train the new set-up beside the old one.
    with pytest.raises(ValueError) as err:
        make_trainer(tmp_path, lr=5e-3, batch_size=2).fit()
    message = str(err.value)
    assert "different training set-up (batch_size: 4 there, 2 here; lr: 0.01 there, 0.005 here)" in message
    assert "'seed'" not in message and "spec" not in message
    assert f"checkpoint={str(tmp_path / 'ckpt_2.pt')!r}" in message
    with pytest.raises(ValueError, match=r"\(spec\.kwargs\.hidden: 16 there, 8 here\)"):
        Trainer(texture_nca(channels=4, hidden=8, seed=0), ConstantImage(), iterations=12, batch_size=4,
                steps=(2, 5), pool_size=16, lr=1e-2, seed=7, progress=False, checkpoint=tmp_path / "ckpt.pt").fit()


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"iterations": 0}, "iterations"),
        ({"steps": (5, 2)}, "steps"),
        ({"pool_size": 2}, "pool_size"),
        ({"lr": 0}, "lr"),
        ({"damage": 4}, "damage"),
        ({"lr_drop_at": 1.5}, "lr_drop_at"),
    ],
)
def test_trainer_rejects_bad_settings(kw, match):
    with pytest.raises(ValueError, match=match):
        make_trainer(**kw).fit()


# ------------------------------------------------------------------ save / load / render
def test_saved_model_reloads_and_renders_identically(tmp_path):
    model = make_trainer(iterations=5).fit().model
    path = save_model(model, tmp_path / "m.pt", target="constant")
    again, extra = load_model(path)
    assert extra == {"target": "constant"}
    x = torch.zeros(1, 4, 8, 8)
    with torch.no_grad():
        np.testing.assert_array_equal(model(x, 6, generator=gen(1)).numpy(), again(x, 6, generator=gen(1)).numpy())
    with pytest.raises(ValueError, match="not a pixelflow neural-CA file"):
        torch.save({"x": 1}, tmp_path / "other.pt")
        load_model(tmp_path / "other.pt")


def test_gif_round_trip(tmp_path):
    from PIL import Image

    frames = np.linspace(0, 1, 5)[:, None, None] * np.ones((5, 6, 7))
    path = save_animation(frames, tmp_path / "a.gif", upscale=2)
    with Image.open(path) as im:
        assert im.n_frames == 5 and im.size == (14, 12)
        im.seek(4)
        assert np.asarray(im.convert("L")).min() == 255
    with pytest.raises(ValueError, match=".gif or .mp4"):
        save_animation(frames, tmp_path / "a.avi")


def test_mp4_is_written(tmp_path):
    pytest.importorskip("imageio_ffmpeg")
    frames = np.random.default_rng(0).random((4, 9, 9, 3))
    path = save_animation(frames, tmp_path / "a.mp4")
    assert path.stat().st_size > 100 and not list(tmp_path.glob(".*partial*"))


# ------------------------------------------------------------------ style
def test_sliced_wasserstein_loss_is_zero_on_the_target_and_leads_an_image_towards_it():
    from pixelflow.nca.style import SlicedWassersteinLoss
    from pixelflow.nca.textures import gray_scott_texture

    target = torch.as_tensor(gray_scott_texture(32, steps=1500))
    extractor = RandomFeatures(widths=(8, 16), seed=0)
    loss = SlicedWassersteinLoss(target, extractor, seed=0)
    assert float(loss(target[None, None])[0]) == 0.0
    noise = torch.rand(3, 1, 32, 32, generator=gen())
    values = loss(noise)
    assert values.shape == (3,) and torch.all(values > 0)
    torch.testing.assert_close(loss(noise[1:2])[0], values[1], atol=1e-6, rtol=1e-5)  # one image alone
    crops = torch.stack([target[:16, :16], target[16:, 16:]])[:, None]  # another size: read at its quantiles
    assert float(loss(crops).max()) < 0.3 * float(values.min())  # (their borders differ: reflect padding)
    x = noise[:1].clone().requires_grad_(True)
    opt = torch.optim.Adam([x], lr=0.05)
    first = float(loss(x.detach())[0])
    for _ in range(60):
        value = loss(x).sum()
        opt.zero_grad()
        value.backward()
        opt.step()
    assert float(loss(x.detach())[0]) < 0.2 * first
    same = SlicedWassersteinLoss(target, extractor, seed=0)
    other = SlicedWassersteinLoss(target, extractor, seed=1)
    assert torch.equal(same.directions[0], loss.directions[0])
    assert not torch.equal(other.directions[0], loss.directions[0])
    assert loss.directions[1].shape == (16, 32)  # twice the level's channels by default


def test_gram_is_translation_invariant_and_style_loss_zero_on_target():
    target = torch.rand(1, 32, 32, generator=gen())
    style = StyleLoss(target, RandomFeatures(widths=(8, 8), seed=0))
    assert style(target[None]).item() < 1e-10
    other = torch.rand(1, 1, 32, 32, generator=gen(1)) * 0.2
    assert style(other).item() > 0.1
    f = torch.randn(2, 3, 8, 8)
    np.testing.assert_allclose(gram(torch.roll(f, (2, 3), (2, 3))).numpy(), gram(f).numpy(), atol=1e-5)


def test_random_features_are_fixed_by_seed_and_frozen():
    a, b = RandomFeatures(seed=1), RandomFeatures(seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not any(p.requires_grad for p in a.parameters())


def test_feature_extractor_falls_back_to_random_without_vgg_weights(monkeypatch, tmp_path):
    monkeypatch.setenv("PIXELFLOW_VGG16", str(tmp_path / "missing.pth"))
    assert isinstance(feature_extractor(), RandomFeatures)
    with pytest.raises(ValueError, match="prefer"):
        feature_extractor("alexnet")


def test_vgg16_features_load_a_torchvision_layout_state_dict(monkeypatch, tmp_path):
    from pixelflow.nca.style import _VGG16_LAYOUT, VGG16Features

    state, width, i = {}, 3, 0
    for entry in _VGG16_LAYOUT:
        if entry == "M":
            i += 1
            continue
        state[f"features.{i}.weight"] = torch.randn(entry, width, 3, 3) * 0.01
        state[f"features.{i}.bias"] = torch.zeros(entry)
        width, i = entry, i + 2
    state["classifier.0.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "vgg.pth")
    monkeypatch.setenv("PIXELFLOW_VGG16", str(tmp_path / "vgg.pth"))
    ext = feature_extractor()
    assert isinstance(ext, VGG16Features)
    assert torch.equal(ext.features[0].weight, state["features.0.weight"])
    assert [f.shape[1] for f in ext(torch.rand(1, 1, 32, 32))] == [64, 128, 256, 512, 512]


def test_overflow_loss():
    x = torch.tensor([[0.5, -1.0, 1.0], [2.0, -3.0, 0.0]]).reshape(2, 1, 1, 3)
    np.testing.assert_allclose(overflow_loss(x).numpy(), [0.0, 1.0])


def test_texture_task_damage_clears_a_disc_on_the_torus():
    task = TextureTask(StyleLoss(torch.rand(16, 16), RandomFeatures(widths=(4,))), channels=4, size=16,
                       damage_radius=0.25)
    hit = task.damage(torch.ones(3, 4, 16, 16), gen())
    cleared = (hit[:, 0] == 0).float().sum((1, 2))
    assert torch.all((cleared > math.pi * 4**2 * 0.8) & (cleared < math.pi * 4**2 * 1.3))
    m = disc_mask(10, 10, torch.tensor([[0.0, 0.0]]), 1.5)
    assert m[0, 9, 9] and m[0, 1, 1] and not m[0, 2, 2]  # wraps across the corner


# ------------------------------------------------------------------ inpainting
def test_inpainting_constrain_keeps_known_pixels_and_mask():
    images = torch.rand(4, 6, 6, generator=gen()).numpy()
    task = InpaintingTask(images, channels=4, hidden=0.5)
    x, (targets, known) = task.initial(3, gen(1))
    moved = task.constrain(x + 5.0, (targets, known))
    assert torch.equal(moved[:, 0][known], targets[known])
    assert torch.equal(moved[:, 1], known.float())
    assert torch.all(moved[:, 0][~known] == 5.0) and torch.all(moved[:, 2:] == 5.0)
    assert abs(known.float().mean().item() - 0.5) < 0.15


def test_hidden_mse_counts_hidden_pixels_only():
    t = torch.zeros(1, 2, 2)
    known = torch.tensor([[[True, False], [True, True]]])
    est = torch.tensor([[[9.0, 2.0], [9.0, 9.0]]])
    assert hidden_mse(est, t, known).item() == 4.0


def test_neighbour_fill_is_exact_on_constant_images_and_fills_everything():
    images = torch.full((2, 10, 10), 0.6)
    known = random_known(2, 10, 10, 0.9, gen())
    filled = neighbour_fill(images, known)
    np.testing.assert_allclose(filled.numpy(), 0.6, atol=1e-6)
    ramp = torch.linspace(0, 1, 10).repeat(10, 1)[None]
    known = torch.zeros(1, 10, 10, dtype=torch.bool)
    known[0, :, ::2] = True
    est = neighbour_fill(ramp, known)
    inner = est[0, :, 1:-1:2] - ramp[0, :, 1:-1:2]
    assert inner.abs().max() < 1e-6  # between two known columns, the mean is the linear interpolation
    assert torch.equal(masked_input(ramp, known)[0, :, 1::2], torch.zeros(10, 5))


def test_biharmonic_fill_keeps_the_known_pixels_and_fills_smooth_images_far_better_than_neighbour_means():
    from pixelflow.nca.inpainting import biharmonic_fill

    y, x = np.mgrid[0:16, 0:16] / 15.0
    ramp = torch.as_tensor((0.2 + 0.3 * x + 0.4 * y)[None], dtype=torch.float32).repeat(2, 1, 1)
    known = random_known(2, 16, 16, 0.5, gen(2))
    ours = biharmonic_fill(ramp, known)
    assert ours.shape == ramp.shape and torch.equal(ours[known], ramp[known])
    error = (ours - ramp).abs().mean()
    assert error < 0.005 and error < 0.2 * (neighbour_fill(ramp, known) - ramp).abs().mean()
    with pytest.raises(ValueError, match="known must have"):
        biharmonic_fill(ramp, known[:, :8])


def test_psnr_and_ssim_score_whole_images_and_reward_the_truth():
    from pixelflow.nca.inpainting import psnr, ssim

    truth = torch.rand(3, 16, 16, generator=gen(3)).numpy()
    noisy = np.clip(truth + 0.1 * np.random.default_rng(0).standard_normal(truth.shape), 0, 1)
    assert np.all(psnr(truth, truth) == np.inf) and np.allclose(ssim(truth, truth), 1.0)
    mse = ((noisy - truth) ** 2).mean(axis=(1, 2))
    np.testing.assert_allclose(psnr(noisy, truth), -10 * np.log10(mse))
    assert np.all(ssim(noisy, truth) < 0.99) and np.all(ssim(noisy * 0 + 0.5, truth) < ssim(noisy, truth))
    for score in (psnr, ssim):
        with pytest.raises(ValueError, match=r"\(N, H, W\)"):
            score(truth[0], truth[0])


def test_inpainting_mse_is_a_picklable_held_out_loss_for_the_trainer():
    import pickle
    from functools import partial

    from pixelflow.nca.inpainting import inpainting_mse

    images = torch.rand(4, 7, 7, generator=gen(5)).numpy()
    known = random_known(4, 7, 7, 0.5, gen(6))
    model = attention_nca(channels=4, heads=1, head_dim=2, hidden=8)
    validate = pickle.loads(pickle.dumps(partial(inpainting_mse, images, known, 3, 0)))
    expected = hidden_mse(inpaint(model, images, known, 3, 0), torch.as_tensor(images), known).mean()
    assert validate(model) == pytest.approx(float(expected), rel=1e-6)
    tr = Trainer(model, InpaintingTask(images, 4), iterations=4, batch_size=2, steps=(2, 3), validate=validate,
                 validate_every=2, progress=False).fit()
    assert [i for i, _ in tr.validation_] == [2, 4]


def test_inpaint_with_untrained_rule_returns_the_masked_input():
    model = attention_nca(channels=4, heads=1, head_dim=2, hidden=8)
    images = torch.rand(3, 7, 7, generator=gen()).numpy()
    known = random_known(3, 7, 7, 0.5, gen(1))
    est, frames = inpaint(model, images, known, steps=4, seed=0, every=2)
    np.testing.assert_allclose(est.numpy(), masked_input(images, known).numpy())
    assert frames.shape == (3, 7, 7)
    with pytest.raises(ValueError, match="known must have"):
        inpaint(model, images, known[:2], steps=4, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        InpaintingTask(images * 3, channels=4)
    with pytest.raises(ValueError, match="hidden"):
        InpaintingTask(images, channels=4, hidden=1.0)


def test_an_inpainted_image_depends_neither_on_its_batch_nor_on_how_the_images_were_split():
    model = attention_nca(channels=4, heads=1, head_dim=2, hidden=8, seed=0)
    with torch.no_grad():  # a trained-looking rule: the last layer no longer zero
        model.update.net[-1].weight.normal_(0, 0.3, generator=gen(2))
        model.update.net[-1].bias.fill_(0.5)
    images = torch.rand(7, 6, 6, generator=gen()).numpy()
    known = random_known(7, 6, 6, 0.5, gen(1))
    whole = inpaint(model, images, known, steps=5, seed=3, batch_size=4)
    assert not torch.equal(whole, masked_input(images, known))  # the rule did fill something in
    assert torch.equal(inpaint(model, images, known, steps=5, seed=3, batch_size=3), whole)
    parts = [inpaint(model, images[a:b], known[a:b], steps=5, seed=3, first=a) for a, b in ((0, 2), (2, 7))]
    assert torch.equal(torch.cat(parts), whole)
    assert not torch.equal(inpaint(model, images, known, steps=5, seed=4, batch_size=4), whole)  # the seed matters
    gens = image_generators(3, 0, 2)
    with pytest.raises(ValueError, match="one per sample"):
        model.step(torch.zeros(3, 4, 6, 6), generator=gens)


def test_fit_and_inpaint_is_a_fit_then_an_inpaint_in_one_call():
    images = torch.rand(12, 6, 6, generator=gen()).numpy()
    task = InpaintingTask(images, channels=4)
    known = random_known(5, 6, 6, 0.5, gen(1))

    def trainer():
        return Trainer(conv_nca_matching(200, 4, hidden=8, seed=1), task, iterations=3, batch_size=4, steps=(2, 3),
                       seed=2, progress=False)

    separate = trainer().fit()
    fitted, estimates = fit_and_inpaint(trainer(), images[:5], known, 4, seed=7, batch_size=2)
    for a, b in zip(separate.model.parameters(), fitted.model.parameters()):
        assert torch.equal(a, b)
    assert torch.equal(estimates, inpaint(separate.model, images[:5], known, 4, seed=7, batch_size=2))


# ------------------------------------------------------------------ resolution transfer
def test_spectrum_peaks_at_the_same_physical_frequency_at_every_resolution():
    def stripes(size, period):
        return np.sin(2 * np.pi * np.arange(size) / period)[None, None, :].repeat(size, axis=1)

    f1, p1 = radial_spectrum(stripes(32, 8), factor=1)
    f2, p2 = radial_spectrum(stripes(64, 16), factor=2)
    assert (f1[np.argmax(p1)] == pytest.approx(1 / 8, abs=1 / 32)
            and f2[np.argmax(p2)] == pytest.approx(1 / 8, abs=1 / 64))
    assert p1.sum() == pytest.approx(1.0)
    assert spectrum_distance((f1, p1), (f1, p1)) == 0.0
    assert spectrum_distance((f2, p2), (f1, p1)) < spectrum_distance(radial_spectrum(stripes(32, 4)), (f1, p1))


def test_upsample_is_periodic_and_keeps_constants():
    np.testing.assert_allclose(upsample(torch.full((1, 4, 4), 0.3), 4).numpy(), 0.3, atol=1e-6)
    x = torch.rand(1, 6, 6, generator=gen())
    up = upsample(x, 2)
    assert up.shape == (1, 12, 12)
    np.testing.assert_allclose(upsample(torch.roll(x, 1, 2), 2).numpy(), torch.roll(up, 2, 2).numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="factor"):
        upsample(x, 0)


def test_transfer_methods_agree_at_k1_and_have_the_right_sizes():
    from pixelflow.nca.resolution import METHODS, transfer

    model = make_trainer(iterations=3).fit().model
    at_1 = {m: transfer(model, 8, 1, 6, m, n=2) for m in METHODS}
    for m, img in at_1.items():
        if "mean field" not in METHODS[m]:
            np.testing.assert_allclose(img, at_1["unscaled rule"], atol=1e-6, err_msg=m)
        assert transfer(model, 8, 2, 3, m, n=2).shape == (2, 16, 16)
    with pytest.raises(ValueError, match="method"):
        transfer(model, 8, 2, 3, "nearest")


# ------------------------------------------------------------------ textures and the texture workflow
def test_target_textures_are_deterministic_images_in_unit_range():
    from pixelflow.nca.textures import gray_scott_texture, package_texture

    a, b = gray_scott_texture(32, steps=800, seed=3), gray_scott_texture(32, steps=800, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (32, 32) and a.min() == 0.0 and a.max() == 1.0
    assert 0.1 < (a > 0.5).mean() < 0.9  # a pattern of both phases, not a flat field
    g = package_texture("gravel", 32, zoom_out=2)
    assert g.shape == (32, 32) and g.dtype == np.float32 and g.min() == 0.0 and g.max() == 1.0
    corner = package_texture("gravel", 32, zoom_out=2, origin=(0, 0))
    assert not np.array_equal(g, corner)
    with pytest.raises(ValueError, match="bundles"):
        package_texture("marble")
    with pytest.raises(ValueError, match="exceeds"):
        package_texture("gravel", 300, zoom_out=2)
    with pytest.raises(ValueError, match="does not fit"):
        package_texture("gravel", 64, zoom_out=4, origin=(300, 0))


def test_a_refined_gray_scott_texture_is_the_same_pattern_at_a_finer_resolution():
    from pixelflow.nca.resolution import radial_spectrum
    from pixelflow.nca.textures import gray_scott_texture

    coarse, fine = gray_scott_texture(48, refine=1), gray_scott_texture(48, refine=2)
    assert coarse.shape == (48, 48) and fine.shape == (96, 96) and fine.min() == 0.0 and fine.max() == 1.0
    peaks = []
    for image, k in ((coarse, 1), (fine, 2)):
        freq, power = radial_spectrum(image[None], factor=k)
        peaks.append(freq[np.argmax(power)])
    # The labyrinth's wavelength, in cells of the coarse grid, is the same: it is a length of the domain.
    assert abs(peaks[0] - peaks[1]) <= 1.5 / 48
    assert abs(coarse.mean() - fine.mean()) < 0.1  # both phases in like proportion
    with pytest.raises(ValueError, match="refine"):
        gray_scott_texture(16, refine=0)


def _positions(piece, field):
    """Every (row, col) where ``piece`` sits in ``field`` exactly."""
    size = piece.shape[0]
    windows = np.lib.stride_tricks.sliding_window_view(field, (size, size))
    return [tuple(int(v) for v in p) for p in np.argwhere((windows == piece).all(axis=(2, 3)))]


def test_independent_pieces_of_gravel_come_from_the_rest_of_the_photograph():
    from pixelflow.nca.texture import independent_pieces, target_texture
    from pixelflow.nca.textures import photograph_field

    field, (top, left, side) = photograph_field("gravel", 64, zoom_out=4)
    np.testing.assert_array_equal(field[top : top + side, left : left + side], target_texture("gravel"))
    pieces = independent_pieces("gravel", 48, 12, seed=1, max_shared=0.2)
    assert pieces.shape == (12, 48, 48) and pieces.dtype == np.float32
    assert pieces.min() >= 0.0 and pieces.max() <= 1.0
    np.testing.assert_array_equal(pieces, independent_pieces("gravel", 48, 12, seed=1, max_shared=0.2))
    for piece in pieces:
        (r, c), *_ = _positions(piece, field)
        shared = (max(0, min(r + 48, top + side) - max(r, top)) * max(0, min(c + 48, left + side) - max(c, left)))
        assert shared <= 0.2 * 48 * 48
    with pytest.raises(ValueError, match="shares at most 0%"):
        independent_pieces("gravel", 48, 2, max_shared=0.0)  # every 48-pixel piece overlaps the 64-pixel centre
    with pytest.raises(ValueError, match="exceeds"):
        independent_pieces("gravel", 200, 2)
    with pytest.raises(ValueError, match="unknown texture"):
        independent_pieces("marble", 16, 2)


def test_independent_pieces_of_gray_scott_are_grown_from_other_spots():
    from pixelflow.nca.texture import independent_pieces, target_texture

    pieces = independent_pieces("gray_scott", 32, 3, seed=2)
    assert pieces.shape == (3, 32, 32) and pieces.min() >= 0.0 and pieces.max() <= 1.0
    np.testing.assert_array_equal(pieces, independent_pieces("gray_scott", 32, 3, seed=2))
    assert not np.array_equal(pieces, independent_pieces("gray_scott", 32, 3, seed=3))
    target = target_texture("gray_scott")
    assert all(not _positions(p, target) for p in pieces)  # none is cut from the training image
    assert 0.1 < (pieces > 0.5).mean() < 0.9  # the labyrinth's two phases, not a flat field


def test_reference_scores_put_target_crops_below_noise_and_flat():
    from pixelflow.nca.texture import reference_scores
    from pixelflow.nca.textures import gray_scott_texture

    target = gray_scott_texture(48, steps=1500)
    score = StyleLoss(torch.as_tensor(target), RandomFeatures(widths=(8, 16), seed=1))
    ref = reference_scores(target, 24, score)
    assert ref["crops"] < ref["noise"] and ref["crops"] < ref["flat"]


def test_trajectory_scores_every_step_and_records_damage(tmp_path):
    from pixelflow.nca.texture import trajectory

    target = torch.rand(16, 16, generator=gen())
    task = TextureTask(StyleLoss(target, RandomFeatures(widths=(4,))), channels=4, size=16)
    model = texture_nca(channels=4, hidden=8)
    torch.nn.init.constant_(model.update.net[-1].bias, 0.1)
    out = trajectory(model, task, 6, task.style, n=2, damage_at=3, every=2)
    assert out["loss"].shape == (7,) and list(out["frame_steps"]) == [0, 2, 3, 4, 6]
    assert (out["frames"][2] == 0.5).any()  # the damaged disc reads as the empty grid's 0.5


def test_load_or_fit_reuses_a_model_only_for_the_same_recipe(tmp_path):
    from pixelflow.nca.texture import TextureRecipe, load_or_fit

    recipe = TextureRecipe(iterations=2, grid=8, channels=4, hidden=8, batch_size=2, steps=(2, 3), pool_size=4)
    ext = RandomFeatures(widths=(4,), seed=0)
    model, info, trained = load_or_fit("gravel", recipe, ext, tmp_path, progress=False)
    assert trained and len(info["history"]) == 2
    assert (tmp_path / "models" / "texture_nca_gravel_gram_seed0.pt").exists()
    again, _, trained = load_or_fit("gravel", recipe, ext, tmp_path, progress=False)
    assert not trained
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))
    # Another seed or another loss is another model, in its own file; the first stays.
    for change in ({"seed": 1}, {"loss": "sliced_wasserstein"}):
        other = TextureRecipe(**{**recipe.__dict__, **change})
        _, info, trained = load_or_fit("gravel", other, ext, tmp_path, progress=False)
        assert trained and info["recipe"] == other.__dict__
    assert len(list((tmp_path / "models").glob("*.pt"))) == 3


def test_load_or_fit_reads_a_model_saved_before_the_loss_was_a_setting(tmp_path):
    from pixelflow.nca.checkpoint import save_model
    from pixelflow.nca.texture import TextureRecipe, load_or_fit, model_path

    recipe = TextureRecipe(iterations=2, grid=8, channels=4, hidden=8, batch_size=2, steps=(2, 3), pool_size=4)
    ext = RandomFeatures(widths=(4,), seed=0)
    model = texture_nca(channels=4, hidden=8, seed=0)
    old = {k: v for k, v in recipe.__dict__.items() if k != "loss"}
    save_model(model, model_path(tmp_path, "gravel", recipe), recipe=old, extractor=ext.name, history=[1.0],
               wall_time_s=1.0)
    _, _, trained = load_or_fit("gravel", recipe, ext, tmp_path, progress=False)
    assert not trained  # no loss recorded: the Gram loss, which is this recipe's
    swd = TextureRecipe(**{**recipe.__dict__, "loss": "sliced_wasserstein"})
    assert model_path(tmp_path, "gravel", swd) != model_path(tmp_path, "gravel", recipe)


def test_texture_recipe_names_an_unknown_loss():
    from pixelflow.nca.texture import TextureRecipe

    with pytest.raises(ValueError, match="one of gram, sliced_wasserstein, got 'wasserstein'"):
        TextureRecipe(loss="wasserstein")


def test_texture_loss_builds_the_named_loss_on_the_target():
    from pixelflow.nca.style import SlicedWassersteinLoss, texture_loss

    target = torch.rand(16, 16, generator=torch.Generator().manual_seed(0))
    ext = RandomFeatures(widths=(4, 8), seed=0)
    for kind, cls in (("gram", StyleLoss), ("sliced_wasserstein", SlicedWassersteinLoss)):
        loss = texture_loss(kind, target, ext)
        assert type(loss) is cls
        direct = cls(target, ext)(target[None, None])
        assert torch.equal(loss(target[None, None]), direct) and float(direct) < 1e-6  # the target is its own floor
    with pytest.raises(ValueError, match="unknown texture loss 'vgg'"):
        texture_loss("vgg", target, ext)


def test_model_docstring_example_runs():
    import doctest

    import pixelflow.nca.model as module

    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
