"""`leadscore demo-data`: it checks its options, then streams the data to disk."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from leadscore import demo
from leadscore.cli.support import progress_bar


class Format(StrEnum):
    parquet = "parquet"
    csv = "csv"


def demo_data(
    leads: Annotated[int, typer.Option("--leads", help="Number of leads to generate.")],
    out: Annotated[Path, typer.Option("--out", help="Directory to write the files to.")],
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same data).")] = 0,
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
    counts = _write(leads, seed, end_at, out, fmt.value)
    typer.echo(
        f"wrote {counts['leads']:,} leads, {counts['events']:,} events and "
        f"{counts['outcomes']:,} outcomes ({fmt.value}) to {out}"
    )


def _write(n_leads: int, seed: int, end: datetime, out: Path, fmt: str) -> dict[str, int]:
    """A progress bar when the run takes more than one chunk."""
    if n_leads <= demo.CHUNK_LEADS:
        return demo.write_demo(n_leads, seed, end, out, fmt)
    with progress_bar("leads", total=n_leads) as bar:
        return demo.write_demo(n_leads, seed, end, out, fmt, bar.advance)
