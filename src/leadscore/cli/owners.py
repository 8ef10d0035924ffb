"""The `owners`, `teams` and `lists` sub-commands: the people leads are assigned to, the
teams assignment picks from, and the lists and nurture sequences automations fill
(docs/owners-and-lists.md).

Each reads its database from LEADSCORE_DATABASE_URL (default ./leadscore.db), migrated first.
Values are checked by the same models as the API's bodies; a mistake prints `error: …`
naming the option and exits with 2, and changes nothing.
"""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Column, Table

from leadscore.cli.support import err, fail, service, user_errors
from leadscore.service import lists, owners

ACTOR = "cli"
M = TypeVar("M", bound=BaseModel)

owners_app = typer.Typer(
    help="Add, change, deactivate and list the owners leads are assigned to.",
    no_args_is_help=True,
)
teams_app = typer.Typer(
    help="Create teams of owners and set their order (the round-robin order).",
    no_args_is_help=True,
)
lists_app = typer.Typer(
    help="List lists and nurture sequences, show and export their members.",
    no_args_is_help=True,
)


def _valid(model: type[M], options: dict[str, str], **values: object) -> M:
    """`values` as `model`, or every problem on stderr naming its option, and exit 2."""
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            err.print(f"error: {options.get(field, field)}: {error['msg']}", markup=False)
        raise typer.Exit(2) from None


def _capacity(value: int | None) -> str:
    return "no cap" if value is None else str(value)


def _print_owners(rows: list[dict[str, Any]]) -> None:
    table = Table(
        Column("id", overflow="fold"),
        "name",
        Column("e-mail", overflow="fold"),
        "active",
        "capacity",
        "open leads",
        "teams",
    )
    for o in rows:
        table.add_row(
            o["id"],
            o["name"],
            o["email"] or "",
            "yes" if o["active"] else "no",
            _capacity(o["capacity"]),
            str(o["open_leads"]),
            ", ".join(o["teams"]),
        )
    Console().print(table)


def _print_team(team: dict[str, Any]) -> None:
    members = [f"{m['id']}{'' if m['active'] else ' (inactive)'}" for m in team["members"]]
    typer.echo(f"team {team['name']!r}: {', '.join(members) or 'no members'}")


# --- owners --------------------------------------------------------------------------------

OWNER_OPTIONS = {"id": "ID", "name": "--name", "email": "--email", "capacity": "--capacity"}


@owners_app.command("add")
def owners_add(
    owner_id: Annotated[
        str, typer.Argument(metavar="ID", help="What leads' owner holds: an e-mail, a CRM id.")
    ],
    name: Annotated[str | None, typer.Option(help="The person's name [default: ID].")] = None,
    email: Annotated[str | None, typer.Option(help="Their e-mail address.")] = None,
    capacity: Annotated[
        int | None, typer.Option(help="Most open leads assignment gives them [default: no cap].")
    ] = None,
    active: Annotated[
        bool, typer.Option("--active/--inactive", help="Whether assignment may pick them.")
    ] = True,
) -> None:
    """Add an owner."""
    item = _valid(
        owners.OwnerIn,
        OWNER_OPTIONS,
        id=owner_id,
        name=owner_id if name is None else name,
        email=email,
        capacity=capacity,
        active=active,
    )
    with service() as ctx:
        made = owners.create_owner(ctx, item, ACTOR)
    typer.echo(f"added owner {made['id']!r} (capacity: {_capacity(made['capacity'])})")


@owners_app.command("list")
def owners_list() -> None:
    """List owners with their open leads and teams."""
    with service() as ctx:
        _print_owners(owners.list_owners(ctx))


@owners_app.command("update")
def owners_update(
    owner_id: Annotated[str, typer.Argument(metavar="ID", help="The owner's id.")],
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    email: Annotated[str | None, typer.Option(help="A new e-mail address.")] = None,
    no_email: Annotated[bool, typer.Option("--no-email", help="Forget the e-mail.")] = False,
    capacity: Annotated[int | None, typer.Option(help="A new capacity.")] = None,
    no_capacity: Annotated[
        bool, typer.Option("--no-capacity", help="Remove the cap on open leads.")
    ] = False,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Activate or deactivate.")
    ] = None,
) -> None:
    """Change an owner: only the options given change."""
    if email is not None and no_email:
        raise fail("give --email or --no-email, not both")
    if capacity is not None and no_capacity:
        raise fail("give --capacity or --no-capacity, not both")
    values: dict[str, object] = {}
    for key, value in (("name", name), ("email", email), ("capacity", capacity)):
        if value is not None:
            values[key] = value
    if no_email:
        values["email"] = None
    if no_capacity:
        values["capacity"] = None
    if active is not None:
        values["active"] = active
    if not values:
        raise fail("nothing to change: give --name, --email, --capacity, --active, …")
    change = _valid(owners.OwnerChange, OWNER_OPTIONS, **values)
    with service() as ctx:
        _print_owners([owners.update_owner(ctx, owner_id, change, ACTOR)])


@owners_app.command("deactivate")
def owners_deactivate(
    owner_id: Annotated[str, typer.Argument(metavar="ID", help="The owner's id.")],
) -> None:
    """Stop assigning leads to an owner; they keep the leads they own."""
    with service() as ctx:
        done = owners.set_active(ctx, owner_id, False, ACTOR)
    typer.echo(f"deactivated {owner_id!r}: keeps {done['open_leads']} open leads, gets no new ones")


