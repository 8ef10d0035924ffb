"""The rows of website tracking (migration 0013): anonymous visitors and the beacons of
those not yet identified (service/tracking.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from leadscore.store.database import Row
from leadscore.store.tables import tracking_events, tracking_visitors


def visitor(conn: Connection, site: str, visitor_id: str, now: int) -> Row:
    """The visitor's row, created on its first beacon; `last_seen` moved to `now`. One
    statement (insert … on conflict do update … returning): two first beacons at once both
    find the one row."""
    values = {"site": site, "visitor": visitor_id, "first_seen": now, "last_seen": now}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(tracking_visitors)
        .values(values)
        .on_conflict_do_update(
            index_elements=[tracking_visitors.c.site, tracking_visitors.c.visitor],
            set_={"last_seen": now},
        )
        .returning(*tracking_visitors.c)
    )
    return conn.execute(statement).one()


def add_event(conn: Connection, values: Mapping[str, Any]) -> bool:
    """Store an anonymous beacon; False when its event id was stored before (a replay)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(tracking_events)
        .values(dict(values))
        .on_conflict_do_nothing(index_elements=[tracking_events.c.event_id])
        .returning(tracking_events.c.pk)
    )
    return conn.execute(statement).first() is not None


def events_of(conn: Connection, visitor_pk: int) -> list[Row]:
    """The visitor's anonymous beacons, oldest first."""
    query = (
        select(tracking_events)
        .where(tracking_events.c.visitor_pk == visitor_pk)
        .order_by(tracking_events.c.occurred_at, tracking_events.c.pk)
    )
    return list(conn.execute(query).all())


def identify(conn: Connection, visitor_pk: int, lead_pk: int, now: int) -> int:
    """Link the visitor to its lead and drop its anonymous beacons (now the lead's events);
    the number of beacons dropped."""
    conn.execute(
        update(tracking_visitors)
        .where(tracking_visitors.c.pk == visitor_pk)
        .values(lead_pk=lead_pk, identified_at=now)
    )
    return int(
        conn.execute(
            delete(tracking_events).where(tracking_events.c.visitor_pk == visitor_pk)
        ).rowcount
    )


def forget(conn: Connection, visitor_pks: Sequence[int]) -> int:
    """Delete visitors and their beacons; the number of visitors deleted."""
    if not visitor_pks:
        return 0
    conn.execute(delete(tracking_events).where(tracking_events.c.visitor_pk.in_(visitor_pks)))
    gone = conn.execute(delete(tracking_visitors).where(tracking_visitors.c.pk.in_(visitor_pks)))
    return int(gone.rowcount)


def stale(conn: Connection, before: int, limit: int = 1000) -> list[int]:
    """Visitors never identified whose last beacon is older than `before`."""
    query = (
        select(tracking_visitors.c.pk)
        .where(tracking_visitors.c.lead_pk.is_(None), tracking_visitors.c.last_seen < before)
        .limit(limit)
    )
    return list(conn.scalars(query).all())


def of_lead(conn: Connection, lead_pk: int) -> list[int]:
    """The visitors identified as this lead."""
    query = select(tracking_visitors.c.pk).where(tracking_visitors.c.lead_pk == lead_pk)
    return list(conn.scalars(query).all())


def counts(conn: Connection) -> tuple[int, int]:
    """(visitors, anonymous beacons) stored: for tests and the bench."""
    visitors = conn.scalar(select(func.count()).select_from(tracking_visitors)) or 0
    beacons = conn.scalar(select(func.count()).select_from(tracking_events)) or 0
    return int(visitors), int(beacons)
