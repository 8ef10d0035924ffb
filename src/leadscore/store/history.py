"""Score history: a row per reported change of a lead's score (§1), with its cause."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, and_, insert, select

from leadscore.store import pages
from leadscore.store.database import Row
from leadscore.store.tables import leads, score_history

INSERT = insert(score_history)
"""Built once: it runs on every rescoring that changes a score."""


def record(conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Append history rows (one statement for all)."""
    if rows:
        conn.execute(INSERT, rows)


def latest(conn: Connection, lead_pk: int, at: int) -> Row | None:
    """The lead's last history row at or before `at`."""
    t = score_history
    return conn.execute(
        select(t)
        .where(and_(t.c.lead_pk == lead_pk, t.c.at <= at))
        .order_by(t.c.at.desc(), t.c.pk.desc())
        .limit(1)
    ).one_or_none()


def page(conn: Connection, lead_pk: int, after: tuple[int, int] | None, limit: int) -> list[Row]:
    """Up to `limit` history rows of a lead, newest first, after the keyset `after` (at, pk)."""
    t = score_history
    query = select(t).where(t.c.lead_pk == lead_pk)
    if after is not None:
        query = query.where(pages.after(t.c.at, t.c.pk, *after, True))
    return list(conn.execute(query.order_by(t.c.at.desc(), t.c.pk.desc()).limit(limit)))


def leads_changed(conn: Connection, start: int, end: int) -> list[Row]:
    """The whole rows of the leads with a history row in [start, end)."""
    t = score_history
    changed = select(t.c.lead_pk).where(and_(t.c.at >= start, t.c.at < end)).distinct()
    return list(conn.execute(select(leads).where(leads.c.pk.in_(changed)).order_by(leads.c.pk)))
