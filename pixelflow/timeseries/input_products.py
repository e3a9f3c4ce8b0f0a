"""A quadratic readout feature map for driven reservoirs: the state, and the state times the current input.

A linear readout of a reservoir's state computes a linear function of what
the state holds. When the state is (nearly) a linear memory of the input, as
in a damped wave or a weakly driven network, the readout cannot form products
of inputs at two times, which a task such as NARMA-10 needs (its target
contains ``1.5 u(t - 9) u(t)``). Multiplying every state feature by the
current input supplies exactly those products: feature ``x_i(t)`` carries
some ``u(t - k)``, and ``x_i(t) u(t)`` then carries ``u(t - k) u(t)``.

:class:`InputProducts` wraps any model with the driven-mode ``run`` contract
(:class:`pixelflow.Reservoir`, :class:`pixelflow.timeseries.EchoStateNetwork`)
and keeps that contract, so the readout protocol and closed-loop generation
(:func:`pixelflow.timeseries.generate`) use it unchanged.
"""

from __future__ import annotations

import numpy as np

__all__ = ["InputProducts"]


class InputProducts:
    """Features ``[x(t), x(t) ⊗ u(t)]`` of a driven model: its state and the state times each input.

    Parameters
    ----------
    model : Reservoir or EchoStateNetwork
        Anything with ``run(U, *, washout, state, return_state, **params)``
        returning rows of ``D`` features per time step.

    Notes
    -----
    For inputs of dimension ``d`` a row has ``D * (1 + d)`` features: the
    ``D`` state features, then for each state feature its ``d`` products
    (feature ``D + i * d + j`` is ``x_i(t) u_j(t)``). The state passed in and
    returned is the wrapped model's own: the products are computed from the
    input, not remembered.

    Examples
    --------
    >>> import numpy as np
    >>> from pixelflow.timeseries import EchoStateNetwork
    >>> esn = EchoStateNetwork(units=20, seed=0)
    >>> U = np.linspace(0, 1, 50)[:, None]
    >>> F = InputProducts(esn).run(U)
    >>> F.shape
    (50, 40)
    >>> bool(np.array_equal(F[:, 20:], esn.run(U) * U))
    True
    """

    def __init__(self, model):
        if not callable(getattr(model, "run", None)):
            raise TypeError(f"model must have a driven-mode run(U, ...) method, got {type(model).__name__}")
        self.model = model

    def __repr__(self) -> str:
        return f"InputProducts({self.model!r})"

    def run(self, U, *, washout: int = 0, state=None, return_state: bool = False, **params):
        """The wrapped model's ``run``, each feature row followed by its products with that step's input.

        Parameters and returns are those of the wrapped model's ``run``, with
        ``D * (1 + d)`` features per row instead of ``D``.
        """
        features, final = self.model.run(U, washout=washout, state=state, return_state=True, **params)
        U = np.asarray(U, dtype=np.float64)
        inputs = U[..., washout:, :]
        products = features[..., :, None] * inputs[..., None, :]
        out = np.concatenate([features, products.reshape(*features.shape[:-1], -1)], axis=-1)
        return (out, final) if return_state else out
