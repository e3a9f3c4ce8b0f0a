"""The three descriptions of the environment agree: pyproject.toml (what pixelflow supports), environment.yml
(the same from conda-forge) and requirements-lock.txt (the exact versions `make` installs)."""

import re
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml with the standard library")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
# The extras `make test` and `make paper` install, read from the Makefile so the test follows it.
EXTRAS = re.search(r"^EXTRAS\s*:?=\s*(\S+)", MAKEFILE, re.M).group(1).split(",")
# conda-forge names of the packages whose PyPI name differs, and PyPI extras that are separate conda packages.
CONDA_NAMES = {"torch": "pytorch"}
CONDA_EXTRAS = {("dask", "distributed"): "distributed"}


def requirements(extras=EXTRAS):
    """pyproject.toml's requirements: the core ones and those of ``extras``."""
    optional = PYPROJECT["project"]["optional-dependencies"]
    listed = PYPROJECT["project"]["dependencies"] + [r for e in extras for r in optional[e]]
    return [Requirement(r) for r in listed]


def conda_specs():
    """``{name: specifier}`` of environment.yml, conda and pip entries alike (the editable install left out)."""
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    entries = []
    for dep in env["dependencies"]:
        entries += dep["pip"] if isinstance(dep, dict) else [dep]
    specs = {}
    for entry in entries:
        if entry.startswith("-e") or entry in ("pip",) or entry.startswith("python"):
            continue
        name, spec = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", entry.split("#")[0].strip()).groups()
        specs[canonicalize_name(name)] = spec.replace(" ", "")
    return specs


def expected_conda_specs():
    specs = {}
    for req in requirements():
        name = canonicalize_name(CONDA_NAMES.get(req.name, req.name))
        spec = str(req.specifier)
        assert name not in specs or specs[name] == spec, f"{req.name} is listed twice with different versions"
        specs[name] = spec
        for extra in req.extras:
            if (req.name, extra) in CONDA_EXTRAS:
                specs[CONDA_EXTRAS[(req.name, extra)]] = spec
    return specs


def lock():
    """``{name: version}`` pinned by requirements-lock.txt."""
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, version = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line).groups()
        assert canonicalize_name(name) not in pins, f"{name} is pinned twice"
        pins[canonicalize_name(name)] = Version(version)
    return pins


def test_environment_yml_lists_what_pyproject_requires_with_the_same_bounds():
    assert conda_specs() == expected_conda_specs()


def test_the_lock_pins_every_requirement_to_a_version_pyproject_allows():
    pins = lock()
    for req in requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"requirements-lock.txt does not pin {req.name} ({req})"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"the lock pins {req.name}=={pins[name]}, outside {req}"


def test_one_torch_policy():
    # pyproject.toml and environment.yml state the supported range, the lock the one version tested; the
    # Makefile pins nothing of its own and installs the lock.
    torch = {str(r.specifier) for r in requirements() if r.name == "torch"}
    assert torch == {conda_specs()["pytorch"]}
    assert re.search(r"pip install[^\n]*torch", MAKEFILE) is None
    assert re.search(r"pip install .*-r \$\(LOCK\)", MAKEFILE)
    assert lock()["torch"].local is None  # no "+cpu": the pin holds for the CPU and the CUDA builds alike


@pytest.mark.parametrize("major", [12, 13])
def test_each_cuda_extra_pairs_cupy_and_numba_cuda_of_one_cuda_version(major):
    extra = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"][f"cuda{major}"]]
    assert {r.name for r in extra} == {f"cupy-cuda{major}x", "numba-cuda"}
    assert next(r for r in extra if r.name == "numba-cuda").extras == {f"cu{major}"}
    assert "cuda" not in PYPROJECT["project"]["optional-dependencies"]  # no extra that leaves the version implicit
