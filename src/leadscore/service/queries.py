"""Reading leads (§4): filtered, sorted, paginated lists; one lead with its score and
explanation; its events and history; its score as of any past time.

Lists use keyset pagination: the cursor is an opaque token holding the sort key and the
lead key of the last row, so pages stay stable and fast however deep one goes (cursors.py).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from leadscore.core.evaluate import score_lead
from leadscore.core.explain import NUMBERS, SCORED, Adjustment, ScoreResult
from leadscore.core.model import Model
from leadscore.core.records import Event, Lead
from leadscore.core.timestamps import format_timestamp
from leadscore.ml.errors import MLInputError
from leadscore.service import blending, predictions
from leadscore.service.context import Context
from leadscore.service.cursors import ValueKind, decode_cursor, encode_cursor
from leadscore.service.errors import Conflict, Invalid, NotFound, Problem
from leadscore.service.scoring import explanation, newest_pin, override_dict
from leadscore.store import Connection, Row
from leadscore.store import events as stored_events
from leadscore.store import history as stored_history
from leadscore.store import leads as stored_leads
from leadscore.store import outcomes as stored_outcomes
from leadscore.store import overrides as stored_overrides

log = logging.getLogger(__name__)
SORTS: dict[str, ValueKind] = {
    "score": "number",
    "fit": "number",
    "engagement": "number",
    "created_at": "micros",
    "updated_at": "micros",
}
"""The columns a list of leads sorts by, and the kind of their values (for the cursor)."""
MAX_LIMIT = 500


@dataclass(frozen=True)
class LeadFilters:
    stage: list[str] | None = None
    tier: list[str] | None = None
    grade: list[str] | None = None
    owner: list[str] | None = None
    source: list[str] | None = None
    min_score: float | None = None
    max_score: float | None = None
    email: str | None = None
    """An e-mail, normalised as on write: the lead with it, if any."""
    external_id: tuple[str, str] | None = None
    """(source, id): the lead with this external id, if any."""
    search: str | None = None
    """Text the e-mail, first or last name or company holds (the dashboard's search; ASCII
    letters in any case)."""


def _time(micros: int | None) -> str | None:
    return None if micros is None else format_timestamp(micros)


def lead_dict(row: Row, *, detail: bool = False) -> dict[str, Any]:
    scored = row.model_version is not None
    data = {
        "id": row.id,
        "email": row.email,
        "external_ids": row.external_ids,
        "attributes": row.attributes,
        "owner": row.owner,
        "source": row.source,
        "stage": row.stage,
        "lifecycle_stage": row.lifecycle_stage,
        "pinned_stage": row.pinned_stage,
        **{
            name: getattr(row, name) if scored or name not in NUMBERS else None
            for name in SCORED
            if name != "stage"
        },
        "probability": None,  # filled by the predictive model hook (§7)
        "model_version": row.model_version,
        "scored_at": _time(row.scored_at),
        "created_at": _time(row.created_at),
        "updated_at": _time(row.updated_at),
        "consent": {
            "basis": row.consent_basis,
            "given_at": _time(row.consent_given_at),
            "withdrawn_at": _time(row.consent_withdrawn_at),
            "source": row.consent_source,
        },
    }
    if detail:
        data["explanation"] = row.explanation
    return data


# --- one lead ----------------------------------------------------------------------------


def _lead_row(conn: Connection, lead_id: str) -> Row:
    row = stored_leads.by_id(conn, lead_id)
    if row is None:
        raise NotFound(f"no lead {lead_id!r}")
    return row


def get_lead(ctx: Context, lead_id: str) -> dict[str, Any]:
    """A lead with its score, explanation, overrides in force and outcomes."""
    with ctx.db.read() as conn:
        row = _lead_row(conn, lead_id)
        now = ctx.now()
        in_force = stored_overrides.in_force(conn, [row.pk], now).get(row.pk, [])
        found = stored_outcomes.of_lead(conn, row.pk)
        data = lead_dict(row, detail=True)
        if row.explanation is None and row.model_version is not None:
            data["explanation"] = derived_explanation(ctx, conn, row)
        return {
            **data,
            "overrides": [override_dict(o) for o in in_force],
            "outcomes": [
                {"outcome": o.outcome, "occurred_at": _time(o.occurred_at), "value": o.value}
                for o in found
            ],
        }


def derived_explanation(ctx: Context, conn: Connection, row: Row) -> dict[str, Any]:
    """The explanation of a lead's stored score, derived again: the bulk recompute stores
    none (service/recompute.py). Scoring is deterministic, so the lead's events up to
    `scored_at`, the overrides in force then and the model version that scored it give
    exactly the stored numbers and their explanation."""
    model = ctx.models.model(conn, row.model_version)
    return _scored_at(ctx, conn, row, model, row.scored_at)[1]


def explained_at(ctx: Context, conn: Connection, row: Row, at: int) -> dict[str, Any] | None:
    """The explanation of a stored lead's score at `at` under the model active then (what an
    automation's message shows as reasons); None when no model was active."""
    active = ctx.models.at(conn, at)
    if active is None:
        return None
    return _scored_at(ctx, conn, row, active[1], at)[1]


