"""Throw-away databases for tests and benchmarks: a fresh PostgreSQL database that is
dropped afterwards, and emptying every table between tests (faster than a new database)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url

from leadscore.settings import normalise_database_url
from leadscore.store.database import Database
from leadscore.store.tables import metadata


class Unavailable(RuntimeError):
    """No PostgreSQL server answers at the URL (or it refuses to create a database)."""


@contextmanager
def scratch_postgres(server_url: str) -> Iterator[str]:
    """Create a new, empty database on the server of `server_url` (any database there),
    yield its URL, and drop it afterwards."""
    url = make_url(normalise_database_url(server_url))
    name = f"leadscore_scratch_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise Unavailable(f"no PostgreSQL at {url.render_as_string()}: {reason}") from None
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty(db: Database) -> None:
    """Delete every row of every table (children first); integer keys restart."""
    with db.write() as conn:
        for table in reversed(metadata.sorted_tables):
            conn.execute(delete(table))  # on small tables much faster than TRUNCATE
        if db.is_postgres:
            sequences = conn.scalars(text("SELECT sequencename FROM pg_sequences"))
            for name in list(sequences):
                conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
        # SQLite reuses max(rowid) + 1: keys restart by themselves
