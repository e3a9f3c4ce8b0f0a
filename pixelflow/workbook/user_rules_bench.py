"""How fast a user's rule runs: its function, the kernel compiled from it, a hand-fused kernel of the same arithmetic.

Two rules written as a user writes them, against ``xp``: :func:`heat` (the
README's) and :func:`lenia_like` (a ring-kernel potential with a Gaussian
growth, clipped to [0, 1], after Lenia). For each there is a fused numba
kernel written by hand in the layout of the built-in kernels
(:func:`heat_kernel`, :func:`lenia_kernel`), which the tests hold to the
rule functions bit for bit. :func:`user_rule_rows` times, on the same
encoded batches,

* the kernel compiled from the rule function (what the ``cpu`` backend runs),
* the hand-fused kernel,
* the rule function on the numpy path (what ran before rules were compiled:
  the ``cpu`` backend's chunked numpy path, chunks on every thread),

and, as whole ``transform`` calls beside them, the built-in ``wave`` rule's
fused kernel at the same grid, channels and steps.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from pixelflow import Param, register_rule, stencils
from pixelflow.backends.array import ArrayBackend
from pixelflow.backends.cpu.recording import block_size, write_maps
from pixelflow.backends.fused import layout

__all__ = ["LENIA_RING", "WORKLOADS", "heat", "heat_kernel", "lenia_kernel", "lenia_like", "register_user_rules",
           "user_rule_rows"]

#: ``(grid, channels, steps)`` of the timed workloads.
WORKLOADS = ((32, 4, 4), (64, 4, 8))


def _ring(radius: float = 2.5, peak: float = 1.5, width: float = 0.5) -> tuple:
    cells = [(dy, dx, math.hypot(dy, dx)) for dy in range(-2, 3) for dx in range(-2, 3)]
    weights = [(dy, dx, math.exp(-0.5 * ((r - peak) / width) ** 2)) for dy, dx, r in cells if 0 < r <= radius]
    total = sum(w for _, _, w in weights)
    return tuple((dy, dx, w / total) for dy, dx, w in weights)


#: The potential's kernel: ``(dy, dx, weight)`` for the 20 cells of a ring of radius 2.5 (weights sum to 1).
LENIA_RING = _ring()


def heat(state, ctx):
    """Diffusion: each cell moves towards its neighbours' mean (the README's new rule)."""
    return state + ctx.params.rate * stencils.laplacian(state, "periodic", ctx.xp)


def lenia_like(state, ctx):
    """A Lenia-like rule: the ring-weighted potential ``u`` grows a cell where ``u`` is near ``mu``."""
    xp, p = ctx.xp, ctx.params
    u = 0.0
    for dy, dx, w in LENIA_RING:
        u = u + w * xp.roll(state, (dy, dx), axis=(-2, -1))
    growth = 2.0 * xp.exp(-0.5 * ((u - p.mu) / p.sigma) ** 2) - 1.0
    return xp.clip(state + p.dt * growth, 0.0, 1.0)


def register_user_rules() -> None:
    """Register :func:`heat` and :func:`lenia_like` as a notebook would (re-registering replaces them)."""
    register_rule("heat", heat, params={"rate": Param(0.2, low=0.0, high=0.25)}, overwrite=True)
    register_rule("lenia_like", lenia_like, params={"mu": Param(0.3, low=0.0, high=1.0),
                                                    "sigma": Param(0.05, low=1e-3, high=1.0),
                                                    "dt": Param(0.1, low=0.0, high=1.0)}, overwrite=True)


# ---------------------------------------------------------------- hand-fused kernels of the same arithmetic


@njit(parallel=True, cache=True)
def _heat(drive, channels, rate, record, codes, pools, offsets, out, block):
    n, cin, h, w = drive.shape
    four = drive.dtype.type(4)
    for b in prange((n + block - 1) // block):
        a = np.zeros((channels, h + 2, w + 2), dtype=drive.dtype)
        nxt = np.zeros((channels, h + 2, w + 2), dtype=drive.dtype)
        for i in range(b * block, min(n, (b + 1) * block)):
            a[:] = 0
            for k in range(cin):
                a[k, 1 : h + 1, 1 : w + 1] = drive[i, k]
            slot = 0
            for t in range(record.shape[0]):
                if t > 0:
                    for c in range(channels):
                        a[c, 0, 1 : w + 1] = a[c, h, 1 : w + 1]
                        a[c, h + 1, 1 : w + 1] = a[c, 1, 1 : w + 1]
                        a[c, :, 0] = a[c, :, w]
                        a[c, :, w + 1] = a[c, :, 1]
                        for y in range(1, h + 1):
                            for x in range(1, w + 1):
                                lap = (a[c, y - 1, x] + a[c, y + 1, x] + a[c, y, x - 1] + a[c, y, x + 1]
                                       - four * a[c, y, x])
                                nxt[c, y, x] = a[c, y, x] + rate * lap
                    a, nxt = nxt, a
                if record[t]:
                    base = slot * offsets[-1]
                    for c in range(channels):
                        write_maps(a[c, 1 : h + 1, 1 : w + 1], out[i], base, c, codes, pools, offsets)
                    slot += 1


def heat_kernel(drive, ctx, recording, out) -> None:
    """:func:`heat` fused by hand: ``run(drive, ctx, recording, out)`` in the built-in kernels' layout."""
    grid, dtype = ctx.grid, drive.dtype.type
    _heat(np.ascontiguousarray(drive), grid.channels, dtype(ctx.params.rate),
          *layout(recording, grid.channels, grid.height, grid.width), out, block_size(len(drive)))


