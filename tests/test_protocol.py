"""Tests for pixelflow.workbook.protocols (validation search, selection, evaluation) and its figures."""

import dataclasses

import numpy as np
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_array_equal
from threadpoolctl import threadpool_limits

from pixelflow import LogisticReadout, ReservoirConfig, RidgeReadout
from pixelflow.datasets import digits
from pixelflow.linalg import ridge
from pixelflow.significance import wilson_interval
from pixelflow.workbook import protocols
from pixelflow.workbook.plotting import classification as plots
from pixelflow.workbook.plotting.style import fit_to_text, overlapping_texts
from pixelflow.workbook.protocols import (
    Candidate,
    best,
    candidates,
    evaluate,
    features,
    final_table,
    fitting,
    kept_statistics,
    ridge_grid,
    search,
    search_table,
    steps_curve,
    text_table,
    validation_split,
)
from pixelflow.workbook.protocols import classification as protocol
from pixelflow.workbook.tables import format_value

NCA = ReservoirConfig(8, 8, 4, 2, "random_nca", record="all", seed=0)
WAVE = ReservoirConfig(8, 8, 2, 3, "wave", record="all")


@pytest.fixture(scope="module")
def ds():
    return digits(seed=0)


@pytest.fixture(autouse=True)
def one_blas_thread():
    """The reference fits below are tiny; one thread keeps them fast on a busy machine."""
    with threadpool_limits(limits=1):
        yield


# ---------------------------------------------------------------------------
# validation_split
# ---------------------------------------------------------------------------


def test_split_is_stratified_disjoint_and_complete(ds):
    y = ds.y_train
    fit, val = validation_split(y, 0.2, seed=0)
    assert np.intersect1d(fit, val).size == 0
    assert_array_equal(np.sort(np.concatenate([fit, val])), np.arange(y.size))
    assert abs(val.size - 0.2 * y.size) <= 1
    for k in np.unique(y):
        share = np.mean(y[val] == k) / np.mean(y == k)
        assert 0.85 < share < 1.15, k


def test_split_is_deterministic_and_seeded(ds):
    a = validation_split(ds.y_train, 0.25, seed=3)
    b = validation_split(ds.y_train.copy(), 0.25, seed=3)
    c = validation_split(ds.y_train, 0.25, seed=4)
    assert_array_equal(a[0], b[0]) and assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1, float("nan"), "0.2"])
def test_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction"):
        validation_split(np.repeat([0, 1], 10), fraction)


def test_split_needs_two_per_class():
    with pytest.raises(ValueError, match="at least 2"):
        validation_split(np.array([0, 0, 0, 1]), 0.5)


# ---------------------------------------------------------------------------
# search
# ---------------------------------------------------------------------------


def test_search_scores_on_the_validation_split_only(ds, monkeypatch):
    """Features are only ever computed on rows of X_train, and the accuracy is
    the one of a readout fitted on the fit rows and scored on the val rows."""
    seen = []
    real = protocol.features

    def spy(config, X, backend="cpu"):
        seen.append(np.asarray(X).copy())
        return real(config, X, backend)

    for module in (protocol, fitting):  # search computes validation features, training_features the fit rows'
        monkeypatch.setattr(module, "features", spy)
    X, y = ds.X_train, ds.y_train
    cands = candidates({"raw": None, "nca": NCA}, ridge_grid([1.0]))
    rows = search(cands, X, y, val_fraction=0.25, seed=1, progress=False)

    flat_train = {row.tobytes() for row in X.reshape(len(X), -1)}
    flat_test = {row.tobytes() for row in ds.X_test.reshape(len(ds.X_test), -1)} - flat_train
    for batch in seen:
        for row in batch.reshape(len(batch), -1):
            assert row.tobytes() in flat_train
            assert row.tobytes() not in flat_test

    fit, val = validation_split(y, 0.25, seed=1)
    for cand, row in zip(cands, rows):
        model = RidgeReadout(alpha=1.0, standardize=True).fit(real(cand.config, X[fit]), y[fit])
        assert row["val_accuracy"] == np.mean(model.predict(real(cand.config, X[val])) == y[val])
        assert (row["n_fit"], row["n_val"]) == (fit.size, val.size)


def test_search_result_does_not_depend_on_test_data(ds):
    cands = candidates({"raw": None}, ridge_grid([0.1, 10.0]))
    a = search(cands, ds.X_train, ds.y_train, progress=False)
    b = search(cands, ds.X_train, ds.y_train, progress=False)
    assert [r["val_accuracy"] for r in a] == [r["val_accuracy"] for r in b]


