"""The audit log: who changed what by hand (overrides, models, keys, stages, outcomes), when,
and from where.

"From where" is the client IP of the request that made the change: the API's key check and
the dashboard's session check put it in `ORIGIN` (a context variable, so it follows the
request into the worker thread that writes), and `record` adds it to the entry's details as
`ip`. Changes made outside a request (the CLI, the scheduler) have none.
"""

from __future__ import annotations

from contextvars import ContextVar

from sqlalchemy import Connection, insert, select

from leadscore.store.database import Row
from leadscore.store.tables import audit_log

ORIGIN: ContextVar[str | None] = ContextVar("leadscore_audit_origin", default=None)
"""The client IP of the request being served, if any."""


def record(
    conn: Connection, at: int, actor: str, action: str, target: str | None, **details: object
) -> None:
    origin = ORIGIN.get()
    if origin is not None:
        details.setdefault("ip", origin)
    conn.execute(
        insert(audit_log).values(at=at, actor=actor, action=action, target=target, details=details)
    )


def page(
    conn: Connection,
    *,
    actor: str | None,
    action: str | None,
    since: int | None,
    until: int | None,
    before: tuple[int, int] | None,
    limit: int,
) -> list[Row]:
    """Entries newest first, filtered (`action` ending in `.` matches a family such as
    `apikey.`), after the keyset `before` = (at, pk) of the previous page's last row."""
    query = select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.pk.desc())
    if actor is not None:
        query = query.where(audit_log.c.actor == actor)
    if action is not None:
        if action.endswith("."):
            query = query.where(audit_log.c.action.startswith(action, autoescape=True))
        else:
            query = query.where(audit_log.c.action == action)
    if since is not None:
        query = query.where(audit_log.c.at >= since)
    if until is not None:
        query = query.where(audit_log.c.at < until)
    if before is not None:
        at, pk = before
        query = query.where(
            (audit_log.c.at < at) | ((audit_log.c.at == at) & (audit_log.c.pk < pk))
        )
    return list(conn.execute(query.limit(limit)))
