"""The engine's modules form no import cycle, not even through imports inside functions or
under TYPE_CHECKING, and no module of the package imports another module's private name
(issue 9). Read from the source with `ast`, so that nothing needs importing."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import leadscore

PACKAGE = Path(leadscore.__file__).parent


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


def test_the_engine_imports_form_no_cycle() -> None:
    trees = modules()
    engine = {name for name in trees if name.startswith("leadscore.engine.")}
    graph = {
        name: {target for target, _ in imports(trees[name], set(trees)) if target in engine}
        for name in engine
    }
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"import cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        for target in sorted(graph[name]):
            visit(target, (*path, name))
        done.add(name)

    for name in sorted(engine):
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
