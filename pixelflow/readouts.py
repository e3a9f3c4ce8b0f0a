"""Linear readouts for reservoir features.

Two scikit-learn compatible estimators:

* :class:`RidgeReadout` -- closed-form ridge regression / ridge classification
  that never materialises a float64 copy of the full feature matrix, so it can
  be trained on float32 reservoir features with tens of thousands of columns.
* :class:`LogisticReadout` -- multinomial logistic regression (lbfgs) with
  optional standardisation, exposing its coefficients in the original feature
  units.

Both follow the scikit-learn estimator contract (``__init__`` only stores its
arguments; validation happens in ``fit``; learned attributes end in ``_``) and
pass :func:`sklearn.utils.estimator_checks.check_estimator`.
"""

from __future__ import annotations

import dataclasses
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, r2_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import ClassifierTags, RegressorTags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_is_fitted,
    check_scalar,
    validate_data,
)

from pixelflow.inputs import array_module, is_dask_array
from pixelflow.linalg import ridge

__all__ = [
    "LogisticReadout",
    "ReadoutNotFittedError",
    "RidgeReadout",
    "ridge_classifier_from_statistics",
    "ridge_path_accuracy",
    "ridge_path_readouts",
]

_TASKS = ("auto", "classification", "regression")


class ReadoutNotFittedError(NotFittedError, RuntimeError):
    """A readout was asked to predict or score before ``fit``.

    Caught both as scikit-learn's
    :class:`~sklearn.exceptions.NotFittedError` (what scikit-learn tools
    expect) and as :class:`RuntimeError` (what code written for
    pixelflow-rc catches).
    """


def _check_fitted(estimator):
    """``check_is_fitted`` raising :class:`ReadoutNotFittedError`."""
    try:
        check_is_fitted(estimator)
    except NotFittedError as exc:
        raise ReadoutNotFittedError(str(exc)) from None


def _device_module(X):
    """CuPy if ``X`` is a CuPy array (features left on the GPU), else None."""
    xp = array_module(X)
    return None if xp is np else xp


def _to_host(a):
    return a if isinstance(a, np.ndarray) else a.get()


def _check_device_data(estimator, X, y, xp, reset):
    """Validate features on the GPU (shape, dtype, finiteness) and bring ``y`` to the host.

    The checks of ``validate_data`` without copying ``X`` to the host.
    """
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array, got {X.ndim}D array instead.")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"Found array with shape {X.shape}; at least one sample and one feature are required.")
    if not bool(xp.isfinite(X).all()):
        raise ValueError("Input X contains NaN or infinity.")
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                         f"{estimator.n_features_in_} features as input.")
    if y is not None:
        y = np.asarray(_to_host(y))
        if len(y) != X.shape[0]:
            raise ValueError(f"Found input variables with inconsistent numbers of samples: [{X.shape[0]}, {len(y)}]")
    return X, y


def _validate_alpha(alpha):
    check_scalar(
        alpha, "alpha", numbers.Real, min_val=0.0, include_boundaries="neither"
    )
    if not np.isfinite(alpha):
        raise ValueError(f"alpha must be finite, got alpha={alpha!r}.")


def _validate_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {name}={value!r}.")


def _validate_task(task):
    # isinstance first: ``task in _TASKS`` on an array would compare elementwise.
    if not isinstance(task, str) or task not in _TASKS:
        raise ValueError(f"task must be one of {_TASKS}, got task={task!r}.")


# ---------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------


def _decision_available(estimator):
    """``available_if`` predicate: decision_function only for classification."""
    task = getattr(estimator, "task_", estimator.task)
    if task == "regression":
        raise AttributeError(
            "decision_function is only available for classification; this "
            f"{type(estimator).__name__} does regression."
        )
    return True


