"""Ridge regression's math in one place: statistics, solves, paths over alpha, target coding.

Every ridge fit of the package goes through here: the in-memory
:class:`~pixelflow.readouts.RidgeReadout`, its out-of-core fit on Dask
(:mod:`pixelflow.scaleout.ridge`: per-chunk :func:`accumulate`, merged
:meth:`RidgeStats.merge`, one :func:`solve`) and the workbook's searches over
many ``alpha`` (:class:`RidgePath`: one pass over the features, one solve per
``alpha``, the coefficients of a separate fit).

Two equivalent forms, chosen by shape:

* primal (``n_features <= n_samples``): centred sufficient statistics
  ``(X - x̄)ᵀ(X - x̄)`` and ``(X - x̄)ᵀ(Y - ȳ)`` (:class:`RidgeStats`), summed
  over row blocks and exactly mergeable, then a Cholesky solve of
  ``(XᵀX + αI) W = XᵀY`` (:func:`solve`);
* dual (``n_features > n_samples``): the kernel ``Z Zᵀ`` of the
  centred/standardised rows, ``(Z Zᵀ + αI) A = Y``, ``W = Zᵀ A``
  (:func:`solve_dual`).

All arithmetic is float64, but inputs are cast a block of rows at a time
(:func:`rows_per_chunk`), so float32 features of shape (N, D) need about
``min(N, D)²`` float64 memory, never ``N × D``.

Targets: :func:`resolve_task`, :func:`class_labels`, :func:`one_vs_all` (±1
coding, as :class:`sklearn.linear_model.RidgeClassifier`),
:func:`regression_targets`; predictions: :func:`decision` and
:func:`labels_from_scores`.

>>> import numpy as np
>>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
>>> classes, index = class_labels(np.array([1, 0, 1, 0]), "example")
>>> Y = one_vs_all(index, len(classes))
>>> path = RidgePath(X, Y, fit_intercept=True, standardize=False)
>>> [labels_from_scores(decision(X, *path.solve(a)), classes).tolist() for a in (0.1, 100.0)]
[[1, 0, 1, 0], [1, 0, 1, 0]]
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve
from scipy.linalg.blas import dsyrk
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

__all__ = [
    "RidgePath",
    "RidgeStats",
    "accumulate",
    "class_labels",
    "decision",
    "fit",
    "labels_from_scores",
    "one_vs_all",
    "regression_targets",
    "resolve_task",
    "rows_per_chunk",
    "solve",
    "solve_dual",
    "stats_nbytes",
]

# Rows cast to float64 at a time: enough for BLAS-3 efficiency, while the
# element budget caps a block at 512 MB of float64 for very wide inputs (the
# kernel path keeps two blocks alive at once).
CHUNK_ROWS = 4096
CHUNK_ELEMENTS = 2**26


def rows_per_chunk(n_features):
    """Rows per float64 block for a matrix with ``n_features`` columns."""
    # Module globals are read at call time so tests can shrink the blocks.
    return max(1, min(CHUNK_ROWS, CHUNK_ELEMENTS // max(n_features, 1)))


# ---------------------------------------------------------------------------
# Sufficient statistics (primal form)
# ---------------------------------------------------------------------------


@dataclass
class RidgeStats:
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

    def merge(self, other: RidgeStats) -> RidgeStats:
        """Statistics of these rows followed by those of ``other``, exactly.

        ``xx = xx_a + xx_b + (n_a n_b / n) δ δᵀ`` with ``δ`` the difference of
        the column means (likewise for ``xy``); both inputs are left unchanged,
        because a task's inputs may be reused (a retry, another consumer).
        """
        a, b = self, other
        if a.n_samples == 0:
            return b
        if b.n_samples == 0:
            return a
        n = a.n_samples + b.n_samples
        dx = b.x_mean - a.x_mean
        dy = b.y_mean - a.y_mean
        weight = a.n_samples * b.n_samples / n
        xx = np.empty_like(a.xx, order="F")
        np.add(a.xx, b.xx, out=xx)
        # The rank-one correction goes in place, as in the in-memory accumulation.
        _syrk_upper_inplace(xx, np.sqrt(weight) * dx[None, :])
        _symmetrize_upper_inplace(xx)
        xy = a.xy + b.xy + weight * np.outer(dx, dy)
        x_mean = a.x_mean + dx * (b.n_samples / n)
        y_mean = a.y_mean + dy * (b.n_samples / n)
        return RidgeStats(n, x_mean, y_mean, xx, xy)


def stats_nbytes(n_features: int, n_targets: int = 1) -> int:
    """Bytes of one task's sufficient statistics: the float64 ``n_features²`` scatter matrix, cross products, means.

    Every row-chunk task holds one, a merge three (two inputs and its
    output), and the client one while it solves. They depend on the number of
    features only, never on the number of samples: out-of-core fitting
    saves memory when ``n_samples ≫ n_features``.

    >>> stats_nbytes(14016, 10) / 1e9     # the MNIST preset's features, ten classes
    1.572819536
    """
    d, t = int(n_features), int(n_targets)
    return 8 * (d * d + d * t + d + t)


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


def accumulate(X, Y, chunk_rows=None, xp=np, blas=None):
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
        Rows per chunk; by default chosen by :func:`rows_per_chunk`.
    xp : module, optional
        Array module of ``X`` and ``Y`` (numpy or cupy).
    blas : bool, optional
        Update the scatter matrix with an in-place host ``dsyrk`` (numpy's
        default) instead of a product of the array module.

    Returns
    -------
    stats : RidgeStats
        The accumulated statistics (see :class:`RidgeStats`).
    """
    n_samples, n_features = X.shape
    n_targets = Y.shape[1]
    if chunk_rows is None:
        chunk_rows = rows_per_chunk(n_features)
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
    return RidgeStats(n_seen, x_mean, y_mean, xx, xy)


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