def test_search_transforms_each_config_once(ds, monkeypatch):
    calls = []
    real = protocol.features
    for module in (protocol, fitting):
        monkeypatch.setattr(module, "features", lambda c, X, b="cpu": calls.append(c) or real(c, X, b))
    cands = candidates({"nca": NCA, "wave": WAVE}, ridge_grid([0.1, 1.0, 10.0]) + [LogisticReadout(C=0.1)])
    search(cands, ds.X_train, ds.y_train, progress=False)
    assert len(calls) == 2  # all training rows of each config once, split into fit and validation rows after
    assert [c.rule for c in calls] == ["random_nca", "wave"]


@pytest.mark.parametrize("n_fit", [None, 300], ids=["primal", "dual"])
@pytest.mark.parametrize("standardize", [True, False])
def test_ridge_alpha_path_matches_separate_fits(ds, n_fit, standardize, monkeypatch):
    monkeypatch.setattr(ridge, "CHUNK_ROWS", 128)  # several row blocks
    X = features(WAVE, ds.X_train)  # 512 features
    fit, val = validation_split(ds.y_train)
    fit = fit[:n_fit]
    alphas = [0.01, 1.0, 100.0]
    shared = fitting.ridge_path([RidgeReadout(alpha=a, standardize=standardize) for a in alphas],
                                  X[fit], ds.y_train[fit], X[val])
    for a, (pred, _) in zip(alphas, shared):
        model = RidgeReadout(alpha=a, standardize=standardize).fit(X[fit], ds.y_train[fit])
        assert_array_equal(pred, model.predict(X[val]))


def test_search_rows_describe_candidates_and_rank_by_validation(ds):
    cands = candidates({"raw": None, "nca": NCA}, ridge_grid([1e-3, 1.0, 1e4]))
    rows = search(cands, ds.X_train, ds.y_train, progress=False)
    assert [r["index"] for r in rows] == list(range(len(cands)))
    assert sorted(r["rank"] for r in rows) == list(range(1, len(cands) + 1))
    top = max(rows, key=lambda r: r["val_accuracy"])
    assert top["rank"] == 1
    assert best(rows, cands) is cands[top["index"]]
    nca_rows = [r for r in rows if r["rule"] == "random_nca"]
    assert best(rows, cands, {"rule": "random_nca"}) is cands[max(nca_rows, key=lambda r: r["val_accuracy"])["index"]]
    assert best(rows, cands, lambda r: r["rule"] == "raw").config is None
    r = rows[3]
    assert (r["rule"], r["steps"], r["channels"], r["record"], r["pool"]) == ("random_nca", 2, 4, "all", 1)
    assert (r["readout"], r["hyperparameter"], r["value"]) == ("ridge", "alpha", 1e-3)
    assert r["n_features"] == NCA.n_features
    assert rows[0]["n_features"] == 64 and rows[0]["rule"] == "raw"
    assert all(r["transform_s"] >= 0 and r["fit_s"] >= 0 for r in rows)
    with pytest.raises(ValueError, match="matches"):
        best(rows, cands, {"rule": "wave"})


def test_best_breaks_ties_by_input_order():
    cands = candidates({"a": None, "b": None}, ridge_grid([1.0]))
    rows = [{"index": 0, "val_accuracy": 0.5}, {"index": 1, "val_accuracy": 0.5}]
    assert best(rows, cands) is cands[0]


def test_search_rejects_bad_input(ds):
    with pytest.raises(ValueError, match="at least one"):
        search([], ds.X_train, ds.y_train)
    with pytest.raises(TypeError, match="Candidate"):
        search([NCA], ds.X_train, ds.y_train)
    with pytest.raises(ValueError, match="same number"):
        search(candidates({"raw": None}, ridge_grid([1.0])), ds.X_train, ds.y_train[:-1])
    with pytest.raises(TypeError, match="ReservoirConfig"):
        Candidate("x", {"rule": "wave"}, RidgeReadout())


# ---------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------


