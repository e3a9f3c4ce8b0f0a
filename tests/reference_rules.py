"""Obviously-correct, slow reference implementations of the built-in rules.

One sample at a time, one cell at a time, in float64, written straight from
the update equations in each rule's docstring. The batched rules must match.
"""

from __future__ import annotations

import numpy as np

SOBEL_X = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]) / 8
SOBEL_Y = SOBEL_X.T
LAPLACIAN_9 = np.array([[1, 2, 1], [2, -12, 2], [1, 2, 1]]) / 4


def neighbour(a, i, j, boundary):
    h, w = a.shape
    if boundary == "periodic":
        return a[i % h, j % w]
    if boundary == "zero":
        return a[i, j] if 0 <= i < h and 0 <= j < w else 0.0
    # edge: repeat the nearest edge cell
    return a[min(max(i, 0), h - 1), min(max(j, 0), w - 1)]


def lap5(a, boundary):
    h, w = a.shape
    out = np.zeros_like(a)
    for i in range(h):
        for j in range(w):
            out[i, j] = (
                neighbour(a, i - 1, j, boundary)
                + neighbour(a, i + 1, j, boundary)
                + neighbour(a, i, j - 1, boundary)
                + neighbour(a, i, j + 1, boundary)
                - 4 * a[i, j]
            )
    return out


def conv3(a, k, boundary):
    h, w = a.shape
    out = np.zeros_like(a)
    for i in range(h):
        for j in range(w):
            out[i, j] = sum(
                k[di + 1, dj + 1] * neighbour(a, i + di, j + dj, boundary) for di in (-1, 0, 1) for dj in (-1, 0, 1)
            )
    return out


def wave_step(s, c=0.5, damping=0.999, dt=1.0, boundary="periodic", sponge=None, clip=1.0):
    s = s.copy()
    bnd = "periodic" if boundary == "periodic" else "edge"
    for k in range(s.shape[0] // 2):
        a, v = s[2 * k], s[2 * k + 1]
        v = (v + dt * c * c * lap5(a, bnd)) * damping
        if sponge is not None:
            v = v * sponge
        a = a + dt * v
        if clip > 0:
            a = np.clip(a, -clip, clip)
        s[2 * k], s[2 * k + 1] = a, v
    return s


def sponge(h, w, cells):
    out = np.ones((h, w))
    for i in range(h):
        for j in range(w):
            d = min(i, j, h - 1 - i, w - 1 - j)
            if d < cells:
                out[i, j] = 1 - 0.5 * ((cells - d) / cells) ** 2
    return out


def gray_scott_step(s, feed=0.055, kill=0.062, du=0.16, dv=0.08, dt=1.0, boundary="periodic"):
    s = s.copy()
    for k in range(s.shape[0] // 2):
        u, v = s[2 * k], s[2 * k + 1]
        r = u * v * v
        nu = np.clip(u + dt * (du * lap5(u, boundary) - r + feed * (1 - u)), 0, 1)
        nv = np.clip(v + dt * (dv * lap5(v, boundary) + r - (feed + kill) * v), 0, 1)
        s[2 * k], s[2 * k + 1] = nu, nv
    return s


def life_step(s, birth, survive, threshold=0.5, boundary="periodic"):
    out = np.zeros_like(s)
    for ch in range(s.shape[0]):
        alive = (s[ch] >= threshold).astype(float)
        h, w = alive.shape
        for i in range(h):
            for j in range(w):
                n = sum(
                    neighbour(alive, i + di, j + dj, boundary)
                    for di in (-1, 0, 1) for dj in (-1, 0, 1) if (di, dj) != (0, 0)
                )
                out[ch, i, j] = (n in survive) if alive[i, j] else (n in birth)
    return out


def random_nca_step(s, u, mix, bias, inject, gain=1.0, leak=0.5, input_scale=1.0, boundary="periodic"):
    c = s.shape[0]
    perceived = [s[k] for k in range(c)]
    perceived += [conv3(s[k], SOBEL_X, boundary) for k in range(c)]
    perceived += [conv3(s[k], SOBEL_Y, boundary) for k in range(c)]
    perceived += [conv3(s[k], LAPLACIAN_9, boundary) for k in range(c)]
    out = np.zeros_like(s)
    for o in range(c):
        z = gain * sum(mix[o, j] * perceived[j] for j in range(4 * c)) + bias[o]
        z = z + input_scale * sum(inject[o, m] * u[m] for m in range(u.shape[0]))
        out[o] = (1 - leak) * s[o] + leak * np.tanh(z)
    return out


def nearest_resize(img, h, w):
    hi, wi = img.shape
    return np.array([[img[(i * hi) // h, (j * wi) // w] for j in range(w)] for i in range(h)])


def area_resize(img, h, w):
    """Exact box-filter resample by integrating over 1/(h*hi) sub-cells."""
    hi, wi = img.shape
    fine = np.kron(img, np.ones((h, w)))  # common refinement: (hi*h, wi*w)
    return fine.reshape(h, hi, w, wi).mean(axis=(1, 3))
