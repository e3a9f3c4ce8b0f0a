"""GL kernel for ``life_like`` rules: every (sample, channel) board of a batch in one atlas.

Boards do not couple, so a batch is ``N × channels`` planes, four to a
texel, advanced by one draw per step. Every step applies ``state >=
threshold`` and looks the B/S table up at ``alive * 9 + live neighbours``
exactly as the numpy rule does, so results are bit-identical. Channels
without input are evolved too (a ``B0`` rule brings empty boards to life).
"""

from __future__ import annotations

import numpy as np

from pixelflow.backends.gl import atlas, shaders
from pixelflow.backends.gl.runner import Features, PingPong, set_uniforms


def run(gl, drive, ctx, recording, out):
    record_steps = recording.steps
    p, grid = ctx.params, ctx.grid
    n, cin, h, w = drive.shape
    channels = grid.channels
    table = np.asarray(ctx.weights["table"], dtype=np.float32)
    prog, vao = gl.program(shaders.life(h, w, p.boundary))
    # numpy compares a float32 state with the threshold cast to float32.
    set_uniforms(prog, threshold=float(np.float32(p.threshold)), table=[float(x) for x in table])
    last = max(record_steps)
    limit = atlas.max_tiles(h, w, gl.max_size, 2)
    for start, stop in atlas.batches(n, channels, limit):
        b = stop - start
        m = b * channels
        feats = Features(out[start:stop], recording, channels, h, w)
        raw = np.zeros((b, channels, h, w), dtype=np.float32)
        raw[:, :cin] = drive[start:stop]
        pp = PingPong(gl, "life", atlas.layout(-(-m // 4), h, w, gl.max_size), 1)
        pp.upload(0, raw.reshape(m, h, w))
        for t in range(last + 1):
            if t > 0:
                pp.draw(prog, vao, range(1), {"board": pp.src[0]})
                pp.swap()
            if t in record_steps:
                state = raw if t == 0 else pp.read(0, m).reshape(b, channels, h, w)
                feats.write(record_steps.index(t), slice(0, channels), state)
