"""The kernel inside Apache Spark (SPEC §5): the same `score_frame`, one bucket of leads at a
time, for data beyond one machine.

Leads and events are bucketed by a hash of the lead id, so that every lead meets all of its
events in one bucket; `cogroup(...).applyInArrow` hands each bucket's two Arrow tables to a
Python worker, which scores them with the Polars kernel. The §3 event id rule (a repeated id
keeps its first row, in read order) is global, so it runs in Spark before bucketing. Results
keep the order of the leads as read. Needs the `spark` extra (pyspark, pandas) and Java 17+.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

import polars as pl
import pyarrow as pa

from leadscore.core.model import Model
from leadscore.engine.columns import Dtype
from leadscore.engine.explain import LINE
from leadscore.engine.fields import event_columns, lead_columns
from leadscore.engine.kernel import score_frame
from leadscore.engine.schema import SCORE_DDL, SCORE_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

ROW = "__leadscore_row"
BUCKET = "__leadscore_bucket"
EXPLAIN_DDL = (
    ", fit_points double, engagement_points double, explanation array<struct<kind: string, "
    "id: string, section: string, `group`: string, occurrences: bigint, raw: double, "
    "capped: double, cut_by: array<string>, score: double>>"
)


def session(master: str | None = None, app: str = "leadscore") -> SparkSession:
    """A SparkSession for scoring: UTC, Arrow on; workers run this Python (PYSPARK_PYTHON).

    Under `spark-submit` the master and resources come from the submit; `master` (e.g.
    `local[2]`) is for running without it.
    """
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app)
    if master is not None:
        builder = builder.master(master).config("spark.ui.enabled", "false")
    spark = (
        builder.config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    return spark


def dedupe_events(events: DataFrame) -> DataFrame:
    """Keep the first row (in read order) of each repeated event id; rows with no id (null or
    empty) are all distinct."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if "id" not in events.columns:
        return events
    order, rank = "__leadscore_event_row", "__leadscore_event_rank"
    key = F.col("id").cast("string")
    ranked = events.withColumn(order, F.monotonically_increasing_id()).withColumn(
        rank, F.row_number().over(Window.partitionBy(key).orderBy(order))
    )
    keep = key.isNull() | (key == "") | (F.col(rank) == 1)
    return ranked.where(keep).drop(order, rank)


def score_spark(
    leads: DataFrame,
    events: DataFrame | None,
    model: Model,
    as_of: int,
    partitions: int = 200,
    explain: bool = False,
) -> DataFrame:
    """Scores of every lead, as a Spark DataFrame in the order the leads were read.

    `events` must have had the event id rule applied (`dedupe_events`).
    """
    from pyspark.sql import functions as F

    spark = leads.sparkSession
    leads = leads.select([_col(name) for name in lead_columns(model, leads.columns)])
    leads = leads.withColumn(ROW, F.monotonically_increasing_id())
    lead_key = F.col("id").cast("string")
    leads = leads.withColumn(BUCKET, F.pmod(F.xxhash64(lead_key), F.lit(partitions)))
    if events is None:
        schema = "lead_id string, type string, occurred_at bigint"
        events = spark.createDataFrame([], schema)
    events = events.select([_col(name) for name in event_columns(model, events.columns)])
    event_key = F.col("lead_id").cast("string")
    events = events.withColumn(BUCKET, F.pmod(F.xxhash64(event_key), F.lit(partitions)))

    def scorer(left: pa.Table, right: pa.Table) -> pa.Table:
        return score_bucket(left, right, model, as_of, explain)

    ddl = SCORE_DDL + (EXPLAIN_DDL if explain else "") + f", {ROW} bigint"
    scored = leads.groupBy(BUCKET).cogroup(events.groupBy(BUCKET)).applyInArrow(scorer, schema=ddl)
    return scored.orderBy(ROW).drop(ROW)


def _col(name: str) -> Column:
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def score_bucket(
    leads: pa.Table, events: pa.Table, model: Model, as_of: int, explain: bool
) -> pa.Table:
    """What each Python worker runs on one bucket: the kernel, on Polars views of the Arrow
    tables, keeping each lead's read-order number."""
    frame = pl.from_arrow(leads)
    assert isinstance(frame, pl.DataFrame)
    rows = frame[ROW]
    frame = frame.drop(ROW, BUCKET)
    event_frame = pl.from_arrow(events)
    assert isinstance(event_frame, pl.DataFrame)
    event_frame = event_frame.drop(BUCKET)
    if frame.height == 0:
        out = pl.DataFrame(schema=_schema(explain)).drop(ROW)
    else:
        out = score_frame(frame, event_frame, model, as_of, explain)
    out = out.with_columns(rows.alias(ROW))
    return out.to_arrow().cast(_arrow_schema(explain))


def _schema(explain: bool) -> dict[str, Dtype]:
    schema: dict[str, Dtype] = dict(SCORE_SCHEMA)
    if explain:
        schema |= {
            "fit_points": pl.Float64,
            "engagement_points": pl.Float64,
            "explanation": pl.List(LINE),
        }
    return schema | {ROW: pl.Int64}


def _arrow_schema(explain: bool) -> pa.Schema:
    return _plain(pl.DataFrame(schema=_schema(explain)).to_arrow().schema)


def _plain(schema: pa.Schema) -> pa.Schema:
    """Arrow types Spark reads: string (not string_view or large_string), list (not large)."""

    def plain(t: pa.DataType) -> pa.DataType:
        if pa.types.is_string_view(t) or pa.types.is_large_string(t):
            return pa.string()
        if pa.types.is_large_list(t) or pa.types.is_list(t):
            return pa.list_(plain(t.value_type))
        if pa.types.is_struct(t):
            return pa.struct([pa.field(f.name, plain(f.type)) for f in t])
        return t

    return pa.schema([pa.field(f.name, plain(f.type)) for f in schema])


def run_batch(
    spark: SparkSession,
    leads_path: str,
    events_path: str | None,
    model: Model,
    as_of: int,
    out: str,
    partitions: int = 200,
    explain: bool = False,
) -> None:
    """Read Parquet, score, write Parquet (a folder of part files, in leads order)."""
    leads = spark.read.parquet(leads_path)
    events = None if events_path is None else dedupe_events(spark.read.parquet(events_path))
    scores = score_spark(leads, events, model, as_of, partitions, explain)
    scores.write.mode("overwrite").parquet(out)
