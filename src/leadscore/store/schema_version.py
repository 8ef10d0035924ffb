"""Which migration a database is at, and which is the newest this version ships: what the
readiness probe (`GET /ready`) and the backup checks compare."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Connection, text

from leadscore.store.database import MIGRATIONS


@cache
def known() -> tuple[str, ...]:
    """The revision ids of this version's migrations, oldest first."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(MIGRATIONS))
    return tuple(rev.revision for rev in reversed(list(scripts.walk_revisions())))


def head() -> str:
    """The newest migration."""
    return known()[-1]


def current(conn: Connection) -> str | None:
    """The migration the database is at (None: never migrated)."""
    return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
