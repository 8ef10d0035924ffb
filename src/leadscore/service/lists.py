"""Lists and nurture sequences (SPEC §6 `add_to_list`, `remove_from_list`, `enroll`): named
sets of leads, each membership with when and by whom (an automation's name, a person).

A list is created on first use, with its kind: `list`, or `sequence` for `enroll` (a nurture
sequence another tool runs from the list). A name is one list: adding to a sequence as if it
were a list is a conflict, not a second list. A lead is a member at most once: adding it
again changes nothing (and keeps when and by whom it first came).

The export (`csv_lines`) is RFC 4180 CSV, one row per member in the order they were added,
read in pages so that a list of any size streams in constant memory. A text cell that a
spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return: lead
names and companies come from web forms) is prefixed with a single quote.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from typing import Any, Literal

from pydantic import Field, TypeAdapter, ValidationError

from leadscore.core.timestamps import format_timestamp
from leadscore.service.context import Context
from leadscore.service.cursors import decode_cursor, encode_cursor
from leadscore.service.errors import Conflict, Invalid, Loc, NotFound, Problem
from leadscore.service.inputs import Id, Input, Name
from leadscore.service.owners import PathName
from leadscore.store import Connection, Row, audit
from leadscore.store import leads as stored_leads
from leadscore.store import lists as stored

Kind = Literal["list", "sequence"]
KINDS: tuple[Kind, ...] = ("list", "sequence")
MAX_LEADS = 1000
BY_LENGTH = 200
"""Longest `added_by`: an automation's name, a person, an API key's name."""
EXPORT_PAGE = 1000
CURSOR_KIND = "list-members"
COLUMNS = (
    "lead_id",
    "email",
    "name",
    "company",
    "score",
    "tier",
    "stage",
    "owner",
    "added_at",
    "added_by",
)
"""A member as the API and the export show it."""
NAME_ATTRIBUTES = ("name", "full_name", "fullname")
FIRST_NAME = ("first_name", "firstname")
LAST_NAME = ("last_name", "lastname")
COMPANY_ATTRIBUTES = ("company", "company_name", "companyname", "account")
"""The attributes a member's `name` and `company` come from, the first one present (a name
also from its first and last parts)."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ListMembersIn(Input):
    """Leads to add to a list (created on first use, of `kind`), by a person."""

    lead_ids: list[Id] = Field(min_length=1, max_length=MAX_LEADS)
    by: Name | None = Field(None, description="Who adds them; default: the API key's name.")
    kind: Kind = Field("list", description="The kind of a list created by this request.")


_NAME = TypeAdapter(PathName)


def list_name(name: str, loc: Loc = ("name",)) -> str:
    """A list's name, trimmed (1 to 200 characters, no '/'), or Invalid naming `loc`."""
    try:
        return _NAME.validate_python(name)
    except ValidationError as exc:
        raise Invalid([Problem(loc, e["msg"]) for e in exc.errors()]) from None


# --- what the automation worker calls ----------------------------------------------------


def add_to_list(
    conn: Connection, lead_pk: int, name: str, *, kind: str = "list", by: str, now: int
) -> bool:
    """Add a lead to the list `name` (created on first use, of `kind`: `list`, or `sequence`
    for `enroll`); False when it is a member already."""
    if kind not in KINDS:
        raise Invalid([Problem(("kind",), f"unknown kind {kind!r}; one of {', '.join(KINDS)}")])
    _check_by(by)
    if stored.lead_id(conn, lead_pk) is None:  # erased since the action was queued
        raise NotFound(f"no lead with key {lead_pk}")
    found, _ = stored.ensure(conn, list_name(name), kind, now)
    if found.kind != kind:
        raise Conflict(f"{found.name!r} is a {found.kind}, not a {kind}")
    return stored.add_member(conn, found.pk, lead_pk, by, now)


def remove_from_list(conn: Connection, lead_pk: int, name: str, *, by: str, now: int) -> bool:
    """Take a lead out of the list `name`; False when it was not a member (or there is no
    such list). The removal is audited (`list.remove`, by `by`): a membership leaves no
    other trace once gone."""
    _check_by(by)
    found = stored.by_name(conn, list_name(name))
    if found is None or not stored.remove_member(conn, found.pk, lead_pk):
        return False
    lead_id = stored.lead_id(conn, lead_pk)
    audit.record(conn, now, by, "list.remove", found.name, lead=lead_id)
    return True


def _check_by(by: str) -> None:
    if not 1 <= len(by) <= BY_LENGTH:
        raise Invalid([Problem(("by",), f"must be 1 to {BY_LENGTH} characters, not {len(by)}")])


# --- what people do ----------------------------------------------------------------------


def _list_or_raise(conn: Connection, name: str) -> Row:
    found = stored.by_name(conn, name)
    if found is None:
        raise NotFound(f"no list {name!r}")
    return found


def list_dict(row: Row, members: int) -> dict[str, Any]:
    return {
        "name": row.name,
        "kind": row.kind,
        "description": row.description,
        "members": members,
        "created_at": format_timestamp(row.created_at),
    }


def list_lists(ctx: Context) -> list[dict[str, Any]]:
    """Every list and sequence by name, with its number of members."""
    with ctx.db.read() as conn:
        return [list_dict(r, r.members) for r in stored.every(conn)]


