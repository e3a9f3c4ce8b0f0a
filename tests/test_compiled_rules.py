"""A user's rule on the cpu backend runs as a kernel compiled from its function, with the function's features.

Each rule below is registered as a user would and run twice: on ``cpu``
(compiled) and on ``numpy`` (the function as written, the reference). The
compiled features must equal the reference's (bit for bit where only
arithmetic is involved; within 1e-5 where a transcendental function or a
channel mix is), the same sample must give the same row in any batch, and a
rule the compiler cannot reproduce must run its function and say why.
"""

import numpy as np
import pytest

from pixelflow import Reservoir, ReservoirConfig, register_rule, stencils
from pixelflow.backends.cpu import compiled
from pixelflow.rules import unregister_rule
from pixelflow.rules.pairs import join_pairs, split_pairs
from pixelflow.rules.registry import Grid, Rule
from pixelflow.rules.trace import TraceError, trace_rule
from pixelflow.workbook.user_rules_bench import CPU_FUNCTIONS, HAND_FUSED, heat, lenia_like, register_user_rules


@pytest.fixture
def images():
    return np.random.default_rng(3).random((23, 12, 12)).astype(np.float32)


@pytest.fixture
def registered():
    names = []

    def add(name, step, **kwargs):
        register_rule(name, step, overwrite=True, **kwargs)
        names.append(name)
        return name

    yield add
    for name in names:
        unregister_rule(name)


def both(name, X, channels=4, steps=3, **config):
    cfg = ReservoirConfig(12, 12, channels, steps, name, record=tuple(range(steps + 1)), seed=1, **config)
    fast, ref = Reservoir(cfg, "cpu", progress=False), Reservoir(cfg, "numpy", progress=False)
    return fast, fast.transform(X), ref.transform(X)


# ---------------------------------------------------------------- rules that compile


def _pairs(state, ctx):
    u, v = split_pairs(state)
    uvv = u * v * v
    lap_u = stencils.laplacian(u, "edge", ctx.xp)
    return join_pairs(state, u + 0.2 * lap_u - uvv, v + uvv - 0.05 * v)


def _threshold(state, ctx):
    xp = ctx.xp
    alive = state >= 0.5
    n = stencils.moore_sum(alive.astype(state.dtype), "zero", xp)
    born = (n > 2.5) & (n < 3.5)
    return xp.where(born | (alive & (n > 1.5)), xp.minimum(state + 0.25, 1.0), state * 0.5)


def _channel_mean(state, ctx):
    xp = ctx.xp
    m = state.mean(axis=1, keepdims=True)
    s = xp.sum(state, axis=1, keepdims=True)
    return xp.tanh(state - m) + 0.01 * s + ctx.weights["scale"] * ctx.drive[:, :1]


def _mix(state, ctx):
    xp = ctx.xp
    mixed = xp.einsum("oc,nchw->nohw", ctx.weights["w"], stencils.shift(state, 1, 0, "periodic", xp))
    return 0.9 * state + 0.1 * xp.tanh(mixed + ctx.weights["b"])


def _mix_build(params, grid, rng):
    return {"w": rng.normal(size=(grid.channels, grid.channels)) / grid.channels,
            "b": rng.normal(size=(grid.channels, 1, 1))}


def _own_init(drive, ctx):
    xp = ctx.xp
    state = xp.zeros((drive.shape[0], ctx.grid.channels, *drive.shape[2:]), dtype=drive.dtype)
    state[:, 1:2] = drive
    state[:, 2:3, 3:9, 3:9] = 0.5
    return state


def _stacked(state, ctx):
    xp = ctx.xp
    a, b = state[:, 0], state[:, 1]
    first = xp.stack([a * b, xp.sqrt(xp.abs(a - b))], axis=1)
    rest = xp.roll(state[:, 2:], 3, axis=-1) ** 2 - np.float64(0.1) * state[:, 2:]
    return xp.concatenate([first, rest], axis=1)


