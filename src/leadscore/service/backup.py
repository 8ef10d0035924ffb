"""Backing up and restoring the SQLite database while the service runs.

Why SQLite's online backup API (`sqlite3.Connection.backup`) and not a copy of the file: a
copy taken while the server writes can mix pages of two transactions, and misses what is
still in the write-ahead log. The backup API copies the database as one read transaction
sees it — a consistent snapshot that includes the log's committed pages — and in WAL mode
the server's writers are not blocked meanwhile. The copy is written beside the target under
a temporary name, checked (`PRAGMA integrity_check`) and renamed into place, so a failed
backup never leaves a half-written file under the name asked for.

Restore copies the other way, again through the backup API, into the configured database:
SQLite's own locking makes the switch atomic for any connection still open on it. It first
checks that the file is a leadscore database at a migration this version knows, and refuses
to overwrite a database that holds leads or events unless forced.

PostgreSQL has its own tools (`pg_dump -Fc`, `pg_restore`): both functions refuse it with
the commands to use (docs/operations.md#postgresql).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import make_url

from leadscore.service.errors import ServiceError
from leadscore.settings import Settings
from leadscore.store import schema_version

SQLITE_HEADER = b"SQLite format 3\x00"
POSTGRES_ADVICE = (
    "leadscore backup/restore work on SQLite only; for PostgreSQL use its own tools:"
    " `pg_dump -Fc --no-owner -d URL -f FILE` to back up and"
    " `pg_restore --no-owner --clean --if-exists -d URL FILE` to restore"
    " (docs/operations.md#postgresql)"
)


class BackupError(ServiceError):
    """A backup or restore that cannot be done as asked (the reason says why)."""


@dataclass(frozen=True)
class Copied:
    """What a backup or restore copied: the file, its size and the schema's migration."""

    path: Path
    bytes: int
    migration: str
    leads: int
    events: int


def sqlite_path(settings: Settings) -> Path:
    """The configured SQLite database's file; BackupError for PostgreSQL or :memory:."""
    if not settings.is_sqlite:
        raise BackupError(POSTGRES_ADVICE)
    path = make_url(settings.database_url).database
    if not path or path == ":memory:":
        raise BackupError("the database is in memory: there is no file to back up or restore")
    return Path(path)


def backup(settings: Settings, target: Path) -> Copied:
    """Copy the configured SQLite database to `target` (a new file; an existing one is
    replaced only once the new copy is complete and checked)."""
    source = sqlite_path(settings)
    if not source.is_file():
        raise BackupError(f"{source}: no such database file")
    if target.resolve() == source.resolve():
        raise BackupError(f"{target}: is the database itself; choose another file")
    if not target.parent.is_dir():
        raise BackupError(f"{target}: the folder {target.parent} does not exist")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        with _connect(source, readonly=True) as src, _connect(partial) as dst:
            src.backup(dst)  # one step: a single read transaction, a consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
            copied = _check(dst, partial)
        os.replace(partial, target)
    except (sqlite3.Error, OSError) as exc:  # a full disk, a file that is no database
        raise BackupError(f"{target}: the backup failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Copied(target, target.stat().st_size, copied[0], copied[1], copied[2])


def restore(settings: Settings, source: Path, *, force: bool = False) -> Copied:
    """Replace the configured SQLite database by the backup `source`. Refused when the file
    is not a leadscore database at a known migration, or when the database holds leads or
    events and `force` is not given."""
    target = sqlite_path(settings)
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    with source.open("rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{source}: not an SQLite database file")
    with _connect(source, readonly=True) as src:
        migration, leads, events = _check(src, source)
        if target.is_file() and target.stat().st_size > 0 and not force:
            held = _holds(target)
            if held:
                raise BackupError(
                    f"{target}: the database holds {held}; restoring would replace them"
                    " (give --force to do so)"
                )
        try:
            with _connect(target) as dst:
                src.backup(dst)
        except (sqlite3.Error, OSError) as exc:
            raise BackupError(f"{target}: the restore failed: {exc}") from None
    return Copied(target, target.stat().st_size, migration, leads, events)


def _connect(path: Path, *, readonly: bool = False) -> contextlib.closing[sqlite3.Connection]:
    if readonly:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
    else:
        conn = sqlite3.connect(path, timeout=30)
    return contextlib.closing(conn)


def _check(conn: sqlite3.Connection, path: Path) -> tuple[str, int, int]:
    """(migration, leads, events) of a leadscore database that passes integrity_check."""
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: not a readable SQLite database ({exc})") from None
    if verdict != "ok":
        raise BackupError(f"{path}: the integrity check failed: {verdict}")
    try:
        migration = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        leads = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.DatabaseError:
        raise BackupError(f"{path}: not a leadscore database (no schema version)") from None
    known = schema_version.known()
    if migration is None or migration[0] not in known:
        found = "none" if migration is None else repr(migration[0])
        raise BackupError(
            f"{path}: its schema migration ({found}) is not one this version knows"
            f" ({known[0]} … {known[-1]}); restore it with the leadscore version that made it"
        )
    return str(migration[0]), int(leads), int(events)


def _holds(path: Path) -> str:
    """What the database at `path` holds that a restore would lose ('' when nothing)."""
    try:
        with _connect(path, readonly=True) as conn:
            leads = conn.execute("SELECT count(*) FROM leads").fetchone()[0]
            events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    except sqlite3.DatabaseError:
        return "data that is not a leadscore database"
    if not leads and not events:
        return ""
    return f"{leads:,} leads and {events:,} events"
