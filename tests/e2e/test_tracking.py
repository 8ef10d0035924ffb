"""Website tracking in real Chromium: a site's pages served on 127.0.0.1 by a small HTTP
server of their own (another port: another origin, allowed in the sources file) include the
snippet; leadscore serves /t.js and receives the beacons on its own port.

- A visitor browses two pricing pages (a marked link between them), then submits a form with
  an e-mail: the lead exists, is scored by the model's pricing rule, and its history holds
  those page views; the password typed in the form is never sent.
- On a site with `consent: required`: no cookie and no storage, and no beacon, before the
  page calls `leadscore('consent')`.
- Headless Chromium's own User-Agent (HeadlessChrome) is answered 204 and dropped as a robot;
  the browsing test sets a normal one.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tests.api.conftest import Api, Server, running
from tests.conftest import skip_or_fail
from tests.e2e.conftest import CHROMIUM

from leadscore.core.sources import load_sources_text
from leadscore.service import tracking
from leadscore.service.sources import use
from leadscore.settings import Settings
from leadscore.store import tracking as stored
from leadscore.testing import scratch

pytestmark = pytest.mark.browser

KEY = "pk_e2e_site_0000001"
CONSENT_KEY = "pk_e2e_consent_0001"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)


@dataclass
class Site:
    leadscore: Server
    pages: str


def _page(api: str, title: str, body: str, key: str = KEY, open_: bool = True) -> bytes:
    consent = ' data-consent="not_required"' if open_ else ""
    snippet = f'<script src="{api}/t.js" data-site="{key}"{consent} async></script>'
    html = f"<!doctype html><html><head><title>{title}</title>{snippet}</head><body>{body}</body></html>"
    return html.encode()


def _pages(api: str) -> dict[str, bytes]:
    links = (
        '<a id="enterprise" href="/pricing/enterprise" data-ls-event="enterprise-plan">Enterprise</a>'
        ' <a id="contact" href="/contact">Contact us</a>'
    )
    form = (
        '<form id="demo-request" action="/thanks" method="post">'
        '<input type="email" name="email" id="email">'
        '<input type="password" name="password" id="password">'
        '<input name="company" id="company" data-ls-field>'
        '<input name="phone" id="phone">'
        '<button id="send">Send</button></form>'
    )
    consent = '<button id="agree" onclick="window.leadscore(\'consent\')">I agree</button>'
    return {
        "/pricing": _page(api, "Pricing", links),
        "/pricing/enterprise": _page(api, "Enterprise pricing", links),
        "/contact": _page(api, "Contact", form),
        "/thanks": _page(api, "Thank you", "<p>Thanks!</p>"),
        "/consent": _page(api, "Welcome", consent, CONSENT_KEY, open_=False),
    }


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    folder = tmp_path_factory.mktemp("tracking")
    settings = Settings(
        database_url=f"sqlite:///{folder / 'leadscore.db'}",
        secret_key="e2e-tracking-secret-0123456789",
        api_key_cache_seconds=0,
    )
    with running(settings) as server:
        pages: dict[str, bytes] = {}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = pages.get(self.path.split("?", 1)[0])
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def do_POST(self) -> None:  # noqa: N802 (the form's answer)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.do_GET()

            def log_message(self, *args: Any) -> None:
                pass

        httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        origin = f"http://127.0.0.1:{httpd.server_address[1]}"
        pages.update(_pages(server.base_url))
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        sources = f"""
tracking:
  sites:
    www: {{key: {KEY}, allowed_origins: ["{origin}"], consent: not_required}}
    eu: {{key: {CONSENT_KEY}, allowed_origins: ["{origin}"], consent: required}}
