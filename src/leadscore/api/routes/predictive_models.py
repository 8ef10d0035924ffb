"""Predictive model versions (§7): list with their cards (read), train one from the store's
leads and outcomes in a background job (admin; api/routes/jobs.py shows the job), activate one
(admin), and its realised figures as outcomes arrive (read; docs/predictive.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from leadscore.api import schemas
from leadscore.api.auth import Admin, Read
from leadscore.api.bodies import json_body
from leadscore.api.errors import problems_of
from leadscore.api.params import Version
from leadscore.api.routes.jobs import queued
from leadscore.api.schemas_monitoring import PredictivePerformance
from leadscore.service import monitoring, predictions
from leadscore.service.errors import Invalid
from leadscore.service.inputs import Name, whole
from leadscore.service.principals import Principal

router = APIRouter(prefix="/predictive-models", tags=["predictive models"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such version"}
}


Folds = Annotated[int, Field(ge=2, le=10), BeforeValidator(whole)]
"""`3` or `3.0` (JSON Schema's integer), never `true` or `"3"`; the bounds come before the
validator so that the schema states them."""


class TrainIn(BaseModel):
    """What to train: every field is optional."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Name = predictions.DEFAULT_NAME
    exclude: list[str] = Field(default_factory=list, description="feature columns to leave out")
    activate: bool = Field(True, description="make the new version active")
    folds: Folds | None = Field(
        None, description="cross-validation folds (default 5; 3 from 50,000 rows)"
    )


@router.get(
    "", response_model=list[schemas.PredictiveModel], summary="List predictive model versions"
)
def list_models(
    request: Request,
    principal: Principal = Read,
    cards: Annotated[bool, Query(description="include each full model card")] = True,
) -> list[dict[str, Any]]:
    """Newest first, each with its cross-validated figures and (by default) its card."""
    versions = predictions.list_models(request.app.state.ctx, with_cards=True)
    if not cards:
        for v in versions:
            v.pop("card")
    return versions


@router.post(
    "/train",
    response_model=schemas.Job,
    status_code=202,
    responses={
        409: {"model": schemas.Error, "description": "A training job is queued or running"},
        422: {"model": schemas.Error, "description": "The body is not a training request"},
    },
    summary="Train a predictive model version from the store, in the background",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": TrainIn.model_json_schema()}},
        }
    },
)
async def train(request: Request, response: Response, principal: Principal = Admin) -> Any:
    """Queues a job that learns from every lead with an outcome (first outcome; events
    before it only) and stores the model as a new version. Answers at once with the job
    (`Location: /api/v1/jobs/{id}`); poll it for the progress and the result. One training
    runs at a time: another one queued or running is a 409 naming it."""
    raw = await request.body()
    data = await json_body(request) if raw.strip() else {}
    try:
        body = TrainIn.model_validate(data)
    except ValidationError as exc:
        raise Invalid(problems_of(exc)) from None
    return await queued(
        request,
        response,
        lambda runner: runner.train_predictive(
            actor=principal.name,
            name=body.name,
            exclude=body.exclude,
            activate=body.activate,
            folds=body.folds,
        ),
    )


@router.post(
    "/{version}/activate",
    response_model=schemas.PredictiveActivation,
    responses=NOT_FOUND,
    summary="Make a predictive model version the active one",
)
def activate(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    return predictions.activate(request.app.state.ctx, version, principal.name)


Refresh = Annotated[
    bool, Query(description="recompute the figures from the outcomes now, and store them")
]


@router.get(
    "/{version}/performance",
    response_model=PredictivePerformance,
    responses=NOT_FOUND,
    summary="A predictive model version's realised figures as outcomes arrive",
)
async def performance(
    request: Request, version: Version, principal: Principal = Read, refresh: Refresh = False
) -> Any:
    """Realised ROC AUC, calibration error, Brier score and conversion by decile over the last
    30 and 90 days and each calendar month of outcomes, from each lead's probability before
    its outcome, and whether the model has decayed against its card. The figures are those
    of the last scheduled run (LEADSCORE_MONITORING_CRON) unless `refresh=true`."""
    ctx = request.app.state.ctx
    return await run_in_threadpool(
        monitoring.performance, ctx, monitoring.PREDICTIVE, version, fresh=refresh
    )
