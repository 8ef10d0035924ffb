"""Website tracking over real sockets (SQLite and PostgreSQL): /t.js, and the beacon endpoint
POST /api/v1/sources/track — origin refused, CORS, robots dropped, rate limited, bad key,
malformed and too large, the merge of an anonymous history into the lead (idempotent, one
rescore), e-mail link tokens (expired, forged), later beacons, purge and erasure.

The beacons are what src/leadscore/data/t.js sends (a text/plain JSON body, as a CORS-simple
request), with a browser's Origin and User-Agent headers.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import httpx
import pytest
from tests.api.conftest import Api

from leadscore.core import tracking as rules
from leadscore.core.sources import load_sources_text
from leadscore.service import tracking
from leadscore.service.sources import use
from leadscore.store import tracking as stored

KEY = "pk_test_site_123456"
ORIGIN = "https://www.example.com"
SECRET = "tracking-tests-secret-key-0123456789"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/131.0.0.0 Safari/537.36"
)
HEADLESS = CHROME.replace("Chrome/", "HeadlessChrome/")
SOURCES = f"""
tracking:
  sites:
    www:
      key: {KEY}
      allowed_origins: [{ORIGIN}, "https://*.example.org"]
      consent: not_required
      rate_limit: {{limit}}
    strict:
      key: pk_strict_site_12345
      allowed_origins: [{ORIGIN}]
      events: [page_view]
