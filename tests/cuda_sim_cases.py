"""Run the fused CUDA kernels under numba's CUDA simulator and compare them with the numpy path.

Run by tests/test_cuda_kernels.py in a subprocess with NUMBA_ENABLE_CUDASIM=1
(the simulator replaces numba.cuda for the whole process, so it cannot share
a process with tests that use a real device). Prints one JSON object: case
name -> {"kernel": bool, "max_abs_diff": float}.
"""

import json

import numpy as np

from pixelflow import Reservoir, ReservoirConfig
from pixelflow.backends import ArrayBackend

SPEED = 0.2 + 0.4 * np.random.default_rng(3).random((8, 8))

CASES = {
    "wave": ("wave", 4, {}, {}),
    "wave-absorbing-noclip-pool": ("wave", 5, {"boundary": "absorbing", "sponge": 3, "clip": 0.0},
                                   {"record": "all", "pool": 2}),
    "wave-phase": ("wave", 6, {"c": 0.3, "damping": 0.9}, {"input_encoding": "phase"}),
    "wave-speed-field-rgb": ("wave", 7, {"c": SPEED}, {"record": "all"}),
    "wave-feature-maps": ("wave", 4, {}, {"record": "all", "pool": 4,
                                          "feature_maps": ("state", ("square", 2), ("abs", 8), "relu")}),
    "gray-scott": ("diffusion_reaction", 4, {}, {"record": (0, 2, 4)}),
    "gray-scott-u-zero-pool": ("diffusion_reaction", 5, {"input_species": "u", "boundary": "zero"}, {"pool": 4}),
    "gray-scott-phase": ("diffusion_reaction", 6, {"feed": 0.03, "kill": 0.05},
                         {"input_encoding": "phase", "record": "all"}),
    "life-b36": ("life_like", 3, {"rule": "B36/S23", "threshold": 0.4}, {"record": "all"}),
    "life-zero-pool": ("life_like", 2, {"boundary": "zero"}, {"pool": 2}),
    "life-feature-maps": ("life_like", 2, {}, {"record": (0, 1, 4), "feature_maps": ("state", ("square", 4))}),
}


def main():
    sim = ArrayBackend("cuda", np, kernels="pixelflow.backends.cuda")
    rng = np.random.default_rng(12345)
    gray, rgb = rng.random((4, 11, 11)) * 1.2 - 0.1, rng.random((4, 8, 8, 3))
    report = {}
    for name, (rule, channels, params, extra) in CASES.items():
        for dtype in ("float32", "float64"):
            cfg = ReservoirConfig(width=8, height=8, channels=channels, steps=4, rule=rule, rule_params=params,
                                  dtype=dtype, chunk_size=2, **extra)
            X = rgb if "rgb" in name else gray
            fused = Reservoir(cfg, backend=sim)
            got = fused.transform(X)
            ref = Reservoir(cfg, backend="numpy").transform(X)
            report[f"{name}-{dtype}"] = {"kernel": fused.engine.kernel is not None,
                                         "max_abs_diff": float(np.abs(got - ref).max()),
                                         "batch_invariant": bool(np.array_equal(got[3], fused.transform(X[3:4])[0]))}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