class RidgeReadout(BaseEstimator):
    """Closed-form ridge readout for classification or regression.

    Solves ``min_W ||Y - X W - b||^2 + alpha ||W||^2`` exactly. When
    ``n_features <= n_samples`` the primal normal equations
    ``(X^T X + alpha I) W = X^T Y`` are solved by Cholesky; otherwise the
    equivalent, cheaper kernel form ``(X X^T + alpha I) A = Y``,
    ``W = X^T A``. All arithmetic is float64, but the input is cast only a
    block of rows at a time, so float32 input of shape (N, D) needs about
    ``min(N, D)**2`` float64 memory rather than ``N * D``.

    Classification codes targets one-vs-all as +1/-1, exactly as
    :class:`sklearn.linear_model.RidgeClassifier` does (one column for binary
    problems, one per class otherwise). Like ``RidgeClassifier``, an
    in-memory fit accepts ``y`` holding a single class; every prediction is
    then that class.

    Features may be a dask array, chunked along samples: ``fit`` then sums
    the same sufficient statistics chunk by chunk on dask's scheduler and
    always solves the primal form, and ``predict`` / ``decision_function``
    return lazy dask arrays (see :mod:`pixelflow.scaleout.ridge`).

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength; must be positive and finite.
    task : {"auto", "classification", "regression"}, default="auto"
        ``"auto"`` treats floating-point targets as regression and integer,
        boolean, string or object targets as classification labels. Any
        other value raises ``ValueError`` already at construction (and again
        in ``fit``, after ``set_params``).
    standardize : bool, default=False
        Scale each feature to unit variance before penalising, so that
        ``alpha`` acts equally on all features. Features with zero variance
        keep scale 1. The learned coefficients are always reported in the
        original feature units.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept (by centring features and targets).

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features)
        Weights in the original feature units. ``n_targets`` is 1 for binary
        classification and single-output regression, the number of classes
        for multiclass problems, and ``y.shape[1]`` for multi-output
        regression.
    intercept_ : ndarray of shape (n_targets,)
        Intercepts (zeros when ``fit_intercept=False``).
    mean_ : ndarray of shape (n_features,)
        Feature offsets removed before solving (column means, or zeros when
        ``fit_intercept=False``).
    scale_ : ndarray of shape (n_features,)
        Feature scales used before solving (standard deviations, or ones when
        ``standardize=False``).
    classes_ : ndarray of shape (n_classes,)
        Class labels; only set for classification.
    task_ : {"classification", "regression"}
        The task that was actually fitted.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    Raises
    ------
    ReadoutNotFittedError
        From ``predict``, ``decision_function`` and ``score`` before ``fit``;
        it is both a :class:`~sklearn.exceptions.NotFittedError` and a
        :class:`RuntimeError`.

    See Also
    --------
    LogisticReadout : Probabilistic linear classifier.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.readouts import RidgeReadout
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> RidgeReadout(alpha=0.1).fit(X, [1, 0, 1, 0]).predict(X)
    array([1, 0, 1, 0])
    """

    def __init__(self, alpha=1.0, task="auto", standardize=False, fit_intercept=True):
        # Refused here (unlike the other parameters, checked in fit) because
        # code written for pixelflow-rc relies on a bad task failing at
        # construction; the value is stored unchanged, so clone and
        # set_params keep working.
        _validate_task(task)
        self.alpha = alpha
        self.task = task
        self.standardize = standardize
        self.fit_intercept = fit_intercept

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # The estimator type follows the configured task so that tools such
        # as GridSearchCV pick stratified folds and the right scorer; "auto"
        # is advertised as a classifier because that is the readout's
        # primary use.
        if self.task == "regression":
            tags.estimator_type = "regressor"
            tags.regressor_tags = RegressorTags()
            tags.target_tags.multi_output = True
        else:
            tags.estimator_type = "classifier"
            tags.classifier_tags = ClassifierTags()
        tags.target_tags.required = True
        return tags

    def fit(self, X, y):
        """Fit the readout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features. float32 input is kept as float32; it is promoted to
            float64 one block of rows at a time. A dask array is fitted out
            of core, one task per row chunk; its coefficients equal the
            in-memory fit's up to the order of the float64 sums.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Class labels (classification) or real targets (regression; 2-D
            for several outputs); a dask array with dask features.

        Returns
        -------
        self : RidgeReadout
            The fitted estimator.
        """
        _validate_alpha(self.alpha)
        # Checked again here: set_params may have changed it since __init__.
        _validate_task(self.task)
        _validate_bool(self.standardize, "standardize")
        _validate_bool(self.fit_intercept, "fit_intercept")

        if is_dask_array(X):
            from pixelflow.scaleout.ridge import chunked_stats

            # Out of core: statistics per row chunk, summed by a tree of tasks.
            stats, task, classes, single_target = chunked_stats(X, y, self.task, type(self).__name__)
            self.n_features_in_ = int(X.shape[1])
            self.__dict__.pop("feature_names_in_", None)
            coef, intercept, mean, scale = ridge.solve(stats, self.alpha, self.fit_intercept, self.standardize)
            return self._set_solution(coef, intercept, mean, scale, task, single_target, classes)

        xp = _device_module(X)
        if xp is None:
            # y is validated permissively first because its dtype decides the
            # task, and the task decides whether 2-D targets are legal.
            X, y = validate_data(
                self,
                X,
                y,
                dtype=[np.float64, np.float32],
                multi_output=True,
                y_numeric=False,
            )
        else:
            X, y = _check_device_data(self, X, y, xp, reset=True)
        task, classes, Y, single_target = _coded_targets(self.task, y, type(self).__name__)
        coef, intercept, mean, scale = ridge.fit(X, Y, self.alpha, self.fit_intercept, self.standardize,
                                                 xp=np if xp is None else xp)
        return self._set_solution(coef, intercept, mean, scale, task, single_target, classes)

    def _set_solution(self, coef, intercept, mean, scale, task, single_target, classes):
        self.coef_ = coef
        self.intercept_ = intercept
        self.mean_ = mean
        self.scale_ = scale
        self.task_ = task
        self._single_target = single_target
        if task == "classification":
            self.classes_ = classes
        else:
            # A refit on regression targets must not leave labels from an
            # earlier classification fit behind: sklearn's scorers and
            # ``hasattr(est, "classes_")`` checks would treat it as a classifier.
            self.__dict__.pop("classes_", None)
        return self

    def _linear(self, X):
        """Validated ``X @ coef_.T + intercept_`` of shape (n_samples, n_targets), on ``X``'s device."""
        _check_fitted(self)
        xp = _device_module(X)
        if xp is None:
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
            xp = np
        else:
            X, _ = _check_device_data(self, X, None, xp, reset=False)
        return ridge.decision(X, self.coef_, self.intercept_, xp=xp)

    def _by_rows(self, X, method):
        """Lazy ``method`` of a dask array: the in-memory method on each row chunk."""
        from pixelflow.scaleout.ridge import map_readout

        _check_fitted(self)
        labels = method == "predict" and self.task_ == "classification"
        width = None if labels or self._single_target else self.coef_.shape[0]
        dtype = self.classes_.dtype if labels else np.dtype(np.float64)
        return map_readout(self, X, method, width=width, dtype=dtype)

    @available_if(_decision_available)
    def decision_function(self, X):
        """Signed class scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems, positive scores favour ``classes_[1]``.
            A lazy dask array, chunked like ``X``, for a dask ``X``.
        """
        if is_dask_array(X):
            return self._by_rows(X, "decision_function")
        scores = self._linear(X)
        return scores.ravel() if self._single_target else scores

    def predict(self, X):
        """Predict class labels or regression targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Labels from ``classes_`` for classification; real values, shaped
            like the ``y`` given to ``fit``, for regression. A lazy dask
            array, chunked like ``X``, for a dask ``X``.
        """
        if is_dask_array(X):
            return self._by_rows(X, "predict")
        out = _to_host(self._linear(X))
        if self.task_ == "classification":
            return ridge.labels_from_scores(out, self.classes_)
        return out[:, 0] if self._single_target else out

    def score(self, X, y, sample_weight=None):
        """Accuracy (classification) or coefficient of determination R².

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            True labels or targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights for the metric.

        Returns
        -------
        score : float
            Mean accuracy, or R² averaged uniformly over targets. With dask
            input the predictions are computed chunk by chunk and only they
            and ``y`` are gathered.
        """
        y_pred = self.predict(X)
        if any(is_dask_array(a) for a in (y_pred, y, sample_weight)):
            from pixelflow.scaleout.ridge import gather

            # One value per sample: small next to the features, so the metric
            # runs in memory and equals the in-memory score exactly.
            y_pred, y, sample_weight = gather(y_pred, y, sample_weight)
        if self.task_ == "classification":
            return float(accuracy_score(y, y_pred, sample_weight=sample_weight))
        return float(r2_score(y, y_pred, sample_weight=sample_weight))


