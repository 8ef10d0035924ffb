"""What every CLI command shares: exit-2 errors, loading a model, reading `--as-of`.

Kept apart from cli.py so that command modules registered into the app (engine, service,
ml, tuning) can use it without importing the app itself.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console

from leadscore.core.loader import ModelError, load_model_file
from leadscore.core.model import Model
from leadscore.core.timestamps import TimestampError, parse_timestamp, to_micros

err = Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str) -> typer.Exit:
    """Print a one-line error to stderr and return the exit-2 to raise."""
    err.print(f"error: {message}", markup=False)
    return typer.Exit(2)


def load_model_or_exit(path: Path) -> Model:
    """The model, or every error with its key path on stderr and exit 2."""
    try:
        return load_model_file(path)
    except ModelError as exc:
        for problem in exc.problems:
            err.print(f"{exc.source}: {problem}", markup=False)
        raise typer.Exit(2) from None
    except OSError as exc:
        raise fail(f"{path}: cannot read the model: {exc.strerror or exc}") from None


def parse_as_of(text: str | None) -> int:
    """`--as-of` as epoch µs; now when absent; exit 2 when it is not a timestamp."""
    if text is None:
        return to_micros(datetime.now(UTC))
    try:
        return parse_timestamp(text)
    except TimestampError as exc:
        raise fail(f"--as-of: {exc}") from None
