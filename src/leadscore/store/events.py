"""Events in the store: the event-type dictionary, inserting with idempotency, reading
leads' events back as core `Event` records, and a lead's events page by page."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, Text, bindparam, cast, select, type_coerce

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


def _raw_properties(dialect: str) -> ColumnElement[str]:
    """The properties as their JSON text: SQLite stores the text; PostgreSQL's jsonb is cast
    to it (its canonical text, which is what the driver would have decoded)."""
    if dialect == "postgresql":
        return cast(events.c.properties, Text)
    return type_coerce(events.c.properties, Text)


_QUERIES: dict[tuple[str, bool, bool], Select[Any]] = {}


def _raw_query(dialect: str, one: bool, until: bool) -> Select[Any]:
    """The leads' events with their properties as JSON text (one lead, or `pks`), built once."""
    key = (dialect, one, until)
    found = _QUERIES.get(key)
    if found is None:
        found = _QUERIES[key] = _build_query(dialect, one, until)
    return found


def _build_query(dialect: str, one: bool, until: bool) -> Select[Any]:
    columns = (*_COLUMNS[:3], _raw_properties(dialect).label("properties"), *_COLUMNS[4:])
    if one:
        query = select(*columns).where(events.c.lead_pk == bindparam("pk"))
    else:
        query = select(*columns).where(events.c.lead_pk.in_(bindparam("pks", expanding=True)))
    return query.where(events.c.occurred_at <= bindparam("until")) if until else query


_ONE_LEAD: dict[tuple[str, str, str, bool], tuple[str, list[str] | None]] = {}
"""(dialect, driver, parameter style, with `until`) → the SQL text of one lead's events and
its positional parameter names (None: named parameters), compiled once."""


def _one_lead(conn: Connection, until: bool) -> tuple[str, list[str] | None]:
    dialect = conn.dialect
    key = (dialect.name, dialect.driver, dialect.paramstyle, until)
    found = _ONE_LEAD.get(key)
    if found is None:
        compiled = _raw_query(dialect.name, True, until).compile(dialect=dialect)
        positions = compiled.positiontup
        found = _ONE_LEAD[key] = (str(compiled), None if positions is None else list(positions))
    return found


_LONG_NUMBER = re.compile(r"\d{19}")
"""19 digits in a row: maybe an integer beyond 64 bits, which orjson reads as a float where
`json` gives an int (or a number with more digits than orjson was checked on). Digits inside
a string also match: harmless, that text just goes to `json`."""


def decode_properties(text: str) -> Any:
    """JSON text → exactly the values `json.loads` gives (which the JSON column used):
    orjson where it agrees, `json` for long digit runs and for what orjson refuses (NaN
    and infinities, which `json.dumps` writes; lone surrogates)."""
    if _LONG_NUMBER.search(text) is not None:
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


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
    """Each lead's events (those at or before `until` when given), as scorer records.

    The hot path of every single event (one lead): its statement is compiled once and run as
    driver SQL, the properties come back as JSON text and are decoded once each (orjson), with
    none of SQLAlchemy's per-statement compilation or per-row type processing."""
    by_lead: dict[int, list[Event]] = {}
    names = types._names
    wanted = sorted(set(pks))
    if len(wanted) == 1:
        sql, positions = _one_lead(conn, until is not None)
        values = {"pk": wanted[0], "until": until}
        params: Any = values if positions is None else tuple(values[p] for p in positions)
        parts: Iterable[Sequence[Any]] = [conn.exec_driver_sql(sql, params).all()]
    else:
        query = _raw_query(conn.dialect.name, False, until is not None)
        parts = (
            conn.execute(query, {"pks": list(part), "until": until}).all()
            for part in chunks(wanted)
        )
    loads = decode_properties
    for rows in parts:
        for lead_pk, type_id, occurred_at, properties, source, event_id in rows:
            name = names.get(type_id) or types.name(conn, type_id)
            found = by_lead.get(lead_pk)
            if found is None:
                found = by_lead[lead_pk] = []
            found.append(Event(name, occurred_at, loads(properties), source, event_id))
    return by_lead


def page(conn: Connection, lead_pk: int, after: tuple[int, int] | None, limit: int) -> list[Row]:
    """Up to `limit` event rows of a lead, newest first, after the keyset `after`
    (occurred_at, pk)."""
    query = select(events).where(events.c.lead_pk == lead_pk)
    if after is not None:
        query = query.where(pages.after(events.c.occurred_at, events.c.pk, *after, True))
    query = query.order_by(events.c.occurred_at.desc(), events.c.pk.desc()).limit(limit)
    return list(conn.execute(query))
