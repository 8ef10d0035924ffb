"""The durable outbox (§6): the actions automations owe, until they are done.

A row is written in the transaction of the change that fired it and is unique by `key`
(lead, automation, action, trigger occurrence), so a firing written twice is written once.
Workers claim due rows (pending and due, or delivering with an expired lease: a worker that
died) by setting a lease, in one statement: `FOR UPDATE SKIP LOCKED` on PostgreSQL lets two
workers claim at once without waiting or taking the same row; SQLite runs one writer at a
time. Every claim counts an attempt. A row ends `delivered` or `failed`; only delivered rows
older than the retention are ever deleted (`prune`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, or_, select, update

from leadscore.store.database import Database, Row
from leadscore.store.tables import leads, outbox

STATUSES = ("pending", "delivering", "delivered", "failed")
COLUMNS = (
    "key", "lead_pk", "automation", "automations_version", "action_index", "action",
    "occurrence", "status", "attempts", "next_attempt_at", "created_at", "updated_at", "trigger",
)  # fmt: skip
"""What a firing writes (the rest is the worker's)."""


def key(lead_pk: int | None, automation: str, action_index: int, occurrence: str) -> str:
    return f"{'-' if lead_pk is None else lead_pk}|{automation}|{action_index}|{occurrence}"


def add(db: Database, conn: Connection, rows: Sequence[Mapping[str, object]]) -> None:
    """Write firings' rows (`COLUMNS`); a key already there is skipped."""
    if rows:
        conn.execute(db.insert_ignore(outbox), list(rows))


def _due(now: int) -> Any:
    t = outbox
    return or_(
        and_(t.c.status == "pending", t.c.next_attempt_at <= now),
        and_(t.c.status == "delivering", t.c.lease_expires_at <= now),
    )


def claim(conn: Connection, holder: str, now: int, lease: int, limit: int) -> list[Row]:
    """Lease up to `limit` due rows to `holder` until `now + lease`, oldest due first."""
    t = outbox
    chosen = (
        select(t.c.pk)
        .where(_due(now))
        .order_by(t.c.next_attempt_at, t.c.pk)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = conn.execute(
        update(t)
        .where(t.c.pk.in_(chosen.scalar_subquery()))
        .values(
            status="delivering",
            holder=holder,
            lease_expires_at=now + lease,
            attempts=t.c.attempts + 1,
            updated_at=now,
        )
        .returning(*t.c)
    )
    return sorted(claimed, key=lambda r: (r.next_attempt_at, r.pk))


def any_due(conn: Connection, now: int) -> bool:
    """Whether a claim would find anything (a read: an idle worker takes no write lock)."""
    return conn.scalar(select(outbox.c.pk).where(_due(now)).limit(1)) is not None


def next_due(conn: Connection) -> int | None:
    """When the next pending row falls due (epoch µs), or None."""
    t = outbox
    due: int | None = conn.scalar(
        select(func.min(t.c.next_attempt_at)).where(t.c.status == "pending")
    )
    return due


def _held(pk: int, holder: str) -> Any:
    t = outbox
    return and_(t.c.pk == pk, t.c.holder == holder, t.c.status == "delivering")


_HELD = and_(
    outbox.c.pk == bindparam("b_pk"),
    outbox.c.holder == bindparam("b_holder"),
    outbox.c.status == "delivering",
)
KEEP = (
    update(outbox).where(_HELD).values(payload=bindparam("b_payload", type_=outbox.c.payload.type))
)
DELIVERED = (
    update(outbox)
    .where(_HELD)
    .values(
        status="delivered",
        delivered_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        holder=None,
        lease_expires_at=None,
        result=bindparam("b_result", type_=outbox.c.result.type),
        last_error=None,
    )
)
"""Built once: a batch of deliveries is acknowledged in one executemany."""


def keep_payloads(
    conn: Connection, holder: str, payloads: Mapping[int, Mapping[str, Any]]
) -> dict[int, dict[str, Any]]:
    """`keep_payload` for many rows in two statements; the payloads as stored, by pk (a row
    no longer ours is missing)."""
    if not payloads:
        return {}
    conn.execute(
        KEEP,
        [{"b_pk": pk, "b_holder": holder, "b_payload": dict(p)} for pk, p in payloads.items()],
    )
    t = outbox
    kept = conn.execute(
        select(t.c.pk, t.c.payload).where(
            t.c.pk.in_(list(payloads)), t.c.holder == holder, t.c.status == "delivering"
        )
    )
    return {pk: payload for pk, payload in kept}


def delivered_many(
    conn: Connection, holder: str, now: int, results: Sequence[tuple[int, Any]]
) -> int:
    """Acknowledge deliveries (pk, result); how many rows were still ours."""
    if not results:
        return 0
    done = conn.execute(
        DELIVERED,
        [{"b_pk": pk, "b_holder": holder, "b_now": now, "b_result": r} for pk, r in results],
    )
    return done.rowcount


def keep_payload(
    conn: Connection, pk: int, holder: str, payload: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Store what the first attempt sends, so that every retry sends the same, and return it
    as stored (PostgreSQL's JSONB orders keys its own way: the first attempt must send what
    the retries will read back). None when the row is no longer ours."""
    kept: dict[str, Any] | None = conn.scalar(
        update(outbox)
        .where(_held(pk, holder))
        .values(payload=dict(payload))
        .returning(outbox.c.payload)
    )
    return kept


def delivered(
    conn: Connection, pk: int, holder: str, now: int, result: Mapping[str, Any] | None
) -> bool:
    """Acknowledge a delivery; False when the lease was lost (another worker has the row)."""
    done = conn.execute(
        update(outbox)
        .where(_held(pk, holder))
        .values(
            status="delivered",
            delivered_at=now,
            updated_at=now,
            holder=None,
            lease_expires_at=None,
            result=None if result is None else dict(result),
            last_error=None,
        )
    )
    return done.rowcount == 1


def again_at(conn: Connection, pk: int, holder: str, now: int, at: int, error: str) -> bool:
    """A failed attempt to be retried at `at`."""
    return _release(conn, pk, holder, now, status="pending", next_attempt_at=at, last_error=error)


def failed(
    conn: Connection, pk: int, holder: str, now: int, error: str, result: Any = None
) -> bool:
    """The last attempt failed, or the failure is permanent: kept, visible, retryable."""
    return _release(conn, pk, holder, now, status="failed", last_error=error, result=result)


def _release(conn: Connection, pk: int, holder: str, now: int, **values: Any) -> bool:
    """Give a held row back (its lease ended) with `values`; False when it was not ours."""
    done = conn.execute(
        update(outbox)
        .where(_held(pk, holder))
        .values(updated_at=now, holder=None, lease_expires_at=None, **values)
    )
    return done.rowcount == 1


def retry(conn: Connection, pk: int, now: int) -> bool:
    """A failed row back to pending, due now, with its attempts counted afresh."""
    done = conn.execute(
        update(outbox)
        .where(and_(outbox.c.pk == pk, outbox.c.status == "failed"))
        .values(status="pending", attempts=0, next_attempt_at=now, updated_at=now)
    )
    return done.rowcount == 1


def get(conn: Connection, pk: int) -> Row | None:
    return conn.execute(_listed().where(outbox.c.pk == pk)).one_or_none()


def _listed() -> Any:
    return select(outbox, leads.c.id.label("lead_id")).join(
        leads, leads.c.pk == outbox.c.lead_pk, isouter=True
    )


def page(
    conn: Connection,
    *,
    status: str | None,
    automation: str | None,
    lead_pk: int | None,
    after: int | None,
    limit: int,
) -> list[Row]:
    """Rows newest first (by pk), after the keyset `after`."""
    t = outbox
    query = _listed()
    if status is not None:
        query = query.where(t.c.status == status)
    if automation is not None:
        query = query.where(t.c.automation == automation)
    if lead_pk is not None:
        query = query.where(t.c.lead_pk == lead_pk)
    if after is not None:
        query = query.where(t.c.pk < after)
    return list(conn.execute(query.order_by(t.c.pk.desc()).limit(limit)))


def failed_pks(conn: Connection) -> list[int]:
    t = outbox
    return list(conn.scalars(select(t.c.pk).where(t.c.status == "failed").order_by(t.c.pk)))


def counts(conn: Connection) -> dict[str, int]:
    t = outbox
    query = select(t.c.status, func.count()).group_by(t.c.status)
    found: dict[str, int] = {status: n for status, n in conn.execute(query)}
    return {status: int(found.get(status, 0)) for status in STATUSES}


def prune(conn: Connection, before: int, limit: int) -> int:
    """Delete up to `limit` rows delivered before `before`; how many went."""
    t = outbox
    chosen = (
        select(t.c.pk)
        .where(and_(t.c.status == "delivered", t.c.delivered_at < before))
        .order_by(t.c.pk)
        .limit(limit)
    )
    done = conn.execute(delete(t).where(t.c.pk.in_(chosen.scalar_subquery())))
    return done.rowcount


def count_keys(conn: Connection, keys: Sequence[str]) -> int:
    """How many of these keys are in the outbox already."""
    if not keys:
        return 0
    found = conn.scalar(select(func.count()).where(outbox.c.key.in_(list(keys))))
    return int(found or 0)
