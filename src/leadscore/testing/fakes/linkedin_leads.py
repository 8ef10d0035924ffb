"""A local LinkedIn Lead Sync API: `GET /rest/leadFormResponses/{id}` and
`GET /rest/leadForms/{id}` as LinkedIn documents them, for a bearer token and with the
`LinkedIn-Version` header LinkedIn requires (400 without it, 401 INVALID_ACCESS_TOKEN for a
wrong token, 404 for an unknown id).

A form has questions (`questionId`, `name`, `predefinedField` for the standard ones such as
EMAIL or FIRST_NAME); a response answers them by `questionId`
(`answerDetails.textQuestionAnswer.answer`), with the form's version URN, the sponsored
account, the campaign and creative, `submittedAt` in epoch milliseconds and its consents.

Page: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from leadscore.testing.fakes.server import FakeServer


@dataclass
class FakeLinkedInLeads(FakeServer):
    access_token: str = "AQV-linkedin-token"
    account: str = "urn:li:sponsoredAccount:508777777"
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    responses: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_form(self, form_id: str, questions: dict[str, str | None]) -> dict[str, Any]:
        """`questions`: name → predefinedField (None for a custom question)."""
        items = []
        for number, (name, predefined) in enumerate(questions.items(), start=1):
            item: dict[str, Any] = {
                "questionId": number,
                "name": name,
                "question": {"localized": {"en_US": name}},
                "questionDetails": {"textQuestionDetails": {}},
            }
            if predefined:
                item["predefinedField"] = predefined
            items.append(item)
        form = {
            "id": int(form_id),
            "owner": {"sponsoredAccount": self.account},
            "name": {"localized": {"en_US": f"form {form_id}"}},
            "state": "PUBLISHED",
            "versionId": 1,
            "content": {"questions": items, "consents": [{"consentId": 1}]},
        }
        with self.lock:
            self.forms[form_id] = form
        return form

    def add_response(
        self,
        response_id: str,
        form_id: str,
        answers: dict[str, str],
        *,
        campaign: str = "urn:li:sponsoredCampaign:123456",
        creative: str = "urn:li:sponsoredCreative:98765",
        consent: bool | None = None,
    ) -> dict[str, Any]:
        """`answers` by question name (the fake's form knows their ids)."""
        with self.lock:
            questions = self.forms[form_id]["content"]["questions"]
        by_name = {q["name"]: q["questionId"] for q in questions}
        response: dict[str, Any] = {
            "id": response_id,
            "owner": {"sponsoredAccount": self.account},
            "submitter": "urn:li:person:abc123",
            "leadType": "SPONSORED",
            "versionedLeadGenFormUrn": (
                f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{form_id},1)"
            ),
            "submittedAt": int(time.time() * 1000),
            "testLead": False,
            "leadMetadata": {"sponsoredLeadMetadata": {"campaign": campaign}},
            "associatedEntity": {"associatedCreative": creative},
            "formResponse": {
                "answers": [
                    {
                        "questionId": by_name[name],
                        "answerDetails": {"textQuestionAnswer": {"answer": value}},
                    }
                    for name, value in answers.items()
                ],
                "consentResponses": []
                if consent is None
                else [{"consentId": 1, "accepted": consent}],
            },
        }
        with self.lock:
            self.responses[response_id] = response
        return response

    def fault_body(self, status: int) -> Any:
        return {"status": status, "message": "Internal Server Error"}

    def routes(self) -> list[Route]:
        return [
            Route("/rest/leadFormResponses/{id}", self._response, methods=["GET"]),
            Route("/rest/leadForms/{id}", self._form, methods=["GET"]),
        ]

    def _refused(self, request: Request) -> JSONResponse | None:
        if request.headers.get("authorization") != f"Bearer {self.access_token}":
            return JSONResponse(
                {
                    "status": 401,
                    "serviceErrorCode": 65600,
                    "code": "INVALID_ACCESS_TOKEN",
                    "message": "Invalid access token",
                },
                401,
            )
        if not request.headers.get("linkedin-version"):
            return JSONResponse(
                {"status": 400, "code": "VERSION_MISSING", "message": "A version must be present"},
                400,
            )
        return None

    async def _response(self, request: Request) -> JSONResponse:
        refused = self._refused(request)
        if refused is not None:
            return refused
        with self.lock:
            found = self.responses.get(request.path_params["id"])
        if found is None:
            return JSONResponse({"status": 404, "message": "Not Found"}, 404)
        return JSONResponse(found)

    async def _form(self, request: Request) -> JSONResponse:
        refused = self._refused(request)
        if refused is not None:
            return refused
        with self.lock:
            found = self.forms.get(request.path_params["id"])
        if found is None:
            return JSONResponse({"status": 404, "message": "Not Found"}, 404)
        return JSONResponse(found)
