"""API keys over the API (admin): create one (its key is in this answer and nowhere else,
ever: only its SHA-256 hash is stored), list them (never a hash), revoke one (it stops
working at once in this process, within LEADSCORE_API_KEY_CACHE_SECONDS in others)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field

from leadscore.api import schemas
from leadscore.api.auth import Admin
from leadscore.api.bodies import model_body, request_body
from leadscore.service import keys
from leadscore.service.keys import KEY_NAME_PATTERN, KeyIn
from leadscore.service.principals import Principal

router = APIRouter(prefix="/keys", tags=["keys"])
Scope = Literal["read", "write", "admin"]


class ApiKey(schemas.Out):
    """A key as listed: never the key, never its hash."""

    name: str
    scopes: list[Scope]
    created_at: str
    revoked: bool


class NewApiKey(schemas.Out):
    """A key just created: `key` is shown here once and cannot be read again."""

    name: str
    scopes: list[Scope]
    created_at: str
    key: str = Field(description="send as `Authorization: Bearer <key>`; shown only this once")


KeyPath = Annotated[str, Path(max_length=100, pattern=KEY_NAME_PATTERN, description="its name")]


@router.post(
    "",
    response_model=NewApiKey,
    status_code=201,
    summary="Create an API key (the key is shown once)",
    openapi_extra=request_body(KeyIn),
    responses={409: {"model": schemas.Error, "description": "A key with this name exists"}},
)
async def create_key(request: Request, principal: Principal = Admin) -> dict[str, Any]:
    body = await model_body(request, KeyIn)
    ctx = request.app.state.ctx
    return await run_in_threadpool(keys.issue_key, ctx, body.name, body.scopes, principal.name)


@router.get("", response_model=list[ApiKey], summary="List the API keys, revoked ones included")
def list_keys(request: Request, principal: Principal = Admin) -> list[dict[str, Any]]:
    return keys.list_keys(request.app.state.ctx)


@router.delete(
    "/{name}",
    status_code=204,
    responses={404: {"model": schemas.Error, "description": "No active key of this name"}},
    summary="Revoke an API key",
)
def revoke_key(request: Request, name: KeyPath, principal: Principal = Admin) -> Response:
    keys.revoke_key(request.app.state.ctx, name, principal.name)
    return Response(status_code=204)