def create_list(
    ctx: Context, name: str, kind: str, description: str | None, actor: str
) -> dict[str, Any]:
    """Create an empty list (a 409 when the name is taken)."""
    if kind not in KINDS:
        raise Invalid([Problem(("kind",), f"unknown kind {kind!r}; one of {', '.join(KINDS)}")])
    name = list_name(name)
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        row, created = stored.ensure(conn, name, kind, now, description)
        if not created:
            raise Conflict(f"a list named {name!r} exists")
        audit.record(conn, now, actor, "list.create", name, kind=kind, description=description)
        return list_dict(row, 0)

    return ctx.db.transact(work)


def add_leads(ctx: Context, name: str, item: ListMembersIn, actor: str) -> dict[str, Any]:
    """Add leads by id to a list (created on first use); a 404 naming every unknown lead
    id, and then nothing is added."""
    name = list_name(name, ("path", "name"))
    by = item.by or actor
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        pks = stored_leads.pks_by_id(conn, item.lead_ids)
        unknown = [
            Problem(("body", "lead_ids", i), f"no lead {lead_id!r}", "not_found")
            for i, lead_id in enumerate(item.lead_ids)
            if lead_id not in pks
        ]
        if unknown:
            first = next(lead_id for lead_id in item.lead_ids if lead_id not in pks)
            raise NotFound(f"no lead {first!r}", unknown)
        added: list[str] = []
        already: list[str] = []
        for lead_id in item.lead_ids:
            joined = add_to_list(conn, pks[lead_id], name, kind=item.kind, by=by, now=now)
            (added if joined else already).append(lead_id)
        row = _list_or_raise(conn, name)
        return {
            "list": list_dict(row, stored.size(conn, row.pk)),
            "added": added,
            "already_members": already,
        }

    return ctx.db.transact(work)


def remove_lead(ctx: Context, name: str, lead_id: str, actor: str) -> dict[str, Any]:
    """Take a lead out of a list; a 404 for an unknown list or lead; `removed` is false when
    the lead was not a member."""
    now = ctx.now()

    def work(conn: Connection) -> dict[str, Any]:
        row = _list_or_raise(conn, name)
        pk = stored_leads.pks_by_id(conn, [lead_id]).get(lead_id)
        if pk is None:
            raise NotFound(f"no lead {lead_id!r}")
        removed = remove_from_list(conn, pk, row.name, by=actor, now=now)
        return {"list": list_dict(row, stored.size(conn, row.pk)), "removed": removed}

    return ctx.db.transact(work)


def member_dict(row: Row) -> dict[str, Any]:
    """A member as COLUMNS says: the lead's id, e-mail, name, company, score, tier, stage,
    owner, and when and by whom it was added."""
    attributes: Mapping[str, object] = row.attributes or {}
    scored = row.model_version is not None
    return {
        "lead_id": row.id,
        "email": row.email,
        "name": person_name(attributes),
        "company": company_name(attributes),
        "score": row.score if scored else None,
        "tier": row.tier,
        "stage": row.stage,
        "owner": row.owner,
        "added_at": format_timestamp(row.added_at),
        "added_by": row.added_by,
    }


def company_name(attributes: Mapping[str, object]) -> str | None:
    """The company from a lead's attributes (the first of COMPANY_ATTRIBUTES given)."""
    return _first_text(attributes, COMPANY_ATTRIBUTES)


def _first_text(attributes: Mapping[str, object], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = attributes.get(name)
        if value is not None and str(value).strip():
            return str(value).strip()
    return None


def person_name(attributes: Mapping[str, object]) -> str | None:
    """The person's name from a lead's attributes (a whole name, else first and last), as
    the export, messages and digests show it."""
    whole = _first_text(attributes, NAME_ATTRIBUTES)
    if whole is not None:
        return whole
    parts = [_first_text(attributes, FIRST_NAME), _first_text(attributes, LAST_NAME)]
    return " ".join(p for p in parts if p) or None


def members_page(
    ctx: Context, name: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """A list's members in the order they were added, a page at a time (keyset cursor)."""
    after = decode_cursor(cursor, CURSOR_KIND, "micros") if cursor else None
    with ctx.db.read() as conn:
        row = _list_or_raise(conn, name)
        rows = stored.page(conn, row.pk, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if more and rows else None
    next_cursor = None if last is None else encode_cursor(CURSOR_KIND, last.added_at, last.lead_pk)
    return {"data": [member_dict(r) for r in rows], "next_cursor": next_cursor}


def csv_lines(ctx: Context, name: str) -> Iterator[str]:
    """The export of a list: the header, then one CSV record (CRLF-terminated) per member.
    An unknown list raises NotFound at once, before the first line."""
    with ctx.db.read() as conn:
        row = _list_or_raise(conn, name)
    return _records(ctx, row.pk)


def _records(ctx: Context, list_pk: int) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180: CRLF, quotes doubled

    def record(values: list[object]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield record(list(COLUMNS))
    after: tuple[int, int] | None = None
    while True:
        with ctx.db.read() as conn:  # one short read per page: no transaction held open
            rows = stored.page(conn, list_pk, after, EXPORT_PAGE)
        for row in rows:
            member = member_dict(row)
            yield record([_cell(member[column]) for column in COLUMNS])
        if len(rows) < EXPORT_PAGE:
            return
        after = (rows[-1].added_at, rows[-1].lead_pk)


def _cell(value: object) -> object:
    """A CSV cell: empty for null; text a spreadsheet would run as a formula quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
