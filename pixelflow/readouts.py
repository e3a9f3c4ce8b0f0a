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

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.blas import dsyrk
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
    column_or_1d,
    validate_data,
)

from pixelflow.inputs import array_module

__all__ = ["RidgeReadout", "LogisticReadout", "ReadoutNotFittedError"]

# Rows cast to float64 at a time: enough for BLAS-3 efficiency, while the
# element budget caps a block at 512 MB of float64 for very wide inputs (the
# kernel path keeps two blocks alive at once).
_CHUNK_ROWS = 4096
_CHUNK_ELEMENTS = 2**26


def _rows_per_chunk(n_features):
    """Rows per float64 block for a matrix with ``n_features`` columns."""
    # Module globals are read at call time so tests can shrink the blocks.
    return max(1, min(_CHUNK_ROWS, _CHUNK_ELEMENTS // max(n_features, 1)))

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


# ---------------------------------------------------------------------------
# Sufficient statistics (primal form)
# ---------------------------------------------------------------------------


@dataclass
class _RidgeStats:
    """Sufficient statistics of a ridge problem, centred for stability.

    Attributes
    ----------
    n_samples : int
        Number of rows accumulated.
    x_mean : ndarray of shape (n_features,)
        Column means of ``X``.
    y_mean : ndarray of shape (n_targets,)
        Column means of ``Y``.
    xx : ndarray of shape (n_features, n_features)
        Centred scatter matrix ``(X - x_mean).T @ (X - x_mean)``, float64,
        Fortran-ordered, symmetric.
    xy : ndarray of shape (n_features, n_targets)
        Centred cross-product ``(X - x_mean).T @ (Y - y_mean)``.

    Notes
    -----
    Statistics of two disjoint row blocks ``a`` and ``b`` combine exactly
    (Chan, Golub & LeVeque) as ``n = n_a + n_b``, ``delta = mean_b - mean_a``,
    ``xx = xx_a + xx_b + (n_a * n_b / n) * outer(delta_x, delta_x)`` and
    likewise for ``xy``; this is what makes them summable across Dask
    chunks. Centred (rather than raw ``X.T @ X``) statistics are kept because
    subtracting ``n * outer(mean, mean)`` from a raw Gram matrix cancels
    catastrophically when features or targets carry large offsets.
    """

    n_samples: int
    x_mean: np.ndarray
    y_mean: np.ndarray
    xx: np.ndarray
    xy: np.ndarray

    def __sizeof__(self) -> int:
        # The arrays included: Dask measures stored results with sys.getsizeof
        # to decide what to spill, and would otherwise count a D x D matrix
        # as a few dozen bytes and never spill it.
        arrays = (self.x_mean, self.y_mean, self.xx, self.xy)
        return object.__sizeof__(self) + sum(getattr(a, "nbytes", 0) for a in arrays)


def _syrk_upper_inplace(c, rows):
    """Add ``rows.T @ rows`` to the upper triangle of ``c`` without temporaries.

    ``c`` must be a Fortran-ordered float64 array; BLAS ``dsyrk`` with
    ``beta=1`` accumulates into it in place, which matters because ``c`` may be
    tens of gigabytes and ``np.dot`` would allocate a second one.
    """
    # rows is C-contiguous, so rows.T is Fortran-contiguous: no copy by f2py.
    out = dsyrk(1.0, rows.T, beta=1.0, c=c, trans=0, lower=0, overwrite_c=1)
    if out is not c:  # pragma: no cover - guards against an f2py copy
        c[...] = out


def _symmetrize_upper_inplace(a, block=1024):
    """Copy the upper triangle of square ``a`` into its lower triangle.

    Done in column blocks so no index arrays or triangle-sized temporaries of
    the (possibly huge) matrix are created.
    """
    n = a.shape[0]
    for start in range(0, n, block):
        stop = min(start + block, n)
        # Rows below the block's diagonal band take the transposed upper part.
        a[stop:, start:stop] = a[start:stop, stop:].T
        band = a[start:stop, start:stop]
        band[...] = np.triu(band) + np.triu(band, 1).T


def _accumulate_stats(X, Y, chunk_rows=None, xp=np, blas=None):
    """Accumulate centred ridge sufficient statistics over row chunks.

    With ``xp`` = cupy (features on a GPU), the O(N D²) products run on the
    device and only the D × D statistics come back to the host.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features of any real dtype; only ``chunk_rows`` rows at a time are
        cast to float64.
    Y : ndarray of shape (n_samples, n_targets)
        Targets.
    chunk_rows : int, optional
        Rows per chunk; by default chosen by :func:`_rows_per_chunk`.
    xp : module, optional
        Array module of ``X`` and ``Y`` (numpy or cupy).
    blas : bool, optional
        Update the scatter matrix with an in-place host ``dsyrk`` (numpy's
        default) instead of a product of the array module.

    Returns
    -------
    stats : _RidgeStats
        The accumulated statistics (see :class:`_RidgeStats`).
    """
    n_samples, n_features = X.shape
    n_targets = Y.shape[1]
    if chunk_rows is None:
        chunk_rows = _rows_per_chunk(n_features)
    if blas is None:
        blas = xp is np
    xx = xp.zeros((n_features, n_features), dtype=np.float64, order="F")
    xy = xp.zeros((n_features, n_targets), dtype=np.float64)
    x_mean = xp.zeros(n_features, dtype=np.float64)
    y_mean = xp.zeros(n_targets, dtype=np.float64)
    # One spare row carries the between-chunk correction term, so each chunk
    # (centred rows + correction) updates xx with a single in-place syrk.
    xbuf = xp.empty((min(chunk_rows, n_samples) + 1, n_features), dtype=np.float64)
    ybuf = xp.empty((xbuf.shape[0], n_targets), dtype=np.float64)
    n_seen = 0
    for start in range(0, n_samples, chunk_rows):
        stop = min(start + chunk_rows, n_samples)
        m = stop - start
        xc, yc = xbuf[:m], ybuf[:m]
        xc[...] = X[start:stop]
        yc[...] = Y[start:stop]
        xc_mean = xc.mean(axis=0)
        yc_mean = yc.mean(axis=0)
        xc -= xc_mean
        yc -= yc_mean
        n_total = n_seen + m
        weight = np.sqrt(n_seen * m / n_total)
        dx = xc_mean - x_mean
        dy = yc_mean - y_mean
        xbuf[m] = weight * dx
        ybuf[m] = weight * dy
        if blas:
            _syrk_upper_inplace(xx, xbuf[: m + 1])
        else:
            xx += xbuf[: m + 1].T @ xbuf[: m + 1]
        xy += xbuf[: m + 1].T @ ybuf[: m + 1]
        x_mean += dx * (m / n_total)
        y_mean += dy * (m / n_total)
        n_seen = n_total
    if blas:
        _symmetrize_upper_inplace(xx)
    if xp is not np:
        x_mean, y_mean, xy = (xp.asnumpy(a) for a in (x_mean, y_mean, xy))
        xx = np.asfortranarray(xp.asnumpy(xx))
    return _RidgeStats(n_seen, x_mean, y_mean, xx, xy)


# ---------------------------------------------------------------------------
# Solvers
# ---------------------------------------------------------------------------


def _feature_scale(var, mean, n_samples):
    """Standard deviations with (near-)constant features mapped to 1.

    The constant-feature bound is the one scikit-learn's StandardScaler uses
    (error bound of the two-pass variance algorithm), so a column that is
    constant up to rounding gets scale 1 instead of a huge 1/1e-17 factor.
    """
    eps = np.finfo(np.float64).eps
    var = np.maximum(var, 0.0)
    constant = var <= n_samples * eps * var + (n_samples * mean * eps) ** 2
    scale = np.sqrt(var)
    scale[constant] = 1.0
    return scale


def _cholesky_solve_inplace(a, b, alpha, form):
    """Solve ``(a + alpha I) x = b`` for symmetric PSD ``a``, overwriting ``a``."""
    diag = np.arange(a.shape[0])
    a[diag, diag] += alpha
    try:
        factor = cho_factor(a, lower=False, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError as exc:
        raise np.linalg.LinAlgError(
            f"The regularised {form} matrix is not numerically positive "
            f"definite with alpha={alpha!r}; increase alpha."
        ) from exc
    return cho_solve(factor, b, overwrite_b=False, check_finite=False)


def _ridge_from_stats(stats, alpha, fit_intercept, standardize):
    """Solve the primal normal equations from sufficient statistics.

    Consumes ``stats.xx`` (it is scaled and factorised in place to avoid a
    second D x D matrix).

    Returns
    -------
    coef : ndarray of shape (n_targets, n_features)
        Coefficients in the original feature units.
    intercept : ndarray of shape (n_targets,)
    mean : ndarray of shape (n_features,)
        Offset subtracted from the features (zeros without an intercept).
    scale : ndarray of shape (n_features,)
        Divisor applied to the features (ones without standardisation).
    """
    n = stats.n_samples
    gram, xy = stats.xx, stats.xy
    n_features = gram.shape[0]
    if standardize:
        scale = _feature_scale(np.diag(gram) / n, stats.x_mean, n)
    else:
        scale = np.ones(n_features)
    if fit_intercept:
        mean = stats.x_mean
    else:
        # Without an intercept the model sees raw (uncentred) columns; adding
        # the PSD mean term back cannot cancel, unlike the reverse direction.
        mean = np.zeros(n_features)
        _syrk_upper_inplace(gram, np.sqrt(n) * stats.x_mean[None, :])
        _symmetrize_upper_inplace(gram)
        xy = xy + n * np.outer(stats.x_mean, stats.y_mean)
    if standardize:
        gram /= scale[:, None]
        gram /= scale[None, :]
        xy = xy / scale[:, None]
    coef_z = _cholesky_solve_inplace(gram, xy, alpha, "Gram").T
    coef = coef_z / scale
    y_offset = stats.y_mean if fit_intercept else np.zeros_like(stats.y_mean)
    intercept = y_offset - coef @ mean
    return coef, intercept, mean, scale


def _column_moments(X, chunk_rows):
    """Column means and centred sums of squares, accumulated in float64 chunks."""
    n_samples, n_features = X.shape
    mean = np.zeros(n_features)
    m2 = np.zeros(n_features)
    n_seen = 0
    for start in range(0, n_samples, chunk_rows):
        chunk = np.array(X[start : start + chunk_rows], dtype=np.float64)
        m = chunk.shape[0]
        c_mean = chunk.mean(axis=0)
        chunk -= c_mean
        c_m2 = np.einsum("ij,ij->j", chunk, chunk)
        n_total = n_seen + m
        delta = c_mean - mean
        m2 += c_m2 + delta**2 * (n_seen * m / n_total)
        mean += delta * (m / n_total)
        n_seen = n_total
    return mean, m2


def _dual_kernel(X, mean, scale, chunk_rows):
    """Upper triangle of ``Z Z^T`` for ``Z = (X - mean) / scale``, built block by block.

    Returns the kernel (float64, Fortran order, ready for the in-place
    Cholesky) and the ``block(start)`` function that makes the rows of Z.
    """
    n = X.shape[0]
    starts = range(0, n, chunk_rows)

    def block(start):
        z = np.array(X[start : start + chunk_rows], dtype=np.float64)
        z -= mean
        z /= scale
        return z

    kernel = np.empty((n, n), dtype=np.float64, order="F")
    # Only the upper triangle is read by the Cholesky factorisation, so each
    # off-diagonal block pair is computed once.
    for i in starts:
        zi = block(i)
        i_stop = i + zi.shape[0]
        for j in starts:
            if j >= i:
                break
            zj = block(j)
            kernel[j : j + zj.shape[0], i:i_stop] = zj @ zi.T
            # Drop the block before the next is cast, so at most two exist.
            del zj
        kernel[i:i_stop, i:i_stop] = zi @ zi.T
        del zi
    return kernel, block


def _ridge_dual(X, Y, alpha, fit_intercept, standardize, chunk_rows=None):
    """Solve ridge in kernel form ``(Z Z^T + alpha I) A = Y``, ``W = Z^T A``.

    ``Z`` is the centred/standardised feature matrix; it is never formed as a
    whole, only one or two float64 row blocks at a time.

    Returns the same tuple as :func:`_ridge_from_stats`.
    """
    n_samples, n_features = X.shape
    if chunk_rows is None:
        chunk_rows = _rows_per_chunk(n_features)
    x_mean, m2 = _column_moments(X, chunk_rows)
    mean = x_mean if fit_intercept else np.zeros(n_features)
    if standardize:
        scale = _feature_scale(m2 / n_samples, x_mean, n_samples)
    else:
        scale = np.ones(n_features)
    y_offset = Y.mean(axis=0) if fit_intercept else np.zeros(Y.shape[1])

    kernel, block = _dual_kernel(X, mean, scale, chunk_rows)
    dual_coef = _cholesky_solve_inplace(kernel, Y - y_offset, alpha, "kernel")
    del kernel

    coef_z = np.zeros((n_features, Y.shape[1]))
    for i in range(0, n_samples, chunk_rows):
        zi = block(i)
        coef_z += zi.T @ dual_coef[i : i + zi.shape[0]]
    coef = coef_z.T / scale
    intercept = y_offset - coef @ mean
    return coef, intercept, mean, scale


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
# Targets (shared by the in-memory and the chunked Dask fit)
# ---------------------------------------------------------------------------


def _resolve_task(task, y_dtype):
    """``"auto"`` becomes regression for float targets, classification otherwise."""
    if task == "auto":
        return "regression" if y_dtype.kind in "fc" else "classification"
    return task


def _class_labels(y, name, min_classes=2):
    """Sorted class labels and each sample's index into them (at least ``min_classes`` classes)."""
    y = column_or_1d(y, warn=True)
    check_classification_targets(y)
    classes, y_index = np.unique(y, return_inverse=True)
    if classes.shape[0] < min_classes:
        raise ValueError(
            f"{name} needs samples of at least 2 classes, "
            f"but y contains only one class: {classes!r}."
        )
    return classes, y_index


def _one_vs_all(y_index, n_classes):
    """+1/-1 target matrix: one column for two classes, one per class otherwise."""
    n_targets = 1 if n_classes == 2 else n_classes
    Y = np.full((y_index.shape[0], n_targets), -1.0)
    if n_targets == 1:
        Y[y_index == 1, 0] = 1.0
    else:
        Y[np.arange(y_index.shape[0]), y_index] = 1.0
    return Y


def _regression_matrix(y):
    """Real targets as a float64 matrix of shape (n_samples, n_targets)."""
    if y.dtype.kind == "c":
        raise ValueError("Complex-valued targets are not supported.")
    if y.dtype.kind not in "fiub":
        try:
            y = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Regression targets must be numeric, got y of dtype {y.dtype}."
            ) from exc
    return np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)


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

        # Imported here: pixelflow.scaleout imports the protocol, which imports this module.
        from pixelflow.scaleout.optional import is_dask_array

        if is_dask_array(X):
            from pixelflow.scaleout.ridge import chunked_stats

            # Out of core: statistics per row chunk, summed by a tree of tasks.
            stats, task, classes, single_target = chunked_stats(X, y, self.task, type(self).__name__)
            self.n_features_in_ = int(X.shape[1])
            self.__dict__.pop("feature_names_in_", None)
            coef, intercept, mean, scale = _ridge_from_stats(
                stats, self.alpha, self.fit_intercept, self.standardize
            )
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
        task = _resolve_task(self.task, y.dtype)
        if task == "classification":
            # One class is accepted, as by RidgeClassifier: it is then the
            # only label predict can return.
            classes, y_index = _class_labels(y, type(self).__name__, min_classes=1)
            Y = _one_vs_all(y_index, classes.shape[0])
            single_target = Y.shape[1] == 1
        else:
            classes = None
            Y = _regression_matrix(y)
            single_target = y.ndim == 1

        n_samples, n_features = X.shape
        if xp is not None and n_features > n_samples:
            X = xp.asnumpy(X)  # the dual (N x N kernel) form runs on the host
        if n_features <= n_samples:
            stats = _accumulate_stats(X, Y) if xp is None else _accumulate_stats(X, xp.asarray(Y), xp=xp)
            coef, intercept, mean, scale = _ridge_from_stats(
                stats, self.alpha, self.fit_intercept, self.standardize
            )
        else:
            coef, intercept, mean, scale = _ridge_dual(
                X, Y, self.alpha, self.fit_intercept, self.standardize
            )
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
        coef, intercept = xp.asarray(self.coef_.T), xp.asarray(self.intercept_)
        if X.dtype == np.float64:
            return X @ coef + intercept
        # Mixed float32 @ float64 would upcast all of X at once; go by blocks.
        out = xp.empty((X.shape[0], coef.shape[1]))
        rows = _rows_per_chunk(X.shape[1])
        for start in range(0, X.shape[0], rows):
            block = X[start : start + rows].astype(np.float64)
            out[start : start + block.shape[0]] = block @ coef
        out += intercept
        return out

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
        from pixelflow.scaleout.optional import is_dask_array

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
        from pixelflow.scaleout.optional import is_dask_array

        if is_dask_array(X):
            return self._by_rows(X, "predict")
        out = _to_host(self._linear(X))
        if self.task_ == "classification":
            if self.classes_.shape[0] == 1:
                return np.repeat(self.classes_, out.shape[0])
            if self._single_target:
                return self.classes_[(out[:, 0] > 0).astype(np.intp)]
            return self.classes_[np.argmax(out, axis=1)]
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
        from pixelflow.scaleout.optional import is_dask_array

        y_pred = self.predict(X)
        if any(is_dask_array(a) for a in (y_pred, y, sample_weight)):
            from pixelflow.scaleout.ridge import gather

            # One value per sample: small next to the features, so the metric
            # runs in memory and equals the in-memory score exactly.
            y_pred, y, sample_weight = gather(y_pred, y, sample_weight)
        if self.task_ == "classification":
            return float(accuracy_score(y, y_pred, sample_weight=sample_weight))
        return float(r2_score(y, y_pred, sample_weight=sample_weight))


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
