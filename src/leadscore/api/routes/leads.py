"""Leads: upsert, list, read one with its events, history and as-of score; overrides."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from leadscore.api import schemas
from leadscore.api.auth import Read, Write
from leadscore.api.bodies import body_loc, model_body, one_or_batch, request_body
from leadscore.api.params import OverrideId
from leadscore.core.timestamps import INSTANT_PATTERN, TimestampError, parse_instant
from leadscore.service import predictions, queries
from leadscore.service.errors import Invalid, Problem
from leadscore.service.inputs import EMAIL_PATTERN, LeadBatch, LeadIn, OverrideIn, email_address
from leadscore.service.leads import upsert_leads
from leadscore.service.overrides import add_override, delete_override
from leadscore.service.principals import Principal

router = APIRouter(prefix="/leads", tags=["leads"])

Limit = Annotated[int, Query(ge=1, le=queries.MAX_LIMIT, description="Page size.")]
Cursor = Annotated[
    str | None,
    Query(
        max_length=1000,
        description="next_cursor of the previous page; empty or absent: the first page.",
        json_schema_extra={"format": "leadscore-cursor"},
    ),
]
Many = Annotated[list[str] | None, Query()]
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such lead"}
}


@router.post(
    "",
    summary="Create or update a lead (upsert by id, e-mail or external id)",
    openapi_extra=request_body(LeadIn, LeadBatch),
    responses={
        201: {"model": schemas.LeadWritten, "description": "Created"},
        200: {"model": schemas.LeadWritten | schemas.LeadBatchWritten, "description": "Updated"},
        409: {
            "model": schemas.Error,
            "description": "The keys name different leads, or the person was erased"
            " (GDPR: send consent given after the erasure, docs/privacy.md)",
        },
        422: {"model": schemas.Error},
    },
    status_code=201,
)
async def post_lead(request: Request, principal: Principal = Write) -> JSONResponse:
    """One lead, or `{"leads": [...]}` (up to 1,000, all or nothing). The lead is rescored:
    the response carries its new score."""
    ctx = request.app.state.ctx
    items, is_batch = await one_or_batch(request, LeadIn, LeadBatch, "leads")
    loc_of = body_loc("leads", is_batch)
    done = await run_in_threadpool(upsert_leads, ctx, items, principal.name, loc_of)
    if is_batch:
        return JSONResponse({"leads": [c.to_dict(created=new) for c, new in done]})
    change, created = done[0]
    lead = await run_in_threadpool(queries.get_lead, ctx, change.lead_id)
    return JSONResponse({**lead, "created": created}, status_code=201 if created else 200)


SortOrder = Literal[
    "-score",
    "score",
    "-fit",
    "fit",
    "-engagement",
    "engagement",
    "-created_at",
    "created_at",
    "-updated_at",
    "updated_at",
]
"""`queries.SORTS`, ascending or descending (`-`)."""
Sort = Annotated[SortOrder, Query(description="- is descending; ties break on the lead key")]
FINITE = sys.float_info.max
Score = Annotated[float | None, Query(allow_inf_nan=False, ge=-FINITE, le=FINITE)]
"""A score bound: any finite number (a larger one parses to infinity and is refused); the
document states the range of finite doubles, so that it and the server agree."""


@router.get("", response_model=schemas.LeadPage, summary="List leads, or look one up")
def list_leads(
    request: Request,
    principal: Principal = Read,
    stage: Many = None,
    tier: Many = None,
    grade: Many = None,
    owner: Many = None,
    source: Many = None,
    min_score: Score = None,
    max_score: Score = None,
    email: Annotated[
        str | None,
        Query(
            max_length=320,
            pattern=EMAIL_PATTERN,
            description="The lead with this e-mail (normalised as on write).",
        ),
    ] = None,
    external_id: Annotated[
        str | None,
        Query(
            max_length=301,
            pattern=r"^[^:\x00]+:[^\x00]+$",
            description="The lead with this external id, written `source:id` (`hubspot:5501`).",
        ),
    ] = None,
    sort: Sort = "-score",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Leads filtered (repeat a filter for several values: `?stage=mql&stage=sql`), sorted,
    and paginated with an opaque cursor. `email` and `external_id` look a lead up: the page
    then holds that lead, or nothing."""
    filters = queries.LeadFilters(
        stage,
        tier,
        grade,
        owner,
        source,
        min_score,
        max_score,
        None if email is None else _lookup_email(email),
        None if external_id is None else _lookup_external(external_id),
    )
    return queries.list_leads(request.app.state.ctx, filters, sort, cursor, limit)


