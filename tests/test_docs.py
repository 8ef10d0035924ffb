"""The docs cannot rot: their model snippets load, the example model scores, every command is
documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from leadscore.cli import app
from leadscore.core.automations import load_automations_text
from leadscore.core.conditions import parse_condition
from leadscore.core.loader import load_model_text
from leadscore.engine.model_file import load_model_file

REPO = Path(__file__).resolve().parents[1]
GUIDE = (REPO / "docs" / "scoring-model.md").read_text()


def yaml_blocks(text: str) -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", text, re.S)


@pytest.mark.parametrize("block", yaml_blocks(GUIDE))
def test_every_yaml_snippet_of_the_guide_is_a_valid_model_part(block: str) -> None:
    if block.startswith("  - "):
        block = "stages:\n" + block
    prefix = "combine: sum\n"
    if block.startswith("predictive:"):  # blending needs the weighted combination
        prefix = "fit: {weight: 0.5, max: 10}\nengagement: {weight: 0.5, max: 10}\n"
    load_model_text(prefix + block)


def test_every_operator_example_in_the_guide_parses() -> None:
    rows = re.findall(r"^\| `([a-z_`, ]+)` \| `(\{field:.*?\})` \|", GUIDE, re.M)
    operators = set()
    for names, example in rows:
        raw = YAML(typ="safe", pure=True).load(example.replace("\\|", "|"))
        errors: list = []
        parse_condition(raw, "example", errors)
        assert errors == [], (example, errors)
        operators.update(n.strip(" `") for n in names.split(","))
    from leadscore.core.conditions import OPERATORS

    assert operators == set(OPERATORS)


def test_examples_validate() -> None:
    """Every example is a valid model file, or (automations*.yaml) a valid automations file,
    or (sources*.yaml) a valid sources file."""
    from leadscore.core.sources import load_sources_text

    examples = sorted((REPO / "examples").glob("*.yaml"))
    assert examples
    automations = [p for p in examples if p.name.startswith("automations")]
    sources = [p for p in examples if p.name.startswith("sources")]
    assert automations and sources
    for path in examples:
        if path in automations:
            load_automations_text(path.read_text(encoding="utf-8"), source=str(path))
        elif path in sources:
            load_sources_text(path.read_text(encoding="utf-8"), source=str(path))
        else:
            load_model_file(path)


def test_every_command_is_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    head = "\n".join(readme.splitlines()[:10])
    assert "make run" in head and "make test" in head
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        assert f"leadscore {name}" in readme, f"leadscore {name} is not documented in README.md"
