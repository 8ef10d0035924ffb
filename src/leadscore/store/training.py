"""What predictive models read from the store (SPEC §7): the training history and a lead to
predict, as the frames and rows `ml/` and service/predictions.py take in.

Rows are the leads with an outcome; each lead's first outcome is its label and its cutoff:
only events strictly before it are read (`ml.aggregates` cuts again), so nothing recorded
after the outcome can inform a model.
"""

from __future__ import annotations

from typing import Any

import polars as pl
from sqlalchemy import Connection, Row, func, select

from leadscore.store.frames import EVENT_SCHEMA, OUTCOME_SCHEMA, attributes_frame
from leadscore.store.tables import event_types, events, leads, outcomes


def read_history(conn: Connection) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(leads, outcomes, events): every lead with an outcome (`attributes_frame`), its first
    outcome (`OUTCOME_SCHEMA`), and its events before that outcome (`EVENT_SCHEMA`)."""
    first = (
        select(outcomes.c.lead_pk, func.min(outcomes.c.occurred_at).label("cutoff"))
        .group_by(outcomes.c.lead_pk)
        .subquery()
    )
    outcome_rows = conn.execute(
        select(leads.c.id, outcomes.c.outcome, outcomes.c.occurred_at)
        .join(leads, leads.c.pk == outcomes.c.lead_pk)
        .join(
            first,
            (first.c.lead_pk == outcomes.c.lead_pk) & (first.c.cutoff == outcomes.c.occurred_at),
        )
        .order_by(leads.c.id, outcomes.c.pk)
    ).all()
    found = pl.DataFrame(outcome_rows, schema=OUTCOME_SCHEMA, orient="row").unique(
        "lead_id", keep="first", maintain_order=True
    )
    lead_rows = conn.execute(
        select(leads.c.id, leads.c.email, leads.c.attributes)
        .where(leads.c.pk.in_(select(first.c.lead_pk)))
        .order_by(leads.c.id)
    ).all()
    frame = attributes_frame(
        [r.id for r in lead_rows], [r.email for r in lead_rows], [r.attributes for r in lead_rows]
    )
    event_rows = conn.execute(
        select(leads.c.id, event_types.c.name, events.c.occurred_at)
        .select_from(events)
        .join(first, first.c.lead_pk == events.c.lead_pk)
        .join(leads, leads.c.pk == events.c.lead_pk)
        .join(event_types, event_types.c.id == events.c.type_id)
        .where(events.c.occurred_at < first.c.cutoff)
    ).all()
    event_frame = pl.DataFrame(event_rows, schema=EVENT_SCHEMA, orient="row")
    return frame, found, event_frame


def read_lead(conn: Connection, lead_id: str) -> Row[Any, Any, Any, Any] | None:
    """The lead a prediction reads (`pk`, `id`, `email`, `attributes`), or None."""
    return conn.execute(
        select(leads.c.pk, leads.c.id, leads.c.email, leads.c.attributes).where(
            leads.c.id == lead_id
        )
    ).one_or_none()


def recent_leads(conn: Connection, since: int, limit: int) -> list[Row[Any, Any, Any, Any]]:
    """The leads a drift report reads (`pk`, `id`, `email`, `attributes`): those created at
    or after `since` or with an event that occurred at or after it, newest created first (then
    the latest stored), at most `limit`."""
    active = select(events.c.lead_pk).where(events.c.occurred_at >= since)
    return list(
        conn.execute(
            select(leads.c.pk, leads.c.id, leads.c.email, leads.c.attributes)
            .where((leads.c.created_at >= since) | leads.c.pk.in_(active))
            .order_by(leads.c.created_at.desc(), leads.c.pk.desc())
            .limit(limit)
        ).all()
    )


def leads_decided_since(conn: Connection, at: int) -> int:
    """How many leads got their first outcome recorded (`created_at`) after `at` (epoch µs):
    the training rows a model trained at `at` has never seen."""
    first = (
        select(func.min(outcomes.c.created_at).label("recorded"))
        .group_by(outcomes.c.lead_pk)
        .subquery()
    )
    query = select(func.count()).select_from(first).where(first.c.recorded > at)
    return int(conn.scalar(query) or 0)


def count_decided(conn: Connection) -> int:
    """How many leads have an outcome."""
    return int(conn.scalar(select(func.count(func.distinct(outcomes.c.lead_pk)))) or 0)
