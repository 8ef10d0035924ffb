"""CRM connectors (§8) on the command line: `leadscore sync NAME [--full]` and the
`connectors` sub-commands (validate the file, list, show, set a secret)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli.support import err, fail, progress_bar, service
from leadscore.connectors.base import ConnectorError
from leadscore.core.connectors import VENDORS, ConnectorsError, load_connectors_text
from leadscore.service import connectors, sync

connectors_app = typer.Typer(
    help="Check the connectors file, see each connector's state, keep its secrets.",
    no_args_is_help=True,
)


def _file_problems(exc: ConnectorsError) -> typer.Exit:
    for problem in exc.problems:
        err.print(f"{exc.source}: {problem}", markup=False)
    return typer.Exit(2)


def sync_command(
    name: Annotated[str, typer.Argument(help="hubspot, salesforce or pipedrive.")],
    full: Annotated[
        bool, typer.Option("--full", help="Read everything, not only what changed.")
    ] = False,
    push: Annotated[
        bool | None,
        typer.Option(
            "--push/--no-push", help="Write changed scores back (default: the file's push)."
        ),
    ] = None,
) -> None:
    """Sync a CRM: its people in as leads, its deals in as stages and outcomes, then changed
    scores out. Incremental from where the last sync stopped unless --full; a sync that fails
    midway resumes after the last page it wrote."""
    if name not in VENDORS:
        raise fail(f"no connector {name!r} ({', '.join(VENDORS)})")
    with service() as ctx, progress_bar(f"sync {name}") as bar:
        try:
            report = sync.sync(
                ctx, name, full=full, push=push, progress=lambda obj, n: bar.update(obj, n)
            )
        except ConnectorsError as exc:
            raise _file_problems(exc) from None
        except ConnectorError as exc:
            raise fail(
                f"{name}: {exc.message} (the next sync resumes after the last page written)"
            ) from None
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted(report.counts.items()))
    typer.echo(f"{name}: {counts or 'nothing to do'}")
    for error in report.errors:
        err.print(f"  {error}", markup=False)


@connectors_app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="The connectors YAML file.")],
) -> None:
    """Check a connectors file: every error with its key path and line."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # found by fuzzing (tests/fuzz): was a traceback
        raise fail(f"{file}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    try:
        parsed = load_connectors_text(text, str(file))
    except ConnectorsError as exc:
        for problem in exc.problems:
            err.print(f"{file}: {problem}", markup=False)
        raise typer.Exit(2) from None
    names = ", ".join(parsed.configured()) or "no connector enabled"
    typer.echo(f"{file}: valid ({names})")


@connectors_app.command("list")
def list_connectors() -> None:
    """Each configured connector: its secrets, linked records and last sync."""
    with service() as ctx:
        try:
            found = connectors.describe_all(ctx)
        except ConnectorsError as exc:
            raise _file_problems(exc) from None
    if not found:
        typer.echo("no connector is configured (LEADSCORE_CONNECTORS_FILE)")
        return
    table = Table("connector", "objects", "records", "secrets", "last sync", "status")
    for c in found:
        last = c["runs"][0] if c["runs"] else None
        table.add_row(
            c["name"],
            ", ".join(c["objects"]),
            ", ".join(f"{k} {v:,}" for k, v in c["records"].items()) or "-",
            ", ".join(f"{k} ({v})" for k, v in c["secrets"].items()) or "none set",
            last["started_at"] if last else "never",
            (last["status"] + (f": {last['error']}" if last["error"] else "")) if last else "-",
        )
    Console().print(table)


@connectors_app.command("show")
def show(name: Annotated[str, typer.Argument(help="hubspot, salesforce or pipedrive.")]) -> None:
    """One connector's mapping, secrets set (never their values), cursors and runs, as JSON."""
    with service() as ctx:
        try:
            found: dict[str, Any] = connectors.describe(ctx, name)
        except ConnectorsError as exc:
            raise _file_problems(exc) from None
    typer.echo(json.dumps(found, indent=2, ensure_ascii=False))


@connectors_app.command("set-secret")
def set_secret(
    name: Annotated[str, typer.Argument(help="hubspot, salesforce or pipedrive.")],
    secret: Annotated[str, typer.Argument(help="access_token, client_secret, api_token, …")],
) -> None:
    """Keep a secret in the database, encrypted with LEADSCORE_SECRET_KEY. The value is read
    from standard input (never from the command line, where shells keep history)."""
    value = (
        sys.stdin.read().strip()
        if not sys.stdin.isatty()
        else typer.prompt(f"{name} {secret}", hide_input=True)
    )
    if not value:
        raise fail("the secret is empty")
    with service() as ctx:
        connectors.set_secret(ctx, name, secret, value, "cli")
    typer.echo(f"{name} {secret}: kept, encrypted")
