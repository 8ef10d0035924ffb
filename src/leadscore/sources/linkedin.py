"""LinkedIn Lead Sync's REST client: a lead notification references the form response
(`urn:li:leadGenFormResponse:…`) and its form, so the answers are read from
`GET /rest/leadFormResponses/{id}` and the questions (which question id is EMAIL, which is
FIRST_NAME…) from `GET /rest/leadForms/{id}` — kept once read, a form's questions do not
change within a version.

Page: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync (the
`LinkedIn-Version` and `X-Restli-Protocol-Version: 2.0.0` headers, a bearer token with
r_marketing_leadgen_automation).
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from leadscore.core.lead_forms import linkedin_questions


class LinkedInError(Exception):
    """LinkedIn's API did not give the response or the form: answered 503 (retried)."""


class LinkedInClient:
    def __init__(self, api_url: str, version: str, access_token: str, timeout: float) -> None:
        headers = {
            "Authorization": f"Bearer {access_token}",
            "LinkedIn-Version": version,
            "X-Restli-Protocol-Version": "2.0.0",
        }
        self.http = httpx.Client(base_url=api_url.rstrip("/"), headers=headers, timeout=timeout)
        self.questions: dict[str, dict[str, str]] = {}
        self.lock = threading.Lock()

    def _get(self, path: str) -> dict[str, Any]:
        try:
            response = self.http.get(path)
        except httpx.HTTPError as exc:
            raise LinkedInError(f"LinkedIn did not answer: {type(exc).__name__}") from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code != 200 or not isinstance(body, dict):
            message = body.get("message") if isinstance(body, dict) else None
            raise LinkedInError(
                f"LinkedIn answered {response.status_code} for {path}"
                + (f": {message}" if message else "")
            )
        return body

    def response(self, response_id: str) -> dict[str, Any]:
        return self._get(f"/rest/leadFormResponses/{response_id}")

    def form_questions(self, form_id: str) -> dict[str, str]:
        with self.lock:
            known = self.questions.get(form_id)
        if known is not None:
            return known
        found = linkedin_questions(self._get(f"/rest/leadForms/{form_id}"))
        with self.lock:
            self.questions[form_id] = found
        return found

    def close(self) -> None:
        self.http.close()