"""
_ids = itertools.count()


@pytest.fixture
def site(api: Api) -> Iterator[Api]:
    """The sources file above installed, and LEADSCORE_SECRET_KEY set, on the server."""
    use(api.ctx, load_sources_text(SOURCES.replace("{limit}", "1000")))
    settings = api.ctx.settings
    api.ctx.settings = settings.model_copy(update={"secret_key": SECRET})
    yield api
    api.ctx.settings = settings


def beacon(kind: str = "page_view", visitor: str = "visitor-0001", **fields: object) -> dict:
    body: dict[str, object] = {
        "site": KEY,
        "id": f"beacon-{next(_ids):08d}",
        "type": kind,
        "visitor": visitor,
        "consent": "not_required",
        "url": f"{ORIGIN}/pricing",
        "title": "Pricing",
        "referrer": "https://www.google.com/",
    }
    body.update(fields)
    return body


def send(
    api: Api,
    body: object,
    origin: str | None = ORIGIN,
    agent: str = CHROME,
    raw: bytes | None = None,
) -> httpx.Response:
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": agent}
    if origin is not None:
        headers["Origin"] = origin
    content = raw if raw is not None else json.dumps(body).encode()
    return api.anon.post("/sources/track", content=content, headers=headers)


def lead_of(api: Api, email: str) -> dict | None:
    found = api.get("/leads", email=email)["data"]
    return found[0] if found else None


def counts(api: Api) -> tuple[int, int]:
    with api.ctx.db.read() as conn:
        return stored.counts(conn)


def test_the_script_is_served_small_and_cacheable(site: Api) -> None:
    response = httpx.get(site.server.base_url + "/t.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert "max-age=3600" in response.headers["cache-control"]
    assert len(response.content) < 4096
    assert b"/api/v1/sources/track" in response.content
    assert b"http" not in response.content.replace(b"https:", b"")  # no third-party host
    again = httpx.get(
        site.server.base_url + "/t.js", headers={"If-None-Match": response.headers["etag"]}
    )
    assert again.status_code == 304
    document = httpx.get(site.server.base_url + "/openapi.json").json()
    assert "/t.js" not in document["paths"]
    assert "post" in document["paths"]["/api/v1/sources/track"]


def test_an_anonymous_page_view_is_kept_on_the_visitor(site: Api) -> None:
    response = send(site, beacon())
    assert response.status_code == 204, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "set-cookie" not in response.headers
    assert counts(site) == (1, 1)
    assert site.get("/leads")["data"] == []


def test_an_origin_not_allowed_is_refused_and_nothing_stored(site: Api) -> None:
    for origin in ("https://evil.example.net", "http://www.example.com", None):
        response = send(site, beacon(), origin=origin)
        assert response.status_code == 403, (origin, response.text)
        assert "access-control-allow-origin" not in response.headers
    assert send(site, beacon(), origin="https://shop.example.org").status_code == 204
    assert counts(site) == (1, 1)


def test_the_preflight_is_answered_for_allowed_origins_only(site: Api) -> None:
    url = site.server.base_url + "/api/v1/sources/track"
    ok = httpx.options(url, headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == ORIGIN
    assert ok.headers["access-control-allow-methods"] == "POST"
    bad = httpx.options(url, headers={"Origin": "https://evil.example.net"})
    assert bad.status_code == 403
    assert "access-control-allow-origin" not in bad.headers


def test_robots_are_dropped_and_counted(site: Api) -> None:
    before = tracking.BEACONS.labels("bot")._value.get()
    for agent in (HEADLESS, "Mozilla/5.0 (compatible; Googlebot/2.1)", ""):
        response = send(site, beacon(), agent=agent)
        assert response.status_code == 204
    assert tracking.BEACONS.labels("bot")._value.get() == before + 3
    assert counts(site) == (0, 0)
    metrics = site.reader.get(site.server.base_url + "/metrics").text
    assert 'leadscore_tracking_beacons_total{outcome="bot"}' in metrics


def test_an_unknown_key_is_refused(site: Api) -> None:
    response = send(site, beacon(site="pk_no_such_site_999"))
    assert response.status_code == 401
    assert "no tracked site has this key" in response.json()["detail"]
    assert counts(site) == (0, 0)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (beacon(type="purchase"), "type"),
        (beacon(visitor="x"), "visitor"),
        (beacon(url="not a url"), "url"),
        (beacon(email="nobody"), "email"),
        (beacon(properties={"plan": {"a": 1}}), "properties.plan"),
        ({"type": "page_view"}, "site"),
        ([1, 2], "site"),
    ],
)
def test_a_malformed_beacon_is_a_400_naming_the_field(site: Api, body: object, field: str) -> None:
    response = send(site, body)
    assert response.status_code == 400, response.text
    assert response.json()["detail"][0]["loc"] == ["body", *field.split(".")]
    assert counts(site) == (0, 0)


def test_a_body_that_is_not_json_and_a_refused_type(site: Api) -> None:
    response = send(site, None, raw=b"{not json")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body"]
    strict = send(site, beacon("click", site="pk_strict_site_12345", consent="given"))
    assert strict.status_code == 400
    assert "does not accept click" in strict.json()["detail"][0]["msg"]


def test_a_site_requiring_consent_refuses_a_beacon_without_it(site: Api) -> None:
    response = send(site, beacon(site="pk_strict_site_12345"))  # consent: not_required
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "consent"]
    assert send(site, beacon(site="pk_strict_site_12345", consent="given")).status_code == 204


def test_a_beacon_over_the_size_limit_is_a_413(site: Api) -> None:
    body = beacon(title="x" * 9000)
    response = send(site, body)
    assert response.status_code == 413
    assert "max_beacon_bytes" in response.json()["detail"]
    assert counts(site) == (0, 0)


def test_the_rate_limit_per_key_and_ip_answers_429_with_retry_after(api: Api) -> None:
    use(api.ctx, load_sources_text(SOURCES.replace("{limit}", "3")))
    answers = [send(api, beacon()).status_code for _ in range(3)]
    assert answers == [204, 204, 204]
    limited = send(api, beacon())
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 20  # 3 a minute: one every 20 s
    assert limited.headers["access-control-allow-origin"] == ORIGIN
    other = send(api, beacon(site="pk_strict_site_12345", consent="given"))
    assert other.status_code == 204  # another site's key has its own bucket
    assert counts(api) == (2, 4)


def test_a_form_submit_merges_the_history_into_a_scored_lead_once(site: Api) -> None:
    site.model()
    for path in ("/pricing", "/pricing/enterprise", "/blog/hello"):
        assert send(site, beacon(url=f"{ORIGIN}{path}")).status_code == 204
    assert counts(site) == (1, 3)
    form = beacon(
        "form_submit",
        url=f"{ORIGIN}/contact",
        email="Ada@Example.com",
        properties={"form": "contact", "company": "Acme"},
    )
    assert send(site, form).status_code == 204
    lead = lead_of(site, "ada@example.com")
    assert lead is not None
    assert lead["score"] > 0  # the pricing rule counted the page views
    events = site.get(f"/leads/{lead['id']}/events")["data"]
    kinds = sorted((e["type"], e["properties"]["url"]) for e in events)
    assert kinds == [
        ("form_submitted", "/contact"),
        ("page_viewed", "/blog/hello"),
        ("page_viewed", "/pricing"),
        ("page_viewed", "/pricing/enterprise"),
    ]
    assert all(e["id"].startswith("trk_") for e in events)
    history = site.get(f"/leads/{lead['id']}/history")["data"]
    assert len(history) == 1  # rescored once for the whole merge
    assert counts(site) == (1, 0)  # the anonymous beacons are now the lead's events

    # The same form replayed (the same beacon id), and a second identification, add nothing.
    assert send(site, form).status_code == 204
    again = dict(form, id="beacon-second-form")
    assert send(site, again).status_code == 204
    events = site.get(f"/leads/{lead['id']}/events")["data"]
    assert len(events) == 5  # only the second form, a new submission, was added
    assert sum(e["type"] == "page_viewed" for e in events) == 3

    # Later beacons of the identified visitor go straight to the lead.
    assert send(site, beacon(url=f"{ORIGIN}/pricing/faq")).status_code == 204
    events = site.get(f"/leads/{lead['id']}/events")["data"]
    assert events[0]["properties"]["url"] == "/pricing/faq"
    assert counts(site) == (1, 0)


def test_an_email_link_token_identifies_the_visitor(site: Api) -> None:
    site.model()
    assert send(site, beacon(visitor="visitor-by-link")).status_code == 204
    token = tracking.link_token(site.ctx, "grace@example.com", days=7)
    response = send(site, beacon("identify", visitor="visitor-by-link", token=token))
    assert response.status_code == 204, response.text
    lead = lead_of(site, "grace@example.com")
    assert lead is not None
    events = site.get(f"/leads/{lead['id']}/events")["data"]
    assert sorted(e["type"] for e in events) == ["identified", "page_viewed"]


def test_a_forged_or_expired_token_is_refused_and_nothing_written(site: Api) -> None:
    assert send(site, beacon(visitor="visitor-forger")).status_code == 204
    now = site.ctx.now() // 1_000_000
    forged = rules.make_token("victim@example.com", now + 3600, "not-the-server-secret")
    expired = rules.make_token("victim@example.com", now - 1, SECRET)
    for token, why in ((forged, "signature"), (expired, "expired"), ("a.b.c", "not an ls_t")):
        response = send(site, beacon("identify", visitor="visitor-forger", token=token))
        assert response.status_code == 401, response.text
        assert why in response.json()["detail"]
    assert lead_of(site, "victim@example.com") is None
    assert counts(site) == (1, 1)  # the anonymous history is untouched


def test_erasing_the_lead_deletes_its_visitors(site: Api) -> None:
    assert send(site, beacon(visitor="visitor-erased")).status_code == 204
    form = beacon("form_submit", visitor="visitor-erased", email="erase.me@example.com")
    assert send(site, form).status_code == 204
    lead = lead_of(site, "erase.me@example.com")
    assert lead is not None
    assert counts(site) == (1, 0)
    # the GDPR export (Art. 15) holds the visitor identified as the person
    exported = site.admin.get(f"/leads/{lead['id']}/export")
    assert exported.status_code == 200, exported.text
    [visitor] = exported.json()["tracked_visitors"]
    assert visitor["visitor"] == "visitor-erased" and visitor["identified_at"] is not None
    erased = site.admin.delete(f"/leads/{lead['id']}", params={"erase": "true"})
    assert erased.status_code == 200, erased.text
    assert erased.json()["removed"]["tracking_visitors"] == 1
    assert counts(site) == (0, 0)
    # The erased person identifying again is suppressed: no lead, the visitor forgotten.
    assert send(site, beacon(visitor="visitor-erased")).status_code == 204
    again = beacon("form_submit", visitor="visitor-erased", email="erase.me@example.com")
    assert send(site, again).status_code == 204
    assert lead_of(site, "erase.me@example.com") is None
    assert counts(site) == (0, 0)


def test_anonymous_visitors_are_purged_after_the_configured_days(site: Api) -> None:
    site.set_time("2026-01-01T00:00:00Z")
    assert send(site, beacon(visitor="visitor-old")).status_code == 204
    form = beacon("form_submit", visitor="visitor-known", email="kept@example.com")
    assert send(site, form).status_code == 204
    site.set_time("2026-01-30T00:00:00Z")
    assert send(site, beacon(visitor="visitor-new")).status_code == 204
    assert tracking.purge(site.ctx) == 0  # 29 days: within tracking.anonymous_days (30)
    site.set_time("2026-01-31T00:00:01Z")
    assert tracking.purge(site.ctx) == 1  # visitor-old; the identified one is kept
    assert counts(site) == (2, 1)
