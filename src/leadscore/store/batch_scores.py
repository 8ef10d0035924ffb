"""Writing a batch of live rescorings in bulk (SPEC §4, issue 14): the leads' new scores
and lifecycle columns, and their history rows, inside the caller's transaction.

The per-lead path's `leads.write_scores` and `history.record` go through SQLAlchemy's
parameter processing row by row, which for thousands of leads costs more than the scoring.
Here the rows go to the drivers' bulk paths: on SQLite `executemany` of driver-level
parameters (through SQLAlchemy, so that errors stay the ones `Database.transact` knows); on
PostgreSQL, `COPY` into a temporary table and one `UPDATE … FROM` (the leads are already
locked by the caller), and `COPY` straight into the history. The explanation is cleared, as
the bulk recompute clears it: service/queries.py derives it again, exactly, when a lead is
read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection

from leadscore.store.database import Database

LEAD_COLUMNS = (
    "score", "fit", "engagement", "grade", "tier", "stage", "lifecycle_stage", "pinned_stage",
    "stage_base", "stage_base_at", "event_stage", "event_stage_at", "model_version", "scored_at",
)  # fmt: skip
"""What a rescoring sets on a lead (besides clearing its explanation)."""
HISTORY_COLUMNS = (
    "lead_pk", "at", "score", "fit", "engagement", "grade", "tier", "stage", "model_version",
    "cause_kind", "cause_ref", "cause_event",
)  # fmt: skip

_TEMP = """(
    pk BIGINT PRIMARY KEY, score DOUBLE PRECISION, fit DOUBLE PRECISION,
    engagement DOUBLE PRECISION, grade VARCHAR(50), tier VARCHAR(50), stage VARCHAR(100),
    lifecycle_stage VARCHAR(100), pinned_stage VARCHAR(100), stage_base VARCHAR(100),
    stage_base_at BIGINT, event_stage VARCHAR(100), event_stage_at BIGINT,
    model_version INTEGER, scored_at BIGINT) ON COMMIT DELETE ROWS"""


def write_leads(db: Database, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Set `LEAD_COLUMNS` of each lead row (`pk` and those columns), explanation cleared."""
    if not rows:
        return
    if db.is_sqlite:
        assigned = ", ".join(f"{c} = ?" for c in LEAD_COLUMNS)
        values = itemgetter(*LEAD_COLUMNS, "pk")
        conn.exec_driver_sql(
            f"UPDATE leads SET {assigned}, explanation = NULL WHERE pk = ?",
            [values(row) for row in rows],
        )
        return
    driver = _driver(conn)
    conn.exec_driver_sql(f"CREATE TEMP TABLE IF NOT EXISTS batch_scores {_TEMP}")
    conn.exec_driver_sql("DELETE FROM batch_scores")
    names = ("pk", *LEAD_COLUMNS)
    values = itemgetter(*names)
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY batch_scores ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(values(row))
        assigned = ", ".join(f"{c} = b.{c}" for c in LEAD_COLUMNS)
        cursor.execute(
            f"UPDATE leads SET {assigned}, explanation = NULL FROM batch_scores b"
            " WHERE leads.pk = b.pk"
        )


def add_history(db: Database, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append history rows (`HISTORY_COLUMNS`; `cause_event` a mapping or None), in order."""
    if not rows:
        return
    fields = itemgetter(*HISTORY_COLUMNS[:-1])
    values = [
        (*fields(row), None if row["cause_event"] is None else json.dumps(row["cause_event"]))
        for row in rows
    ]
    names = ", ".join(HISTORY_COLUMNS)
    if db.is_sqlite:
        marks = ", ".join("?" * len(HISTORY_COLUMNS))
        conn.exec_driver_sql(f"INSERT INTO score_history ({names}) VALUES ({marks})", values)
        return
    with (
        _driver(conn).cursor() as cursor,
        cursor.copy(f"COPY score_history ({names}) FROM STDIN") as copy,
    ):
        for value in values:
            copy.write_row(value)


def _driver(conn: Connection) -> Any:
    """The DB-API connection under `conn` (sqlite3's or psycopg's), for its bulk paths."""
    driver: Any = conn.connection.driver_connection
    return driver
