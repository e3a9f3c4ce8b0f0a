"""Fixed-order products: the compiled kernels equal their xp definition bit for bit, rows stand alone."""

import doctest

import numpy as np
import pytest

import pixelflow.linalg.fixed_order
from pixelflow import Reservoir, ReservoirConfig
from pixelflow.linalg.fixed_order import block_products, matmul_rows, mix_channels

DTYPES = [np.float32, np.float64]


def bits(a):
    return np.ascontiguousarray(a).view(np.uint8).tobytes()


def sequential(terms):
    """Float64 sum of ``terms`` one after the other from +0.0 (the definition, as plain Python)."""
    total = 0.0
    for t in terms:
        total += float(t)
    return total


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k, d", [(1, 1), (7, 5), (8, 3), (37, 130), (300, 17)])
def test_matmul_rows_kernel_equals_its_definition(rng, dtype, k, d):
    x = rng.standard_normal((9, k)).astype(dtype)
    x[:, ::3] = 0  # the kernel leaves zero terms out; the definition adds them
    x[4] = 0
    m = rng.standard_normal((k, d)).astype(dtype)
    got = matmul_rows(x, m)
    assert got.dtype == dtype and got.shape == (9, d)
    assert bits(got) == bits(matmul_rows(x, m, compiled=False))
    # And the definition is the plain sequential float64 sum, rounded once.
    for r, j in [(0, 0), (8, d - 1), (4, 0)]:
        terms = [np.float64(x[r, i]) * np.float64(m[i, j]) for i in range(k)]
        assert got[r, j] == dtype(sequential(terms))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c_out, k, h, w", [(1, 1, 1, 1), (3, 5, 4, 3), (8, 32, 7, 7), (5, 17, 9, 13), (24, 96, 8, 8)])
def test_mix_channels_kernel_equals_its_definition(rng, dtype, c_out, k, h, w):
    x = rng.standard_normal((4, k, h, w)).astype(dtype)
    weights = rng.standard_normal((c_out, k)).astype(dtype)
    got = mix_channels(weights, x)
    assert got.dtype == dtype and got.shape == (4, c_out, h, w)
    assert bits(got) == bits(mix_channels(weights, x, compiled=False))
    n, o, i, j = 3, c_out - 1, h - 1, 0
    terms = [np.float64(weights[o, q]) * np.float64(x[n, q, i, j]) for q in range(k)]
    assert got[n, o, i, j] == dtype(sequential(terms))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c, size, p", [(1, 2, 1), (3, 6, 3), (8, 28, 7), (6, 16, 8), (5, 9, 3), (32, 7, 7)])
