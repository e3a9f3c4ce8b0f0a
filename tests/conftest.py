import os
import tempfile

import numpy as np
import pytest


def pytest_configure(config):
    # Stored features of the test run stay in a folder of their own, not in the user's cache.
    os.environ.setdefault("PIXELFLOW_FEATURE_CACHE", tempfile.mkdtemp(prefix="pixelflow-test-features-"))
    # Test evaluations of the suite go to a ledger of its own, not to the committed one.
    os.environ.setdefault("PIXELFLOW_TEST_LEDGER",
                          os.path.join(tempfile.mkdtemp(prefix="pixelflow-test-ledger-"), "test_ledger.jsonl"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)