def solve(stats, alpha, fit_intercept, standardize):
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


def solve_dual(X, Y, alpha, fit_intercept, standardize, chunk_rows=None):
    """Solve ridge in kernel form ``(Z Z^T + alpha I) A = Y``, ``W = Z^T A``.

    ``Z`` is the centred/standardised feature matrix; it is never formed as a
    whole, only one or two float64 row blocks at a time.

    Returns the same tuple as :func:`solve`.
    """
    n_samples, n_features = X.shape
    if chunk_rows is None:
        chunk_rows = rows_per_chunk(n_features)
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


def fit(X, Y, alpha, fit_intercept, standardize, xp=np):
    """One ridge solve of in-memory features, in the cheaper of the two forms.

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
        numpy, or cupy for the primal form's products on the GPU (the dual
        form runs on the host).
    Y : ndarray of shape (n_samples, n_targets)
        float64 targets (:func:`one_vs_all` or :func:`regression_targets`).
    alpha : float
    fit_intercept, standardize : bool
    xp : module
        Array module of ``X``.

    Returns
    -------
    The tuple of :func:`solve`.
    """
    n_samples, n_features = X.shape
    if n_features <= n_samples:
        stats = accumulate(X, Y) if xp is np else accumulate(X, xp.asarray(Y), xp=xp)
        return solve(stats, alpha, fit_intercept, standardize)
    if xp is not np:
        X = xp.asnumpy(X)
    return solve_dual(X, Y, alpha, fit_intercept, standardize)


