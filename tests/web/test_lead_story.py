"""A lead's story over a real socket on SQLite and PostgreSQL: overrides listed with reason,
author and expiry and removed again (the score and history following), the stage pin set and
lifted, the automations that fired with their delivery state, older events a page at a time,
the chart's causes; a viewer sees no form and is refused every change (403), as is a form
without the CSRF token; a bad expiry is named and changes nothing."""

from __future__ import annotations

import json
import re
import time

from tests.web.conftest import Web

from leadscore.service import automations

HISTORY = re.compile(r'<script type="application/json" id="history-data">(.*?)</script>', re.S)
OVERRIDE_ROW = re.compile(r'<tr id="override-(\d+)">')
ERROR = re.compile(r'<p class="error" role="alert">([^<]+)</p>')
WHEN = re.compile(r'<time datetime="([^"]+)">')
FIRING = """
version: 1
automations:
  - name: hook-on-create
    when: {lead_created: {}}
    actions:
      - webhook: {url: "http://127.0.0.1:9/hook", secret_env: LEADSCORE_TEST_NEVER_SET_SECRET}
"""


def load(web: Web) -> None:
    web.api.model()
    web.api.lead(id="hot", email="hot@acme.io", attributes={"industry": "software"})
    web.api.event(lead_id="hot", type="demo_booked")