def test_evaluate_refits_on_full_train_and_reports_per_seed(ds):
    cand = Candidate("nca", NCA, RidgeReadout(alpha=1.0, standardize=True))
    out = evaluate(cand, *ds, seeds=(0, 1, 2), progress=False)
    assert out["seeds"] == [0, 1, 2] and not out["deterministic"]
    assert len(out["test_accuracy"]) == 3
    assert out["mean"] == pytest.approx(np.mean(out["test_accuracy"]))
    assert out["std"] == pytest.approx(np.std(out["test_accuracy"], ddof=1))
    assert len(out["y_preds"]) == len(out["test_accuracy"]) and out["y_pred"] is out["y_preds"][0]
    assert [np.mean(p == ds.y_test) for p in out["y_preds"]] == out["test_accuracy"]
    assert [c["seed"] for c in out["configs"]] == [0, 1, 2]
    assert out["n_train"] == len(ds.y_train) and out["n_test"] == len(ds.y_test)
    # first seed = a fit on all training rows (its statistics summed over the search's fit rows, then the
    # validation rows: the same coefficients up to rounding), scored once on the test rows
    model = RidgeReadout(alpha=1.0, standardize=True).fit(features(NCA, ds.X_train), ds.y_train)
    pred = model.predict(features(NCA, ds.X_test))
    assert_array_equal(out["y_pred"], pred)
    assert out["test_accuracy"][0] == np.mean(pred == ds.y_test)
    assert "fitted_readout" not in out
    kept = evaluate(cand, *ds, seeds=(0, 1), progress=False, keep_readout=True)
    np.testing.assert_allclose(kept["fitted_readout"].coef_, model.coef_, rtol=1e-8,
                               atol=1e-10 * np.abs(model.coef_).max())  # the first seed's fit
    assert_array_equal(kept["fitted_readout"].predict(features(NCA, ds.X_test)), out["y_pred"])
    assert set(kept) - set(protocol.summary(kept)) == {"fitted_readout", "y_pred", "y_preds"}


def test_evaluate_reuses_the_searchs_statistics_and_gives_the_same_result_without_them(ds, monkeypatch):
    kept_statistics.clear()
    cands = candidates({"nca": NCA}, ridge_grid([1.0, 10.0]))
    cand = cands[1]
    fresh = evaluate(cand, *ds, seeds=(0, 1), progress=False, keep_readout=True)
    rows = search(cands, ds.X_train, ds.y_train, progress=False)
    assert best(rows, cands) is cands[0] or best(rows, cands) is cands[1]
    accumulated = []
    real = ridge.accumulate

    def counting(X, Y, *args, **kwargs):
        accumulated.append(len(X))
        return real(X, Y, *args, **kwargs)

    monkeypatch.setattr(ridge, "accumulate", counting)
    reused = evaluate(cand, *ds, seeds=(0, 1), progress=False, keep_readout=True)
    fit_rows, val_rows = validation_split(ds.y_train, 0.2, 0)
    # seed 0: only the validation rows are summed, the fit rows' statistics come from the search;
    # seed 1 (not searched): the fit rows, then the validation rows
    assert accumulated == [len(val_rows), len(fit_rows), len(val_rows)]
    assert_array_equal(reused["fitted_readout"].coef_, fresh["fitted_readout"].coef_)  # bit for bit
    assert reused["test_accuracy"] == fresh["test_accuracy"]
    # another split's statistics are not used, and the result is still that of one pass up to rounding
    accumulated.clear()
    other = evaluate(cand, *ds, seeds=(0,), progress=False, keep_readout=True, split_seed=3)
    assert sum(accumulated) == len(ds.y_train) and len(accumulated) == 2
    np.testing.assert_allclose(other["fitted_readout"].coef_, fresh["fitted_readout"].coef_, rtol=1e-8,
                               atol=1e-10 * np.abs(fresh["fitted_readout"].coef_).max())
    kept_statistics.clear()


def test_evaluate_rejects_a_bad_split(ds):
    cand = Candidate("nca", NCA, RidgeReadout())
    with pytest.raises(ValueError, match="val_fraction"):
        evaluate(cand, *ds, progress=False, val_fraction=1.5)
    with pytest.raises(ValueError, match="split_seed"):
        evaluate(cand, *ds, progress=False, split_seed=-1)


