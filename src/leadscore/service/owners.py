"""Owners and teams, managed by people (§6 `assign_owner` assigns leads to them).

An owner's `id` is the value a lead's `owner` holds (an e-mail or a CRM user id); `capacity`
caps the open leads assignment gives them (none: no cap); a deactivated owner keeps the leads
they own but is never assigned a new one. A team is an ordered list of owners: the order is
the round-robin order and breaks least-loaded ties. Owners are never deleted (history and
leads name them): deactivate them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    TypeAdapter,
    WithJsonSchema,
    field_validator,
)

from leadscore.core.timestamps import SPACE, format_timestamp
from leadscore.service.context import Context
from leadscore.service.cursors import PK_MAX
from leadscore.service.errors import Conflict, Invalid, Loc, NotFound, Problem
from leadscore.service.inputs import Email, Id, Input, Name, whole
from leadscore.store import Connection, Row, audit
from leadscore.store import owners as stored

MAX_MEMBERS = 1000


class UnknownOwner(NotFound):
    """No owner has this id (404; `problems` locate each unknown id a request body named)."""

    def __init__(self, owner_id: str, *others: str, problems: Sequence[Problem] = ()) -> None:
        named = ", ".join(repr(o) for o in (owner_id, *others))
        super().__init__(f"no owner{'s' if others else ''} {named}", list(problems))
        self.owner_id = owner_id


class UnknownTeam(NotFound):
    """No team has this name (404)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"no team {name!r}")
        self.name = name


# --- what may be written ------------------------------------------------------------------


def _path_segment(value: str) -> str:
    if "/" in value or value in (".", ".."):
        raise ValueError("cannot contain '/' or be '.' or '..': it names one URL path segment")
    return value


_S = SPACE
PATH_NAME_PATTERN = (
    f"^(?![{_S}]*\\.\\.?[{_S}]*$)[{_S}]*[^/{_S}\\x00](?:[^/\\x00]{{0,198}}[^/{_S}\\x00])?[{_S}]*$"
)
"""What `PathName` accepts, as a schema pattern (trimmed: 1 to 200 characters)."""
PathName = Annotated[
    Name,
    AfterValidator(_path_segment),
    WithJsonSchema({"type": "string", "pattern": PATH_NAME_PATTERN}),
]
"""An owner id, a team or a list name: 1 to 200 characters once trimmed, which name a URL
path segment (`/owners/{id}`, `/teams/{name}`), so no '/' and not '.' or '..'."""
Capacity = Annotated[int, Field(ge=0, le=PK_MAX), BeforeValidator(whole)]
"""The most open leads assignment gives an owner (0: none for now)."""


NAME_SCHEMA = TypeAdapter(Name).json_schema()


