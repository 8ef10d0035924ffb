"""Automations (§6) on the command line: the `automations` and `outbox` sub-commands and
`leadscore worker`, the outbox worker as a process of its own."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli.support import err, fail, service
from leadscore.core.automations import AutomationsError, load_automations_text
from leadscore.core.durations import DurationError, parse_duration
from leadscore.service import automations, outbox, simulate
from leadscore.service.errors import ServiceError

automations_app = typer.Typer(
    help="Validate, upload, list, activate and simulate automations.", no_args_is_help=True
)
outbox_app = typer.Typer(help="The outbox of automations' actions.", no_args_is_help=True)


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise fail(f"{file}: not UTF-8 text (byte {exc.start})") from None


def _report(file: Path, exc: ServiceError) -> typer.Exit:
    for problem in getattr(exc, "problems", []):
        extra = problem.extra or {}
        line = f" (line {extra['line']})" if extra.get("line") else ""
        err.print(f"{file}: {extra.get('path') or '<file>'}: {problem.msg}{line}", markup=False)
    if not getattr(exc, "problems", None):
        err.print(f"error: {exc}", markup=False)
    return typer.Exit(2)


@automations_app.command("validate")
def validate(file: Annotated[Path, typer.Argument(help="The automations YAML file.")]) -> None:
    """Check an automations file without storing it: every error with its key path and line."""
    text = _read(file)
    try:
        parsed = load_automations_text(text, source=str(file))
    except AutomationsError as exc:
        for problem in exc.problems:
            err.print(f"{file}: {problem}", markup=False)
        raise typer.Exit(2) from None
    typer.echo(f"{file}: {len(parsed.automations)} automations, valid")


@automations_app.command("upload")
def upload(
    file: Annotated[Path, typer.Argument(help="The automations YAML file.")],
    activate: Annotated[bool, typer.Option(help="Make it the active version.")] = False,
) -> None:
    """Validate an automations file and store it as a new version."""
    text = _read(file)
    with service() as ctx:
        try:
            stored = automations.upload(ctx, text, "cli", activate=activate)
        except ServiceError as exc:
            raise _report(file, exc) from None
    state = " (active)" if activate else ""
    typer.echo(
        f"stored {len(stored['automations'])} automations as version {stored['version']}{state}"
    )


@automations_app.command("list")
def list_versions() -> None:
    """List the stored versions and what each holds."""
    with service() as ctx:
        versions = automations.list_versions(ctx)
    table = Table("version", "active", "created", "automations")
    for v in versions:
        names = ", ".join(a["name"] for a in v["automations"])
        table.add_row(str(v["version"]), "yes" if v["active"] else "", v["created_at"], names)
    Console().print(table)


@automations_app.command("show")
def show(version: Annotated[int, typer.Argument(help="The version.")]) -> None:
    """Print a stored version's YAML."""
    with service() as ctx:
        try:
            typer.echo(automations.get_version(ctx, version)["yaml"], nl=False)
        except ServiceError as exc:
            raise fail(str(exc)) from None


@automations_app.command("activate")
def activate(version: Annotated[int, typer.Argument(help="The version to activate.")]) -> None:
    """Make a version the active automations (what fires from now on)."""
    with service() as ctx:
        try:
            automations.activate(ctx, version, "cli")
        except ServiceError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"automations version {version} is active")


@automations_app.command("deactivate")
def deactivate() -> None:
    """Switch automations off: nothing new fires (the outbox is still delivered)."""
    with service() as ctx:
        automations.activate(ctx, None, "cli")
    typer.echo("automations are off")


