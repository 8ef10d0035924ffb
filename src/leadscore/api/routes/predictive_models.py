"""Predictive model versions (§7): list with their cards (read), train one from the store's
leads and outcomes (admin), activate one (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from leadscore.api import schemas
from leadscore.api.auth import Admin, Read
from leadscore.api.bodies import json_body
from leadscore.api.errors import problems_of
from leadscore.api.params import Version
from leadscore.ml.errors import MLInputError
from leadscore.service import predictions
from leadscore.service.errors import Conflict, Invalid
from leadscore.service.principals import Principal

router = APIRouter(prefix="/predictive-models", tags=["predictive models"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such version"}
}


class TrainIn(BaseModel):
    """What to train: every field is optional."""

    model_config = ConfigDict(extra="forbid", strict=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] = (
        predictions.DEFAULT_NAME
    )
    exclude: list[str] = Field(default_factory=list, description="feature columns to leave out")
    activate: bool = Field(True, description="make the new version active")
    folds: int | None = Field(
        None, ge=2, le=10, description="cross-validation folds (default 5; 3 from 50,000 rows)"
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
    response_model=schemas.PredictiveModel,
    status_code=201,
    responses={409: {"description": "The store's leads and outcomes cannot train a model"}},
    summary="Train a predictive model version from the store",
    openapi_extra={
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": TrainIn.model_json_schema()}},
        }
    },
)
async def train(request: Request, principal: Principal = Admin) -> dict[str, Any]:
    """Learns from every lead with an outcome (first outcome; events before it only) and
    stores the model as a new version. Runs in the request: seconds to minutes."""
    raw = await request.body()
    data = await json_body(request) if raw.strip() else {}
    try:
        body = TrainIn.model_validate(data)
    except ValidationError as exc:
        raise Invalid(problems_of(exc)) from None
    ctx = request.app.state.ctx
    try:
        done = await run_in_threadpool(
            lambda: predictions.train(
                ctx,
                actor=principal.name,
                name=body.name,
                exclude=body.exclude,
                activate=body.activate,
                folds=body.folds,
            )
        )
    except MLInputError as exc:  # the store's data, not the request, is at fault
        raise Conflict(str(exc)) from None
    listed = next(
        v for v in predictions.list_models(ctx, with_cards=True) if v["version"] == done["version"]
    )
    return listed


@router.post(
    "/{version}/activate",
    response_model=schemas.PredictiveActivation,
    responses=NOT_FOUND,
    summary="Make a predictive model version the active one",
)
def activate(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    return predictions.activate(request.app.state.ctx, version, principal.name)
