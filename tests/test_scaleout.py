"""Dask scale-out: the same numbers as in memory, lazily, across processes and worker deaths."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")
import dask.array as da

from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
from pixelflow.engine import Engine
from pixelflow.linalg.ridge import stats_nbytes
from pixelflow.scaleout import by_rows, connect, is_dask_array, memory_report, on
from pixelflow.scaleout.ridge import chunked_stats
from pixelflow.stack import ReservoirStack, StackConfig
from pixelflow.workbook.protocols.sweeps import grid, sweep

# Coefficients of the chunked fit vs the in-memory fit, relative to the largest
# coefficient: only the order of the float64 sums differs. Measured: <= 3e-13 on
# these problems, <= 6e-11 over other seeds, 6e-10 against the dual form on
# standardised reservoir features with alpha=1e-3 (the worst conditioning tried).
COEF_RTOL = 1e-9

CONFIGS = {
    "wave": dict(width=8, height=8, channels=2, steps=3, rule="wave", record="all"),
    "gray-scott": dict(width=8, height=8, channels=2, steps=3, rule="diffusion_reaction"),
    "life": dict(width=8, height=8, channels=1, steps=3, rule="life_like"),
    "random_nca": dict(width=8, height=8, channels=4, steps=2, rule="random_nca", input_encoding="project"),
}


def local(x):
    """Compute in this process (monkeypatched counters see the calls)."""
    return x.compute(scheduler="sync")


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(7).random((61, 12, 12)).astype(np.float32)


# ---------------------------------------------------------------- transform


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_dask_transform_is_bit_identical(images, name, backend):
    cfg = ReservoirConfig(**CONFIGS[name])
    expected = Reservoir(cfg, backend=backend).transform(images)
    F = Reservoir(cfg, backend=backend).transform(by_rows(images, 7))
    assert is_dask_array(F) and F.dtype == np.float32
    assert F.chunks == ((7,) * 8 + (5,), (expected.shape[1],))
    got = local(F)
    assert got.dtype == np.float32 and got.shape == expected.shape
    assert np.array_equal(got, expected)


def test_irregular_row_chunks_and_chunks_across_samples_are_merged(images):
    cfg = ReservoirConfig(**CONFIGS["wave"])
    expected = Reservoir(cfg, backend="numpy").transform(images)
    ragged = da.from_array(images, chunks=((1, 20, 3, 37), (5, 7), (12,)))
    F = Reservoir(cfg, backend="numpy").transform(ragged)
    assert F.chunks[0] == (1, 20, 3, 37)
    assert np.array_equal(local(F), expected)
    # Vectors chunked along the feature axis, and channels-last images.
    flat = images.reshape(len(images), -1)
    vec = ReservoirConfig(**{**CONFIGS["wave"], "input_encoding": "project"})
    F = Reservoir(vec, backend="numpy").transform(da.from_array(flat, chunks=(9, 50)))
    assert np.array_equal(local(F), Reservoir(vec, backend="numpy").transform(flat))
    rgb = np.repeat(images[..., None], 3, axis=-1)
    cfg = ReservoirConfig(**{**CONFIGS["wave"], "channels": 6})
    F = Reservoir(cfg, backend="cpu").transform(da.from_array(rgb, chunks=(16, 12, 4, 1)))
    assert np.array_equal(local(F), Reservoir(cfg, backend="cpu").transform(rgb))


def test_transform_is_lazy_until_computed(images, monkeypatch):
    calls = []
    original = Engine.features

    def counted(self, x, out):
        calls.append(len(x))
        return original(self, x, out)

    monkeypatch.setattr(Engine, "features", counted)
    res = Reservoir(ReservoirConfig(**CONFIGS["wave"]), backend="numpy")
    F = res.transform(by_rows(images, 10))
    assert calls == []
    assert res.input_shape_ == (12, 12)  # the sample shape is checked and fixed at graph build
    local(F)
    assert sum(calls) == len(images)


def test_same_graph_keys_for_the_same_inputs(images):
    cfg = ReservoirConfig(**CONFIGS["wave"])
    X = by_rows(images, 10)
    assert Reservoir(cfg).transform(X).name == Reservoir(cfg).transform(X).name
    assert Reservoir(cfg).transform(X).name != Reservoir(cfg, backend="numpy").transform(X).name


def test_reservoir_travels_as_its_config(images):
    res = Reservoir(ReservoirConfig(**CONFIGS["random_nca"]))
    res.transform(images[:2])
    assert len(pickle.dumps(res)) < 2000


STACK = StackConfig((
    ReservoirConfig(12, 12, 4, 2, "random_nca", record=(1, 2), feature_maps=(("products", 3), ("state", 3)), pool=3),
    ReservoirConfig(6, 6, 2, 2, "wave", seed=7, record="all"),
))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_dask_transform_of_a_stack_is_bit_identical(images, backend):
    expected = ReservoirStack(STACK, backend=backend).transform(images)
    F = ReservoirStack(STACK, backend=backend).transform(by_rows(images, 7))
    assert is_dask_array(F) and F.dtype == np.float32
    assert F.chunks == ((7,) * 8 + (5,), (STACK.n_features,))
    assert np.array_equal(local(F), expected)


def test_stack_transform_is_lazy_checks_shapes_at_graph_build_and_pickles_small(images, monkeypatch):
    calls = []
    original = Engine.features

    def counted(self, x, out):
        calls.append(len(x))
        return original(self, x, out)

    monkeypatch.setattr(Engine, "features", counted)
    stack = ReservoirStack(STACK, backend="numpy")
    F = stack.transform(by_rows(images, 10))
    assert calls == [] and stack.input_shape_ == (12, 12)
    assert all(r.input_shape_ == (12, 12) for r in stack.reservoirs)
    with pytest.raises(ValueError, match=r"first used with \(12, 12\)"):
        stack.transform(da.zeros((4, 10, 10), chunks=2))
    local(F)
    assert sum(calls) == 2 * len(images)  # each member saw every image once
    # Workers receive the stack as its config: small, and the same key for the same stack.
    copy = pickle.loads(pickle.dumps(stack))
    assert len(pickle.dumps(stack)) < 4000 and copy.input_shape_ == (12, 12)
    assert np.array_equal(copy.transform(images[:3]), stack.transform(images[:3]))
    X = by_rows(images, 10)
    assert ReservoirStack(STACK).transform(X).name == ReservoirStack(STACK).transform(X).name


class Doubler:
    """A transformer that is not a reservoir: rows in, twice the flattened rows out."""

    feature_dim = 144

    def transform(self, X):
        return 2 * np.asarray(X, dtype=np.float32).reshape(len(X), -1)


def test_any_transformer_with_transform_and_feature_dim_runs_on_dask(images):
    from pixelflow.scaleout.arrays import transform

    F = transform(Doubler(), by_rows(images, 16))
    assert F.chunks == ((16, 16, 16, 13), (144,))
    assert np.array_equal(local(F), Doubler().transform(images))

    class NoWidth:
        def transform(self, X):
            return X

    with pytest.raises(TypeError, match="NoWidth is not a transformer with transform.. and a positive integer "
                                        "feature_dim .got feature_dim=None."):
        transform(NoWidth(), by_rows(images, 16))


# ---------------------------------------------------------------- ridge


def features(rng, n=211, d=23):
    # Offsets and unequal scales, so centring and standardisation matter.
    X = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, d) + rng.uniform(-50, 50, d)
    return X.astype(np.float32)


TARGETS = {
    "regression": lambda rng, X: X.astype(np.float64) @ rng.normal(size=X.shape[1]) + rng.normal(size=len(X)),
    "multi-output": lambda rng, X: X.astype(np.float64) @ rng.normal(size=(X.shape[1], 3)),
    "binary": lambda rng, X: np.where(X[:, 0] > np.median(X[:, 0]), "yes", "no"),
    "multiclass": lambda rng, X: rng.integers(0, 4, len(X)),
}


def assert_same_fit(got, expected):
    scale = np.abs(expected.coef_).max()
    np.testing.assert_allclose(got.coef_, expected.coef_, rtol=0, atol=COEF_RTOL * scale)
    np.testing.assert_allclose(got.intercept_, expected.intercept_, rtol=COEF_RTOL,
                               atol=COEF_RTOL * max(1.0, np.abs(expected.intercept_).max()))
    np.testing.assert_allclose(got.mean_, expected.mean_, rtol=1e-12)
    np.testing.assert_allclose(got.scale_, expected.scale_, rtol=1e-12)
    assert got.task_ == expected.task_ and got.n_features_in_ == expected.n_features_in_
    if expected.task_ == "classification":
        assert np.array_equal(got.classes_, expected.classes_) and got.classes_.dtype == expected.classes_.dtype
    else:
        assert not hasattr(got, "classes_")


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("target", list(TARGETS))
def test_chunked_fit_equals_in_memory_fit(rng, target, standardize, fit_intercept):
    X = features(rng)
    y = TARGETS[target](rng, X)
    params = dict(alpha=0.5, standardize=standardize, fit_intercept=fit_intercept)
    expected = RidgeReadout(**params).fit(X, y)
    with dask.config.set(scheduler="sync"):
        got = RidgeReadout(**params).fit(by_rows(X, 29), y)
        assert_same_fit(got, expected)
        # y as a dask array with other chunks than X: aligned to X's rows.
        assert_same_fit(RidgeReadout(**params).fit(by_rows(X, 29), da.from_array(y, chunks=50)), expected)
        # Chunk-wise prediction and scoring equal the same readout in memory; real values
        # to rounding (BLAS may block a product of 29 rows differently from one of 211).
        Xd = by_rows(X, 29)
        pred = got.predict(Xd)
        assert is_dask_array(pred) and pred.chunks[0] == Xd.chunks[0]
        if expected.task_ == "classification":
            assert np.array_equal(pred.compute(), got.predict(X))
            assert np.array_equal(pred.compute(), expected.predict(X))
            assert got.score(Xd, y) == got.score(X, y)
            assert got.score(Xd, da.from_array(y, chunks=50)) == got.score(X, y)
            np.testing.assert_allclose(got.decision_function(Xd).compute(), got.decision_function(X),
                                       rtol=1e-13, atol=1e-13)
        else:
            np.testing.assert_allclose(pred.compute(), got.predict(X), rtol=1e-13)
            assert got.score(Xd, da.from_array(y, chunks=50)) == pytest.approx(got.score(X, y), rel=1e-13)


def test_one_chunk_gives_the_in_memory_bits_and_refits_are_identical(rng):
    X = features(rng)
    y = rng.integers(0, 3, len(X))
    expected = RidgeReadout(alpha=2.0, standardize=True).fit(X, y)
    with dask.config.set(scheduler="sync"):
        whole = RidgeReadout(alpha=2.0, standardize=True).fit(da.from_array(X, chunks=-1), y)
        assert np.array_equal(whole.coef_, expected.coef_)
        first = RidgeReadout(alpha=2.0, standardize=True).fit(by_rows(X, 13), y)
    with dask.config.set(scheduler="threads", num_workers=2):
        again = RidgeReadout(alpha=2.0, standardize=True).fit(by_rows(X, 13), y)
    assert np.array_equal(first.coef_, again.coef_)


def test_wide_features_use_the_primal_path_and_match_the_dual(rng):
    X = features(rng, n=40, d=90)  # in memory this is the dual (kernel) form
    y = rng.integers(0, 3, len(X))
    expected = RidgeReadout(alpha=1.0, standardize=True).fit(X, y)
    with dask.config.set(scheduler="sync"):
        got = RidgeReadout(alpha=1.0, standardize=True).fit(by_rows(X, 9), y)
    assert_same_fit(got, expected)


def test_statistics_count_every_row_once(rng):
    X = features(rng)
    with dask.config.set(scheduler="sync"):
        stats, task, classes, single = chunked_stats(by_rows(X, 17), X[:, 0].astype(np.float64))
    assert stats.n_samples == len(X) and task == "regression" and classes is None and single
    np.testing.assert_allclose(stats.x_mean, X.astype(np.float64).mean(axis=0), rtol=1e-12)
    # Dask sees the statistics' real size, so a worker near its memory limit spills them.
    from dask.sizeof import sizeof

    assert stats.xx.nbytes + stats.xy.nbytes < sizeof(stats) < stats.xx.nbytes + 10_000


def test_out_of_core_evaluation_agrees_with_the_protocol(images):
    from pixelflow.workbook.protocols import Candidate, evaluate
    from pixelflow.workbook.protocols.out_of_core import agreement, evaluate_out_of_core

    y = np.arange(len(images)) % 3
    cand = Candidate("stack", STACK, RidgeReadout(alpha=1.0, standardize=True))
    X_train, y_train, X_test, y_test = images[:45], y[:45], images[45:], y[45:]
    reference = evaluate(cand, X_train, y_train, X_test, y_test, seeds=(4,), progress=False, keep_readout=True)
    with dask.config.set(scheduler="sync"):
        got = evaluate_out_of_core(cand, X_train, y_train, X_test, y_test, rows=10, seed=4)
    assert got["chunks"] == [5, 2] and got["n_features"] == STACK.n_features
    assert got["config"] == reference["config"]  # the seed replaced as the protocol replaces it
    assert_same_fit(got["fitted_readout"], reference["fitted_readout"])
    check = agreement(reference, got)
    assert check["accuracy_equal"] and check["predictions_identical"] and check["n_predictions_differ"] == 0
    assert check["relative_coef_difference"] < COEF_RTOL
    from pixelflow.workbook.protocols import text_table
    from pixelflow.workbook.protocols.out_of_core import comparison_table

    workers = [{"memory_limit": 2**30, "peak_rss": 3 * 10**8, "spilled_bytes": 10**6}, {"memory_limit": 2**30,
               "peak_rss": 2 * 10**8, "spilled_bytes": 0}]
    table = comparison_table({"stack": dict(split="toy", reservoir="two grids", feature_bytes=61 * STACK.n_features * 4,
                                            statistics_bytes=stats_nbytes(STACK.n_features, 3),
                                            threads={"w1": 1, "w2": 1}, workers=workers, reference=reference,
                                            out_of_core=got)})
    cells = dict(table["rows"])
    assert [c["name"] for c in table["columns"]] == ["Quantity", "stack"]
    assert cells["Features D"] == f"{STACK.n_features:,}" and cells["Samples (train / test)"] == "45 / 16"
    assert cells["Row chunks (train / test) × images"] == "5 / 2 × ≤ 10" and cells["Workers × threads"] == "2 × 1"
    assert cells["Memory limit per worker (MB)"] == "1,074" and cells["Peak worker memory (MB)"] == "300"
    assert cells["Spilled to disk, all workers (MB)"] == "1" and cells["Test predictions that differ"] == "0"
    assert "Test acc. on the cluster (%)" in text_table(**table)
    with pytest.raises(TypeError, match="only a RidgeReadout is fitted out of core, got LogisticReadout"):
        from pixelflow import LogisticReadout

        evaluate_out_of_core(Candidate("s", STACK, LogisticReadout()), X_train, y_train, X_test, y_test, rows=10)
    with pytest.raises(ValueError, match="X_test and y_test must have the same number of samples"):
        evaluate_out_of_core(cand, X_train, y_train, X_test, y_test[:3], rows=10)
    # Training-set augmentation: the mirrored copies after the originals, as in memory.
    reference = evaluate(cand, X_train, y_train, X_test, y_test, seeds=(4,), progress=False, keep_readout=True,
                         augment="hflip")
    with dask.config.set(scheduler="sync"):
        got = evaluate_out_of_core(cand, X_train, y_train, X_test, y_test, rows=10, seed=4, augment="hflip")
    assert got["n_fit"] == 90 and got["augment"] == "hflip" and got["chunks"] == [10, 2]
    assert_same_fit(got["fitted_readout"], reference["fitted_readout"])
    assert agreement(reference, got)["predictions_identical"]


# ---------------------------------------------------------------- a real cluster


@pytest.fixture(scope="module")
def client():
    c = connect(None, n_workers=2, memory_limit=2**31, dashboard_address=None)
    yield c
    c.close()


@pytest.fixture(scope="module")
def mnist_like():
    rng = np.random.default_rng(3)
    X = rng.random((300, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, 300)
    cfg = ReservoirConfig(16, 16, 2, 4, "wave", record=[2, 4])
    return X, y, cfg, Reservoir(cfg).transform(X)


def test_distributed_features_and_fit_equal_in_memory(client, mnist_like):
    X, y, cfg, F = mnist_like
    expected = RidgeReadout(alpha=1.0, standardize=True).fit(F, y)
    with on(client):
        Fd = Reservoir(cfg).transform(by_rows(X, 64))
        assert np.array_equal(Fd.compute(), F)
        got = RidgeReadout(alpha=1.0, standardize=True).fit(Fd, y)
        assert_same_fit(got, expected)
        assert np.array_equal(got.predict(Fd).compute(), expected.predict(F))
        assert got.score(Fd, y) == expected.score(F, y)


def test_a_stack_on_the_cluster_and_what_the_workers_report(client, mnist_like):
    X, y, _, _ = mnist_like
    expected = ReservoirStack(STACK).transform(X[:, 8:20, 8:20])
    with on(client), distributed.get_task_stream(client=client) as stream:
        Fd = ReservoirStack(STACK).transform(by_rows(X[:, 8:20, 8:20], 64))
        assert np.array_equal(Fd.compute(), expected)
        readout = RidgeReadout(alpha=1.0, standardize=True).fit(Fd, y)
    assert_same_fit(readout, RidgeReadout(alpha=1.0, standardize=True).fit(expected, y))
    report = memory_report(client)
    assert [r["worker"] for r in report] == sorted(client.scheduler_info()["workers"])
    for r in report:
        # The worker's own peak, not the (larger) client's it was spawned from.
        assert r["memory_limit"] == 2**31 and 0 < r["rss"] <= r["peak_rss"] < 2**31
        assert r["spilled_now"] == r["spilled_bytes"] == r["spill_count"] == 0  # far below the limit
    # The scheduler's address gives a second client on the same cluster.
    other = connect(client.scheduler.address)
    try:
        assert sorted(other.scheduler_info()["workers"]) == [r["worker"] for r in report]
    finally:
        other.close()
    # The task-stream figure: one row per worker thread, a colour per task prefix.
    import matplotlib

    matplotlib.use("Agg")
    from pixelflow.workbook.plotting.scaleout import task_prefix, task_stream_figure

    prefixes = {task_prefix(r["key"]) for r in stream.data}
    assert {"pixelflow-reservoirstack", "pixelflow-transform", "chunk_stats", "merge"} <= prefixes
    fig = task_stream_figure({"stack on 2 workers": stream.data, "nothing": []})
    top = fig.axes[0]
    assert [t.get_text() for t in top.get_yticklabels()] == ["worker 1", "worker 2"]
    assert fig.legends and "reservoir features of a chunk" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_task_stream_figure_keeps_its_legend_clear_of_the_axes():
    # Six kinds of task and a transfer under two panels: a legend laid over the figure's bottom edge covered the
    # time axis' tick labels and its label.
    from pixelflow.workbook.plotting.scaleout import task_stream_figure
    from pixelflow.workbook.plotting.style import fit_to_text, overlapping_texts

    kinds = ["pixelflow-transform", "pixelflow-predict", "chunk_stats", "merge_stats", "pixelflow-readout",
             "ascontiguousarray-getitem-concatenate"]
    stream = [{"worker": f"tcp://127.0.0.1:{4000 + w}", "thread": 1, "key": (f"{kind}-{w:032x}", i),
               "startstops": [{"action": "compute", "start": 10.0 * i + w, "stop": 10.0 * i + w + 8},
                              {"action": "transfer", "start": 10.0 * i + w + 8, "stop": 10.0 * i + w + 9}]}
              for w in range(4) for i, kind in enumerate(kinds)]
    fig = task_stream_figure({"(a) mnist preset, 14,016 features": stream,
                              "(b) random_nca 28×28×16, 12,544 features": stream})
    fit_to_text(fig)
    assert overlapping_texts(fig) == []
    legend = fig.legends[0]
    texts = [t.get_text() for t in legend.get_texts()]
    assert "rows gathered into a chunk" in texts and "transfer between workers" in texts
    lowest = fig.axes[-1]
    assert legend.get_window_extent().y1 < lowest.xaxis.label.get_window_extent().y0


def test_stats_size_and_connect_arguments():
    assert stats_nbytes(14016, 10) == 8 * (14016**2 + 14016 * 10 + 14016 + 10)
    with pytest.raises(ValueError, match="n_workers must be an integer >= 1, got 0"):
        connect(None, n_workers=0)
    with pytest.raises(TypeError, match="scheduler must be an address"):
        connect(8786)


def die_on_first_call(marker):
    """An identity on blocks that kills its worker process the first time any worker runs it."""

    def identity_or_die(block):
        if len(block) == 0:
            return block  # dask probing the function with empty data, not a task
        try:
            os.close(os.open(marker, os.O_CREAT | os.O_EXCL))  # only one caller ever creates it
        except FileExistsError:
            return block
        os._exit(1)

    return identity_or_die


def worker_pids(client):
    client.wait_for_workers(2, timeout=60)
    return set(client.run(os.getpid).values())


@pytest.mark.timeout(120)
def test_a_killed_worker_loses_and_duplicates_nothing(client, mnist_like, tmp_path):
    X, y, cfg, F = mnist_like
    before = worker_pids(client)
    marker = str(tmp_path / "killed-transform")
    with on(client):
        Xd = by_rows(X, 50).map_blocks(die_on_first_call(marker), meta=X[:0])
        got = Reservoir(cfg).transform(Xd).compute()
        assert os.path.exists(marker)
        assert got.shape == F.shape and np.array_equal(got, F)
        # The same during a fit: the statistics still count every row once.
        marker = str(tmp_path / "killed-fit")
        Fd = by_rows(F, 40).map_blocks(die_on_first_call(marker), meta=F[:0])
        stats, *_ = chunked_stats(Fd, y)
        assert os.path.exists(marker)
    assert stats.n_samples == len(F)
    np.testing.assert_allclose(stats.x_mean, F.astype(np.float64).mean(axis=0), rtol=1e-12)
    assert worker_pids(client) != before, "a worker process should have been killed and replaced"


def test_sweep_on_the_cluster_equals_the_serial_sweep(client, mnist_like):
    X, y, _, _ = mnist_like
    y = y % 3
    configs = grid(ReservoirConfig(8, 8, 2, 1, "wave"), rule=["wave", "diffusion_reaction"], seed=[0, 1],
                   steps=[2, 1])
    kw = dict(alphas=(1.0, 100.0), progress=False)
    serial = sweep(None, configs, X[:200], y[:200], X[200:], y[200:], **kw)
    spread = sweep(client, configs, X[:200], y[:200], X[200:], y[200:], **kw)
    strip = [{k: v for k, v in row.items() if k != "seconds"} for row in serial]
    assert [{k: v for k, v in row.items() if k != "seconds"} for row in spread] == strip
    assert [r["index"] for r in spread] == list(range(len(configs)))
    assert [(r["rule"], r["seed"], r["steps"]) for r in spread] == [(c.rule, c.seed, c.steps) for c in configs]
    assert all(r["seconds"] > 0 and r["alpha"] in (1.0, 100.0) for r in spread)


# ---------------------------------------------------------------- bad inputs


def test_grid_order_and_errors():
    base = ReservoirConfig(8, 8, 2, 2, "diffusion_reaction", rule_params={"feed": 0.03})
    configs = grid(base, rule=["diffusion_reaction", "wave"], seed=[0, 1])
    assert [(c.rule, c.seed) for c in configs] == [("diffusion_reaction", 0), ("diffusion_reaction", 1),
                                                   ("wave", 0), ("wave", 1)]
    assert configs[0].rule_params == {"feed": 0.03} and configs[2].rule_params == {}
    with pytest.raises(ValueError, match="'colour' is not a ReservoirConfig field"):
        grid(base, colour=[1])
    with pytest.raises(TypeError, match="rule must be a list"):
        grid(base, rule="wave")


def test_bad_dask_inputs_are_named(images):
    res = Reservoir(ReservoirConfig(**CONFIGS["wave"]), backend="numpy")
    with pytest.raises(ValueError, match="got a dask array with 1 dimension"):
        res.transform(da.zeros(5, chunks=2))
    with pytest.raises(ValueError, match="got a dask array with 5 dimension"):
        res.transform(da.zeros((2, 3, 3, 3, 3), chunks=1))
    with pytest.raises(TypeError, match="dtype <U1"):
        res.transform(da.from_array(np.full((2, 3), "a"), chunks=1))
    res.transform(by_rows(images, 10))
    with pytest.raises(ValueError, match=r"first used with \(12, 12\)"):
        res.transform(da.zeros((4, 10, 10), chunks=2))
    bad = images.copy()
    bad[33, 4, 4] = np.nan
    with pytest.raises(ValueError, match="first bad row is 33"):
        local(Reservoir(ReservoirConfig(**CONFIGS["wave"])).transform(by_rows(bad, 10)))
    with pytest.raises(ValueError, match="rows must be an integer >= 1, got 0"):
        by_rows(images, 0)


def test_bad_readout_inputs_are_named(rng):
    X = features(rng, n=30, d=4)
    Xd = by_rows(X, 7)
    with dask.config.set(scheduler="sync"):
        with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 29\]"):
            RidgeReadout().fit(Xd, np.arange(29) % 2)
        with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[30, 31\]"):
            RidgeReadout().fit(Xd, da.arange(31) % 2)
        with pytest.raises(ValueError, match="X must have shape .n_samples, n_features.; got a dask array with 3"):
            RidgeReadout().fit(da.zeros((30, 2, 2), chunks=7), np.arange(30) % 2)
        # One class: fitted and predicted as in memory.
        one = RidgeReadout().fit(Xd, np.full(30, 7))
        assert one.classes_.tolist() == [7] and (one.predict(Xd).compute() == 7).all()
        np.testing.assert_allclose(one.coef_, RidgeReadout().fit(X, np.full(30, 7)).coef_, rtol=COEF_RTOL, atol=1e-12)
        bad = X.copy()
        bad[12, 1] = np.inf
        with pytest.raises(ValueError, match="Input X contains NaN or infinity"):
            RidgeReadout().fit(by_rows(bad, 7), np.arange(30) % 2)
        fitted = RidgeReadout().fit(Xd, np.arange(30) % 2)
        with pytest.raises(ValueError, match="X has 3 features, but RidgeReadout is expecting 4"):
            fitted.predict(by_rows(X[:, :3], 7))
    with pytest.raises(ValueError, match="sweep needs at least one configuration"):
        sweep(None, [], X, np.arange(30) % 2, X, np.arange(30) % 2)
    with pytest.raises(ValueError, match="every alpha must be a positive finite number, got -1"):
        sweep(None, [ReservoirConfig(**CONFIGS["wave"])], X, np.arange(30) % 2, X, np.arange(30) % 2, alphas=[-1])


BLOCKED = """
import sys
sys.modules["dask"] = sys.modules["distributed"] = None   # as if not installed
import numpy as np
import pixelflow
from pixelflow import Reservoir, ReservoirConfig, RidgeReadout
from pixelflow.scaleout import by_rows
from pixelflow.workbook.protocols.sweeps import sweep
rng = np.random.default_rng(0)
X, y = rng.random((40, 8, 8)), np.arange(40) % 2
F = Reservoir(ReservoirConfig(8, 8, 2, 2, "wave")).transform(X)
print(RidgeReadout().fit(F, y).score(F, y) > 0.5)
rows = sweep(None, [ReservoirConfig(8, 8, 2, 2, "wave")], X, y, X, y, alphas=[1.0], progress=False)
print(len(rows))
try:
    by_rows(X, 10)
