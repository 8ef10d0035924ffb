"""Loading demo data straight into a store, for the recompute benchmark.

`leadscore import` validates every row through the API's models, which is right for real
files and far too slow for 21 million benchmark rows; this loader writes the same columns
with the drivers' bulk paths (executemany on SQLite, COPY on PostgreSQL), then activates the
example model without rescoring (the benchmark's recompute does that).
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from leadscore.service.context import Context
from leadscore.settings import Settings
from leadscore.store.tables import model_versions

LEAD_COLUMNS = ("id", "email", "external_ids", "attributes", "source", "created_at", "updated_at")
EVENT_COLUMNS = ("event_id", "lead_pk", "type_id", "occurred_at", "properties", "source",
                 "received_at")  # fmt: skip


def micros(column: str) -> pl.Expr:
    return pl.col(column).dt.epoch("us")


def lead_rows(leads: pl.DataFrame) -> pl.DataFrame:
    attributes = [c for c in leads.columns if c not in ("id", "email")]
    return leads.select(
        pl.col("id"),
        pl.col("email"),
        pl.lit("{}").alias("external_ids"),
        pl.struct(attributes).struct.json_encode().alias("attributes"),
        pl.col("source"),
        micros("created_at").alias("created_at"),
        micros("created_at").alias("updated_at"),
    )


def event_rows(events: pl.DataFrame, pks: pl.DataFrame, types: dict[str, int]) -> pl.DataFrame:
    properties = [c for c in events.columns if c not in ("id", "lead_id", "type", "occurred_at",
                                                         "source")]  # fmt: skip
    return events.join(
        pks, left_on="lead_id", right_on="id", how="inner", maintain_order="left"
    ).select(
        pl.col("id").alias("event_id"),
        pl.col("pk").alias("lead_pk"),
        pl.col("type").replace_strict(types, return_dtype=pl.Int64).alias("type_id"),
        micros("occurred_at").alias("occurred_at"),
        pl.struct(properties).struct.json_encode().alias("properties"),
        pl.col("source"),
        micros("occurred_at").alias("received_at"),
    )


def load(url: str, folder: Path, model_yaml: str, chunk: int = 1_000_000) -> None:
    """Fill an empty store at `url` with the demo data in `folder` and activate the model."""
    ctx = Context.open(Settings(database_url=url))
    started = time.perf_counter()
    leads = pl.read_parquet(folder / "leads.parquet")
    rows = lead_rows(leads)
    with ctx.db.engine.begin() as conn:
        _bulk(ctx, conn, "leads", LEAD_COLUMNS, rows)
        pks = pl.DataFrame(
            conn.exec_driver_sql("SELECT id, pk FROM leads").all(),
            schema={"id": pl.String, "pk": pl.Int64},
            orient="row",
        )
        names = pl.scan_parquet(folder / "events.parquet").select("type").unique().collect()
        types = {}
        for i, name in enumerate(sorted(names["type"].to_list()), start=1):
            conn.exec_driver_sql(
                "INSERT INTO event_types (id, name) VALUES (%s, %s)"
                if ctx.db.is_postgres
                else "INSERT INTO event_types (id, name) VALUES (?, ?)",
                (i, name),
            )
            types[name] = i
        conn.execute(
            model_versions.insert().values(
                name="example", yaml=model_yaml, created_at=0, active=True, activated_at=0
            )
        )
    events = pl.scan_parquet(folder / "events.parquet")
    total = events.select(pl.len()).collect().item()
    for start in range(0, total, chunk):
        part = event_rows(events.slice(start, chunk).collect(), pks, types)
        with ctx.db.engine.begin() as conn:
            _bulk(ctx, conn, "events", EVENT_COLUMNS, part)
    if ctx.db.is_postgres:
        with ctx.db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    print(f"  loaded {len(rows):,} leads and {total:,} events in "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    ctx.db.dispose()


def _bulk(ctx: Context, conn, table: str, columns: tuple[str, ...], rows: pl.DataFrame) -> None:
    raw = conn.connection.driver_connection
    names = ", ".join(columns)
    if ctx.db.is_sqlite:
        marks = ", ".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows.iter_rows())
        return
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows.iter_rows():
            copy.write_row(row)


def reset_scores(url: str) -> None:
    """Forget every score, so that a recompute writes every lead (its worst case)."""
    ctx = Context.open(Settings(database_url=url))
    with ctx.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE leads SET score = 0, fit = 0, engagement = 0, grade = NULL, tier = NULL,"
            " stage = NULL, lifecycle_stage = NULL, model_version = NULL, scored_at = NULL,"
            " explanation = NULL"
        )
        conn.exec_driver_sql("DELETE FROM score_history")
    # The state a table is in between two nightly runs: SQLite's log checkpointed, and on
    # PostgreSQL the dead rows of the reset vacuumed away (autovacuum's job in production).
    with ctx.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if ctx.db.is_sqlite:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            conn.exec_driver_sql("VACUUM (ANALYZE) leads, score_history")
    ctx.db.dispose()
