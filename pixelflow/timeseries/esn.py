"""Echo state network baseline: reservoirpy's ``Reservoir`` node in driven mode.

The paper compares the CA reservoir against "an echo state network from
reservoirpy", so :class:`EchoStateNetwork` does no reservoir computing of its
own: it builds one reservoirpy ``Reservoir`` node and runs it with the same
driven-mode contract as :meth:`pixelflow.Reservoir.run` (features per time
step, optional washout, explicit state in and out), so that one protocol
(ridge readout, closed-loop generation) treats both reservoirs alike.

reservoirpy is an optional dependency (``pip install 'pixelflow[timeseries]'``);
it is imported only when a network is first run.
"""

from __future__ import annotations

import numpy as np

from pixelflow.checks import check_int, check_real

PIP_HINT = "pip install 'pixelflow[timeseries]'"

# The node API used here (a Node's ``state`` dict, ``bias`` as a float) is
# reservoirpy 0.4's; 0.3 had a different Reservoir signature.
MIN_RESERVOIRPY = (0, 4)

# Up to this many units the reported spectral radius comes from every
# eigenvalue of the dense W (about 0.5 s at 1,000 units and 2 s at 2,000 on a
# 2-core CPU). ARPACK is not trusted below that: reservoirpy rescales W with a
# k=1 ARPACK estimate that sometimes converges to a smaller eigenvalue, which
# is why the actual radius can exceed ``sr`` (0.9024 for sr=0.9, units=300,
# seed=1; 0.9071 for units=1000, seed=3), and k=6 misses in other cases.
DENSE_EIGVALS_MAX_UNITS = 2000

# Above it, the largest magnitude among this many ARPACK eigenvalues is
# reported: an estimate, more robust than k=1 but not guaranteed.
ARPACK_EIGENVALUES = 20

# The nonlinearities offered, by reservoirpy's names: the usual one and none.
ACTIVATIONS = ("tanh", "identity")


def _import_reservoirpy():
    try:
        import reservoirpy
        from reservoirpy.nodes import Reservoir
    except ImportError as exc:
        raise ImportError(f"EchoStateNetwork needs reservoirpy>=0.4.2: {PIP_HINT}") from exc
    major_minor = tuple(int(p) for p in reservoirpy.__version__.split(".")[:2] if p.isdigit())
    if major_minor < MIN_RESERVOIRPY:
        raise ImportError(
            f"EchoStateNetwork needs reservoirpy>=0.4.2, found {reservoirpy.__version__}: {PIP_HINT}"
        )
    return reservoirpy, Reservoir


def _as_float_array(name: str, value) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == bool or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real-valued array, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