def _coded_targets(task, y, name):
    """``(task, classes, Y, single_target)``: the task ``task`` means for ``y``, and ``y`` coded for ridge."""
    task = ridge.resolve_task(task, y.dtype)
    if task == "classification":
        # One class is accepted, as by RidgeClassifier: it is then the
        # only label predict can return.
        classes, y_index = ridge.class_labels(y, name, min_classes=1)
        Y = ridge.one_vs_all(y_index, classes.shape[0])
        return task, classes, Y, Y.shape[1] == 1
    return task, None, ridge.regression_targets(y), y.ndim == 1


def ridge_path_readouts(alphas, X, y, **params) -> list[RidgeReadout | None]:
    """``RidgeReadout(alpha=a, **params).fit(X, y)`` for every ``a`` in ``alphas``, from one pass over ``X``.

    Each readout has exactly the coefficients of a separate fit
    (:class:`pixelflow.linalg.ridge.RidgePath`); only each ``alpha``'s solve
    is repeated. An ``alpha`` too small for the features to be solved
    (:class:`numpy.linalg.LinAlgError`) gives None in its place.

    Parameters
    ----------
    alphas : sequence of float
    X : array-like of shape (n_samples, n_features)
        In-memory NumPy features.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
    **params
        Other :class:`RidgeReadout` parameters (``task``, ``standardize``, ``fit_intercept``).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> [r.predict(X).round(2).tolist() for r in ridge_path_readouts([0.1, 10.0], X, [1.0, 0.0, 1.5, 0.2])]
    [[1.13, 0.22, 1.27, 0.08], [0.72, 0.63, 0.73, 0.62]]
    """
    template = _checked_template(params)
    for alpha in alphas:
        _validate_alpha(alpha)
    X, y = validate_data(template, X, y, dtype=[np.float64, np.float32], multi_output=True, y_numeric=False)
    task, classes, Y, single_target = _coded_targets(template.task, y, "ridge_path_readouts")
    path = ridge.RidgePath(X, Y, fit_intercept=template.fit_intercept, standardize=template.standardize)
    out = []
    for alpha in alphas:
        try:
            coef, intercept, mean, scale = path.fit(alpha)
        except np.linalg.LinAlgError:
            out.append(None)
            continue
        readout = RidgeReadout(**{**template.get_params(), "alpha": alpha})
        readout.n_features_in_ = template.n_features_in_
        if hasattr(template, "feature_names_in_"):
            readout.feature_names_in_ = template.feature_names_in_
        out.append(readout._set_solution(coef, intercept, mean, scale, task, single_target, classes))
    return out


