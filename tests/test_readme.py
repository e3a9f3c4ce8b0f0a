"""Every Python block of README.md runs as written, each as a script in a fresh process and an empty folder.

A block that takes more than a minute must say how long it takes: its text names minutes (the test measures
the time, so the statement cannot fall behind the code without failing here).
"""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_readme_has_its_blocks():
    assert len(BLOCKS) >= 6  # the first steps, presets, a new rule, sequences, Dask, learned rules


@pytest.mark.timeout(1200)
@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=lambda i: BLOCKS[i].splitlines()[0][:40])
def test_every_block_runs_as_written(index, tmp_path):
    block = BLOCKS[index]
    script = tmp_path / "block.py"
    script.write_text(block, encoding="utf-8")
    # Results, figures and the test ledger of a block go to the temporary folder, not into the checkout.
    env = {**os.environ, "PIXELFLOW_OUTPUT": str(tmp_path / "out")}
    start = time.perf_counter()
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1100)
    seconds = time.perf_counter() - start
    assert done.returncode == 0, f"README block {index} failed:\n{block}\n{done.stderr[-3000:]}"
    if seconds > 60:
        assert re.search(r"\bminutes?\b", block), (f"README block {index} took {seconds:.0f} s but does not say how "
                                                   f"long it takes:\n{block}")
