"""The audit log (admin): who changed what by hand, when, and from which client IP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import Field

from leadscore.api import schemas
from leadscore.api.auth import Admin
from leadscore.api.routes.leads import Cursor, Limit
from leadscore.core.timestamps import INSTANT_PATTERN, TimestampError, parse_instant
from leadscore.service import audit
from leadscore.service.errors import Invalid, Problem
from leadscore.service.principals import Principal

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntry(schemas.Out):
    id: int
    at: str
    actor: str = Field(description="the API key's name, the dashboard user's e-mail, or cli")
    action: str = Field(description="e.g. model.upload, apikey.revoke, override.add")
    target: str | None = Field(description="what was changed: a version, a key, a lead id")
    ip: str | None = Field(description="the client's address; null outside a request")
    details: dict[str, Any]


class AuditPage(schemas.Out):
    data: list[AuditEntry]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page")


Instant = Annotated[
    str | None,
    Query(description="RFC 3339 / ISO 8601; no zone means UTC", pattern=INSTANT_PATTERN),
]


def _instant(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return parse_instant(text)
    except TimestampError as exc:
        raise Invalid([Problem(("query", name), str(exc))]) from None


@router.get("", response_model=AuditPage, summary="The audit log, newest first")
def list_audit(
    request: Request,
    principal: Principal = Admin,
    actor: Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00]*$")] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=50,
            pattern=r"^[^\x00]*$",
            description="one action, or a family ending in '.' (e.g. apikey.)",
        ),
    ] = None,
    since: Instant = None,
    until: Instant = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Entries at or after `since` and before `until`, by `actor`, of `action`."""
    return audit.entries(
        request.app.state.ctx,
        actor=actor,
        action=action,
        since=_instant("since", since),
        until=_instant("until", until),
        cursor=cursor,
        limit=limit,
    )
