"""Array backends: where a reservoir's arrays live and which module computes.

A backend is chosen by name in ``Reservoir(config, backend=...)``:

``"numpy"``
    The reference: the batched rule functions on numpy arrays.
``"cpu"``
    The default CPU backend; currently the batched numpy path.
``"cuda"``
    The same rule functions on CuPy arrays (needs ``pip install 'pixelflow[cuda]'``
    and an NVIDIA GPU).
"""

from pixelflow.backends.array import ArrayBackend, available_backends, get_backend, to_device

__all__ = ["ArrayBackend", "available_backends", "get_backend", "to_device"]
