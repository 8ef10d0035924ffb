"""The events a retention policy deletes: finding them a batch at a time in lead order
(the (lead_pk, occurred_at) index), counting them, deleting them by key."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Connection, and_, delete, false, func, or_, select

from leadscore.store.leads import chunks
from leadscore.store.tables import event_types, events


@dataclass(frozen=True)
class Cutoffs:
    """Events older than their cutoff (epoch µs) go: per type id, else `default` (None:
    types without their own cutoff are kept)."""

    by_type: Mapping[int, int]
    default: int | None

    def condition(self) -> ColumnElement[bool]:
        parts = [
            and_(events.c.type_id == type_id, events.c.occurred_at < cutoff)
            for type_id, cutoff in sorted(self.by_type.items())
        ]
        if self.default is not None:
            others = events.c.occurred_at < self.default
            if self.by_type:
                others = and_(events.c.type_id.not_in(sorted(self.by_type)), others)
            parts.append(others)
        return or_(*parts) if parts else false()


def type_ids(conn: Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the event types among `names` that exist (a type never seen has no events)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    query = select(event_types.c.name, event_types.c.id).where(event_types.c.name.in_(wanted))
    return {name: type_id for name, type_id in conn.execute(query)}


def count(conn: Connection, cutoffs: Cutoffs) -> tuple[int, int]:
    """(events, leads) the cutoffs would delete now."""
    query = select(func.count(), func.count(events.c.lead_pk.distinct())).where(cutoffs.condition())
    found = conn.execute(query).one()
    return int(found[0]), int(found[1])


def next_batch(
    conn: Connection, cutoffs: Cutoffs, after_lead: int, limit: int
) -> list[tuple[int, int]]:
    """(event pk, lead pk) of the old events of the next leads after `after_lead`, in lead
    order: about `limit` events, whole leads only (a lead with more than `limit` old events
    comes alone, with all of them)."""
    condition = and_(events.c.lead_pk > after_lead, cutoffs.condition())
    query = (
        select(events.c.pk, events.c.lead_pk)
        .where(condition)
        .order_by(events.c.lead_pk)
        .limit(limit + 1)
    )
    rows = [(int(pk), int(lead)) for pk, lead in conn.execute(query)]
    if len(rows) <= limit:
        return rows
    last = rows[-1][1]
    whole = [row for row in rows if row[1] != last]
    if whole:
        return whole
    alone = select(events.c.pk, events.c.lead_pk).where(
        and_(events.c.lead_pk == last, cutoffs.condition())
    )
    return [(int(pk), int(lead)) for pk, lead in conn.execute(alone)]


def delete_events(conn: Connection, pks: Sequence[int]) -> int:
    """Delete events by key; how many went."""
    gone = 0
    for part in chunks(sorted(pks)):
        gone += conn.execute(delete(events).where(events.c.pk.in_(part))).rowcount
    return gone