except ImportError as exc:
    print(exc)
"""


def test_everything_but_dask_works_without_dask():
    out = subprocess.run([sys.executable, "-c", BLOCKED], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == ["True", "1"]
    assert "pip install 'pixelflow[dask]'" in lines[2]


def test_import_pixelflow_does_not_import_dask():
    code = "import sys, pixelflow, pixelflow.readouts, pixelflow.scaleout; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.stdout.strip() == "False", out.stderr


def test_docstring_examples():
    import doctest

    import pixelflow.inputs
    import pixelflow.linalg.ridge
    import pixelflow.workbook.protocols.sweeps

    for module in (pixelflow.inputs, pixelflow.linalg.ridge, pixelflow.workbook.protocols.sweeps):
        result = doctest.testmod(module)
        assert result.attempted and not result.failed, module.__name__


# A rule registered in a notebook exists only in the notebook's process. The script below registers one only
# when run as the main program (as a notebook cell would; spawned workers importing the script do not), runs it
# through Dask and checks the features against the same reservoir in memory.
USER_RULE_SCRIPT = """
import sys
import numpy as np
from pixelflow import Param, Reservoir, ReservoirConfig, register_rule, stencils
from pixelflow.scaleout import by_rows, connect, on
from pixelflow.stack import ReservoirStack, StackConfig

