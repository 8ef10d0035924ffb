"""Offline scoring of files (SPEC §3): `validate`, `score`, `top` and `schema`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli.support import err, fail, load_model_or_exit, parse_as_of
from leadscore.core.automations import json_schema as automations_schema
from leadscore.core.connectors import json_schema as connectors_schema
from leadscore.core.model import Model
from leadscore.core.timestamps import format_timestamp
from leadscore.engine.files import score_files
from leadscore.engine.readers import InputError, detect_format
from leadscore.engine.writers import write_scores

ModelPath = Annotated[Path, typer.Option("--model", "-m", help="The scoring model YAML file.")]


def validate(model: Annotated[Path, typer.Argument(help="The model YAML file.")]) -> None:
    """Check a model file: print `ok`, or every error with its key path (exit 2)."""
    load_model_or_exit(model)
    typer.echo("ok")


def score(
    model: ModelPath,
    leads: Annotated[Path, typer.Option(help="Leads: CSV, JSON Lines or Parquet (.gz too).")],
    events: Annotated[Path | None, typer.Option(help="Events of those leads.")] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO 8601 time to score at (default now, UTC).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Output file (.csv/.jsonl/.parquet); default stdout.")
    ] = None,
    explain: Annotated[bool, typer.Option(help="Include each score's explanation.")] = False,
    skip_invalid: Annotated[
        bool, typer.Option(help="Skip bad rows (each reported on stderr) instead of failing.")
    ] = False,
    predictions: Annotated[
        Path | None,
        typer.Option(
            help="Probabilities (lead_id or id, probability; e.g. from `leadscore predict`) "
            "that a model with `predictive` blends into its totals."
        ),
    ] = None,
) -> None:
    """Score leads from files (SPEC §3): one row per lead, in the order of the leads file."""
    scoring = load_model_or_exit(model)
    moment = parse_as_of(as_of)
    if out is not None:
        try:
            detect_format(out)
        except InputError as exc:
            raise fail(f"--out {exc}") from None
    skipped: list[InputError] = []

    def report_bad_row(error: InputError) -> None:
        skipped.append(error)
        err.print(f"skipped: {error}", markup=False)

    try:
        results = score_files(
            scoring,
            leads,
            events,
            moment,
            report_bad_row if skip_invalid else None,
            predictions=predictions,
        )
        write_scores(results, out, explain)
    except InputError as exc:
        raise fail(str(exc)) from None
    except OSError as exc:
        raise fail(f"{exc.filename or out}: {exc.strerror or exc}") from None
    if skipped:
        err.print(f"{len(skipped)} invalid row(s) skipped", markup=False)


def top(
    model: ModelPath,
    leads: Annotated[Path, typer.Option(help="Leads file.")],
    events: Annotated[Path | None, typer.Option(help="Events file.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="ISO 8601 time.")] = None,
    limit: Annotated[int, typer.Option(help="How many leads to show.")] = 20,
) -> None:
    """Show the best-scoring leads with the reasons behind their scores."""
    scoring = load_model_or_exit(model)
    moment = parse_as_of(as_of)
    try:
        results = score_files(scoring, leads, events, moment)
    except InputError as exc:
        raise fail(str(exc)) from None
    best = sorted(results, key=lambda r: (-r.score, r.lead_id))[:limit]
    table = Table(title=f"Top {len(best)} of {len(results)} leads at {format_timestamp(moment)}")
    for column in ("lead", "score", "fit", "engagement", "grade", "tier", "stage", "top reasons"):
        table.add_column(column, justify="right" if column in ("score", "fit") else "left")
    for result in best:
        reasons = sorted(
            (c for c in result.contributions if c.kind == "rule"), key=lambda c: -abs(c.score)
        )[:3]
        table.add_row(
            result.lead_id,
            f"{result.score:.2f}",
            f"{result.fit:.2f}",
            f"{result.engagement:.2f}",
            result.grade or "",
            result.tier or "",
            result.stage or "",
            ", ".join(f"{c.id} {c.score:+.1f}" for c in reasons),
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    console.print(table)


def schema(
    automations: Annotated[
        bool, typer.Option("--automations", help="The automations file's schema instead.")
    ] = False,
    connectors: Annotated[
        bool, typer.Option("--connectors", help="The connectors file's schema instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of the model file, or of the automations or connectors file (for
    editors and UI builders)."""
    if connectors:
        typer.echo(json.dumps(connectors_schema(), indent=2))
        return
    if automations:
        typer.echo(json.dumps(automations_schema(), indent=2))
        return
    typer.echo(json.dumps(Model.model_json_schema(), indent=2))
