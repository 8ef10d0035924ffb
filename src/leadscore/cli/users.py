"""`leadscore user create|list`: the people who log in to the dashboard. A password is read
from stdin or a hidden prompt, never from the command line (where `ps` and shell history
would keep it)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from leadscore.cli.support import fail, service
from leadscore.service import users

user_app = typer.Typer(help="Create and list dashboard users.", no_args_is_help=True)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option(help="The user's e-mail, their login.")],
    role: Annotated[str, typer.Option(help="viewer, manager or admin.")] = "viewer",
    language: Annotated[
        str | None,
        typer.Option(help="Dashboard language: en, pl, ro or sr-Latn; default: the browser's."),
    ] = None,
) -> None:
    """Create a dashboard user. The password is read from stdin (its first line), or asked
    for twice without echo on a terminal."""
    if sys.stdin.isatty():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise fail("no password given on stdin")
    with service() as ctx:
        created = users.create_user(ctx, email, password, role, language)
    typer.echo(f"created user {created['email']} ({created['role']})")


@user_app.command("list")
def user_list() -> None:
    """List dashboard users (never their passwords or hashes)."""
    with service() as ctx:
        rows = users.list_users(ctx)
    table = Table("email", "role", "language", "active", "created")
    for row in rows:
        table.add_row(
            row["email"], row["role"], row["language"] or "", str(row["active"]), row["created_at"]
        )
    Console().print(table)
