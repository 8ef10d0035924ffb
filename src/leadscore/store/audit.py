"""The audit log: who changed what by hand (overrides, models, keys, stages, outcomes)."""

from __future__ import annotations

from sqlalchemy import Connection, insert

from leadscore.store.tables import audit_log


def record(
    conn: Connection, at: int, actor: str, action: str, target: str | None, **details: object
) -> None:
    conn.execute(
        insert(audit_log).values(at=at, actor=actor, action=action, target=target, details=details)
    )
