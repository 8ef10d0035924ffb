"""Which stored lead an event or outcome names: by lead id, external id, then e-mail.

An unknown lead id is an error (ids are ours to give); an event naming an unknown e-mail or
external id creates the lead (§1), an outcome does not.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import TypeAlias

from leadscore.service.context import Context
from leadscore.service.errors import Loc, NotFound, Problem
from leadscore.service.inputs import LeadRef
from leadscore.service.suppression import Newcomer, refusal, refused
from leadscore.store import Connection
from leadscore.store import leads as stored_leads

LocOf: TypeAlias = Callable[[int], Loc]
"""Where the item at an index came from, for error locations (e.g. ("body", "events", 3))."""


def by_index(index: int) -> Loc:
    return (index,)


def new_lead_id() -> str:
    return str(uuid.uuid4())


def resolve(
    conn: Connection,
    ctx: Context,
    refs: Sequence[LeadRef],
    *,
    create: bool,
    now: int,
    loc_of: LocOf = by_index,
) -> tuple[list[int], set[int]]:
    """The lead pk of each reference, and the pks of the leads created for them.

    Raises NotFound naming every reference that matches no lead, at `loc_of(index)` + field.
    """
    by_id = stored_leads.pks_by_id(conn, [r.lead_id for r in refs if r.lead_id is not None])
    by_external = stored_leads.pks_by_external(
        conn, [(r.external_id.source, r.external_id.id) for r in refs if r.external_id]
    )
    by_email = stored_leads.pks_by_email(conn, [r.email for r in refs if r.email is not None])
    if create:
        _refuse_erased(conn, ctx, refs, by_email, by_external, now, loc_of)
    pks: list[int] = []
    created: set[int] = set()
    unknown: list[Problem] = []
    for index, ref in enumerate(refs):
        where = loc_of(index)
        if ref.lead_id is not None:
            pk = by_id.get(ref.lead_id)
            if pk is None:
                message = f"unknown lead {ref.lead_id!r}"
                unknown.append(Problem((*where, "lead_id"), message, "not_found"))
            else:
                pks.append(pk)  # (pks is only returned when every reference was found)
            continue
        external = (ref.external_id.source, ref.external_id.id) if ref.external_id else None
        pk = by_external.get(external) if external else None
        if pk is None and ref.email is not None:
            pk = by_email.get(ref.email)
        if pk is None and create:
            pk = _create(conn, ctx, now, ref.email, external)
            created.add(pk)
            if ref.email is not None:
                by_email[ref.email] = pk
            if external:
                by_external[external] = pk
        elif pk is None:
            field = "external_id" if external else "email"
            message = f"no lead with this {field.replace('_', ' ')}"
            unknown.append(Problem((*where, field), message, "not_found"))
            continue
        pks.append(pk)
    if unknown:
        raise NotFound("; ".join(p.msg for p in unknown), unknown)
    return pks, created


def _refuse_erased(
    conn: Connection,
    ctx: Context,
    refs: Sequence[LeadRef],
    by_email: dict[str, int],
    by_external: dict[tuple[str, str], int],
    now: int,
    loc_of: LocOf,
) -> None:
    """Raise Erased for the first reference that would create a lead for an erased person
    (one query for the whole batch, none when every reference names a lead that exists)."""
    new: list[tuple[int, Newcomer]] = []
    for index, ref in enumerate(refs):
        if ref.lead_id is not None:
            continue
        external = (ref.external_id.source, ref.external_id.id) if ref.external_id else None
        if external is not None and external in by_external:
            continue
        if ref.email is not None and ref.email in by_email:
            continue
        new.append((index, Newcomer(ref.email, [external] if external else [])))
    erased = refused(conn, ctx, [person for _, person in new], now, "event")
    for position, field in sorted(erased.items()):
        index = new[position][0]
        name = "external_id" if field == "external_ids" else field
        raise refusal(name, (*loc_of(index), name))


def _create(
    conn: Connection, ctx: Context, now: int, email: str | None, external: tuple[str, str] | None
) -> int:
    """Create a lead for an unknown e-mail or external id; if another transaction created
    it meanwhile, use that one."""
    lead_id = new_lead_id()
    row: dict[str, object] = {
        "id": lead_id,
        "email": email,
        "external_ids": {},
        "attributes": {},
        "created_at": now,
        "updated_at": now,
    }
    stored_leads.insert_new(ctx.db, conn, [row])
    if email is not None:
        pk = stored_leads.pks_by_email(conn, [email])[email]
    else:
        pk = stored_leads.pks_by_id(conn, [lead_id])[lead_id]
    if external is not None:
        taken = stored_leads.link_external_ids(ctx.db, conn, pk, {external[0]: external[1]})
        if taken:
            if email is None:  # ours, and nobody else can see it yet: drop it
                stored_leads.drop(conn, pk)
            pk = taken[external[0]]
    return pk