def test_fit_in_two_parts_equals_one_fit_and_ignores_statistics_of_other_rows(ds):
    F = features(NCA, ds.X_train)
    readout = RidgeReadout(alpha=3.0, standardize=True)
    one = RidgeReadout(alpha=3.0, standardize=True).fit(F, ds.y_train)
    first = np.arange(0, len(F), 3)
    two, _, converged = fitting.fit_in_two_parts(readout, F, ds.y_train, first)
    assert converged and two.alpha == 3.0 and two.n_features_in_ == F.shape[1]
    np.testing.assert_allclose(two.coef_, one.coef_, rtol=1e-8, atol=1e-10 * np.abs(one.coef_).max())
    np.testing.assert_allclose(two.intercept_, one.intercept_, rtol=1e-8, atol=1e-10)
    assert_array_equal(two.classes_, one.classes_)
    classes, index = ridge.class_labels(ds.y_train, "t")
    other = first[1:]
    wrong = kept_statistics.Kept(other, classes, ridge.accumulate(F[other], ridge.one_vs_all(index[other], 10)))
    again, _, _ = fitting.fit_in_two_parts(readout, F, ds.y_train, first, wrong)
    assert_array_equal(again.coef_, two.coef_)  # statistics of other rows: recomputed, not used
    assert fitting.fit_in_two_parts(readout, F, ds.y_train, np.array([0, 0, 1])) is None
    assert fitting.fit_in_two_parts(readout, F, ds.y_train, np.array([len(F)])) is None


def test_kept_statistics_round_trip_and_drop_the_oldest_over_the_limit(monkeypatch):
    kept_statistics.clear()
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((30, 4)), ridge.one_vs_all(rng.integers(0, 3, 30), 3)
    stats = ridge.accumulate(X, Y)
    kept_statistics.keep("a", np.arange(30), np.arange(3), stats)
    got = kept_statistics.get("a")
    assert_array_equal(got.stats.xx, stats.xx) and got.stats.xx.flags.f_contiguous
    assert_array_equal(got.stats.xy, stats.xy) and got.stats.n_samples == 30
    assert_array_equal(got.rows, np.arange(30)) and kept_statistics.get("b") is None
    monkeypatch.setattr(kept_statistics, "LIMIT_BYTES", 2 * stats.xx.nbytes)
    kept_statistics.keep("b", np.arange(30), np.arange(3), stats)
    kept_statistics.keep("c", np.arange(30), np.arange(3), stats)
    assert kept_statistics.get("a") is None and kept_statistics.get("c") is not None
    folder = kept_statistics._storage()
    assert len(list(folder.iterdir())) == 2
    kept_statistics.clear()
    assert list(folder.iterdir()) == [] and kept_statistics.get("c") is None


def test_seeds_change_reservoir_features(ds):
    cand = Candidate("nca", NCA, RidgeReadout())
    a = features(cand.with_seed(0).config, ds.X_train[:20])
    b = features(cand.with_seed(1).config, ds.X_train[:20])
    assert not np.array_equal(a, b)
    assert cand.with_seed(5).config == dataclasses.replace(NCA, seed=5)


def test_seed_free_configs_are_evaluated_once(ds):
    out = evaluate(Candidate("wave", WAVE, RidgeReadout(alpha=1.0)), *ds, seeds=(0, 1, 2), progress=False)
    assert out["deterministic"] and out["seeds"] == [0] and out["seeds_requested"] == [0, 1, 2]
    assert out["std"] == 0.0 and out["mean"] == out["test_accuracy"][0]


def test_raw_pixel_candidates(ds):
    cands = candidates({"raw": None}, ridge_grid([1.0]) + [LogisticReadout(C=0.5)])
    rows = search(cands, ds.X_train, ds.y_train, progress=False)
    assert all(r["rule"] == "raw" and r["n_features"] == 64 for r in rows)
    out = evaluate(best(rows, cands), *ds, seeds=(0, 1), progress=False)
    assert out["deterministic"] and out["config"] is None and out["seeds"] == []
    assert out["mean"] > 0.9
    assert features(None, ds.X_train).shape == (len(ds.X_train), 64)


def test_evaluate_rejects_bad_seeds(ds):
    with pytest.raises(ValueError, match="seeds"):
        evaluate(Candidate("raw", None, RidgeReadout()), *ds, seeds=(0, 0))


# ---------------------------------------------------------------------------
# steps_curve, tables, figures
# ---------------------------------------------------------------------------


