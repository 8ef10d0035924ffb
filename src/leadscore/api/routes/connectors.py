"""CRM connectors (§8): their set-up and state (admin), a sync on demand (admin, a background
job), and HubSpot's webhooks in (no key: HubSpot's v3 signature instead)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from leadscore.api import schemas
from leadscore.api.auth import Admin, signed
from leadscore.api.errors import error_response
from leadscore.api.routes.jobs import queued
from leadscore.connectors.base import ConnectorError
from leadscore.service import connectors, crm_webhooks
from leadscore.service.principals import Principal

router = APIRouter(prefix="/connectors", tags=["connectors"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": schemas.Error, "description": "No such connector, or it is not configured"}
}
Name = Literal["hubspot", "salesforce", "pipedrive"]


@router.get("", response_model=list[schemas.Connector], summary="List the configured connectors")
def list_connectors(request: Request, principal: Principal = Admin) -> list[dict[str, Any]]:
    """Each configured connector with its mapping, cursors, linked records and latest runs."""
    return connectors.describe_all(request.app.state.ctx)


@router.get(
    "/{name}",
    response_model=schemas.Connector,
    responses=NOT_FOUND,
    summary="One connector's set-up and state",
)
def get_connector(request: Request, name: Name, principal: Principal = Admin) -> dict[str, Any]:
    return connectors.describe(request.app.state.ctx, name)


@router.post(
    "/{name}/sync",
    response_model=schemas.Job,
    status_code=202,
    responses={
        **NOT_FOUND,
        409: {"model": schemas.Error, "description": "A sync of this connector is running"},
    },
    summary="Sync a connector now, in the background",
)
async def sync_now(
    request: Request,
    response: Response,
    name: Name,
    principal: Principal = Admin,
    full: Annotated[bool, Query(description="read everything, not only what changed")] = False,
) -> Any:
    """Queues a sync (people, deals, then the push of changed scores) and answers with the job
    (`Location: /api/v1/jobs/{id}`); its result is the sync's report."""
    return await queued(
        request,
        response,
        lambda runner: runner.sync_connector(actor=principal.name, name=name, full=full),
    )


@router.post(
    "/hubspot/webhook",
    response_model=schemas.SyncReport,
    dependencies=[Depends(signed)],
    responses={
        401: {"description": "No valid X-HubSpot-Signature-v3: nothing was read"},
        404: NOT_FOUND[404],
        503: {"description": "HubSpot did not answer the read-back: HubSpot delivers again"},
    },
    summary="HubSpot's webhook deliveries (signed by HubSpot, no API key)",
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "maxItems": 100,
                        "items": {
                            "type": "object",
                            "required": ["subscriptionType", "objectId"],
                            "properties": {
                                "subscriptionType": {"type": "string"},
                                "objectId": {"type": "integer"},
                                "occurredAt": {"type": "integer"},
                                "propertyName": {"type": "string"},
                                "propertyValue": {"type": "string"},
                            },
                        },
                    }
                }
            },
        },
    },
)
async def hubspot_webhook(request: Request) -> Any:
    """Verifies HubSpot's v3 signature over `LEADSCORE_PUBLIC_URL` + the path and query (the
    address HubSpot calls), then reads the contacts created or changed back in one batch and
    applies them like a sync page; deletions unlink the CRM record."""
    ctx = request.app.state.ctx
    body = await request.body()
    uri = f"{ctx.settings.public_url}{request.url.path}"
    if request.url.query:
        uri += f"?{request.url.query}"
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        report = await run_in_threadpool(
            lambda: crm_webhooks.hubspot_webhook(ctx, request.method, uri, body, headers)
        )
    except crm_webhooks.Unsigned as exc:
        return error_response(request.scope, 401, str(exc))
    except ConnectorError as exc:  # HubSpot retries a delivery answered with 5xx
        return error_response(request.scope, 503, f"hubspot: {exc.message}")
    return report.as_dict()
