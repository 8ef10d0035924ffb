"""Events in the store: the event-type dictionary, inserting with idempotency, reading
leads' events back as core `Event` records, and a lead's events page by page."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Connection, bindparam, select

from leadscore.core.records import Event
from leadscore.store import pages
from leadscore.store.database import Database, Row
from leadscore.store.leads import chunks
from leadscore.store.tables import event_types, events, leads

_COLUMNS = (
    events.c.lead_pk,
    events.c.type_id,
    events.c.occurred_at,
    events.c.properties,
    events.c.source,
    events.c.event_id,
)
OF_LEADS = select(*_COLUMNS).where(events.c.lead_pk.in_(bindparam("pks", expanding=True)))
OF_LEADS_UNTIL = OF_LEADS.where(events.c.occurred_at <= bindparam("until"))


class EventTypes:
    """The event type name ↔ integer id dictionary, cached for the life of the process.

    Types are created in a transaction of their own before the transaction that stores the
    events, so that a rolled-back ingest can never leave an id in the cache that the
    database does not have. (An unused type row is harmless.)
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._ids.clear()
            self._names.clear()

    def ensure(self, db: Database, names: Iterable[str]) -> dict[str, int]:
        """Ids of these type names, creating the missing ones (call outside a transaction)."""
        names = set(names)
        missing = names - self._ids.keys()
        if missing:

            def create(conn: Connection) -> list[Row]:
                conn.execute(db.insert_ignore(event_types), [{"name": n} for n in sorted(missing)])
                query = select(event_types.c.name, event_types.c.id)
                return list(conn.execute(query.where(event_types.c.name.in_(missing))))

            self._remember(db.transact(create))
        return {name: self._ids[name] for name in names}

    def known(self, names: Iterable[str]) -> dict[str, int]:
        """Ids of type names `ensure` already created (usable inside a transaction)."""
        return {name: self._ids[name] for name in names}

    def name(self, conn: Connection, type_id: int) -> str:
        """The name of a type id (re-reading the dictionary on a miss)."""
        name = self._names.get(type_id)
        if name is None:
            self._remember(conn.execute(select(event_types.c.name, event_types.c.id)))
            name = self._names[type_id]
        return name

    def _remember(self, rows: Iterable[Row]) -> None:
        with self._lock:
            for name, type_id in rows:
                self._ids[name] = type_id
                self._names[type_id] = name


def insert(db: Database, conn: Connection, rows: Sequence[Mapping[str, object]]) -> set[str]:
    """Insert event rows; returns the event ids actually stored (a repeated id is skipped)."""
    if not rows:
        return set()
    return set(conn.scalars(db.insert_ignore(events, returning=events.c.event_id), rows))


def owners(conn: Connection, event_ids: Iterable[str]) -> dict[str, tuple[int, str]]:
    """event id → (lead pk, lead id) of the stored events with these ids."""
    found: dict[str, tuple[int, str]] = {}
    for part in chunks(sorted(set(event_ids))):
        query = (
            select(events.c.event_id, events.c.lead_pk, leads.c.id)
            .join(leads, leads.c.pk == events.c.lead_pk)
            .where(events.c.event_id.in_(part))
        )
        found.update({event_id: (pk, lead_id) for event_id, pk, lead_id in conn.execute(query)})
    return found


def for_leads(
    conn: Connection, types: EventTypes, pks: Iterable[int], until: int | None = None
) -> dict[int, list[Event]]:
    """Each lead's events (those at or before `until` when given), as scorer records."""
    by_lead: dict[int, list[Event]] = {}
    names = types._names
    query = OF_LEADS if until is None else OF_LEADS_UNTIL
    for part in chunks(sorted(set(pks))):
        params = {"pks": list(part), "until": until}
        for lead_pk, type_id, occurred_at, properties, source, event_id in conn.execute(
            query, params
        ):
            name = names.get(type_id) or types.name(conn, type_id)
            by_lead.setdefault(lead_pk, []).append(
                Event(name, occurred_at, properties, source, event_id)
            )
    return by_lead


def page(conn: Connection, lead_pk: int, after: tuple[int, int] | None, limit: int) -> list[Row]:
    """Up to `limit` event rows of a lead, newest first, after the keyset `after`
    (occurred_at, pk)."""
    query = select(events).where(events.c.lead_pk == lead_pk)
    if after is not None:
        query = query.where(pages.after(events.c.occurred_at, events.c.pk, *after, True))
    query = query.order_by(events.c.occurred_at.desc(), events.c.pk.desc()).limit(limit)
    return list(conn.execute(query))
