"""Manual overrides of a lead's score: the ones in force at a given time."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, Row, and_, bindparam, or_, select

from leadscore.store.leads import chunks
from leadscore.store.tables import overrides

_at = bindparam("at")
_LIVE = and_(
    overrides.c.created_at <= _at,
    or_(overrides.c.expires_at.is_(None), overrides.c.expires_at > _at),
    or_(overrides.c.deleted_at.is_(None), overrides.c.deleted_at > _at),
)
"""Created by `at`, not yet expired or deleted then."""
IN_FORCE = (
    select(overrides)
    .where(overrides.c.lead_pk.in_(bindparam("pks", expanding=True)), _LIVE)
    .order_by(overrides.c.pk)
)
IN_FORCE_BETWEEN = (
    select(overrides)
    .where(overrides.c.lead_pk.between(bindparam("first"), bindparam("last")), _LIVE)
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


def in_force_between(conn: Connection, first: int, last: int, at: int) -> dict[int, list[Row]]:
    """`in_force` for the leads whose key is in [first, last] (a recompute chunk)."""
    found: dict[int, list[Row]] = {}
    for row in conn.execute(IN_FORCE_BETWEEN, {"first": first, "last": last, "at": at}):
        found.setdefault(row.lead_pk, []).append(row)
    return found
