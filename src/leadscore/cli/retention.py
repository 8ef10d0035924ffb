"""`leadscore retention run`: the event retention policy applied now (service/retention.py)."""

from __future__ import annotations

from typing import Annotated

import typer

from leadscore.cli.support import fail, progress_bar, service
from leadscore.service import retention

retention_app = typer.Typer(
    help="Event retention (LEADSCORE_RETENTION_EVENTS_DAYS, …_BY_TYPE).", no_args_is_help=True
)


@retention_app.command("run")
def run_command(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be deleted; change nothing.")
    ] = False,
) -> None:
    """Delete events older than the retention, in batches, rescoring their leads."""
    with service() as ctx:
        if not retention.configured(ctx.settings):
            raise fail(
                "no retention is set: set LEADSCORE_RETENTION_EVENTS_DAYS or "
                "LEADSCORE_RETENTION_EVENTS_DAYS_BY_TYPE"
            )
        if dry_run:
            report = retention.run(ctx, dry_run=True, actor="cli")
        else:
            with progress_bar("retention") as bar:
                total = retention.pending(ctx)
                report = retention.run(ctx, actor="cli", progress=bar.counter("events", total))
    for name, cutoff in report.cutoffs.items():
        what = "other event types" if name == "*" else name
        typer.echo(f"{what}: events before {cutoff}")
    if report.dry_run:
        typer.echo(f"would delete {report.events:,} events of {report.leads:,} leads (dry run)")
    else:
        typer.echo(
            f"deleted {report.events:,} events of {report.leads:,} leads in {report.batches:,}"
            f" batches: {report.changed:,} scores changed"
        )
