"""Each preset over a real socket on SQLite and PostgreSQL (§8, §9): a good delivery becomes
a lead and an event, scored; a forged one is a 401 and writes nothing; a replay is a
duplicate; a malformed one is a 400 naming the path; one over max_body_bytes is a 413.
Payloads and signatures follow each vendor's documentation (tests/sources/webhooks/payloads.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from tests.sources.webhooks import payloads as p
from tests.sources.webhooks.conftest import SECRETS, counts, install, send

SENDGRID = p.SendGridKeys()
SOURCES = """
webhooks:
  calendly: {preset: calendly, secret: env:CALENDLY_SIGNING_KEY}
  intercom: {preset: intercom, secret: env:INTERCOM_CLIENT_SECRET}
  mailchimp: {preset: mailchimp, secret: env:MAILCHIMP_WEBHOOK_SECRET}
  sendgrid: {preset: sendgrid, secret: env:SENDGRID_PUBLIC_KEY}
  brevo: {preset: brevo, secret: env:BREVO_WEBHOOK_TOKEN}
"""


@dataclass
class Case:
    good: Callable[[], p.Delivery]
    forged: Callable[[], p.Delivery]
    malformed: Callable[[], p.Delivery]
    field: list[str]
    """The 400's loc: where in the delivery the malformed field is."""
    email: str
    event_type: str
    stored: int
    known: bool
    """Whether the lead must exist first (e-mail tools may not create leads)."""


CASES = {
    "calendly": Case(
        good=lambda: p.calendly(p.calendly_event()),
        forged=lambda: p.calendly(p.calendly_event(), key="not-the-signing-key"),
        malformed=lambda: p.calendly(
            {**p.calendly_event(), "payload": {"uri": "https://api.calendly.com/x"}}
        ),
        field=["body", "payload", "email"],
        email="jane@example.com",
        event_type="demo_booked",
        stored=1,
        known=False,
    ),
    "intercom": Case(
        good=lambda: p.intercom(p.intercom_event()),
        forged=lambda: p.intercom(p.intercom_event(), secret="another-apps-secret"),
        malformed=lambda: p.intercom({**p.intercom_event(), "data": {"item": []}}),
        field=["body", "data", "item", "source", "author", "email"],
        email="lena@example.com",
        event_type="chat_started",
        stored=1,
        known=False,
    ),
    "mailchimp": Case(
        good=lambda: p.mailchimp(p.mailchimp_fields()),
        forged=lambda: p.mailchimp(p.mailchimp_fields(), secret="guessed"),
        malformed=lambda: p.mailchimp(
            [(k, "yesterday" if k == "fired_at" else v) for k, v in p.mailchimp_fields()]
        ),
        field=["body", "fired_at"],
        email="api@mailchimp.com",
        event_type="email_subscribed",
        stored=1,
        known=False,
    ),
    "sendgrid": Case(
        good=lambda: SENDGRID.sign(p.sendgrid_events()),
        forged=lambda: p.SendGridKeys().sign(p.sendgrid_events()),
        malformed=lambda: SENDGRID.sign(
            [*p.sendgrid_events()[:2], {"event": "click", "timestamp": 1764579600}]
        ),
        field=["body", "[2]", "email"],
        email="example@test.com",
        event_type="email_opened",
        stored=2,  # open and click; `processed` is no event of ours (skipped, counted)
        known=True,
    ),
    "brevo": Case(
        good=lambda: p.brevo(p.brevo_event()),
        forged=lambda: p.brevo(p.brevo_event(), token="wrong-token"),
        malformed=lambda: p.brevo({**p.brevo_event(), "ts_event": "soon"}),
        field=["body", "ts_event"],
        email="example@example.com",
        event_type="email_opened",
        stored=1,
        known=True,
    ),
}
NAMES = list(CASES)


def post(api, name: str, delivery: p.Delivery):
    return send(
        api, "POST", f"/sources/webhooks/{name}", delivery.body, delivery.headers, delivery.params
    )


@pytest.fixture
def ready(scored):
    install(scored, SOURCES, SENDGRID_PUBLIC_KEY=SENDGRID.public)
    return scored


def prepared(api, case: Case) -> None:
    if case.known:
        api.lead(email=case.email, attributes={"industry": "software"})


@pytest.mark.parametrize("name", NAMES)
def test_a_good_delivery_becomes_a_scored_event(ready, name) -> None:
    case = CASES[name]
    prepared(ready, case)
    response = post(ready, name, case.good())
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["stored"] == case.stored, answer
    lead_id = answer["results"][0]["lead_id"]
    assert answer["results"][0]["created"] is (not case.known)
    lead = ready.get(f"/leads/{lead_id}")
    assert lead["email"] == case.email
    events = ready.get(f"/leads/{lead_id}/events")["data"]
    assert case.event_type in {e["type"] for e in events}
    assert {e["source"] for e in events} == {name}
    if name in ("calendly", "sendgrid", "brevo"):  # the model scores these event types
        assert lead["score"] > 0


@pytest.mark.parametrize("name", NAMES)
def test_a_forged_delivery_is_401_and_writes_nothing(ready, name) -> None:
    case = CASES[name]
    prepared(ready, case)
    before = counts(ready)
    response = post(ready, name, case.forged())
    assert response.status_code == 401, response.text
    assert name in response.json()["detail"]
    assert counts(ready) == before


