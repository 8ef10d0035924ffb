"""The facts analytics reads (core/analytics.py): the leads created in a period with their
score, tier, stage, creation, first event and first converted and lost outcomes, in one
query; and the first time each of their stages appeared in the score history, in another."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import ColumnElement, Connection, ScalarSelect, and_, func, select

from leadscore.store.database import Row
from leadscore.store.tables import events, leads, outcomes, score_history


def _in_period(start: int, end: int) -> ColumnElement[bool]:
    return and_(leads.c.created_at >= start, leads.c.created_at < end)


def lead_facts(conn: Connection, start: int, end: int) -> list[Row]:
    """One row per lead created in [start, end): pk, score, tier, stage, model_version,
    created_at, first_event_at, converted_at and its value, lost_at (the first of each)."""

    def first(outcome: str, column: ColumnElement[Any]) -> ScalarSelect[Any]:
        """A correlated look-up on the (lead_pk, outcome, occurred_at) unique index."""
        return (
            select(column)
            .where(and_(outcomes.c.lead_pk == leads.c.pk, outcomes.c.outcome == outcome))
            .order_by(outcomes.c.occurred_at)
            .limit(1)
            .scalar_subquery()
        )

    first_event = (
        select(func.min(events.c.occurred_at))
        .where(events.c.lead_pk == leads.c.pk)  # the (lead_pk, occurred_at) index
        .scalar_subquery()
    )
    query = (
        select(
            leads.c.pk,
            leads.c.score,
            leads.c.tier,
            leads.c.stage,
            leads.c.model_version,
            leads.c.created_at,
            first_event.label("first_event_at"),
            first("converted", outcomes.c.occurred_at).label("converted_at"),
            first("converted", outcomes.c.value).label("value"),
            first("lost", outcomes.c.occurred_at).label("lost_at"),
        )
        .where(_in_period(start, end))
        .order_by(leads.c.pk)
    )
    return list(conn.execute(query))


def stage_firsts(conn: Connection, start: int, end: int) -> dict[int, dict[str, int]]:
    """lead pk → {stage: the first time its score history showed it}, for the leads created
    in [start, end)."""
    h = score_history
    query = (
        select(h.c.lead_pk, h.c.stage, func.min(h.c.at))
        .join(leads, leads.c.pk == h.c.lead_pk)
        .where(and_(_in_period(start, end), h.c.stage.is_not(None)))
        .group_by(h.c.lead_pk, h.c.stage)
    )
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for lead_pk, stage, at in conn.execute(query):
        found[lead_pk][stage] = at
    return dict(found)
