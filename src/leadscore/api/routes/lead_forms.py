"""Ad-platform lead forms' inbound endpoints (§8): Meta Lead Ads, LinkedIn Lead Sync, Google
Ads lead form webhooks and TikTok lead webhooks, under /api/v1/sources/{platform}.

No API key: each platform's signature or key is the authentication (§9), checked on the raw
body before anything else is read. Parsing is pure (core/lead_forms.py); Meta and LinkedIn
deliveries only point at the lead, which is read through the adapters in leadscore.sources —
when the platform's API fails the delivery is answered 503, nothing is written, and the
platform delivers again. The handshakes (Meta's hub.challenge, LinkedIn's challengeCode) are
left out of the OpenAPI document: only the platforms call them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from leadscore.api.auth import signed
from leadscore.api.errors import error_response
from leadscore.api.routes.source_common import (
    RESPONSES,
    TooLarge,
    answered,
    body_of,
    headers_of,
    refused,
    summary,
    writer_of,
)
from leadscore.core import lead_forms as forms
from leadscore.core.submissions import Submission
from leadscore.service.context import Context
from leadscore.service.sources import (
    Configured,
    Malformed,
    SourcesConfigError,
    Unsigned,
    configured,
)
from leadscore.sources.linkedin import LinkedInClient, LinkedInError
from leadscore.sources.meta import GraphClient, GraphError

router = APIRouter(prefix="/sources", tags=["sources"])

Work = Callable[[Request, Context, Configured, bytes, dict[str, str]], Any]


def _body(description: str) -> dict[str, Any]:
    return {
        "security": [],
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
    }


def _responses(signature: str) -> dict[int | str, dict[str, Any]]:
    return {
        **RESPONSES,
        401: {
            "description": f"{signature} missing or wrong, or the platform not configured:"
            " nothing was read"
        },
        503: {"description": "The platform's API did not give the lead: it delivers again"},
    }


async def _delivery(request: Request, work: Work, platform: str) -> Any:
    """Read the body under the size limit, then run `work` (verify, parse, fetch, write)."""
    ctx: Context = request.app.state.ctx
    try:
        body = await body_of(request)
    except TooLarge as exc:
        return refused(request, 413, str(exc), platform)
    except SourcesConfigError as exc:
        return refused(request, 503, f"the sources file: {exc}", platform)
    headers = headers_of(request)

    def run() -> Any:
        try:
            return work(request, ctx, configured(ctx), body, headers)
        except forms.Malformed as exc:
            raise Malformed(str(exc), None if exc.field == "body" else exc.field) from None

    return await answered(request, run, source=platform)


def _write(
    request: Request, ctx: Context, submissions: Sequence[Submission], platform: str
) -> dict[str, Any]:
    return summary(writer_of(request)(ctx, submissions, f"lead_forms.{platform}"))


def _signature(headers: dict[str, str], name: str) -> str:
    """The signature header: its absence is 401 before anything else (configured or not)."""
    found = headers.get(name)
    if not found:
        raise Unsigned(f"the delivery carries no {name} header")
    return found


def _platform(sources: Configured, name: str) -> Any:
    found = getattr(sources.file.lead_forms, name)
    if found is None:
        raise Unsigned(  # nothing to verify with: unsigned to us, as every signed route
            f"lead_forms.{name} is not configured in the sources file: nothing can verify"
            " this delivery"
        )
    return found


# --- Meta Lead Ads ----------------------------------------------------------------------------


@router.get(
    "/meta",
    dependencies=[Depends(signed)],
    summary="Meta Lead Ads: the webhook subscription's verify-token handshake",
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "hub.challenge, echoed",
        },
        401: {"description": "hub.verify_token missing or wrong, or Meta not configured"},
        503: {"description": "The sources file is invalid"},
    },
    response_class=PlainTextResponse,
)
async def meta_handshake(request: Request) -> Response:
    """Meta's subscription check: `hub.mode=subscribe` with the verify token set in the App
    Dashboard; the answer is `hub.challenge` as plain text. The verify token is this
    request's credential: a missing or wrong one is a 401 (Meta only needs the echo)."""
    try:
        sources = configured(request.app.state.ctx)
        meta = sources.file.lead_forms.meta
        if meta is None:
            message = "lead_forms.meta is not configured: no verify token to check"
            return refused(request, 401, message, "meta")
        token = sources.secret(meta.verify_token, "lead_forms.meta.verify_token") or ""
    except SourcesConfigError as exc:
        return refused(request, 503, f"the sources file: {exc}", "meta")
    query = request.query_params
    sent = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        sent.encode(), token.encode()
    ):
        return refused(request, 401, "hub.mode or hub.verify_token does not match", "meta")
    return PlainTextResponse(query.get("hub.challenge", ""))


