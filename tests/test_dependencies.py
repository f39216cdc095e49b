"""The core's declared dependencies cover everything ``workbench/`` imports.

Why: after ``pip install .`` (no extras) the CLI must work; pyarrow once lived only in the
``app`` extra, so every ``run`` trained and then died saving to the store. This test reads
every import in ``workbench/`` (module level and inside functions) and maps it to the
distribution that provides it: module-level imports must come from a core dependency,
and a function-level import of an extra's package (ray) must be one the code guards. The
full proof, a fresh virtual environment with ``pip install .`` running the CLI, is
``scripts/check_core_install.sh`` (run by ``.ci/run``; minutes, so not in the suite).
"""

from __future__ import annotations

import ast
import functools
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")
ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _imports() -> list[tuple[str, str, bool]]:
    """(top-level module, file, at module level) of every absolute import in workbench/."""
    out = []
    for path in sorted((ROOT / "workbench").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        top_level = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                out.append((name.split(".")[0], str(path.relative_to(ROOT)),
                            id(node) in top_level))
    return out


@functools.lru_cache(maxsize=1)
def _providers() -> dict:
    return packages_distributions()


def _distributions(module: str) -> set[str]:
    return {d.lower().replace("_", "-") for d in _providers().get(module, [])}


def test_every_third_party_import_is_a_declared_dependency():
    core = {_name(r) for r in _project()["dependencies"]}
    extras = {_name(r) for reqs in _project()["optional-dependencies"].values() for r in reqs}
    missing = []
    for module, where, module_level in _imports():
        if module in sys.stdlib_module_names or module == "workbench":
            continue
        dists = _distributions(module)
        assert dists, f"{where} imports {module!r}, which no installed distribution provides"
        if dists & core:
            continue
        if not module_level and dists & extras:
            continue  # an optional feature (ray), imported only when asked for
        missing.append(f"{where}: {module} ({', '.join(sorted(dists))})")
    assert not missing, "imports not covered by the core dependencies: " + "; ".join(missing)


def test_the_store_engine_is_imported_where_it_is_used():
    """pandas imports the Parquet engine itself, which an import scan cannot see: the
    store imports pyarrow explicitly, so the scan above covers it."""
    assert ("pyarrow", "workbench/store_io.py", True) in _imports()
    assert "pyarrow" in {_name(r) for r in _project()["dependencies"]}
