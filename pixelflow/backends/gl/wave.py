"""GL kernel for the ``wave`` rule: every (sample, field) plane of a batch in one atlas.

The fields of a wave state do not couple, so a batch is a stack of
``N × fields`` independent amplitude planes (and as many velocity planes),
packed four to a texel. One draw per step advances all of them, writing
amplitude and velocity through two render targets. Only fields that received
input are evolved: the others are zero and stay exactly zero (the equation is
linear), as in the fused CPU kernel.
"""

from __future__ import annotations

import numpy as np

from pixelflow.backends.gl import atlas, shaders
from pixelflow.backends.gl.runner import Features, PingPong, set_uniforms


def run(gl, drive, ctx, recording, out):
    record_steps = recording.steps
    p, wts, grid = ctx.params, ctx.weights, ctx.grid
    n, cin, h, w = drive.shape
    channels = grid.channels
    active = min(cin, channels // 2)  # >= 1: the rule's input capacity is channels // 2
    f32 = np.float32
    c2 = wts["c2"]
    field = isinstance(c2, np.ndarray)
    sponge = "sponge" in wts
    prog, vao = gl.program(shaders.wave(h, w, p.boundary, p.clip > 0, field, sponge))
    set_uniforms(prog, damping=float(f32(p.damping)), dt=float(f32(p.dt)), clip_value=float(f32(p.clip)))
    fixed = {}
    # numpy evaluates `dt * c2` first: in double for a scalar c2 (then rounded
    # to float32), element-wise in float32 for a speed field.
    if field:
        dtc2 = f32(p.dt) * np.asarray(c2, dtype=f32)
        fixed["dtc2_field"] = gl.constant_texture(np.broadcast_to(dtc2, (h, w)))
    else:
        set_uniforms(prog, dtc2=float(f32(p.dt * c2)))
    if sponge:
        fixed["sponge"] = gl.constant_texture(np.asarray(wts["sponge"], dtype=f32))
    last = max(record_steps)
    limit = atlas.max_tiles(h, w, gl.max_size, 4)
    for start, stop in atlas.batches(n, active, limit):
        b = stop - start
        m = b * active
        feats = Features(out[start:stop], recording, channels, h, w)
        amp0 = drive[start:stop, :active]
        pp = PingPong(gl, "wave", atlas.layout(-(-m // 4), h, w, gl.max_size), 2)
        pp.upload(0, amp0.reshape(m, h, w))  # init: input k into the amplitude of field k
        pp.upload(1, np.zeros((0, h, w), dtype=f32))  # velocities start at 0
        for t in range(last + 1):
            if t > 0:
                pp.draw(prog, vao, range(2), {"amp": pp.src[0], "vel": pp.src[1], **fixed})
                pp.swap()
            if t not in record_steps:
                continue
            slot = record_steps.index(t)
            if t == 0:
                feats.write(slot, slice(0, 2 * active, 2), amp0)
                feats.fill(slot, slice(1, 2 * active, 2), 0.0)
            else:
                feats.write(slot, slice(0, 2 * active, 2), pp.read(0, m).reshape(b, active, h, w))
                feats.write(slot, slice(1, 2 * active, 2), pp.read(1, m).reshape(b, active, h, w))
            feats.fill(slot, slice(2 * active, channels), 0.0)  # fields without input, trailing channel
