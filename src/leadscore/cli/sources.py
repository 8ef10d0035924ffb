"""`leadscore sources check`: validate the sources file and show, per source, the address to
paste into the platform and whether its secrets resolve (docs/sources.md)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from leadscore.cli.support import fail
from leadscore.service.source_overview import overview
from leadscore.service.sources import SourcesConfigError, load_file
from leadscore.settings import Settings

sources_app = typer.Typer(
    help="Lead sources: ad-platform lead forms, mapped webhooks, website tracking "
    "(LEADSCORE_SOURCES_FILE).",
    no_args_is_help=True,
)


@sources_app.command("check")
def check_command(
    file: Annotated[
        Path | None,
        typer.Argument(help="The sources file (default: LEADSCORE_SOURCES_FILE)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The overview as JSON.")] = False,
) -> None:
    """Print every problem of the sources file with its key path and line (exit 2), or each
    configured source with its URL, its check and whether its secrets resolve (exit 1 when
    one does not). Reads no database and prints no secret."""
    settings = Settings()
    path = str(file) if file is not None else settings.sources_file
    if path is None:
        raise fail("no sources file: name one, or set LEADSCORE_SOURCES_FILE")
    try:
        loaded = load_file(path)
    except SourcesConfigError as exc:
        raise fail(str(exc)) from None
    found = overview(loaded, settings.public_url, os.environ)
    if as_json:
        typer.echo(json.dumps(found, indent=2))
    else:
        _print(found)
    if found["problems"]:
        for problem in found["problems"]:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(1)


def _print(found: dict[str, Any]) -> None:
    for form in found["lead_forms"]:
        forms = ", ".join(form["forms"]) or "every form alike"
        typer.echo(f"lead form  {form['platform']:<9} {form['url']}  ({forms})")
    for hook in found["webhooks"]:
        kind = hook["preset"] or "own mapping"
        typer.echo(f"webhook    {hook['name']:<9} {hook['url']}  ({kind})")
    for site in found["tracking"]["sites"]:
        origins = ", ".join(site["allowed_origins"])
        typer.echo(f"tracking   {site['name']:<9} {site['snippet']}  (from {origins})")
    if not (found["lead_forms"] or found["webhooks"] or found["tracking"]["sites"]):
        typer.echo("the sources file configures no source")