def _not_null(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # optional, but never null: a default of null would say null


class OwnerIn(Input):
    """A new owner."""

    id: PathName = Field(description="The value a lead's `owner` holds: an e-mail, a CRM id.")
    name: Name
    email: Email | None = None
    capacity: Capacity | None = Field(None, description="Most open leads; null: no cap.")
    active: bool = True


class OwnerChange(Input):
    """What to change of an owner: only the keys sent change; `email: null` and
    `capacity: null` clear them (no cap)."""

    name: Annotated[Name | None, WithJsonSchema(NAME_SCHEMA)] = Field(
        None, json_schema_extra=_not_null
    )
    email: Email | None = None
    capacity: Capacity | None = None
    active: Annotated[bool | None, WithJsonSchema({"type": "boolean"})] = Field(
        None, json_schema_extra=_not_null
    )

    @field_validator("name", "active")
    @classmethod
    def _given(cls, value: object) -> object:
        if value is None:
            raise ValueError("cannot be null (leave the key out to keep it)")
        return value


def _unique(ids: list[str]) -> list[str]:
    seen: set[str] = set()
    for owner_id in ids:
        if owner_id in seen:
            raise ValueError(f"{owner_id!r} is named twice")
        seen.add(owner_id)
    return ids


Members = Annotated[
    list[Id],  # as stored: exact ids, looked up (an unknown one is a 404), never trimmed
    Field(max_length=MAX_MEMBERS, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique),
]


class TeamIn(Input):
    """A new team and its members in order (the round-robin order)."""

    name: PathName
    members: Members = Field(default_factory=list, description="Owner ids, in order.")


class TeamMembers(Input):
    """A team's members, in order: they replace the current ones."""

    members: Members = Field(description="Owner ids, in order.")


# --- owners ---------------------------------------------------------------------------------


def _time(micros: int) -> str:
    return format_timestamp(micros)


def owner_dict(row: Row, load: int, teams: list[str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "email": row.email,
        "active": bool(row.active),
        "capacity": row.capacity,
        "open_leads": load,
        "teams": teams,
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
    }


def _described(conn: Connection, rows: Sequence[Row]) -> list[dict[str, Any]]:
    loads = stored.loads(conn, [r.id for r in rows])
    teams = stored.teams_of(conn, [r.pk for r in rows])
    return [owner_dict(r, loads[r.id], teams[r.pk]) for r in rows]


def create_owner(ctx: Context, item: OwnerIn, actor: str) -> dict[str, Any]:
    """Add an owner; a 409 when the id is taken."""
    now = ctx.now()
    values = {**item.model_dump(), "created_at": now, "updated_at": now}

    def work(conn: Connection) -> dict[str, Any]:
        row = stored.add_owner(conn, values)
        if row is None:
            raise Conflict(f"an owner with id {item.id!r} exists", ("body", "id"))
        audit.record(conn, now, actor, "owner.create", item.id, **item.model_dump())
        return _described(conn, [row])[0]

    return ctx.db.transact(work)


def update_owner(ctx: Context, owner_id: str, change: OwnerChange, actor: str) -> dict[str, Any]:
    """Change the keys sent of an owner (deactivating one keeps the leads they own)."""
    now = ctx.now()
    values = {name: getattr(change, name) for name in change.model_fields_set}

    def work(conn: Connection) -> dict[str, Any]:
        row = stored.owner(conn, owner_id, lock=True)
        if row is None:
            raise UnknownOwner(owner_id)
        if values:
            row = stored.change_owner(conn, row.pk, now, **values)
            audit.record(conn, now, actor, "owner.update", owner_id, **values)
        return _described(conn, [row])[0]

    return ctx.db.transact(work)


def set_active(ctx: Context, owner_id: str, active: bool, actor: str) -> dict[str, Any]:
    """Activate or deactivate an owner."""
    return update_owner(ctx, owner_id, OwnerChange(active=active), actor)


def get_owner(ctx: Context, owner_id: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        row = stored.owner(conn, owner_id)
        if row is None:
            raise UnknownOwner(owner_id)
        return _described(conn, [row])[0]


def list_owners(ctx: Context) -> list[dict[str, Any]]:
    """Every owner by id, with their open leads and teams."""
    with ctx.db.read() as conn:
        return _described(conn, stored.every_owner(conn))


# --- teams ----------------------------------------------------------------------------------


def _team_dict(conn: Connection, row: Row, members: list[Row]) -> dict[str, Any]:
    loads = stored.loads(conn, [m.id for m in members])
    cursor = next((m.id for m in members if m.pk == row.rr_last_owner), None)
    return {
        "name": row.name,
        "members": [
            {
                "id": m.id,
                "name": m.name,
                "active": bool(m.active),
                "capacity": m.capacity,
                "open_leads": loads[m.id],
            }
            for m in members
        ],
        "last_assigned": cursor,
        "created_at": _time(row.created_at),
    }


def _member_pks(
    conn: Connection, owner_ids: Sequence[str], loc_of: Callable[[int], Loc]
) -> list[int]:
    """The keys of these owners, in order; every unknown one located (404)."""
    found = stored.owners_by_id(conn, owner_ids)
    unknown = [
        Problem(loc_of(i), f"no owner {owner_id!r}", "not_found")
        for i, owner_id in enumerate(owner_ids)
        if owner_id not in found
    ]
    if unknown:
        raise UnknownOwner(*dict.fromkeys(o for o in owner_ids if o not in found), problems=unknown)
    return [found[owner_id].pk for owner_id in owner_ids]


def _team_or_raise(conn: Connection, name: str, *, lock: bool = False) -> Row:
    row = stored.team(conn, name, lock=lock)
    if row is None:
        raise UnknownTeam(name)
    return row


def _described_team(conn: Connection, row: Row) -> dict[str, Any]:
    return _team_dict(conn, row, stored.members(conn, [row.pk])[row.pk])


def create_team(ctx: Context, item: TeamIn, actor: str) -> dict[str, Any]:
    """Add a team with its members in order; a 409 when the name is taken, a 404 naming each
    unknown member (nothing is written)."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        pks = _member_pks(conn, item.members, lambda i: ("body", "members", i))
        row = stored.add_team(conn, item.name, now)
        if row is None:
            raise Conflict(f"a team named {item.name!r} exists", ("body", "name"))
        stored.set_members(conn, row.pk, pks)
        audit.record(conn, now, actor, "team.create", item.name, members=item.members)
        return _described_team(conn, row)

    return ctx.db.transact(work)


def set_members(
    ctx: Context,
    name: str,
    owner_ids: Sequence[str],
    actor: str,
    loc_of: Callable[[int], Loc] = lambda i: ("body", "members", i),
) -> dict[str, Any]:
    """Make these owners the team's members, in this order (the round-robin cursor stays
    on its owner, if still a member)."""
    problems = _repeats(owner_ids, loc_of)
    if problems:
        raise Invalid(problems)
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        row = _team_or_raise(conn, name, lock=True)
        pks = _member_pks(conn, owner_ids, loc_of)
        stored.set_members(conn, row.pk, pks)
        audit.record(conn, now, actor, "team.members", name, members=list(owner_ids))
        return _described_team(conn, row)

    return ctx.db.transact(work)


def _repeats(owner_ids: Sequence[str], loc_of: Callable[[int], Loc]) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for i, owner_id in enumerate(owner_ids):
        if owner_id in seen:
            problems.append(Problem(loc_of(i), f"{owner_id!r} is named twice"))
        seen.add(owner_id)
    return problems


def add_member(ctx: Context, name: str, owner_id: str, actor: str) -> dict[str, Any]:
    """Append an owner to a team (nothing changes when they are a member already)."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        row = _team_or_raise(conn, name, lock=True)
        (pk,) = _member_pks(conn, [owner_id], lambda i: ("owner",))
        if stored.add_member(conn, row.pk, pk):
            audit.record(conn, now, actor, "team.add", name, owner=owner_id)
        return _described_team(conn, row)

    return ctx.db.transact(work)


def remove_member(ctx: Context, name: str, owner_id: str, actor: str) -> dict[str, Any]:
    """Take an owner out of a team; a 404 when they are not a member."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        row = _team_or_raise(conn, name, lock=True)
        (pk,) = _member_pks(conn, [owner_id], lambda i: ("owner",))
        if not stored.remove_member(conn, row.pk, pk):
            raise NotFound(f"{owner_id!r} is not a member of team {name!r}")
        audit.record(conn, now, actor, "team.remove", name, owner=owner_id)
        return _described_team(conn, row)

    return ctx.db.transact(work)


def get_team(ctx: Context, name: str) -> dict[str, Any]:
    with ctx.db.read() as conn:
        return _described_team(conn, _team_or_raise(conn, name))


def list_teams(ctx: Context) -> list[dict[str, Any]]:
    """Every team by name, with its members in order."""
    with ctx.db.read() as conn:
        rows = stored.every_team(conn)
        members = stored.members(conn, [r.pk for r in rows])
        return [_team_dict(conn, r, members[r.pk]) for r in rows]
