"""Reading the audit log (GET /api/v1/audit, admins only), and naming where a request comes
from so that what it changes is recorded with its client IP (store.audit.ORIGIN)."""

from __future__ import annotations

from typing import Any

from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.cursors import decode_cursor, encode_cursor
from leadscore.store import audit as stored_audit


def set_origin(ip: str | None) -> None:
    """Record `ip` as the origin of whatever the current request changes."""
    stored_audit.ORIGIN.set(ip)


def entries(
    ctx: Context,
    *,
    actor: str | None = None,
    action: str | None = None,
    since: int | None = None,
    until: int | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """One page of entries, newest first, and the cursor of the next (None at the end)."""
    before = decode_cursor(cursor, "audit", "micros") if cursor else None
    with ctx.db.read() as conn:
        rows = stored_audit.page(
            conn,
            actor=actor,
            action=action,
            since=since,
            until=until,
            before=before,
            limit=limit + 1,
        )
    more = len(rows) > limit
    rows = rows[:limit]
    data = [
        {
            "id": r.pk,
            "at": format_timestamp(r.at),
            "actor": r.actor,
            "action": r.action,
            "target": r.target,
            "ip": (r.details or {}).get("ip"),
            "details": {k: v for k, v in (r.details or {}).items() if k != "ip"},
        }
        for r in rows
    ]
    last = rows[-1] if more and rows else None
    return {
        "data": data,
        "next_cursor": None if last is None else encode_cursor("audit", last.at, last.pk),
    }
