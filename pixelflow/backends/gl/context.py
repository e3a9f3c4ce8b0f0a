"""The one OpenGL context of the process, its limits, and caches of programs and textures.

A headless OpenGL ≥ 3.3 core context is created through EGL the first time a
kernel runs and reused by every later chunk and every reservoir: context
creation and shader compilation cost milliseconds to seconds, a draw over a
whole batch microseconds on a GPU. The cache is per process (a
forked child). Kernels hold :func:`lock` and make the context
current in their own thread for the duration of a call, so several threads
may use it, one at a time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

PIP_HINT = "pip install 'pixelflow[gl]'"
DEBIAN_HINT = (
    "a headless Debian/Ubuntu machine needs EGL and Mesa (llvmpipe renders without a GPU): "
    "apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri"
)

# Full-screen triangle from gl_VertexID: no vertex buffer at all.
VERTEX_SHADER = """#version 330 core
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

MAX_CONSTANTS = 8

_LOCK = threading.RLock()
_GL: GL | None = None


def _import_moderngl():
    try:
        import moderngl
    except ImportError as exc:
        raise ImportError(f"backend 'moderngl' needs moderngl: {PIP_HINT}; {DEBIAN_HINT}") from exc
    return moderngl


class TextureSet:
    """Cached atlas textures plus the framebuffers made from them."""

    def __init__(self, ctx, key, textures):
        self.ctx = ctx
        self.key = key
        self.textures = textures
        self._fbos: dict = {}

    def framebuffer(self, indices: tuple[int, ...]):
        """A framebuffer whose colour attachments are ``textures[i]`` for ``i`` in ``indices``."""
        fbo = self._fbos.get(indices)
        if fbo is None:
            fbo = self.ctx.framebuffer(color_attachments=[self.textures[i] for i in indices])
            self._fbos[indices] = fbo
        return fbo

    def release(self) -> None:
        for fbo in self._fbos.values():
            fbo.release()
        for tex in self.textures:
            tex.release()
        self._fbos.clear()
        self.textures = []


@dataclass
class GL:
    """A live context plus what the kernels need to know about it."""

    ctx: Any
    moderngl: Any
    pid: int
    max_size: int  # largest texture / viewport side
    max_ubo_bytes: int  # largest uniform block
    _programs: dict = field(default_factory=dict)
    _textures: dict = field(default_factory=dict)
    _constants: dict = field(default_factory=dict)
    _host: dict = field(default_factory=dict)

    def describe(self) -> str:
        """Driver and device, e.g. for provenance records."""
        info = self.ctx.info
        return f"OpenGL {info['GL_VERSION']} on {info['GL_RENDERER']}"

    def program(self, fragment_source: str):
        """A compiled ``(program, vertex array)`` for a full-screen pass, cached by source."""
        hit = self._programs.get(fragment_source)
        if hit is None:
            prog = self.ctx.program(vertex_shader=VERTEX_SHADER, fragment_shader=fragment_source)
            hit = (prog, self.ctx.vertex_array(prog, []))
            self._programs[fragment_source] = hit
        return hit

    def textures(self, tag: str, size: tuple[int, int], count: int) -> TextureSet:
        """``count`` RGBA32F textures of ``size`` (width, height), reused between calls.

        One set is kept per ``tag``; asking for another size or count releases
        the old set (and its framebuffers), so memory stays bounded by the
        largest live batch of each kernel.
        """
        held = self._textures.get(tag)
        if held is not None and held.key == (size, count):
            return held
        if held is not None:
            held.release()
        nearest = (self.moderngl.NEAREST, self.moderngl.NEAREST)
        texs = []
        for _ in range(count):
            tex = self.ctx.texture(size, 4, dtype="f4")
            tex.filter = nearest
            tex.repeat_x = tex.repeat_y = False
            texs.append(tex)
        held = TextureSet(self.ctx, (size, count), texs)
        self._textures[tag] = held
        return held

    def host_buffer(self, tag: str, shape: tuple) -> np.ndarray:
        """A float32 host array for uploads / read-backs, reused while ``shape`` stays the same.

        Reuse matters: a fresh multi-megabyte array is page-faulted in on
        every touch, which costs more than the copy itself.
        """
        buf = self._host.get(tag)
        if buf is None or buf.shape != shape:
            buf = np.empty(shape, dtype=np.float32)
            self._host[tag] = buf
        return buf

    def constant_texture(self, array):
        """A one-channel float32 texture holding a fixed 2-D host array (speed fields, sponge profiles).

        Cached by content, so every chunk of a reservoir reuses one upload;
        the few most recent are kept.
        """
        data = np.ascontiguousarray(array, dtype=np.float32)
        key = (data.shape, data.tobytes())
        tex = self._constants.pop(key, None)
        if tex is None:
            h, w = data.shape
            tex = self.ctx.texture((w, h), 1, data=key[1], dtype="f4")
            tex.filter = (self.moderngl.NEAREST, self.moderngl.NEAREST)
        self._constants[key] = tex  # most recently used last
        while len(self._constants) > MAX_CONSTANTS:
            self._constants.pop(next(iter(self._constants))).release()
        return tex


def _create() -> GL:
    moderngl = _import_moderngl()
    try:
        ctx = moderngl.create_standalone_context(backend="egl", require=330)
    except Exception as exc:
        raise RuntimeError(
            f"backend 'moderngl': moderngl is installed but no OpenGL 3.3 context could be created "
            f"through EGL ({exc}); {DEBIAN_HINT}"
        ) from exc
    info = ctx.info
    viewport = info.get("GL_MAX_VIEWPORT_DIMS", (1 << 30, 1 << 30))
    max_size = int(min(info["GL_MAX_TEXTURE_SIZE"], *viewport))
    gl = GL(
        ctx=ctx,
        moderngl=moderngl,
        pid=os.getpid(),
        max_size=max_size,
        max_ubo_bytes=int(info["GL_MAX_UNIFORM_BLOCK_SIZE"]),
    )
    ctx.disable(moderngl.BLEND | moderngl.DEPTH_TEST | moderngl.CULL_FACE)
    # An EGL context is current in at most one thread. Release it from the
    # creating thread; every use enters it (`with gl.ctx:`), so a reservoir
    # made in one thread can transform in another.
    ctx.__exit__(None, None, None)
    return gl


class ForkedProcess(RuntimeError):
    """This process was forked after the OpenGL context was created: the driver cannot be used here."""


def get_gl() -> GL:
    """The process's context, created on first use (raises ImportError / RuntimeError with install hints).

    Raises :class:`ForkedProcess` in a child forked after the parent made its
    context: the child inherits the driver's state but not its threads, and
    Mesa's llvmpipe, for one, hangs on the first draw there.
    """
    global _GL
    with _LOCK:
        if _GL is not None and _GL.pid != os.getpid():
            raise ForkedProcess(
                "backend 'moderngl': this process was forked after the OpenGL context was created, and an "
                "OpenGL driver cannot be used across fork; start worker processes with 'spawn' or 'forkserver'"
            )
        if _GL is None:
            _GL = _create()
        return _GL


def check_available() -> None:
    """Raise ImportError / RuntimeError (with install hints) unless a context can be made.

    In a forked child of a process whose context worked it returns quietly:
    the kernels then run the numpy path (see :class:`ForkedProcess`).
    """
    try:
        get_gl()
    except ForkedProcess:
        pass


def lock():
    """The lock every kernel holds while it uses the context."""
    return _LOCK