def _meta(
    request: Request, ctx: Context, sources: Configured, body: bytes, headers: dict[str, str]
) -> Any:
    signature = _signature(headers, "x-hub-signature-256")
    meta: forms.MetaForms = _platform(sources, "meta")
    secret = sources.secret(meta.app_secret, "lead_forms.meta.app_secret") or ""
    if not forms.meta_signature_ok(body, signature, secret):
        raise Unsigned("X-Hub-Signature-256 is missing or does not match the body")
    changes = forms.meta_changes(forms.json_of(body))
    client = sources.clients.get("meta")
    if client is None:
        token = sources.secret(meta.access_token, "lead_forms.meta.access_token") or ""
        client = sources.clients.setdefault(
            "meta",
            GraphClient(meta.graph_url, meta.api_version, token, secret, meta.timeout_seconds),
        )
    submissions = []
    for change in changes:
        try:
            lead = client.lead(change.leadgen_id)
        except GraphError as exc:
            return error_response(request.scope, 503, str(exc))
        submissions.append(forms.submission(meta, forms.meta_lead(change, lead)))
    return _write(request, ctx, submissions, "meta")


@router.post(
    "/meta",
    dependencies=[Depends(signed)],
    responses=_responses("X-Hub-Signature-256"),
    summary="Meta Lead Ads: leadgen webhook deliveries (signed by Meta, no API key)",
    openapi_extra=_body("A Page webhook delivery: entry[].changes[] of field leadgen"),
)
async def meta_delivery(request: Request) -> Any:
    """Verifies X-Hub-Signature-256, reads each `leadgen` change's lead from the Graph API
    and stores it as a lead plus a `form_submitted` event (docs/sources.md)."""
    return await _delivery(request, _meta, "meta")


# --- LinkedIn Lead Sync -------------------------------------------------------------------------


@router.get(
    "/linkedin",
    dependencies=[Depends(signed)],
    summary="LinkedIn Lead Sync: the webhook endpoint's validation challenge",
    responses={
        200: {"description": "challengeCode and its challengeResponse (hex HMAC-SHA256)"},
        401: {"description": "No challengeCode, or LinkedIn not configured"},
        503: {"description": "The sources file is invalid"},
    },
)
async def linkedin_handshake(request: Request) -> Response:
    """LinkedIn's endpoint validation: `challengeCode` answered with the code and its
    challengeResponse (hex HMAC-SHA256 with the client secret), as JSON. A request without
    a challengeCode is no validation of LinkedIn's: 401."""
    try:
        sources = configured(request.app.state.ctx)
        linkedin = sources.file.lead_forms.linkedin
        if linkedin is None:
            message = "lead_forms.linkedin is not configured: no client secret to answer with"
            return refused(request, 401, message, "linkedin")
        secret = sources.secret(linkedin.client_secret, "lead_forms.linkedin.client_secret")
    except SourcesConfigError as exc:
        return refused(request, 503, f"the sources file: {exc}", "linkedin")
    code = request.query_params.get("challengeCode")
    if not code:
        return refused(request, 401, "challengeCode is missing", "linkedin")
    return JSONResponse(
        {"challengeCode": code, "challengeResponse": forms.linkedin_challenge(code, secret or "")}
    )