def test_steps_curve_slices_equal_separate_runs(ds, monkeypatch):
    cfg = dataclasses.replace(NCA, steps=3, record=(1, 3))
    cand = Candidate("nca", cfg, RidgeReadout(alpha=1.0, standardize=True))
    curve = steps_curve(cand, ds.X_train, ds.y_train, steps=(1, 3), progress=False)
    assert [r["steps"] for r in curve] == [1, 3]
    fit, val = validation_split(ds.y_train)
    for r in curve:
        c = dataclasses.replace(cfg, steps=r["steps"], record="final")
        model = RidgeReadout(alpha=1.0, standardize=True).fit(features(c, ds.X_train[fit]), ds.y_train[fit])
        assert r["val_accuracy"] == np.mean(model.predict(features(c, ds.X_train[val])) == ds.y_train[val])
        assert r["n_features"] == c.n_features


def test_tables_render(ds):
    cands = candidates({"raw": None, "wave": WAVE}, ridge_grid([0.1, 10.0]))
    rows = search(cands, ds.X_train, ds.y_train, progress=False)
    t = search_table(rows)
    assert len(t["rows"]) == 2 and len(t["rows"][0]) == len(t["columns"])
    text = text_table(**t)
    assert "α ∈ {0.1, 10}" in text and "Val. acc." in text
    # With two values tried every choice is at an edge of the grid.
    assert all(row[9].endswith(" (edge)") for row in t["rows"])
    assert sorted(protocols.tables.edge_choices(rows)) == sorted(
        min((r for r in rows if r["name"] == n), key=lambda r: -r["val_accuracy"])["label"] for n in ("raw", "wave"))
    three = search(candidates({"raw": None}, ridge_grid([1e-6, 1.0, 1e6])), ds.X_train, ds.y_train, progress=False)
    middle = [r for r in three if r["value"] == 1.0]
    middle[0]["val_accuracy"] = 2.0  # made the best: in the middle of its grid
    assert protocols.tables.edge_choices(three) == [] and not search_table(three)["rows"][0][9].endswith("(edge)")
    assert [format_value(v) for v in (1e6, 1e-5, 0.5, 10000.0)] == ["1e6", "1e-5", "0.5", "10000"]
    results = [evaluate(c, *ds, progress=False) for c in (cands[0], cands[2])]
    f = final_table(results, ["raw pixels", "wave"])
    assert f["rows"][0][:2] == ["raw pixels", "raw"] and f["rows"][0][4] == "1"
    assert isinstance(f["rows"][0][5], float)
    v = final_table(results, validation=[0.5, None])
    assert v["columns"][5]["name"] == "Val. acc. (%)" and v["rows"][0][5] == 50.0 and v["rows"][1][5] is None
    assert "raw pixels" in text_table(**f)
    # The interval is Wilson's over the test images, around the accuracy.
    low, high = wilson_interval(round(results[0]["mean"] * len(ds.y_test)), len(ds.y_test))
    assert f["rows"][0][6] == f"[{100 * low:.2f}, {100 * high:.2f}]" and low < f["rows"][0][5] / 100 < high
    assert text_table([{"name": "a", "format": ".1f"}], [[[1.0, 0.25]], [None]]).splitlines()[2:] == ["1.0 ± 0.2", "-"]


def test_figures_are_figures(ds):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    pred = np.where(rng.random(200) < 0.8, y, rng.integers(0, 10, 200))
    cm = plots.confusion_matrix(y, pred, 10)
    assert cm.sum() == 200 and np.trace(cm) == np.sum(y == pred)
    rows = [{"index": i, "label": f"c{i}", "rule": r, "val_accuracy": a}
            for i, (r, a) in enumerate([("raw", 0.8), ("wave", 0.85), ("random_nca", 0.9)])]
    curves = [{"name": n, "rule": n, "steps": t, "val_accuracy": 0.5 + 0.05 * t}
              for n in ("wave", "life_like") for t in (0, 1, 2)]
    results = [{"label": "a", "rule": "wave", "mean": 0.9, "std": 0.01, "input": "gray"},
               {"label": "a", "rule": "wave", "mean": 0.92, "std": 0.0, "input": "rgb"}]
    figs = [
        plots.confusion_figure(y, pred, [str(i) for i in range(10)]),
        plots.confusion_figure(y, pred, normalize=False),
        plots.accuracy_vs_steps_figure(curves, baselines={"raw": 0.6}),
        plots.accuracy_vs_rule_figure(results, group="input"),
        plots.accuracy_vs_rule_figure(results[:1]),
        plots.search_results_figure(rows),
    ]
    assert all(isinstance(f, Figure) for f in figs)


