"""Array backends: where a reservoir's arrays live and which module computes.

A new backend is a factory registered with :func:`register_backend`; a
fused kernel for a built-in rule is a module of a kernel library named after
the rule, listed in :data:`pixelflow.backends.fused.KERNELS`.

A backend is chosen by name in ``Reservoir(config, backend=...)``:

``"numpy"``
    The reference: the batched rule functions on numpy arrays.
``"cpu"``
    The default: fused, multi-threaded numba kernels for wave, Gray-Scott,
    life-like and random_nca rules (each sample evolved through all steps
    while in cache; random_nca's features, channel products included, equal
    the numpy path's bit for bit); other rules run on the numpy path.
``"moderngl"``
    Batched OpenGL fragment shaders through a headless EGL context (needs
    ``pip install 'pixelflow[gl]'``; on Linux without a GPU, Mesa's llvmpipe
    via Debian's ``libegl1 libegl-mesa0 libgl1-mesa-dri``).
``"cuda"``
    CuPy arrays on an NVIDIA GPU (needs ``pip install 'pixelflow[cuda12]'`` or ``'pixelflow[cuda13]'``,
    the CUDA major version ``nvidia-smi`` reports):
    fused numba.cuda kernels for wave, Gray-Scott and life-like rules (a
    whole chunk through every step in one launch, one thread block per
    sample), the rule functions on CuPy for every other rule.
"""

from pixelflow.backends.array import (
    ArrayBackend,
    KernelLibrary,
    available_backends,
    get_backend,
    register_backend,
    to_device,
    unregister_backend,
)

__all__ = ["ArrayBackend", "KernelLibrary", "available_backends", "get_backend", "register_backend", "to_device",
           "unregister_backend"]
