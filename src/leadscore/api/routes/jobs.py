"""Background jobs (training a predictive model): their status, progress and result (read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from leadscore.api import schemas
from leadscore.api.auth import Read
from leadscore.service import jobs
from leadscore.service.principals import Principal

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("", response_model=list[schemas.Job], summary="List recent jobs")
def list_jobs(
    request: Request,
    principal: Principal = Read,
    limit: Annotated[int, Query(ge=1, le=100, description="how many, newest first")] = 20,
) -> list[dict[str, Any]]:
    """The newest jobs first, whatever their status."""
    return jobs.recent(request.app.state.ctx, limit)


@router.get(
    "/{job_id}",
    response_model=schemas.Job,
    responses={404: {"model": schemas.Error, "description": "No such job"}},
    summary="A job's status, progress and result",
)
def get_job(request: Request, job_id: str, principal: Principal = Read) -> dict[str, Any]:
    """Poll this until `status` is `succeeded` (see `result`) or `failed` (see `error`)."""
    return jobs.get(request.app.state.ctx, job_id)
