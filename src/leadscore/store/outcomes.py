"""Outcomes: a lead converted or was lost, at a time; the labels of the predictive model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, select

from leadscore.store.database import Database, Row
from leadscore.store.tables import outcomes


def insert(db: Database, conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Insert outcome rows; one repeating a stored (lead, outcome, time) is skipped."""
    conn.execute(db.insert_ignore(outcomes), rows)


def of_lead(conn: Connection, lead_pk: int) -> list[Row]:
    """A lead's outcomes, oldest first."""
    query = select(outcomes).where(outcomes.c.lead_pk == lead_pk)
    return list(conn.execute(query.order_by(outcomes.c.occurred_at)))
