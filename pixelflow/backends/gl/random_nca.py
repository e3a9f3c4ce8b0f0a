"""GL kernel for ``random_nca``: tiles of (sample, channel group), one draw per step.

Channels couple through the mixing matrix, so the four channels of group
``g`` of a sample live in tile ``sample * G + g`` of one atlas (``G =
ceil(C / 4)``). Each fragment computes one group of one sample: it reads the
3×3 neighbourhoods of all ``G`` group tiles of its sample, forms their
perception and accumulates the mixing as 4×4 blocks from a uniform block.
The shader is a loop over groups, so its size (and compile time) does not
grow with the channel count. The re-injected input ``input_scale * W_in u``
is computed once per batch by a separate pass into an atlas of the same
layout.
"""

from __future__ import annotations

import numpy as np

from pixelflow.backends.gl import atlas, shaders
from pixelflow.backends.gl.runner import Features, PingPong, Unsupported, bind, set_uniforms

# Channel groups the bias array of the uniform block has room for (C <= 256).
BIAS_SLOTS = 64


def _uniform_buffer(gl, data: bytes):
    """A uniform buffer as large as the driver's block limit (the shaders declare that size)."""
    return gl.ctx.buffer(data + bytes(gl.max_ubo_bytes - len(data)))


def _groups(x: int) -> int:
    return -(-x // 4)


def _blocks(matrix: np.ndarray, in_groups: int, kinds: int) -> np.ndarray:
    """4×4 column-major blocks ``[o][kind][g]`` of ``matrix`` (C_out × kinds·C_in), zero-padded.

    Block ``(o, kind, g)`` column ``j`` row ``i`` is ``matrix[4 o + i, kind · C_in + 4 g + j]``:
    ``block @ v`` is the contribution of input channels ``4g .. 4g + 3`` to
    output channels ``4o .. 4o + 3``, as GLSL's ``mat4 * vec4``.
    """
    c_out = matrix.shape[0]
    c_in = matrix.shape[1] // kinds
    padded = np.zeros((4 * _groups(c_out), kinds, 4 * in_groups), dtype=np.float32)
    padded[:c_out, :, :c_in] = matrix.reshape(c_out, kinds, c_in)
    blocks = padded.reshape(-1, 4, kinds, in_groups, 4).transpose(0, 2, 3, 4, 1)  # o, kind, g, j, i
    return np.ascontiguousarray(blocks)


def _padded_planes(x: np.ndarray, groups: int) -> np.ndarray:
    """``(N, C, H, W)`` -> ``(N · 4 · groups, H, W)``, channels zero-padded to ``4 · groups``."""
    n, c, h, w = x.shape
    full = np.zeros((n, 4 * groups, h, w), dtype=np.float32)
    full[:, :c] = x
    return full.reshape(-1, h, w)


def run(gl, drive, ctx, recording, out):
    record_steps = recording.steps
    p, wts, grid = ctx.params, ctx.weights, ctx.grid
    if p.perception != "sobel":
        raise Unsupported("the full 3x3 perception (the shader perceives with the Sobel filters)")
    n, cin, h, w = drive.shape
    channels = grid.channels
    groups, in_groups = _groups(channels), _groups(cin)
    use_drive = bool(p.input_scale)
    # The uniform blocks are sized by the driver's limit, not by this config,
    # so one compiled shader serves every channel count.
    bias_slots = BIAS_SLOTS
    blocks = (gl.max_ubo_bytes - 16 * bias_slots) // 64
    if groups > bias_slots or 4 * groups * groups > blocks or groups * in_groups > gl.max_ubo_bytes // 64:
        raise Unsupported("weights larger than a uniform block")
    f32 = np.float32
    bias = np.zeros(4 * groups, dtype=f32)
    bias[:channels] = np.asarray(wts["bias"], dtype=f32).ravel()
    bias = np.concatenate([bias, np.zeros(4 * bias_slots - bias.size, dtype=f32)])
    mix_ubo = _uniform_buffer(gl, bias.tobytes() + _blocks(np.asarray(wts["mix"], dtype=f32), groups, 4).tobytes())
    inject_ubo = _uniform_buffer(gl, _blocks(np.asarray(wts["inject"], dtype=f32), in_groups, 1).tobytes())
    prog, vao = gl.program(shaders.nca_step(h, w, p.boundary, use_drive, bias_slots, blocks))
    set_uniforms(prog, gain=float(f32(p.gain)), keep=float(f32(1.0 - p.leak)), leak=float(f32(p.leak)))
    dprog, dvao = gl.program(shaders.nca_drive(h, w, gl.max_ubo_bytes // 64))
    set_uniforms(dprog, input_scale=float(f32(p.input_scale)))
    last = max(record_steps)
    try:
        # State ping-pong and the input term (G tiles a sample), the drive (G_in tiles a sample).
        limit = atlas.max_tiles(h, w, gl.max_size, 3 + -(-in_groups // groups))
        per_batch = max(1, limit // max(groups, in_groups))
        for start in range(0, n, per_batch):
            stop = min(n, start + per_batch)
            b = stop - start
            lay = atlas.layout(b * groups, h, w, gl.max_size)
            feats = Features(out[start:stop], recording, channels, h, w)
            pp = PingPong(gl, "random_nca", lay, 1)
            pp.upload(0, np.zeros((0, h, w), dtype=f32))
            term = None
            if use_drive:
                # The re-injected input is the same every step: input_scale * W_in u, once.
                dlay = atlas.layout(b * in_groups, h, w, gl.max_size)
                inputs = gl.textures("random_nca_drive", dlay.size, 1).textures[0]
                inputs.write(atlas.pack(_padded_planes(drive[start:stop], in_groups), dlay))
                term = gl.textures("random_nca_term", lay.size, 1)
                term.framebuffer((0,)).use()
                set_uniforms(dprog, cols=lay.cols, drive_cols=dlay.cols, samples=b, groups=groups, in_groups=in_groups)
                bind(dprog, {"drive": inputs})
                dprog["Inject"].binding = 0
                inject_ubo.bind_to_uniform_block(0)
                dvao.render(gl.moderngl.TRIANGLES, vertices=3)
            set_uniforms(prog, cols=lay.cols, samples=b, groups=groups)
            prog["Mix"].binding = 0
            for t in range(last + 1):
                if t > 0:
                    textures = {"state": pp.src[0]}
                    if term is not None:
                        textures["term"] = term.textures[0]
                    mix_ubo.bind_to_uniform_block(0)
                    pp.draw(prog, vao, range(1), textures)
                    pp.swap()
                if t not in record_steps:
                    continue
                slot = record_steps.index(t)
                if t == 0:
                    feats.fill(slot, slice(0, channels), 0.0)  # the state starts empty
                    continue
                state = pp.read(0, b * 4 * groups).reshape(b, 4 * groups, h, w)
                feats.write(slot, slice(0, channels), state[:, :channels])
    finally:
        mix_ubo.release()
        inject_ubo.release()
