"""The feature cache: a hit is the computation bit for bit, keyed by everything that can change features."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pixelflow import ReservoirConfig
from pixelflow.stack import ReservoirStack, StackConfig, make_reservoir
from pixelflow.workbook import feature_cache
from pixelflow.workbook.protocols import Candidate, evaluate, ridge_grid, search


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(feature_cache.CACHE_ENV_VAR, str(tmp_path / "cache"))
    monkeypatch.delenv(feature_cache.SIZE_ENV_VAR, raising=False)
    calls, rows = [], []
    real = feature_cache.make_reservoir

    def counting(config, **kw):
        calls.append(config)
        reservoir = real(config, **kw)
        transform = reservoir.transform
        reservoir.transform = lambda X: rows.append(len(X)) or transform(X)
        return reservoir

    monkeypatch.setattr(feature_cache, "make_reservoir", counting)
    return types_namespace(dir=tmp_path / "cache", calls=calls, rows=rows)


def types_namespace(**kw):
    import types

    return types.SimpleNamespace(**kw)


CFG = ReservoirConfig(width=12, height=12, channels=4, steps=2, rule="random_nca", pool=3,
                      encoder_params={"normalize": "sample"})


def _images(rng, n=7):
    return rng.random((n, 10, 10)).astype(np.float32)


def test_a_hit_is_the_computation_bit_for_bit_and_computes_nothing(cache, rng):
    X = _images(rng)
    direct = make_reservoir(CFG, progress=False).transform(X)
    cache.calls.clear()
    first = feature_cache.features(CFG, X)
    second = feature_cache.features(CFG, X)
    assert first.tobytes() == direct.tobytes() and second.tobytes() == direct.tobytes()
    assert second.dtype == np.float32 and second.flags.writeable
    assert len(cache.calls) == 1
    assert any(cache.dir.rglob("*")), "the entry is on disk"


def test_the_input_is_keyed_as_the_reservoir_sees_it(cache, rng):
    X = _images(rng).astype(np.float64)
    feature_cache.features(CFG, X)
    # The same values as float32, and as a strided view: the same features, no new computation.
    feature_cache.features(CFG, X.astype(np.float32))
    big = np.zeros((7, 10, 20), dtype=np.float32)
    big[:, :, ::2] = X
    feature_cache.features(CFG, big[:, :, ::2])
    assert len(cache.calls) == 1


@pytest.mark.parametrize("change", ["seed", "steps", "data", "backend", "code"])
def test_anything_that_changes_features_is_a_miss(cache, rng, monkeypatch, change):
    X = _images(rng)
    base = feature_cache.features(CFG, X)
    cfg, backend = CFG, "cpu"
    if change == "seed":
        cfg = dataclasses.replace(CFG, seed=1)
    elif change == "steps":
        cfg = dataclasses.replace(CFG, steps=3)
    elif change == "data":
        X = X.copy()
        X[3, 4, 4] += 0.5
    elif change == "backend":
        backend = "numpy"
    else:
        monkeypatch.setattr(feature_cache, "feature_code_hash", lambda: "other feature code")
    again = feature_cache.features(cfg, X, backend)
    assert len(cache.calls) == 2
    if change in ("backend", "code"):
        assert again.tobytes() == base.tobytes()  # the same features, found again by computing them
    else:
        assert again.tobytes() != base.tobytes()


def test_off_bypasses_the_cache(cache, rng, monkeypatch):
    monkeypatch.setenv(feature_cache.CACHE_ENV_VAR, "off")
    X = _images(rng)
    feature_cache.features(CFG, X)
    feature_cache.features(CFG, X)
    assert len(cache.calls) == 2 and not cache.dir.exists()


def test_the_cache_is_kept_under_its_size_limit(cache, rng, monkeypatch):
    monkeypatch.setenv(feature_cache.SIZE_ENV_VAR, str(30_000 / 2**30))  # about 30 kB: one entry of ~18 kB
    X = _images(rng)
    for seed in range(4):
        feature_cache.features(dataclasses.replace(CFG, seed=seed), X)
    size = sum(p.stat().st_size for p in cache.dir.rglob("*") if p.is_file())
    assert size <= 30_000
    feature_cache.features(dataclasses.replace(CFG, seed=3), X)  # the newest entry is kept
    assert len(cache.calls) == 4


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_a_bad_size_limit_is_named(cache, rng, monkeypatch, value):
    monkeypatch.setenv(feature_cache.SIZE_ENV_VAR, value)
    with pytest.raises(ValueError, match=f"PIXELFLOW_FEATURE_CACHE_GB must be a positive number.*{value!r}"):
        feature_cache.features(CFG, _images(rng))


def test_a_stack_is_its_members_and_shares_them(cache, rng):
    other = dataclasses.replace(CFG, rule="wave", seed=2, encoder_params={})
    stack = StackConfig((CFG, other))
    X = _images(rng)
    direct = ReservoirStack(stack, progress=False).transform(X)
    cache.calls.clear()
    assert feature_cache.features(stack, X).tobytes() == direct.tobytes()
    feature_cache.features(other, X)  # tried alone after the stack: already there
    assert cache.calls == [CFG, other]


def test_the_code_hash_follows_the_feature_path_only(tmp_path):
    pkg = tmp_path / "pixelflow"
    for rel in ("rules/wave.py", "engine.py", "workbook/latex.py", "nca/texture.py", "linalg/ridge.py"):
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text("x = 1\n")
    base = feature_cache.source_hash(pkg)
    for rel in ("workbook/latex.py", "nca/texture.py", "linalg/ridge.py"):
        (pkg / rel).write_text("x = 2\n")
    assert feature_cache.source_hash(pkg) == base
    (pkg / "rules/wave.py").write_text("x = 2\n")
    assert feature_cache.source_hash(pkg) != base
    (pkg / "rules/new_rule.py").write_text("y = 1\n")
    assert len({base, feature_cache.source_hash(pkg)}) == 2


def test_a_search_and_its_final_fit_compute_each_feature_matrix_once(cache, rng):
    X, y = _images(rng, 40), np.arange(40) % 2
    X_test = _images(rng, 10)
    cands = [Candidate(f"c{a}", CFG, r) for a, r in enumerate(ridge_grid([1e-2, 1.0]))]
    search(cands, X, y, val_fraction=0.25, seed=0, progress=False)
    assert cache.rows == [40]  # one config: all training rows once, split afterwards
    evaluate(cands[0], X, y, X_test, np.arange(10) % 2, seeds=(0,), progress=False)
    assert 40 not in cache.rows[1:]  # the training rows were found again
    assert cache.rows.count(10) == 1  # the test rows computed once