class RidgePath:
    """Ridge solutions for many ``alpha`` from one pass over the features.

    The pass builds what :func:`fit` builds (sufficient statistics, or the
    kernel when ``n_features > n_samples``); each :meth:`solve` then costs
    one Cholesky factorisation of a copy, and gives exactly the coefficients
    of a separate :func:`fit` with that ``alpha``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
    fit_intercept, standardize : bool
    """

    def __init__(self, X, Y, *, fit_intercept=True, standardize=False):
        self.fit_intercept = bool(fit_intercept)
        self.standardize = bool(standardize)
        n_samples, n_features = X.shape
        self.primal = n_features <= n_samples
        if self.primal:
            self._stats = accumulate(X, Y)
            return
        self._chunk_rows = rows_per_chunk(n_features)
        x_mean, m2 = _column_moments(X, self._chunk_rows)
        self._mean = x_mean if fit_intercept else np.zeros(n_features)
        if standardize:
            self._scale = _feature_scale(m2 / n_samples, x_mean, n_samples)
        else:
            self._scale = np.ones(n_features)
        self._y_offset = Y.mean(axis=0) if fit_intercept else np.zeros(Y.shape[1])
        self._rhs = Y - self._y_offset
        self._kernel, self._block = _dual_kernel(X, self._mean, self._scale, self._chunk_rows)
        self._shape = (n_samples, n_features, Y.shape[1])

    @property
    def statistics(self) -> RidgeStats | None:
        """The primal form's sufficient statistics (None in the dual form); :meth:`fit` never changes them."""
        return self._stats if self.primal else None

    def solve(self, alpha):
        """``(coef, intercept)`` for ``alpha``: shapes (n_targets, n_features) and (n_targets,)."""
        return self.fit(alpha)[:2]

    def fit(self, alpha):
        """The tuple of :func:`fit` for ``alpha``: ``(coef, intercept, mean, scale)``."""
        if self.primal:
            own = dataclasses.replace(self._stats, xx=np.array(self._stats.xx, order="F", copy=True))
            return solve(own, alpha, self.fit_intercept, self.standardize)
        n_samples, n_features, n_targets = self._shape
        own = np.array(self._kernel, order="F", copy=True)
        dual_coef = _cholesky_solve_inplace(own, self._rhs, alpha, "kernel")
        del own
        coef_z = np.zeros((n_features, n_targets))
        for i in range(0, n_samples, self._chunk_rows):
            zi = self._block(i)
            coef_z += zi.T @ dual_coef[i : i + zi.shape[0]]
        coef = coef_z.T / self._scale
        return coef, self._y_offset - coef @ self._mean, self._mean, self._scale


# ---------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------


def decision(X, coef, intercept, xp=np):
    """``X @ coef.T + intercept`` in float64, of shape (n_samples, n_targets).

    float32 ``X`` is cast one block of rows at a time (:func:`rows_per_chunk`)
    rather than all at once.
    """
    coef_t, intercept = xp.asarray(coef.T), xp.asarray(intercept)
    if X.dtype == np.float64:
        return X @ coef_t + intercept
    out = xp.empty((X.shape[0], coef_t.shape[1]))
    rows = rows_per_chunk(X.shape[1])
    for start in range(0, X.shape[0], rows):
        block = X[start : start + rows].astype(np.float64)
        out[start : start + block.shape[0]] = block @ coef_t
    out += intercept
    return out


def labels_from_scores(scores, classes):
    """Class labels from one-vs-all scores (:func:`one_vs_all`'s coding).

    One class: always that class; two: ``classes[1]`` where the single score
    is positive; more: the class of the largest score.
    """
    scores = np.asarray(scores)
    if classes.shape[0] == 1:
        return np.repeat(classes, scores.shape[0])
    if classes.shape[0] == 2:
        return classes[(scores.reshape(scores.shape[0], -1)[:, 0] > 0).astype(np.intp)]
    return classes[np.argmax(scores, axis=1)]


# ---------------------------------------------------------------------------
# Targets (shared by the in-memory and the chunked Dask fit)
# ---------------------------------------------------------------------------


def resolve_task(task, y_dtype):
    """``"auto"`` becomes regression for float targets, classification otherwise."""
    if task == "auto":
        return "regression" if y_dtype.kind in "fc" else "classification"
    return task


def class_labels(y, name, min_classes=2):
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


def one_vs_all(y_index, n_classes):
    """+1/-1 target matrix: one column for two classes, one per class otherwise."""
    n_targets = 1 if n_classes == 2 else n_classes
    Y = np.full((y_index.shape[0], n_targets), -1.0)
    if n_targets == 1:
        Y[y_index == 1, 0] = 1.0
    else:
        Y[np.arange(y_index.shape[0]), y_index] = 1.0
    return Y


def regression_targets(y):
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