def test_validation_accuracy_lookup(ds):
    cands = candidates({"raw": None}, ridge_grid([0.1, 10.0]))
    rows = search(cands, ds.X_train, ds.y_train, progress=False)
    chosen = best(rows, cands)
    assert protocols.validation_accuracy(rows, cands, chosen) == max(r["val_accuracy"] for r in rows)
    with pytest.raises(ValueError, match="not one of"):
        protocols.validation_accuracy(rows, cands, Candidate("raw", None, RidgeReadout()))


def test_blas_threads_option(ds):
    cands = candidates({"wave": WAVE}, ridge_grid([1.0, 10.0]))
    a = search(cands, ds.X_train, ds.y_train, progress=False)
    b = search(cands, ds.X_train, ds.y_train, progress=False, blas_threads=None)
    assert [r["val_accuracy"] for r in a] == [r["val_accuracy"] for r in b]
    for bad, error in ((0, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="blas_threads must be an integer"):
            search(cands, ds.X_train, ds.y_train, progress=False, blas_threads=bad)
        with pytest.raises(error, match="blas_threads must be an integer"):
            evaluate(cands[0], *ds, progress=False, blas_threads=bad)


def test_hflip_augmentation_fits_on_both_copies_and_validates_on_originals(ds):
    from pixelflow.workbook.protocols.fitting import training_features as _training_features

    cand = Candidate("wave", WAVE, RidgeReadout(alpha=1.0))
    row = search([cand], ds.X_train, ds.y_train, progress=False, augment="hflip")[0]
    assert row["augment"] == "hflip" and row["n_fit"] + row["n_val"] == len(ds.y_train)
    # The same number by hand: fit on the fit rows and their mirror images, score the untouched validation rows.
    fit_idx, val_idx = validation_split(ds.y_train, 0.2, 0)
    X = ds.X_train[fit_idx]
    F = np.concatenate([features(WAVE, X), features(WAVE, X[:, :, ::-1])])
    est = RidgeReadout(alpha=1.0).fit(F, np.tile(ds.y_train[fit_idx], 2))
    assert row["val_accuracy"] == est.score(features(WAVE, ds.X_train[val_idx]), ds.y_train[val_idx])
    F2, y2 = _training_features(WAVE, X, ds.y_train[fit_idx], ("hflip",), "cpu")
    assert_array_equal(F2, F)
    result = evaluate(cand, *ds, progress=False, augment=["hflip"])
    assert result["augment"] == "hflip" and result["n_train"] == len(ds.y_train)


def test_bad_augmentations_are_rejected(ds):
    cand = Candidate("raw", None, RidgeReadout())
    with pytest.raises(ValueError, match="unknown augmentation 'rotate'; valid: hflip"):
        search([cand], ds.X_train, ds.y_train, progress=False, augment="rotate")
    flat = ds.X_train.reshape(len(ds.X_train), -1)
    with pytest.raises(ValueError, match="needs images"):
        search([cand], flat, ds.y_train, progress=False, augment="hflip")


def test_ablation_figure_shows_each_maps_best_readout():
    rows = [{"name": n, "val_accuracy": a, "n_features": d}
            for n, a, d in [("c8", 0.90, 100), ("c8", 0.93, 100), ("c16", 0.95, 300), ("global", 0.91, 50)]]
    fig = plots.ablation_figure(rows, {"channels": [("8", "c8"), ("16", "c16")], "pooling": [("1 block", "global")]})
    dots = [ax.lines[0].get_xdata() for ax in fig.axes]
    np.testing.assert_allclose(dots[0], [93.0, 95.0])  # the best of c8's two readouts
    np.testing.assert_allclose(dots[1], [91.0])
    assert [t.get_text() for t in fig.axes[0].texts] == ["93.00 %, 100 features", "95.00 %, 300 features"]
    with pytest.raises(ValueError, match="no search rows for \\['c32'\\]"):
        plots.ablation_figure(rows, {"channels": [("32", "c32")]})


def test_ablation_figure_at_the_text_width_prints_no_text_over_another():
    # The notebook's five levers with their longest labels and near-equal accuracies: drawn as a row of panels
    # and narrowed to the text width, titles, ticks and notes ran into each other.
    levers = {"channels (14×14 grid)": ["8", "16", "32"], "pooling (14×14, 16 ch.)": ["2×2 blocks", "1 block"],
              "grid (cells per side)": ["28", "14", "7", "14+7", "28+14+7"],
              "first vs second order (28×28 grid unless stated)": [
                  "state, 8 ch., 2×2-cell pools", "state, 16 ch., 4×4-cell pools", "+ products, 16 ch.",
                  "+ products, 14×14 grid, 16 ch."],
              "perception (28+14+7)": ["Sobel", "random 3×3"]}
    panels = {lever: [(label, f"{lever} {label}") for label in labels] for lever, labels in levers.items()}
    names = [name for items in panels.values() for _, name in items]
    rows = [{"name": name, "val_accuracy": a, "n_features": 14016}
            for name, a in zip(names, np.linspace(0.9318, 0.9907, len(names)))]
    fig = plots.ablation_figure(rows, panels, title="random_nca ablations, validation split of MNIST 14k-train "
                                                    "prefix / 10k test")
    fit_to_text(fig)
    assert overlapping_texts(fig) == []
    for ax in fig.axes:  # every dot inside its frame, and no accuracy axis past 100 %
        low, high = ax.get_xlim()
        assert high <= 100 and all(low < x < high for x in ax.lines[0].get_xdata())


def test_logistic_grid_converges_past_the_rounding_of_the_blas(ds):
    # At the estimator's default tol the solver stops where a BLAS's rounding
    # still moves predictions; the protocol's readouts go on to LOGISTIC_TOL.
    grid = protocols.logistic_grid((0.01, 1.0))
    assert [r.tol for r in grid] == [protocols.LOGISTIC_TOL] * 2 and protocols.LOGISTIC_TOL <= 1e-6
    X = ds.X_train.reshape(len(ds.X_train), -1)
    for r in grid:
        loose = LogisticReadout(C=r.C).fit(X, ds.y_train)
        r.fit(X, ds.y_train)
        model, ref = r.model_[-1], loose.model_[-1]
        assert model.n_iter_[0] < r.max_iter and model.n_iter_[0] >= ref.n_iter_[0]
        # A relative perturbation of 1e-9 in X (far above BLAS rounding) leaves the predictions alone.
        again = protocols.logistic_grid((r.C,))[0].fit(X * (1 + 1e-9), ds.y_train)
        assert_array_equal(again.predict(ds.X_test.reshape(len(ds.X_test), -1)),
                           r.predict(ds.X_test.reshape(len(ds.X_test), -1)))


def test_data_table_says_how_each_split_was_cut():
    cifar = {"split": "CIFAR-10 subset", "n_train": 4660, "n_test": 846, "n_train_available": 4660,
             "n_test_available": 846, "official_n_train": 50000, "official_n_test": 10000,
             "records_per_file": {**{f"data_batch_{i}": 932 for i in range(1, 6)}, "test_batch": 846},
             "class_counts_train": [479, 435, 489], "class_counts_test": [83, 70, 97]}
    fashion = {"split": "Fashion-MNIST 60k train / 10k test", "n_train": 60000, "n_test": 10000,
               "n_train_available": 60000, "n_test_available": 10000, "official_n_train": 60000,
               "official_n_test": 10000, "class_counts_train": [6000] * 10, "class_counts_test": [1000] * 10}
    t = protocols.tables.data_table([cifar, fashion])
    assert t["rows"][0][3] == ("first 932 records of each of the 5 training files (official order); "
                               "first 846 records of the test file (official order)")
    assert t["rows"][0][4:] == ["435–489", "70–97"]
    assert t["rows"][1][3] == "the full official training set; the full official test set"
    uneven = dict(cifar, records_per_file={"data_batch_1": 10, "data_batch_2": 20, "test_batch": 5})
    assert protocols.tables.construction(uneven).startswith("10 of data_batch_1, 20 of data_batch_2")
    assert all(len(r) == len(t["columns"]) for r in t["rows"])


def test_fixed_feature_table_reads_the_design_and_its_scattering_comparison():
    from pixelflow.workbook.protocols.comparisons import compare

    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 500)
    # The design is right on 480 / 470 images with two seeds, scattering on 400 (its errors partly elsewhere).
    design_preds = [np.where(np.arange(500) < 480, y, (y + 1) % 10), np.where(np.arange(500) < 470, y, (y + 1) % 10)]
    scat_preds = [np.where(np.arange(500) >= 100, y, (y + 1) % 10)]
    design = {"name": "nca² 28 random", "test_accuracy": [0.96, 0.94], "mean": 0.95, "std": 0.0141, "n_test": 500,
              "y_preds": design_preds}
    scat = {"test_accuracy": [0.8], "y_preds": scat_preds}
    comparisons = compare("nca² 28 random (design)", design, {"scattering J=2 L=8": scat}, y)
    final = {"ours: random_nca": {k: v for k, v in design.items() if k != "y_preds"},
             "ours: wave": {"name": "wave absorbing", "test_accuracy": [0.9], "mean": 0.9, "std": 0.0, "n_test": 500}}
    records = {"01_mnist": {"metrics": {"final": final, "comparisons": comparisons}},
               "02_fashion_mnist": {"metrics": {"final": final}}}  # a run from before the controls: no row
    t = protocols.tables.fixed_feature_table(records)
    assert len(t["rows"]) == 1 and all(len(r) == len(t["columns"]) for r in t["rows"])
    row = dict(zip([c["name"] for c in t["columns"]], t["rows"][0]))
    assert row["Data"] == "MNIST" and row["Design"] == "nca² 28 random"
    assert row["Test acc. (%)"] == pytest.approx([95.0, 1.41])
    assert row["Scattering (%)"] == pytest.approx(80.0)
    assert row["Diff. (pp)"] == pytest.approx(100 * (0.96 - 0.8))  # first seeds, as the comparison table
    assert row["Holm p"] == comparisons[0]["p_holm"] < 0.01
    assert row["Mark (%)"] == 99.0 and row["Gap (pp)"] == pytest.approx(95.0 - 99.0)
    low, high = wilson_interval(475, 500)
    assert row["95 % CI (%)"] == f"[{100 * low:.2f}, {100 * high:.2f}]"
    # No comparison with scattering, or a design that is not among the final results: an error, not a gap.
    no_scat = [dict(comparisons[0], method="pixels, kNN")]
    with pytest.raises(ValueError, match="no comparison with scattering"):
        protocols.tables.fixed_feature_table({"01_mnist": {"metrics": {"final": final, "comparisons": no_scat}}})
    renamed = [dict(comparisons[0], reference="other (design)")]
    with pytest.raises(ValueError, match="'other' of the comparisons is not exactly one"):
        protocols.tables.fixed_feature_table({"01_mnist": {"metrics": {"final": final, "comparisons": renamed}}})


