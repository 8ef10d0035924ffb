"""docs/cli.md is the live app's reference (cli/reference.py): up to date, and naming every
command and sub-command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from leadscore.cli import app, reference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def command_paths(command, prefix: str = "leadscore") -> list[str]:
    """`leadscore`, `leadscore score`, `leadscore model upload`, … of every visible command."""
    paths = [prefix]
    if hasattr(command, "list_commands"):
        ctx = typer.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if not sub.hidden:
                paths += command_paths(sub, f"{prefix} {name}")
    return paths


def test_the_reference_is_up_to_date(tmp_path: Path) -> None:
    fresh = tmp_path / "cli.md"
    reference.write(fresh)
    if fresh.read_text(encoding="utf-8") != DOCS.read_text(encoding="utf-8"):
        pytest.fail("docs/cli.md is out of date: run `make docs`")


def test_every_command_and_sub_command_has_its_section() -> None:
    paths = command_paths(typer.main.get_command(app))
    assert {"leadscore apikey create", "leadscore model upload"} <= set(paths)
    assert "leadscore predictive activate" in paths and len(paths) > 25
    headings = re.findall(r"^#+ `(leadscore[^`]*)`$", DOCS.read_text(encoding="utf-8"), re.M)
    assert headings == paths
