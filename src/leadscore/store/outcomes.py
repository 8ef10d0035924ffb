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


OutcomeKey = tuple[int, str, int]
"""(lead pk, outcome, occurred_at): what makes an outcome unique."""


def insert(db: Database, conn: Connection, rows: Sequence[NewOutcome]) -> set[OutcomeKey]:
    """Insert outcome rows; one repeating a stored (lead, outcome, time) is skipped. Returns
    the keys of the rows actually stored."""
    if not rows:
        return set()
    key = (outcomes.c.lead_pk, outcomes.c.outcome, outcomes.c.occurred_at)
    statement = db.insert_ignore(outcomes, returning=key)
    return {(pk, outcome, at) for pk, outcome, at in conn.execute(statement, rows)}


def of_lead(conn: Connection, lead_pk: int) -> list[Row]:
    """A lead's outcomes, oldest first."""
    query = select(outcomes).where(outcomes.c.lead_pk == lead_pk)
    return list(conn.execute(query.order_by(outcomes.c.occurred_at)))
