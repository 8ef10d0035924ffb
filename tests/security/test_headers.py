"""Security headers on every response (OWASP API8): the API's answers (errors and the
single-event shortcut included) are not sniffed, framed, cached or referred; the dashboard
and docs pages carry a Content-Security-Policy of their own allowing only 'self'; HSTS only
when LEADSCORE_HSTS says every client uses HTTPS."""

from __future__ import annotations

import httpx
from tests.api.conftest import running

from leadscore.settings import Settings

EVERYWHERE = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def test_api_answers_carry_the_security_headers(site) -> None:
    site.model()
    site.lead(id="L1")
    answers = [
        site.reader.get("/leads"),
        site.reader.get("/leads/L1"),
        site.anon.get("/leads"),  # 401
        site.reader.get("/leads/nobody"),  # 404
        site.writer.post("/events", json={"lead_id": "L1", "type": "email_opened"}),
        site.writer.post("/events", json={"lead_id": "L1", "type": "email_opened"}),  # shortcut
        site.reader.get("/health"),
    ]
    for answer in answers:
        for name, value in EVERYWHERE.items():
            assert answer.headers.get(name) == value, (answer.request.url, name)
        assert answer.headers["cache-control"] == "no-store", answer.request.url
        assert answer.headers["content-security-policy"].startswith("default-src 'none'")
        assert "strict-transport-security" not in answer.headers


def test_dashboard_and_docs_pages_allow_only_self(site) -> None:
    base = site.server.base_url
    for path in ("/login", "/docs", "/redoc"):
        answer = httpx.get(base + path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["script-src"].startswith("'self'")
        assert "'unsafe-inline'" not in directives["script-src"]
        assert "'unsafe-eval'" not in policy
        assert directives["frame-ancestors"] == "'none'"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
    login = httpx.get(base + "/login")
    assert "'unsafe-inline'" not in login.headers["content-security-policy"]
    assert login.headers["cache-control"] == "no-store"
    asset = httpx.get(base + "/assets/app.css")
    assert asset.status_code == 200 and asset.headers["x-content-type-options"] == "nosniff"


def test_hsts_only_when_the_deployment_says_https(sqlite_url: str) -> None:
    with running(Settings(database_url=sqlite_url, hsts=True)) as server:
        for path in ("/api/v1/health", "/login", "/docs"):
            answer = httpx.get(server.base_url + path)
            assert answer.headers["strict-transport-security"].startswith("max-age=31536000")