def _scored_at(
    ctx: Context, conn: Connection, row: Row, model: Model, as_of: int
) -> tuple[ScoreResult, dict[str, Any]]:
    """(result, explanation) of a stored lead scored by `model` at `as_of`: its events up to
    then, the overrides in force then and the probability the model blends (§7)."""
    lead_events = stored_events.for_leads(conn, ctx.event_types, [row.pk], until=as_of)
    in_force = stored_overrides.in_force(conn, [row.pk], as_of).get(row.pk, [])
    adjustments = [
        Adjustment(f"override:{o.pk}", o.points, o.reason) for o in in_force if o.kind == "points"
    ]
    result = score_lead(
        model,
        Lead(row.id, row.email, row.attributes),
        lead_events.get(row.pk, ()),
        as_of,
        adjustments,
        _probability(conn, model, row, lead_events.get(row.pk, ()), as_of),
    )
    return result, explanation(result, in_force, newest_pin(in_force), as_of)


def _probability(
    conn: Connection, model: Model, row: Row, lead_events: Sequence[Event], as_of: int
) -> float | None:
    """The probability the model blends for this lead at `as_of` (§7), if any."""
    chances = blending.for_stored(conn, model, [row], {row.pk: lead_events}, as_of)
    if chances is None or math.isnan(chances[0]):
        return None
    return float(chances[0])


def score_as_of(ctx: Context, lead_id: str, as_of: int) -> dict[str, Any]:
    """The lead's score at a past time: its events up to then, the model active then, the
    overrides in force then (attributes are the current ones: they are not versioned)."""
    with ctx.db.read() as conn:
        row = _lead_row(conn, lead_id)
        active = ctx.models.at(conn, as_of)
        if active is None:
            raise Conflict(f"no model was active at {format_timestamp(as_of)}")
        version, model = active
        result, explained = _scored_at(ctx, conn, row, model, as_of)
        recorded = stored_history.latest(conn, row.pk, as_of)
        return {
            "lead_id": row.id,
            "as_of": format_timestamp(as_of),
            "model_version": version,
            **{k: v for k, v in result.row().items() if k != "lead_id"},
            "explanation": explained,
            "recorded": None if recorded is None else history_dict(recorded),
        }


# --- lists -------------------------------------------------------------------------------


