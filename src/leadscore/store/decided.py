"""The decided leads of a period, for a backtest of stored model versions (tuning/backtest.py):
each lead whose first outcome falls in the period, that outcome, and the lead's events before
it as scorer records (nothing recorded at or after the outcome can inform the replay)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select

from leadscore.core.records import Event
from leadscore.store.events import EventTypes, for_leads
from leadscore.store.leads import chunks
from leadscore.store.tables import leads, outcomes


@dataclass(frozen=True)
class Decided:
    pk: int
    id: str
    email: str | None
    attributes: dict[str, object]
    converted: bool
    at: int
    """The first outcome's time, epoch µs."""


def decided_between(
    conn: Connection, types: EventTypes, start: int | None, end: int | None, limit: int
) -> tuple[list[Decided], dict[int, list[Event]], bool]:
    """(leads, their events before their outcome by pk, cut): the leads whose first outcome
    is in [start, end], the `limit` latest outcomes when there are more (`cut` says so).
    A lead converted and lost at the same first moment counts as converted."""
    first = (
        select(outcomes.c.lead_pk, func.min(outcomes.c.occurred_at).label("at"))
        .group_by(outcomes.c.lead_pk)
        .subquery()
    )
    query = select(first.c.lead_pk, first.c.at)
    if start is not None:
        query = query.where(first.c.at >= start)
    if end is not None:
        query = query.where(first.c.at <= end)
    picked = conn.execute(query.order_by(first.c.at.desc(), first.c.lead_pk).limit(limit + 1)).all()
    cut = len(picked) > limit
    at = {pk: moment for pk, moment in picked[:limit]}
    if not at:
        return [], {}, False
    won: set[int] = set()
    rows: list[Row[Any, Any, Any, Any]] = []
    same = (first.c.lead_pk == outcomes.c.lead_pk) & (first.c.at == outcomes.c.occurred_at)
    for part in chunks(sorted(at)):
        won.update(
            conn.scalars(
                select(outcomes.c.lead_pk)
                .join(first, same)
                .where(outcomes.c.lead_pk.in_(list(part)), outcomes.c.outcome == "converted")
            )
        )  # fmt: skip
        rows += conn.execute(
            select(leads.c.pk, leads.c.id, leads.c.email, leads.c.attributes)
            .where(leads.c.pk.in_(list(part)))
        ).all()  # fmt: skip
    rows.sort(key=lambda r: r.pk)
    found = [
        Decided(r.pk, r.id, r.email, dict(r.attributes or {}), r.pk in won, at[r.pk]) for r in rows
    ]
    by_pk = for_leads(conn, types, list(at))
    before = {pk: [e for e in items if e.occurred_at < at[pk]] for pk, items in by_pk.items()}
    return found, before, cut