def _linkedin(
    request: Request, ctx: Context, sources: Configured, body: bytes, headers: dict[str, str]
) -> Any:
    signature = _signature(headers, "x-li-signature")
    linkedin: forms.LinkedInForms = _platform(sources, "linkedin")
    secret = sources.secret(linkedin.client_secret, "lead_forms.linkedin.client_secret") or ""
    if not forms.linkedin_signature_ok(body, signature, secret):
        raise Unsigned("X-LI-Signature is missing or does not match the body")
    referenced = forms.linkedin_notification(forms.json_of(body))
    if referenced is None:  # a deleted lead (leadAction DELETED): nothing to store
        return summary([])
    response_id, form_id = referenced
    client = sources.clients.get("linkedin")
    if client is None:
        token = sources.secret(linkedin.access_token, "lead_forms.linkedin.access_token") or ""
        client = sources.clients.setdefault(
            "linkedin",
            LinkedInClient(linkedin.api_url, linkedin.api_version, token, linkedin.timeout_seconds),
        )
    try:
        response = client.response(response_id)
        questions = client.form_questions(form_id)
    except LinkedInError as exc:
        return error_response(request.scope, 503, str(exc))
    lead = forms.linkedin_lead(response, questions)
    if lead.form_id is None:
        lead = replace(lead, form_id=form_id)
    return _write(request, ctx, [forms.submission(linkedin, lead)], "linkedin")


@router.post(
    "/linkedin",
    dependencies=[Depends(signed)],
    responses=_responses("X-LI-Signature"),
    summary="LinkedIn Lead Sync: lead notifications (signed by LinkedIn, no API key)",
    openapi_extra=_body("A lead notification: leadAction, leadGenFormResponse, leadGenForm"),
)
async def linkedin_delivery(request: Request) -> Any:
    """Verifies X-LI-Signature, reads the form response and its form's questions from
    LinkedIn's REST API and stores a lead plus a `form_submitted` event."""
    return await _delivery(request, _linkedin, "linkedin")


# --- Google Ads ---------------------------------------------------------------------------------


def _google(
    request: Request, ctx: Context, sources: Configured, body: bytes, headers: dict[str, str]
) -> Any:
    try:
        payload = forms.json_of(body)
    except forms.Malformed:
        payload = None
    sent = payload.get("google_key") if isinstance(payload, dict) else None
    if not isinstance(sent, str) or not sent:  # no key: not authenticated, whatever else
        raise Unsigned("the delivery carries no google_key")
    google: forms.GoogleForms = _platform(sources, "google")
    key = sources.secret(google.key, "lead_forms.google.key") or ""
    if not forms.google_key_ok(sent, key):
        raise Unsigned("google_key is missing or does not match the configured key")
    lead, is_test, _ = forms.google_lead(payload)
    if is_test and google.test_leads == "skip":
        return {**summary([]), "test_leads_skipped": 1}
    return _write(request, ctx, [forms.submission(google, lead)], "google")


@router.post(
    "/google",
    dependencies=[Depends(signed)],
    responses=_responses("google_key"),
    summary="Google Ads lead form webhooks (the form's key in the body, no API key)",
    openapi_extra=_body("A WebhookLead: lead_id, user_column_data, google_key, form_id…"),
)
async def google_delivery(request: Request) -> Any:
    """Checks `google_key` against the configured key and stores the lead plus a
    `form_submitted` event; test leads ("Send test data") are not stored unless
    `test_leads: store`."""
    return await _delivery(request, _google, "google")


# --- TikTok -------------------------------------------------------------------------------------


def _tiktok(
    request: Request, ctx: Context, sources: Configured, body: bytes, headers: dict[str, str]
) -> Any:
    signature = _signature(headers, "tiktok-signature")
    tiktok: forms.TikTokForms = _platform(sources, "tiktok")
    secret = sources.secret(tiktok.client_secret, "lead_forms.tiktok.client_secret") or ""
    now = ctx.now() // 1_000_000
    if not forms.tiktok_signature_ok(body, signature, secret, now, tiktok.tolerance_seconds):
        raise Unsigned("TikTok-Signature is missing, stale or does not match the body")
    leads = forms.tiktok_leads(forms.json_of(body))
    return _write(request, ctx, [forms.submission(tiktok, lead) for lead in leads], "tiktok")


@router.post(
    "/tiktok",
    dependencies=[Depends(signed)],
    responses=_responses("TikTok-Signature"),
    summary="TikTok lead webhooks (signed by TikTok, no API key)",
    openapi_extra=_body("TikTok's envelope: event, create_time, content (serialized JSON)"),
)
async def tiktok_delivery(request: Request) -> Any:
    """Verifies TikTok-Signature (and its timestamp) and stores the lead plus a
    `form_submitted` event."""
    return await _delivery(request, _tiktok, "tiktok")
