"""The kernel inside Spark (local mode) gives the embedded kernel's results (SPEC §5)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from leadscore import demo
from leadscore.core.timestamps import parse_timestamp
from leadscore.engine.frames import read_inputs
from leadscore.engine.kernel import score_frame
from leadscore.engine.model_file import load_model_file
from leadscore.testing.conformance import CASES, check_engine

pytestmark = [pytest.mark.spark, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "b2b-saas.yaml"
AS_OF = "2026-01-01"


def spark_engine(spark, partitions: int = 3):
    """The Spark job as a conformance engine over Polars frames."""
    from leadscore.engine.spark import dedupe_events, score_spark

    def score(leads: pl.DataFrame, events: pl.DataFrame, model, as_of: int) -> pl.DataFrame:
        lead_df = spark.createDataFrame(leads.to_arrow())
        event_df = dedupe_events(spark.createDataFrame(events.to_arrow()))
        out = score_spark(lead_df, event_df, model, as_of, partitions)
        return pl.from_arrow(out.toArrow())

    return score


def test_conformance_cases(spark) -> None:
    check_engine(spark_engine(spark), CASES)


def test_batch_on_parquet_equals_the_embedded_kernel(spark, tmp_path: Path) -> None:
    from leadscore.engine.spark import run_batch

    demo.write(demo.generate(400, seed=11, end=AS_OF), tmp_path)
    leads, events = tmp_path / "leads.parquet", tmp_path / "events.parquet"
    model = load_model_file(EXAMPLE)
    as_of = parse_timestamp(AS_OF)
    out = tmp_path / "scores"
    run_batch(spark, str(leads), str(events), model, as_of, str(out), partitions=5, explain=True)
    got = pl.read_parquet(out / "*.parquet")
    expected = score_frame(*read_inputs(model, leads, events), model, as_of, explain=True)
    assert got.drop("explanation").equals(expected.drop("explanation"))
    assert got["explanation"].to_list() == expected["explanation"].to_list()


def test_repeated_event_ids_count_once_across_buckets(spark) -> None:
    from leadscore.core.loader import load_model_text
    from leadscore.engine.spark import dedupe_events, score_spark

    model = load_model_text(
        "combine: sum\nengagement: {rules: [{id: v, event: seen, points: 1}]}\n"
    )
    leads = spark.createDataFrame([(f"L{i}",) for i in range(20)], "id string")
    rows = [("e1", "L3", "seen", 1), ("e1", "L7", "seen", 2), ("", "L7", "seen", 3),
            ("", "L7", "seen", 4), (None, "L9", "seen", 5), ("e2", "L9", "seen", 6)]  # fmt: skip
    events = spark.createDataFrame(rows, "id string, lead_id string, type string, t long")
    events = events.withColumnRenamed("t", "occurred_at")
    out = score_spark(leads, dedupe_events(events), model, 10, partitions=7).toArrow()
    ids, values = out.column("lead_id").to_pylist(), out.column("score").to_pylist()
    scores = dict(zip(ids, values, strict=True))
    assert out.column("lead_id").to_pylist() == [f"L{i}" for i in range(20)]
    assert (scores["L3"], scores["L7"], scores["L9"]) == (1.0, 2.0, 2.0)


def test_the_submit_driver_runs_batch(spark, tmp_path: Path) -> None:
    from leadscore.cli.batch import main

    demo.write(demo.generate(50, seed=2, end=AS_OF), tmp_path)
    out = tmp_path / "scores"
    args = ["--leads", tmp_path / "leads.parquet", "--events", tmp_path / "events.parquet",
            "--model", EXAMPLE, "--out", out, "--as-of", AS_OF, "--partitions", "2"]  # fmt: skip
    with pytest.raises(SystemExit) as done:
        main([str(a) for a in args])
    assert done.value.code == 0
    assert pl.read_parquet(out / "*.parquet").height == 50
