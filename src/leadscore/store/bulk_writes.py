"""The bulk recompute's writes (SPEC §4, §5): one chunk's changed leads in one transaction.

The changes go into a temporary table at the drivers' bulk speed (executemany on SQLite,
COPY on PostgreSQL), then three statements do the rest in the database: drop the rows of
leads that live traffic rescored since they were read (their `scored_at` and `updated_at`
are no longer the ones read: the live score is as new as this one), one `UPDATE … FROM`,
and one `INSERT … SELECT` of the history rows. On PostgreSQL the leads are locked first, in
key order as every writer locks them, so that the writes wait rather than deadlock. A
recomputed lead's explanation is cleared: it is derived again, exactly, when it is read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, text

from leadscore.core.explain import SCORED
from leadscore.store.database import Database

LIFECYCLE = ("stage_base", "stage_base_at", "event_stage", "event_stage_at")
"""The columns that keep a lead's lifecycle folded in event time (store/tables.py)."""
ROW_COLUMNS = (
    "pk", "old_scored_at", "old_updated_at", *SCORED,
    "lifecycle_stage", "pinned_stage", *LIFECYCLE, "model_version", "scored_at", "reported",
)  # fmt: skip
"""The temporary table's columns: the lead, the `scored_at` and `updated_at` read, its new
snapshot, and whether the change is reported (gets a history row)."""

_TEMP_COLUMNS = """(
    pk BIGINT PRIMARY KEY, old_scored_at BIGINT, old_updated_at BIGINT,
    score DOUBLE PRECISION, fit DOUBLE PRECISION, engagement DOUBLE PRECISION,
    grade VARCHAR(50), tier VARCHAR(50), stage VARCHAR(100), lifecycle_stage VARCHAR(100),
    pinned_stage VARCHAR(100), stage_base VARCHAR(100), stage_base_at BIGINT,
    event_stage VARCHAR(100), event_stage_at BIGINT,
    model_version INTEGER, scored_at BIGINT, reported INTEGER)"""

_DROP_STALE = text(
    "DELETE FROM recompute_rows WHERE NOT EXISTS (SELECT 1 FROM leads l"
    " WHERE l.pk = recompute_rows.pk"
    " AND l.scored_at IS NOT DISTINCT FROM recompute_rows.old_scored_at"
    " AND l.updated_at = recompute_rows.old_updated_at)"
)
_UPDATE = text(
    "UPDATE leads SET score = r.score, fit = r.fit, engagement = r.engagement,"
    " grade = r.grade, tier = r.tier, stage = r.stage, lifecycle_stage = r.lifecycle_stage,"
    " pinned_stage = r.pinned_stage, stage_base = r.stage_base,"
    " stage_base_at = r.stage_base_at, event_stage = r.event_stage,"
    " event_stage_at = r.event_stage_at, model_version = r.model_version,"
    " scored_at = r.scored_at, explanation = NULL"
    " FROM recompute_rows r WHERE leads.pk = r.pk"
)
_HISTORY = text(
    "INSERT INTO score_history (lead_pk, at, score, fit, engagement, grade, tier, stage,"
    " model_version, cause_kind, cause_ref)"
    " SELECT pk, scored_at, score, fit, engagement, grade, tier, stage, model_version,"
    " :kind, :ref FROM recompute_rows WHERE reported = 1 ORDER BY pk"
)


_OUTBOX_COLUMNS = (
    "key", "lead_pk", "automation", "automations_version", "action_index", "action",
    "occurrence", "status", "attempts", "next_attempt_at", "created_at", "updated_at", "trigger",
)  # fmt: skip
_OUTBOX_TEMP = """(
    key VARCHAR(600), lead_pk BIGINT, automation VARCHAR(100), automations_version INTEGER,
    action_index INTEGER, action VARCHAR(30), occurrence VARCHAR(300), status VARCHAR(20),
    attempts INTEGER, next_attempt_at BIGINT, created_at BIGINT, updated_at BIGINT,
    trigger TEXT)"""