@njit(parallel=True, cache=True)
def _lenia(drive, channels, ws, mu, sigma, dt, record, codes, pools, offsets, out, block):
    # The 20 taps of LENIA_RING written out, in its order (tests/test_compiled_rules.py checks them against it):
    # straight-line code per cell, so the loop over a row vectorises, exp included.
    n, cin, h, w = drive.shape
    one, zero, half, two = (drive.dtype.type(1), drive.dtype.type(0), drive.dtype.type(0.5), drive.dtype.type(2))
    w0 = ws[0]
    w1 = ws[1]
    w2 = ws[2]
    w3 = ws[3]
    w4 = ws[4]
    w5 = ws[5]
    w6 = ws[6]
    w7 = ws[7]
    w8 = ws[8]
    w9 = ws[9]
    w10 = ws[10]
    w11 = ws[11]
    w12 = ws[12]
    w13 = ws[13]
    w14 = ws[14]
    w15 = ws[15]
    w16 = ws[16]
    w17 = ws[17]
    w18 = ws[18]
    w19 = ws[19]
    r = 2
    for b in prange((n + block - 1) // block):
        a = np.zeros((channels, h + 2 * r, w + 2 * r), dtype=drive.dtype)
        nxt = np.zeros((channels, h + 2 * r, w + 2 * r), dtype=drive.dtype)
        for i in range(b * block, min(n, (b + 1) * block)):
            a[:] = 0
            for k in range(cin):
                a[k, r : h + r, r : w + r] = drive[i, k]
            slot = 0
            for t in range(record.shape[0]):
                if t > 0:
                    for c in range(channels):
                        for k in range(r):
                            a[c, r - 1 - k, r : w + r] = a[c, r + h - 1 - k, r : w + r]
                            a[c, r + h + k, r : w + r] = a[c, r + k, r : w + r]
                        for k in range(r):
                            a[c, :, r - 1 - k] = a[c, :, r + w - 1 - k]
                            a[c, :, r + w + k] = a[c, :, r + k]
                        for y in range(r, h + r):
                            for x in range(r, w + r):
                                u = w0 * a[c, y + 2, x + 1]
                                u = u + w1 * a[c, y + 2, x]
                                u = u + w2 * a[c, y + 2, x - 1]
                                u = u + w3 * a[c, y + 1, x + 2]
                                u = u + w4 * a[c, y + 1, x + 1]
                                u = u + w5 * a[c, y + 1, x]
                                u = u + w6 * a[c, y + 1, x - 1]
                                u = u + w7 * a[c, y + 1, x - 2]
                                u = u + w8 * a[c, y, x + 2]
                                u = u + w9 * a[c, y, x + 1]
                                u = u + w10 * a[c, y, x - 1]
                                u = u + w11 * a[c, y, x - 2]
                                u = u + w12 * a[c, y - 1, x + 2]
                                u = u + w13 * a[c, y - 1, x + 1]
                                u = u + w14 * a[c, y - 1, x]
                                u = u + w15 * a[c, y - 1, x - 1]
                                u = u + w16 * a[c, y - 1, x - 2]
                                u = u + w17 * a[c, y - 2, x + 1]
                                u = u + w18 * a[c, y - 2, x]
                                u = u + w19 * a[c, y - 2, x - 1]
                                z = (u - mu) / sigma
                                growth = two * np.exp(-half * (z * z)) - one
                                v = a[c, y, x] + dt * growth
                                nxt[c, y, x] = min(max(v, zero), one)
                    a, nxt = nxt, a
                if record[t]:
                    base = slot * offsets[-1]
                    for c in range(channels):
                        write_maps(a[c, r : h + r, r : w + r], out[i], base, c, codes, pools, offsets)
                    slot += 1


def lenia_kernel(drive, ctx, recording, out) -> None:
    """:func:`lenia_like` fused by hand: ``run(drive, ctx, recording, out)`` in the built-in kernels' layout."""
    grid, p, dtype = ctx.grid, ctx.params, drive.dtype.type
    ws = np.asarray([weight for _, _, weight in LENIA_RING], dtype=drive.dtype)
    _lenia(np.ascontiguousarray(drive), grid.channels, ws, dtype(p.mu), dtype(p.sigma), dtype(p.dt),
           *layout(recording, grid.channels, grid.height, grid.width), out, block_size(len(drive)))


HAND_FUSED = {"heat": heat_kernel, "lenia_like": lenia_kernel}

#: The ``cpu`` backend without rule compilation: a user's rule runs as its function, on the chunked numpy path.
CPU_FUNCTIONS = ArrayBackend("cpu", np, "pixelflow.backends.cpu", compile_rules=False)


def user_rule_rows(batch: int, repeats: int, seed: int = 0, workloads=WORKLOADS) -> list[dict]:
    """One row per (rule, workload): seconds per batch of each path, their ratios, and parity with the function.

    The compiled and hand-fused kernels are timed on the same encoded batch
    (the encoding is outside the timing); the function path and the built-in
    ``wave`` as whole ``transform`` calls (encoding included, a few per cent).
    """
    from pixelflow import Reservoir, ReservoirConfig
    from pixelflow.workbook.speed import median_time

    register_user_rules()
    rng = np.random.default_rng(seed)
    rows = []
    for grid, channels, steps in workloads:
        X = rng.random((batch, grid, grid)).astype(np.float32)
        record = tuple(range(1, steps + 1))
        wave = Reservoir(ReservoirConfig(grid, grid, channels, steps, "wave", record=record, seed=seed), "cpu",
                         progress=False)
        wave.transform(X[:8])
        wave_s = median_time(lambda: wave.transform(X), repeats)
        for rule in ("heat", "lenia_like"):
            config = ReservoirConfig(grid, grid, channels, steps, rule, record=record, seed=seed)
            compiled = Reservoir(config, "cpu", progress=False)
            function = Reservoir(config, CPU_FUNCTIONS, progress=False)
            compiled.transform(X[:8])  # compiles, and checks the kernel on a probe batch
            engine = compiled.engine
            ctx = engine.context(X)
            out = {name: np.empty((batch, config.n_features), np.float32) for name in ("compiled", "hand")}
            kernels = {"compiled": engine.kernel, "hand": HAND_FUSED[rule]}
            for name, kernel in kernels.items():
                kernel(ctx.drive, ctx, config.recording, out[name])  # warm-up (the hand-fused kernel compiles)
            times = {name: median_time(lambda k=kernel, o=out[name]: k(ctx.drive, ctx, config.recording, o), repeats)
                     for name, kernel in kernels.items()}
            function.transform(X[:8])
            reference = function.transform(X)
            times["function"] = median_time(lambda: function.transform(X), repeats)
            rows.append({
                "rule": rule, "grid": grid, "channels": channels, "steps": steps, "batch": batch,
                "rule_path": compiled.rule_path, "seconds": times, "wave_transform_s": wave_s,
                "compiled_over_hand": times["compiled"] / times["hand"],
                "function_over_compiled": times["function"] / times["compiled"],
                "max_abs_difference": {name: float(np.max(np.abs(o - reference))) for name, o in out.items()},
            })
    return rows
