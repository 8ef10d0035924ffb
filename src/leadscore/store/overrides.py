"""Manual overrides of a lead's score: adding and deleting them (a deleted one keeps its row,
with `deleted_at`, so that as-of scores stay exact), and the ones in force at a given time."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    and_,
    bindparam,
    insert,
    or_,
    select,
    update,
)

from leadscore.store.database import Row
from leadscore.store.leads import chunks
from leadscore.store.tables import overrides

_at: BindParameter[int] = bindparam("at")
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
EVERY = (
    select(overrides)
    .where(overrides.c.lead_pk.in_(bindparam("pks", expanding=True)))
    .order_by(overrides.c.pk)
)
EVERY_ONE = select(overrides).where(overrides.c.lead_pk == bindparam("pk")).order_by(overrides.c.pk)
"""`EVERY` of one lead (a single event's rescoring), without an expanding IN."""
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


def every(conn: Connection, pks: Iterable[int]) -> dict[int, list[Row]]:
    """Each lead's overrides, deleted and expired ones too, oldest first: what was in force
    at any time (`live_at`)."""
    found: dict[int, list[Row]] = {}
    wanted = sorted(set(pks))
    if len(wanted) == 1:
        for row in conn.execute(EVERY_ONE, {"pk": wanted[0]}):
            found.setdefault(row.lead_pk, []).append(row)
        return found
    for part in chunks(wanted):
        for row in conn.execute(EVERY, {"pks": list(part)}):
            found.setdefault(row.lead_pk, []).append(row)
    return found


def live_at(rows: Iterable[Row], at: int) -> list[Row]:
    """The rows (of `every`) in force at `at`: `in_force`'s condition, in Python."""
    return [
        o
        for o in rows
        if o.created_at <= at
        and (o.expires_at is None or o.expires_at > at)
        and (o.deleted_at is None or o.deleted_at > at)
    ]


def in_force_between(conn: Connection, first: int, last: int, at: int) -> dict[int, list[Row]]:
    """`in_force` for the leads whose key is in [first, last] (a recompute chunk)."""
    found: dict[int, list[Row]] = {}
    for row in conn.execute(IN_FORCE_BETWEEN, {"first": first, "last": last, "at": at}):
        found.setdefault(row.lead_pk, []).append(row)
    return found


def _current(lead_pk: int, now: int) -> ColumnElement[bool]:
    """The lead's overrides not deleted, and not expired at `now`."""
    t = overrides
    return (
        (t.c.lead_pk == lead_pk)
        & t.c.deleted_at.is_(None)
        & (t.c.expires_at.is_(None) | (t.c.expires_at > now))
    )


def unpin(conn: Connection, lead_pk: int, now: int, by: str) -> None:
    """Delete the lead's current stage pins (a new pin replaces the old one)."""
    conn.execute(
        update(overrides)
        .where(_current(lead_pk, now) & (overrides.c.kind == "stage"))
        .values(deleted_at=now, deleted_by=by)
    )


def add(
    conn: Connection,
    lead_pk: int,
    *,
    points: float | None,
    stage: str | None,
    reason: str,
    author: str,
    created_at: int,
    expires_at: int | None,
) -> Row:
    """Store an override of points or (when `stage` is given) a stage pin; returns its row."""
    pk = conn.scalar(
        insert(overrides)
        .values(
            lead_pk=lead_pk,
            kind="stage" if stage is not None else "points",
            points=points,
            stage=stage,
            reason=reason,
            author=author,
            created_at=created_at,
            expires_at=expires_at,
        )
        .returning(overrides.c.pk)
    )
    return conn.execute(select(overrides).where(overrides.c.pk == pk)).one()


def current(conn: Connection, lead_pk: int, pk: int, now: int) -> Row | None:
    """The override `pk` of the lead, if it is not deleted and not expired at `now`."""
    query = select(overrides).where(and_(overrides.c.pk == pk, _current(lead_pk, now)))
    return conn.execute(query).one_or_none()


def delete(conn: Connection, pk: int, now: int, by: str) -> None:
    """Mark an override deleted at `now` by `by` (its row stays)."""
    conn.execute(
        update(overrides).where(overrides.c.pk == pk).values(deleted_at=now, deleted_by=by)
    )
