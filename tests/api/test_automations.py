"""The seeds' automations end to end over HTTP (§6), on SQLite and PostgreSQL: the example
model and `examples/automations.yaml`, a real SMTP server and a real webhook receiver. Events
push a lead from Poland past 85 points: it joins the nurture sequence on the way (warm),
gets an owner in the CEE team when it becomes an SQL, the sales manager gets exactly one
e-mail with the score and the reasons, and the demo booking calls a signed webhook. Posting
the same events again changes nothing."""

from __future__ import annotations

import email
import time
from email import policy
from pathlib import Path

import pytest
from tests.api.conftest import Api, running
from tests.delivery.conftest import Inbox, answer, receiver, smtp_server, tls

from leadscore.settings import Settings
from leadscore.testing import scratch

__all__ = ["receiver", "smtp_server", "tls"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SECRET = "whsec_dGVzdCBzZWNyZXQgZm9yIHRoZSBkZW1vIGhvb2s="
OWNERS = {
    "anna@demo.example": "sales",
    "james@demo.example": "sales",
    "maria@demo.example": "sales-cee",
    "stefan@demo.example": "sales-cee",
}


@pytest.fixture
def example(database_url, smtp_server, receiver, monkeypatch, tmp_path):
    inbox: Inbox = smtp_server("plain")
    hook = receiver(lambda request, attempt: answer(200, "ok"))
    monkeypatch.setenv("LEADSCORE_DEMO_WEBHOOK_URL", hook.url)
    monkeypatch.setenv("LEADSCORE_DEMO_WEBHOOK_SECRET", SECRET)
    settings = Settings(
        database_url=database_url,
        api_key_cache_seconds=0,
        smtp_url=f"smtp://127.0.0.1:{inbox.port}?starttls=false",
        outbox_poll_seconds=0.05,
        mail_dir=str(tmp_path / "mail"),
    )
    with running(settings) as server:
        scratch.empty(server.ctx.db)
        server.ctx.reset_caches()
        api = Api(server)
        api.model((EXAMPLES / "b2b-saas.yaml").read_text())
        for owner, _ in OWNERS.items():
            reply = api.admin.post("/owners", json={"id": owner, "name": owner, "email": owner})
            assert reply.status_code == 201, reply.text
        for team in ("sales", "sales-cee"):
            members = [o for o, t in OWNERS.items() if t == team]
            reply = api.admin.post("/teams", json={"name": team, "members": members})
            assert reply.status_code == 201, reply.text
        reply = api.admin.post(
            "/automations",
            params={"activate": True},
            content=(EXAMPLES / "automations.yaml")
            .read_text()
            .replace("sales-manager@demo.example", "manager@example.com"),
            headers={"Content-Type": "application/yaml"},
        )
        assert reply.status_code == 201, reply.text
        yield api, inbox, hook
        api.close()


def settled(api: Api, timeout: float = 30.0) -> dict:
    """The outbox once nothing is pending or being delivered."""
    deadline = time.monotonic() + timeout
    while True:
        page = api.get("/outbox", limit=200)
        if page["counts"]["pending"] + page["counts"]["delivering"] == 0:
            return page
        assert time.monotonic() < deadline, page["counts"]
        time.sleep(0.05)


EVENTS = [
    {"id": "v1", "type": "page_viewed", "properties": {"url": "/pricing"}},
    {"id": "w1", "type": "webinar_attended"},
    {"id": "d1", "type": "demo_booked"},
]


def test_the_seeds_example_end_to_end(example):
    api, inbox, hook = example
    api.lead(
        id="kasia",
        email="kasia@softwarehouse.pl",
        attributes={
            "first_name": "Kasia",
            "last_name": "Wiśniewska",
            "company": "Software House",
            "industry": "software",
            "employees": 1500,
            "country": "PL",
            "job_title": "VP Sales",
        },
    )
    for event in EVENTS:
        api.event(lead_id="kasia", **event)
    page = settled(api)
    lead = api.get("/leads/kasia")
    assert lead["score"] > 85 and lead["tier"] == "hot" and lead["stage"] == "sql"
    assert OWNERS[lead["owner"]] == "sales-cee"  # the territory rule for Poland
    members = api.get("/lists/nurture/members")["data"]
    assert [m["lead_id"] for m in members] == ["kasia"]  # enrolled when it turned warm

    to_manager = [m for m in inbox.messages if "manager@example.com" in m.rcpt_tos]
    assert len(to_manager) == 1
    message = email.message_from_bytes(to_manager[0].content, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert f"{lead['score']:g}" in text or f"{lead['score']:.1f}" in text
    for reason in ("demo-booked", "webinar-attended", "industry-core"):
        assert reason in text, reason
    to_owner = [m for m in inbox.messages if lead["owner"] in m.rcpt_tos]
    assert len(to_owner) == 1  # the SQL notification to the new owner

    assert len(hook.requests) == 1  # the demo booking's signed webhook
    assert hook.requests[0].json()["lead"]["id"] == "kasia"
    statuses = {(r["automation"], r["status"]) for r in page["data"]}
    assert statuses == {
        ("warm-nurture", "delivered"),
        ("sql-assign-owner", "delivered"),
        ("hot-lead-alert", "delivered"),
        ("demo-booked-webhook", "delivered"),
    }
    mail_row = next(r for r in page["data"] if r["automation"] == "hot-lead-alert")
    detail = api.get(f"/outbox/{mail_row['id']}")
    assert "manager@example.com" in detail["result"]["email"]["to"]

    # The same events again: duplicates. Nothing fires, nobody gets a second message.
    for event in EVENTS:
        api.event(lead_id="kasia", **event)
    time.sleep(0.5)
    again = settled(api)
    assert again["counts"] == page["counts"]
    assert len([m for m in inbox.messages if "manager@example.com" in m.rcpt_tos]) == 1
    assert len(hook.requests) == 1


def test_a_failed_row_is_listed_and_retried_over_the_api(example, monkeypatch):
    api, inbox, hook = example
    monkeypatch.delenv("LEADSCORE_DEMO_WEBHOOK_SECRET")
    api.lead(id="x", attributes={"country": "US"})
    api.event(lead_id="x", id="d9", type="demo_booked")
    settled(api)
    failed = api.get("/outbox", status="failed")["data"]
    assert [r["automation"] for r in failed] == ["demo-booked-webhook"]
    assert "LEADSCORE_DEMO_WEBHOOK_SECRET is not set" in failed[0]["last_error"]
    assert api.reader.post(f"/outbox/{failed[0]['id']}/retry").status_code == 403
    monkeypatch.setenv("LEADSCORE_DEMO_WEBHOOK_SECRET", SECRET)
    reply = api.writer.post(f"/outbox/{failed[0]['id']}/retry")
    assert reply.status_code == 200 and reply.json()["status"] == "pending"
    settled(api)
    assert api.get(f"/outbox/{failed[0]['id']}")["status"] == "delivered"
    assert api.writer.post(f"/outbox/{failed[0]['id']}/retry").status_code == 409
    assert len(hook.requests) == 1


def test_an_invalid_file_is_422_with_every_error_and_stores_nothing(example):
    api, _, _ = example
    text = "automations:\n  - name: Bad Name\n    when: {score_crosed: {threshold: 1}}\n"
    reply = api.admin.post(
        "/automations", content=text, headers={"Content-Type": "application/yaml"}
    )
    assert reply.status_code == 422
    problems = {(d["path"], d["line"]) for d in reply.json()["detail"]}
    assert ("automations[0].name", 2) in problems
    assert ("automations[0].when.score_crosed", 3) in problems
    assert ("automations[0].actions", 2) in problems
    assert len(api.get("/automations")) == 1  # only the example


def test_activating_a_file_naming_an_unknown_team_is_409(example):
    api, _, _ = example
    text = (
        "automations:\n  - name: a\n    when: {lead_created: {}}\n"
        "    actions: [{assign_owner: {team: nobody}}]\n"
    )
    reply = api.admin.post(
        "/automations",
        params={"activate": True},
        content=text,
        headers={"Content-Type": "application/yaml"},
    )
    assert reply.status_code == 409
    assert "no team 'nobody'" in reply.text
    assert len(api.get("/automations")) == 1  # nothing stored
