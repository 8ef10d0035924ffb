"""Ingesting events (§1, §4): store them once, and rescore their leads in the same
transaction, so the response carries the new score and no reader ever sees an event
without the score it caused.

The hot path of one event: lock its lead → insert the event (a repeated id is skipped) →
read the lead's events → score → update the lead → history row if the score changed.
A batch does the same once per lead, all or nothing, each step one statement for the whole
batch (resolving, locking, inserting: store/batch_events.py, the id checks); its leads are
scored together by the kernel when there are many (service/kernel_rescore.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from leadscore.service import metrics
from leadscore.service.context import Context
from leadscore.service.errors import Conflict
from leadscore.service.inputs import EventIn
from leadscore.service.resolve import LocOf, by_index, resolve
from leadscore.service.scoring import Arrival, Cause, Change, Snapshot, rescore
from leadscore.store import Connection, Row, batch_events
from leadscore.store import events as stored_events
from leadscore.store import leads as stored_leads


@dataclass(frozen=True)
class Ingested:
    """What happened to each event (stored or a duplicate) and to each lead it touched."""

    events: list[dict[str, str]]
    leads: list[Change]
    created: set[int]
    last_stored: dict[int, str]
    """lead pk → the last event stored for it (the history cause)."""
    arrivals: dict[int, Arrival] = field(default_factory=dict)
    """lead pk → the earliest event stored for it (what may reach back before its lifecycle)."""
    stored_events: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    """lead pk → (id, type) of each event stored for it (what automations fire on)."""

    @property
    def stored(self) -> int:
        return sum(1 for e in self.events if e["status"] == "stored")

    def lead_dicts(self) -> list[dict[str, Any]]:
        return [c.to_dict(created=c.lead_pk in self.created) for c in self.leads]


def ingest_events(ctx: Context, items: Sequence[EventIn], loc_of: LocOf = by_index) -> Ingested:
    """Store events and rescore their leads in one transaction. An unknown lead id raises
    NotFound naming `loc_of(index)` of each such event."""
    now = ctx.now()
    type_ids = ctx.event_types.ensure(ctx.db, {item.type for item in items})
    ids = event_ids(items)
    started = time.perf_counter()
    done = ctx.db.transact(lambda conn: ingest_in(conn, ctx, items, ids, type_ids, now, loc_of))
    metrics.RESCORE_BATCH.observe(time.perf_counter() - started)
    return done


def event_ids(items: Sequence[EventIn]) -> list[str]:
    """Each event's idempotency key: its own id, or a new random one."""
    return [item.id if item.id is not None else str(uuid.uuid4()) for item in items]


def _refuse_other_leads_ids(
    conn: Connection,
    ids: Sequence[str],
    pks: Sequence[int],
    first: dict[str, int],
    stored: set[str],
    rows: dict[int, Row],
    loc_of: LocOf,
) -> None:
    """Raise Conflict (409, naming both leads) at the first event whose id already belongs
    to another lead's event — stored before, or earlier in this request. The same id for the
    same lead is a duplicate, the idempotent replay of §1; for another lead it is a client's
    mistake (an id reused, or a lead mixed up) that must not be dropped silently."""
    seen_before = stored_events.owners(conn, {i for i in ids if i not in stored})
    for index, event_id in enumerate(ids):
        if event_id in stored:
            owner_pk = pks[first[event_id]]
            owner_id = rows[owner_pk].id
        elif event_id in seen_before:
            owner_pk, owner_id = seen_before[event_id]
        else:  # not stored and not found: cannot happen inside the transaction
            continue
        if owner_pk != pks[index]:
            lead_id = rows[pks[index]].id
            raise Conflict(
                f"event id {event_id!r} already names an event of lead {owner_id!r}, not of"
                f" lead {lead_id!r}: give this event its own id",
                (*loc_of(index), "id"),
            )


def ingest_in(
    conn: Connection,
    ctx: Context,
    items: Sequence[EventIn],
    ids: Sequence[str],
    type_ids: dict[str, int],
    now: int,
    loc_of: LocOf = by_index,
    *,
    rescore_leads: bool = True,
    created_before: frozenset[int] = frozenset(),
) -> Ingested:
    """The transaction body of `ingest_events`. File import stores several chunks without
    rescoring (`rescore_leads=False`), then rescores each lead once. `created_before`: leads
    this transaction created before, whose rescoring happens here (`lead_created` fires)."""
    pks, created = resolve(conn, ctx, items, create=True, now=now, loc_of=loc_of)
    created |= created_before & set(pks)
    rows = stored_leads.lock(conn, pks)
    first: dict[str, int] = {}
    for index, event_id in enumerate(ids):
        first.setdefault(event_id, index)
    new_rows = [
        {
            "event_id": event_id,
            "lead_pk": pks[index],
            "type_id": type_ids[items[index].type],
            "occurred_at": now if items[index].occurred_at is None else items[index].occurred_at,
            "properties": items[index].properties,
            "source": items[index].source,
            "received_at": now,
        }
        for event_id, index in first.items()
    ]
    stored = batch_events.insert(ctx.db, conn, new_rows)
    _refuse_other_leads_ids(conn, ids, pks, first, stored, rows, loc_of)
    last_stored: dict[int, str] = {}
    statuses: list[dict[str, str]] = []
    for index, event_id in enumerate(ids):
        is_new = event_id in stored and first[event_id] == index
        if is_new:
            last_stored[pks[index]] = event_id
        statuses.append(
            {
                "id": event_id,
                "lead_id": rows[pks[index]].id,
                "status": "stored" if is_new else "duplicate",
            }
        )
    arrivals: dict[int, Arrival] = {}
    by_lead: dict[int, list[tuple[str, str]]] = {}
    for (event_id, index), new in zip(first.items(), new_rows, strict=True):
        if event_id in stored:
            occurred_at = new["occurred_at"]
            assert isinstance(occurred_at, int)
            arrival = Arrival(event_id, items[index].type, occurred_at)
            earliest(arrivals, pks[index], arrival)
            by_lead.setdefault(pks[index], []).append((event_id, items[index].type))
    touched = [rows[pk] for pk in sorted(set(last_stored) | created)] if rescore_leads else []
    cause = Cause("event", last_stored, arrivals, frozenset(created), by_lead)
    changes = {c.lead_pk: c for c in rescore(conn, ctx, touched, None, cause, settle_at=now)}
    for pk in sorted(set(pks) - changes.keys()):  # only duplicates: the score as it is
        row = rows[pk]
        changes[pk] = Change(pk, row.id, Snapshot.of(row), Snapshot.of(row), row.stage)
    order = list(dict.fromkeys(pks))
    leads = [changes[pk] for pk in order]
    return Ingested(statuses, leads, created, last_stored, arrivals, by_lead)


def earliest(arrivals: dict[int, Arrival], pk: int, arrival: Arrival) -> None:
    """Keep in `arrivals` the earliest event of lead `pk`."""
    kept = arrivals.get(pk)
    if kept is None or arrival.occurred_at < kept.occurred_at:
        arrivals[pk] = arrival
