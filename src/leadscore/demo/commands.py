"""The `leadscore demo-data` command: it checks its options, then streams the data to disk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadscore import demo


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add the `demo-data` command to the CLI."""

    @app.command("demo-data")
    def demo_data(
        leads: Annotated[int, typer.Option("--leads", help="Number of leads to generate.")],
        out: Annotated[Path, typer.Option("--out", help="Directory to write the files to.")],
        seed: Annotated[
            int, typer.Option("--seed", help="Random seed (same seed, same data).")
        ] = 0,
        fmt: Annotated[Format, typer.Option("--format", help="File format.")] = Format.parquet,
        end: Annotated[
            str | None,
            typer.Option(
                "--end", help="ISO date or time the data ends at (UTC); default: today 00:00 UTC."
            ),
        ] = None,
    ) -> None:
        """Write seeded synthetic leads, events and outcomes (SPEC §3 input format)."""
        if leads <= 0:
            raise typer.BadParameter(f"must be at least 1, not {leads}", param_hint="--leads")
        if seed < 0:
            raise typer.BadParameter(f"must not be negative, not {seed}", param_hint="--seed")
        if out.exists() and not out.is_dir():
            raise typer.BadParameter(f"{out} exists and is not a directory", param_hint="--out")
        try:
            end_at = demo.as_end(end)
        except ValueError as exc:
            raise typer.BadParameter(
                f"not an ISO 8601 date or time: {end!r}", param_hint="--end"
            ) from exc
        counts = _run_with_progress(leads, seed, end_at, out, fmt.value)
        typer.echo(
            f"wrote {counts['leads']:,} leads, {counts['events']:,} events and "
            f"{counts['outcomes']:,} outcomes ({fmt.value}) to {out}"
        )


def _run_with_progress(n_leads: int, seed: int, end: datetime, out: Path, fmt: str):
    """A progress bar on stderr when the run takes more than one chunk."""
    if n_leads <= demo.CHUNK_LEADS:
        return demo.write_demo(n_leads, seed, end, out, fmt)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("leads", total=n_leads)
        return demo.write_demo(n_leads, seed, end, out, fmt, lambda done: bar.advance(task, done))
