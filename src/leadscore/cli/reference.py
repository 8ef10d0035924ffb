"""docs/cli.md, the CLI reference, generated from the live app (as sqlite-utils does) so that
it cannot drift from the code: `make docs` rewrites it and a test fails when it is stale.

Typer's own generator (`typer … utils docs`) writes the Markdown; it is called with a plain
context so that help texts stay plain text (the `typer` command would HTML-escape them).
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from typer.cli import get_docs_for_click

from leadscore.cli.app import app

DEFAULT_PATH = Path("docs/cli.md")
NOTE = "<!-- Generated from the live app by `make docs` (leadscore/cli/reference.py). -->"


def render() -> str:
    """The reference of every command and sub-command, as Markdown."""
    command = typer.main.get_command(app)
    docs = get_docs_for_click(obj=command, ctx=typer.Context(command), name="leadscore")
    return f"{NOTE}\n\n{docs.strip()}\n"


def write(path: Path = DEFAULT_PATH) -> None:
    path.write_text(render(), encoding="utf-8")


if __name__ == "__main__":  # python -m leadscore.cli.reference [PATH]
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PATH)