"""
        server.ctx.sources_text = sources  # type: ignore[attr-defined]
        try:
            yield Site(server, origin)
        finally:
            httpd.shutdown()
            httpd.server_close()


@pytest.fixture
def api(site: Site) -> Iterator[Api]:
    ctx = site.leadscore.ctx
    scratch.empty(ctx.db)
    ctx.reset_caches()
    use(ctx, load_sources_text(ctx.sources_text))  # type: ignore[attr-defined]
    clients = Api(site.leadscore)
    clients.model()  # the conftest's model: page_viewed where url contains /pricing, 30 points
    yield clients
    clients.close()


@pytest.fixture(scope="module")
def browser(site: Site) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield chromium
        chromium.close()


def wait_for(check: Callable[[], Any], what: str, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def counts(api: Api) -> tuple[int, int]:
    with api.ctx.db.read() as conn:
        return stored.counts(conn)


def test_a_visitor_browsing_pricing_then_submitting_a_form_becomes_a_scored_lead(
    site: Site, api: Api, browser: Any
) -> None:
    context = browser.new_context(user_agent=CHROME)
    page = context.new_page()
    try:
        page.goto(site.pages + "/pricing")
        wait_for(lambda: counts(api) == (1, 1), "the first page view")
        page.click("#enterprise")  # a marked link: a click beacon, then the next page's view
        page.wait_for_url("**/pricing/enterprise")
        wait_for(lambda: counts(api) == (1, 3), "the click and the second page view")
        assert api.get("/leads")["data"] == []  # still anonymous
        page.click("#contact")
        page.wait_for_url("**/contact")
        wait_for(lambda: counts(api) == (1, 4), "the contact page's view")
        page.fill("#email", "visitor@example.com")
        page.fill("#password", "hunter2-secret")
        page.fill("#company", "Acme")
        page.fill("#phone", "+44 20 7946 0000")
        page.click("#send")
        page.wait_for_url("**/thanks*")

        def lead() -> dict | None:
            found = api.get("/leads", email="visitor@example.com")["data"]
            return found[0] if found else None

        found = wait_for(lead, "the lead")
        events = wait_for(
            lambda: e if len(e := api.get(f"/leads/{found['id']}/events")["data"]) >= 6 else None,
            "the merged history and the thank-you page",
        )
        found = lead()
        assert found is not None and found["score"] > 0
        detail = api.get(f"/leads/{found['id']}")
        assert "pricing" in json.dumps(detail["explanation"])  # the pricing rule scored it
        views = sorted(e["properties"]["url"] for e in events if e["type"] == "page_viewed")
        assert views == ["/contact", "/pricing", "/pricing/enterprise", "/thanks"]
        clicks = [e for e in events if e["type"] == "link_clicked"]
        assert [c["properties"]["name"] for c in clicks] == ["enterprise-plan"]
        (form,) = [e for e in events if e["type"] == "form_submitted"]
        assert form["properties"]["company"] == "Acme"
        assert form["properties"]["form"] == "demo-request"
        assert "phone" not in form["properties"]  # not marked data-ls-field
        assert "hunter2" not in json.dumps(events)  # a password is never sent
        assert counts(api) == (1, 0)  # the anonymous beacons became the lead's events
        cookies = {c["name"] for c in context.cookies()}
        assert cookies == {"_lsvid"}  # consent: not_required — a first-party visitor id
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    finally:
        context.close()


def test_no_cookie_no_storage_and_no_beacon_before_consent(
    site: Site, api: Api, browser: Any
) -> None:
    context = browser.new_context(user_agent=CHROME)
    page = context.new_page()
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if "/sources/track" in r.url else None)
    try:
        page.goto(site.pages + "/consent")
        page.wait_for_function("typeof window.leadscore === 'function'")
        page.wait_for_timeout(500)
        assert context.cookies() == []
        assert page.evaluate("localStorage.length + sessionStorage.length") == 0
        assert sent == []
        assert counts(api) == (0, 0)
        with page.expect_response(lambda r: "/sources/track" in r.url) as answer:
            page.click("#agree")
        assert answer.value.status == 204
        wait_for(lambda: counts(api) == (1, 1), "the page view after consent")
        assert {c["name"] for c in context.cookies()} == {"_lsvid"}
    finally:
        context.close()


def test_headless_chromium_is_dropped_as_a_robot(site: Site, api: Api, browser: Any) -> None:
    context = browser.new_context()  # Chromium's own User-Agent
    page = context.new_page()
    before = tracking.BEACONS.labels("bot")._value.get()
    try:
        with page.expect_response(lambda r: "/sources/track" in r.url) as answer:
            page.goto(site.pages + "/pricing")
        assert "HeadlessChrome" in page.evaluate("navigator.userAgent")
        assert answer.value.status == 204
        assert tracking.BEACONS.labels("bot")._value.get() == before + 1
        assert counts(api) == (0, 0)
    finally:
        context.close()


def test_an_email_link_identifies_the_visitor_and_leaves_the_address_bar(
    site: Site, api: Api, browser: Any
) -> None:
    token = tracking.link_token(api.ctx, "reader@example.com", days=1)
    context = browser.new_context(user_agent=CHROME)
    page = context.new_page()
    try:
        page.goto(f"{site.pages}/pricing?utm_source=mail&ls_t={token}")
        assert page.evaluate("location.search") == "?utm_source=mail"  # the token removed

        def events() -> list[dict] | None:
            found = api.get("/leads", email="reader@example.com")["data"]
            if not found:
                return None
            listed = api.get(f"/leads/{found[0]['id']}/events")["data"]
            return listed if len(listed) == 2 else None

        listed = wait_for(events, "the identified visitor's events")
        assert sorted(e["type"] for e in listed) == ["identified", "page_viewed"]
        assert all(token not in json.dumps(e["properties"]) for e in listed)
        (view,) = [e for e in listed if e["type"] == "page_viewed"]
        assert view["properties"]["url"] == "/pricing?utm_source=mail"
    finally:
        context.close()
