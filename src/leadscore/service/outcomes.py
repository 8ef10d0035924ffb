"""Outcomes (§1): a lead converted or was lost. They label the data for the predictive model
and the analytics; by default they also move the lead to the `customer` or `lost` stage,
stages scoring never changes (§4)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leadscore.core.timestamps import format_timestamp
from leadscore.service import monitoring
from leadscore.service.context import Context
from leadscore.service.inputs import OutcomeIn
from leadscore.service.resolve import LocOf, by_index, resolve
from leadscore.service.scoring import Cause, Change, rescore
from leadscore.store import Connection, audit
from leadscore.store import leads as stored_leads
from leadscore.store import outcomes as stored_outcomes
from leadscore.store.outcomes import NewOutcome, OutcomeKey

STAGE_OF = {"converted": "customer", "lost": "lost"}
STAGE_OF_REF = {stage: outcome for outcome, stage in STAGE_OF.items()}


def record_outcomes(
    ctx: Context, items: Sequence[OutcomeIn], actor: str, loc_of: LocOf = by_index
) -> list[dict[str, Any]]:
    now = ctx.now()
    return ctx.db.transact(lambda conn: record_in(conn, ctx, items, actor, now, loc_of))


def record_in(
    conn: Connection,
    ctx: Context,
    items: Sequence[OutcomeIn],
    actor: str,
    now: int,
    loc_of: LocOf = by_index,
) -> list[dict[str, Any]]:
    """The transaction body of `record_outcomes` (also used by file import). An outcome is
    unique by (lead, kind, time): a repeated one — stored before, or earlier in the same
    request — is a `duplicate`, which changes nothing (no stage, no audit row), so that a
    client may safely send an outcome again; the others are `recorded`."""
    pks, _ = resolve(conn, ctx, items, create=False, now=now, loc_of=loc_of)
    rows = stored_leads.lock(conn, pks)
    new: list[NewOutcome] = [
        {
            "lead_pk": pk,
            "outcome": item.outcome,
            "occurred_at": now if item.occurred_at is None else item.occurred_at,
            "value": item.value,
            "created_at": now,
        }
        for pk, item in zip(pks, items, strict=True)
    ]
    first: dict[OutcomeKey, int] = {}
    for index, row in enumerate(new):
        first.setdefault(_key(row), index)
    stored = stored_outcomes.insert(ctx.db, conn, [new[i] for i in first.values()])
    recorded = [_key(row) in stored and first[_key(row)] == i for i, row in enumerate(new)]
    first_at: dict[int, int] = {}
    for pk, row, is_new in zip(pks, new, recorded, strict=True):
        if is_new:
            first_at[pk] = min(first_at.get(pk, row["occurred_at"]), row["occurred_at"])
    monitoring.keep_at_outcomes(conn, ctx, rows, first_at, now)
    staged: dict[int, str] = {}
    for pk, item, row, is_new in zip(pks, items, new, recorded, strict=True):
        if not is_new:
            continue
        if item.set_stage:
            staged[pk] = STAGE_OF[item.outcome]
        audit.record(
            conn,
            now,
            actor,
            f"outcome.{item.outcome}",
            rows[pk].id,
            occurred_at=format_timestamp(row["occurred_at"]),
            value=item.value,
        )
    for pk, stage in staged.items():
        stored_leads.change(
            conn, pk, now, lifecycle_stage=stage, **stored_leads.new_base(stage, now)
        )
    changes: dict[int, Change] = {}
    if staged:
        fresh = stored_leads.lock(conn, staged)
        ordered = [fresh[pk] for pk in sorted(staged)]
        cause = Cause("outcome", {pk: STAGE_OF_REF[stage] for pk, stage in staged.items()})
        changes = {c.lead_pk: c for c in rescore(conn, ctx, ordered, None, cause)}
    return [
        {
            "lead_id": rows[pk].id,
            "outcome": row["outcome"],
            "occurred_at": format_timestamp(row["occurred_at"]),
            "value": row["value"],
            "stage": changes[pk].stage if pk in changes else rows[pk].stage,
            "status": "recorded" if is_new else "duplicate",
        }
        for pk, row, is_new in zip(pks, new, recorded, strict=True)
    ]


def _key(row: NewOutcome) -> OutcomeKey:
    return (row["lead_pk"], row["outcome"], row["occurred_at"])