def _lookup_email(text: str) -> str:
    try:
        return email_address(text)
    except ValueError as exc:
        raise Invalid([Problem(("query", "email"), str(exc))]) from None


def _lookup_external(text: str) -> tuple[str, str]:
    source, _, external_id = text.partition(":")
    return source, external_id


@router.get(
    "/{lead_id}", response_model=schemas.LeadDetail, responses=NOT_FOUND, summary="One lead"
)
def get_lead(request: Request, lead_id: str, principal: Principal = Read) -> dict[str, Any]:
    """The lead, its score with the explanation, overrides in force and outcomes, and the
    active predictive model's probability with its reasons (`prediction`, §7)."""
    ctx = request.app.state.ctx
    lead = queries.get_lead(ctx, lead_id)
    prediction = predictions.predict_lead(ctx, lead_id)
    if prediction is not None:
        lead["probability"] = prediction["probability"]
    return {**lead, "prediction": prediction}


@router.get(
    "/{lead_id}/events",
    response_model=schemas.EventPage,
    responses=NOT_FOUND,
    summary="A lead's events, newest first",
)
def get_events(
    request: Request,
    lead_id: str,
    principal: Principal = Read,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    return queries.lead_events(request.app.state.ctx, lead_id, cursor, limit)


@router.get(
    "/{lead_id}/history",
    response_model=schemas.HistoryPage,
    responses=NOT_FOUND,
    summary="A lead's score changes, newest first",
)
def get_history(
    request: Request,
    lead_id: str,
    principal: Principal = Read,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    return queries.lead_history(request.app.state.ctx, lead_id, cursor, limit)


@router.get(
    "/{lead_id}/score",
    response_model=schemas.ScoreAsOf,
    responses={**NOT_FOUND, 409: {"model": schemas.Error, "description": "No model then"}},
    summary="A lead's score as of a time",
)
def get_score(
    request: Request,
    lead_id: str,
    principal: Principal = Read,
    as_of: Annotated[
        str | None,
        Query(
            description="RFC 3339 / ISO 8601; no zone means UTC; default now",
            pattern=INSTANT_PATTERN,
        ),
    ] = None,
) -> dict[str, Any]:
    """Rescored from the stored events up to `as_of`, with the model active then and the
    overrides in force then (attributes are the current ones)."""
    ctx = request.app.state.ctx
    if as_of is None:
        moment = ctx.now()
    else:
        try:
            moment = parse_instant(as_of)
        except TimestampError as exc:
            raise Invalid([Problem(("query", "as_of"), str(exc))]) from None
    return queries.score_as_of(ctx, lead_id, moment)


@router.post(
    "/{lead_id}/overrides",
    response_model=schemas.OverrideWritten,
    response_model_exclude_unset=True,
    responses={
        **NOT_FOUND,
        409: {"model": schemas.Error, "description": "expires_at has already passed"},
        422: {"model": schemas.Error},
    },
    status_code=201,
    summary="Add points to a lead's score, or pin its stage",
    openapi_extra=request_body(OverrideIn),
)
async def post_override(
    request: Request, lead_id: str, principal: Principal = Write
) -> dict[str, Any]:
    """`{"points": 10, "reason": …}` or `{"stage": "sql", "reason": …}`, with an optional
    `author` (default: the key's name) and `expires_at`. A new pin replaces the old one."""
    body = await model_body(request, OverrideIn)
    ctx = request.app.state.ctx
    override, change = await run_in_threadpool(add_override, ctx, lead_id, body, principal.name)
    return {"override": override, "lead": change.to_dict()}


@router.delete(
    "/{lead_id}/overrides/{override_id}",
    response_model=schemas.OverrideDeleted,
    response_model_exclude_unset=True,
    responses=NOT_FOUND,
    summary="Remove an override",
)
def remove_override(
    request: Request, lead_id: str, override_id: OverrideId, principal: Principal = Write
) -> dict[str, Any]:
    change = delete_override(request.app.state.ctx, lead_id, override_id, principal.name)
    return {"lead": change.to_dict()}