@automations_app.command("simulate")
def simulate_command(
    since: Annotated[str, typer.Option(help="How far back to replay, e.g. 30d or 12w.")] = "30d",
    file: Annotated[
        Path | None,
        typer.Option(help="An automations file to try (default: the active version)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Replay the stored score history: how often would each automation have fired, per day
    and per owner? Nothing is written or sent."""
    try:
        window = parse_duration(since)
    except DurationError as exc:
        raise fail(f"--since: {exc}") from None
    with service() as ctx:
        try:
            if file is not None:
                parsed = automations.parse(ctx, _read(file), source=str(file))
            else:
                active = automations.active(ctx)
                if active is None:
                    raise fail("no automations are active: give --file")
                parsed = active[1]
            report = simulate.simulate(ctx, parsed, window)
        except ServiceError as exc:
            raise _report(file or Path("automations"), exc) from None
    if as_json:
        typer.echo(json.dumps(report, indent=2))
        return
    _print_simulation(report)


def _print_simulation(report: dict[str, Any]) -> None:
    console = Console()
    console.print(
        f"replayed {report['from']} → {report['to']}: {report['history_rows']:,} score changes,"
        f" {report['events']:,} events, {report['leads_created']:,} leads created"
    )
    table = Table("automation", "trigger", "fired", "per day (mean)", "busiest day", "owners")
    for item in report["automations"]:
        busiest = item["busiest_day"]
        table.add_row(
            item["name"],
            item["trigger"],
            f"{item['fired']:,}",
            f"{item['per_day_mean']:.1f}",
            f"{busiest['day']} ({busiest['fired']})" if busiest else "",
            ", ".join(f"{o}: {n}" for o, n in list(item["per_owner"].items())[:5]),
        )
    console.print(table)


# --- outbox -----------------------------------------------------------------------------


@outbox_app.command("list")
def outbox_list(
    status: Annotated[
        str | None, typer.Option(help="pending, delivering, delivered or failed.")
    ] = None,
    automation: Annotated[str | None, typer.Option(help="Only this automation.")] = None,
    lead: Annotated[str | None, typer.Option(help="Only this lead (its id).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
) -> None:
    """The newest outbox rows, with counts per status."""
    if status is not None and status not in outbox.STATUSES:
        raise fail(f"--status must be one of {', '.join(outbox.STATUSES)}")
    with service() as ctx:
        try:
            rows, _ = outbox.list_rows(
                ctx, status=status, automation=automation, lead_id=lead, limit=limit
            )
        except ServiceError as exc:
            raise fail(str(exc)) from None
        counts = outbox.counts(ctx)
    table = Table("id", "lead", "automation", "action", "status", "attempts", "created", "error")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["lead_id"] or "",
            r["automation"],
            r["action"],
            r["status"],
            str(r["attempts"]),
            r["created_at"],
            (r["last_error"] or "")[:60],
        )
    Console().print(table)
    typer.echo("  ".join(f"{k}: {v:,}" for k, v in counts.items()))


@outbox_app.command("show")
def outbox_show(row: Annotated[int, typer.Argument(help="The row's id.")]) -> None:
    """One row as JSON, with what was sent (an e-mail as sent, a webhook's payload)."""
    with service() as ctx:
        try:
            typer.echo(json.dumps(outbox.get_row(ctx, row), indent=2, ensure_ascii=False))
        except ServiceError as exc:
            raise fail(str(exc)) from None


@outbox_app.command("retry")
def outbox_retry(
    rows: Annotated[list[int] | None, typer.Argument(help="Failed rows' ids.")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Every failed row.")] = False,
) -> None:
    """Retry failed actions now (their attempts are counted afresh)."""
    with service() as ctx:
        ids = list(rows or [])
        if all_failed:
            ids += outbox.failed_ids(ctx)
        if not ids:
            raise fail("give row ids or --all-failed")
        for pk in ids:
            try:
                outbox.retry(ctx, pk, "cli")
            except ServiceError as exc:
                raise fail(str(exc)) from None
    typer.echo(f"{len(ids)} rows will be retried")


@outbox_app.command("prune")
def outbox_prune() -> None:
    """Delete delivered rows older than LEADSCORE_OUTBOX_RETENTION_DAYS (failed ones stay)."""
    with service() as ctx:
        gone = outbox.prune(ctx)
    typer.echo(f"pruned {gone:,} delivered rows")


def worker(
    once: Annotated[
        bool, typer.Option(help="Deliver what is due now, then exit (cron, tests).")
    ] = False,
) -> None:
    """Run the outbox worker: deliver the automations' actions until interrupted. Several
    may run beside `leadscore serve` (PostgreSQL: they never deliver a row twice at once)."""
    with service() as ctx, outbox.Worker(ctx) as w:
        if once:
            done = w.run_until_idle()
            typer.echo(f"claimed {done:,} actions")
            return
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        typer.echo(f"outbox worker {w.holder} running (Ctrl-C stops it)")
        w.run(stop)
