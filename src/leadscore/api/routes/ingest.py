"""Writing events and outcomes (§4 ingest): each event rescores its lead at once."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Write
from leadscore.api.bodies import body_loc, one_or_batch, request_body
from leadscore.api.responses import FastJSONResponse
from leadscore.service import metrics
from leadscore.service.events import ingest_events
from leadscore.service.inputs import EventBatch, EventIn, OutcomeBatch, OutcomeIn
from leadscore.service.outcomes import record_outcomes
from leadscore.service.principals import Principal

router = APIRouter(tags=["ingest"])


@router.post(
    "/events",
    summary="Ingest one event or a batch of up to 10,000",
    openapi_extra=request_body(EventIn, EventBatch),
    responses={
        201: {"model": schemas.EventWritten, "description": "One event, stored"},
        200: {
            "model": schemas.EventBatchWritten | schemas.EventWritten,
            "description": "A batch; or one event whose id was seen before (a duplicate)",
        },
        404: {"model": schemas.Error, "description": "An unknown lead_id"},
        409: {
            "description": "An event id that belongs to another lead's event, or an unknown"
            " e-mail or external id of a person who was erased (docs/privacy.md)"
        },
        422: {"model": schemas.Error},
    },
    status_code=201,
)
async def post_events(request: Request, principal: Principal = Write) -> FastJSONResponse:
    """Store the event(s) and rescore each lead in the same transaction. The response
    carries each lead's new score, its stage and the change. A batch is all or nothing."""
    return await answer_events(request)


async def answer_events(request: Request) -> FastJSONResponse:
    """POST /events once the caller may write: also what api/shortcut.py answers with."""
    items, is_batch = await one_or_batch(request, EventIn, EventBatch, "events")
    loc_of = body_loc("events", is_batch)
    writer = getattr(request.app.state, "writer", None)
    if writer is not None and len(items) <= writer.max_events:  # commit with others waiting
        done = await writer.store(items, loc_of)
    else:
        done = await run_in_threadpool(ingest_events, request.app.state.ctx, items, loc_of)
    metrics.EVENTS_FROM_API.inc(done.stored)
    leads = done.lead_dicts()
    if is_batch:
        body = {
            "stored": done.stored,
            "duplicates": len(done.events) - done.stored,
            "events": done.events,
            "leads": leads,
        }
        return FastJSONResponse(body, status_code=200)
    status = 201 if done.stored else 200
    return FastJSONResponse({"event": done.events[0], "lead": leads[0]}, status_code=status)


@router.post(
    "/outcomes",
    summary="Record that leads converted or were lost",
    openapi_extra=request_body(OutcomeIn, OutcomeBatch),
    responses={
        201: {"model": schemas.OutcomesWritten, "description": "One outcome, recorded"},
        200: {
            "model": schemas.OutcomesWritten,
            "description": "A batch; or one outcome recorded before (a duplicate)",
        },
        404: {"model": schemas.Error},
        422: {"model": schemas.Error},
    },
    status_code=201,
)
async def post_outcomes(request: Request, principal: Principal = Write) -> FastJSONResponse:
    """One outcome or `{"outcomes": [...]}`; by default the lead moves to `customer` or
    `lost`. An outcome is unique by (lead, outcome, time): a repeated one is answered as a
    `duplicate` and changes nothing. A batch is all or nothing."""
    items, is_batch = await one_or_batch(request, OutcomeIn, OutcomeBatch, "outcomes")
    loc_of = body_loc("outcomes", is_batch)
    written = await run_in_threadpool(
        record_outcomes, request.app.state.ctx, items, principal.name, loc_of
    )
    recorded = sum(1 for o in written if o["status"] == "recorded")
    body = {"recorded": recorded, "duplicates": len(written) - recorded, "outcomes": written}
    status = 200 if is_batch or not recorded else 201
    return FastJSONResponse(body, status_code=status)
