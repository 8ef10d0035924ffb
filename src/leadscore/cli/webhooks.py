"""`leadscore webhooks test`: what a sample delivery of a tool would become (§8), before the
tool is pointed at leadscore. It maps the file with a preset or a configured endpoint and
prints each submission (person, event type, time, properties); it checks no signature and
writes nothing, so it needs neither the secret nor the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from leadscore.cli.support import fail
from leadscore.core.timestamps import format_timestamp
from leadscore.core.webhook_mapping import PRESETS, Mapped, WebhookEndpoint
from leadscore.service import mapped_webhooks
from leadscore.service.sources import Malformed, SourcesConfigError, load_file
from leadscore.settings import Settings

webhooks_app = typer.Typer(
    help="Mapped inbound webhooks: try a tool's sample payload.", no_args_is_help=True
)


@webhooks_app.command("test")
def test_command(
    file: Annotated[Path, typer.Argument(help="A sample delivery (JSON, or a form body).")],
    preset: Annotated[
        str | None, typer.Option(help=f"A ready preset: {', '.join(PRESETS)}.")
    ] = None,
    endpoint: Annotated[
        str | None,
        typer.Option(help="An endpoint of the sources file (LEADSCORE_SOURCES_FILE)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """Show what a sample payload would become: each lead and event, and the tool's event
    names the mapping skips. No signature is checked and nothing is written."""
    if (preset is None) == (endpoint is None):
        raise fail("give either --preset NAME or --endpoint NAME")
    if preset is not None:
        if preset not in PRESETS:
            raise fail(f"no preset {preset!r} ({', '.join(PRESETS)})")
        own = WebhookEndpoint.model_validate({"preset": preset, "secret": "unused"})
        name = preset
    else:
        assert endpoint is not None
        try:
            sources = load_file(Settings().sources_file)
        except SourcesConfigError as exc:
            raise fail(str(exc)) from None
        found = sources.webhooks.get(endpoint)
        if found is None:
            known = ", ".join(sources.webhooks) or "none (set LEADSCORE_SOURCES_FILE)"
            raise fail(f"no webhook endpoint {endpoint!r} in the sources file ({known})")
        own, name = found, endpoint
    try:
        body = file.read_bytes()
    except OSError as exc:
        raise fail(f"{file}: {exc.strerror or exc}") from None
    try:
        mapped = mapped_webhooks.mapped(mapped_webhooks.resolved(name, own), body)
    except Malformed as exc:
        where = f" (at {exc.field})" if exc.field else ""
        raise fail(f"{file}: {exc}{where}") from None
    _show(mapped, as_json)


def _rows(mapped: Mapped) -> list[dict[str, Any]]:
    return [
        {
            "person": s.email or ", ".join(f"{k}:{v}" for k, v in s.external_ids.items()),
            "event_type": s.event_type,
            "occurred_at": None if s.occurred_at is None else format_timestamp(s.occurred_at),
            "creates_lead": s.create,
            "event_id": s.event_id,
            "properties": dict(s.properties),
            "attributes": dict(s.attributes),
            "source": s.source,
        }
        for s in mapped.submissions
    ]


def _show(mapped: Mapped, as_json: bool) -> None:
    rows = _rows(mapped)
    if as_json:
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, sort_keys=True))
        if mapped.skipped:
            typer.echo(json.dumps({"skipped": mapped.skipped}, sort_keys=True))
        return
    for number, row in enumerate(rows, 1):
        creates = "creates a lead" if row["creates_lead"] else "known leads only"
        when = row["occurred_at"] or "when received"
        typer.echo(f"{number}. {row['person']}  {row['event_type']}  {when}  ({creates})")
        typer.echo(f"   event id    {row['event_id']}")
        for label in ("properties", "attributes"):
            if row[label]:
                values = ", ".join(
                    f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in row[label].items()
                )
                typer.echo(f"   {label:<11} {values}")
    skipped = ", ".join(f"{k or '(none)'} x{n}" for k, n in sorted(mapped.skipped.items()))
    tail = f"; skipped (not mapped): {skipped}" if skipped else ""
    typer.echo(f"{len(rows)} event(s), nothing written{tail}")
