"""Scoring-model versions: upload YAML, list, read, activate, roll back (admin scope), and
the realised conversion by band of a version as outcomes arrive (read; docs/predictive.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Admin, Read
from leadscore.api.params import Version
from leadscore.api.schemas_monitoring import RulePerformance
from leadscore.service import monitoring, scoring_models
from leadscore.service.errors import Invalid, Problem
from leadscore.service.input_rules import text_error
from leadscore.service.principals import Principal

router = APIRouter(prefix="/models", tags=["models"])

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
MODEL_TEXT = {"type": "string", "format": "leadscore-model"}
"""A model file (docs/models.md): a format no schema language can state; a text that is not a
valid model is a 422 listing every error."""
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such version"}
}


@router.post(
    "",
    response_model=schemas.ModelUploaded,
    response_model_exclude_unset=True,
    status_code=201,
    summary="Upload a model (YAML) as a new version",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": MODEL_TEXT},
                "text/plain": {"schema": MODEL_TEXT},
            },
        }
    },
    responses={
        415: {"model": schemas.Error, "description": "Not a YAML content type"},
        422: {"model": schemas.Error, "description": "Every model error, with path and line"},
    },
)
async def upload(
    request: Request, activate: bool = False, principal: Principal = Admin
) -> dict[str, Any]:
    """The body is the model file (content type application/yaml or text/plain). It is
    validated as `leadscore validate` does; an invalid one is rejected with every error
    (`path`, `line`, `msg`) and stores nothing. `?activate=true` activates it at once."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in YAML_TYPES:
        raise HTTPException(415, f"send the model as YAML ({', '.join(YAML_TYPES)})")
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        message = f"the model must be UTF-8 text (byte {exc.start} is not)"
        raise Invalid([Problem(("body",), message, "text_invalid")]) from None
    reason = text_error(text)
    if reason is not None:
        raise Invalid([Problem(("body",), f"the model {reason}", "text_invalid")])
    ctx = request.app.state.ctx
    stored = await run_in_threadpool(scoring_models.upload, ctx, text, principal.name)
    if not activate:
        return stored
    done = await run_in_threadpool(scoring_models.activate, ctx, stored["version"], principal.name)
    now = await run_in_threadpool(scoring_models.get_version, ctx, stored["version"])
    return {**{k: v for k, v in now.items() if k != "yaml"}, "activation": done}


@router.get("", response_model=list[schemas.ModelVersion], summary="List model versions")
def list_versions(request: Request, principal: Principal = Read) -> list[dict[str, Any]]:
    return scoring_models.list_versions(request.app.state.ctx)


@router.get(
    "/{version}",
    response_model=schemas.ModelVersionText,
    responses=NOT_FOUND,
    summary="One model version with its YAML",
)
def get_version(request: Request, version: Version, principal: Principal = Read) -> dict[str, Any]:
    return scoring_models.get_version(request.app.state.ctx, version)


@router.post(
    "/{version}/activate",
    response_model=schemas.Activation,
    response_model_exclude_unset=True,
    responses=NOT_FOUND,
    summary="Activate a version and rescore every lead",
)
def activate(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    """Every lead is rescored with it before the response (history cause `model`)."""
    return scoring_models.activate(request.app.state.ctx, version, principal.name)


@router.post(
    "/{version}/rollback",
    response_model=schemas.Activation,
    response_model_exclude_unset=True,
    responses={**NOT_FOUND, 409: {"model": schemas.Error, "description": "Not active"}},
    summary="Undo the activation of the active version",
)
def rollback(request: Request, version: Version, principal: Principal = Admin) -> dict[str, Any]:
    """`version` must be the active one; the version active before it is activated again,
    and every lead rescored."""
    return scoring_models.rollback(request.app.state.ctx, version, principal.name)


@router.get(
    "/{version}/performance",
    response_model=RulePerformance,
    responses=NOT_FOUND,
    summary="A model version's realised conversion by band as outcomes arrive",
)
async def performance(
    request: Request,
    version: Version,
    principal: Principal = Read,
    refresh: Annotated[
        bool, Query(description="recompute the figures from the outcomes now, and store them")
    ] = False,
) -> Any:
    """Conversion by the tier each lead had (under this version) just before its first
    outcome, over the last 30 and 90 days and each calendar month of outcomes. The figures
    are those of the last scheduled run (LEADSCORE_MONITORING_CRON) unless `refresh=true`."""
    ctx = request.app.state.ctx
    return await run_in_threadpool(
        monitoring.performance, ctx, monitoring.RULES, version, fresh=refresh
    )
