import os
import shutil
import tempfile

import numpy as np
import pytest

# Temporary folders this run made (not those a caller named): removed when the run ends, so that
# a suite's stored features (hundreds of MB) do not pile up in the temporary directory.
_MADE: list[str] = []


def _own_folder(variable: str, prefix: str, leaf: str | None = None) -> None:
    if variable in os.environ:
        return
    folder = tempfile.mkdtemp(prefix=prefix)
    _MADE.append(folder)
    os.environ[variable] = folder if leaf is None else os.path.join(folder, leaf)


def pytest_configure(config):
    # Stored features of the test run stay in a folder of their own, not in the user's cache.
    _own_folder("PIXELFLOW_FEATURE_CACHE", "pixelflow-test-features-")
    # Test evaluations of the suite go to a ledger of its own, not to the committed one.
    _own_folder("PIXELFLOW_TEST_LEDGER", "pixelflow-test-ledger-", "test_ledger.jsonl")


def pytest_unconfigure(config):
    for folder in _MADE:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