@pytest.mark.parametrize("name", NAMES)
def test_a_replayed_delivery_is_a_duplicate(ready, name) -> None:
    case = CASES[name]
    prepared(ready, case)
    delivery = case.good()
    first = post(ready, name, delivery)
    assert first.status_code == 200 and first.json()["stored"] == case.stored
    after_first = counts(ready)
    again = post(ready, name, delivery)
    assert again.status_code == 200, again.text
    assert (again.json()["stored"], again.json()["duplicates"]) == (0, case.stored)
    assert counts(ready) == after_first


@pytest.mark.parametrize("name", NAMES)
def test_a_malformed_delivery_is_400_naming_the_path(ready, name) -> None:
    case = CASES[name]
    prepared(ready, case)
    before = counts(ready)
    response = post(ready, name, case.malformed())
    assert response.status_code == 400, response.text
    detail = response.json()["detail"]
    assert detail[0]["loc"] == case.field, detail
    assert counts(ready) == before


@pytest.mark.parametrize("name", NAMES)
def test_a_delivery_over_max_body_bytes_is_413(scored, name) -> None:
    install(scored, SOURCES + "max_body_bytes: 1024\n", SENDGRID_PUBLIC_KEY=SENDGRID.public)
    case = CASES[name]
    padded = case.good()
    padded.body += b" " * 2048  # still valid JSON / form text: only its size is wrong
    before = counts(scored)
    response = post(scored, name, padded)
    assert response.status_code == 413, response.text
    assert "max_body_bytes" in response.json()["detail"]
    assert counts(scored) == before


def test_calendly_cancellation_is_a_negative_event_on_the_same_lead(ready) -> None:
    booked = post(ready, "calendly", p.calendly(p.calendly_event())).json()
    canceled = post(ready, "calendly", p.calendly(p.calendly_event("invitee.canceled"))).json()
    assert canceled["stored"] == 1 and canceled["results"][0]["created"] is False
    lead_id = booked["results"][0]["lead_id"]
    assert canceled["results"][0]["lead_id"] == lead_id
    events = ready.get(f"/leads/{lead_id}/events")["data"]
    cancel = next(e for e in events if e["type"] == "meeting_cancelled")
    assert cancel["properties"]["cancel_reason"] == "Schedule conflict"
    booking = next(e for e in events if e["type"] == "demo_booked")
    assert booking["properties"]["utm_source"] == "linkedin"
    assert booking["properties"]["meeting"] == "30 Minute Demo"


def test_calendly_refuses_a_stale_timestamp(ready) -> None:
    """Calendly's t= guards against replays of a captured signature: 3 minutes."""
    old = p.calendly(p.calendly_event(), at=int(time.time()) - 600)
    response = post(ready, "calendly", old)
    assert response.status_code == 401
    assert "from now" in response.json()["detail"]
    assert counts(ready) == (0, 0)


def test_email_tools_do_not_create_leads_and_skip_unmapped_events(ready) -> None:
    response = post(ready, "sendgrid", SENDGRID.sign(p.sendgrid_events("stranger@test.com")))
    answer = response.json()
    assert response.status_code == 200
    assert (answer["stored"], answer["unknown"], answer["skipped"]) == (0, 2, {"processed": 1})
    assert counts(ready) == (0, 0)


def test_mailchimp_url_check_and_unsubscribe(ready) -> None:
    token = {"secret": SECRETS["MAILCHIMP_WEBHOOK_SECRET"]}
    check = send(ready, "GET", "/sources/webhooks/mailchimp", params=token)
    assert check.status_code == 200 and check.json() == {"endpoint": "mailchimp", "ready": True}
    # Mailchimp calls the URL it was given, token included: without it, or elsewhere, 401
    assert send(ready, "GET", "/sources/webhooks/mailchimp").status_code == 401
    assert (
        send(ready, "GET", "/sources/webhooks/mailchimp", params={"secret": "x"}).status_code == 401
    )
    assert send(ready, "GET", "/sources/webhooks/nowhere", params=token).status_code == 401
    # a signature over the body cannot be checked on a GET
    assert send(ready, "GET", "/sources/webhooks/calendly").status_code == 401
    post(ready, "mailchimp", p.mailchimp(p.mailchimp_fields()))
    gone = post(ready, "mailchimp", p.mailchimp(p.mailchimp_fields("unsubscribe"))).json()
    assert gone["stored"] == 1
    events = ready.get(f"/leads/{gone['results'][0]['lead_id']}/events")["data"]
    unsub = next(e for e in events if e["type"] == "email_unsubscribed")
    assert unsub["properties"]["reason"] == "manual"
    assert unsub["occurred_at"].startswith("2026-12-01T21:35:57")


def test_a_delivery_to_an_endpoint_not_configured_is_unsigned(ready) -> None:
    """Nothing can verify it (as HubSpot's webhooks without a connector): 401, not 404, so
    that every signed route answers an unverifiable delivery alike (tests/api/test_auth)."""
    response = post(ready, "zoom", p.brevo(p.brevo_event()))
    assert response.status_code == 401
    assert json.loads(response.text)["detail"].startswith("no webhook endpoint 'zoom'")
