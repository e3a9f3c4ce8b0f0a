"""How many CPU threads the PyTorch loops use.

One by default, in the learned rules (:mod:`pixelflow.nca`) and in the
baselines that run on PyTorch (the CNN, the U-Net, scattering): a fixed thread count keeps
the rounding, and so trained weights and rollouts, bit-identical from run to
run on the same kind of CPU (another processor's kernels may round
differently, and a training then takes another path); and on a busy machine,
OpenMP threads that spin-wait for each other made the small per-step kernels
of a rollout many times slower than one thread (an epoch 9-80x slower on the
shared 2-core development machine, measured).
"""

from __future__ import annotations

from contextlib import contextmanager

import torch
from threadpoolctl import threadpool_limits


@contextmanager
def torch_threads(n: int | None):
    """Run a block with ``n`` torch intra-op and BLAS threads, restored afterwards (None: unchanged)."""
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield
    finally:
        torch.set_num_threads(before)
