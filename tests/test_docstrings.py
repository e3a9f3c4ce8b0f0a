"""Every docstring example in the package runs as written."""

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "pixelflow"
PATHS = {".".join(p.relative_to(ROOT.parent).with_suffix("").parts).removesuffix(".__init__"): p
         for p in ROOT.rglob("*.py")}
MODULES = sorted(PATHS)
# Modules that need an optional accelerator library to import at all.
NEEDS = {"pixelflow.backends.cuda": "cupy"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    for prefix, package in NEEDS.items():
        if name.startswith(prefix):
            pytest.importorskip(package)
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"


def test_the_modules_with_examples_are_many():
    """A module list that silently shrank would test nothing."""
    with_examples = [n for n, path in PATHS.items() if ">>>" in path.read_text()]
    assert len(MODULES) > 100 and len(with_examples) >= 20, with_examples
