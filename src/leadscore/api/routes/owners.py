"""Owners and teams (docs/owners-and-lists.md): read with a read key, created and changed with
an admin key. Assignment itself is an automation's action (§6), not an endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Admin, Read
from leadscore.api.bodies import model_body, request_body
from leadscore.service import owners
from leadscore.service.owners import OwnerChange, OwnerIn, TeamIn, TeamMembers
from leadscore.service.principals import Principal

router = APIRouter()
NO_OWNER: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such owner"}
}
NO_TEAM: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such team, or an unknown member"}
}


@router.get("/owners", response_model=list[schemas.Owner], tags=["owners"], summary="List owners")
def list_owners(request: Request, principal: Principal = Read) -> list[dict[str, Any]]:
    """Every owner by id, with their open leads and teams."""
    return owners.list_owners(request.app.state.ctx)


@router.post(
    "/owners",
    response_model=schemas.Owner,
    status_code=201,
    tags=["owners"],
    summary="Add an owner",
    openapi_extra=request_body(OwnerIn),
    responses={409: {"model": schemas.Error, "description": "An owner with this id exists"}},
)
async def create_owner(request: Request, principal: Principal = Admin) -> dict[str, Any]:
    """`id` is the value a lead's `owner` holds (an e-mail or a CRM user id); `capacity` caps
    the open leads assignment gives them (null: no cap)."""
    body = await model_body(request, OwnerIn)
    ctx = request.app.state.ctx
    return await run_in_threadpool(owners.create_owner, ctx, body, principal.name)


@router.get(
    "/owners/{owner_id}",
    response_model=schemas.Owner,
    responses=NO_OWNER,
    tags=["owners"],
    summary="One owner",
)
def get_owner(request: Request, owner_id: str, principal: Principal = Read) -> dict[str, Any]:
    return owners.get_owner(request.app.state.ctx, owner_id)


@router.patch(
    "/owners/{owner_id}",
    response_model=schemas.Owner,
    responses=NO_OWNER,
    tags=["owners"],
    summary="Change an owner: name, e-mail, capacity, active",
    openapi_extra=request_body(OwnerChange),
)
async def update_owner(
    request: Request, owner_id: str, principal: Principal = Admin
) -> dict[str, Any]:
    """Only the keys sent change; `capacity: null` removes the cap. `active: false`
    deactivates the owner: they keep the leads they own, and are assigned no new ones."""
    body = await model_body(request, OwnerChange)
    ctx = request.app.state.ctx
    return await run_in_threadpool(owners.update_owner, ctx, owner_id, body, principal.name)


@router.get("/teams", response_model=list[schemas.Team], tags=["teams"], summary="List teams")
def list_teams(request: Request, principal: Principal = Read) -> list[dict[str, Any]]:
    """Every team by name, with its members in order."""
    return owners.list_teams(request.app.state.ctx)


@router.post(
    "/teams",
    response_model=schemas.Team,
    status_code=201,
    tags=["teams"],
    summary="Add a team with its members in order",
    openapi_extra=request_body(TeamIn),
    responses={
        **NO_TEAM,
        409: {"model": schemas.Error, "description": "A team with this name exists"},
    },
)
async def create_team(request: Request, principal: Principal = Admin) -> dict[str, Any]:
    """The members' order is the round-robin order and breaks least-loaded ties; an unknown
    member is a 404 naming it (`loc`), and nothing is written."""
    body = await model_body(request, TeamIn)
    ctx = request.app.state.ctx
    return await run_in_threadpool(owners.create_team, ctx, body, principal.name)


@router.get(
    "/teams/{name}",
    response_model=schemas.Team,
    responses=NO_TEAM,
    tags=["teams"],
    summary="One team",
)
def get_team(request: Request, name: str, principal: Principal = Read) -> dict[str, Any]:
    return owners.get_team(request.app.state.ctx, name)


@router.put(
    "/teams/{name}/members",
    response_model=schemas.Team,
    responses=NO_TEAM,
    tags=["teams"],
    summary="Set a team's members, in order",
    openapi_extra=request_body(TeamMembers),
)
async def set_members(request: Request, name: str, principal: Principal = Admin) -> dict[str, Any]:
    """`{"members": ["ann@x.com", "bob@x.com"]}` replaces the members, in this order (an
    empty list empties the team). Round-robin goes on after the member it assigned last."""
    body = await model_body(request, TeamMembers)
    ctx = request.app.state.ctx
    return await run_in_threadpool(owners.set_members, ctx, name, body.members, principal.name)
