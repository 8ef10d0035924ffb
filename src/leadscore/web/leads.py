"""The leads pages: the list (hottest first, filters, keyset pages; htmx swaps only the
table) and one lead's story (score, explanation, history chart, latest events), with the
points override form for managers. They call the same use cases as GET /api/v1/leads."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from leadscore.core.timestamps import parse_timestamp
from leadscore.service import queries
from leadscore.service.errors import Conflict, Invalid, NotFound
from leadscore.service.inputs import OverrideIn
from leadscore.service.overrides import add_override
from leadscore.service.users import WebUser
from leadscore.web.rendering import page
from leadscore.web.sessions import Viewer, context, posted_by

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
FILTERS = ("stage", "tier", "grade", "owner")
HISTORY_POINTS = 500
LATEST_EVENTS = 20


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _filters(request: Request) -> tuple[queries.LeadFilters, dict[str, str]]:
    """The filters of the query string, and the values to show back in the form."""
    params = request.query_params
    shown = {name: params.get(name, "").strip()[:320] for name in (*FILTERS, "min", "max", "q")}

    def chosen(name: str) -> list[str] | None:
        return [shown[name]] if shown[name] else None

    filters = queries.LeadFilters(
        stage=chosen("stage"),
        tier=chosen("tier"),
        grade=chosen("grade"),
        owner=chosen("owner"),
        min_score=_number(shown["min"]),
        max_score=_number(shown["max"]),
        email_contains=shown["q"] or None,
    )
    return filters, shown


@router.get("/leads")
async def leads_page(request: Request, user: WebUser = Viewer) -> Response:
    filters, shown = _filters(request)
    cursor = request.query_params.get("cursor") or None
    ctx = context(request)
    try:
        found = await run_in_threadpool(
            queries.list_leads, ctx, filters, "-score", cursor, PAGE_SIZE
        )
    except Invalid:  # a cursor from another sort or a damaged one: the first page
        found = await run_in_threadpool(queries.list_leads, ctx, filters, "-score", None, PAGE_SIZE)
        cursor = None
    kept = {k: v for k, v in shown.items() if v}
    fragment = request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )
    return page(
        "leads_table.html" if fragment else "leads.html",
        user=user,
        section="leads",
        leads=found["data"],
        next_cursor=found["next_cursor"],
        filters=shown,
        kept=kept,
        first_page=cursor is None,
    )


@router.get("/leads/{lead_id}")
async def lead_page(request: Request, lead_id: str, user: WebUser = Viewer) -> Response:
    return await _lead_response(request, lead_id, user, None, 200)


async def _lead_response(
    request: Request, lead_id: str, user: WebUser, error: str | None, status: int
) -> Response:
    ctx = context(request)
    try:
        lead = await run_in_threadpool(queries.get_lead, ctx, lead_id)
        history = await run_in_threadpool(queries.lead_history, ctx, lead_id, None, HISTORY_POINTS)
        events = await run_in_threadpool(queries.lead_events, ctx, lead_id, None, LATEST_EVENTS)
    except NotFound:
        return page("not_found.html", 404, user=user)
    return page(
        "lead.html",
        status,
        user=user,
        section="leads",
        lead=lead,
        lines=explanation_lines(lead.get("explanation")),
        chart=history_series(history["data"]),
        events=events["data"],
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


def history_series(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """The score history, oldest first, as uPlot wants it: epoch seconds and values."""
    ordered = list(reversed(rows))
    return {
        "t": [parse_timestamp(r["at"]) / 1_000_000 for r in ordered],
        "score": [r["score"] for r in ordered],
        "fit": [r["fit"] for r in ordered],
        "engagement": [r["engagement"] for r in ordered],
    }


@router.post("/leads/{lead_id}/overrides")
async def post_override(
    request: Request,
    lead_id: str,
    posted: tuple[WebUser, dict[str, str]] = Depends(posted_by("manager")),
) -> Response:
    """Add points to a lead's score (managers and admins), as POST /api/v1/leads/{id}/overrides
    does, with the user's e-mail as the author."""
    user, fields = posted
    try:
        item = OverrideIn.model_validate(
            {"points": fields.get("points") or None, "reason": fields.get("reason", "")}
        )
        await run_in_threadpool(add_override, context(request), lead_id, item, user.email)
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        return await _lead_response(request, lead_id, user, message, 422)
    except (Invalid, Conflict) as exc:
        return await _lead_response(request, lead_id, user, str(exc), 422)
    except NotFound:
        return page("not_found.html", 404, user=user)
    return RedirectResponse(f"/leads/{quote(lead_id, safe='')}", 303)
