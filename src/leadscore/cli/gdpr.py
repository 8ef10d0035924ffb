"""The `gdpr` sub-commands: a lead's export (Art. 15/20), its erasure (Art. 17) and the
VACUUM that makes erased rows unrecoverable on PostgreSQL (docs/privacy.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from leadscore.cli.support import err, fail, service
from leadscore.service import gdpr

ACTOR = "cli"
Lead = Annotated[str, typer.Argument(help="The lead's id or e-mail.")]

gdpr_app = typer.Typer(
    help="Export or erase everything held on a person (GDPR).", no_args_is_help=True
)


@gdpr_app.command("export")
def export_command(
    lead: Lead,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the JSON here (default: stdout).")
    ] = None,
) -> None:
    """Everything stored on the lead, as one JSON document (the same as
    GET /api/v1/leads/{id}/export)."""
    with service() as ctx:
        document = gdpr.export_lead(ctx, gdpr.lead_id_of(ctx, lead))
    body = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(body)
        return
    try:
        out.write_text(body + "\n", encoding="utf-8")
    except OSError as exc:
        raise fail(f"{out}: {exc.strerror or exc}") from None
    err.print(f"wrote {out}", markup=False)


@gdpr_app.command("erase")
def erase_command(
    lead: Lead,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone.")] = False,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum/--no-vacuum",
            help="PostgreSQL: VACUUM the changed tables afterwards (`gdpr vacuum`).",
        ),
    ] = True,
) -> None:
    """Erase the lead and everything derived from it, in one transaction, and suppress its
    e-mail and external ids; prints the erasure report (JSON) with its token."""
    if not yes:
        raise fail("erasing cannot be undone: add --yes")
    with service() as ctx:
        report = gdpr.erase_lead(ctx, gdpr.lead_id_of(ctx, lead), ACTOR)
        if vacuum and ctx.db.is_postgres:
            report["vacuum"] = gdpr.vacuum(ctx)
            report["vacuum_needed"] = False
    typer.echo(json.dumps(report, indent=2))


@gdpr_app.command("vacuum")
def vacuum_command() -> None:
    """Make erased rows unrecoverable from the database files: on PostgreSQL a VACUUM of the
    tables an erasure changes (dead tuples removed), on SQLite the search index's segments
    merged and the log truncated."""
    with service() as ctx:
        done = gdpr.vacuum(ctx)
    typer.echo(json.dumps(done, indent=2))
