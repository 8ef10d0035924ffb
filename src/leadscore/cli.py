"""The `leadscore` command line (SPEC §3)."""

from __future__ import annotations

import typer

from leadscore import demo
from leadscore.ml import commands as ml_commands

app = typer.Typer(
    name="leadscore",
    help="Open, exact, explainable lead scoring.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

demo.register(app)
ml_commands.register(app)