def test_baselines_run_through_the_same_protocol(ds):
    from sklearn.neighbors import KNeighborsClassifier

    from pixelflow.baselines import ConvNetClassifier, RandomConvConfig, ScatteringConfig
    from pixelflow.stack import make_reservoir

    nca = ReservoirConfig(8, 8, 4, 2, "random_nca", record=(1, 2), feature_maps=(("products", 4), ("state", 4)))
    conv = RandomConvConfig.matching(nca)
    scat = ScatteringConfig(8, 8, J=1, L=4)
    cands = (candidates({"nca": nca, "random conv": conv, "scattering": scat}, ridge_grid([0.1, 10.0]))
             + candidates({"raw": None}, [KNeighborsClassifier(k) for k in (1, 3)])
             + candidates({"raw": None}, [ConvNetClassifier((8, 8), epochs=e, n_threads=1, progress=False)
                                          for e in (1, 2)]))
    rows = search(cands, ds.X_train, ds.y_train, progress=False)
    assert {r["n_features"] for r in rows if r["name"] == "random conv"} == {nca.n_features}
    assert [r["readout"] for r in rows[-4:]] == ["kNN", "kNN", "CNN (trained)", "CNN (trained)"]
    fit, val = validation_split(ds.y_train)
    # Each row is the validation accuracy of a separate fit: the baselines' features come from their own
    # transformers, and the CNN's epochs from one training run equal fresh fits.
    for r, c in zip(rows, cands):
        F = (ds.X_train.reshape(len(ds.X_train), -1) if c.config is None
             else make_reservoir(c.config).transform(ds.X_train))
        model = c.readout.fit(F[fit], ds.y_train[fit])
        assert r["val_accuracy"] == np.mean(model.predict(F[val]) == ds.y_train[val]), r["label"]
    # The scattering transform has no random weights: evaluated once whatever the seeds.
    out = evaluate(best(rows, cands, {"name": "scattering"}), *ds, seeds=(0, 1), progress=False)
    assert out["deterministic"] and len(out["test_accuracy"]) == 1
    out = evaluate(best(rows, cands, {"name": "random conv"}), *ds, seeds=(0, 1), progress=False)
    assert not out["deterministic"] and [c["seed"] for c in out["configs"]] == [0, 1]
    with pytest.raises(TypeError, match="feature-map config"):
        Candidate("bad", object(), RidgeReadout())
