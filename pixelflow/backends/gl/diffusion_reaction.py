"""GL kernel for ``diffusion_reaction`` (Gray-Scott): every (sample, pair) plane of a batch in one atlas.

Pairs do not couple, so a batch is ``N × pairs`` U planes and as many V
planes, four to a texel, advanced by one draw per step. As in the fused CPU
kernel, pairs without input stay at the steady state U = 1, V = 0 on a
periodic grid (exactly, so they are not evolved); a zero boundary drains U,
so there every pair is evolved.
"""

from __future__ import annotations

import numpy as np

from pixelflow.backends.gl import atlas, shaders
from pixelflow.backends.gl.runner import Features, PingPong, set_uniforms


def _init(drive, species: str, active: int):
    """U and V of the evolved pairs, built as :func:`pixelflow.rules.diffusion_reaction.init` does."""
    n, cin, h, w = drive.shape
    u = np.ones((n, active, h, w), dtype=np.float32)
    v = np.zeros((n, active, h, w), dtype=np.float32)
    k = min(cin, active)
    if species == "v":
        u[:, :k] = 1.0 - 0.5 * drive[:, :k]
        v[:, :k] = 0.25 * drive[:, :k]
    else:
        u[:, :k] = drive[:, :k]
    return u, v


def run(gl, drive, ctx, recording, out):
    record_steps = recording.steps
    p, grid = ctx.params, ctx.grid
    n, cin, h, w = drive.shape
    channels = grid.channels
    pairs = channels // 2
    active = min(cin, pairs) if p.boundary == "periodic" else pairs
    f32 = np.float32
    prog, vao = gl.program(shaders.gray_scott(h, w, p.boundary))
    set_uniforms(prog, feed=float(f32(p.feed)), fk=float(f32(p.feed + p.kill)), du=float(f32(p.du)),
                 dv=float(f32(p.dv)), dt=float(f32(p.dt)))
    last = max(record_steps)
    limit = atlas.max_tiles(h, w, gl.max_size, 4)
    for start, stop in atlas.batches(n, active, limit):  # active >= 1: pairs >= 1 and C_in >= 1
        b = stop - start
        m = b * active
        feats = Features(out[start:stop], recording, channels, h, w)
        u0, v0 = _init(drive[start:stop], p.input_species, active)
        pp = PingPong(gl, "gray_scott", atlas.layout(-(-m // 4), h, w, gl.max_size), 2)
        pp.upload(0, u0.reshape(m, h, w))
        pp.upload(1, v0.reshape(m, h, w))
        for t in range(last + 1):
            if t > 0:
                pp.draw(prog, vao, range(2), {"U": pp.src[0], "V": pp.src[1]})
                pp.swap()
            if t not in record_steps:
                continue
            slot = record_steps.index(t)
            u = u0 if t == 0 else pp.read(0, m).reshape(b, active, h, w)
            v = v0 if t == 0 else pp.read(1, m).reshape(b, active, h, w)
            feats.write(slot, slice(0, 2 * active, 2), u)
            feats.write(slot, slice(1, 2 * active, 2), v)
            feats.fill(slot, slice(2 * active, 2 * pairs, 2), 1.0)  # resting pairs: U = 1, V = 0
            feats.fill(slot, slice(2 * active + 1, 2 * pairs, 2), 0.0)
            feats.fill(slot, slice(2 * pairs, channels), 0.0)  # trailing odd channel
