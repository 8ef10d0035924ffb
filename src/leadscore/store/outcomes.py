"""Outcomes: a lead converted or was lost, at a time; the labels of the predictive model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

from sqlalchemy import Connection, select

from leadscore.store.database import Database, Row
from leadscore.store.tables import outcomes


class NewOutcome(TypedDict):
    """An outcome row to insert."""

    lead_pk: int
    outcome: str  # converted or lost
    occurred_at: int
    value: float | None
    created_at: int


def insert(db: Database, conn: Connection, rows: Sequence[NewOutcome]) -> None:
    """Insert outcome rows; one repeating a stored (lead, outcome, time) is skipped."""
    conn.execute(db.insert_ignore(outcomes), rows)


def of_lead(conn: Connection, lead_pk: int) -> list[Row]:
    """A lead's outcomes, oldest first."""
    query = select(outcomes).where(outcomes.c.lead_pk == lead_pk)
    return list(conn.execute(query.order_by(outcomes.c.occurred_at)))