if __name__ == "__main__":
    @register_rule("notebook_heat", params={"rate": Param(0.2, low=0.0, high=0.25)})
    def heat(state, ctx):
        return state + ctx.params.rate * stencils.laplacian(state, "periodic", ctx.xp)

    X = np.random.default_rng(0).random((40, 8, 8)).astype(np.float32)
    cfg = ReservoirConfig(8, 8, 2, 3, "notebook_heat", rule_params={"rate": 0.1}, record=(1, 3))
    stack = StackConfig((cfg, ReservoirConfig(8, 8, 2, 2, "wave")))
    client = connect(sys.argv[1] if len(sys.argv) > 1 else None, n_workers=2, memory_limit=2**29)

    def knows():
        from pixelflow.rules import available_rules
        return "notebook_heat" in available_rules()

    try:
        assert not any(client.run(knows).values())  # the workers have never seen the rule ...
        with on(client):
            for model in (Reservoir(cfg), ReservoirStack(stack)):
                lazy = model.transform(by_rows(X, 10)).compute(timeout=60)
                assert np.array_equal(lazy, model.transform(X)), type(model).__name__
        assert all(client.run(knows).values())  # ... and learnt it from the reservoir they were sent
    finally:
        client.close()
    print("user rule ran on the cluster")
"""


def _run_script(tmp_path, *args, timeout=180):
    script = tmp_path / "notebook_like.py"
    script.write_text(USER_RULE_SCRIPT)
    return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=timeout,
                          cwd=tmp_path)


def test_a_rule_registered_in_a_notebook_runs_on_a_local_cluster(tmp_path):
    done = _run_script(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "user rule ran on the cluster" in done.stdout


def test_a_rule_registered_in_a_notebook_runs_on_a_remote_scheduler(tmp_path):
    # A scheduler and workers started by another process, as on a real cluster: they import pixelflow only.
    cluster = subprocess.Popen(
        [sys.executable, "-c", "import time; from distributed import LocalCluster; "
         "c = LocalCluster(n_workers=1, threads_per_worker=1, memory_limit=2**29, dashboard_address=None); "
         "print(c.scheduler_address, flush=True); time.sleep(300)"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp_path)
    try:
        address = cluster.stdout.readline().strip()
        assert address.startswith("tcp://"), address
        done = _run_script(tmp_path, address)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "user rule ran on the cluster" in done.stdout
    finally:
        cluster.kill()
        cluster.wait()


def test_a_rule_that_cannot_travel_is_refused_before_any_task(images):
    import threading

    from pixelflow import register_rule, unregister_rule

    lock = threading.Lock()

    def locked(state, ctx):
        with lock:
            return state

    register_rule("test_locked", locked, overwrite=True)
    try:
        res = Reservoir(ReservoirConfig(8, 8, 1, 1, "test_locked"))
        with pytest.raises(ValueError, match=r"rule 'test_locked' cannot be sent to other processes \(TypeError: "
                                             r".*lock.*\); define its functions without references"):
            res.transform(by_rows(images[:, :8, :8], 4))
    finally:
        unregister_rule("test_locked")
