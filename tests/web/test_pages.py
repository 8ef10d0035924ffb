"""The dashboard's pages over a real socket: the leads list (hottest first, filters, the
htmx table fragment, keyset pages), a lead's story (the explanation adding up to the score,
the history chart's data), the vendored assets, and the API's documents left as they were."""

from __future__ import annotations

import json
import re
from html import escape, unescape
from urllib.parse import quote

from tests.web.conftest import Web

from leadscore.web.rendering import json_script

LEAD_LINK = re.compile(r'<td data-label="Lead"><a href="/leads/([^"]+)">')
POINTS = re.compile(r'<td data-label="Score points" class="num points">([^<]+)</td>')
HISTORY = re.compile(r'<script type="application/json" id="history-data">(.*?)</script>', re.S)
NEXT_PAGE = re.compile(r'<a href="(/leads\?[^"]*cursor=[^"]+)"')


def load(web: Web) -> None:
    """Four leads of different heat."""
    web.api.model()
    web.api.lead(
        id="hot", email="hot@acme.io", attributes={"industry": "software", "employees": 900}
    )
    web.api.lead(id="warm", email="warm@acme.io", attributes={"industry": "software"})
    web.api.lead(id="cold", email="cold@other.org", attributes={"industry": "retail"})
    web.api.lead(id="mid", email="mid@other.org", attributes={"employees": 800})
    for url in ("/pricing", "/pricing?x"):
        web.api.event(lead_id="hot", type="page_viewed", properties={"url": url})
    web.api.event(lead_id="hot", type="demo_booked")
    web.api.event(lead_id="hot", type="email_opened")
    web.api.event(lead_id="warm", type="email_opened")


def test_leads_are_listed_hottest_first(web: Web) -> None:
    load(web)
    page = web.as_role("viewer").http.get("/leads")
    assert page.status_code == 200 and page.text.startswith("<!doctype html>")
    shown = LEAD_LINK.findall(page.text)
    by_api = [lead["id"] for lead in web.api.get("/leads", sort="-score")["data"]]
    assert shown == by_api and shown[0] == "hot" and shown[-1] == "cold"
    scores = [web.api.get(f"/leads/{lead}")["score"] for lead in shown]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert '<label for="f-stage">' in page.text and '<label for="q">' in page.text


