"""Automations (§6): versions of the automations file, and the outbox of their actions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Admin, Read, Write
from leadscore.api.params import Version
from leadscore.api.routes.leads import Cursor, Limit
from leadscore.service import automations, outbox
from leadscore.service.cursors import PK_MAX, decode_cursor, encode_cursor
from leadscore.service.errors import Invalid, Problem
from leadscore.service.input_rules import text_error
from leadscore.service.principals import Principal

router = APIRouter(tags=["automations"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
AUTOMATIONS_TEXT = {"type": "string", "format": "leadscore-automations"}
"""An automations file (docs/automations.md); a text that is not one is a 422 listing every
error."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such version"}
}
RowId = Annotated[int, Path(ge=1, le=PK_MAX, description="An outbox row's id.")]


@router.post(
    "/automations",
    response_model=schemas.AutomationsVersion,
    status_code=201,
    summary="Upload an automations file (YAML) as a new version",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": AUTOMATIONS_TEXT},
                "text/plain": {"schema": AUTOMATIONS_TEXT},
            },
        }
    },
    responses={
        409: {
            "model": schemas.Error,
            "description": "?activate=true, and an assign_owner names a team or owner that does"
            " not exist (nothing is stored)",
        },
        415: {"model": schemas.Error, "description": "Not a YAML content type"},
        422: {"model": schemas.Error, "description": "Every error, with path and line"},
    },
)
async def upload(
    request: Request, activate: bool = False, principal: Principal = Admin
) -> dict[str, Any]:
    """The body is the automations file. It is validated as `leadscore automations
    validate` does; an invalid one is rejected with every error (`path`, `line`, `msg`) and
    stores nothing. `?activate=true` makes it the active version at once."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in YAML_TYPES:
        raise HTTPException(415, f"send the automations file as YAML ({', '.join(YAML_TYPES)})")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"the file must be UTF-8 text (byte {exc.start} is not)"
        raise Invalid([Problem(("body",), message, "text_invalid")]) from None
    reason = text_error(text)
    if reason is not None:
        raise Invalid([Problem(("body",), f"the file {reason}", "text_invalid")])
    ctx = request.app.state.ctx
    return await run_in_threadpool(automations.upload, ctx, text, principal.name, activate=activate)


@router.get(
    "/automations",
    response_model=list[schemas.AutomationsVersion],
    summary="List automations versions",
)
def list_versions(request: Request, principal: Principal = Read) -> list[dict[str, Any]]:
    return automations.list_versions(request.app.state.ctx)


@router.get(
    "/automations/{version}",
    response_model=schemas.AutomationsVersionText,
    responses=NOT_FOUND,
    summary="One automations version with its YAML",
)
def get_version(request: Request, version: Version, principal: Principal = Read) -> dict[str, Any]:
    return automations.get_version(request.app.state.ctx, version)


@router.post(
    "/automations/{version}/activate",
    response_model=schemas.AutomationsActive,
    responses={
        **NOT_FOUND,
        409: {
            "model": schemas.Error,
            "description": "An assign_owner names a team or owner that does not exist",
        },
    },
    summary="Make a version the active automations",
)
def activate(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    """What fires from now on follows this version; rows already in the outbox keep the
    version that wrote them."""
    return automations.activate(request.app.state.ctx, version, principal.name)


@router.post(
    "/automations/{version}/deactivate",
    response_model=schemas.AutomationsActive,
    responses={**NOT_FOUND, 409: {"model": schemas.Error, "description": "Not active"}},
    summary="Switch automations off (nothing new fires; the outbox is still delivered)",
)
def deactivate(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    """`version` must be the active one."""
    return automations.deactivate(request.app.state.ctx, version, principal.name)


@router.get("/outbox", response_model=schemas.OutboxPage, summary="The outbox, newest first")
def list_outbox(
    request: Request,
    status: Literal["pending", "delivering", "delivered", "failed"] | None = None,
    automation: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
    lead_id: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
    principal: Principal = Read,
) -> dict[str, Any]:
    """Every action automations owe or did: filter by `status` (e.g. `failed`, to retry),
    automation or lead."""
    ctx = request.app.state.ctx
    after = decode_cursor(cursor, "outbox", "micros")[1] if cursor else None
    rows, last, counts = outbox.page_and_counts(
        ctx, status=status, automation=automation, lead_id=lead_id, after=after, limit=limit
    )
    return {
        "data": rows,
        "next_cursor": None if last is None else encode_cursor("outbox", last, last),
        "counts": dict(counts),
    }


@router.get(
    "/outbox/{row_id}",
    response_model=schemas.OutboxRowDetail,
    responses={404: {"model": schemas.Error, "description": "No such row"}},
    summary="One outbox row, with what was sent (an e-mail as sent, a webhook's payload)",
)
def get_outbox_row(request: Request, row_id: RowId, principal: Principal = Read) -> dict[str, Any]:
    return outbox.get_row(request.app.state.ctx, row_id)


@router.post(
    "/outbox/{row_id}/retry",
    response_model=schemas.OutboxRowDetail,
    responses={
        404: {"model": schemas.Error, "description": "No such row"},
        409: {"model": schemas.Error, "description": "The row has not failed"},
    },
    summary="Retry a failed action now",
)
def retry(request: Request, row_id: RowId, principal: Principal = Write) -> dict[str, Any]:
    return outbox.retry(request.app.state.ctx, row_id, principal.name)
