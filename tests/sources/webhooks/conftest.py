"""The API tests' real servers (SQLite and PostgreSQL), with a sources file installed on the
running server's context per test, and the row counts that prove nothing was written."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select
from tests import secrets_registry
from tests.api.conftest import (  # noqa: F401  (fixtures: a real server per backend)
    Api,
    api,
    database_url,
    postgres_url,
    server,
    sqlite_url,
)

from leadscore.core.sources import load_sources_text
from leadscore.service import sources
from leadscore.store.tables import events, leads

SECRETS = {
    "CALENDLY_SIGNING_KEY": "calendly-signing-key-7c1e",
    "INTERCOM_CLIENT_SECRET": "intercom-client-secret-9f2a",
    "MAILCHIMP_WEBHOOK_SECRET": "mailchimp-url-secret-41d0",
    "BREVO_WEBHOOK_TOKEN": "brevo-bearer-token-a83b",
    "TOOL_SECRET": "generic-tool-secret-55e2",
}
secrets_registry.register(*SECRETS.values())


def install(clients: Api, text: str, **environ: str) -> None:
    """Give the running server this sources file (its env: secrets from SECRETS + environ)."""
    sources.use(clients.ctx, load_sources_text(text), {**SECRETS, **environ})


def counts(clients: Api) -> tuple[int, int]:
    """(leads, events) stored."""
    with clients.ctx.db.read() as conn:
        return (
            conn.scalar(select(func.count()).select_from(leads)),
            conn.scalar(select(func.count()).select_from(events)),
        )


@pytest.fixture
def scored(api: Api) -> Api:  # noqa: F811
    """An API with the test model active, so that deliveries are rescored."""
    api.model()
    return api


@dataclass
class Answer:
    status_code: int
    text: str

    def json(self) -> object:
        return json.loads(self.text)


def send(
    clients: Api,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
) -> Answer:
    """A request as a tool sends it, with http.client: unlike httpx it logs no request line,
    so a token in the query (Mailchimp's) stays out of the logs the session scans; the
    server's own access line hides it (api/routes/source_webhooks.py)."""
    url = urlsplit(clients.server.base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=60)
    try:
        target = "/api/v1" + path + (f"?{urlencode(params)}" if params else "")
        conn.request(method, target, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, response.read().decode())
    finally:
        conn.close()
