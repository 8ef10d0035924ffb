"""The shape of the package (STYLE.md, issue 9), read from the source with `ast`.

The layers and the core's purity are import-linter contracts in pyproject.toml, checked by
`make lint`. What those contracts cannot say is checked here: no import cycle between any two
modules (counting imports inside functions and under TYPE_CHECKING, which import-linter
ignores inside one package), no module importing another module's private name, a core that
never reads the clock or opens a file, and a public API that is exactly `__all__`.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

import leadscore

PACKAGE = Path(leadscore.__file__).parent
FORBIDDEN_IN_CORE = {"now", "utcnow", "today", "time", "open", "urlopen", "read_text"}


@cache
def modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("leadscore", *path.relative_to(PACKAGE).with_suffix("").parts)
        name = ".".join(parts).removesuffix(".__init__")
        found[name] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def imports(tree: ast.Module, known: set[str]) -> list[tuple[str, str | None]]:
    """(module, name) of every leadscore import anywhere in the tree; name is None when a
    whole module is imported."""
    out: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("leadscore"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                out.append((full, None) if full in known else (str(node.module), alias.name))
        elif isinstance(node, ast.Import):
            out += [(a.name, None) for a in node.names if a.name.startswith("leadscore")]
    return out


def test_no_two_modules_import_each_other_even_indirectly() -> None:
    trees = modules()
    known = set(trees)
    graph = {
        name: {target for target, _ in imports(tree, known) if target in known and target != name}
        for name, tree in trees.items()
    }
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(trees):
        visit(name, ())


def test_no_module_imports_a_private_name_of_another() -> None:
    trees = modules()
    found = [
        f"{name} imports {target}.{imported}"
        for name, tree in trees.items()
        for target, imported in imports(tree, set(trees))
        if imported is not None and imported.startswith("_") and not imported.startswith("__")
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize(
    "name", sorted(n for n in modules() if n.startswith("leadscore.core")), ids=str
)
def test_the_core_reads_no_clock_and_opens_no_file(name: str) -> None:
    for node in ast.walk(modules()[name]):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            assert called not in FORBIDDEN_IN_CORE, f"{name} calls {called}()"


def test_public_api_is_exactly_all() -> None:
    assert sorted(leadscore.__all__) == sorted(
        [
            "Contribution",
            "Event",
            "FakeHubSpot",
            "FakePipedrive",
            "FakeSalesforce",
            "FieldSpec",
            "HubSpotConnector",
            "PipedriveConnector",
            "SalesforceConnector",
            "Update",
            "check_connector",
            "Lead",
            "Model",
            "ModelError",
            "ScoreResult",
            "__version__",
            "dedupe_events",
            "format_timestamp",
            "load_model_file",
            "load_model_text",
            "parse_timestamp",
            "score_frame",
            "score_lead",
            "score_spark",
            "spark_session",
        ]
    )
    for name in leadscore.__all__:
        assert getattr(leadscore, name) is not None


def test_the_documented_python_examples_import_only_the_public_api() -> None:
    import re

    docs = [PACKAGE.parents[1] / "README.md", *(PACKAGE.parents[1] / "docs").glob("*.md")]
    for doc in docs:
        for block in re.findall(r"```python\n(.*?)```", doc.read_text(), re.S):
            for line in re.findall(r"^\s*(?:from|import) leadscore\S*", block, re.M):
                assert line.split()[1] == "leadscore", f"{doc.name}: {line.strip()}"


def test_the_version_is_the_package_metadata() -> None:
    import tomllib

    project = tomllib.loads((PACKAGE.parents[1] / "pyproject.toml").read_text())["project"]
    assert leadscore.__version__ == project["version"]