CASES = {
    "heat": (heat, {"params": {"rate": 0.2}}, {}),
    "lenia_like": (lenia_like, {"params": {"mu": 0.3, "sigma": 0.05, "dt": 0.1}}, {}),
    "pairs": (_pairs, {}, {}),
    "threshold": (_threshold, {}, {}),
    "channel_mean": (_channel_mean, {"build": lambda p, g, rng: {"scale": np.linspace(0, 1, g.width)}}, {}),
    "mix": (_mix, {"build": _mix_build}, {}),
    "own_init": (lambda s, ctx: s + 0.1 * stencils.laplacian(s, "zero", ctx.xp), {"init": _own_init}, {}),
    "stacked": (_stacked, {}, {}),
}
# Bit for bit where the rule is arithmetic only; exp/tanh/sqrt come from another math library, a mix sums in
# another order.
EXACT = {"heat", "pairs", "threshold", "own_init"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_user_rule_is_compiled_and_gives_the_functions_features(case, images, registered):
    step, kwargs, config = CASES[case]
    name = registered(f"user_{case}", step, **kwargs)
    fast, got, want = both(name, images, **config)
    assert fast.rule_path == "compiled", fast.engine.rule_path_note
    if case in EXACT:
        np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert np.ptp(want) > 0  # the rule did something


def test_a_sample_gets_the_same_features_in_any_batch(images, registered):
    name = registered("user_lenia", lenia_like, params={"mu": 0.3, "sigma": 0.05, "dt": 0.1})
    res = Reservoir(ReservoirConfig(12, 12, 4, 5, name, record=(2, 5)), "cpu", progress=False)
    whole = res.transform(images)
    assert res.rule_path == "compiled"
    for rows in (slice(0, 1), slice(5, 9), slice(22, 23)):
        np.testing.assert_array_equal(res.transform(images[rows]), whole[rows])
    np.testing.assert_array_equal(res.transform(images[::-1])[::-1], whole)


def test_provenance_says_which_path_ran(images, registered):
    name = registered("user_heat", heat, params={"rate": 0.2})
    res = Reservoir(ReservoirConfig(12, 12, 2, 2, name), "cpu", progress=False)
    assert res.provenance()["rule_path"] == "function"  # decided on first use
    res.transform(images[:2])
    p = res.provenance()
    assert p["rule_path"] == "compiled" and p["rule_path_note"].startswith("compiled from the rule function")
    assert "fused kernels" not in p["device"]
    assert Reservoir(ReservoirConfig(12, 12, 2, 2, "wave"), "cpu").provenance()["rule_path"] == "fused"
    numpy_run = Reservoir(ReservoirConfig(12, 12, 2, 2, name), "numpy", progress=False)
    numpy_run.transform(images[:2])
    assert numpy_run.provenance()["rule_path"] == "function"
    assert "numpy" in numpy_run.provenance()["rule_path_note"]


# ---------------------------------------------------------------- rules that do not, and say why


def _decides(state, ctx):
    if state.max() > 0.5:  # a decision on the values, taken for the whole batch
        return state * 0.5
    return state


def _mixes_samples(state, ctx):
    return state - state.mean()


def _writes_a_view(state, ctx):
    out = state.copy()
    first = out[:, 0:1]
    first[...] = 0.0
    return out


def _unknown_function(state, ctx):
    return ctx.xp.cumsum(state, axis=-1) * 0.1


REFUSED = {"_decides": (_decides, "decides on array values"),
           "_mixes_samples": (_mixes_samples, "mix samples"),
           "_writes_a_view": (_writes_a_view, "view"),
           "_unknown_function": (_unknown_function, "xp.cumsum is not supported")}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_a_rule_the_compiler_cannot_reproduce_runs_its_function_and_says_why(case, images, registered):
    step, why = REFUSED[case]
    name = registered(f"user{case}", step)
    fast, got, want = both(name, images)
    assert fast.rule_path == "function"
    assert why in fast.engine.rule_path_note, fast.engine.rule_path_note
    np.testing.assert_array_equal(got, want)


def test_a_kernel_that_disagrees_with_the_function_on_the_probe_is_not_used(images, registered, monkeypatch):
    """The probe check is what stands between a compiler bug and wrong features."""
    monkeypatch.setitem(compiled._UNARY, "tanh", "np.tanh(2 * {})")
    name = registered("user_mix", _mix, build=_mix_build)
    fast, got, want = both(name, images)
    assert fast.rule_path == "function" and "differed" in fast.engine.rule_path_note
    np.testing.assert_array_equal(got, want)


def test_the_cpu_backend_without_compilation_runs_the_function(images, registered):
    name = registered("user_heat", heat, params={"rate": 0.2})
    res = Reservoir(ReservoirConfig(12, 12, 2, 2, name), CPU_FUNCTIONS, progress=False)
    res.transform(images[:3])
    assert res.rule_path == "function" and "runs rule functions" in res.engine.rule_path_note


def test_a_recording_of_channel_products_runs_the_function(images, registered):
    name = registered("user_heat", heat, params={"rate": 0.2})
    fast, got, want = both(name, images, channels=2, feature_maps=("state", "products"))
    assert fast.rule_path == "function" and "feature maps" in fast.engine.rule_path_note
    np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- the tracer


def _trace(step, channels=2, **kwargs):
    rule = Rule("t", step, **kwargs)
    return trace_rule(rule, rule.resolve({}), {}, Grid(channels, 6, 6, 1), np.dtype("float32"))


def test_tracing_follows_numpys_promotion():
    assert _trace(lambda s, ctx: s * 0.5).step.dtype == np.float32
    # A NumPy float64 scalar is not weak: NumPy computes in float64 and the engine casts back.
    graph = _trace(lambda s, ctx: s * np.float64(0.5))
    assert graph.step.op == "cast" and graph.step.args[0].dtype == np.float64


@pytest.mark.parametrize("step, message", [
    (lambda s, ctx: s[:, :, 1:], "only channels may be selected"),
    (lambda s, ctx: s @ s, "not supported"),
    (lambda s, ctx: s.sum(), "batch axis"),
    (lambda s, ctx: np.asarray(s) + 1, "NumPy array"),
    (lambda s, ctx: s[:, 0], "did not return an array of the state's shape"),
    (lambda s, ctx: ctx.xp.roll(s, 1, axis=0), "batch axis"),
])
def test_tracing_refuses_with_a_reason(step, message):
    with pytest.raises(TraceError, match=message):
        _trace(step)


# ---------------------------------------------------------------- the hand-fused references of the benchmark


@pytest.mark.parametrize("rule", sorted(HAND_FUSED))
def test_the_hand_fused_benchmark_kernels_equal_their_rule_functions(rule, images):
    register_user_rules()
    cfg = ReservoirConfig(12, 12, 4, 4, rule, record=(1, 2, 3, 4), seed=0)
    res = Reservoir(cfg, "numpy", progress=False)
    want = res.transform(images)
    engine = res.engine
    ctx = engine.context(images)
    got = np.empty_like(want)
    HAND_FUSED[rule](ctx.drive, ctx, cfg.recording, got)
    tolerance = 1e-6 if rule == "lenia_like" else 0  # exp from another math library
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance)


def test_a_first_call_that_fails_leaves_no_kernel_compiled_for_its_shape(registered):
    name = registered("user_heat", heat, params={"rate": 0.2})
    res = Reservoir(ReservoirConfig(12, 12, 3, 2, name), "cpu", progress=False)
    rgb = np.full((2, 12, 12, 3), 3e38, np.float32)  # three input channels; the Laplacian overflows
    with pytest.raises(ValueError, match="not finite"):
        res.transform(rgb)
    assert res.rule_path == "function" and res.engine.kernel is None
    X = np.random.default_rng(0).random((4, 12, 12)).astype(np.float32)
    np.testing.assert_array_equal(res.transform(X), Reservoir(res.config, "numpy", progress=False).transform(X))
    assert res.rule_path == "compiled"
