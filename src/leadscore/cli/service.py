"""The live service's commands: serve, import, recompute, init-demo, and the `apikey` and
`model` sub-commands.

Each reads its database from LEADSCORE_DATABASE_URL (default ./leadscore.db) and brings the
schema up to date first (`support.service`). Errors a user can fix print `error: …` on stderr
and exit with 2.
"""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore import demo
from leadscore.cli.support import err, fail, parse_optional_as_of, progress_bar, service
from leadscore.core.import_mapping import ImportMapping, ImportMappingError, load_import_mapping
from leadscore.engine.readers import InputError
from leadscore.service import automations, keys, owners, scoring_models, users
from leadscore.service.context import Context
from leadscore.service.errors import ServiceError
from leadscore.service.imports import ImportFailed, import_file, parse_mapping
from leadscore.service.recompute import count_leads, recompute

MAX_REPORTED_ROWS = 50
DEMO_MODEL = Path("examples/b2b-saas.yaml")
DEMO_USER = "demo@leadscore.local"
DEMO_AUTOMATIONS = Path("examples/automations.yaml")
DEMO_OWNERS = (
    ("anna.kowalska@demo.example", "Anna Kowalska", "sales"),
    ("james.miller@demo.example", "James Miller", "sales"),
    ("maria.popescu@demo.example", "Maria Popescu", "sales-cee"),
    ("stefan.jovanovic@demo.example", "Stefan Jovanović", "sales-cee"),
    ("sales-manager@demo.example", "Sales Manager", None),
)
"""The demo's sales people (id = e-mail), their team, and the manager the alerts go to."""

apikey_app = typer.Typer(help="Create, list and revoke API keys.", no_args_is_help=True)
model_app = typer.Typer(help="Upload, list, activate and roll back models.", no_args_is_help=True)


class Kind(StrEnum):
    leads = "leads"
    events = "events"
    outcomes = "outcomes"


# --- serve -------------------------------------------------------------------------------


def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [LEADSCORE_HOST or 127.0.0.1].")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port [LEADSCORE_PORT or 8000].")] = None,
    scheduler: Annotated[
        bool, typer.Option(help="Run the scheduled recompute in this process.")
    ] = True,
    workers: Annotated[int, typer.Option(min=1, help="API processes (PostgreSQL).")] = 1,
) -> None:
    """Run the HTTP API (and the scheduler) until interrupted."""
    import uvicorn

    if not scheduler:
        os.environ["LEADSCORE_SCHEDULER_ENABLED"] = "false"
    with service() as ctx:  # migrate once, before any worker starts
        sqlite = ctx.db.is_sqlite
        host = host or ctx.settings.host
        port = port or ctx.settings.port
    if workers > 1 and sqlite:
        err.print("note: several workers on SQLite take turns writing; PostgreSQL scales")
    typer.echo(f"leadscore API on http://{host}:{port}/api/v1 (docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "leadscore.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


# --- apikey ------------------------------------------------------------------------------


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Option(help="A name saying who or what uses the key.")],
    scopes: Annotated[str, typer.Option(help="Comma-separated: read,write,admin.")] = "read",
) -> None:
    """Create an API key. The key is printed once, alone on the last line."""
    with service() as ctx:
        key = keys.create_key(ctx, name, scopes)
    typer.echo(f"API key {name!r} ({scopes}); store it now, it is not shown again:")
    typer.echo(key)


@apikey_app.command("list")
def apikey_list() -> None:
    """List API keys (never the keys themselves)."""
    with service() as ctx:
        rows = keys.list_keys(ctx)
    table = Table("name", "scopes", "created", "revoked")
    for row in rows:
        table.add_row(row["name"], ",".join(row["scopes"]), row["created_at"], str(row["revoked"]))
    Console().print(table)


@apikey_app.command("revoke")
def apikey_revoke(name: Annotated[str, typer.Option(help="The key's name.")]) -> None:
    """Revoke an API key (in effect everywhere within api_key_cache_seconds)."""
    with service() as ctx:
        keys.revoke_key(ctx, name)
    typer.echo(f"revoked {name!r}")


# --- import ------------------------------------------------------------------------------


