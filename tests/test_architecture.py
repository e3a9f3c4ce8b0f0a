"""The layout's rules, read from the source: two layers, no import circles, no private names across packages."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "pixelflow"

# Modules of the workbook layer that live outside pixelflow/workbook/: a short
# import path users already had (``from pixelflow import presets``).
WORKBOOK_SHIMS = {"pixelflow.presets"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def is_workbook(name: str) -> bool:
    return name == "pixelflow.workbook" or name.startswith("pixelflow.workbook.") or name in WORKBOOK_SHIMS


def package_of(name: str) -> str:
    path = MODULES[name]
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def resolve(importer: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = package_of(importer).split(".")
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(name: str):
    """``(imported module, names taken from it, line)`` for every import in the module, at any depth."""
    tree = ast.parse(MODULES[name].read_text(), filename=str(MODULES[name]))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, (), node.lineno
        elif isinstance(node, ast.ImportFrom):
            target = resolve(name, node)
            names = tuple(a.name for a in node.names)
            # ``from package import module`` imports that module.
            for n in names:
                if f"{target}.{n}" in MODULES:
                    yield f"{target}.{n}", (), node.lineno
            rest = tuple(n for n in names if f"{target}.{n}" not in MODULES)
            if rest or not names:
                yield target, rest, node.lineno


def internal(target: str) -> str | None:
    """The pixelflow module an import names (the longest known prefix), or None for other packages."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def graph():
    edges = {}
    for name in MODULES:
        edges[name] = {t for t in (internal(tgt) for tgt, _, _ in imports(name)) if t and t != name}
    return edges


def test_the_library_never_imports_the_workbook():
    bad = [f"{name} imports {target} (line {line})"
           for name in MODULES if not is_workbook(name)
           for target, _, line in imports(name) if internal(target) and is_workbook(internal(target))]
    assert bad == []


def test_there_are_no_import_circles():
    edges = graph()
    state, cycles = {}, []

    def visit(node, stack):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == "open":
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [])
    assert cycles == []


def test_no_private_name_is_imported_from_another_package():
    bad = []
    for name in MODULES:
        for target, names, line in imports(name):
            mod = internal(target)
            if mod is None:
                continue
            for n in names:
                if n.startswith("_") and package_of(mod) != package_of(name):
                    bad.append(f"{name}:{line} imports {n} from {mod}")
    assert bad == []


def test_a_plain_transform_imports_neither_dask_nor_the_workbook():
    code = ("import sys, numpy as np, pixelflow\n"
            "pixelflow.Reservoir(pixelflow.ReservoirConfig(8, 8, 4, 2, 'random_nca', "
            "feature_maps=('state', 'products')))"
            ".transform(np.zeros((3, 8, 8)))\n"
            "pixelflow.RidgeReadout().fit(np.eye(4), [0, 1, 0, 1])\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed') "
            "or m.startswith('pixelflow.workbook') or m == 'pixelflow.scaleout'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_the_rules_catch_what_they_are_for(tmp_path, monkeypatch):
    """A circle, a layer breach and a private import, planted in copies of the rules' inputs, are found."""
    planted = {
        "a.py": "from pixelflow.sub.b import _helper\n",
        "sub/__init__.py": "",
        "sub/b.py": "import pixelflow.a\nfrom pixelflow.workbook import results\n",
        "workbook/__init__.py": "",
        "workbook/results.py": "",
    }
    root = tmp_path / "pixelflow"
    for rel, text in planted.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "__init__.py").write_text("")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", root)
    monkeypatch.setattr(sys.modules[__name__], "MODULES", {module_name(p): p for p in sorted(root.rglob("*.py"))})
    for check in (test_the_library_never_imports_the_workbook, test_there_are_no_import_circles,
                  test_no_private_name_is_imported_from_another_package):
        with pytest.raises(AssertionError):
            check()


def test_the_code_passes_the_linter():
    """ruff, configured in pyproject.toml (pycodestyle, pyflakes, import order, lines <= 120 characters)."""
    root = ROOT.parent
    out = subprocess.run([sys.executable, "-m", "ruff", "check", "pixelflow", "tests"], cwd=root,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
