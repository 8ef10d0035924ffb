"""GET /leads/{id}/export and DELETE /leads/{id}?erase=true over a real socket, on SQLite and
PostgreSQL, and the suppression that keeps an erased person from coming back unasked."""

from __future__ import annotations

import json

from sqlalchemy import event, select
from tests.gdpr.conftest import EMAIL, NAME, SECRETS, Person

from leadscore.api.schemas_gdpr import Erasure, LeadExport
from leadscore.service.imports import import_file
from leadscore.store.tables import audit_log, suppressions


def test_the_export_holds_everything_on_the_person(api, person: Person) -> None:
    assert api.writer.get(f"/leads/{person.lead_id}/export").status_code == 403
    reply = api.admin.get(f"/leads/{person.lead_id}/export")
    assert reply.status_code == 200, reply.text
    document = LeadExport.model_validate(reply.json())  # the documented schema, exactly
    assert document.format_version == 1
    assert document.lead.email == EMAIL and document.lead.explanation is not None
    assert [e.id for e in document.events] == [f"zq-event-{n}" for n in range(3)]
    assert document.events[0].properties["form_name"] == NAME
    assert document.score_history and document.score_history[-1].explanation is not None
    assert [o.reason for o in document.overrides] == [f"{NAME} called us"]
    assert [p.stage for p in document.pins] == ["sql"]
    assert [m.list for m in document.lists] == ["vip"]
    assert document.outbox and NAME in json.dumps(document.outbox[0].result)
    assert any(a.action == "lead.stage" for a in document.audit)
    assert api.admin.get("/leads/nobody/export").status_code == 404


def test_erasure_removes_the_person_and_leaves_a_token(api, person: Person) -> None:
    reply = api.admin.delete(f"/leads/{person.lead_id}")
    assert reply.status_code == 400 and reply.json()["detail"][0]["loc"] == ["query", "erase"]
    assert api.writer.delete(f"/leads/{person.lead_id}", params={"erase": True}).status_code == 403
    assert api.admin.delete("/leads/nobody", params={"erase": True}).status_code == 404

    reply = api.admin.delete(f"/leads/{person.lead_id}", params={"erase": True})
    assert reply.status_code == 200, reply.text
    report = Erasure.model_validate(reply.json())
    assert report.suppressions == 2  # the e-mail and the HubSpot id
    assert report.scrubbed["audit_log"] >= 1  # lead.stage named the lead
    assert api.reader.get(f"/leads/{person.lead_id}").status_code == 404
    assert api.admin.delete(f"/leads/{person.lead_id}", params={"erase": True}).status_code == 404
    with api.ctx.db.read() as conn:
        entries = conn.execute(select(audit_log)).all()
    erase = [e for e in entries if e.action == "lead.erase"]
    assert len(erase) == 1 and erase[0].target == report.token
    assert erase[0].details["removed"] == report.removed
    text = json.dumps([[e.target, e.details] for e in entries])
    assert not any(s in text for s in (*SECRETS, person.lead_id))
    assert api.get(f"/leads/{person.other_id}")["email"] == "someone-else@example.com"


def test_an_erased_person_is_not_created_again_without_new_consent(api, person: Person) -> None:
    erased = api.admin.delete(f"/leads/{person.lead_id}", params={"erase": True}).json()

    reply = api.writer.post("/leads", json={"email": EMAIL.upper()})
    assert reply.status_code == 409
    assert reply.json()["detail"][0]["loc"] == ["body", "email"], reply.text
    assert "erased" in reply.json()["detail"][0]["msg"]
    reply = api.writer.post("/leads", json={"external_ids": {"hubspot": "hs-90210"}})
    assert reply.status_code == 409 and "external_ids" in reply.text
    reply = api.writer.post("/events", json={"email": EMAIL, "type": "page_viewed"})
    assert reply.status_code == 409 and "erased" in reply.text
    batch = [{"email": "new@example.com", "type": "x"}, {"email": EMAIL, "type": "x"}]
    reply = api.writer.post("/events", json={"events": batch})
    assert reply.status_code == 409 and reply.json()["detail"][0]["loc"][:3] == [
        "body",
        "events",
        1,
    ]
    assert api.reader.get("/leads", params={"email": "new@example.com"}).json()["data"] == []

    before = {"basis": "consent", "given_at": "2001-01-01T00:00:00Z"}
    reply = api.writer.post("/leads", json={"email": EMAIL, "consent": before})
    assert reply.status_code == 409  # consent older than the erasure lifts nothing
    later = {"basis": "consent", "given_at": "2099-01-01T00:00:00Z", "source": "web form"}
    reply = api.writer.post("/leads", json={"email": EMAIL, "consent": later})
    assert reply.status_code == 201, reply.text
    with api.ctx.db.read() as conn:
        lifts = conn.execute(select(audit_log).where(audit_log.c.action == "suppression.lift"))
        assert [(r.target, r.details["reason"]) for r in lifts] == [
            (erased["token"], "new consent")
        ]
        assert conn.execute(select(suppressions)).all() == []


def test_events_of_known_leads_never_ask_the_suppressions(api, person: Person) -> None:
    api.admin.delete(f"/leads/{person.lead_id}", params={"erase": True})
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    engine = api.ctx.db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        api.event(lead_id=person.other_id, type="page_viewed")
        api.event(email="someone-else@example.com", type="page_viewed")
        asked = [s for s in seen if "suppressions" in s or "privacy_salt" in s]
        assert seen and asked == []
        api.event(email="brand-new@example.com", type="page_viewed")  # a creation asks once
        asked = [s for s in seen if "suppressions" in s]
        assert len(asked) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_an_import_skips_and_counts_the_erased(api, person: Person, tmp_path) -> None:
    api.admin.delete(f"/leads/{person.lead_id}", params={"erase": True})
    leads = tmp_path / "leads.csv"
    leads.write_text(f"email,first_name\n{EMAIL},X\nfresh@example.com,Y\n")
    report = import_file(api.ctx, "leads", leads)
    assert (report.written, report.erased, report.skipped) == (1, 1, [])
    events = tmp_path / "events.csv"
    events.write_text(f"email,type\n{EMAIL},page_viewed\nfresh@example.com,page_viewed\n")
    report = import_file(api.ctx, "events", events)
    assert (report.written, report.erased) == (1, 1)
    assert api.reader.get("/leads", params={"email": EMAIL}).json()["data"] == []
