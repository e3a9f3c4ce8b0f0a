"""Extension points that look alike: rules, encoders and backends registered the same way; one kernel table."""

import importlib

import numpy as np
import pytest

import pixelflow
from pixelflow import ArrayBackend, Encoder, Param, Reservoir, ReservoirConfig
from pixelflow.backends import KernelLibrary, available_backends, get_backend, register_backend, unregister_backend
from pixelflow.backends.fused import BUILTINS, KERNELS, kernel_module
from pixelflow.encoders import get_encoder
from pixelflow.rules import get_rule


def test_every_extension_point_is_public_and_exported():
    for name in ("register_rule", "register_encoder", "register_backend", "Encoder", "ArrayBackend"):
        assert name in pixelflow.__all__ and getattr(pixelflow, name)


def test_a_registered_encoder_is_used_by_name():
    def negate(x, params, fixed, grid_hw, xp):
        planes = xp.asarray(x, dtype=x.dtype).reshape(len(x), 1, *grid_hw)
        return -params.gain * planes

    pixelflow.register_encoder(Encoder("negated", negate, {"gain": Param(1.0, "scale", low=0.0)}))
    try:
        X = np.random.default_rng(0).random((3, 8, 8))
        ours = Reservoir(ReservoirConfig(8, 8, 2, 0, "wave", input_encoding="negated")).transform(X)
        tile = Reservoir(ReservoirConfig(8, 8, 2, 0, "wave")).transform(X)
        np.testing.assert_allclose(ours, -tile, rtol=1e-6)
        with pytest.raises(ValueError, match="already registered"):
            pixelflow.register_encoder(Encoder("negated", negate))
    finally:
        from pixelflow import encoders

        encoders.unregister_encoder("negated")
    with pytest.raises(ValueError, match="unknown input_encoding 'negated'"):
        get_encoder("negated")


class _Counting:
    """A kernel library without fused kernels that counts what the reservoir asks it."""

    calls = 0

    @classmethod
    def fused_kernel(cls, rule):
        cls.calls += 1
        return None

    @staticmethod
    def chunk_threads():
        return 1

    @staticmethod
    def describe():
        return "counting library"


def test_a_registered_backend_runs_a_reservoir_and_its_library_is_checked(monkeypatch):
    import sys
    import types

    module = types.ModuleType("counting_library")
    for name in ("fused_kernel", "chunk_threads", "describe"):
        setattr(module, name, getattr(_Counting, name))
    monkeypatch.setitem(sys.modules, "counting_library", module)
    register_backend("counting", lambda name: ArrayBackend(name, np, kernels="counting_library"))
    try:
        assert "counting" in available_backends()
        assert isinstance(get_backend("counting").library(), KernelLibrary)
        X = np.random.default_rng(1).random((4, 8, 8))
        cfg = ReservoirConfig(8, 8, 2, 3, "wave")
        res = Reservoir(cfg, backend="counting")
        np.testing.assert_array_equal(res.transform(X), Reservoir(cfg, backend="numpy").transform(X))
        assert _Counting.calls >= 1 and res.provenance()["device"] == "counting library"
        with pytest.raises(ValueError, match="a backend named 'counting' is already registered"):
            register_backend("counting", lambda name: ArrayBackend(name, np))
        # A library that lacks part of the contract is named, with what it lacks.
        del module.describe
        with pytest.raises(TypeError, match="kernel library 'counting_library' of backend 'counting' lacks describe"):
            Reservoir(cfg, backend="counting")
    finally:
        unregister_backend("counting")
    with pytest.raises(ValueError, match="unknown backend 'counting'"):
        get_backend("counting")


def test_a_factory_must_return_an_array_backend():
    register_backend("broken", lambda name: object())
    try:
        with pytest.raises(TypeError, match="the factory of backend 'broken' returned object, not an ArrayBackend"):
            get_backend("broken")
    finally:
        unregister_backend("broken")
    with pytest.raises(TypeError, match="factory must be callable"):
        register_backend("x", "not callable")


def test_the_kernel_table_names_modules_after_their_rules_and_nothing_else():
    assert set(KERNELS) <= set(BUILTINS)
    for rule_name, libraries in KERNELS.items():
        rule = get_rule(rule_name)
        for library in libraries:
            name = kernel_module(rule, library)
            assert name == f"pixelflow.backends.{library}.{rule_name}"
            spec = importlib.util.find_spec(name)
            assert spec is not None, name
        for library in {"cpu", "cuda", "gl"} - set(libraries):
            assert kernel_module(rule, library) is None
    # The cpu library's kernels are exactly the table's.
    cpu = get_backend("cpu")
    for rule_name in BUILTINS:
        assert (cpu.fused_kernel(get_rule(rule_name)) is not None) == ("cpu" in KERNELS[rule_name])


def test_a_rule_re_registered_under_a_builtin_name_gets_no_kernel():
    wave = get_rule("wave")
    from dataclasses import replace

    changed = replace(wave, step=lambda state, ctx: wave.step(state, ctx))
    assert kernel_module(changed, "cpu") is None and kernel_module(wave, "cpu") is not None
