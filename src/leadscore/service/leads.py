"""Creating and updating leads (§1, §4): upsert by id, e-mail or external id, then rescore,
since attributes drive the fit score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from leadscore.service.context import Context
from leadscore.service.errors import Conflict, Invalid, Problem
from leadscore.service.inputs import LeadIn
from leadscore.service.resolve import LocOf, new_lead_id
from leadscore.service.scoring import Cause, Change, rescore
from leadscore.service.suppression import Newcomer, refusal, refused
from leadscore.store import Connection, audit
from leadscore.store import leads as stored_leads

CONSENT_COLUMNS = {
    "basis": "consent_basis",
    "given_at": "consent_given_at",
    "withdrawn_at": "consent_withdrawn_at",
    "source": "consent_source",
}


def upsert_leads(
    ctx: Context, items: Sequence[LeadIn], actor: str, loc_of: LocOf | None = None
) -> list[tuple[Change, bool]]:
    """Create or update leads and rescore them, all in one transaction.

    Returns each lead's score change and whether it was created.
    """
    now = ctx.now()
    return ctx.db.transact(lambda conn: upsert_in(conn, ctx, items, actor, now, loc_of=loc_of))


def upsert_in(
    conn: Connection,
    ctx: Context,
    items: Sequence[LeadIn],
    actor: str,
    now: int,
    *,
    loc_of: LocOf | None = None,
) -> list[tuple[Change, bool]]:
    """The transaction body of `upsert_leads` (also used by file import). A Conflict names
    `loc_of(index)` of its item when given."""
    done = upsert_rows(conn, ctx, items, actor, now, loc_of=loc_of)
    rows = stored_leads.lock(conn, [pk for pk, _ in done])
    ordered = [rows[pk] for pk in dict.fromkeys(pk for pk, _ in done)]
    created = frozenset(pk for pk, new in done if new)
    cause = Cause("lead", {row.pk: row.id for row in ordered}, created=created)
    changes = {c.lead_pk: c for c in rescore(conn, ctx, ordered, None, cause)}
    return [(changes[pk], created) for pk, created in done]


def upsert_rows(
    conn: Connection,
    ctx: Context,
    items: Sequence[LeadIn],
    actor: str,
    now: int,
    *,
    loc_of: LocOf | None = None,
    erased_checked: bool = False,
) -> list[tuple[int, bool]]:
    """Create or update the leads' rows without rescoring them: (pk, created) per item. For
    a caller that stores events for them in the same transaction and rescores once then
    (service/sources.py). `erased_checked`: the caller asked `suppression.refused` about
    these people in this transaction already (one query for all, not one per lead)."""
    done: list[tuple[int, bool]] = []
    for index, item in enumerate(items):
        try:
            done.append(_upsert_one(conn, ctx, item, actor, now, erased_checked))
        except Conflict as exc:
            if loc_of is None:
                raise
            raise type(exc)(str(exc), (*loc_of(index), *exc.loc)) from None
        except Invalid as exc:
            if loc_of is None:
                raise
            where = loc_of(index)
            raise Invalid([replace(p, loc=(*where, *p.loc)) for p in exc.problems]) from None
    return done


def _upsert_one(
    conn: Connection,
    ctx: Context,
    item: LeadIn,
    actor: str,
    now: int,
    erased_checked: bool = False,
) -> tuple[int, bool]:
    matches: dict[str, int] = {}
    if item.id is not None:
        pk = stored_leads.pks_by_id(conn, [item.id]).get(item.id)
        if pk is not None:
            matches[f"id {item.id!r}"] = pk
    if item.email is not None:
        pk = stored_leads.pks_by_email(conn, [item.email]).get(item.email)
        if pk is not None:
            matches[f"email {item.email!r}"] = pk
    found = stored_leads.pks_by_external(conn, item.external_ids.items())
    for (source, external_id), pk in found.items():
        matches[f"external id {source}:{external_id!r}"] = pk
    if len(set(matches.values())) > 1:
        raise Conflict("these name different leads: " + ", ".join(matches))
    if matches:
        pk = next(iter(matches.values()))
        _update(conn, ctx, pk, item, actor, now)
        return pk, False
    return _create(conn, ctx, item, actor, now, erased_checked), True


def new_row(item: LeadIn, lead_id: str, now: int) -> dict[str, object]:
    """The leads row of a new lead (its external ids are linked separately)."""
    row = {
        "id": lead_id,
        "email": item.email,
        "external_ids": {},
        "attributes": dict(item.attributes),
        "source": _source(item.attributes),
        "owner": item.owner,
        "lifecycle_stage": item.stage,
        "stage": item.stage,
        "created_at": now,
        "updated_at": now,
        **_consent(item),
    }
    if item.stage is not None:  # a stage set by a person or the CRM: the lifecycle's base
        row.update(stored_leads.new_base(item.stage, now))
    return row


def _create(
    conn: Connection,
    ctx: Context,
    item: LeadIn,
    actor: str,
    now: int,
    erased_checked: bool = False,
) -> int:
    if not erased_checked:
        given = item.consent.given_at if item.consent is not None else None
        person = Newcomer(item.email, list(item.external_ids.items()), given)
        erased = refused(conn, ctx, [person], now, actor)
        if erased:
            raise refusal(erased[0], (erased[0],))  # the field: located by upsert_in
    lead_id = item.id if item.id is not None else new_lead_id()
    stored_leads.insert_new(ctx.db, conn, [new_row(item, lead_id, now)])
    pk = stored_leads.pks_by_id(conn, [lead_id]).get(lead_id)
    if pk is None:  # another transaction took this e-mail a moment ago
        raise Conflict(f"email {item.email!r} belongs to another lead")
    _link(conn, ctx, pk, item)
    if item.stage is not None:
        audit.record(conn, now, actor, "lead.stage", lead_id, stage=item.stage)
    return pk


def _update(conn: Connection, ctx: Context, pk: int, item: LeadIn, actor: str, now: int) -> None:
    given = item.model_fields_set
    row = stored_leads.lock_whole(conn, pk)
    if item.id is not None and item.id != row.id:
        raise Conflict(f"lead {row.id!r} matches, not {item.id!r}: a lead's id cannot change")
    values: dict[str, object] = {}
    if "email" in given and item.email != row.email:
        if item.email is not None and stored_leads.pks_by_email(conn, [item.email]):
            raise Conflict(f"email {item.email!r} belongs to another lead")
        values["email"] = item.email
    if item.attributes:
        merged = {**row.attributes, **item.attributes}
        limit = ctx.settings.max_keys
        if len(merged) > limit:
            message = (
                f"the lead would hold {len(merged):,} attributes, more than {limit:,}"
                " (LEADSCORE_MAX_KEYS)"
            )
            raise Invalid([Problem(("attributes",), message)])
        values.update(attributes=merged, source=_source(merged))
    if "owner" in given:
        values["owner"] = item.owner
    if "stage" in given and item.stage != row.lifecycle_stage:
        values["lifecycle_stage"] = item.stage
        values.update(stored_leads.new_base(item.stage, now))
        audit.record(conn, now, actor, "lead.stage", row.id, stage=item.stage, was=row.stage)
    elif values.get("attributes", row.attributes) != row.attributes or "email" in values:
        # What the model reads changed, and has no history: the lifecycle starts afresh from
        # the stage the lead has now (docs/lifecycle.md).
        values.update(stored_leads.new_base(row.lifecycle_stage, now))
    values.update(_consent(item))
    if values:
        stored_leads.change(conn, pk, now, **values)
    _link(conn, ctx, pk, item)


def _link(conn: Connection, ctx: Context, pk: int, item: LeadIn) -> None:
    taken = stored_leads.link_external_ids(ctx.db, conn, pk, dict(item.external_ids))
    if taken:
        names = ", ".join(f"{s}:{item.external_ids[s]!r}" for s in taken)
        raise Conflict(f"external id {names} belongs to another lead")


def _source(attributes: Mapping[str, object]) -> str | None:
    value = attributes.get("source")
    return None if value is None else str(value)[:200]


def _consent(item: LeadIn) -> dict[str, object]:
    if item.consent is None:
        return {}
    given = item.consent.model_fields_set
    return {CONSENT_COLUMNS[k]: getattr(item.consent, k) for k in CONSENT_COLUMNS if k in given}
