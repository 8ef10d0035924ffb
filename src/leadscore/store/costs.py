"""Marketing costs: rows per (source, campaign, month, currency), replaced on re-import."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, and_, delete, select

from leadscore.store.database import Row
from leadscore.store.tables import costs

KEY = ("source", "campaign", "month", "currency")


def replace(conn: Connection, rows: Sequence[Mapping[str, object]]) -> tuple[int, int]:
    """Insert each row, replacing the one with its key: (inserted, replaced). Deleting then
    inserting works the same on SQLite and PostgreSQL, and the caller's transaction makes the
    whole set land or none of it."""
    replaced = 0
    for row in rows:
        found = conn.execute(
            delete(costs).where(and_(*(costs.c[k] == row[k] for k in KEY)))
        ).rowcount
        replaced += found
    if rows:
        conn.execute(costs.insert(), [dict(r) for r in rows])
    return len(rows) - replaced, replaced


def listed(
    conn: Connection,
    *,
    source: str | None = None,
    campaign: str | None = None,
    currency: str | None = None,
    month_from: str | None = None,
    month_to: str | None = None,
) -> list[Row]:
    """Cost rows by source, campaign, month and currency; months compare as text (YYYY-MM)."""
    query = select(costs)
    if source is not None:
        query = query.where(costs.c.source == source)
    if campaign is not None:
        query = query.where(costs.c.campaign == campaign)
    if currency is not None:
        query = query.where(costs.c.currency == currency)
    if month_from is not None:
        query = query.where(costs.c.month >= month_from)
    if month_to is not None:
        query = query.where(costs.c.month <= month_to)
    order = (costs.c.source, costs.c.campaign, costs.c.month, costs.c.currency)
    return list(conn.execute(query.order_by(*order)))


def remove(conn: Connection, source: str, campaign: str, month: str, currency: str) -> bool:
    """Delete one row by its key; False when there was none."""
    where = and_(
        costs.c.source == source,
        costs.c.campaign == campaign,
        costs.c.month == month,
        costs.c.currency == currency,
    )
    return conn.execute(delete(costs).where(where)).rowcount > 0
