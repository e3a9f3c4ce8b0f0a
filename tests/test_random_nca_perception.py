"""random_nca's full 3x3 perception against an explicit convolution."""

import numpy as np

from pixelflow import ReservoirConfig


def test_random_perception_is_a_random_3x3_convolution_between_channels():
    from scipy.ndimage import correlate

    from pixelflow.engine import Engine
    from pixelflow.reservoir import Reservoir

    cfg = ReservoirConfig(6, 5, 3, 2, "random_nca", rule_params={"perception": "random", "gain": 1.5},
                          record=(1, 2), dtype="float64")
    X = np.random.default_rng(1).random((2, 6, 5))
    feats = Reservoir(cfg).transform(X)
    assert feats.shape == (2, cfg.n_features)
    # A reference: the second update with the mixing as explicit 3x3 kernels, periodic boundary.
    engine = Engine(cfg, backend="cpu")
    engine.prepare(X.shape[1:])
    ctx = engine.context(X)
    w, c = ctx.weights, 3
    assert w["mix"].shape == (3, 27)
    s1 = 0.5 * np.tanh(w["bias"][None, :, :, None] + np.einsum("oi,nihw->nohw", w["inject"], ctx.drive))
    z = np.zeros_like(s1)
    for o in range(c):
        for i in range(c):
            kernel = np.array([[w["mix"][o, (3 * (dy + 1) + dx + 1) * c + i] for dx in (-1, 0, 1)]
                               for dy in (-1, 0, 1)])
            for n in range(2):
                z[n, o] += correlate(s1[n, i], kernel, mode="wrap")
    s2 = 0.5 * s1 + 0.5 * np.tanh(1.5 * z + w["bias"][None, :, :, None]
                                  + np.einsum("oi,nihw->nohw", w["inject"], ctx.drive))
    np.testing.assert_allclose(feats[:, 90:], s2.reshape(2, -1), rtol=1e-5, atol=1e-6)
    # The Sobel default is unchanged: the same weights as before the option existed.
    default = ReservoirConfig(6, 5, 3, 2, "random_nca", record=(1, 2))
    assert Engine(default, backend="cpu").rule.resolve({}).perception == "sobel"


def test_the_cpu_kernel_runs_the_random_perception_as_the_numpy_path():
    from pixelflow.reservoir import Reservoir

    cfg = ReservoirConfig(8, 8, 4, 3, "random_nca", rule_params={"perception": "random"}, record="all", pool=2)
    X = np.random.default_rng(2).random((5, 8, 8), dtype=np.float32)
    reference = Reservoir(cfg, backend="numpy").transform(X)
    from pixelflow.backends.cpu.random_nca import run

    assert Reservoir(cfg, backend="cpu").engine.kernel is run
    assert np.array_equal(Reservoir(cfg, backend="cpu").transform(X), reference)
    # Batch-invariant: a sample alone gives its row.
    assert np.array_equal(Reservoir(cfg, backend="cpu").transform(X[3:4])[0], reference[3])
    sobel = ReservoirConfig(8, 8, 4, 3, "random_nca", record="all", pool=2)
    assert not np.array_equal(Reservoir(sobel, backend="cpu").transform(X), reference)
