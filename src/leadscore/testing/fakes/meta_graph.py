"""A local Meta Graph API for Lead Ads: `GET /{version}/{leadgen_id}` answering a Lead node
(`id`, `created_time`, `field_data: [{name, values}]`, `custom_disclaimer_responses`, the ad's
ids and names) as Meta documents it, for the access token it was given and that token's
`appsecret_proof`.

Errors are Graph's error object (`{"error": {message, type, code, error_subcode,
fbtrace_id}}`, HTTP 400): code 190 OAuthException for a bad or missing token, code 100 for a
wrong appsecret_proof and, with subcode 33, for an id that does not exist.

Pages: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving,
https://developers.facebook.com/docs/graph-api/guides/error-handling,
https://developers.facebook.com/docs/graph-api/securing-requests.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leadscore.testing.fakes.server import FakeServer

NO_TOKEN = "An active access token must be used to query information about the current user."
BAD_TOKEN = "Invalid OAuth access token - Cannot parse access token"
BAD_PROOF = "Invalid appsecret_proof provided in the API argument"


def _error(message: str, kind: str, code: int, subcode: int | None = None) -> JSONResponse:
    error: dict[str, Any] = {
        "message": message,
        "type": kind,
        "code": code,
        "fbtrace_id": uuid.uuid4().hex[:11],
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    return JSONResponse({"error": error}, 400)


@dataclass
class FakeMetaGraph(FakeServer):
    """Leads by id; `access_token` and `app_secret` are what the Page token and app are."""

    access_token: str = "EAAB-page-token"
    app_secret: str = "meta-app-secret"
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_lead(
        self,
        leadgen_id: str,
        form_id: str,
        answers: dict[str, str | list[str]],
        *,
        ad: dict[str, str] | None = None,
        consent: bool | None = None,
        created_time: int | None = None,
    ) -> dict[str, Any]:
        """A lead as Graph gives it: each answer as `{name, values: [...]}`; `ad` adds
        ad_id/ad_name/adset_id/adset_name/campaign_id/campaign_name."""
        moment = time.gmtime(created_time if created_time is not None else time.time())
        node: dict[str, Any] = {
            "id": leadgen_id,
            "created_time": time.strftime("%Y-%m-%dT%H:%M:%S+0000", moment),
            "form_id": form_id,
            "field_data": [
                {"name": k, "values": v if isinstance(v, list) else [v]} for k, v in answers.items()
            ],
            "platform": "fb",
            "is_organic": ad is None,
            **(ad or {}),
        }
        if consent is not None:
            node["custom_disclaimer_responses"] = [
                {"checkbox_key": "marketing_optin", "is_checked": "1" if consent else ""}
            ]
        with self.lock:
            self.leads[leadgen_id] = node
        return node

    def fault_body(self, status: int) -> Any:
        return {
            "error": {
                "message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException",
                "is_transient": True,
                "code": 2,
                "fbtrace_id": uuid.uuid4().hex[:11],
            }
        }

    def routes(self) -> list[Route]:
        return [Route("/{version}/{node}", self._node, methods=["GET"])]

    async def _node(self, request: Request) -> JSONResponse:
        token = request.query_params.get("access_token")
        if not token:
            auth = request.headers.get("authorization", "")
            token = auth[7:] if auth.lower().startswith("bearer ") else None
        if not token:
            return _error(NO_TOKEN, "OAuthException", 2500)
        if not hmac.compare_digest(token, self.access_token):
            return _error(BAD_TOKEN, "OAuthException", 190)
        proof = request.query_params.get("appsecret_proof")
        expected = hmac.new(self.app_secret.encode(), token.encode(), hashlib.sha256).hexdigest()
        if proof is not None and not hmac.compare_digest(proof, expected):
            return _error(BAD_PROOF, "GraphMethodException", 100)
        node_id = request.path_params["node"]
        with self.lock:
            lead = self.leads.get(node_id)
        if lead is None:
            return _error(
                f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be"
                " loaded due to missing permissions, or does not support this operation.",
                "GraphMethodException",
                100,
                33,
            )
        wanted = request.query_params.get("fields")
        if wanted:
            names = {"id", *wanted.split(",")}
            lead = {k: v for k, v in lead.items() if k in names}
        else:
            lead = {k: lead[k] for k in ("id", "created_time") if k in lead}
        return JSONResponse(lead)
