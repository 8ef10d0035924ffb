"""Meta Lead Ads' Graph API client: a `leadgen` webhook carries only the lead's id, so each
lead's answers are read from `GET /{version}/{leadgen_id}` (field_data), authenticated by a
Page access token and its `appsecret_proof` (the HMAC-SHA256 of the token with the app
secret, which Meta asks servers to send). The token goes in the Authorization header, which
Graph accepts as it accepts `access_token=`, so that it is never in a logged URL.

Pages: https://developers.facebook.com/docs/marketing-api/guides/lead-ads/retrieving,
https://developers.facebook.com/docs/graph-api/securing-requests (appsecret_proof),
https://developers.facebook.com/docs/graph-api/guides/error-handling (the error object).
"""

from __future__ import annotations

from typing import Any

import httpx

from leadscore.core.lead_forms import META_FIELDS, hmac_hex


class GraphError(Exception):
    """The Graph API did not give the lead (its error object's message, or the transport's):
    the delivery is answered 503 so that Meta retries it."""


class GraphClient:
    """One httpx client with the Graph API's base URL (graph_url), kept per context."""

    def __init__(
        self, graph_url: str, version: str, access_token: str, app_secret: str, timeout: float
    ) -> None:
        self.version = version
        self.access_token = access_token
        self.proof = hmac_hex(app_secret, access_token.encode())
        self.http = httpx.Client(
            base_url=graph_url.rstrip("/"),
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=timeout,
        )

    def lead(self, leadgen_id: str) -> dict[str, Any]:
        """The Lead node: id, created_time, field_data and the ad's ids and names."""
        params = {"fields": META_FIELDS, "appsecret_proof": self.proof}
        try:
            response = self.http.get(f"/{self.version}/{leadgen_id}", params=params)
        except httpx.HTTPError as exc:
            raise GraphError(f"the Graph API did not answer: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            code = error.get("code") if isinstance(error, dict) else None
            raise GraphError(
                f"the Graph API answered {response.status_code} for lead {leadgen_id}"
                + (f": {message} (code {code})" if message else "")
            )
        return body

    def close(self) -> None:
        self.http.close()
