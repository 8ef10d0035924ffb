"""CLI commands of the predictive side (placeholder, being written)."""

import typer


def register(app: typer.Typer) -> None:
    """Add train / predict / evaluate to the CLI."""
