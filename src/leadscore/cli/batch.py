"""`leadscore batch` (SPEC §5): score whole tables with the Polars kernel, or with it inside
Spark; and `main`, the driver a spark-submit job runs."""

from __future__ import annotations

import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.support import fail, load_model_or_exit, parse_as_of
from leadscore.core.model import Model
from leadscore.engine.frames import read_inputs
from leadscore.engine.kernel import score_frame
from leadscore.engine.readers import InputError
from leadscore.engine.writers import atomic


class Engine(StrEnum):
    polars = "polars"
    spark = "spark"


def batch(
    leads: Annotated[Path, typer.Option(help="Leads: Parquet (polars: also CSV, JSONL).")],
    model: Annotated[Path, typer.Option("--model", "-m", help="The scoring model YAML.")],
    out: Annotated[Path, typer.Option(help="Output Parquet: a file (polars) or a folder (spark).")],
    events: Annotated[Path | None, typer.Option(help="Events of those leads.")] = None,
    engine: Annotated[Engine, typer.Option(help="Where the kernel runs.")] = Engine.polars,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO 8601 time to score at (default now).")
    ] = None,
    partitions: Annotated[
        int, typer.Option(min=1, help="Spark: buckets of leads scored together.")
    ] = 200,
    master: Annotated[
        str | None,
        typer.Option(help="Spark master when not under spark-submit, e.g. local[4]."),
    ] = None,
    explain: Annotated[bool, typer.Option(help="Add the explanation columns.")] = False,
) -> None:
    """Score every lead of a table (SPEC §5): the Polars kernel here, or inside Spark."""
    scoring = load_model_or_exit(model)
    moment = parse_as_of(as_of)
    started = time.perf_counter()
    if engine is Engine.polars:
        count = _polars(scoring, leads, events, moment, out, explain)
    else:
        count = _spark(scoring, leads, events, moment, out, partitions, master, explain)
    seconds = time.perf_counter() - started
    typer.echo(f"scored {count:,} leads with {engine.value} in {seconds:.1f} s → {out}")


def _polars(
    model: Model, leads: Path, events: Path | None, as_of: int, out: Path, explain: bool
) -> int:
    try:
        lead_frame, event_frame = read_inputs(model, leads, events)
    except InputError as exc:
        raise fail(str(exc)) from None
    scores = score_frame(lead_frame, event_frame, model, as_of, explain=explain)
    try:
        with atomic(out) as tmp:
            scores.write_parquet(tmp)
    except OSError as exc:
        raise fail(f"{exc.filename or out}: {exc.strerror or exc}") from None
    return scores.height


def _spark(
    model: Model,
    leads: Path,
    events: Path | None,
    as_of: int,
    out: Path,
    partitions: int,
    master: str | None,
    explain: bool,
) -> int:
    try:
        from leadscore.engine.spark import run_batch, session
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise fail(f"the spark engine needs `pip install leadscore[spark]` ({exc})") from None
    for path in (leads, events):
        if path is not None and not path.exists():
            raise fail(f"{path}: no such file or folder")
    spark = session(master)
    events_path = None if events is None else str(events)
    run_batch(spark, str(leads), events_path, model, as_of, str(out), partitions, explain)
    count: int = spark.read.parquet(str(out)).count()
    return count


def main(argv: list[str] | None = None) -> None:
    """`leadscore batch --engine spark ARGS`, for a spark-submit driver script:

    from leadscore.cli.batch import main; main()
    """
    app = typer.Typer(add_completion=False)
    app.command("batch")(batch)
    app.command("help", hidden=True)(lambda: None)  # keeps `batch` a subcommand
    app(["batch", "--engine", "spark", *(sys.argv[1:] if argv is None else argv)])