def test_filters_and_the_htmx_fragment(web: Web) -> None:
    load(web)
    browser = web.as_role("viewer")
    fragment = browser.http.get("/leads", params={"q": "ACME"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.startswith('<div id="leads-table"') and "<html" not in fragment.text
    assert LEAD_LINK.findall(fragment.text) == ["hot", "warm"]
    hot_tier = web.api.get("/leads/hot")["tier"]
    tiered = browser.http.get("/leads", params={"tier": hot_tier}, headers={"HX-Request": "true"})
    assert LEAD_LINK.findall(tiered.text) == ["hot"]
    warm_score = web.api.get("/leads/warm")["score"]
    bounded = browser.http.get("/leads", params={"min": warm_score, "max": warm_score})
    assert "<html" in bounded.text and LEAD_LINK.findall(bounded.text) == ["warm"]  # no JS
    stage = web.api.get("/leads/cold")["stage"]
    staged = browser.http.get("/leads", params={"stage": stage, "q": "other"})
    assert set(LEAD_LINK.findall(staged.text)) <= {"cold", "mid"} and "cold" in staged.text
    nothing = browser.http.get("/leads", params={"q": "%%%"}, headers={"HX-Request": "true"})
    assert LEAD_LINK.findall(nothing.text) == []  # LIKE's wildcard is searched for literally
    assert "No lead matches" in nothing.text
    # The filter form works without JavaScript (GET /leads) and with htmx (the table only).
    page = browser.http.get("/leads").text
    assert 'method="get" action="/leads"' in page and 'hx-target="#leads-table"' in page


def test_the_list_pages_by_keyset(web: Web) -> None:
    web.api.model()
    body = {"leads": [{"id": f"L{n:03}", "attributes": {"employees": n * 10}} for n in range(70)]}
    assert web.api.writer.post("/leads", json=body).status_code == 200
    browser = web.as_role("viewer")
    first = browser.http.get("/leads")
    ids = LEAD_LINK.findall(first.text)
    assert len(ids) == 50
    link = unescape(NEXT_PAGE.search(first.text).group(1))
    second = browser.http.get(link, headers={"HX-Request": "true"})
    rest = LEAD_LINK.findall(second.text)
    assert len(rest) == 20 and not set(ids) & set(rest)
    assert not NEXT_PAGE.search(second.text) and "First page" in second.text
    everyone = [lead["id"] for lead in web.api.get("/leads", sort="-score", limit=100)["data"]]
    assert ids + rest == everyone
    damaged = browser.http.get("/leads", params={"cursor": "not-a-cursor"})
    assert damaged.status_code == 200 and LEAD_LINK.findall(damaged.text) == ids


def test_a_lead_page_explains_its_score_and_embeds_its_history(web: Web) -> None:
    load(web)
    browser = web.as_role("viewer")
    page = browser.http.get("/leads/hot")
    assert page.status_code == 200
    lead = web.api.get("/leads/hot")
    points = [float(p) for p in POINTS.findall(page.text)]
    lines = lead["explanation"]["contributions"]
    assert len(points) == len(lines) >= 5  # two fit rules, three engagement rules, caps
    assert abs(sum(points) - lead["score"]) < 0.011
    assert f'<td class="num" id="total">{lead["score"]:g}</td>' in page.text
    for rule in ("sw", "big", "pricing", "demo", "open"):
        assert f">{rule}<" in page.text or f">{rule} " in page.text
    history = web.api.get("/leads/hot/history", limit=500)["data"]
    chart = json.loads(HISTORY.search(page.text).group(1))
    assert len(chart["t"]) == len(history) >= 3  # only changes are recorded
    assert chart["score"] == [h["score"] for h in reversed(history)]
    assert chart["score"][-1] == lead["score"] and chart["t"] == sorted(chart["t"])
    assert "/assets/vendor/uplot-1.6.32/uPlot.iife.min.js" in page.text
    events = web.api.get("/leads/hot/events")["data"]
    timeline = page.text[page.text.index('<div id="events"') :]
    assert timeline.count("<time datetime=") == len(events) == 4
    assert browser.http.get("/leads/nobody").status_code == 404


def test_text_from_leads_is_escaped(web: Web) -> None:
    web.api.model()
    evil = "<img src=x onerror=alert(1)>"
    web.api.lead(id=evil, attributes={})  # no e-mail: the id is shown
    browser = web.as_role("viewer")
    listed = browser.http.get("/leads").text
    page = browser.http.get("/leads/" + quote(evil, safe=""))
    assert page.status_code == 200
    for text in (listed, page.text):
        assert evil not in text
    assert escape(evil) in page.text
    # The chart's JSON cannot end its <script> element, whatever it holds.
    assert (
        json_script({"x": "</script><script>"})
        == '{"x": "\\u003c/script\\u003e\\u003cscript\\u003e"}'
    )


def test_the_vendored_assets_are_served_and_nothing_outside_is_named(web: Web) -> None:
    load(web)
    browser = web.as_role("viewer")
    for path in ("/leads", "/leads/hot", "/analytics", "/models", "/automations"):
        page = browser.http.get(path)
        assert page.status_code == 200, path
        for asset in re.findall(r'(?:src|href)="(/assets/[^"]+)"', page.text):
            assert browser.http.get(asset).status_code == 200, asset
        assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text), path
    models = browser.http.get("/models").text
    assert "<h1>Models</h1>" in models and 'aria-current="page"' in models
    assert browser.http.get("/assets/vendor/VERSIONS.md").status_code == 200


def test_the_api_documents_are_untouched(web: Web) -> None:
    anon = web.browser().http
    paths = anon.get("/openapi.json").json()["paths"]
    assert all(p.startswith("/api/v1/") for p in paths)
    assert anon.get("/docs").status_code == 200 and anon.get("/redoc").status_code == 200
    assert anon.get("/health").status_code == 200
    assert anon.get("/api/v1/leads").status_code == 401  # the API still wants a key
