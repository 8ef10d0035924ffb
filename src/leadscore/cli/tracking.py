"""`leadscore tracking …`: website tracking's helpers (docs/sources.md, "Website tracking"):
the signed `ls_t` token of an e-mail link, and the purge of stale anonymous visitors."""

from __future__ import annotations

from typing import Annotated

import typer

from leadscore.cli.support import fail, service
from leadscore.service import tracking
from leadscore.service.sources import Unsigned

tracking_app = typer.Typer(
    help="Website tracking (the tracking: section of LEADSCORE_SOURCES_FILE).",
    no_args_is_help=True,
)


@tracking_app.command("link-token")
def link_token_command(
    email: Annotated[str, typer.Argument(help="The address the e-mail is sent to.")],
    days: Annotated[
        float, typer.Option("--days", min=0.01, max=3650, help="How long the token is valid.")
    ] = 30,
) -> None:
    """Print the `ls_t` token to append to a link of an e-mail (…?ls_t=TOKEN): a visitor
    arriving by it is identified as this address (signed with LEADSCORE_SECRET_KEY)."""
    if "@" not in email:
        raise fail(f"{email!r} is not an e-mail address")
    with service() as ctx:
        try:
            typer.echo(tracking.link_token(ctx, email, days))
        except Unsigned as exc:
            raise fail(str(exc)) from None


@tracking_app.command("purge")
def purge_command() -> None:
    """Delete the anonymous visitors never identified whose last beacon is older than
    tracking.anonymous_days (the endpoint also does it, at most hourly)."""
    with service() as ctx:
        gone = tracking.purge(ctx)
    typer.echo(f"deleted {gone:,} anonymous visitors")