def import_command(
    kind: Annotated[Kind, typer.Argument(help="What the file holds.")],
    file: Annotated[Path, typer.Argument(help="CSV, JSON Lines or Parquet (.gz too).")],
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, e.g. --map email=E-mail (repeatable)."),
    ] = None,
    skip_invalid: Annotated[
        bool, typer.Option(help="Skip bad rows (each reported) instead of importing nothing.")
    ] = False,
    mapping_file: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="A mapping file (YAML) for a tool's recurring export: docs/sources.md.",
        ),
    ] = None,
) -> None:
    """Import leads, events or outcomes. Leads: id, email, owner, stage, external_ids.SOURCE
    columns, every other column an attribute. Events: lead_id (or email), type, occurred_at,
    id, source, other columns properties. Outcomes: lead_id (or email), outcome, occurred_at,
    value. All or nothing per file unless --skip-invalid. --mapping reads a tool's export
    (GetResponse, SALESmanago…) through a mapping file."""
    try:
        mapping = parse_mapping(map_ or [])
    except ValueError as exc:
        raise fail(str(exc)) from None
    file_mapping = None if mapping_file is None else _import_mapping(mapping_file)
    with service() as ctx, progress_bar(f"import {kind.value}", unit="rows") as bar:
        try:
            report = import_file(
                ctx,
                kind.value,
                file,
                mapping,
                skip_invalid=skip_invalid,
                progress=bar.update,
                file_mapping=file_mapping,
            )
        except ImportFailed as exc:
            _report_rows(exc.errors, "invalid")
            raise fail(f"{file}: {exc}") from None
        except InputError as exc:
            raise fail(str(exc)) from None
    _report_rows(report.skipped, "skipped")
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    if report.erased:  # people erased (GDPR): docs/privacy.md
        skipped += f", {report.erased:,} of erased people left out"
    typer.echo(f"imported {report.written:,} {kind.value} from {report.rows:,} rows{skipped}")


