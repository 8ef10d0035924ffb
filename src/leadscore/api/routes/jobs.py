"""Background jobs (training a predictive model): their status, progress and result (read)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Read
from leadscore.api.errors import error_response
from leadscore.service import jobs
from leadscore.service.jobs import Busy, Jobs
from leadscore.service.principals import Principal

router = APIRouter(prefix="/jobs", tags=["jobs"])


async def queued(
    request: Request, response: Response, submit: Callable[[Jobs], dict[str, Any]]
) -> Any:
    """Queue a job with `submit(runner)` and answer 202 with it and its `Location`; a job of
    the same kind already queued or running is a 409 naming it."""
    runner: Jobs = request.app.state.jobs
    try:
        job = await run_in_threadpool(lambda: submit(runner))
    except Busy as busy:
        where = request.app.url_path_for("get_job", job_id=busy.job["id"])
        return error_response(request.scope, 409, str(busy), {"Location": where})
    response.headers["Location"] = request.app.url_path_for("get_job", job_id=job["id"])
    return job


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
