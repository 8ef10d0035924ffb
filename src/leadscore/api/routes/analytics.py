"""Analytics (issue 13): the score distribution, conversion by band and tier with 95 %
Wilson intervals, the funnel and the time to conversion, over the leads created in a period;
each as JSON or, with `?format=csv`, as the CSV of its table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from leadscore.api import schemas
from leadscore.api.auth import Read
from leadscore.core.timestamps import INSTANT_PATTERN
from leadscore.service import analytics
from leadscore.service.principals import Principal

router = APIRouter(prefix="/analytics", tags=["analytics"])

From = Annotated[
    str | None,
    Query(
        alias="from",
        pattern=INSTANT_PATTERN,
        description="Leads created from then (ISO 8601; no zone is UTC); default: `to` − 365 days.",
    ),
]
To = Annotated[
    str | None,
    Query(
        pattern=INSTANT_PATTERN,
        description="Leads created before then; a bare date includes that day; default: now.",
    ),
]
Version = Annotated[
    int | None,
    Query(
        ge=1,
        le=2_147_483_647,
        description="Judge the scores each lead last had under this model version (its latest"
        " score history row written by it; leads it never scored are left out); default: the"
        " leads' current scores.",
    ),
]
Format = Annotated[
    Literal["json", "csv"], Query(description="`csv`: the figure's table as text/csv.")
]
MODELS: dict[analytics.Figure, tuple[type[BaseModel], str]] = {
    "distribution": (schemas.Distribution, "Score distribution in 10-point bins"),
    "conversion": (schemas.Conversion, "Conversion by score band and tier, 95 % intervals"),
    "funnel": (schemas.Funnel, "The funnel lead → MQL → SQL → won"),
    "time-to-conversion": (schemas.TimeToConversion, "Days to conversion by score band"),
    "sources": (schemas.Sources, "Leads, revenue, cost per lead and ROI by source and campaign"),
    "lifetime-value": (schemas.LifetimeValue, "Customer lifetime value by source"),
    "calibration": (schemas.Calibration, "Predicted probability against observed, by decile"),
}


def _route(name: analytics.Figure) -> Callable[..., Any]:
    async def figure(
        request: Request,
        principal: Principal = Read,
        start: From = None,
        to: To = None,
        version: Version = None,
        format: Format = "json",
    ) -> Response:
        ctx = request.app.state.ctx
        span = await run_in_threadpool(analytics.period, ctx, start, to, version)
        data = await run_in_threadpool(analytics.figure, ctx, name, span)
        if format == "csv":
            return Response(
                analytics.csv_text(name, data),
                media_type="text/csv; charset=utf-8",
                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
            )
        return JSONResponse(data)

    figure.__name__ = f"analytics_{name.replace('-', '_')}"
    figure.__doc__ = (
        "Over the scored leads created in the period, with the scores they have now, or with"
        " `version` those they last had under that model version. `?format=csv` gives the"
        " table as CSV (docs/dashboard.md#analytics)."
    )
    return figure


for _name, (_model, _summary) in MODELS.items():
    router.add_api_route(
        f"/{_name}",
        _route(_name),
        methods=["GET"],
        summary=_summary,
        response_model=_model,
        responses={
            404: {"model": schemas.Error, "description": "No such model version"},
            200: {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "The figure (JSON), or its table (CSV)",
            },
        },
    )
