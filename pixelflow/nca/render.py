"""Frames of a neural-CA rollout as an animated GIF or MP4, and as a strip figure."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np

from pixelflow.atomic import write_atomic


def to_uint8(frames) -> np.ndarray:
    """Frames in [0, 1] (``(T, H, W)`` or ``(T, H, W, 3)``, array or tensor) as uint8."""
    frames = np.asarray(frames.detach().cpu() if hasattr(frames, "detach") else frames, dtype=np.float64)
    if frames.ndim not in (3, 4) or (frames.ndim == 4 and frames.shape[-1] != 3) or len(frames) == 0:
        raise ValueError(f"frames must have shape (T, H, W) or (T, H, W, 3) with T >= 1, got {frames.shape}")
    return np.round(np.clip(frames, 0.0, 1.0) * 255).astype(np.uint8)


def save_animation(frames, path: str | os.PathLike, fps: int = 12, upscale: int = 1) -> Path:
    """Write frames as ``.gif`` (Pillow) or ``.mp4`` (imageio-ffmpeg), atomically.

    Parameters
    ----------
    frames : array, shape (T, H, W) or (T, H, W, 3), values in [0, 1]
    path : path ending in ``.gif`` or ``.mp4``
    fps : int
    upscale : int
        Nearest-neighbour magnification, so small grids stay crisp in a viewer.
    """
    path = Path(path)
    data = to_uint8(frames)
    if upscale > 1:
        data = data.repeat(upscale, axis=1).repeat(upscale, axis=2)
    if path.suffix == ".gif":
        from PIL import Image

        images = [Image.fromarray(f) for f in data]
        buf = io.BytesIO()
        images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=int(1000 / fps), loop=0)
        return write_atomic(path, buf.getvalue())
    if path.suffix == ".mp4":
        try:
            import imageio_ffmpeg
        except ImportError:
            raise ImportError(
                "writing .mp4 needs imageio-ffmpeg (pip install imageio-ffmpeg); .gif needs nothing"
            ) from None
        if data.ndim == 3:
            data = np.repeat(data[..., None], 3, axis=-1)
        # H.264 with yuv420p needs even sides.
        data = np.pad(data, ((0, 0), (0, data.shape[1] % 2), (0, data.shape[2] % 2), (0, 0)), mode="edge")
        tmp = path.with_name(f".{path.name}.partial.mp4")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            writer = imageio_ffmpeg.write_frames(str(tmp), (data.shape[2], data.shape[1]), fps=fps,
                                                 macro_block_size=1, quality=8, output_params=["-v", "error"])
            writer.send(None)
            for f in data:
                writer.send(np.ascontiguousarray(f))
            writer.close()
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path
    raise ValueError(f"animation path must end in .gif or .mp4, got {path.name!r}")


def strip_figure(frames, titles=None, cmap: str = "gray", size: float = 1.6, rows: int = 1,
                 max_width: float | None = None, min_size: float = 0.8):
    """A row (or grid) of frames with optional titles; returns a matplotlib figure (made without pyplot).

    Parameters
    ----------
    frames : array of frames, ``(n, H, W)`` or ``(n, H, W, 3)``
    titles : sequence of str, optional
        One per frame, set in 8-point type.
    size : float
        Inches per frame.
    rows : int
        Rows of frames (at least; see ``max_width``).
    max_width : float, optional
        The widest the figure may be, in inches (a page's text width): frames shrink to fit it, but not below
        ``min_size``, and wrap onto more rows instead. A figure narrowed after it was drawn would keep its type's
        size while its frames shrank, and the titles would run into each other.
    min_size : float
        The smallest frame, in inches, when fitting ``max_width``.
    """
    from matplotlib.figure import Figure

    data = to_uint8(frames)
    if rows < 1:
        raise ValueError(f"strip_figure: rows must be at least 1, got {rows}")
    cols = -(-len(data) // rows)
    if max_width is not None:
        if max_width < min_size or min_size <= 0:
            raise ValueError(f"strip_figure: max_width ({max_width}) must be at least min_size ({min_size}) > 0")
        while cols > 1 and max_width / cols < min_size:
            rows += 1
            cols = -(-len(data) // rows)
        size = min(size, max_width / cols)
    fig = Figure(figsize=(size * cols, rows * (size + (0.25 if titles is not None else 0))), layout="constrained")
    fig.get_layout_engine().set(w_pad=0.01, h_pad=0.01, wspace=0.02, hspace=0.02)
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, (ax, f) in enumerate(zip(axes.flat, data)):
        ax.imshow(f, cmap=cmap, vmin=0, vmax=255, interpolation="nearest")
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return fig