@owners_app.command("activate")
def owners_activate(
    owner_id: Annotated[str, typer.Argument(metavar="ID", help="The owner's id.")],
) -> None:
    """Let assignment give an owner leads again."""
    with service() as ctx:
        owners.set_active(ctx, owner_id, True, ACTOR)
    typer.echo(f"activated {owner_id!r}")


# --- teams ---------------------------------------------------------------------------------


@teams_app.command("create")
def teams_create(
    name: Annotated[str, typer.Argument(help="The team's name.")],
    member: Annotated[
        list[str] | None,
        typer.Option("--member", help="An owner id, in round-robin order (repeatable)."),
    ] = None,
) -> None:
    """Create a team with its members in order."""
    item = _valid(
        owners.TeamIn, {"name": "NAME", "members": "--member"}, name=name, members=member or []
    )
    with service() as ctx:
        _print_team(owners.create_team(ctx, item, ACTOR))


@teams_app.command("members")
def teams_members(
    name: Annotated[str, typer.Argument(help="The team's name.")],
    owner_ids: Annotated[
        list[str], typer.Argument(metavar="ID...", help="Every member's id, in order.")
    ],
) -> None:
    """Set a team's members, in this order (it replaces the current ones)."""
    with service() as ctx:
        _print_team(owners.set_members(ctx, name, owner_ids, ACTOR, lambda i: ("ID",)))


@teams_app.command("add")
def teams_add(
    name: Annotated[str, typer.Argument(help="The team's name.")],
    owner_id: Annotated[str, typer.Argument(metavar="ID", help="The owner to append.")],
) -> None:
    """Append an owner to a team."""
    with service() as ctx:
        _print_team(owners.add_member(ctx, name, owner_id, ACTOR))


@teams_app.command("remove")
def teams_remove(
    name: Annotated[str, typer.Argument(help="The team's name.")],
    owner_id: Annotated[str, typer.Argument(metavar="ID", help="The owner to take out.")],
) -> None:
    """Take an owner out of a team (the others keep their order)."""
    with service() as ctx:
        _print_team(owners.remove_member(ctx, name, owner_id, ACTOR))


@teams_app.command("list")
def teams_list() -> None:
    """List teams with their members in order."""
    with service() as ctx:
        teams = owners.list_teams(ctx)
    table = Table("team", "members, in order", "last assigned")
    for team in teams:
        members = [
            f"{m['id']}{'' if m['active'] else ' (inactive)'} [{m['open_leads']}"
            f"{'' if m['capacity'] is None else '/' + str(m['capacity'])}]"
            for m in team["members"]
        ]
        table.add_row(team["name"], ", ".join(members), team["last_assigned"] or "")
    Console().print(table)


# --- lists ---------------------------------------------------------------------------------


class Kind(StrEnum):
    list = "list"
    sequence = "sequence"


@lists_app.command("list")
def lists_list() -> None:
    """List lists and nurture sequences with their number of members."""
    with service() as ctx:
        found = lists.list_lists(ctx)
    table = Table("name", "kind", "members", "created", "description")
    for x in found:
        table.add_row(
            x["name"], x["kind"], str(x["members"]), x["created_at"], x["description"] or ""
        )
    Console().print(table)


@lists_app.command("create")
def lists_create(
    name: Annotated[str, typer.Argument(help="The list's name.")],
    kind: Annotated[Kind, typer.Option(help="A list, or a nurture sequence.")] = Kind.list,
    description: Annotated[str | None, typer.Option(help="What it is for.")] = None,
) -> None:
    """Create an empty list (automations also create lists on first use)."""
    with service() as ctx:
        made = lists.create_list(ctx, name, kind.value, description, ACTOR)
    typer.echo(f"created {made['kind']} {made['name']!r}")


@lists_app.command("members")
def lists_members(
    name: Annotated[str, typer.Argument(help="The list's name.")],
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 100,
) -> None:
    """Show a list's members in the order they were added."""
    shown: list[dict[str, Any]] = []
    more = False
    with service() as ctx:
        cursor = None
        while len(shown) < limit:
            page = lists.members_page(ctx, name, cursor, min(limit - len(shown), 500))
            shown += page["data"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        more = cursor is not None
    table = Table("lead", "e-mail", "name", "company", "score", "stage", "owner", "added", "by")
    for m in shown:
        table.add_row(
            m["lead_id"],
            m["email"] or "",
            m["name"] or "",
            m["company"] or "",
            "" if m["score"] is None else f"{m['score']:.2f}",
            m["stage"] or "",
            m["owner"] or "",
            m["added_at"],
            m["added_by"],
        )
    Console().print(table)
    if more:
        err.print(f"showing the first {limit:,}; `leadscore lists export` writes them all")


@lists_app.command("export")
@user_errors
def lists_export(
    name: Annotated[str, typer.Argument(help="The list's name.")],
    out: Annotated[Path, typer.Option(help="The CSV file to write (RFC 4180, UTF-8).")],
) -> None:
    """Write a list's members to a CSV file: lead id, e-mail, name, company, score, tier,
    stage, owner, added_at, added_by. The file appears whole or not at all."""
    folder = out.resolve().parent
    if not folder.is_dir():
        raise fail(f"{out}: the folder {folder} does not exist")
    written = 0
    with service() as ctx:
        records = lists.csv_lines(ctx, name)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{out.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
                for record in records:
                    file.write(record)
                    written += 1
            os.replace(temporary, out)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    typer.echo(f"wrote {written - 1:,} members of {name!r} to {out}")
