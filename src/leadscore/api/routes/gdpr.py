"""GDPR: a lead's export (Art. 15/20) and erasure (Art. 17). Admin scope: they are
everything held on a person, and the end of it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Admin
from leadscore.api.errors import invalid
from leadscore.api.schemas_gdpr import Erasure, LeadExport
from leadscore.service import gdpr
from leadscore.service.errors import Problem
from leadscore.service.principals import Principal

router = APIRouter(prefix="/leads", tags=["gdpr"])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such lead"}
}


@router.get(
    "/{lead_id}/export",
    response_model=LeadExport,
    responses=NOT_FOUND,
    summary="Everything held on a lead, in one document (GDPR Art. 15/20)",
)
async def export_lead(request: Request, lead_id: str, principal: Principal = Admin) -> Any:
    """The lead, its events, outcomes, score history with explanations, overrides and pins,
    list memberships, outbox rows, CRM records, the audit entries that name it and the
    active predictive model's probability (docs/privacy.md)."""
    return await run_in_threadpool(gdpr.export_lead, request.app.state.ctx, lead_id)


ERASE_PARAMETER = {
    "name": "erase",
    "in": "query",
    "required": True,
    "description": "Must be true: deleting a lead erases it and everything derived from it"
    " (docs/privacy.md); without it the answer is 400.",
    "schema": {"type": "boolean", "enum": [True]},
}
"""Documented by hand (the route's own parameter is text, hidden from the document): a
missing or false `erase` is a 400 naming it, where a declared boolean would make
`erase=false` a valid request, and a missing one a 422."""


@router.delete(
    "/{lead_id}",
    response_model=Erasure,
    responses={
        **NOT_FOUND,
        400: {"model": schemas.Error, "description": "erase=true is missing"},
    },
    summary="Erase a lead and everything derived from it (GDPR Art. 17)",
    openapi_extra={"parameters": [ERASE_PARAMETER]},
)
async def erase_lead(
    request: Request,
    lead_id: str,
    principal: Principal = Admin,
    erase: Annotated[str | None, Query(include_in_schema=False)] = None,
) -> Any:
    """Deletes the lead, its events, history, overrides, outcomes, list memberships, outbox
    rows and CRM records in one transaction, replaces its mentions elsewhere by a token,
    suppresses its e-mail and external ids (a later sync, import or event does not create
    it again without new consent) and leaves the audit record `lead.erase`."""
    if (erase or "").lower() != "true":
        message = "erase must be true: deleting a lead erases it and everything derived from it"
        return invalid(request.scope, [Problem(("query", "erase"), message, "missing")], 400)
    ctx = request.app.state.ctx
    return await run_in_threadpool(gdpr.erase_lead, ctx, lead_id, principal.name)
