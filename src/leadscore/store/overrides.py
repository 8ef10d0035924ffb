"""Manual overrides of a lead's score: the ones in force at a given time."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Row, and_, bindparam, or_, select

from leadscore.store.leads import chunks
from leadscore.store.tables import overrides

_at = bindparam("at")
IN_FORCE = (
    select(overrides)
    .where(
        and_(
            overrides.c.lead_pk.in_(bindparam("pks", expanding=True)),
            overrides.c.created_at <= _at,
            or_(overrides.c.expires_at.is_(None), overrides.c.expires_at > _at),
            or_(overrides.c.deleted_at.is_(None), overrides.c.deleted_at > _at),
        )
    )
    .order_by(overrides.c.pk)
)


def in_force(conn: Connection, pks: Iterable[int], at: int) -> dict[int, list[Row]]:
    """Each lead's overrides in force at `at` (created, not yet expired or deleted), oldest
    first."""
    found: dict[int, list[Row]] = {}
    for part in chunks(sorted(set(pks))):
        for row in conn.execute(IN_FORCE, {"pks": list(part), "at": at}):
            found.setdefault(row.lead_pk, []).append(row)
    return found
