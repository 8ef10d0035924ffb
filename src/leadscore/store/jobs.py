"""Background jobs: one row each, from `queued` through `running` to `succeeded` or `failed`.

One job of a kind at a time per database: while a job is queued or running its
`active_kind` holds its kind, under a unique constraint, so a second one cannot be inserted
by any process (PostgreSQL makes a concurrent insert wait for the first and then skip it;
SQLite writers run one at a time). Finishing a job clears `active_kind`.

The process working on a job holds it: `holder` names the process and `expires_at` is its
lease, renewed while it works. Every change a worker makes is conditional on still holding
the job, so that a job recovered as failed (its lease expired: the process died or hung)
is never finished by a late worker.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, select, update

from leadscore.store.database import Database, Row
from leadscore.store.tables import jobs

ACTIVE = ("queued", "running")


def create(
    db: Database,
    *,
    job_id: str,
    kind: str,
    params: dict[str, Any],
    created_by: str | None,
    now: int,
    holder: str,
    ttl: int,
    expired: str,
) -> tuple[bool, Row]:
    """Queue a job held by `holder`, unless one of its kind is queued or running: then
    (False, that job). A job of the kind whose lease expired is failed first (`expired` is
    its error message)."""

    def work(conn: Connection) -> tuple[bool, Row]:
        _expire(conn, now, expired, jobs.c.active_kind == kind)
        values = {
            "id": job_id,
            "kind": kind,
            "status": "queued",
            "active_kind": kind,
            "params": params,
            "created_by": created_by,
            "created_at": now,
            "updated_at": now,
            "progress": 0.0,
            "holder": holder,
            "expires_at": now + ttl,
        }
        while True:  # the running job may finish between the insert and the read
            inserted = conn.execute(db.insert_ignore(jobs, returning=jobs.c.pk), [values]).first()
            if inserted is not None:
                return True, _one(conn, jobs.c.id == job_id)
            running = conn.execute(select(jobs).where(jobs.c.active_kind == kind)).one_or_none()
            if running is not None:
                return False, running

    return db.transact(work)


def start(db: Database, job_id: str, holder: str, now: int, ttl: int) -> bool:
    """Mark our queued job running; False when it is no longer ours to run."""

    def work(conn: Connection) -> bool:
        done = conn.execute(
            update(jobs)
            .where(_held(job_id, holder) & (jobs.c.status == "queued"))
            .values(status="running", started_at=now, updated_at=now, expires_at=now + ttl)
        )
        return done.rowcount == 1

    return db.transact(work)


def report(
    db: Database,
    job_id: str,
    holder: str,
    now: int,
    ttl: int,
    progress: float,
    message: str,
) -> bool:
    """Record how far our job is (and renew its lease); False when it is no longer ours."""

    def work(conn: Connection) -> bool:
        done = conn.execute(
            update(jobs)
            .where(_held(job_id, holder))
            .values(progress=progress, message=message, updated_at=now, expires_at=now + ttl)
        )
        return done.rowcount == 1

    return db.transact(work)


def renew(db: Database, holder: str, now: int, ttl: int) -> int:
    """Extend the lease of every queued or running job `holder` holds; how many."""

    def work(conn: Connection) -> int:
        done = conn.execute(
            update(jobs)
            .where((jobs.c.holder == holder) & jobs.c.active_kind.is_not(None))
            .values(expires_at=now + ttl)
        )
        return done.rowcount

    return db.transact(work)


def finish(
    conn: Connection,
    job_id: str,
    holder: str,
    now: int,
    *,
    result: dict[str, Any] | None = None,
    error: str | None = None,
) -> bool:
    """Our job succeeded with `result` (or failed with `error`), in the caller's
    transaction; False when it is no longer ours (then nothing is written)."""
    values: dict[str, Any] = {
        "status": "failed" if error is not None else "succeeded",
        "active_kind": None,
        "finished_at": now,
        "updated_at": now,
        "expires_at": None,
        "result": result,
        "error": error,
    }
    if error is None:
        values.update(progress=1.0, message="done")
    done = conn.execute(update(jobs).where(_held(job_id, holder)).values(**values))
    return done.rowcount == 1


def abandon(db: Database, holder: str, now: int, error: str) -> int:
    """Fail every queued or running job `holder` holds (it is stopping); how many."""

    def work(conn: Connection) -> int:
        return _fail(conn, now, error, (jobs.c.holder == holder) & jobs.c.active_kind.is_not(None))

    return db.transact(work)


def expire(db: Database, now: int, error: str) -> int:
    """Fail every queued or running job whose lease expired by `now`; how many."""
    return db.transact(lambda conn: _expire(conn, now, error))


def stale(db: Database, now: int) -> bool:
    """Whether some queued or running job's lease expired by `now` (a read, for polls)."""
    with db.read() as conn:
        found = conn.execute(
            select(jobs.c.pk)
            .where(jobs.c.active_kind.is_not(None) & (jobs.c.expires_at <= now))
            .limit(1)
        ).first()
    return found is not None


def read(db: Database, job_id: str) -> Row | None:
    with db.read() as conn:
        return conn.execute(select(jobs).where(jobs.c.id == job_id)).one_or_none()


def recent(db: Database, limit: int, kind: str | None = None) -> list[Row]:
    """The newest jobs first (of `kind`, when given)."""
    query = select(jobs).order_by(jobs.c.created_at.desc(), jobs.c.pk.desc()).limit(limit)
    if kind is not None:
        query = query.where(jobs.c.kind == kind)
    with db.read() as conn:
        return list(conn.execute(query))


def _held(job_id: str, holder: str) -> ColumnElement[bool]:
    return (jobs.c.id == job_id) & (jobs.c.holder == holder) & jobs.c.active_kind.is_not(None)


def _expire(
    conn: Connection, now: int, error: str, where: ColumnElement[bool] | None = None
) -> int:
    expired = jobs.c.active_kind.is_not(None) & (jobs.c.expires_at <= now)
    return _fail(conn, now, error, expired if where is None else expired & where)


def _fail(conn: Connection, now: int, error: str, where: ColumnElement[bool]) -> int:
    done = conn.execute(
        update(jobs)
        .where(where)
        .values(
            status="failed",
            active_kind=None,
            finished_at=now,
            updated_at=now,
            expires_at=None,
            error=error,
        )
    )
    return done.rowcount


def _one(conn: Connection, where: ColumnElement[bool]) -> Row:
    return conn.execute(select(jobs).where(where)).one()
