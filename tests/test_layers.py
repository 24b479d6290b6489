"""The layers of ARCHITECTURE.md: imports only point down.

sep2, schemas and anchor's Python helpers import nothing of ours; certs stands on sep2;
devices on sep2 and certs; oracle on sep2 and anchor; gateway on sep2, certs, oracle and
schemas; conformance (beside gateway, never importing it) on sep2, certs, devices
and schemas; the gridmirror shell may import everything and nothing imports it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {
    "sep2",
    "certs",
    "devices",
    "gateway",
    "oracle",
    "anchor",
    "schemas",
    "conformance",
    "gridmirror",
}
ALLOWED = {
    "sep2": set(),
    "schemas": set(),
    "anchor": set(),
    "certs": {"sep2"},
    "devices": {"sep2", "certs", "schemas"},
    "oracle": {"sep2", "anchor"},
    "gateway": {"sep2", "certs", "oracle", "schemas", "anchor"},
    "conformance": {"sep2", "certs", "devices", "schemas"},
    "gridmirror": OURS,
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages of ours that a module imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {n.split(".")[0] for n in names} & OURS
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_down(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in sorted((ROOT / package).rglob("*.py"))
        if (bad := imported_packages(path) - ALLOWED[package] - {package})
    }
    assert wrong == {}, f"{package} imports layers above it: {wrong}"


def test_the_checker_sees_function_level_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from gateway.app import x\n    import oracle.chain\n")
    assert imported_packages(module) == {"gateway", "oracle"}
