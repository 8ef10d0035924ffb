"""Seeded synthetic B2B leads, events and outcomes (placeholder, being written)."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `demo-data` command to the CLI."""