class EchoStateNetwork:
    """An echo state network: reservoirpy's ``Reservoir`` node, run in driven mode.

    The state follows reservoirpy's leaky update (bias added inside the
    nonlinearity :math:`f`, ``tanh`` by default)

    .. math::

        x(t) = (1 - \\mathrm{lr})\\, x(t-1)
               + \\mathrm{lr}\\, f\\big(W x(t-1) + W_{in} u(t) + \\mathrm{bias}\\big),

    with :math:`x(-1)` the zero state unless ``state`` is given. With
    ``activation="identity"`` the network is linear: the baseline to set
    beside a linear CA rule such as the damped wave. Every update
    is computed by reservoirpy itself (``Reservoir.run``); this class only
    fixes the weights once, sets the node's state before each sequence and
    reshapes the result. Per-call overhead is small, so one-step calls in
    closed-loop generation stay cheap: on a 2-core CPU a one-step
    :meth:`run` takes about 25 / 40 / 100 us at 100 / 500 / 1,000 units,
    against 15 / 23 / 76 us for the bare numpy update.

    Parameters
    ----------
    units : int, default 500
        Number of reservoir neurons; also the feature dimension.
    sr : float, default 0.9
        Spectral radius W is rescaled to (>= 0).
    lr : float, default 0.3
        Leak rate, in (0, 1].
    input_scaling : float, default 1.0
        Magnitude of the nonzero input weights (``W_in`` entries are
        +/-input_scaling); >= 0.
    input_connectivity : float, default 0.1
        Fraction of nonzero entries of ``W_in``, in (0, 1].
    rc_connectivity : float, default 0.1
        Fraction of nonzero entries of W, in (0, 1].
    bias : float, default 0.0
        reservoirpy 0.4's ``bias``: one constant added to every neuron's
        pre-activation (not a random per-neuron vector).
    activation : {"tanh", "identity"}, default "tanh"
        The nonlinearity :math:`f` (reservoirpy's function of that name).
    seed : int, default 0
        Seed of reservoirpy's generator: the same seed gives the same W,
        ``W_in`` and hence bit-identical features.

    Attributes
    ----------
    input_dim_ : int
        Input dimension d, fixed by the first :meth:`run`.
    reservoir_ : reservoirpy.nodes.Reservoir
        The initialised node; its ``W``, ``Win`` and ``bias`` are the
        network's weights. Its ``state`` is scratch space overwritten by
        every :meth:`run`: pass state explicitly instead.
    spectral_radius_ : float
        Largest eigenvalue magnitude of the W actually used, computed with
        scipy after the first :meth:`run`: exact (all eigenvalues of the dense
        W) up to ``DENSE_EIGVALS_MAX_UNITS`` units, an ARPACK estimate above.
        It can differ from ``sr`` by a few tenths of a percent, because
        reservoirpy rescales W with an ARPACK estimate that occasionally
        misses the largest eigenvalue.

    Examples
    --------
    >>> import numpy as np
    >>> esn = EchoStateNetwork(units=50, seed=1)
    >>> U = np.sin(np.linspace(0, 10, 200))[:, None]
    >>> esn.run(U, washout=20).shape
    (180, 50)
    >>> a, s = esn.run(U[:120], return_state=True)
    >>> b = esn.run(U[120:], state=s)
    >>> bool(np.array_equal(np.concatenate([a, b]), esn.run(U)))
    True
    """

    def __init__(self, units: int = 500, sr: float = 0.9, lr: float = 0.3, input_scaling: float = 1.0,
                 input_connectivity: float = 0.1, rc_connectivity: float = 0.1, bias: float = 0.0,
                 activation: str = "tanh", seed: int = 0):
        check_int(units, "units", low=1)
        check_real(sr, "sr", low=0.0)
        check_real(lr, "lr", low=0.0, low_open=True, high=1.0)
        check_real(input_scaling, "input_scaling", low=0.0)
        check_real(input_connectivity, "input_connectivity", low=0.0, low_open=True, high=1.0)
        check_real(rc_connectivity, "rc_connectivity", low=0.0, low_open=True, high=1.0)
        check_real(bias, "bias")
        if not isinstance(activation, str) or activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got activation={activation!r}")
        check_int(seed, "seed", low=0)
        self.units = units
        self.sr = sr
        self.lr = lr
        self.input_scaling = input_scaling
        self.input_connectivity = input_connectivity
        self.rc_connectivity = rc_connectivity
        self.bias = bias
        self.activation = activation
        self.seed = seed

    @property
    def feature_dim(self) -> int:
        """Length of a feature row (= ``units``)."""
        return int(self.units)

    def _params(self) -> dict:
        return {
            "units": self.units, "sr": self.sr, "lr": self.lr, "input_scaling": self.input_scaling,
            "input_connectivity": self.input_connectivity, "rc_connectivity": self.rc_connectivity,
            "bias": self.bias, "activation": self.activation, "seed": self.seed,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params().items())
        return f"EchoStateNetwork({args})"

    def provenance(self) -> dict:
        """The parameters and the reservoirpy version, as a plain dict.

        Returns
        -------
        dict
            The constructor parameters plus ``"library": "reservoirpy X.Y.Z"``.
        """
        reservoirpy, _ = _import_reservoirpy()
        return {**self._params(), "library": f"reservoirpy {reservoirpy.__version__}"}

    def _build(self, input_dim: int):
        """Initialise the reservoirpy node once; later calls reuse its weights."""
        if getattr(self, "reservoir_", None) is not None:
            if input_dim != self.input_dim_:
                raise ValueError(
                    f"U has {input_dim} input feature(s), but this network was first run with "
                    f"{self.input_dim_}; make a new EchoStateNetwork for a different input dimension"
                )
            return self.reservoir_
        _, Reservoir = _import_reservoirpy()
        node = Reservoir(
            units=int(self.units), lr=float(self.lr), sr=float(self.sr),
            input_scaling=float(self.input_scaling), input_connectivity=float(self.input_connectivity),
            rc_connectivity=float(self.rc_connectivity), bias=float(self.bias), activation=self.activation,
            seed=int(self.seed),
        )
        # Draw the weights now rather than inside the first run, so they exist
        # (and spectral_radius_ can be measured) before any state is set.
        node.initialize(np.zeros((1, input_dim)))
        self.spectral_radius_ = _spectral_radius(node.W)
        self.input_dim_ = input_dim
        self.reservoir_ = node
        return node

    def _initial_states(self, state, n: int, batched: bool) -> np.ndarray:
        if state is None:
            return np.zeros((n, self.units))
        x0 = _as_float_array("state", state)
        expected = (n, self.units) if batched else (self.units,)
        if x0.shape != expected:
            what = f"a batch of {n} sequence(s)" if batched else "one sequence"
            raise ValueError(f"state has shape {x0.shape}, but {what} with {self.units} units needs {expected}")
        return x0.reshape(n, self.units)

    def run(self, U, *, washout: int = 0, state=None, return_state: bool = False):
        """Drive the reservoir with input sequences and record its states.

        Parameters
        ----------
        U : array-like of shape (T, d) or (N, T, d)
            One input sequence, or a batch of N sequences of equal length.
            Each batch row runs independently from its own initial state, so
            row n equals running sequence n alone, bit for bit.
        washout : int, default 0
            Leading time steps to drop from the features, in [0, T).
        state : array-like of shape (units,) or (N, units), optional
            State before u(0), e.g. the final state of an earlier call with
            ``return_state=True``. ``None`` starts from the zero state, so
            calls without it are independent.
        return_state : bool, default False
            Also return the state after the last input, to continue from.

        Returns
        -------
        features : ndarray of float64, shape (T - washout, units) or (N, T - washout, units)
            Row t is the reservoir state after reading u(t): it has seen
            u(0), ..., u(t) (before the washout is dropped).
        final_state : ndarray of float64, shape (units,) or (N, units)
            Only with ``return_state=True``: the state after reading u(T-1).
            ``run(U[:a], return_state=True)`` followed by
            ``run(U[a:], state=final_state)`` reproduces ``run(U)`` exactly.

        Raises
        ------
        TypeError
            For a non-numeric U or state, a non-int washout or a non-bool
            return_state.
        ValueError
            For a U that is not 2-D/3-D, is empty or non-finite, an input
            dimension other than the first call's, a bad washout or a state
            of the wrong shape.
        """
        U = _as_float_array("U", U)
        if U.ndim not in (2, 3):
            raise ValueError(f"U must have shape (T, d) or (N, T, d), got shape {U.shape}")
        if 0 in U.shape:
            raise ValueError(f"U must be non-empty, got shape {U.shape}")
        batched = U.ndim == 3
        Ub = U if batched else U[None]
        n, T, d = Ub.shape
        check_int(washout, "washout", low=0)
        if washout >= T:
            raise ValueError(f"washout must be in [0, T) = [0, {T}), got {washout}")
        if not isinstance(return_state, (bool, np.bool_)):
            raise TypeError(f"return_state must be a bool, got {return_state!r}")
        node = self._build(d)
        x0 = self._initial_states(state, n, batched)

        features = np.empty((n, T - washout, self.units))
        final = np.empty((n, self.units))
        for i in range(n):
            # reservoirpy keeps one state on the node; setting it here is what
            # makes sequences independent and lets a call resume a previous one.
            node.state = {"out": x0[i].copy()}
            states = node.run(Ub[i])
            features[i] = states[washout:]
            final[i] = states[-1]

        if not batched:
            features, final = features[0], final[0]
        return (features, final) if return_state else features


def _spectral_radius(W) -> float:
    """Largest eigenvalue magnitude of a (sparse or dense) square matrix."""
    import scipy.linalg
    import scipy.sparse
    import scipy.sparse.linalg

    n = W.shape[0]
    if scipy.sparse.issparse(W):
        if W.count_nonzero() == 0:
            return 0.0
        if n > DENSE_EIGVALS_MAX_UNITS:
            # A fixed start vector keeps ARPACK, and so the reported value,
            # deterministic.
            vals = scipy.sparse.linalg.eigs(W.astype(np.float64), k=min(ARPACK_EIGENVALUES, n - 2), which="LM",
                                            v0=np.ones(n), maxiter=20 * n, return_eigenvectors=False)
            return float(np.max(np.abs(vals)))
        W = W.toarray()
    return float(np.max(np.abs(scipy.linalg.eigvals(np.asarray(W, dtype=np.float64), check_finite=False))))
