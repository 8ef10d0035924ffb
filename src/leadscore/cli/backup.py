"""`leadscore backup FILE` and `leadscore restore FILE`: an online copy of the SQLite
database and its way back (service/backup.py says how and why). On PostgreSQL both refuse
with the `pg_dump`/`pg_restore` commands to use instead."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.support import fail
from leadscore.service import backup as backups
from leadscore.settings import Settings


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as exc:
        raise fail(f"invalid LEADSCORE_* setting: {exc}") from None


def backup_command(
    file: Annotated[Path, typer.Argument(help="The backup file to write.")],
) -> None:
    """Copy the SQLite database (LEADSCORE_DATABASE_URL) to FILE while the server may be
    writing: a consistent snapshot, integrity-checked. PostgreSQL: use pg_dump -Fc."""
    try:
        copied = backups.backup(_settings(), file)
    except backups.BackupError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"backed up {copied.leads:,} leads and {copied.events:,} events to {copied.path}"
        f" ({copied.bytes:,} bytes, migration {copied.migration})"
    )


def restore_command(
    file: Annotated[Path, typer.Argument(help="A file written by `leadscore backup`.")],
    force: Annotated[
        bool, typer.Option(help="Replace a database that holds leads or events.")
    ] = False,
) -> None:
    """Replace the SQLite database (LEADSCORE_DATABASE_URL) by a backup, after checking it
    is a leadscore database at a known migration. PostgreSQL: use pg_restore."""
    try:
        copied = backups.restore(_settings(), file, force=force)
    except backups.BackupError as exc:
        raise fail(str(exc)) from None
    typer.echo(
        f"restored {copied.leads:,} leads and {copied.events:,} events into {copied.path}"
        f" (migration {copied.migration}; the next start migrates it to the newest)"
    )
