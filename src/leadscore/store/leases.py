"""Leases: a named job is run by one process at a time, and once per scheduled time.

A lease row holds the holder and an expiry; a holder renews it while it works, and if it
dies the lease expires and another process may take over. `done_slot` is the scheduled time
of the last run that completed, so a slot that one process finished is never run again by
another that wakes up later.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from leadscore.store.database import Database, Row
from leadscore.store.tables import leases


def acquire(db: Database, name: str, holder: str, now: int, ttl: int, slot: int) -> bool:
    """Take the lease to run the job for `slot` (epoch µs): only when that slot was not done
    and nobody else holds an unexpired lease."""

    def work(conn: Connection) -> bool:
        row = _locked(db, conn, name, now, first_done=slot)
        if row.done_slot is not None and row.done_slot >= slot:
            return False
        if row.holder not in (None, holder) and row.expires_at > now:
            return False
        conn.execute(
            update(leases)
            .where(leases.c.name == name)
            .values(holder=holder, expires_at=now + ttl, updated_at=now)
        )
        return True

    return db.transact(work)


def renew(db: Database, name: str, holder: str, now: int, ttl: int) -> bool:
    """Extend our lease; False when it is no longer ours (it expired and was taken)."""

    def work(conn: Connection) -> bool:
        done = conn.execute(
            update(leases)
            .where((leases.c.name == name) & (leases.c.holder == holder))
            .values(expires_at=now + ttl, updated_at=now)
        )
        return done.rowcount == 1

    return db.transact(work)


def release(db: Database, name: str, holder: str, now: int, done_slot: int | None) -> None:
    """Give the lease up, recording `done_slot` when the run completed."""
    values: dict[str, int | None] = {"holder": None, "expires_at": None, "updated_at": now}
    if done_slot is not None:
        values["done_slot"] = done_slot

    def work(conn: Connection) -> None:
        conn.execute(
            update(leases)
            .where((leases.c.name == name) & (leases.c.holder == holder))
            .values(**values)
        )

    db.transact(work)


def read(db: Database, name: str) -> Row | None:
    with db.read() as conn:
        return conn.execute(select(leases).where(leases.c.name == name)).one_or_none()


def _locked(db: Database, conn: Connection, name: str, now: int, first_done: int) -> Row:
    """The lease row, locked; created on first use with `first_done` as its done slot, so
    that a new installation waits for the next scheduled time instead of running at once."""
    conn.execute(
        db.insert_ignore(leases),
        [{"name": name, "done_slot": first_done, "updated_at": now}],
    )
    return conn.execute(select(leases).where(leases.c.name == name).with_for_update()).one()


def done_slot(conn: Connection, name: str) -> int | None:
    """The last slot recorded done for `name` (None: never), read in the caller's transaction."""
    slot: int | None = conn.scalar(select(leases.c.done_slot).where(leases.c.name == name))
    return slot


def mark_done(db: Database, conn: Connection, name: str, slot: int, now: int) -> None:
    """Record `slot` done for `name`, in the caller's transaction (created on first use)."""
    conn.execute(db.insert_ignore(leases), [{"name": name, "updated_at": now}])
    conn.execute(update(leases).where(leases.c.name == name).values(done_slot=slot, updated_at=now))
