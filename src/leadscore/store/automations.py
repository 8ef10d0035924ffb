"""Stored versions of the automations file, and the parsed files cached per version.

As with models: a stored version never changes, so its parsed file is cached for the life of
the process; which version is active is read in every transaction, so an activation in one
process is seen by all the others at once.
"""

from __future__ import annotations

import threading

from sqlalchemy import Connection, insert, select, update

from leadscore.core.automations import STORED, AutomationsFile, load_automations_text
from leadscore.store.database import Row
from leadscore.store.tables import automation_versions

ACTIVE = select(automation_versions.c.version).where(automation_versions.c.active.is_(True))


class AutomationsCache:
    def __init__(self) -> None:
        self._files: dict[int, AutomationsFile] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._files.clear()

    def file(self, conn: Connection, version: int) -> AutomationsFile:
        parsed = self._files.get(version)
        if parsed is None:
            text = conn.scalar(
                select(automation_versions.c.yaml).where(automation_versions.c.version == version)
            )
            if text is None:
                raise LookupError(f"no automations version {version}")
            # Checked against the connectors when it was stored; a connector removed since is
            # the worker's to report (the row fails naming it), not a reason to stop scoring.
            parsed = load_automations_text(
                text, source=f"automations version {version}", env=STORED
            )
            with self._lock:
                self._files[version] = parsed
        return parsed

    def active(self, conn: Connection) -> tuple[int, AutomationsFile] | None:
        """(version, file) of the active automations, or None before any activation."""
        version = conn.scalar(ACTIVE)
        return None if version is None else (version, self.file(conn, version))


def add(conn: Connection, yaml: str, label: str, created_at: int, created_by: str) -> int:
    version: int = conn.scalar(
        insert(automation_versions)
        .values(yaml=yaml, label=label, created_at=created_at, created_by=created_by)
        .returning(automation_versions.c.version)
    )
    return version


def get(conn: Connection, version: int) -> Row | None:
    t = automation_versions
    return conn.execute(select(t).where(t.c.version == version)).one_or_none()


def newest_first(conn: Connection) -> list[Row]:
    t = automation_versions
    return list(conn.execute(select(t).order_by(t.c.version.desc())))


def activate(conn: Connection, version: int | None, now: int) -> None:
    """Make `version` the only active one (None: switch automations off)."""
    t = automation_versions
    conn.execute(update(t).where(t.c.active.is_(True)).values(active=False))
    if version is not None:
        conn.execute(update(t).where(t.c.version == version).values(active=True, activated_at=now))