def _checked_template(params) -> RidgeReadout:
    template = RidgeReadout(**params)
    _validate_alpha(template.alpha)
    _validate_task(template.task)
    _validate_bool(template.standardize, "standardize")
    _validate_bool(template.fit_intercept, "fit_intercept")
    return template


def ridge_classifier_from_statistics(stats, classes, **params) -> RidgeReadout:
    """A :class:`RidgeReadout` classifier fitted from the sufficient statistics of its features.

    The statistics are those :meth:`RidgeReadout.fit` builds from features
    ``X`` and labels ``y`` (:func:`pixelflow.linalg.ridge.accumulate` of
    ``X`` and of the labels' one-vs-all coding,
    :func:`pixelflow.linalg.ridge.one_vs_all`, with columns in the order of
    ``classes``). Statistics of disjoint row sets merge exactly
    (:meth:`pixelflow.linalg.ridge.RidgeStats.merge`), so a fit on more rows
    can reuse the statistics of the rows already seen; the coefficients are
    those of ``RidgeReadout(**params).fit(X, y)`` up to the order of the
    float64 sums.

    Parameters
    ----------
    stats : pixelflow.linalg.ridge.RidgeStats
    classes : ndarray of shape (n_classes,)
        Sorted class labels, at least two; ``stats`` has one target column
        per class (one for two classes).
    **params
        :class:`RidgeReadout` parameters (``alpha``, ``standardize``,
        ``fit_intercept``; ``task`` must be ``"auto"`` or ``"classification"``).

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.linalg import ridge
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 1.0]])
    >>> y = np.array([1, 0, 1, 0, 1])
    >>> classes, index = ridge.class_labels(y, "example")
    >>> Y = ridge.one_vs_all(index, len(classes))
    >>> stats = ridge.accumulate(X[:3], Y[:3]).merge(ridge.accumulate(X[3:], Y[3:]))
    >>> merged = ridge_classifier_from_statistics(stats, classes, alpha=0.1)
    >>> direct = RidgeReadout(alpha=0.1).fit(X, y)
    >>> bool(np.allclose(merged.coef_, direct.coef_, rtol=1e-12, atol=1e-12))
    True
    """
    template = _checked_template(params)
    if template.task not in ("auto", "classification"):
        raise ValueError(f"ridge_classifier_from_statistics fits classifiers; got task={template.task!r}")
    if not isinstance(stats, ridge.RidgeStats):
        raise TypeError(f"stats must be a pixelflow.linalg.ridge.RidgeStats, got {type(stats).__name__}")
    classes = np.asarray(classes)
    if classes.ndim != 1 or classes.shape[0] < 2:
        raise ValueError(f"classes must be 1-D with at least 2 labels, got shape {classes.shape}")
    n_targets = 1 if classes.shape[0] == 2 else classes.shape[0]
    if stats.xy.shape[1] != n_targets:
        raise ValueError(f"stats hold {stats.xy.shape[1]} target column(s); {classes.shape[0]} classes need "
                         f"{n_targets} (pixelflow.linalg.ridge.one_vs_all)")
    coef, intercept, mean, scale = ridge.solve(
        dataclasses.replace(stats, xx=np.array(stats.xx, order="F", copy=True)),
        template.alpha, template.fit_intercept, template.standardize)
    template.n_features_in_ = int(stats.xx.shape[0])
    return template._set_solution(coef, intercept, mean, scale, "classification", n_targets == 1, classes)


