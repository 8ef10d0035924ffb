"""Website tracking's routes (§8, docs/sources.md "Website tracking"): the script at /t.js
and the public beacon endpoint POST /api/v1/sources/track.

The endpoint carries no API key: a site's public key names the site, and the browser's
Origin must be one of the site's allowed origins (403 otherwise; CORS is answered for those
origins only). Then, in this order: robots are dropped (204, counted), the (site key, IP)
rate limit answers 429 with Retry-After, a beacon over `tracking.max_beacon_bytes` is a 413,
a malformed one a 400 naming the field; a stored beacon is answered 204 (nothing a page
could read about the lead behind it).
"""

from __future__ import annotations

import hashlib
import json
import math
from importlib import resources
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool

from leadscore.api.auth import signed
from leadscore.api.errors import error_response
from leadscore.api.routes.source_common import RESPONSES, TooLarge, body_of
from leadscore.core import tracking as rules
from leadscore.service import tracking
from leadscore.service.errors import Invalid
from leadscore.service.sources import SourcesConfigError, Unsigned, configured

router = APIRouter(tags=["sources"])

SCRIPT = resources.files("leadscore").joinpath("data/t.js").read_bytes()
ETAG = f'"{hashlib.sha256(SCRIPT).hexdigest()[:16]}"'
SCRIPT_HEADERS = {
    "Cache-Control": "public, max-age=3600",
    "Cross-Origin-Resource-Policy": "cross-origin",  # included by the site's pages
}
PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


BEACON_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A JSON object, sent as text/plain (a CORS-simple request)",
    "required": ["site", "id", "type", "visitor", "consent", "url"],
    "properties": {
        "site": {"type": "string", "description": "The site's public key"},
        "id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
        "type": {"type": "string", "enum": list(rules.BEACON_TYPES)},
        "visitor": {"type": "string", "pattern": "^[A-Za-z0-9_-]{8,64}$"},
        "consent": {"type": "string", "enum": ["given", "not_required"]},
        "url": {"type": "string", "maxLength": rules.MAX_TEXT},
        "title": {"type": "string", "maxLength": rules.MAX_TEXT},
        "referrer": {"type": "string", "maxLength": rules.MAX_TEXT},
        "email": {"type": "string", "format": "email"},
        "token": {"type": "string", "description": "An e-mail link's ls_t token"},
        "properties": {
            "type": "object",
            "maxProperties": rules.MAX_PROPERTIES,
            "additionalProperties": {"type": ["string", "number", "boolean"]},
        },
    },
}


def script(request: Request) -> Response:
    """The tracking script, the same for every site (its `data-site` names the site)."""
    if request.headers.get("if-none-match") == ETAG:
        return Response(status_code=304, headers={**SCRIPT_HEADERS, "ETag": ETAG})
    return Response(
        SCRIPT,
        media_type="text/javascript; charset=utf-8",
        headers={**SCRIPT_HEADERS, "ETag": ETAG},
    )


def _cors(origin: str) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}


@router.options("/sources/track", include_in_schema=False)
def preflight(request: Request) -> Response:
    """CORS preflight: answered for an origin some site allows, refused (403) otherwise."""
    origin = request.headers.get("origin")
    try:
        sites = configured(request.app.state.ctx).file.tracking.sites.values()
    except SourcesConfigError as exc:
        return error_response(request.scope, 503, f"the sources file: {exc}")
    if origin is None or not any(rules.origin_allowed(origin, s.allowed_origins) for s in sites):
        return error_response(request.scope, 403, "this origin is not allowed")
    return Response(status_code=204, headers={**_cors(origin), **PREFLIGHT_HEADERS})


@router.post(
    "/sources/track",
    status_code=204,
    responses={
        **RESPONSES,
        204: {"description": "Accepted (or dropped: a robot's beacon)"},
        401: {"description": "An unknown site key, or a forged or expired e-mail link token"},
        403: {"description": "The Origin is not one of the site's allowed_origins"},
        429: {"description": "Too many beacons from this IP for this site (Retry-After)"},
    },
    summary="Receive a website tracking beacon (sent by /t.js)",
    dependencies=[Depends(signed)],  # no API key: the site's public key and the Origin
    openapi_extra={
        "requestBody": {"required": True, "content": {"text/plain": {"schema": BEACON_SCHEMA}}}
    },
)
async def track(request: Request) -> Response:
    """A beacon of t.js: `{site, id, type, visitor, consent, url, title, referrer, email?,
    token?, properties?}` as JSON (sent as text/plain, a CORS-simple request)."""
    ctx = request.app.state.ctx
    origin = request.headers.get("origin")
    scope = request.scope
    try:
        settings = configured(ctx).file.tracking
    except SourcesConfigError as exc:
        return error_response(scope, 503, f"the sources file: {exc}")
    if not settings.sites:  # no site key is known: unsigned, as every signed route (§9)
        tracking.BEACONS.labels("unsigned").inc()
        message = "website tracking is not configured (tracking.sites): no site key is known"
        return error_response(scope, 401, message)
    try:
        raw = await body_of(request, settings.max_beacon_bytes)
    except TooLarge:
        tracking.BEACONS.labels("malformed").inc()
        limit = settings.max_beacon_bytes
        return error_response(scope, 413, f"a beacon is at most {limit:,} bytes (max_beacon_bytes)")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _malformed(request, "the beacon is not JSON", "body", None)
    key = data.get("site") if isinstance(data, dict) else None
    if not isinstance(key, str) or not key:
        return _malformed(request, "site (the site's public key) is required", "site", None)
    try:
        name, site = tracking.site(ctx, key)
    except Unsigned as exc:
        tracking.BEACONS.labels("unsigned").inc()
        return error_response(scope, 401, str(exc))
    if not rules.origin_allowed(origin, site.allowed_origins):
        tracking.BEACONS.labels("origin").inc()
        what = f"the origin {origin}" if origin else "a request without an Origin header"
        return error_response(scope, 403, f"{what} is not allowed for this site")
    cors = _cors(origin or "")
    if site.bots == "filter" and tracking.is_bot(ctx, request.headers.get("user-agent")):
        tracking.BEACONS.labels("bot").inc()
        return Response(status_code=204, headers=cors)
    ip = request.client.host if request.client else "?"
    wait = tracking.retry_after(ctx, key, ip, site.rate_limit)
    if wait > 0:
        tracking.BEACONS.labels("limited").inc()
        return error_response(
            scope,
            429,
            f"more than {site.rate_limit} beacons a minute from this address for this site",
            {**cors, "Retry-After": str(max(1, math.ceil(wait)))},
        )
    try:
        beacon = rules.parse_beacon(data, site.events, site.consent == "required")
    except rules.BeaconError as exc:
        return _malformed(request, str(exc), exc.field, cors)
    try:
        await run_in_threadpool(tracking.accept, ctx, name, site, beacon)
    except Unsigned as exc:
        tracking.BEACONS.labels("unsigned").inc()
        return error_response(scope, 401, str(exc), cors)
    except Invalid as exc:
        tracking.BEACONS.labels("malformed").inc()
        return error_response(scope, 400, [p.to_dict() for p in exc.problems], cors)
    return Response(status_code=204, headers=cors)


def _malformed(
    request: Request, message: str, field: str, headers: dict[str, str] | None
) -> Response:
    tracking.BEACONS.labels("malformed").inc()
    loc: list[Any] = ["body", *field.split(".")] if field != "body" else ["body"]
    detail = [{"type": "value_error", "loc": loc, "msg": message}]
    return error_response(request.scope, 400, detail, headers)
