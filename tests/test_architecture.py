"""The core stays pure (STYLE.md): no I/O, no clock, no adapter imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[1] / "src" / "leadscore" / "core"
ALLOWED_THIRD_PARTY = {"pydantic", "pydantic_core", "ruamel"}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "time", "open", "urlopen"}


def imported_roots(tree: ast.AST) -> set[str]:
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module)
    return roots


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    import sys

    for name in imported_roots(tree):
        root = name.split(".")[0]
        if root == "leadscore":
            assert name.startswith("leadscore.core"), f"{path.name} imports the adapter {name}"
        elif root not in sys.stdlib_module_names:
            assert root in ALLOWED_THIRD_PARTY, f"{path.name} imports {name}"
        assert root not in {"os", "io", "socket", "subprocess", "time", "pathlib"} or (
            path.name == "loader.py" and root == "pathlib"
        ), f"{path.name} imports {name}"
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if path.name == "loader.py" and called == "read_text":
                continue
            assert called not in FORBIDDEN_CALLS, f"{path.name} calls {called}()"


def test_public_api_is_exactly_all() -> None:
    import leadscore

    assert sorted(leadscore.__all__) == sorted(
        [
            "Event",
            "Lead",
            "ModelError",
            "__version__",
            "load_model_file",
            "load_model_text",
            "score_frame",
            "score_lead",
        ]
    )
    for name in leadscore.__all__:
        assert getattr(leadscore, name) is not None
