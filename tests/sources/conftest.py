"""The API servers of tests/api (a SQLite file and a scratch PostgreSQL database, reached over
a real socket), the fake vendor APIs the lead-form adapters read from (Meta's Graph API,
LinkedIn's Lead Sync API) and a sources file installed on the running server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from tests import secrets_registry
from tests.api.conftest import (  # noqa: F401  (fixtures)
    Api,
    api,
    database_url,
    postgres_url,
    server,
    sqlite_url,
)

from leadscore.core.sources import load_sources_text
from leadscore.service.sources import use
from leadscore.store.tables import events, leads
from leadscore.testing.fakes.linkedin_leads import FakeLinkedInLeads
from leadscore.testing.fakes.meta_graph import FakeMetaGraph

ENVIRON = {
    "META_APP_SECRET": "meta-app-secret-3f9a",
    "META_VERIFY_TOKEN": "meta-verify-token-77c1",
    "META_ACCESS_TOKEN": "EAAB-page-token-5d2e",
    "LI_CLIENT_SECRET": "li-client-secret-a81b",
    "LI_ACCESS_TOKEN": "AQV-li-token-0c4d",
    "GOOGLE_KEY": "google-form-key-9e6f",
    "TIKTOK_SECRET": "tiktok-client-secret-1b7a",
}
DEMO_FORM = "4242"
"""The LinkedIn demo-request form of the end-to-end example."""

SOURCES = """
lead_forms:
  meta:
    app_secret: env:META_APP_SECRET
    verify_token: env:META_VERIFY_TOKEN
    access_token: env:META_ACCESS_TOKEN
    graph_url: {graph}
    forms:
      "9001":
        fields: {{budget_range: attribute:budget, marketing_ok: consent}}
        attributes: {{channel: facebook}}
  linkedin:
    client_secret: env:LI_CLIENT_SECRET
    access_token: env:LI_ACCESS_TOKEN
    api_url: {linkedin}
    forms:
      "4242": {{attributes: {{demo_request: true}}}}
  google:
    key: env:GOOGLE_KEY
    forms:
      "7001": {{fields: {{HOW_MANY_SEATS: attribute:seats}}}}
  tiktok:
    client_secret: env:TIKTOK_SECRET
max_body_bytes: 4096
"""


@pytest.fixture(scope="session")
def graph() -> Iterator[FakeMetaGraph]:
    fake = FakeMetaGraph(
        access_token=ENVIRON["META_ACCESS_TOKEN"], app_secret=ENVIRON["META_APP_SECRET"]
    )
    with fake:
        yield fake


@pytest.fixture(scope="session")
def linkedin_api() -> Iterator[FakeLinkedInLeads]:
    with FakeLinkedInLeads(access_token=ENVIRON["LI_ACCESS_TOKEN"]) as fake:
        yield fake


@dataclass
class Sources:
    """The test's API clients with the sources file installed, and what a test asks."""

    api: Api
    graph: FakeMetaGraph
    linkedin: FakeLinkedInLeads

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        sent = {"Content-Type": "application/json", **(headers or {})}
        return self.api.anon.post(f"/sources/{path}", content=body, headers=sent)

    def counts(self) -> tuple[int, int]:
        """(leads, events) stored."""
        with self.api.ctx.db.read() as conn:
            return (
                conn.scalar(select(func.count()).select_from(leads)) or 0,
                conn.scalar(select(func.count()).select_from(events)) or 0,
            )

    def lead(self, email: str) -> dict[str, Any]:
        found = self.api.get("/leads", email=email)["data"]
        assert len(found) == 1, found
        return self.api.get(f"/leads/{found[0]['id']}")

    def events_of(self, lead_id: str) -> list[dict[str, Any]]:
        return self.api.get(f"/leads/{lead_id}/events")["data"]


@pytest.fixture
def sources(
    api: Api,  # noqa: F811  (the fixture)
    graph: FakeMetaGraph,
    linkedin_api: FakeLinkedInLeads,
) -> Iterator[Sources]:
    # the verify token is sent by Meta in the handshake's query string, by design: not scanned
    secrets_registry.register(*(v for k, v in ENVIRON.items() if k != "META_VERIFY_TOKEN"))
    graph.calls.clear()
    graph.clear_faults()
    linkedin_api.calls.clear()
    linkedin_api.clear_faults()
    text = SOURCES.format(graph=graph.url, linkedin=linkedin_api.url)
    use(api.ctx, load_sources_text(text), ENVIRON)
    yield Sources(api, graph, linkedin_api)


def sign(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def dumps(payload: object) -> bytes:
    return json.dumps(payload).encode()


def problem_fields(response: httpx.Response) -> list[str]:
    """The dotted locations a 400 names."""
    detail = response.json()["detail"]
    assert isinstance(detail, list), detail
    return [".".join(str(p) for p in item["loc"]) for item in detail]
