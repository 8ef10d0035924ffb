"""Lists and nurture sequences (docs/owners-and-lists.md): read them, page through their
members, export them as CSV (read); add leads by id and remove them (write)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from leadscore.api import schemas
from leadscore.api.auth import Read, Write
from leadscore.api.bodies import model_body, request_body
from leadscore.api.routes.leads import Cursor, Limit
from leadscore.service import lists
from leadscore.service.lists import ListMembersIn
from leadscore.service.owners import PATH_NAME_PATTERN
from leadscore.service.principals import Principal

router = APIRouter(prefix="/lists", tags=["lists"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such list"}
}
LINES_PER_CHUNK = 500
NEW_NAME = Annotated[
    str,
    Path(
        description="The list's name (created on first use: 1 to 200 characters, no '/').",
        json_schema_extra={"pattern": PATH_NAME_PATTERN},
    ),
]


class CSVResponse(StreamingResponse):
    media_type = "text/csv"


@router.get("", response_model=list[schemas.ListSummary], summary="List lists and sequences")
def list_lists(request: Request, principal: Principal = Read) -> list[dict[str, Any]]:
    """Every list and nurture sequence by name, with its number of members."""
    return lists.list_lists(request.app.state.ctx)


@router.get(
    "/{name}/members",
    response_model=schemas.ListMemberPage,
    responses=NOT_FOUND,
    summary="A list's members, in the order they were added",
)
def list_members(
    request: Request,
    name: str,
    principal: Principal = Read,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    return lists.members_page(request.app.state.ctx, name, cursor, limit)


@router.get(
    "/{name}/members.csv",
    response_class=CSVResponse,
    responses={
        200: {
            "description": "RFC 4180 CSV in UTF-8, a header then one record per member",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **NOT_FOUND,
    },
    summary="Export a list's members as CSV",
)
def export_members(request: Request, name: str, principal: Principal = Read) -> CSVResponse:
    """Columns: lead_id, email, name, company, score, tier, stage, owner, added_at,
    added_by; records end in CRLF; a cell a spreadsheet would run as a formula starts with
    a single quote. Streamed: a list of any size is read a page at a time."""
    records = lists.csv_lines(request.app.state.ctx, name)
    headers = {"Content-Disposition": _attachment(f"{name}.csv")}
    return CSVResponse(_chunks(records), headers=headers, media_type="text/csv")


def _chunks(lines: Iterator[str]) -> Iterator[str]:
    """Records grouped into chunks (one write per chunk, not per record)."""
    chunk: list[str] = []
    for line in lines:
        chunk.append(line)
        if len(chunk) == LINES_PER_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def _attachment(filename: str) -> str:
    """A Content-Disposition naming the file: an ASCII fallback and the UTF-8 name."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.post(
    "/{name}/members",
    response_model=schemas.ListMembersAdded,
    responses={
        404: {"model": schemas.Error, "description": "An unknown lead id (each one named)"},
        409: {"model": schemas.Error, "description": "The list is of the other kind"},
    },
    summary="Add leads to a list by id (created on first use)",
    openapi_extra=request_body(ListMembersIn),
)
async def add_members(
    request: Request, name: NEW_NAME, principal: Principal = Write
) -> dict[str, Any]:
    """`{"lead_ids": ["L-1", "L-2"], "by": "sam@yourco.com"}` (up to 1,000; `by` defaults to
    the key's name; `kind`, list or sequence, applies to a list this creates). A lead that is
    a member already stays as it was (`already_members`). An unknown lead id is a 404 naming
    it, and nothing is added."""
    body = await model_body(request, ListMembersIn)
    ctx = request.app.state.ctx
    return await run_in_threadpool(lists.add_leads, ctx, name, body, principal.name)


@router.delete(
    "/{name}/members/{lead_id}",
    response_model=schemas.ListMemberRemoved,
    responses={404: {"model": schemas.Error, "description": "No such list or lead"}},
    summary="Remove a lead from a list",
)
def remove_member(
    request: Request, name: str, lead_id: str, principal: Principal = Write
) -> dict[str, Any]:
    """`removed` is false when the lead was not a member."""
    return lists.remove_lead(request.app.state.ctx, name, lead_id, principal.name)
