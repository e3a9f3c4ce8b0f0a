"""Tests for pixelflow.readouts (RidgeReadout, LogisticReadout)."""

import pickle
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from pixelflow import readouts
from pixelflow.linalg import ridge
from pixelflow.readouts import LogisticReadout, RidgeReadout


def _regression_problem(n, d, k=3, seed=0, x_offset=0.0, y_offset=0.0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + x_offset
    W = rng.normal(size=(d, k))
    Y = X @ W + 0.1 * rng.normal(size=(n, k)) + y_offset
    return X.astype(dtype), Y


def _classification_problem(n, d, n_classes, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(n_classes, d))
    y = rng.integers(0, n_classes, size=n)
    X = centers[y] + rng.normal(size=(n, d))
    return X, y


@pytest.fixture
def small_chunks(monkeypatch):
    """Force many row blocks so chunk merging and blocked kernels are exercised."""
    monkeypatch.setattr(ridge, "CHUNK_ROWS", 7)


# ---------------------------------------------------------------------------
# scikit-learn estimator contract
# ---------------------------------------------------------------------------


def _expected_failed_checks(estimator):
    failed = {}
    if isinstance(estimator, RidgeReadout):
        failed["check_do_not_raise_errors_in_init_or_set_params"] = (
            "an unknown task is refused at construction, as code written for "
            "pixelflow-rc relies on; set_params stores any value unchanged and "
            "fit checks it again (test_set_params_stores_any_value_and_fit_checks_task_again)."
        )
    if isinstance(estimator, RidgeReadout) and estimator.task == "auto":
        failed["check_classifiers_regression_target"] = (
            "task='auto' deliberately treats floating-point targets as "
            "regression instead of rejecting them; task='classification' "
            "passes this check."
        )
    return failed


@parametrize_with_checks(
    [
        RidgeReadout(),
        RidgeReadout(task="classification", standardize=True),
        RidgeReadout(task="regression", fit_intercept=False),
        LogisticReadout(),
        LogisticReadout(standardize=False),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_estimator_type_follows_task():
    assert is_classifier(RidgeReadout())
    assert is_classifier(RidgeReadout(task="classification"))
    assert is_regressor(RidgeReadout(task="regression"))
    assert is_classifier(LogisticReadout())


def test_init_stores_params_and_validation_happens_in_fit():
    est = RidgeReadout(alpha=-3)  # must not raise here
    assert est.get_params()["alpha"] == -3
    with pytest.raises(ValueError, match="alpha"):
        est.fit(np.ones((4, 2)), [0, 1, 0, 1])
    for alpha in (0, 0.0, -1.0, np.inf):
        with pytest.raises(ValueError, match="alpha"):
            RidgeReadout(alpha=alpha).fit(np.eye(4), [0, 1, 0, 1])
    with pytest.raises(ValueError, match="C"):
        LogisticReadout(C=0).fit(np.eye(4), [0, 1, 0, 1])


@pytest.mark.parametrize("task", ["bogus", "Classification", -1, None, np.array([1.0, 4.0]), []])
def test_unknown_task_is_refused_at_construction(task):
    with pytest.raises(ValueError, match=r"task must be one of \('auto', 'classification', 'regression'\), got task="):
        RidgeReadout(task=task)


def test_set_params_stores_any_value_and_fit_checks_task_again():
    # The part of check_do_not_raise_errors_in_init_or_set_params that still
    # holds: set_params never validates, and clone of a valid readout works.
    est = RidgeReadout(task="classification")
    for value in (-1, 3.0, "helloworld", np.array([1.0, 4.0]), [1], {}, []):
        est.set_params(alpha=value, task=value, standardize=value, fit_intercept=value)
        assert est.get_params()["task"] is value
    est.set_params(alpha=1.0, task="bad_task", standardize=False, fit_intercept=True)
    with pytest.raises(ValueError, match="got task='bad_task'"):
        est.fit(np.eye(4), [0, 1, 0, 1])
    assert clone(RidgeReadout(task="regression")).get_params()["task"] == "regression"


# ---------------------------------------------------------------------------
# RidgeReadout: agreement with scikit-learn
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("standardize", [False, True])
def test_primal_equals_dual_equals_sklearn(fit_intercept, standardize):
    # Same problem through both private solvers, with tiny chunks so the
    # chunk-merge formulas and blocked kernel are really used.
    X, Y = _regression_problem(60, 25, k=3, x_offset=2.0, y_offset=5.0)
    primal = ridge.solve(
        ridge.accumulate(X, Y, chunk_rows=7), 0.5, fit_intercept, standardize
    )
    dual = ridge.solve_dual(X, Y, 0.5, fit_intercept, standardize, chunk_rows=7)
    for a, b in zip(primal, dual):
        assert_allclose(a, b, rtol=1e-9, atol=1e-12)

    steps = [StandardScaler(with_mean=fit_intercept)] if standardize else []
    ref = make_pipeline(*steps, Ridge(alpha=0.5, fit_intercept=fit_intercept)).fit(X, Y)
    coef, intercept = primal[0], primal[1]
    assert_allclose(X @ coef.T + intercept, ref.predict(X), rtol=1e-9, atol=1e-9)


def test_accumulated_stats_equal_dense_centred_products():
    # These statistics are meant to be summed across Dask chunks later, so
    # the whole symmetric matrix (not just the triangle the solver reads)
    # must be right.
    X, Y = _regression_problem(53, 9, k=2, x_offset=100.0, y_offset=-3.0, dtype=np.float32)
    stats = ridge.accumulate(X, Y, chunk_rows=7)
    X64 = X.astype(np.float64)
    Xc, Yc = X64 - X64.mean(axis=0), Y - Y.mean(axis=0)
    assert stats.n_samples == 53
    assert_allclose(stats.x_mean, X64.mean(axis=0), rtol=1e-13)
    assert_allclose(stats.y_mean, Y.mean(axis=0), rtol=1e-13)
    assert_allclose(stats.xx, Xc.T @ Xc, rtol=1e-10)
    assert_allclose(stats.xy, Xc.T @ Yc, rtol=1e-10, atol=1e-9)


def test_symmetrize_upper_inplace_across_blocks():
    rng = np.random.default_rng(0)
    full = rng.normal(size=(10, 10))
    full = full + full.T
    a = np.asfortranarray(np.triu(full) + np.tril(rng.normal(size=(10, 10)), -1))
    ridge._symmetrize_upper_inplace(a, block=3)
    assert_array_equal(a, full)


@pytest.mark.parametrize("shape", [(120, 30), (30, 120)], ids=["primal", "dual"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multitarget_regression_matches_sklearn_ridge(shape, fit_intercept, small_chunks):
    X, Y = _regression_problem(*shape, k=4, x_offset=3.0, y_offset=-7.0)
    est = RidgeReadout(alpha=2.0, fit_intercept=fit_intercept).fit(X, Y)
    ref = Ridge(alpha=2.0, fit_intercept=fit_intercept).fit(X, Y)
    assert est.task_ == "regression"
    assert est.coef_.shape == (4, shape[1])
    assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(est.intercept_, np.broadcast_to(ref.intercept_, (4,)), rtol=1e-6, atol=1e-8)
    assert_allclose(est.predict(X), ref.predict(X), rtol=1e-6)


@pytest.mark.parametrize("shape", [(150, 20), (20, 150)], ids=["primal", "dual"])
def test_standardize_matches_scaler_ridge_pipeline(shape, small_chunks):
    X, Y = _regression_problem(*shape, k=2, x_offset=10.0, seed=3)
    est = RidgeReadout(alpha=3.0, standardize=True).fit(X, Y)
    ref = make_pipeline(StandardScaler(), Ridge(alpha=3.0)).fit(X, Y)
    assert_allclose(est.predict(X), ref.predict(X), rtol=1e-7, atol=1e-9)
    assert_allclose(est.mean_, X.mean(axis=0), rtol=1e-12)
    assert_allclose(est.scale_, X.std(axis=0), rtol=1e-10)
    # Standardisation is folded into coef_/intercept_ (original units), and it
    # must actually change the solution compared with unscaled ridge.
    assert_allclose(X @ est.coef_.T + est.intercept_, est.predict(X), rtol=1e-12)
    unscaled = RidgeReadout(alpha=3.0).fit(X, Y)
    assert not np.allclose(unscaled.coef_, est.coef_, rtol=1e-3)


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("shape", [(300, 12), (40, 90)], ids=["primal", "dual"])
def test_classification_matches_ridge_classifier(n_classes, shape):
    X, y = _classification_problem(*shape, n_classes=n_classes, seed=n_classes)
    rng = np.random.default_rng(1)
    X_test = rng.normal(scale=2.0, size=(500, shape[1]))
    est = RidgeReadout(alpha=0.7).fit(X, y)
    ref = RidgeClassifier(alpha=0.7).fit(X, y)
    assert est.task_ == "classification"
    assert_array_equal(est.classes_, np.arange(n_classes))
    assert_array_equal(est.predict(X_test), ref.predict(X_test))
    assert_allclose(
        est.decision_function(X_test), ref.decision_function(X_test), rtol=1e-6, atol=1e-9
    )
    expected_targets = 1 if n_classes == 2 else n_classes
    assert est.coef_.shape == (expected_targets, shape[1])


def test_string_labels():
    X, y_int = _classification_problem(200, 6, n_classes=3, seed=5)
    names = np.array(["cat", "dog", "emu"])
    est = RidgeReadout().fit(X, names[y_int].tolist())
    assert est.task_ == "classification"
    assert_array_equal(est.classes_, names)
    pred = est.predict(X)
    assert pred.dtype.kind == "U"
    assert_array_equal(pred, names[RidgeReadout().fit(X, y_int).predict(X)])
    assert est.score(X, names[y_int]) > 0.9


def test_large_constant_offsets_are_handled_by_intercept(small_chunks):
    # Offsets dwarf the signal; raw (uncentred) normal equations lose most
    # digits here, the centred accumulation must not.
    X, Y = _regression_problem(500, 8, k=1, x_offset=1e4, y_offset=1e6, seed=2)
    y = Y[:, 0]
    est = RidgeReadout(alpha=1e-3).fit(X, y)
    ref = Ridge(alpha=1e-3).fit(X, y)
    assert_allclose(est.coef_[0], ref.coef_, rtol=1e-6)
    assert_allclose(est.intercept_[0], ref.intercept_, rtol=1e-9)
    resid = y - est.predict(X)
    assert np.std(resid) < 0.2  # noise level is 0.1
    assert abs(resid.mean()) < 1e-6


def test_constant_feature_with_standardize():
    X, Y = _regression_problem(100, 5, k=1, seed=4)
    Xc = np.column_stack([X, np.full(100, 7.25)])
    est = RidgeReadout(alpha=1.0, standardize=True).fit(Xc, Y[:, 0])
    assert np.all(np.isfinite(est.coef_))
    assert est.scale_[-1] == 1.0
    assert est.coef_[0, -1] == pytest.approx(0.0, abs=1e-12)
    without = RidgeReadout(alpha=1.0, standardize=True).fit(X, Y[:, 0])
    assert_allclose(est.predict(Xc), without.predict(X), rtol=1e-10)


def test_float32_wide_input(small_chunks):
    X64, Y = _regression_problem(40, 300, k=2, x_offset=1.0, seed=6)
    X = X64.astype(np.float32)
    X_before = X.copy()
    est = RidgeReadout(alpha=1.0).fit(X, Y)
    ref = Ridge(alpha=1.0).fit(X.astype(np.float64), Y)
    assert_array_equal(X, X_before)  # blocks are cast copies, never in-place views
    assert est.coef_.dtype == np.float64
    assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-10)
    assert_allclose(est.predict(X), ref.predict(X.astype(np.float64)), rtol=1e-6)


@pytest.mark.parametrize("shape", [(20000, 100), (600, 5000)], ids=["primal", "dual"])
def test_float32_fit_does_not_copy_whole_matrix(shape, monkeypatch):
    # A float64 copy of X would need 8 * N * D bytes; blocked casting must
    # stay well below that.
    monkeypatch.setattr(ridge, "CHUNK_ROWS", 64)
    rng = np.random.default_rng(7)
    X = rng.random(shape, dtype=np.float32)
    y = rng.integers(0, 3, size=shape[0])
    tracemalloc.start()
    try:
        RidgeReadout().fit(X, y).predict(X)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 0.5 * X.size * 8, f"peak {peak / 1e6:.1f} MB"


def test_regression_output_shape_follows_y():
    X, Y = _regression_problem(50, 4, k=1)
    assert RidgeReadout().fit(X, Y[:, 0]).predict(X).shape == (50,)
    assert RidgeReadout().fit(X, Y).predict(X).shape == (50, 1)


def test_refit_with_other_task_drops_stale_classes():
    X, y = _classification_problem(60, 3, n_classes=2)
    est = RidgeReadout().fit(X, y)
    assert hasattr(est, "classes_") and hasattr(est, "decision_function")
    est.fit(X, y.astype(float) * 1.5)
    assert est.task_ == "regression"
    assert not hasattr(est, "classes_")
    assert not hasattr(est, "decision_function")


def test_explicit_task_overrides_dtype():
    X, y = _classification_problem(80, 3, n_classes=3)
    reg = RidgeReadout(task="regression").fit(X, y)
    assert reg.task_ == "regression" and reg.predict(X).dtype == np.float64
    clf = RidgeReadout(task="classification").fit(X, y.astype(float))
    assert_array_equal(clf.classes_, [0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="continuous"):
        RidgeReadout(task="classification").fit(X, X[:, 0])


def test_cholesky_failure_names_alpha(monkeypatch):
    def fail(*args, **kwargs):
        raise np.linalg.LinAlgError("not positive definite")

    monkeypatch.setattr(ridge, "cho_factor", fail)
    with pytest.raises(np.linalg.LinAlgError, match="alpha=0.001"):
        RidgeReadout(alpha=0.001).fit(np.eye(5), np.arange(5.0))


# ---------------------------------------------------------------------------
# Input validation at the boundary
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("est", [RidgeReadout(), LogisticReadout()], ids=["ridge", "logistic"])
def test_not_fitted_error(est):
    X = np.zeros((3, 4))
    for method in ("predict", "decision_function", "score", "predict_proba"):
        if not hasattr(est, method):
            continue
        with pytest.raises(NotFittedError):
            if method == "score":
                est.score(X, [0, 1, 0])
            else:
                getattr(est, method)(X)


@pytest.mark.parametrize("est", [RidgeReadout(), LogisticReadout()], ids=["ridge", "logistic"])
def test_not_fitted_error_is_also_a_runtime_error(est):
    # Code written for pixelflow-rc catches RuntimeError; scikit-learn tools
    # catch NotFittedError. One public class serves both.
    X = np.zeros((3, 4))
    calls = {
        "predict": lambda: est.predict(X),
        "score": lambda: est.score(X, [0, 1, 0]),
        "decision_function": lambda: est.decision_function(X),
    }
    if isinstance(est, LogisticReadout):
        calls["predict_proba"] = lambda: est.predict_proba(X)
        calls["predict_log_proba"] = lambda: est.predict_log_proba(X)
    for method, call in calls.items():
        with pytest.raises(RuntimeError, match="not fitted yet") as info:
            call()
        assert type(info.value) is readouts.ReadoutNotFittedError, method
        assert isinstance(info.value, NotFittedError), method
    assert issubclass(readouts.ReadoutNotFittedError, NotFittedError)
    assert issubclass(readouts.ReadoutNotFittedError, RuntimeError)
    assert "ReadoutNotFittedError" in readouts.__all__


@pytest.mark.parametrize(
    "params", [{}, {"fit_intercept": False}, {"task": "classification"}, {"standardize": True}]
)
@pytest.mark.parametrize("label", [7, "seven"])
def test_single_class_is_fitted_and_predicted_like_ridge_classifier(params, label):
    rng = np.random.default_rng(0)
    X, X_new = rng.normal(size=(12, 3)), rng.normal(size=(5, 3))
    y = np.full(12, label)
    est = RidgeReadout(**params).fit(X, y)
    assert_array_equal(est.classes_, [label])
    pred = est.predict(X_new)
    assert_array_equal(pred, np.full(5, label))
    assert pred.dtype == y.dtype
    assert est.score(X, y) == 1.0
    assert est.decision_function(X_new).shape == (5,)
    if params.get("fit_intercept", True):
        # (RidgeClassifier itself fails to predict without an intercept.)
        assert_array_equal(pred, RidgeClassifier().fit(X, y).predict(X_new))


@pytest.mark.parametrize("cls", [RidgeReadout, LogisticReadout])
def test_wrong_feature_count_names_both_counts(cls):
    rng = np.random.default_rng(0)
    X = rng.random((20, 784))
    est = cls().fit(X, np.arange(20) % 2)
    msg = f"X has 783 features, but {cls.__name__} is expecting 784 features"
    with pytest.raises(ValueError, match=msg):
        est.predict(X[:, :783])


def test_nan_and_inf_rejected():
    X, y = _classification_problem(30, 3, n_classes=2)
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[4, 1] = bad
        with pytest.raises(ValueError, match="NaN|infinity"):
            RidgeReadout().fit(Xb, y)
        with pytest.raises(ValueError, match="NaN|infinity"):
            LogisticReadout().fit(Xb, y)
        with pytest.raises(ValueError, match="NaN|infinity"):
            RidgeReadout().fit(X, y).predict(Xb)
    y_bad = X[:, 0].copy()
    y_bad[0] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        RidgeReadout().fit(X, y_bad)


# ---------------------------------------------------------------------------
# Scoring, cloning, pickling, model selection
# ---------------------------------------------------------------------------


def test_score_is_accuracy_for_int_labels_and_r2_for_float_targets():
    F, y = _classification_problem(200, 5, n_classes=3, seed=9)
    clf = RidgeReadout(alpha=1.0).fit(F, y)
    acc = RidgeReadout(alpha=1.0).fit(F, y).score(F, y)
    assert 0.0 <= acc <= 1.0
    assert acc == pytest.approx(accuracy_score(y, clf.predict(F)))
    assert acc > 0.8

    Xr, Yr = _regression_problem(200, 5, k=1, seed=9)
    target = Yr[:, 0]
    reg = RidgeReadout(alpha=1.0).fit(Xr, target)
    r2 = reg.score(Xr, target)
    assert r2 == pytest.approx(r2_score(target, reg.predict(Xr)))
    assert 0.99 < r2 <= 1.0
    # A constant shift of the targets leaves accuracy-style scoring
    # meaningless but must be penalised by R^2.
    assert reg.score(Xr, target + 10 * target.std()) < 0


def test_clone_and_pickle_round_trip():
    X, y = _classification_problem(100, 6, n_classes=3)
    for est in (RidgeReadout(alpha=0.3, standardize=True), LogisticReadout(C=0.5)):
        cloned = clone(est)
        assert cloned.get_params() == est.get_params()
        assert not hasattr(cloned, "coef_")
        est.fit(X, y)
        restored = pickle.loads(pickle.dumps(est))
        assert_array_equal(restored.predict(X), est.predict(X))
        assert_array_equal(restored.decision_function(X), est.decision_function(X))


def test_grid_search_over_alpha():
    X, Y = _regression_problem(120, 10, k=1, seed=11)
    search = GridSearchCV(RidgeReadout(task="regression"), {"alpha": [1e-3, 1e2, 1e5]}, cv=3)
    search.fit(X, Y[:, 0])
    scores = search.cv_results_["mean_test_score"]
    # alpha must reach the clones: heavy shrinkage has to score worse.
    assert scores[0] > scores[1] > scores[2]
    assert search.best_params_ == {"alpha": 1e-3}

    Xc, yc = _classification_problem(120, 4, n_classes=3)
    clf_search = GridSearchCV(RidgeReadout(), {"alpha": [0.1, 10.0]}, cv=3).fit(Xc, yc)
    assert clf_search.best_estimator_.task_ == "classification"
    assert 0.0 <= clf_search.best_score_ <= 1.0


# ---------------------------------------------------------------------------
# LogisticReadout
# ---------------------------------------------------------------------------


def test_logistic_separable_problem_and_probabilities():
    rng = np.random.default_rng(12)
    y = rng.integers(0, 3, size=300)
    # Class means 20 apart with unit noise (clipped at 4 sigma): separable.
    X = 20.0 * np.eye(3, 5)[y] + np.clip(rng.normal(size=(300, 5)), -4, 4)
    est = LogisticReadout().fit(X, y)
    assert est.score(X, y) == 1.0
    proba = est.predict_proba(X)
    assert proba.shape == (300, 3)
    assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert_array_equal(est.classes_[proba.argmax(axis=1)], est.predict(X))
    assert_allclose(np.log(proba), est.predict_log_proba(X), rtol=1e-6, atol=1e-10)
    assert np.all(est.n_iter_ >= 1)


@pytest.mark.parametrize("standardize", [True, False])
def test_logistic_coef_in_original_units(standardize):
    X, y = _classification_problem(200, 4, n_classes=3, seed=13)
    X = X * [1.0, 100.0, 0.01, 5.0] + 50.0
    est = LogisticReadout(standardize=standardize, C=0.5).fit(X, y)
    folded = X @ est.coef_.T + est.intercept_
    assert_allclose(folded, est.decision_function(X), rtol=1e-9, atol=1e-9)
    if standardize:
        ref = make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=1000)).fit(X, y)
    else:
        ref = LogisticRegression(C=0.5, max_iter=1000).fit(X, y)
    assert_allclose(est.predict_proba(X), ref.predict_proba(X), rtol=1e-6, atol=1e-9)


def test_logistic_binary_string_labels():
    X, y = _classification_problem(100, 3, n_classes=2, seed=14)
    labels = np.array(["off", "on"])[y]
    est = LogisticReadout().fit(X, labels)
    assert_array_equal(est.classes_, ["off", "on"])
    dec = est.decision_function(X)
    assert dec.shape == (100,)
    assert_array_equal(est.predict(X), est.classes_[(dec > 0).astype(int)])


def test_statistics_by_array_products_equal_the_in_place_blas_ones():
    # The GPU path forms the scatter matrix with the array module's matmul
    # (cupy); with numpy standing in it must give the dsyrk statistics.

    rng = np.random.default_rng(4)
    X = (rng.standard_normal((53, 9)) * 3 + 5).astype(np.float32)
    Y = rng.standard_normal((53, 3))
    blas = ridge.accumulate(X, Y, chunk_rows=7)
    plain = ridge.accumulate(X, Y, chunk_rows=7, blas=False)
    assert plain.n_samples == blas.n_samples == 53
    for name in ("x_mean", "y_mean", "xx", "xy"):
        np.testing.assert_allclose(getattr(plain, name), getattr(blas, name), rtol=1e-12, atol=1e-9)
    Xc = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    np.testing.assert_allclose(plain.xx, Xc.T @ Xc, rtol=1e-10)


@pytest.mark.parametrize("n_samples", [60, 12], ids=["primal", "dual"])
@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("target", ["labels", "real", "real 2-D"])
def test_a_path_of_readouts_equals_separate_fits(rng, n_samples, standardize, target):
    from pixelflow.readouts import ridge_path_readouts

    X = rng.normal(size=(n_samples, 20)).astype(np.float32)
    y = {"labels": rng.integers(0, 3, n_samples), "real": rng.normal(size=n_samples),
         "real 2-D": rng.normal(size=(n_samples, 2))}[target]
    alphas = [1e-3, 0.5, 40.0]
    path = ridge_path_readouts(alphas, X, y, standardize=standardize)
    for alpha, got in zip(alphas, path):
        want = RidgeReadout(alpha=alpha, standardize=standardize).fit(X, y)
        assert got.alpha == alpha and got.n_features_in_ == 20 and got.task_ == want.task_
        assert_array_equal(got.coef_, want.coef_)
        assert_array_equal(got.intercept_, want.intercept_)
        assert_array_equal(got.predict(X), want.predict(X))


def test_a_path_gives_none_where_a_penalty_cannot_be_solved_and_checks_its_arguments(monkeypatch):
    from pixelflow.linalg import ridge
    from pixelflow.readouts import ridge_path_readouts

    X, y = np.eye(4), np.arange(4.0)
    solve = ridge.RidgePath.fit
    monkeypatch.setattr(ridge.RidgePath, "fit", lambda self, a: (_ for _ in ()).throw(np.linalg.LinAlgError("x"))
                        if a < 1e-6 else solve(self, a))
    out = ridge_path_readouts([1e-9, 1.0], X, y)
    assert out[0] is None and out[1] is not None
    with pytest.raises(ValueError, match="alpha"):
        ridge_path_readouts([1.0, -1.0], X, y)
    with pytest.raises(ValueError, match="task"):
        ridge_path_readouts([1.0], X, y, task="ranking")


@pytest.mark.parametrize("n_classes", [2, 4])
@pytest.mark.parametrize("standardize", [False, True])
def test_classifier_from_merged_statistics_equals_one_fit(n_classes, standardize):
    rng = np.random.default_rng(n_classes)
    X = rng.standard_normal((90, 6)) * np.arange(1, 7) + 3.0
    y = rng.integers(0, n_classes, 90) * 10
    classes, index = ridge.class_labels(y, "t")
    Y = ridge.one_vs_all(index, len(classes))
    stats = ridge.accumulate(X[:50], Y[:50]).merge(ridge.accumulate(X[50:], Y[50:]))
    merged = readouts.ridge_classifier_from_statistics(stats, classes, alpha=0.5, standardize=standardize)
    direct = RidgeReadout(alpha=0.5, standardize=standardize).fit(X, y)
    np.testing.assert_allclose(merged.coef_, direct.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(merged.intercept_, direct.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(merged.predict(X), direct.predict(X))
    np.testing.assert_array_equal(merged.classes_, classes)
    before = stats.xx.copy()
    readouts.ridge_classifier_from_statistics(stats, classes, alpha=0.5)
    np.testing.assert_array_equal(stats.xx, before)  # the statistics are not consumed


def test_classifier_from_statistics_rejects_what_does_not_fit():
    X, y = np.eye(4), np.array([0, 1, 2, 2])
    classes, index = ridge.class_labels(y, "t")
    stats = ridge.accumulate(X, ridge.one_vs_all(index, 3))
    with pytest.raises(ValueError, match="3 target column"):
        readouts.ridge_classifier_from_statistics(stats, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="at least 2 labels"):
        readouts.ridge_classifier_from_statistics(stats, np.array([0]))
    with pytest.raises(ValueError, match="classifiers"):
        readouts.ridge_classifier_from_statistics(stats, classes, task="regression")
    with pytest.raises(TypeError, match="RidgeStats"):
        readouts.ridge_classifier_from_statistics(stats.xx, classes)
    with pytest.raises(ValueError, match="alpha"):
        readouts.ridge_classifier_from_statistics(stats, classes, alpha=-1.0)
