"""Marketing costs per source (or campaign), month and currency (docs/dashboard.md#costs):
read with a read key, stored and deleted with a write key, all or nothing."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from leadscore.api import schemas
from leadscore.api.auth import Read, Write
from leadscore.api.bodies import model_body, request_body
from leadscore.core import money
from leadscore.service import costs
from leadscore.service.costs import CostBatch
from leadscore.service.principals import Principal

router = APIRouter(prefix="/costs", tags=["costs"])

CurrencyCode = Literal["EUR", "PLN", "RON", "RSD", "USD"]
MonthText = Annotated[str, Query(pattern=money.MONTH_PATTERN)]


@router.get("", response_model=list[schemas.Cost], summary="List costs")
def list_costs(
    request: Request,
    principal: Principal = Read,
    source: Annotated[str | None, Query(max_length=200)] = None,
    campaign: Annotated[
        str | None, Query(max_length=200, description='`""`: the whole-source rows only')
    ] = None,
    currency: CurrencyCode | None = None,
    month_from: Annotated[
        str | None, Query(alias="from", pattern=money.MONTH_PATTERN, description="YYYY-MM")
    ] = None,
    month_to: Annotated[
        str | None, Query(alias="to", pattern=money.MONTH_PATTERN, description="YYYY-MM")
    ] = None,
) -> list[dict[str, Any]]:
    """The stored costs by source, campaign, month and currency; `from` and `to` are months,
    both included."""
    return costs.list_costs(
        request.app.state.ctx,
        source=source,
        campaign=campaign,
        currency=currency,
        month_from=month_from,
        month_to=month_to,
    )


async def _store(request: Request, principal: Principal) -> dict[str, Any]:
    body = await model_body(request, CostBatch)
    ctx = request.app.state.ctx
    return await run_in_threadpool(costs.store_costs, ctx, body.costs, principal.name)


STORE = {
    "response_model": schemas.CostsStored,
    "openapi_extra": request_body(CostBatch),
}


@router.put("", summary="Store costs (a stored key is replaced)", **STORE)  # type: ignore[arg-type]
async def put_costs(request: Request, principal: Principal = Write) -> dict[str, Any]:
    """`{"costs": [{"source", "campaign", "month", "amount", "currency"}, …]}`: every row is
    checked, then all are written in one transaction or none; a row whose source, campaign,
    month and currency are stored replaces that row (a key repeated in the body: the last
    one). `campaign` null or absent: the source as a whole. Amounts are exact: an integer
    or text with at most 2 decimals."""
    return await _store(request, principal)


@router.post("", summary="Store costs (same as PUT)", **STORE)  # type: ignore[arg-type]
async def post_costs(request: Request, principal: Principal = Write) -> dict[str, Any]:
    """The same as `PUT /costs`."""
    return await _store(request, principal)


@router.delete(
    "",
    status_code=204,
    summary="Delete one cost row",
    responses={404: {"model": schemas.Error, "description": "No cost with this key"}},
)
async def delete_cost(
    request: Request,
    source: Annotated[str, Query(min_length=1, max_length=200)],
    month: MonthText,
    currency: CurrencyCode,
    principal: Principal = Write,
    campaign: Annotated[
        str | None, Query(max_length=200, description="absent: the whole-source row")
    ] = None,
) -> Response:
    ctx = request.app.state.ctx
    await run_in_threadpool(
        costs.delete_cost, ctx, source, campaign, month, currency, principal.name
    )
    return Response(status_code=204)
