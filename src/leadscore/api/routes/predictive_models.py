"""Predictive model versions (§7): list with their cards (read), train one from the store's
leads and outcomes in a background job (admin; api/routes/jobs.py shows the job), activate one
(admin), a version's drift report over the recent leads (read), its realised figures as
outcomes arrive (read), retrain with a champion/challenger decision in a background job
(admin) and list those decisions (read). See docs/predictive.md."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from leadscore.api import schemas, schemas_drift
from leadscore.api.auth import Admin, Read
from leadscore.api.bodies import json_body
from leadscore.api.errors import problems_of
from leadscore.api.params import Version
from leadscore.api.routes.jobs import queued
from leadscore.api.routes.leads import Cursor
from leadscore.api.schemas_monitoring import PredictivePerformance
from leadscore.service import drift, monitoring, predictions, retraining
from leadscore.service.errors import Invalid
from leadscore.service.inputs import Name, whole
from leadscore.service.principals import Principal

M = TypeVar("M", bound=BaseModel)
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


async def optional_body(request: Request, model: type[M]) -> M:
    """The body as one `model`, or the model's defaults when the body is empty (a 422 names
    every bad field): the training and retraining requests take no body or a partial one."""
    raw = await request.body()
    data = await json_body(request) if raw.strip() else {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise Invalid(problems_of(exc)) from None


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
    body = await optional_body(request, TrainIn)
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


class RetrainIn(BaseModel):
    """How to retrain: every field is optional."""

    model_config = ConfigDict(extra="forbid", strict=True)

    force: bool = Field(
        False,
        description="train and judge a challenger even without enough new outcomes or drift "
        "(the challenger must still beat the active version to replace it)",
    )


@router.post(
    "/retrain",
    response_model=schemas.Job,
    status_code=202,
    responses={
        409: {"model": schemas.Error, "description": "A retraining job is queued or running"},
        422: {"model": schemas.Error, "description": "The body is not a retraining request"},
    },
    summary="Retrain with a champion/challenger decision, in the background",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": RetrainIn.model_json_schema()}},
        }
    },
)
async def retrain(request: Request, response: Response, principal: Principal = Admin) -> Any:
    """Queues a job that decides whether to retrain (enough new outcomes since the active
    version was trained, or drift, or `force`), trains a challenger on the older outcomes,
    judges it against the active version on the newest ones, and activates it only if it is
    better (docs/predictive.md#retraining). Answers at once with the job
    (`Location: /api/v1/jobs/{id}`); its result is the decision, also listed by
    `GET /api/v1/predictive-models/retraining`."""
    body = await optional_body(request, RetrainIn)
    return await queued(
        request,
        response,
        lambda runner: runner.retrain_predictive(actor=principal.name, force=body.force),
    )


@router.get(
    "/retraining",
    response_model=schemas.RetrainDecisionPage,
    summary="The retraining decisions, newest first",
)
def list_retraining(
    request: Request,
    principal: Principal = Read,
    cursor: Cursor = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Page size.")] = 20,
) -> dict[str, Any]:
    """Every retraining run's decision (activated, kept or skipped), why, and the holdout
    figures of the active version (champion) and the challenger, newest first. The same
    entries are in the audit log as `predictive.retrain`."""
    return retraining.decisions(request.app.state.ctx, cursor=cursor, limit=limit)


@router.post(
    "/{version}/activate",
    response_model=schemas.PredictiveActivation,
    responses=NOT_FOUND,
    summary="Make a predictive model version the active one",
)
def activate(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    return predictions.activate(request.app.state.ctx, version, principal.name)


@router.get(
    "/{version}/drift",
    response_model=schemas_drift.DriftReport,
    responses={
        **NOT_FOUND,
        409: {
            "model": schemas.Error,
            "description": "The version was trained before drift reports existed (retrain),"
            " or cannot be loaded on this server (a LightGBM model without LightGBM)",
        },
    },
    summary="Drift report: a version's training data against the recent leads",
)
def drift_report(
    request: Request,
    version: Version,
    principal: Principal = Read,
    days: Annotated[
        int,
        Query(ge=1, le=3650, description="leads created, or with an event, in the last N days"),
    ] = drift.DEFAULT_DAYS,
    limit: Annotated[
        int, Query(ge=1, le=50_000, description="at most this many leads, the newest first")
    ] = drift.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Per feature, the share of the window's leads outside the training range or in
    categories never seen in training, the share missing beside the training's, and the
    population stability index, each judged against the documented thresholds
    (docs/predictive.md#the-drift-report). Features are computed as the live predictor
    computes them now."""
    return drift.drift_for_version(request.app.state.ctx, version, days, limit)


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
