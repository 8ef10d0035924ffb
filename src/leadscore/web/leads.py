"""The leads pages: the list (hottest first, filters, search, sort, keyset pages; htmx swaps
only the table), bulk changes and the CSV export of the current filters, and one lead's
story (score, explanation, prediction, history chart, overrides and the stage pin, the
automations that fired, the events a page at a time). They call the same use cases as the
API, with the user's e-mail as the actor."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError

from leadscore.core.timestamps import parse_timestamp
from leadscore.service import lead_bulk, outbox, predictions, queries
from leadscore.service.errors import Conflict, Invalid, NotFound, ServiceError
from leadscore.service.inputs import OverrideIn
from leadscore.service.overrides import add_override, delete_override
from leadscore.service.users import WebUser
from leadscore.web.rendering import page, security_headers
from leadscore.web.sessions import Viewer, context, posted_by

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FILTERS = ("stage", "tier", "grade", "owner", "source")
SORTS = ("-score", "score", "-created_at", "-updated_at")
"""The list's orders, each walking an index so pages stay keyset pages (their words are in
templates/_sorts.html)."""
DEFAULT_SORT = "-score"
MIN_SEARCH = 3
"""The shortest search: one or two letters match most leads and no index serves them (the
trigram indexes need three), so a shorter text is not searched and the page says so."""
HISTORY_POINTS = 500
EVENTS_PAGE = 20
CHANGES_SHOWN = 20
AUTOMATION_ROWS = 20


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _filters(params: Any) -> tuple[queries.LeadFilters, dict[str, str]]:
    """The filters of a query string (or a posted form), and the values to show back."""
    shown = {
        name: str(params.get(name) or "").strip()[:320]
        for name in (*FILTERS, "min", "max", "q", "sort")
    }
    if shown["sort"] not in SORTS:
        shown["sort"] = DEFAULT_SORT

    def chosen(name: str) -> list[str] | None:
        return [shown[name]] if shown[name] else None

    filters = queries.LeadFilters(
        stage=chosen("stage"),
        tier=chosen("tier"),
        grade=chosen("grade"),
        owner=chosen("owner"),
        source=chosen("source"),
        min_score=_number(shown["min"]),
        max_score=_number(shown["max"]),
        search=shown["q"] if len(shown["q"]) >= MIN_SEARCH else None,
    )
    return filters, shown


def _kept(shown: dict[str, str]) -> dict[str, str]:
    """The query string of the filters and sort chosen (the default sort left out)."""
    return {k: v for k, v in shown.items() if v and not (k == "sort" and v == DEFAULT_SORT)}


@router.get("/leads")
async def leads_page(request: Request, user: WebUser = Viewer) -> Response:
    filters, shown = _filters(request.query_params)
    fragment = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    cursor = request.query_params.get("cursor") or None
    return await _list_response(request, user, filters, shown, cursor, fragment)


async def _list_response(
    request: Request,
    user: WebUser,
    filters: queries.LeadFilters,
    shown: dict[str, str],
    cursor: str | None,
    fragment: bool = False,
    status: int = 200,
    notice: dict[str, Any] | None = None,
    error: str | None = None,
) -> Response:
    ctx = context(request)
    sort = shown["sort"]
    try:
        found = await run_in_threadpool(queries.list_leads, ctx, filters, sort, cursor, PAGE_SIZE)
    except Invalid:  # a cursor from another sort or a damaged one: the first page
        found = await run_in_threadpool(queries.list_leads, ctx, filters, sort, None, PAGE_SIZE)
        cursor = None
    kept = _kept(shown)
    return page(
        "leads_table.html" if fragment else "leads.html",
        status,
        user=user,
        section="leads",
        leads=found["data"],
        next_cursor=found["next_cursor"],
        filters=shown,
        sorts=SORTS,
        kept=kept,
        query=urlencode(kept),
        first_page=cursor is None,
        notice=notice,
        error=error,
        max_changed=lead_bulk.MAX_CHANGED,
        short_search=0 < len(shown["q"]) < MIN_SEARCH,
        min_search=MIN_SEARCH,
    )


@router.get("/leads.csv")
async def leads_csv(request: Request, user: WebUser = Viewer) -> Response:
    """Every lead the current filters match (not just a page), streamed as CSV."""
    filters, shown = _filters(request.query_params)
    lines = lead_bulk.csv_lines(context(request), filters, shown["sort"])
    headers = {
        **security_headers(),
        "Content-Disposition": 'attachment; filename="leads.csv"',
    }
    # A plain iterator: Starlette reads it in its thread pool, off the event loop.
    return StreamingResponse(lines, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/leads/bulk")
async def bulk(
    request: Request, posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("manager"))
) -> Response:
    """Assign an owner (`assign_to`) to, or add to a list (`list_name`), the leads ticked
    (`lead`, repeated) or every lead the filters posted with the form match
    (`scope=filter`; the filters' own names: `owner` is a filter here); managers and
    admins."""
    user, fields = posted
    filters, shown = _filters(fields)
    ctx = context(request)
    action = fields.get("action", "")
    try:
        if fields.get("scope") == "filter":
            lead_ids = await run_in_threadpool(lead_bulk.matching_ids, ctx, filters)
        else:
            body = (await request.body()).decode("utf-8", "replace")
            lead_ids = [v for k, v in parse_qsl(body) if k == "lead"]
        if action == "assign":
            done = await run_in_threadpool(
                lead_bulk.assign, ctx, lead_ids, fields.get("assign_to", ""), user.email
            )
            notice = {"action": "assign", **done}
        elif action == "list":
            done = await run_in_threadpool(
                lead_bulk.add_to, ctx, lead_ids, fields.get("list_name", ""), user.email
            )
            notice = {"action": "list", **done}
        else:
            raise Invalid([])
    except Invalid as exc:
        message = str(exc) if exc.problems else "choose an action: assign an owner or add to a list"
        return await _list_response(request, user, filters, shown, None, status=422, error=message)
    except ServiceError as exc:  # an unknown owner or lead, an owner at capacity, a sequence
        return await _list_response(request, user, filters, shown, None, status=422, error=str(exc))
    return await _list_response(request, user, filters, shown, None, notice=notice)


# --- one lead ----------------------------------------------------------------------------


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: str, user: WebUser = Viewer) -> Response:
    return await _lead_response(request, lead_id, user, None, 200)


@router.get("/leads/{lead_id}/events")
async def lead_events(request: Request, lead_id: str, user: WebUser = Viewer) -> Response:
    """A page of the lead's events, older ones through the cursor: the table alone for htmx,
    else the lead's page showing that page of events."""
    cursor = request.query_params.get("cursor") or None
    if request.headers.get("HX-Request") != "true":
        return await _lead_response(request, lead_id, user, None, 200, cursor)
    try:
        events = await run_in_threadpool(
            queries.lead_events, context(request), lead_id, cursor, EVENTS_PAGE
        )
    except NotFound:
        return page("not_found.html", 404, user=user)
    except Invalid:
        events = await run_in_threadpool(
            queries.lead_events, context(request), lead_id, None, EVENTS_PAGE
        )
    return page(
        "lead_events.html", user=user, lead={"id": lead_id}, events=events, events_cursor=cursor
    )


async def _lead_response(
    request: Request,
    lead_id: str,
    user: WebUser,
    error: str | None,
    status: int,
    events_cursor: str | None = None,
) -> Response:
    ctx = context(request)
    try:
        lead = await run_in_threadpool(queries.get_lead, ctx, lead_id)
        prediction = await run_in_threadpool(predictions.predict_lead, ctx, lead_id)
        history = await run_in_threadpool(queries.lead_history, ctx, lead_id, None, HISTORY_POINTS)
        try:
            events = await run_in_threadpool(
                queries.lead_events, ctx, lead_id, events_cursor, EVENTS_PAGE
            )
        except Invalid:
            events_cursor = None
            events = await run_in_threadpool(queries.lead_events, ctx, lead_id, None, EVENTS_PAGE)
        fired, _ = await run_in_threadpool(
            lambda: outbox.list_rows(ctx, lead_id=lead_id, limit=AUTOMATION_ROWS)
        )
    except NotFound:
        return page("not_found.html", 404, user=user)
    names = {e["id"]: e["type"] for e in events["data"]}
    overrides = lead.get("overrides", [])
    return page(
        "lead.html",
        status,
        user=user,
        section="leads",
        lead=lead,
        prediction=prediction,
        lines=explanation_lines(lead.get("explanation")),
        chart=history_series(history["data"], names),
        changes=score_changes(history["data"][: CHANGES_SHOWN + 1], names)[:CHANGES_SHOWN],
        events=events,
        events_cursor=events_cursor,
        points=[o for o in overrides if o["kind"] == "points"],
        pin=next((o for o in reversed(overrides) if o["kind"] == "stage"), None),
        fired=fired,
        error=error,
    )


def explanation_lines(explanation: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Every line of the explanation in score units, fit first, then engagement, then the
    rest (predictive blend, overrides, the total's clamp): they add up to the score."""
    if not explanation:
        return []
    order = {"fit": 0, "engagement": 1}
    lines = list(explanation.get("contributions", []))
    return sorted(lines, key=lambda line: order.get(line.get("section") or "", 2))


def cause_text(cause: dict[str, Any], event_types: dict[str, str]) -> str:
    """What moved the score, in a few words: the event's type when the page knows it."""
    kind, ref = cause.get("kind") or "", cause.get("ref")
    if kind == "event" and ref:
        return f"event {event_types.get(ref, ref)}"
    return f"{kind} {ref}" if ref else kind


def history_series(
    rows: list[dict[str, Any]], event_types: dict[str, str] | None = None
) -> dict[str, list[Any]]:
    """The score history, oldest first, as uPlot wants it: epoch seconds and values, and
    what caused each change (the chart's markers show it)."""
    ordered = list(reversed(rows))
    return {
        "t": [parse_timestamp(r["at"]) / 1_000_000 for r in ordered],
        "score": [r["score"] for r in ordered],
        "fit": [r["fit"] for r in ordered],
        "engagement": [r["engagement"] for r in ordered],
        "cause": [cause_text(r["cause"], event_types or {}) for r in ordered],
    }


def score_changes(rows: list[dict[str, Any]], event_types: dict[str, str]) -> list[dict[str, Any]]:
    """The newest score changes (rows newest first) with the points each one moved the
    score by (None for the oldest row given: what came before it is not read)."""
    changes = []
    for i, row in enumerate(rows):
        before = rows[i + 1]["score"] if i + 1 < len(rows) else None
        changes.append(
            {
                "at": row["at"],
                "score": row["score"],
                "delta": None if before is None else row["score"] - before,
                "stage": row["stage"],
                "cause": cause_text(row["cause"], event_types),
            }
        )
    return changes


def _expiry(text: str) -> str | None:
    """A `datetime-local` value (no zone: UTC, as the form says) as RFC 3339, or None."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the model's validator names the field and the reason
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


async def _override(
    request: Request, lead_id: str, user: WebUser, values: dict[str, Any]
) -> Response:
    """Add an override as POST /api/v1/leads/{id}/overrides does, authored by the user."""
    try:
        item = OverrideIn.model_validate(values)
        await run_in_threadpool(add_override, context(request), lead_id, item, user.email)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await _lead_response(request, lead_id, user, message, 422)
    except (Invalid, Conflict) as exc:
        return await _lead_response(request, lead_id, user, str(exc), 422)
    except NotFound:
        return page("not_found.html", 404, user=user)
    return RedirectResponse(f"/leads/{quote(lead_id, safe='')}", 303)


@router.post("/leads/{lead_id}/overrides")
async def post_override(
    request: Request,
    lead_id: str,
    posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("manager")),
) -> Response:
    """Add points to a lead's score (managers and admins), optionally until an expiry."""
    user, fields = posted
    values = {
        "points": fields.get("points") or None,
        "reason": fields.get("reason", ""),
        "expires_at": _expiry(fields.get("expires_at", "")),
    }
    return await _override(request, lead_id, user, values)


@router.post("/leads/{lead_id}/pin")
async def post_pin(
    request: Request,
    lead_id: str,
    posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("manager")),
) -> Response:
    """Pin the lead's stage (managers and admins): scoring no longer moves it until the pin
    is removed or expires. A new pin replaces the old one."""
    user, fields = posted
    values = {
        "stage": fields.get("stage") or None,
        "reason": fields.get("reason", ""),
        "expires_at": _expiry(fields.get("expires_at", "")),
    }
    return await _override(request, lead_id, user, values)


@router.post("/leads/{lead_id}/overrides/{override_id}/delete")
async def remove_override(
    request: Request,
    lead_id: str,
    override_id: int,
    posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("manager")),
) -> Response:
    """Remove an override or the stage pin (managers and admins), as DELETE
    /api/v1/leads/{id}/overrides/{override_id} does; the lead is rescored."""
    user, _ = posted
    try:
        await run_in_threadpool(delete_override, context(request), lead_id, override_id, user.email)
    except NotFound as exc:
        return await _lead_response(request, lead_id, user, str(exc), 404)
    return RedirectResponse(f"/leads/{quote(lead_id, safe='')}", 303)