def _page(
    rows: list[Row], limit: int, key: Callable[[Row], tuple[str, object, int]]
) -> tuple[list[Row], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(*key(rows[-1])) if more and rows else None


def list_leads(
    ctx: Context,
    filters: LeadFilters,
    sort: str = "-score",
    cursor: str | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    descending = sort.startswith("-")
    name = sort[1:] if descending else sort
    if name not in SORTS:
        choices = ", ".join(f"{s}, -{s}" for s in SORTS)
        raise Invalid([Problem(("query", "sort"), f"unknown sort {sort!r}; one of {choices}")])
    after = None
    if cursor:  # "" is no cursor, as the schema allows it
        after = decode_cursor(cursor, f"leads:{sort}", SORTS[name])
    with ctx.db.read() as conn:
        pks = _looked_up(conn, filters)
        rows = stored_leads.page(
            conn,
            equal={n: getattr(filters, n) for n in stored_leads.FILTERED},
            min_score=filters.min_score,
            max_score=filters.max_score,
            sort=name,
            descending=descending,
            after=after,
            limit=limit + 1,
            pks=pks,
            search=filters.search,
        )
        rows, next_cursor = _page(rows, limit, lambda r: (f"leads:{sort}", getattr(r, name), r.pk))
        chances = _page_probabilities(ctx, conn, rows)
    data = [lead_dict(r) for r in rows]
    for lead in data:
        lead["probability"] = chances.get(lead["id"])
    return {"data": data, "next_cursor": next_cursor}


def _looked_up(conn: Connection, filters: LeadFilters) -> list[int] | None:
    """The keys the lookups of `filters` allow (none: no lead matches them all), or None
    without lookups. E-mails and external ids are unique: each names one lead at most."""
    found: set[int] | None = None
    if filters.email is not None:
        found = set(stored_leads.pks_by_email(conn, [filters.email]).values())
    if filters.external_id is not None:
        by_external = set(stored_leads.pks_by_external(conn, [filters.external_id]).values())
        found = by_external if found is None else found & by_external
    return None if found is None else sorted(found)


def _page_probabilities(ctx: Context, conn: Connection, rows: list[Row]) -> dict[str, float]:
    """The active predictive model's probability for each lead of a page (§7), if any."""
    try:
        found = predictions.predict_leads(conn, ctx, rows, ctx.now())
    except MLInputError as exc:  # e.g. a LightGBM model on a server without LightGBM
        log.warning("no probabilities for the page: %s", exc)
        return {}
    return {lead_id: p["probability"] for lead_id, p in found.items()}


def lead_events(
    ctx: Context, lead_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The lead's events, newest first."""
    with ctx.db.read() as conn:
        lead = _lead_row(conn, lead_id)
        after = decode_cursor(cursor, "events", "micros") if cursor else None
        rows = stored_events.page(conn, lead.pk, after, limit + 1)
        names = {r.type_id: ctx.event_types.name(conn, r.type_id) for r in rows}
    rows, next_cursor = _page(rows, limit, lambda r: ("events", r.occurred_at, r.pk))
    data = [
        {
            "id": r.event_id,
            "type": names[r.type_id],
            "occurred_at": format_timestamp(r.occurred_at),
            "properties": r.properties,
            "source": r.source,
            "received_at": format_timestamp(r.received_at),
        }
        for r in rows
    ]
    return {"data": data, "next_cursor": next_cursor}


def lead_history(
    ctx: Context, lead_id: str, cursor: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The lead's score changes, newest first."""
    with ctx.db.read() as conn:
        lead = _lead_row(conn, lead_id)
        after = decode_cursor(cursor, "history", "micros") if cursor else None
        rows = stored_history.page(conn, lead.pk, after, limit + 1)
    rows, next_cursor = _page(rows, limit, lambda r: ("history", r.at, r.pk))
    return {"data": [history_dict(r) for r in rows], "next_cursor": next_cursor}


def history_dict(row: Row) -> dict[str, Any]:
    """A score change as the API shows it (GET /leads/{id}/history, the GDPR export)."""
    return {
        "at": format_timestamp(row.at),
        **{name: getattr(row, name) for name in SCORED},
        "model_version": row.model_version,
        "cause": {"kind": row.cause_kind, "ref": row.cause_ref, "event": row.cause_event},
    }
