"""Reading a window of the store back for the automations' simulation: per lead, its score
history (with the last state before the window) and its events in the window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlalchemy import Connection, func, or_, select, union

from leadscore.core.automations import State
from leadscore.store.tables import event_types, events, leads, score_history

BATCH = 2000
"""Leads read per round."""


@dataclass
class Replayed:
    pk: int
    id: str
    email: str | None
    attributes: dict[str, object] | None
    owner: str | None
    created_at: int
    states: list[tuple[int, State]] = field(default_factory=list)
    events: list[tuple[str, str, int]] = field(default_factory=list)


def leads_in_window(conn: Connection, start: int, end: int) -> Iterator[Replayed]:
    """Every lead with history, events or creation in [start, end], in key order."""
    h, e, t = score_history, events, leads
    touched = union(
        select(h.c.lead_pk.label("pk")).where(h.c.at.between(start, end)),
        select(e.c.lead_pk).where(e.c.occurred_at.between(start, end)),
        select(t.c.pk).where(t.c.created_at.between(start, end)),
    ).subquery()
    pks = list(conn.scalars(select(touched.c.pk).order_by(touched.c.pk)))
    for i in range(0, len(pks), BATCH):
        part = pks[i : i + BATCH]
        found = {
            row.pk: Replayed(row.pk, row.id, row.email, row.attributes, row.owner, row.created_at)
            for row in conn.execute(
                select(t.c.pk, t.c.id, t.c.email, t.c.attributes, t.c.owner, t.c.created_at)
                .where(t.c.pk.in_(part))
            )
        }  # fmt: skip
        last_before = (
            select(h.c.lead_pk, func.max(h.c.pk).label("pk"))
            .where(h.c.lead_pk.in_(part), h.c.at < start)
            .group_by(h.c.lead_pk)
            .subquery()
        )
        rows = conn.execute(
            select(h)
            .where(
                h.c.lead_pk.in_(part),
                or_(h.c.at.between(start, end), h.c.pk.in_(select(last_before.c.pk))),
            )
            .order_by(h.c.lead_pk, h.c.at, h.c.pk)
        )
        for row in rows:
            state = State(row.score, row.fit, row.engagement, row.grade, row.tier, row.stage)
            found[row.lead_pk].states.append((row.at, state))
        stored = conn.execute(
            select(e.c.lead_pk, e.c.event_id, event_types.c.name, e.c.occurred_at)
            .join(event_types, event_types.c.id == e.c.type_id)
            .where(e.c.lead_pk.in_(part), e.c.occurred_at.between(start, end))
            .order_by(e.c.lead_pk, e.c.occurred_at, e.c.pk)
        )
        for lead_pk, event_id, name, occurred_at in stored:
            found[lead_pk].events.append((event_id, name, occurred_at))
        for pk in part:
            yield found[pk]