def test_overrides_are_listed_added_with_an_expiry_and_removed(web: Web) -> None:
    load(web)
    manager = web.as_role("manager")
    before = web.api.get("/leads/hot")["score"]
    token = manager.csrf("/leads/hot")
    form = {"csrf_token": token, "points": "7.5", "reason": "met at the fair",
            "expires_at": "2099-01-02T03:04"}  # fmt: skip
    added = manager.http.post("/leads/hot/overrides", data=form)
    assert added.status_code == 303 and added.headers["location"] == "/leads/hot"
    lead = web.api.get("/leads/hot")
    assert lead["score"] == before + 7.5
    (override,) = lead["overrides"]
    assert override["expires_at"] == "2099-01-02T03:04:00Z"
    assert override["author"] == "manager@example.com" and override["reason"] == "met at the fair"
    page = manager.http.get("/leads/hot").text
    row = page[page.index(f'<tr id="override-{override["id"]}">') :].split("</tr>")[0]
    assert "met at the fair" in row and "manager@example.com" in row and "+7.5" in row
    assert "2099-01-02T03:04:00Z" in WHEN.findall(row)
    assert f'action="/leads/hot/overrides/{override["id"]}/delete"' in row
    chart = json.loads(HISTORY.search(page).group(1))
    assert chart["cause"][-1] == f"override {override['id']}"
    assert "event demo_booked" in chart["cause"]
    removed = manager.http.post(
        f"/leads/hot/overrides/{override['id']}/delete", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    lead = web.api.get("/leads/hot")
    assert lead["overrides"] == [] and lead["score"] == before
    history = web.api.get("/leads/hot/history")["data"]
    assert [h["score"] for h in history[:2]] == [before, before + 7.5]
    page = manager.http.get("/leads/hot").text
    assert not OVERRIDE_ROW.search(page) and "No points added by people." in page
    again = manager.http.post(
        f"/leads/hot/overrides/{override['id']}/delete", data={"csrf_token": token}
    )
    assert again.status_code == 404 and "no override" in ERROR.search(again.text).group(1)


def test_a_bad_or_past_expiry_is_named_and_changes_nothing(web: Web) -> None:
    load(web)
    manager = web.as_role("manager")
    token = manager.csrf("/leads/hot")
    for expiry, said in (("2001-01-01T00:00", "has passed"), ("next tuesday", "expires_at")):
        form = {"csrf_token": token, "points": "5", "reason": "x", "expires_at": expiry}
        answer = manager.http.post("/leads/hot/overrides", data=form)
        assert answer.status_code == 422 and said in ERROR.search(answer.text).group(1)
    pin = {"csrf_token": token, "stage": "", "reason": "x"}
    answer = manager.http.post("/leads/hot/pin", data=pin)
    assert answer.status_code == 422 and ERROR.search(answer.text)
    assert web.api.get("/leads/hot")["overrides"] == []


def test_the_stage_pin_is_shown_set_and_lifted(web: Web) -> None:
    load(web)
    manager = web.as_role("manager")
    token = manager.csrf("/leads/hot")
    shown = web.api.get("/leads/hot")["stage"]
    assert shown != "customer"
    page = manager.http.get("/leads/hot").text
    assert "Not pinned" in page and 'action="/leads/hot/pin"' in page
    form = {"csrf_token": token, "stage": "customer", "reason": "signed on paper"}
    assert manager.http.post("/leads/hot/pin", data=form).status_code == 303
    lead = web.api.get("/leads/hot")
    assert lead["stage"] == "customer" and lead["pinned_stage"] == "customer"
    page = manager.http.get("/leads/hot").text
    state = page[page.index('<p id="pin-state">') :].split("</p>")[0]
    assert "customer" in state and "manager@example.com" in state and "signed on paper" in state
    assert shown in state  # the stage beneath the pin
    pin = next(o for o in lead["overrides"] if o["kind"] == "stage")
    lifted = manager.http.post(
        f"/leads/hot/overrides/{pin['id']}/delete", data={"csrf_token": token}
    )
    assert lifted.status_code == 303
    lead = web.api.get("/leads/hot")
    assert lead["stage"] == shown and lead["pinned_stage"] is None


def test_viewers_and_forms_without_the_token_change_nothing(web: Web) -> None:
    load(web)
    manager = web.as_role("manager")
    token = manager.csrf("/leads/hot")
    form = {"csrf_token": token, "points": "3", "reason": "kept"}
    assert manager.http.post("/leads/hot/overrides", data=form).status_code == 303
    (override,) = web.api.get("/leads/hot")["overrides"]
    viewer = web.as_role("viewer")
    page = viewer.http.get("/leads/hot").text
    assert "kept" in page and '<form class="override"' not in page
    assert "/delete" not in page and 'action="/leads/hot/pin"' not in page
    mine = viewer.csrf("/leads/hot")
    refused = [
        viewer.http.post(
            f"/leads/hot/overrides/{override['id']}/delete", data={"csrf_token": mine}
        ),
        viewer.http.post(
            "/leads/hot/pin", data={"csrf_token": mine, "stage": "sql", "reason": "x"}
        ),
        viewer.http.post("/leads/hot/overrides", data={**form, "csrf_token": mine}),
        manager.http.post(f"/leads/hot/overrides/{override['id']}/delete"),
        manager.http.post("/leads/hot/pin", data={"stage": "sql", "reason": "x"}),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    lead = web.api.get("/leads/hot")
    assert [o["id"] for o in lead["overrides"]] == [override["id"]] and not lead["pinned_stage"]


def test_older_events_a_page_at_a_time(web: Web) -> None:
    web.api.model()
    web.api.lead(id="busy", email="busy@acme.io")
    body = {"events": [{"lead_id": "busy", "type": "email_opened",
                        "occurred_at": f"2026-01-01T00:{n:02}:00Z"} for n in range(25)]}  # fmt: skip
    assert web.api.writer.post("/events", json=body).status_code in (200, 201, 202)
    viewer = web.as_role("viewer")
    page = viewer.http.get("/leads/busy").text
    timeline = page[page.index('<div id="events"') :]
    latest = WHEN.findall(timeline)
    assert len(latest) == 20 and latest[0] == "2026-01-01T00:24:00Z"
    link = re.search(r'<a class="older" href="([^"]+)"', timeline).group(1).replace("&amp;", "&")
    older = viewer.http.get(link, headers={"HX-Request": "true"})
    assert older.status_code == 200 and older.text.startswith('<div id="events"')
    rest = WHEN.findall(older.text)
    assert rest == [f"2026-01-01T00:{n:02}:00Z" for n in range(4, -1, -1)]
    assert 'class="older"' not in older.text and "Latest events" in older.text
    whole = viewer.http.get(link)  # without JavaScript: the lead's page with those events
    assert (
        "<html" in whole.text
        and WHEN.findall(whole.text[whole.text.index('<div id="events"') :]) == rest
    )


def test_the_automations_that_fired_and_their_delivery(web: Web) -> None:
    automations.upload(web.server.ctx, FIRING, "test", activate=True)
    load(web)
    deadline = time.monotonic() + 30
    while not web.api.get("/outbox", status="failed")["data"]:
        assert time.monotonic() < deadline, web.api.get("/outbox")
        time.sleep(0.1)
    (row,) = web.api.get("/outbox", lead_id="hot")["data"]
    page = web.as_role("viewer").http.get("/leads/hot").text
    fired = page[page.index('<h2 id="automations">') : page.index('<h2 id="events-heading">')]
    assert "hook-on-create" in fired and "webhook" in fired
    assert '<td data-label="Status" class="status">failed' in fired
    assert "LEADSCORE_TEST_NEVER_SET_SECRET" in fired  # the last error, as the outbox has it
    assert row["status"] == "failed"
    quiet = web.as_role("viewer").http.get("/leads/hot").text
    assert quiet.count('class="status-failed"') == 1
