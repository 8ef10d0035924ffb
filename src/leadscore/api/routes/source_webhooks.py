"""Mapped inbound webhooks (§8): POST /api/v1/sources/webhooks/{name} for each endpoint of
the sources file's `webhooks:` section (Calendly, Intercom, Mailchimp, SendGrid, Brevo, or
any tool with a mapping), and the GET Mailchimp sends to check the URL when it is saved.

No API key: the tool's HMAC, token or signature is the authentication (§9), checked before
the body is parsed. The answer is source_common's summary plus `skipped`: the tool's event
names the mapping does not map, with their counts (they are not errors: see
core/webhook_mapping.py).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Request

from leadscore.api.auth import signed
from leadscore.api.routes.source_common import (
    RESPONSES,
    TooLarge,
    answered,
    body_of,
    headers_of,
    refused,
    summary,
    webhook_label,
    writer_of,
)
from leadscore.core.webhook_mapping import TokenCheck
from leadscore.service import mapped_webhooks
from leadscore.service.sources import Unsigned

router = APIRouter(prefix="/sources/webhooks", tags=["sources"])
Name = Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="The endpoint's name")


@router.post(
    "/{name}",
    dependencies=[Depends(signed)],
    responses={
        **RESPONSES,
        401: {
            "description": "A missing or wrong signature or token, or an endpoint the "
            "sources file does not configure: nothing was read"
        },
    },
    summary="A mapped webhook delivery (signed by the tool, no API key)",
    openapi_extra={
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {}},
                "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            },
        },
    },
)
async def deliver(request: Request, name: str = Name) -> Any:
    """Verifies the endpoint's signature or token, maps each item of the delivery onto a lead
    and an event, and writes them in one transaction (replays are duplicates)."""
    ctx = request.app.state.ctx
    label = webhook_label(request, name)
    try:
        body = await body_of(request)
    except TooLarge as exc:
        return refused(request, 413, str(exc), label)
    headers = headers_of(request)
    query = dict(request.query_params)

    def work() -> dict[str, Any]:
        found = mapped_webhooks.endpoint(ctx, name)
        if found is None:  # nothing to verify with: unsigned to us, as HubSpot's webhooks
            raise Unsigned(
                f"no webhook endpoint {name!r} in the sources file: nothing can verify this"
                " delivery"
            )
        resolved, secret = found
        write = writer_of(request)
        done = mapped_webhooks.deliver(ctx, resolved, secret, body, headers, query, write)
        return {**summary(done.results), "skipped": done.skipped}

    return await answered(request, work, source=label)


@router.get(
    "/{name}",
    dependencies=[Depends(signed)],
    summary="The URL check of a tool (Mailchimp's GET when a webhook is saved)",
    responses={
        200: {"description": "The endpoint is configured and the token in the URL is right"},
        401: {
            "description": "An endpoint not configured, a wrong token, or one whose "
            "deliveries are signed in a header (a GET cannot be verified)"
        },
        503: {"description": "The sources file is invalid"},
    },
)
async def check_url(request: Request, name: str = Name) -> Any:
    """Answers 200 when the endpoint is configured and the URL's token checks (Mailchimp
    calls the URL it was given, token included); reads and writes nothing else."""
    ctx = request.app.state.ctx
    headers = headers_of(request)
    query = dict(request.query_params)

    def work() -> dict[str, Any]:
        found = mapped_webhooks.endpoint(ctx, name)
        if found is None:
            raise Unsigned(f"no webhook endpoint {name!r} in the sources file")
        resolved, secret = found
        if not isinstance(resolved.verify, TokenCheck):
            raise Unsigned(f"webhooks.{name} verifies a signature over the body: a GET has none")
        mapped_webhooks.check_token(ctx, resolved, secret, headers, query)
        return {"endpoint": name, "ready": True}

    return await answered(request, work, source=webhook_label(request, name))
