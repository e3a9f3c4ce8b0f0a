"""The cpu backend's compiled single updates give the rule functions' states bit for bit."""

import numpy as np
import pytest

from pixelflow import Reservoir, ReservoirConfig, register_rule
from pixelflow.backends import get_backend
from pixelflow.backends.cpu import steps
from pixelflow.engine import Engine
from pixelflow.rules import get_rule

# (rule, channels, rule params): every boundary and parameter form the kernels branch on.
CASES = [
    ("wave", 4, {}),
    ("wave", 5, {"boundary": "absorbing", "c": 0.3, "damping": 0.97, "dt": 0.9}),
    ("wave", 4, {"clip": 0.0, "damping": 1.0}),
    ("wave", 2, {"clip": 0.4, "dt": 0.5, "c": "field"}),
    ("wave", 4, {"boundary": "absorbing", "sponge": 2, "c": "field"}),
    ("diffusion_reaction", 4, {}),
    ("diffusion_reaction", 5, {"boundary": "zero", "feed": 0.037, "kill": 0.06, "du": 0.21, "dv": 0.105, "dt": 1.1}),
    ("life_like", 2, {}),
    ("life_like", 3, {"rule": "B36/S23", "threshold": 0.3, "boundary": "zero"}),
    ("life_like", 1, {"rule": "B1357/S1357", "threshold": 0.7}),
]


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def engines(rule, channels, params, dtype, h=7, w=9):
    if params.get("c") == "field":
        params = {**params, "c": np.random.default_rng(5).uniform(0.2, 0.6, (h, w))}
    cfg = ReservoirConfig(width=w, height=h, channels=channels, steps=1, rule=rule, rule_params=params, dtype=dtype)
    out = []
    for backend in ("numpy", "cpu"):
        engine = Engine(cfg, backend)
        engine.prepare((h, w))
        out.append(engine)
    return out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("rule, channels, params", CASES)
def test_compiled_updates_equal_the_rule_functions_bit_for_bit(rule, channels, params, dtype):
    reference, compiled = engines(rule, channels, params, dtype)
    assert reference.step_kernel is None and compiled.step_kernel is steps.STEPS[rule]
    rng = np.random.default_rng(0)
    state = rng.uniform(-0.5, 1.0, (3, channels, 7, 9)).astype(dtype)
    if rule != "wave":
        state = np.abs(state)
    drive = np.zeros((3, 1, 7, 9), dtype=dtype)
    ctx_ref = reference.context(drive[:, 0])
    ctx = compiled.context(drive[:, 0])
    a = b = state
    for _ in range(12):  # chained, so every update starts from states the rule itself made
        a, b = reference.step(a, ctx_ref), compiled.step(b, ctx)
        assert a.dtype == b.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(bits(a), bits(b))


def test_a_wave_without_clipping_keeps_its_non_finite_values_as_numpy_does():
    reference, compiled = engines("wave", 2, {"clip": 0.0}, "float32")
    state = np.zeros((1, 2, 7, 9), dtype=np.float32)
    state[0, 0, 3, 3], state[0, 1, 2, 2] = np.inf, -np.inf
    ctx = compiled.context(np.zeros((1, 7, 9), dtype=np.float32))
    with np.errstate(invalid="ignore", over="ignore"):
        np.testing.assert_array_equal(bits(reference.step(state, ctx)), bits(compiled.step(state, ctx)))


def test_only_unchanged_builtins_with_a_compiled_update_get_one():
    cpu = get_backend("cpu")
    assert cpu.step_kernel(get_rule("random_nca")) is None  # numpy's vectorised tanh is not reproduced
    assert get_backend("numpy").step_kernel(get_rule("wave")) is None
    original = get_rule("wave")
    # Re-registered under the built-in name with the same hooks but another step: the user's rule runs.
    register_rule("wave", lambda s, ctx: s, params=original.params, init=original.init, build=original.build,
                  overwrite=True)
    try:
        assert cpu.step_kernel(get_rule("wave")) is None
        assert Engine(ReservoirConfig(rule="wave"), "cpu").step_kernel is None
    finally:
        register_rule(original, overwrite=True)
    assert cpu.step_kernel(get_rule("wave")) is steps.wave


@pytest.mark.parametrize("rule, channels, write", [("wave", 4, "add"), ("diffusion_reaction", 4, "replace"),
                                                   ("life_like", 2, "xor")])
def test_driven_runs_on_the_cpu_backend_equal_the_numpy_path(rng, rule, channels, write):
    cfg = ReservoirConfig(width=8, height=8, channels=channels, steps=2, rule=rule, input_encoding="mask",
                          encoder_params={"density": 0.3, "weights": "positive"}, seed=1)
    U = rng.random((2, 60, 3))
    np.testing.assert_array_equal(Reservoir(cfg, backend="cpu").run(U, write=write),
                                  Reservoir(cfg, backend="numpy").run(U, write=write))