def _import_mapping(path: Path) -> ImportMapping:
    try:
        return load_import_mapping(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise fail(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except ImportMappingError as exc:
        for line in str(exc).splitlines():
            err.print(line, markup=False)
        raise typer.Exit(2) from None


def _report_rows(errors: list[InputError], label: str) -> None:
    for error in errors[:MAX_REPORTED_ROWS]:
        err.print(f"{label}: {error}", markup=False)
    if len(errors) > MAX_REPORTED_ROWS:
        err.print(f"… and {len(errors) - MAX_REPORTED_ROWS} more", markup=False)


# --- model -------------------------------------------------------------------------------


@model_app.command("upload")
def model_upload(
    file: Annotated[Path, typer.Argument(help="The model YAML file.")],
    activate: Annotated[bool, typer.Option(help="Activate it (rescoring every lead).")] = False,
) -> None:
    """Validate a model file and store it as a new version."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:  # as `leadscore validate` (engine/model_file.py)
        raise fail(f"{file}: not UTF-8 text (byte {exc.start}: {exc.reason})") from None
    with service() as ctx:
        try:
            stored = scoring_models.upload(ctx, text, "cli")
        except ServiceError as exc:
            for problem in getattr(exc, "problems", []):
                line = f" (line {problem.extra['line']})" if problem.extra["line"] else ""
                err.print(f"{file}: {problem.extra['path']}: {problem.msg}{line}", markup=False)
            raise typer.Exit(2) from None
        typer.echo(f"stored model {stored['name']!r} as version {stored['version']}")
        if activate:
            _activate(ctx, stored["version"])


@model_app.command("list")
def model_list() -> None:
    """List the stored model versions."""
    with service() as ctx:
        versions = scoring_models.list_versions(ctx)
    table = Table("version", "name", "active", "created", "activated")
    for v in versions:
        table.add_row(
            str(v["version"]),
            v["name"],
            "yes" if v["active"] else "",
            v["created_at"],
            v["activated_at"] or "",
        )
    Console().print(table)


@model_app.command("activate")
def model_activate(
    version: Annotated[int, typer.Argument(help="The version to activate.")],
) -> None:
    """Activate a model version and rescore every lead."""
    with service() as ctx:
        _activate(ctx, version)


@model_app.command("rollback")
def model_rollback(
    version: Annotated[int, typer.Argument(help="The active version.")],
) -> None:
    """Undo the activation of the active version (reactivate the one before it)."""
    with service() as ctx, progress_bar("rescoring") as bar:
        total = count_leads(ctx)
        done = scoring_models.rollback(ctx, version, "cli", progress=bar.counter("leads", total))
    typer.echo(f"rolled back to version {done['version']}: {done['changed']:,} leads changed")


def _activate(ctx: Context, version: int) -> None:
    with progress_bar("rescoring") as bar:
        total = count_leads(ctx)
        done = scoring_models.activate(ctx, version, "cli", progress=bar.counter("leads", total))
    typer.echo(
        f"activated version {version}: {done['rescored']:,} leads rescored, "
        f"{done['changed']:,} changed"
    )


# --- recompute ---------------------------------------------------------------------------


def recompute_command(
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="ISO 8601 time to score at (default: now).")
    ] = None,
) -> None:
    """Rescore every lead now (or as of a time), in batches; history for changed leads."""
    moment = parse_optional_as_of(as_of)
    with service() as ctx, progress_bar("recompute") as bar:
        total = count_leads(ctx)
        report = recompute(ctx, moment, progress=bar.counter("leads", total))
    typer.echo(f"recomputed {report.leads:,} leads: {report.changed:,} changed")


# --- init-demo ---------------------------------------------------------------------------


def _demo_automations(ctx: Context, path: Path) -> None:
    """The demo owners and teams, then the example automations, active."""
    for owner_id, name, _ in DEMO_OWNERS:
        owners.create_owner(
            ctx, owners.OwnerIn(id=owner_id, name=name, email=owner_id), "init-demo"
        )
    for team in ("sales", "sales-cee"):
        members = [owner_id for owner_id, _, t in DEMO_OWNERS if t == team]
        owners.create_team(ctx, owners.TeamIn(name=team, members=members), "init-demo")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{path}: {exc.strerror or exc}") from None
    stored = automations.upload(ctx, text, "init-demo", activate=True)
    typer.echo(
        f"created {len(DEMO_OWNERS)} demo owners in teams sales and sales-cee; activated"
        f" {len(stored['automations'])} automations ({path}); e-mails go to"
        f" {ctx.settings.smtp_url or ctx.settings.mail_dir}"
    )


def init_demo(
    leads: Annotated[int, typer.Option(help="How many demo leads.")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed of the demo data.")] = 7,
    model: Annotated[Path, typer.Option(help="The model to activate.")] = DEMO_MODEL,
    automations_file: Annotated[
        Path, typer.Option("--automations", help="The automations to activate.")
    ] = DEMO_AUTOMATIONS,
) -> None:
    """Set up a demo database: the example model, demo leads with events and outcomes, demo
    owners in two sales teams, the example automations (active once the demo data is in, so
    that only what happens next acts), a dashboard admin (demo@leadscore.local) and an admin
    API key (printed on the last line). Run again on a set-up database, it only replaces the
    demo admin key and the demo user's password: the previous ones stop working, so one demo
    key and one demo password work at a time."""
    with service() as ctx:
        if scoring_models.list_versions(ctx) or count_leads(ctx):
            typer.echo("the database is already set up; replacing the demo admin key")
        else:
            try:
                text = model.read_text(encoding="utf-8")
            except OSError as exc:
                raise fail(f"{model}: {exc.strerror or exc}") from None
            stored = scoring_models.upload(ctx, text, "init-demo")
            scoring_models.activate(ctx, stored["version"], "init-demo")
            with tempfile.TemporaryDirectory() as folder:
                paths = demo.write(demo.generate(leads, seed), folder)
                with progress_bar("demo") as bar:
                    for kind in ("leads", "events", "outcomes"):
                        report = import_file(ctx, kind, paths[kind], progress=bar.update)
                        typer.echo(f"loaded {report.written:,} demo {kind}")
            _demo_automations(ctx, automations_file)
        key, revoked = keys.replace_key(ctx, "demo-admin", "admin", actor="init-demo")
        password = users.ensure_user(ctx, DEMO_USER, "admin", actor="init-demo")
        public_url = ctx.settings.public_url
    if revoked:
        typer.echo(f"revoked the previous demo admin key ({', '.join(revoked)})")
    typer.echo(f"Dashboard: {public_url}/  login {DEMO_USER} / {password}")
    typer.echo("admin API key (shown once):")
    typer.echo(key)
