"""Whether this process can serve requests now: the database answers and its schema is at
the newest migration this version knows (GET /ready). Liveness (GET /health) asks less: a
process whose database is at an older migration is alive, not ready."""

from __future__ import annotations

from leadscore.service.context import Context
from leadscore.store import schema_version


def not_ready(ctx: Context) -> str | None:
    """Why the service is not ready, or None when it is."""
    try:
        with ctx.db.read() as conn:
            current = schema_version.current(conn)
    except Exception as exc:  # any database failure: not ready, and say which
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__]
        return f"the database does not answer: {first[0][:200]}"
    head = schema_version.head()
    if current != head:
        return f"the database schema is at migration {current or 'none'}, not {head}"
    return None
