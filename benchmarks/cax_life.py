"""Time CAX's Game of Life on given boards; run by ``python -m pixelflow.workbook.bench --cax-python``.

Runs in CAX's own environment (JAX, Flax), so it imports nothing of
pixelflow. Reads the initial boards ``(N, H, W)`` from an ``.npy`` file,
evolves them ``--steps`` steps with ``cax.cs.life.Life`` (B3/S23, CAX's own
periodic perception), and prints one JSON line: the median wall time of
``--repeats`` timed runs after one untimed (compiling) run, CAX and JAX
versions, and the devices JAX used. The final boards go to ``--final`` so the
caller can check that both libraries computed the same thing.
"""

import argparse
import json
import statistics
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("boards", help=".npy file, (N, H, W) of 0/1")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--final", required=True, help=".npy file for the final boards")
    args = parser.parse_args()

    from importlib.metadata import version

    import jax
    import jax.numpy as jnp
    from cax.cs.life import Life
    from flax import nnx

    birth, survival = Life.birth_survival_from_string("B3/S23")
    system = Life(birth=birth, survival=survival, rngs=nnx.Rngs(0))
    state = jnp.asarray(np.load(args.boards)[..., None], dtype=jnp.float32)  # CAX is channels-last

    def run():
        return system(state, num_steps=args.steps).block_until_ready()

    final = run()  # compiles
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    np.save(args.final, np.asarray(final)[..., 0])
    print(json.dumps({"seconds": statistics.median(times), "all_seconds": times, "cax": version("cax"),
                      "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}))


if __name__ == "__main__":
    main()
