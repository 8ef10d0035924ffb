"""The `leadscore` command line; `app` is the Typer app the console script runs."""

from leadscore.cli.app import app

__all__ = ["app"]
