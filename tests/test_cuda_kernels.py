"""The fused CUDA kernels against the numpy reference, on every machine.

Without a GPU (CI) the kernels run under numba's CUDA simulator, which
executes the same kernel source, thread blocks, barriers and all, on the
CPU; with one, tests/test_backends.py runs them on the device too.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cuda_sim_cases import CASES

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def simulated():
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1"}
    run = subprocess.run([sys.executable, str(HERE / "cuda_sim_cases.py")], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_simulated_cuda_kernel_matches_numpy(simulated, case, dtype):
    result = simulated[f"{case}-{dtype}"]
    assert result["kernel"], "the built-in rule should have run its fused CUDA kernel"
    assert result["max_abs_diff"] <= 1e-5
    assert result["batch_invariant"]