def test_block_products_kernel_equals_its_definition(rng, dtype, c, size, p):
    x = rng.standard_normal((3, c, size, size)).astype(dtype)
    got = block_products(x, p)
    pairs = c * (c + 1) // 2
    assert got.dtype == dtype and got.shape == (3, pairs, size // p, size // p)
    assert bits(got) == bits(block_products(x, p, compiled=False))
    # Last pair (the last channel squared) of the last block, cells row by row.
    block = x[2, c - 1, size - p:, size - p:].astype(np.float64)
    expected = sequential((block * block).ravel()) * (1.0 / (p * p))
    assert got[2, pairs - 1, -1, -1] == dtype(expected)
    # Pair (0, c - 1) of the first block.
    terms = (x[0, 0, :p, :p].astype(np.float64) * x[0, c - 1, :p, :p].astype(np.float64)).ravel()
    assert got[0, c - 1, 0, 0] == dtype(sequential(terms) * (1.0 / (p * p)))


def test_sums_are_accumulated_in_float64():
    # A float32 accumulator loses the small middle term: 1 + 2**-30 rounds to 1.
    x = np.array([[1.0, 2.0**-30, -1.0]], dtype=np.float32)
    assert matmul_rows(x, np.ones((3, 1), np.float32))[0, 0] == np.float32(2.0**-30)
    assert mix_channels(np.ones((1, 3), np.float32), x.reshape(1, 3, 1, 1))[0, 0, 0, 0] == np.float32(2.0**-30)
    # Pair (0, 1) of one 2x2 block: products 1, 2**-30, -1, 0, mean 2**-32 (0 with a float32 sum).
    cells = np.array([[1.0, 2.0**-15, 1.0, 0.0], [1.0, 2.0**-15, -1.0, 0.0]], dtype=np.float32).reshape(1, 2, 2, 2)
    assert block_products(cells, 2)[0, 1, 0, 0] == np.float32(2.0**-32)


@pytest.mark.parametrize("compiled", [True, False])
def test_a_row_never_depends_on_the_rest_of_the_batch(rng, compiled):
    x = rng.standard_normal((70, 50)).astype(np.float32)
    m = rng.standard_normal((50, 33)).astype(np.float32)
    w = rng.standard_normal((6, 12)).astype(np.float32)
    s = rng.standard_normal((70, 12, 6, 6)).astype(np.float32)
    full = matmul_rows(x, m, compiled=compiled)
    mixed = mix_channels(w, s, compiled=compiled)
    prods = block_products(s, 3, compiled=compiled)
    # Alone, at another position, in another companion batch, from a buffer at
    # another memory offset (BLAS kernels may pick their path by alignment).
    order = rng.permutation(70)
    buf = np.empty(70 * 50 + 3, dtype=np.float32)
    shifted = buf[3:].reshape(70, 50)
    shifted[...] = x[order]
    sbuf = np.empty(s.size + 1, dtype=np.float32)
    s_shifted = sbuf[1:].reshape(s.shape)
    s_shifted[...] = s[order]
    got_rows = matmul_rows(shifted, m, compiled=compiled)
    got_mix = mix_channels(w, s_shifted, compiled=compiled)
    got_prods = block_products(s_shifted, 3, compiled=compiled)
    assert bits(got_rows) == bits(full[order])
    assert bits(got_mix) == bits(mixed[order])
    assert bits(got_prods) == bits(prods[order])
    for i in (0, 13, 69):
        assert bits(matmul_rows(x[i:i + 1], m, compiled=compiled)) == bits(full[i:i + 1])
        assert bits(mix_channels(w, s[i:i + 1], compiled=compiled)) == bits(mixed[i:i + 1])
        assert bits(block_products(s[i:i + 1], 3, compiled=compiled)) == bits(prods[i:i + 1])
    # Non-contiguous input (every other sample) gives the same rows.
    assert bits(matmul_rows(x[::2], m, compiled=compiled)) == bits(full[::2])
    assert bits(mix_channels(w, s[::2], compiled=compiled)) == bits(mixed[::2])


def test_the_feature_path_calls_no_blas(rng, monkeypatch):
    """random_nca with channel products and the projection encoder run with every numpy product disabled."""
    def refuse(*args, **kwargs):
        raise AssertionError("a BLAS product was called on the feature path")

    cfgs = [ReservoirConfig(8, 8, 4, 3, "random_nca", input_encoding=enc, record="all", pool=4,
                            feature_maps=("state", "products"))
            for enc in ("tile", "project")]
    X = rng.random((6, 10, 10)).astype(np.float32)
    expected = [Reservoir(cfg, backend="numpy").transform(X) for cfg in cfgs]
    for name in ("matmul", "dot", "einsum", "tensordot", "inner", "vdot"):
        monkeypatch.setattr(np, name, refuse)
    for cfg, want in zip(cfgs, expected):
        for backend in ("numpy", "cpu"):
            assert bits(Reservoir(cfg, backend=backend).transform(X)) == bits(want)


def test_float64_reservoirs_stay_batch_invariant(rng):
    cfg = ReservoirConfig(8, 8, 5, 3, "random_nca", input_encoding="project", dtype="float64",
                          feature_maps=("state", ("products", 4)))
    X = rng.random((11, 30))
    full = Reservoir(cfg).transform(X)
    assert np.isfinite(full).all()
    for i in (0, 5, 10):
        assert bits(Reservoir(cfg).transform(X[i:i + 1])) == bits(full[i:i + 1])


def test_bad_shapes_and_dtypes_are_refused():
    f32 = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError, match=r"matmul_rows needs x \(N, K\) and matrix \(K, D\)"):
        matmul_rows(f32, np.zeros((4, 2), np.float32))
    with pytest.raises(TypeError, match="x must be float32 or float64, got dtype int64"):
        matmul_rows(np.zeros((2, 3), np.int64), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="mix_channels needs weights"):
        mix_channels(np.zeros((2, 5), np.float32), np.zeros((1, 3, 2, 2), np.float32))
    with pytest.raises(ValueError, match="block size p=3 must be >= 1 and divide the grid 4x4"):
        block_products(np.zeros((1, 2, 4, 4), np.float32), 3)


def test_docstring_examples_run():
    result = doctest.testmod(pixelflow.linalg.fixed_order)
    assert result.attempted >= 3 and result.failed == 0
