"""The `costs` sub-commands: load what each source or campaign cost per month (for cost per
lead and ROI in the analytics) and list what is stored (docs/dashboard.md#analytics)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli.support import service
from leadscore.service import costs

ACTOR = "cli"

costs_app = typer.Typer(
    help="Load and list marketing costs per source, campaign, month and currency.",
    no_args_is_help=True,
)


@costs_app.command("import")
def costs_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="A CSV file with the header source,campaign,month,amount,currency "
            "(campaign empty: the whole source; month YYYY-MM; currency EUR, PLN, RON, RSD or USD)."
        ),
    ],
) -> None:
    """Load costs: every row is checked first and then all are written, or none; a row with
    the source, campaign, month and currency of a stored one replaces it."""
    with service() as ctx:
        done = costs.import_file(ctx, file, ACTOR)
    table = Table("currency", "total", title=f"{file.name}: {done['rows']} rows")
    for currency, total in done["totals"].items():
        table.add_row(currency, total)
    Console().print(table)
    typer.echo(f"{done['inserted']} added, {done['replaced']} replaced")


@costs_app.command("list")
def costs_list(
    source: Annotated[str | None, typer.Option(help="Only this source.")] = None,
    currency: Annotated[str | None, typer.Option(help="Only this currency.")] = None,
    month_from: Annotated[
        str | None, typer.Option("--from", help="From this month (YYYY-MM), included.")
    ] = None,
    month_to: Annotated[
        str | None, typer.Option("--to", help="To this month (YYYY-MM), included.")
    ] = None,
) -> None:
    """List the stored costs by source, campaign, month and currency."""
    with service() as ctx:
        rows = costs.list_costs(
            ctx, source=source, currency=currency, month_from=month_from, month_to=month_to
        )
    table = Table("source", "campaign", "month", "amount", "currency")
    for row in rows:
        table.add_row(
            row["source"], row["campaign"] or "(whole source)", row["month"], row["amount"],
            row["currency"],
        )  # fmt: skip
    Console().print(table)
