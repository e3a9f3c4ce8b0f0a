"""What every GL kernel shares: ping-pong passes, read-back, pooling into the feature rows, fallback."""

from __future__ import annotations

import numpy as np

from pixelflow.backends.gl import atlas
from pixelflow.backends.gl.atlas import Unsupported  # noqa: F401  (re-exported)
from pixelflow.recording import Recording, apply_map, avg_pool
from pixelflow.rules.registry import default_init


def set_uniforms(prog, **values) -> None:
    """Set the uniforms a program kept (the compiler drops unused ones)."""
    for name, value in values.items():
        member = prog.get(name, None)
        if member is not None:
            member.value = value


def bind(prog, textures: dict) -> None:
    """Bind ``{sampler name: texture}`` to consecutive texture units."""
    unit = 0
    for name, tex in textures.items():
        member = prog.get(name, None)
        if member is None:
            continue
        tex.use(location=unit)
        member.value = unit
        unit += 1


class PingPong:
    """Two sets of atlas textures; each step renders from one set into the other.

    ``kinds`` textures per set (one per state plane stack: amplitude and
    velocity, U and V, boards, or the channel groups of a random NCA). The
    textures and framebuffers are cached in the context under ``tag``.
    """

    def __init__(self, gl, tag: str, lay: atlas.Layout, kinds: int):
        self.gl = gl
        self.lay = lay
        self.kinds = kinds
        self.textures = gl.textures(tag, lay.size, 2 * kinds)
        self.current = 0

    def _index(self, side: int, kind: int) -> int:
        return side * self.kinds + kind

    @property
    def src(self) -> list:
        return [self.textures.textures[self._index(self.current, k)] for k in range(self.kinds)]

    def upload(self, kind: int, planes: np.ndarray) -> None:
        """Write ``(M, H, W)`` planes (at most ``4 × tiles``; the rest 0) into the current set."""
        self.src[kind].write(atlas.pack(planes, self.lay, self.gl.host_buffer("upload", self.lay.shape)))

    def draw(self, prog, vao, kinds: range, textures: dict) -> None:
        """Render one pass of ``prog`` into the destination textures ``kinds``."""
        other = 1 - self.current
        self.textures.framebuffer(tuple(self._index(other, k) for k in kinds)).use()
        bind(prog, textures)
        vao.render(self.gl.moderngl.TRIANGLES, vertices=3)

    def swap(self) -> None:
        self.current = 1 - self.current

    def read(self, kind: int, count: int) -> np.ndarray:
        """The first ``count`` planes of the current texture ``kind``, ``(count, H, W)`` float32."""
        data = self.gl.host_buffer(f"read{kind}", self.lay.shape)
        self.src[kind].read_into(data)
        return atlas.unpack(data, self.lay, count)


class Features:
    """Per-map views ``[recorded step][channel][row][col]`` of a block of feature rows."""

    def __init__(self, out: np.ndarray, recording: Recording, channels: int, height: int, width: int):
        self.maps = recording.maps
        steps = out.reshape(len(out), len(recording.steps), -1)
        offsets = recording.offsets(channels, height, width)
        self.views = [
            steps[:, :, offsets[m] : offsets[m + 1]].reshape(len(out), len(recording.steps), planes, rows, cols)
            for m, (_, planes, rows, cols) in enumerate(recording.blocks(channels, height, width))
        ]

    def write(self, slot: int, channels, planes: np.ndarray) -> None:
        """Map and pool ``(N, k, H, W)`` planes exactly as the numpy path does into ``channels``."""
        for (name, pool), view in zip(self.maps, self.views):
            view[:, slot, channels] = avg_pool(apply_map(planes, name, np), pool, np)

    def fill(self, slot: int, channels, value: float) -> None:
        for (name, _), view in zip(self.maps, self.views):
            view[:, slot, channels] = apply_map(np.float32(value), name, np)


def numpy_path(rule, drive, ctx, recording: Recording, out) -> None:
    """The batched numpy rule, as ``Reservoir`` runs it without a fused kernel."""
    init = rule.init or default_init
    state = init(drive, ctx).astype(drive.dtype, copy=False)
    rows = []
    for t in range(max(recording.steps) + 1):
        if t > 0:
            state = rule.step(state, ctx).astype(drive.dtype, copy=False)
        if t in recording.steps:
            rows.append(recording.features(state, np))
    out[...] = np.concatenate(rows, axis=1) if len(rows) > 1 else rows[0]
