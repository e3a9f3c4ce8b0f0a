"""The cached BLAS thread limiter: same limits as threadpoolctl's, found again after an import."""

from __future__ import annotations

import sys
import types

from threadpoolctl import threadpool_info

from pixelflow import blas


def _blas_threads():
    return sorted(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")


def test_limit_blas_sets_one_thread_and_restores_the_count():
    before = _blas_threads()
    assert before, "numpy's BLAS should be visible to threadpoolctl"
    with blas.limit_blas(1):
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before


def test_the_pools_are_found_again_after_an_import(monkeypatch):
    first = blas.controller()
    assert blas.controller() is first
    monkeypatch.setitem(sys.modules, "pixelflow_test_new_module", types.ModuleType("pixelflow_test_new_module"))
    assert blas.controller() is not first