def write_changes(
    db: Database,
    conn: Connection,
    changes: pl.DataFrame,
    kind: str,
    ref: str | None,
    outbox: Sequence[Mapping[str, Any]] = (),
) -> int:
    """Write one chunk's changed leads (`ROW_COLUMNS`), each only if it is still as it was
    read, a history row (cause `kind`, `ref`) for each reported one, and the outbox rows
    (store/outbox.py `COLUMNS`) the changes fired, for the leads written; returns how many
    leads got a history row."""
    if changes.height == 0:
        return 0
    if not db.is_sqlite:
        return _write(db, conn, changes, kind, ref, outbox)
    driver = _driver(conn)
    before = driver.execute("PRAGMA cache_size").fetchone()[0]
    driver.execute(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        return _write(db, conn, changes, kind, ref, outbox)
    finally:
        driver.execute(f"PRAGMA cache_size={int(before)}")


BULK_CACHE_KIB = 262_144
"""SQLite's page cache while one chunk is written (256 MiB; the connection's own size is
put back after). The UPDATE of 100,000 leads dirties their pages and pages all over the
five indexes that hold `score`: with the default 2 MB cache, pages are spilled to the log
and read back again and again, and the UPDATE took about twice the CPU time."""


def _write(
    db: Database,
    conn: Connection,
    changes: pl.DataFrame,
    kind: str,
    ref: str | None,
    outbox: Sequence[Mapping[str, Any]],
) -> int:
    changes = changes.select(ROW_COLUMNS)
    if db.is_sqlite:
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS recompute_rows {_TEMP_COLUMNS}")
        conn.exec_driver_sql("DELETE FROM recompute_rows")
        marks = ", ".join("?" * len(ROW_COLUMNS))
        cursor = _driver(conn).cursor()
        try:
            cursor.executemany(f"INSERT INTO recompute_rows VALUES ({marks})", changes.iter_rows())
        finally:
            cursor.close()
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE recompute_rows {_TEMP_COLUMNS} ON COMMIT DROP")
        cursor = _driver(conn).cursor()
        with cursor.copy(f"COPY recompute_rows ({', '.join(ROW_COLUMNS)}) FROM STDIN") as copy:
            for row in changes.iter_rows():
                copy.write_row(row)
        conn.exec_driver_sql(
            "SELECT l.pk FROM leads l JOIN recompute_rows r ON r.pk = l.pk"
            " ORDER BY l.pk FOR UPDATE OF l"
        )
    conn.execute(_DROP_STALE)
    conn.execute(_UPDATE)
    written = conn.execute(_HISTORY, {"kind": kind, "ref": ref}).rowcount
    if outbox:
        _write_outbox(db, conn, outbox)
    if db.is_sqlite:
        conn.exec_driver_sql("DROP TABLE temp.recompute_rows")
    return written


def _write_outbox(db: Database, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """The fired rows of the leads still in `recompute_rows` (not rescored live meanwhile),
    through a temporary table like the leads; a key already there is skipped."""
    values = [
        tuple(json.dumps(row[c]) if c == "trigger" else row[c] for c in _OUTBOX_COLUMNS)
        for row in rows
    ]
    names = ", ".join(_OUTBOX_COLUMNS)
    if db.is_sqlite:
        conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS recompute_outbox {_OUTBOX_TEMP}")
        conn.exec_driver_sql("DELETE FROM recompute_outbox")
        cursor = _driver(conn).cursor()
        try:
            marks = ", ".join("?" * len(_OUTBOX_COLUMNS))
            cursor.executemany(f"INSERT INTO recompute_outbox VALUES ({marks})", values)
        finally:
            cursor.close()
        trigger = "o.trigger"
    else:
        conn.exec_driver_sql(f"CREATE TEMP TABLE recompute_outbox {_OUTBOX_TEMP} ON COMMIT DROP")
        cursor = _driver(conn).cursor()
        with cursor.copy(f"COPY recompute_outbox ({names}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        trigger = "o.trigger::jsonb"
    chosen = ", ".join(f"o.{c}" for c in _OUTBOX_COLUMNS[:-1])
    conn.exec_driver_sql(
        f"INSERT INTO outbox ({names}) SELECT {chosen}, {trigger} FROM recompute_outbox o"
        " WHERE o.lead_pk IN (SELECT pk FROM recompute_rows) ORDER BY o.lead_pk, o.key"
        " ON CONFLICT DO NOTHING"
    )
    if db.is_sqlite:
        conn.exec_driver_sql("DROP TABLE temp.recompute_outbox")


def _driver(conn: Connection) -> Any:
    """The DB-API connection under `conn` (sqlite3's or psycopg's), for its bulk paths."""
    driver: Any = conn.connection.driver_connection
    return driver