def ridge_path_accuracy(alphas, X_fit, y_fit, X_val, y_val, *, standardize=True, fit_intercept=True) -> list[float]:
    """Validation accuracy of ridge classifiers for every ``alpha``, from one pass over ``X_fit``.

    Each accuracy is that of ``RidgeReadout(alpha, standardize=...,
    fit_intercept=...).fit(X_fit, y_fit).score(X_val, y_val)``: the same
    coefficients (:class:`pixelflow.linalg.ridge.RidgePath`), the same
    predictions.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> ridge_path_accuracy([0.1, 10.0], X, [1, 0, 1, 0], X, [1, 0, 1, 0])
    [1.0, 1.0]
    """
    classes, y_index = ridge.class_labels(np.asarray(y_fit), "ridge_path_accuracy")
    path = ridge.RidgePath(np.asarray(X_fit), ridge.one_vs_all(y_index, len(classes)),
                           fit_intercept=fit_intercept, standardize=standardize)
    y_val = np.asarray(y_val)
    out = []
    for alpha in alphas:
        pred = ridge.labels_from_scores(ridge.decision(np.asarray(X_val), *path.solve(alpha)), classes)
        out.append(float(np.mean(pred == y_val)))
    return out


class LogisticReadout(ClassifierMixin, BaseEstimator):
    """Multinomial logistic-regression readout with optional standardisation.

    A thin wrapper around :class:`sklearn.linear_model.LogisticRegression`
    (lbfgs solver, L2 penalty, multinomial loss for more than two classes),
    optionally preceded by a :class:`~sklearn.preprocessing.StandardScaler`.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength; must be positive.
    max_iter : int, default=1000
        Maximum number of lbfgs iterations.
    standardize : bool, default=True
        Standardise features before fitting so the penalty treats them
        equally (and lbfgs converges faster).
    tol : float, default=1e-4
        Stopping tolerance of the solver.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights in the original feature units (the scaler is folded in), so
        ``X @ coef_.T + intercept_`` equals :meth:`decision_function`.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts in the original feature units.
    model_ : Pipeline or LogisticRegression
        The fitted underlying model.
    n_iter_ : ndarray of shape (1,)
        Solver iterations.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names, when ``X`` had string column names.

    Raises
    ------
    ReadoutNotFittedError
        From ``predict``, ``predict_proba``, ``predict_log_proba``,
        ``decision_function`` and ``score`` before ``fit``; it is both a
        :class:`~sklearn.exceptions.NotFittedError` and a
        :class:`RuntimeError`.

    See Also
    --------
    RidgeReadout : Closed-form least-squares readout.
    """

    def __init__(self, C=1.0, max_iter=1000, standardize=True, tol=1e-4):
        self.C = C
        self.max_iter = max_iter
        self.standardize = standardize
        self.tol = tol

    def fit(self, X, y):
        """Fit the readout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : LogisticReadout
            The fitted estimator.
        """
        check_scalar(self.C, "C", numbers.Real, min_val=0.0, include_boundaries="neither")
        check_scalar(self.max_iter, "max_iter", numbers.Integral, min_val=1)
        check_scalar(self.tol, "tol", numbers.Real, min_val=0.0, include_boundaries="neither")
        _validate_bool(self.standardize, "standardize")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)

        logreg = LogisticRegression(
            C=self.C, max_iter=self.max_iter, tol=self.tol, solver="lbfgs"
        )
        if self.standardize:
            model = Pipeline([("scale", StandardScaler()), ("logreg", logreg)])
        else:
            model = logreg
        model.fit(X, y)

        coef = logreg.coef_
        intercept = logreg.intercept_
        if self.standardize:
            scaler = model.named_steps["scale"]
            coef = coef / scaler.scale_
            intercept = intercept - coef @ scaler.mean_
        self.model_ = model
        self.classes_ = logreg.classes_
        self.coef_ = coef
        self.intercept_ = intercept
        self.n_iter_ = logreg.n_iter_
        return self

    def _checked(self, X):
        # Validate here, not in model_, so errors name LogisticReadout.
        _check_fitted(self)
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=False)

    def decision_function(self, X):
        """Class scores (log-odds for binary problems).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For binary problems, positive scores favour ``classes_[1]``.
        """
        X = self._checked(X)
        return self.model_.decision_function(X)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``; rows sum to 1.
        """
        X = self._checked(X)
        return self.model_.predict_proba(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        X = self._checked(X)
        return self.model_.predict_log_proba(X)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Features.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        X = self._checked(X)
        return self.model_.predict(X)
